//! Where a run's time went: the wall time of each phase (verify, authenticate, attest, upload,
//! confirm, release), shown in the step summary so a slow release says which step was slow.

use std::time::{Duration, Instant};

/// The phases in pipeline order, as the table shows them whatever order they were timed in
/// (the release's permission check runs before the upload, and counts as release time).
const ORDER: [&str; 6] = [
    "verify",
    "authenticate",
    "attest",
    "upload",
    "confirm",
    "release",
];

/// The phases that ran, in order, with their wall time.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Phases {
    entries: Vec<(&'static str, Duration)>,
}

impl Phases {
    /// Record that `phase` ran from `started` until now (also when it failed: the time was
    /// spent all the same). A phase run twice adds up.
    pub fn record(&mut self, phase: &'static str, started: Instant) {
        self.add(phase, started.elapsed());
    }

    fn add(&mut self, phase: &'static str, took: Duration) {
        if let Some((_, total)) = self.entries.iter_mut().find(|(name, _)| *name == phase) {
            *total += took;
            return;
        }
        self.entries.push((phase, took));
        let rank = |name: &str| ORDER.iter().position(|known| *known == name);
        self.entries
            .sort_by_key(|(name, _)| rank(name).unwrap_or(ORDER.len()));
    }

    /// The step summary's table: one column per phase and the total; empty when nothing ran.
    #[must_use]
    pub fn markdown(&self) -> String {
        if self.entries.is_empty() {
            return String::new();
        }
        let total: Duration = self.entries.iter().map(|(_, took)| *took).sum();
        let mut header = String::from("| wall time |");
        let mut rule = String::from("| --- |");
        let mut row = String::from("| |");
        for (name, took) in self.entries.iter().copied().chain([("total", total)]) {
            header.push_str(&format!(" {name} |"));
            rule.push_str(" ---: |");
            row.push_str(&format!(" {} |", seconds(took)));
        }
        format!("\n{header}\n{rule}\n{row}\n")
    }
}

/// `0.12 s`, `12.3 s`, `123 s`: about three significant digits.
fn seconds(took: Duration) -> String {
    let value = took.as_secs_f64();
    if value < 10.0 {
        format!("{value:.2} s")
    } else if value < 100.0 {
        format!("{value:.1} s")
    } else {
        format!("{value:.0} s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_column_per_phase_in_order_and_the_total() {
        let mut phases = Phases::default();
        phases.add("verify", Duration::from_millis(120));
        phases.add("upload", Duration::from_millis(12_340));
        phases.add("authenticate", Duration::from_millis(400));
        phases.add("authenticate", Duration::from_millis(100));
        assert_eq!(
            phases.markdown(),
            "\n| wall time | verify | authenticate | upload | total |\n| --- | ---: | ---: | ---: | ---: |\n| | 0.12 s | 0.50 s | 12.3 s | 13.0 s |\n"
        );
        assert_eq!(Phases::default().markdown(), "");
        assert_eq!(seconds(Duration::from_secs(250)), "250 s");
    }
}
