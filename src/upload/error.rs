//! Why a file could not be uploaded, with the server's answer and the fix for the answers users
//! meet most.

use reqwest::StatusCode;
use url::Url;

use crate::distribution::Dist;
use crate::http::HttpError;

/// Why a file could not be uploaded: names the file, the URL, the server's answer, the fix.
#[derive(Debug, thiserror::Error)]
#[error("{file}: upload to {url} failed: {problem}{}", hint.as_ref().map(|h| format!("\n  hint: {h}")).unwrap_or_default())]
pub struct UploadError {
    pub file: String,
    pub url: String,
    pub problem: String,
    pub hint: Option<String>,
}

/// Some files could not be uploaded; every failure is listed.
#[derive(Debug, thiserror::Error)]
#[error(
    "{} of {total} file(s) could not be uploaded; no GitHub release was made. Re-run the job once the cause is fixed: files already on the index are skipped.\n{}",
    failures.len(),
    failures.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n")
)]
pub struct UploadFailed {
    pub failures: Vec<UploadError>,
    pub total: usize,
}
pub(super) fn upload_error(
    dist: &Dist,
    url: &Url,
    problem: String,
    hint: Option<String>,
) -> UploadError {
    UploadError {
        file: dist.file_name().to_owned(),
        url: crate::http::display_url(url),
        problem,
        hint,
    }
}

pub(super) fn is_already_exists(error: &HttpError) -> bool {
    let message = error.message().to_ascii_lowercase();
    error.status == StatusCode::CONFLICT
        || (error.status == StatusCode::BAD_REQUEST
            && (message.contains("already exists")
                || error
                    .reason
                    .as_deref()
                    .is_some_and(|r| r.to_ascii_lowercase().contains("already exists"))))
}

/// A hint for the answers users meet most.
pub(super) fn hint(error: &HttpError, dist: &Dist, user: &str) -> Option<String> {
    let message = error.message().to_ascii_lowercase();
    let project = dist.metadata.name().unwrap_or(&dist.filename.name);
    let text = match error.status.as_u16() {
        401 | 403 if message.contains("isn't allowed to upload") || message.contains("not allowed") => format!(
            "the token is not scoped to project `{project}`: create a token for this project (or an account-wide one), or use Trusted Publishing"
        ),
        401 | 403 => format!("the index refused the credentials for user `{user}`: check the token (it must be the whole value, starting with `pypi-`) and that it has not been revoked, or use Trusted Publishing"),
        405 => "the index does not accept uploads at this URL: repository-url must be the upload endpoint (https://upload.pypi.org/legacy/ or https://test.pypi.org/legacy/), not the simple index".to_owned(),
        404 => "there is no upload endpoint at this URL: check repository-url (PyPI: https://upload.pypi.org/legacy/)".to_owned(),
        413 => "the file is larger than the index allows: PyPI's default limit is 100 MB per file; request a larger limit at https://pypi.org/help/#file-size-limit".to_owned(),
        400 if message.contains("file too large") || message.contains("project size too large") => {
            "the file or project is over the index's size limit: see https://pypi.org/help/#file-size-limit and https://pypi.org/help/#project-size-limit".to_owned()
        }
        400 if message.contains("only one sdist") => "the release already has an sdist with another name: keep exactly one sdist per version (PEP 625 names: lower case with underscores)".to_owned(),
        400 if message.contains("classifier") => "fix the classifier in pyproject.toml; valid ones are listed at https://pypi.org/classifiers/".to_owned(),
        400 if message.contains("non-user identities cannot create new projects") => {
            format!("Trusted Publishing cannot create project `{project}`: add a *pending* publisher for it at https://pypi.org/manage/account/publishing/ first")
        }
        400 if message.contains("previously used") || message.contains("has since been deleted") => "a deleted file's name can never be reused: bump the version and rebuild".to_owned(),
        400 if message.contains("version in filename") || message.contains("invalid distribution file") => "rebuild the dists from a clean tree with `python -m build`".to_owned(),
        _ => return None,
    };
    Some(text)
}
