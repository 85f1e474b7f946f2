//! How a failed run is named: the run's own failures that no single step owns (around the
//! GitHub release), and the short title of the one `::error::` annotation of a failed run.

use crate::auth::trusted_publishing::OidcError;
use crate::{attest, distribution, release, release_window, upload};

/// The dists are on the index but the GitHub release could not be finished.
#[derive(Debug, thiserror::Error)]
#[error("the dists are on the index, but the GitHub release failed; re-run the job to finish it")]
pub struct ReleaseFailed {
    pub source: anyhow::Error,
}

/// `skip-existing` let a run pass although the index holds other files under our names; a
/// release made from the local files would not match what the index serves (DESIGN §7: a
/// release only once every dist is on the index).
#[derive(Debug, thiserror::Error)]
#[error(
    "no GitHub release was made: the index has different files under the names {} (skipped because skip-existing is on), so the release assets would not be what the index serves; rebuild exactly the published files, or bump the version and publish again",
    files.join(", ")
)]
pub struct ReleaseWithheld {
    pub files: Vec<String>,
}

/// A short title for the one `::error::` annotation of a failed run.
#[must_use]
pub fn error_title(error: &anyhow::Error) -> String {
    if error
        .downcast_ref::<distribution::verify::VerifyFailed>()
        .is_some()
        || error.downcast_ref::<distribution::DistError>().is_some()
    {
        return "Verification failed (nothing uploaded)".to_owned();
    }
    if let Some(oidc) = error.downcast_ref::<OidcError>() {
        return oidc.title().to_owned();
    }
    if error.is::<release_window::ReleaseClosed>() {
        return "Release closed to new files (nothing uploaded)".to_owned();
    }
    if error.downcast_ref::<attest::AttestFailed>().is_some() {
        return "Attestation failed (nothing uploaded)".to_owned();
    }
    if error
        .chain()
        .any(|cause| cause.is::<upload::UploadError>() || cause.is::<upload::UploadFailed>())
    {
        return "Upload failed".to_owned();
    }
    if error.is::<release::gate::ReleaseImpossible>() {
        return "GitHub release impossible (nothing uploaded)".to_owned();
    }
    if error.is::<ReleaseWithheld>() {
        return "GitHub release withheld".to_owned();
    }
    if error.is::<ReleaseFailed>() {
        return "GitHub release failed".to_owned();
    }
    "Publishing failed".to_owned()
}
