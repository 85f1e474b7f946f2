//! One file's upload: a streaming POST, retried safely. A temporary failure waits and tries
//! again; a broken connection looks at the index before re-sending; a refused token is renewed
//! once; a redirect is followed only where the rules allow.

use std::time::Duration;

use reqwest::StatusCode;
use secrecy::ExposeSecret as _;
use url::Url;

use super::error::{hint, is_already_exists, upload_error};
use super::form::form_watched;
use super::{FileOutcome, FileStatus, UploadError};
use crate::auth::Authenticator;
use crate::distribution::Dist;
use crate::http::{HttpError, RetryPolicy, http_error_within, is_retryable};
use crate::http::{Progress, error_chain, send_watched};

/// Sends files to one index with one set of credentials. Its `Debug` shows the URLs without
/// user info and query, and the credentials as [`crate::auth::Credentials`] shows them.
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

impl std::fmt::Debug for Uploader<'_> {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Uploader")
            .field(
                "repository_url",
                &crate::http::display_url(&self.repository_url),
            )
            .field("check_url", &crate::http::display_url(&self.check_url))
            .field("auth", self.auth)
            .field("policy", &self.policy)
            .field("skip_existing", &self.skip_existing)
            .finish_non_exhaustive()
    }
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
        let floor = crate::http::transfer_floor();
        let deadline = crate::http::transfer_deadline(dist.size);
        let Ok(sent) = tokio::time::timeout(deadline, send_watched(request, &progress, idle)).await
        else {
            return Ok(Attempt::Ambiguous(format!(
                "the upload was still running after {:.0}s, the most a file of {} bytes may take (at {} KiB/s, slower than any working link); the index or a proxy on the way reads it too slowly",
                deadline.as_secs_f64(),
                dist.size,
                floor / 1024
            )));
        };
        let response = match sent {
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uploader_debug_shows_no_credential() {
        let client = reqwest::Client::new();
        let auth = Authenticator::Static(crate::auth::Credentials {
            user: "FURYUSERTOKEN0123".to_owned(),
            password: secrecy::SecretString::from("pypi-password-0123"),
        });
        let uploader = Uploader {
            client: &client,
            upload_client: client.clone(),
            repository_url: Url::parse(
                "https://alice:URLPASSWORD0123@pkgs.example.com/legacy/?t=QUERYTOKEN0123",
            )
            .unwrap(),
            check_url: Url::parse("https://CHECKTOKEN0123@pkgs.example.com/simple/").unwrap(),
            auth: &auth,
            policy: RetryPolicy::default(),
            skip_existing: false,
        };
        let text = format!("{uploader:?}");
        for secret in [
            "FURYUSERTOKEN0123",
            "pypi-password-0123",
            "alice",
            "URLPASSWORD0123",
            "QUERYTOKEN0123",
            "CHECKTOKEN0123",
        ] {
            assert!(!text.contains(secret), "{secret}: {text}");
        }
        assert!(text.contains("https://pkgs.example.com/legacy/"), "{text}");
    }
}
