//! The one way a response body is read: at most a size fixed per kind of answer, within one
//! total deadline. A hostile or broken server can send an endless body (an endless index page
//! reached 3.6 GiB in 6 s) or drip one byte at a time (never idle long enough for the read
//! timeout); neither may cost more than the cap in memory and the deadline in time.
//! `reqwest::Response`'s own readers are disallowed elsewhere (clippy.toml).

use std::time::Duration;

use serde::de::DeserializeOwned;

use super::display_url;

/// What a body is, and so how much of it may be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyKind {
    /// A PEP 503/691 project page: the largest projects on `PyPI` list tens of thousands of
    /// files (a few MiB of JSON); a page past the cap is treated as unreadable.
    SimplePage,
    /// The index's answer to an upload (a few lines of warnings).
    UploadAnswer,
    /// `/_/oidc/audience`, `/_/oidc/mint-token`, GitHub's ID token answer: tiny JSON.
    OidcAnswer,
    /// A GitHub API JSON answer (a page of 100 releases with bodies up to 125 000 characters).
    GitHubJson,
    /// Fulcio's certificate chain, Rekor's log entry.
    SigstoreAnswer,
    /// A release's JSON API answer (`/pypi/{name}/{version}/json`): its description included,
    /// and one entry per file.
    ReleaseJson,
    /// The body of an answer that is not a success (shown shortened).
    Error,
}

impl BodyKind {
    /// The most bytes read.
    #[must_use]
    pub const fn limit(self) -> usize {
        const MIB: usize = 1024 * 1024;
        match self {
            Self::SimplePage => 64 * MIB,
            Self::UploadAnswer | Self::SigstoreAnswer => MIB,
            Self::OidcAnswer | Self::Error => 64 * 1024,
            Self::GitHubJson => 32 * MIB,
            Self::ReleaseJson => 16 * MIB,
        }
    }

    fn what(self) -> &'static str {
        match self {
            Self::SimplePage => "the project page",
            Self::UploadAnswer => "the upload answer",
            Self::OidcAnswer => "the Trusted Publishing answer",
            Self::GitHubJson => "the GitHub API answer",
            Self::SigstoreAnswer => "the Sigstore answer",
            Self::ReleaseJson => "the release's JSON",
            Self::Error => "the error answer",
        }
    }
}

/// A body that could not be read whole.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    #[error("{url} sent more than {} KiB for {what}; stopped reading it", limit / 1024)]
    TooLarge {
        url: String,
        what: &'static str,
        limit: usize,
    },
    #[error("{url} did not send {what} within {}s; stopped waiting for it", deadline.as_secs_f64())]
    TooSlow {
        url: String,
        what: &'static str,
        deadline: Duration,
    },
    #[error("reading {what} from {url} failed: {}", super::error_chain(source))]
    Transport {
        url: String,
        what: &'static str,
        source: reqwest::Error,
    },
    #[error("{url} answered with {what} that is not the expected JSON: {problem}")]
    Json {
        url: String,
        what: &'static str,
        problem: String,
    },
}

/// How long one request may take in total, head and body: a server that trickles its headers
/// or drips its body never trips the idle timeout, but always this. Twice the idle timeout
/// (`PYPI_OIDC_PUBLISH_READ_TIMEOUT_MS` in tests; 240 s in production).
#[must_use]
pub fn request_deadline() -> Duration {
    super::idle_timeout().saturating_mul(2)
}

/// The slowest transfer rate we wait for: 64 KiB/s, a floor no working link is below.
const FLOOR_BYTES_PER_SECOND: u64 = 64 * 1024;

/// The floor rate of [`transfer_deadline`]: [`FLOOR_BYTES_PER_SECOND`], or
/// `PYPI_OIDC_PUBLISH_UPLOAD_FLOOR_BPS` (test-only, like `PYPI_OIDC_PUBLISH_READ_TIMEOUT_MS`:
/// a test reaches the deadline in seconds without a link slower than the idle timeout follows).
#[must_use]
pub fn transfer_floor() -> u64 {
    std::env::var("PYPI_OIDC_PUBLISH_UPLOAD_FLOOR_BPS")
        .ok()
        .and_then(|value| value.parse().ok())
        .filter(|rate| *rate > 0)
        .unwrap_or(FLOOR_BYTES_PER_SECOND)
}

/// How long sending or fetching a file of `size` bytes may take in total: the request deadline
/// plus the time at the floor rate. The idle timeout alone let a peer that reads (or sends) one
/// window every ~119 s keep a 100 MB transfer going for days.
#[must_use]
pub fn transfer_deadline(size: u64) -> Duration {
    request_deadline() + Duration::from_millis(size.saturating_mul(1000) / transfer_floor())
}

