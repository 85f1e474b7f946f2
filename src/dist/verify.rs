//! Verification before any network call (DESIGN §3): every dist is checked, every failure is
//! reported, and nothing is sent unless all pass.

use super::Dist;

/// All problems found across the set of dists, reported together.
#[derive(Debug, Default)]
pub struct Report {
    pub errors: Vec<String>,
    pub warnings: Vec<String>,
}

/// Checks across the whole set: one name and one version, at most one sdist.
#[must_use]
pub fn check_set(dists: &[Dist]) -> Report {
    let mut report = Report::default();
    let mut names = std::collections::BTreeSet::new();
    let mut versions = std::collections::BTreeSet::new();
    for dist in dists {
        if let Some(name) = dist.metadata.name() {
            names.insert(super::filename::normalize_name(name));
        }
        if let Some(version) = dist.metadata.version() {
            versions.insert(version.to_owned());
        }
    }
    if names.len() > 1 {
        report.errors.push(format!(
            "the dists belong to different projects ({}); publish one project per step",
            names.into_iter().collect::<Vec<_>>().join(", ")
        ));
    }
    if versions.len() > 1 {
        report.errors.push(format!(
            "the dists have different versions ({}); remove stale dists from packages-dir so one version is published",
            versions.into_iter().collect::<Vec<_>>().join(", ")
        ));
    }
    let sdists: Vec<&str> = dists
        .iter()
        .filter(|dist| dist.kind() == super::DistKind::Sdist)
        .map(Dist::file_name)
        .collect();
    if sdists.len() > 1 {
        report.errors.push(format!(
            "more than one sdist ({}); an index accepts only one sdist per release",
            sdists.join(", ")
        ));
    }
    report
}

/// Every verification problem of the run, reported together; nothing was sent.
#[derive(Debug, thiserror::Error)]
#[error("{} problem(s) found in the dists; nothing was uploaded:\n{}", errors.len(), errors.iter().map(|e| format!("  - {e}")).collect::<Vec<_>>().join("\n"))]
pub struct VerifyFailed {
    pub errors: Vec<String>,
}

/// All checks of DESIGN §3 over the loaded dists.
#[must_use]
pub fn verify_all(_settings: &crate::inputs::Settings, dists: &[Dist]) -> Report {
    let mut report = check_set(dists);
    for dist in dists {
        let file = dist.file_name();
        match (dist.metadata.name(), dist.metadata.version()) {
            (Some(_), Some(_)) => {}
            _ => report.errors.push(format!(
                "{file}: core metadata lacks Name or Version; rebuild the dist"
            )),
        }
    }
    report
}
