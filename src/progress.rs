//! Upload progress a person can follow: a live bar per file in a terminal (indicatif), and
//! in a log (GitHub Actions, or stderr redirected) one line at 25, 50 and 75% for large files.
//!
//! Both read the byte counter the upload's body stream already keeps for its idle timeout
//! ([`crate::http::Progress`]): nothing counts twice. The bars are drawn on stderr through
//! [`crate::console::LiveTerm`], the one writer (redacted like every line), and while they are
//! on screen every other line is written above them ([`crate::console::show_live`]), so the
//! display and the log never garble each other.

use std::sync::OnceLock;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::actions::Console;
use crate::http::Progress;

/// A bar appears only for an upload still running after this long: short uploads stay quiet.
const SHOW_AFTER: Duration = Duration::from_secs(1);
/// Files at least this large get the 25/50/75% lines in a log.
pub const LINES_FROM_SIZE: u64 = 4 * 1024 * 1024;
/// How often the display reads the counter.
const TICK: Duration = Duration::from_millis(100);
/// Redraws per second at most (each one rewrites the bars' lines).
const REFRESH_HZ: u8 = 8;
/// Fixed-width columns first, the file name last: a long wheel name is cut at the terminal's
/// edge instead of wrapping the line.
const BAR_TEMPLATE: &str =
    "[{bar:20}] {bytes:>10}/{total_bytes:<10} {bytes_per_sec:>12} {eta:>4} left  {wide_msg}";

/// How progress is shown in this process, decided once.
enum Mode {
    /// stderr is a terminal (and this is not an Actions job): live bars.
    Terminal(MultiProgress),
    /// A log: quarter lines for large files.
    Lines,
}

fn mode() -> &'static Mode {
    static MODE: OnceLock<Mode> = OnceLock::new();
    MODE.get_or_init(|| {
        let in_actions = std::env::var("GITHUB_ACTIONS").is_ok_and(|value| value == "true");
        if !in_actions && crate::console::stderr_is_terminal() {
            let multi = MultiProgress::with_draw_target(ProgressDrawTarget::term_like_with_hz(
                Box::new(crate::console::LiveTerm::stderr()),
                REFRESH_HZ,
            ));
            crate::console::show_live(Some(multi.clone()));
            Mode::Terminal(multi)
        } else {
            Mode::Lines
        }
    })
}

/// Shows one upload attempt's progress until dropped (the bar is then cleared).
#[derive(Debug)]
pub struct Watch {
    task: Option<tokio::task::JoinHandle<()>>,
    bar: Option<std::sync::Arc<std::sync::Mutex<Bar>>>,
}

/// One file's bar; behind a lock so that the ticker never shows it once the upload ended.
#[derive(Debug)]
struct Bar {
    multi: MultiProgress,
    indicator: ProgressBar,
    shown: bool,
    ended: bool,
}

impl Drop for Watch {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
        if let Some(bar) = self.bar.take() {
            let mut bar = bar
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            bar.ended = true;
            if bar.shown {
                bar.indicator.finish_and_clear();
                bar.multi.remove(&bar.indicator);
            }
        }
    }
}

/// Follow the upload of `file` (`total` bytes) whose body reports to `progress`. Must be
/// called inside the tokio runtime.
#[must_use]
pub fn watch(file: &str, total: u64, progress: &Progress) -> Watch {
    match mode() {
        Mode::Terminal(multi) => {
            let bar = std::sync::Arc::new(std::sync::Mutex::new(Bar {
                multi: multi.clone(),
                indicator: ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::hidden())
                    .with_style(bar_style())
                    .with_message(file.to_owned()),
                shown: false,
                ended: false,
            }));
            let task = tokio::spawn(follow_bar(bar.clone(), progress.clone()));
            Watch {
                task: Some(task),
                bar: Some(bar),
            }
        }
        Mode::Lines if total >= LINES_FROM_SIZE => Watch {
            task: Some(tokio::spawn(quarter_lines(
                file.to_owned(),
                total,
                progress.clone(),
            ))),
            bar: None,
        },
        Mode::Lines => Watch {
            task: None,
            bar: None,
        },
    }
}

fn bar_style() -> ProgressStyle {
    ProgressStyle::with_template(BAR_TEMPLATE)
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ")
}

/// Keep the bar's position in step with the counter; put it on screen after [`SHOW_AFTER`].
async fn follow_bar(bar: std::sync::Arc<std::sync::Mutex<Bar>>, progress: Progress) {
    let mut ticks = tokio::time::interval(TICK);
    loop {
        ticks.tick().await;
        let mut bar = bar
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if bar.ended {
            return;
        }
        bar.indicator.set_position(progress.sent());
        if !bar.shown && progress.elapsed() >= SHOW_AFTER {
            let shown = bar.multi.add(bar.indicator.clone());
            bar.indicator = shown;
            bar.shown = true;
        }
    }
}

/// Print one line as the upload passes 25, 50 and 75% of the file, with the rate so far.
async fn quarter_lines(file: String, total: u64, progress: Progress) {
    let mut next = 1_u64;
    let mut ticks = tokio::time::interval(TICK);
    while next <= 3 {
        ticks.tick().await;
        let sent = progress.sent();
        // Several quarters passed within one tick print one line, for the last of them.
        let mut passed = None;
        while next <= 3 && sent.saturating_mul(4) >= total.saturating_mul(next) {
            passed = Some(next);
            next += 1;
        }
        if let Some(quarter) = passed {
            Console::line(&quarter_line(
                &file,
                quarter * 25,
                sent,
                total,
                progress.elapsed(),
            ));
        }
    }
}

/// `name: 50% sent (50.0 of 100.0 MiB, 12.5 MiB/s)` (binary units, as the dist list).
fn quarter_line(file: &str, percent: u64, sent: u64, total: u64, elapsed: Duration) -> String {
    const MIB: f64 = 1024.0 * 1024.0;
    #[expect(
        clippy::cast_precision_loss,
        reason = "byte counts shown with one decimal"
    )]
    let (sent_mib, total_mib) = (sent as f64 / MIB, total as f64 / MIB);
    let rate = sent_mib / elapsed.as_secs_f64().max(0.001);
    format!("{file}: {percent}% sent ({sent_mib:.1} of {total_mib:.1} MiB, {rate:.1} MiB/s)")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quarter_line_names_the_file_the_share_and_the_rate() {
        assert_eq!(
            quarter_line(
                "demo-1.0-py3-none-any.whl",
                50,
                50 << 20,
                100 << 20,
                Duration::from_secs(4)
            ),
            "demo-1.0-py3-none-any.whl: 50% sent (50.0 of 100.0 MiB, 12.5 MiB/s)"
        );
    }

    #[test]
    fn the_bar_template_is_valid() {
        assert!(ProgressStyle::with_template(BAR_TEMPLATE).is_ok());
    }
}
