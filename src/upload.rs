//! The legacy upload API (Warehouse `forklift/legacy.py`, DESIGN §6): one streaming
//! `multipart/form-data` POST per file with the core metadata fields `PyPI` accepts, retried
//! safely.

use std::time::Duration;

use futures_util::StreamExt as _;
use reqwest::StatusCode;
use reqwest::multipart::{Form, Part};
use secrecy::ExposeSecret as _;
use url::Url;

use crate::auth::Authenticator;
use crate::distribution::Dist;
use crate::distribution::form::MetadataForm;
use crate::http::{HttpError, RetryPolicy, http_error_within, is_retryable};
use crate::http::{Progress, error_chain, send_watched};
use crate::index::{self, Lookup};

/// What happened to one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileStatus {
    Uploaded,
    /// The same file (same sha256) was already on the index.
    AlreadyOnIndex,
    /// A different file with this name is on the index and `skip-existing` is on.
    SkippedDifferent,
}

impl FileStatus {
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Self::Uploaded => "uploaded",
            Self::AlreadyOnIndex => "already on index",
            Self::SkippedDifferent => "skipped (different file on index)",
        }
    }
}

#[derive(Debug, Clone)]
pub struct FileOutcome {
    pub status: FileStatus,
    /// HTTP requests made for this file (1 when nothing went wrong).
    pub attempts: u32,
    /// Warnings the index sent back with a success.
    pub server_warnings: Vec<String>,
}

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

/// Sends files to one index with one set of credentials.
#[derive(Debug)]
pub struct Uploader<'a> {
    /// For index lookups (with the shared read timeout).
    pub client: &'a reqwest::Client,
    /// For the uploads themselves: [`crate::http::upload_client`], progress-watched.
    pub upload_client: reqwest::Client,
    pub repository_url: Url,
    pub check_url: Url,
    pub auth: &'a Authenticator,
    pub policy: RetryPolicy,
    pub skip_existing: bool,
}

/// What the index's simple page says about one file.
enum OnIndex {
    /// Listed with a sha256: the status that follows.
    Listed(FileStatus),
    /// Not listed (or no project page).
    NotListed,
    /// Cannot tell: the page could not be read, or lists the file without a sha256.
    Unknown(String),
}

/// How an attempt ended.
enum Attempt {
    Done(FileStatus, Vec<String>),
    /// A temporary failure: the server's `Retry-After`, and what went wrong.
    Retry(Option<Duration>, String),
    /// The connection broke after the request may have been received: look before re-sending.
    Ambiguous(String),
    Redirect(Url),
    /// 401/403: the credentials sent at this moment were refused.
    Refused(std::time::Instant, UploadError),
}

