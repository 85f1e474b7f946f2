//! A failed GitHub API call, and what the release flow asks of it: was it a rate limit, a
//! missing permission, a duplicate, or worth a retry.

use std::time::Duration;

use reqwest::StatusCode;

use crate::http::{BodyError, HttpError, is_retryable};

/// A failed API call.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// GitHub answered, and not with a success: its status, headers' wait, and body.
    #[error(transparent)]
    Status(#[from] HttpError),
    /// No answer: the connection failed or timed out.
    #[error("{method} {url} failed: {source}")]
    Transport {
        method: String,
        url: String,
        #[source]
        source: reqwest::Error,
    },
    /// Neither a byte of the body went out nor an answer came back for the idle timeout.
    #[error("{method} {url} stalled: nothing was sent or received for {idle:?}")]
    Stalled {
        method: String,
        url: String,
        idle: Duration,
    },
    /// The body was still going out (or the answer still pending) at the transfer's deadline.
    #[error(
        "{method} {url} was still running after {}s, the most {size} bytes may take (at {} KiB/s, slower than any working link): GitHub or a proxy on the way reads it too slowly",
        deadline.as_secs(),
        crate::http::transfer_floor() / 1024
    )]
    Overran {
        method: String,
        url: String,
        size: u64,
        deadline: Duration,
    },
    /// octocrab could not make or send the request (not a network failure).
    #[error("{method} {url} could not be sent: {}", crate::http::error_chain(source.as_ref()))]
    Client {
        method: String,
        url: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error(transparent)]
    Body(#[from] BodyError),
    #[error("{0}")]
    Invalid(String),
}

impl ApiError {
    /// An error of octocrab's raw calls: the transport's own `reqwest::Error` when the request
    /// did not get an answer, so that timeouts and dropped connections read as before.
    pub(super) fn from_octocrab(method: &str, url: &str, error: octocrab::Error) -> Self {
        let source: Box<dyn std::error::Error + Send + Sync> = match error {
            octocrab::Error::Service { source, .. } => source,
            other => Box::new(other),
        };
        match source.downcast::<reqwest::Error>() {
            Ok(source) => Self::Transport {
                method: method.to_owned(),
                url: url.to_owned(),
                // Its URL would show the query (a pre-signed signature): `url` names it.
                source: source.without_url(),
            },
            Err(source) => Self::Client {
                method: method.to_owned(),
                url: url.to_owned(),
                source,
            },
        }
    }

    #[must_use]
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Self::Status(error) => Some(error.status),
            _ => None,
        }
    }

    /// A 422 whose `errors[].code` is `already_exists`.
    #[must_use]
    pub fn already_exists(&self) -> bool {
        matches!(self, Self::Status(error) if error.status == StatusCode::UNPROCESSABLE_ENTITY
            && error.body.contains("already_exists"))
    }

    /// A 403 that is not a rate limit: the token may not do this ("Resource not accessible by
    /// integration": a workflow token without `contents: write`).
    #[must_use]
    pub fn permission_denied(&self) -> bool {
        matches!(self, Self::Status(error) if error.status == StatusCode::FORBIDDEN
            && !is_rate_limited(error))
    }

    /// Whether GitHub refused for a rate limit (the request was not acted on).
    #[must_use]
    pub fn rate_limited(&self) -> bool {
        matches!(self, Self::Status(error) if is_rate_limited(error))
    }

    /// Whether the request may have failed before or without effect on the server's side
    /// (connection trouble, 5xx, 429): worth a retry after checking the state.
    #[must_use]
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Status(error) => is_retryable(error.status) || is_rate_limited(error),
            Self::Transport { .. } | Self::Stalled { .. } | Self::Overran { .. } => true,
            Self::Body(error) => matches!(
                error,
                BodyError::TooSlow { .. } | BodyError::Transport { .. }
            ),
            Self::Client { .. } | Self::Invalid(_) => false,
        }
    }
}

/// GitHub's primary and secondary rate limits answer 403 or 429 with `retry-after`,
/// `x-ratelimit-remaining: 0`, or a message that says so.
fn is_rate_limited(error: &HttpError) -> bool {
    (error.status == StatusCode::FORBIDDEN || error.status == StatusCode::TOO_MANY_REQUESTS)
        && (error.retry_after.is_some() || error.body.to_ascii_lowercase().contains("rate limit"))
}