/// How a partial read ended.
enum Ended {
    Complete,
    TooLarge,
    TooSlow,
    Failed(reqwest::Error),
}

/// Read into `into` until the body ends, `limit` bytes are exceeded, or `deadline` passes.
async fn read_up_to(
    response: reqwest::Response,
    into: &mut Vec<u8>,
    limit: usize,
    deadline: Duration,
) -> Ended {
    let read = async {
        let mut response = response;
        loop {
            #[expect(clippy::disallowed_methods, reason = "the one bounded body reader")]
            let chunk = response.chunk().await;
            match chunk {
                Ok(Some(chunk)) => {
                    let room = limit.saturating_sub(into.len());
                    if chunk.len() > room {
                        into.extend_from_slice(&chunk[..room]);
                        return Ended::TooLarge;
                    }
                    into.extend_from_slice(&chunk);
                }
                Ok(None) => return Ended::Complete,
                // The client's own total deadline (`http::client`) ran out first.
                Err(error) if error.is_timeout() => return Ended::TooSlow,
                Err(error) => return Ended::Failed(error.without_url()),
            }
        }
    };
    tokio::time::timeout(deadline, read)
        .await
        .unwrap_or(Ended::TooSlow)
}

/// A whole body of `kind`: at most [`BodyKind::limit`] bytes, within [`request_deadline`].
pub async fn read_body(
    response: reqwest::Response,
    kind: BodyKind,
) -> Result<bytes::Bytes, BodyError> {
    let url = display_url(response.url());
    let limit = kind.limit();
    let deadline = request_deadline();
    if response
        .content_length()
        .is_some_and(|length| length > limit as u64)
    {
        return Err(BodyError::TooLarge {
            url,
            what: kind.what(),
            limit,
        });
    }
    let mut bytes = Vec::new();
    match read_up_to(response, &mut bytes, limit, deadline).await {
        Ended::Complete => Ok(bytes.into()),
        Ended::TooLarge => Err(BodyError::TooLarge {
            url,
            what: kind.what(),
            limit,
        }),
        Ended::TooSlow => Err(BodyError::TooSlow {
            url,
            what: kind.what(),
            deadline,
        }),
        Ended::Failed(source) => Err(BodyError::Transport {
            url,
            what: kind.what(),
            source,
        }),
    }
}

/// A whole JSON body of `kind`, decoded.
pub async fn read_json<T: DeserializeOwned>(
    response: reqwest::Response,
    kind: BodyKind,
) -> Result<T, BodyError> {
    let url = display_url(response.url());
    let bytes = read_body(response, kind).await?;
    serde_json::from_slice(&bytes).map_err(|error| BodyError::Json {
        url,
        what: kind.what(),
        problem: error.to_string(),
    })
}

/// At most `limit` bytes of an error body, within `deadline`; `false` when it did not all
/// arrive (cut at the limit, too slow, or broken), with what did arrive in `into`.
pub async fn read_error_body(
    response: reqwest::Response,
    into: &mut Vec<u8>,
    deadline: Duration,
) -> bool {
    matches!(
        read_up_to(response, into, BodyKind::Error.limit(), deadline).await,
        Ended::Complete | Ended::TooLarge
    )
}

/// Feed a large body (a release asset being compared) to `each` chunk by chunk: at most
/// `limit` bytes (more is an error: the server sends something else than announced), within
/// `deadline`. Nothing is kept in memory.
pub async fn stream_body(
    response: reqwest::Response,
    limit: u64,
    deadline: Duration,
    mut each: impl FnMut(&[u8]),
) -> Result<(), BodyError> {
    let url = display_url(response.url());
    let what = "the download";
    let read = async {
        let mut response = response;
        let mut total = 0_u64;
        loop {
            #[expect(clippy::disallowed_methods, reason = "the one bounded body reader")]
            let chunk = response.chunk().await;
            match chunk {
                Ok(Some(chunk)) => {
                    total += chunk.len() as u64;
                    if total > limit {
                        return Err(BodyError::TooLarge {
                            url: url.clone(),
                            what,
                            limit: usize::try_from(limit).unwrap_or(usize::MAX),
                        });
                    }
                    each(&chunk);
                }
                Ok(None) => return Ok(()),
                Err(source) => {
                    return Err(BodyError::Transport {
                        url: url.clone(),
                        what,
                        source: source.without_url(),
                    });
                }
            }
        }
    };
    match tokio::time::timeout(deadline, read).await {
        Ok(result) => result,
        Err(_) => Err(BodyError::TooSlow {
            url: url.clone(),
            what,
            deadline,
        }),
    }
}