impl Uploader<'_> {
    /// Upload one dist (with its PEP 740 attestation, if any), retrying transient failures.
    pub async fn upload(
        &self,
        dist: &Dist,
        attestation: Option<&str>,
    ) -> Result<FileOutcome, UploadError> {
        // The credentials go in one Authorization header (auth.rs decides which); user info
        // left in the URL would add a second one.
        let mut url = crate::http::without_user_info(&self.repository_url);
        let mut redirects = 0;
        let mut attempt = 0;
        let mut last_problem = String::new();
        let mut renewed = false;
        while attempt < self.policy.attempts {
            attempt += 1;
            let outcome = self.attempt(dist, &url, attestation).await;
            match outcome {
                Ok(Attempt::Done(status, server_warnings)) => {
                    return Ok(FileOutcome {
                        status,
                        attempts: attempt,
                        server_warnings,
                    });
                }
                Ok(Attempt::Redirect(location)) => {
                    redirects += 1;
                    if redirects > 3 {
                        return Err(upload_error(
                            dist,
                            &url,
                            "too many redirects".to_owned(),
                            None,
                        ));
                    }
                    tracing::debug!(
                        "{}: following redirect to {}",
                        dist.file_name(),
                        crate::http::display_url(&location)
                    );
                    url = location;
                    attempt -= 1; // a redirect is not a failure
                }
                Ok(Attempt::Refused(sent_at, error)) => {
                    // A Trusted Publishing token can expire while a large file is on its
                    // way: mint a fresh one and send the file once more.
                    if renewed || !self.auth.renew(sent_at).await {
                        return Err(error);
                    }
                    renewed = true;
                    tracing::info!(
                        "{}: the index refused the token ({}); sending it again with a fresh one",
                        dist.file_name(),
                        error.problem
                    );
                }
                Ok(Attempt::Retry(retry_after, problem)) => {
                    last_problem = problem;
                    self.wait_before_retry(dist, attempt, retry_after, &last_problem)
                        .await;
                }
                Ok(Attempt::Ambiguous(problem)) => {
                    // The file may have been stored although the answer was lost: ask the
                    // index before sending it again, so it is never uploaded twice.
                    if let Some(status) = self.already_there(dist).await? {
                        tracing::info!(
                            "{}: the connection broke, but the index has the file: counted as uploaded",
                            dist.file_name()
                        );
                        let status = if status == FileStatus::AlreadyOnIndex {
                            FileStatus::Uploaded
                        } else {
                            status
                        };
                        return Ok(FileOutcome {
                            status,
                            attempts: attempt,
                            server_warnings: Vec::new(),
                        });
                    }
                    last_problem = problem;
                    self.wait_before_retry(dist, attempt, None, &last_problem)
                        .await;
                }
                Err(error) => return Err(error),
            }
        }
        Err(upload_error(
            dist,
            &url,
            format!("gave up after {attempt} attempts: {last_problem}"),
            Some(if last_problem.starts_with("cannot connect") {
                "nothing answers at this address: check repository-url and that the index is reachable from the runner; re-run the job once it is: files already uploaded are skipped".to_owned()
            } else {
                "the index may be having an outage (https://status.python.org for PyPI); re-run the job: files already uploaded are skipped".to_owned()
            }),
        ))
    }

    async fn attempt(
        &self,
        dist: &Dist,
        url: &Url,
        attestation: Option<&str>,
    ) -> Result<Attempt, UploadError> {
        let sent_at = std::time::Instant::now();
        let credentials = self
            .auth
            .credentials()
            .await
            .map_err(|error| upload_error(dist, url, format!("{error:#}"), None))?;
        let progress = Progress::new();
        let _shown = crate::progress::watch(dist.file_name(), dist.size, &progress);
        let form = form_watched(dist, attestation, Some(&progress))
            .await
            .map_err(|error| {
                upload_error(dist, url, format!("cannot read the file: {error}"), None)
            })?;
        let request = self
            .upload_client
            .post(url.clone())
            .basic_auth(
                &credentials.user,
                Some(credentials.password.expose_secret()),
            )
            .header(reqwest::header::ACCEPT, "application/json")
            .multipart(form);
        let idle = crate::http::idle_timeout();
        let response = match send_watched(request, &progress, idle).await {
            Some(Ok(response)) => response,
            Some(Err(error)) if error.is_connect() => {
                return Ok(Attempt::Retry(
                    None,
                    format!("cannot connect ({})", error_chain(&error)),
                ));
            }
            Some(Err(error)) => {
                return Ok(Attempt::Ambiguous(format!(
                    "the connection failed during the upload ({})",
                    error_chain(&error)
                )));
            }
            None => {
                return Ok(Attempt::Ambiguous(format!(
                    "no answer from the index for {}s",
                    idle.as_secs_f64()
                )));
            }
        };
        let status = response.status();
        if status.is_success() {
            // The file is stored: an answer too large or too slow costs only its warnings.
            let body = crate::http::read_body(response, crate::http::BodyKind::UploadAnswer)
                .await
                .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
                .unwrap_or_default();
            let warnings = body
                .lines()
                .map(str::trim)
                .filter(|line| !line.is_empty() && !line.starts_with(['{', '<']))
                .map(str::to_owned)
                .collect();
            return Ok(Attempt::Done(FileStatus::Uploaded, warnings));
        }
        if matches!(
            status,
            StatusCode::TEMPORARY_REDIRECT | StatusCode::PERMANENT_REDIRECT
        ) {
            if let Some(location) = response
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|l| url.join(l).ok())
            {
                return match crate::http::redirect::check(url, &location) {
                    Ok(()) => Ok(Attempt::Redirect(location)),
                    Err(refused) => Err(upload_error(
                        dist,
                        url,
                        refused.to_string(),
                        Some("set repository-url to the final upload URL".to_owned()),
                    )),
                };
            }
        }
        if status.is_redirection() {
            // 301/302/303 would be re-sent as a GET without the file (pypi/warehouse#8104),
            // so they are never followed: the upload did not happen.
            let location = response
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .map_or_else(
                    || "no Location".to_owned(),
                    |l| {
                        url.join(l).map_or_else(
                            |_| format!("Location `{l}`"),
                            |target| format!("Location {}", crate::http::display_url(&target)),
                        )
                    },
                );
            return Err(upload_error(
                dist,
                url,
                format!("the index answered {status} ({location}); the file was not uploaded"),
                Some("uploads are not re-sent through a 301/302/303 redirect (it would drop the file): set repository-url to the final upload URL (PyPI: https://upload.pypi.org/legacy/)".to_owned()),
            ));
        }
        let Ok(error) = http_error_within(response, "POST", idle).await else {
            if is_retryable(status) {
                return Ok(Attempt::Retry(
                    None,
                    format!("the index answered {status} and then stopped sending"),
                ));
            }
            // A final answer stays final even when its body never arrives.
            let bare = HttpError {
                method: "POST".to_owned(),
                url: crate::http::display_url(url),
                status,
                reason: None,
                body: String::new(),
                retry_after: None,
            };
            if is_already_exists(&bare) {
                return self
                    .resolve_existing(dist, url, &bare)
                    .await
                    .map(|status| Attempt::Done(status, Vec::new()));
            }
            return Err(upload_error(
                dist,
                url,
                format!(
                    "the index answered {status} (its message did not arrive within {}s)",
                    idle.as_secs_f64()
                ),
                hint(&bare, dist, &credentials.user),
            ));
        };
        if is_retryable(status) {
            tracing::debug!("{}: {error}", dist.file_name());
            return Ok(Attempt::Retry(
                error.retry_after,
                format!("the index answered {} {}", status.as_u16(), error.message()),
            ));
        }
        if is_already_exists(&error) {
            return self
                .resolve_existing(dist, url, &error)
                .await
                .map(|status| Attempt::Done(status, Vec::new()));
        }
        let failure = upload_error(
            dist,
            url,
            format!("{} {}", status.as_u16(), error.message()),
            hint(&error, dist, &credentials.user),
        );
        if matches!(status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN) {
            return Ok(Attempt::Refused(sent_at, failure));
        }
        Err(failure)
    }

    /// Sleep before the next attempt (none after the last), saying why.
    async fn wait_before_retry(
        &self,
        dist: &Dist,
        attempt: u32,
        retry_after: Option<Duration>,
        problem: &str,
    ) {
        if attempt >= self.policy.attempts {
            return;
        }
        let wait = self.policy.delay(attempt, retry_after);
        tracing::info!(
            "{}: {problem}; retrying in {:.1}s (attempt {attempt}/{})",
            dist.file_name(),
            wait.as_secs_f64(),
            self.policy.attempts
        );
        tokio::time::sleep(wait).await;
    }

    /// The index says the name exists: same content is success, different content is an
    /// error (or a loud warning with `skip-existing`), unknown content is said to be unknown.
    async fn resolve_existing(
        &self,
        dist: &Dist,
        url: &Url,
        error: &HttpError,
    ) -> Result<FileStatus, UploadError> {
        let why = match self.on_index(dist).await? {
            OnIndex::Listed(status) => return Ok(status),
            OnIndex::Unknown(why) => Some(why),
            OnIndex::NotListed => None,
        };
        if self.skip_existing {
            crate::actions::Console::warning(
                "File already exists",
                &format!(
                    "{}: the index refused it as already existing ({}) and its content could not be compared; skipped because skip-existing is on",
                    dist.file_name(),
                    error.message()
                ),
            );
            return Ok(FileStatus::SkippedDifferent);
        }
        if let Some(why) = why {
            return Err(upload_error(
                dist,
                url,
                format!(
                    "the index says the file exists ({} {}); its content could not be compared because {why}",
                    error.status.as_u16(),
                    error.message()
                ),
                Some(format!(
                    "check the file on the index (its sha256 must be {}), or set skip-existing: true to skip files that are already there",
                    dist.digests.sha256
                )),
            ));
        }
        Err(upload_error(
            dist,
            url,
            format!("{} {}", error.status.as_u16(), error.message()),
            Some("a file with this name is on the index with different content; file names can never be reused, so bump the version and rebuild".to_owned()),
        ))
    }

    /// Look the file up on the index. `Some` when it is listed with the same hash (or a
    /// different one with skip-existing); an error when listed with different content.
    pub async fn already_there(&self, dist: &Dist) -> Result<Option<FileStatus>, UploadError> {
        Ok(match self.on_index(dist).await? {
            OnIndex::Listed(status) => Some(status),
            OnIndex::NotListed | OnIndex::Unknown(_) => None,
        })
    }

    /// What the index's simple page says about this file.
    async fn on_index(&self, dist: &Dist) -> Result<OnIndex, UploadError> {
        let project = dist.metadata.name().unwrap_or(&dist.filename.name);
        let lookup = match index::lookup(self.client, &self.check_url, project).await {
            Ok(lookup) => lookup,
            Err(error) => {
                tracing::debug!(
                    "could not query the index for {}: {error:#}",
                    dist.file_name()
                );
                return Ok(OnIndex::Unknown(format!(
                    "the index could not be queried ({error:#})"
                )));
            }
        };
        let Lookup::Found(files) = lookup else {
            return Ok(OnIndex::NotListed);
        };
        match files.sha256_of(dist.file_name()) {
            None => Ok(OnIndex::NotListed),
            Some(None) => Ok(OnIndex::Unknown(format!(
                "the index at {} lists it without a sha256",
                crate::http::display_url(&self.check_url)
            ))),
            Some(Some(hash)) if hash == dist.digests.sha256 => {
                Ok(OnIndex::Listed(FileStatus::AlreadyOnIndex))
            }
            Some(Some(hash)) => self.different_content(dist, hash).map(OnIndex::Listed),
        }
    }

    /// A file of this name with a different sha256 is on the index.
    pub fn different_content(
        &self,
        dist: &Dist,
        index_sha256: &str,
    ) -> Result<FileStatus, UploadError> {
        let problem = format!(
            "a different file with this name is already on the index (index sha256 {index_sha256}, local sha256 {})",
            dist.digests.sha256
        );
        if self.skip_existing {
            crate::actions::Console::warning(
                "Different file already on the index",
                &format!(
                    "{}: {problem}; skipped because skip-existing is on",
                    dist.file_name()
                ),
            );
            return Ok(FileStatus::SkippedDifferent);
        }
        Err(upload_error(
            dist,
            &self.repository_url,
            problem,
            Some("file names can never be reused on an index: bump the version and rebuild (or set skip-existing: true to skip it with a warning)".to_owned()),
        ))
    }
}

fn upload_error(dist: &Dist, url: &Url, problem: String, hint: Option<String>) -> UploadError {
    UploadError {
        file: dist.file_name().to_owned(),
        url: crate::http::display_url(url),
        problem,
        hint,
    }
}

fn is_already_exists(error: &HttpError) -> bool {
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
fn hint(error: &HttpError, dist: &Dist, user: &str) -> Option<String> {
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

/// The multipart form: `:action`, `protocol_version`, the metadata fields (repeated fields
/// repeated), file type and digests, the attestation, and the file itself last, streamed.
pub async fn form(dist: &Dist, attestation: Option<&str>) -> std::io::Result<Form> {
    form_watched(dist, attestation, None).await
}

async fn form_watched(
    dist: &Dist,
    attestation: Option<&str>,
    progress: Option<&Progress>,
) -> std::io::Result<Form> {
    let mut form = Form::new()
        .text(":action", "file_upload")
        .text("protocol_version", "1");
    for (key, value) in form_fields(dist) {
        form = form.text(key, value);
    }
    if let Some(attestation) = attestation {
        form = form.text("attestations", attestation.to_owned());
    }
    let file = tokio::fs::File::open(&dist.path).await?;
    let length = file.metadata().await?.len();
    let progress = progress.cloned();
    // Reads of 256 KiB for large files, which go one or two at a time (they take several
    // upload slots); at most 16 KiB for the others, which may be many in flight at once: each
    // read is buffered twice (tokio's file and the stream), per upload. Measured in bench/:
    // with 10 uploads of 200 KB in flight, 256 KiB reads took 4 MiB more peak memory.
    let capacity = if length >= 16 * 1024 * 1024 {
        256 * 1024
    } else {
        usize::try_from(length)
            .unwrap_or(usize::MAX)
            .clamp(8 * 1024, 16 * 1024)
    };
    let stream =
        tokio_util::io::ReaderStream::with_capacity(file, capacity).inspect(move |chunk| {
            if let Some(progress) = &progress {
                progress.advance(chunk.as_ref().map_or(0, bytes::Bytes::len));
            }
        });
    let part = Part::stream_with_length(reqwest::Body::wrap_stream(stream), length)
        .file_name(dist.file_name().to_owned())
        .mime_str("application/octet-stream")
        .map_err(std::io::Error::other)?;
    Ok(form.part("content", part))
}

/// Every text field of the upload form, in order: the metadata fields `PyPI` accepts for the
/// declared Metadata-Version ([`MetadataForm`]), then our own protocol fields. No header of
/// the file can become a protocol field: metadata is forwarded from a fixed table only.
#[must_use]
pub fn form_fields(dist: &Dist) -> Vec<(String, String)> {
    let mut fields: Vec<(String, String)> = MetadataForm::build(&dist.metadata)
        .fields
        .into_iter()
        .map(|(name, value)| (name.to_owned(), value))
        .collect();
    fields.push(("filetype".to_owned(), dist.kind().filetype().to_owned()));
    fields.push(("pyversion".to_owned(), dist.pyversion().to_owned()));
    fields.push(("sha256_digest".to_owned(), dist.digests.sha256.clone()));
    fields.push((
        "blake2_256_digest".to_owned(),
        dist.digests.blake2_256.clone(),
    ));
    fields
}
