//! The one HTTP client (user agent, timeouts, rustls), the retry policy shared by every
//! protocol client, and [`ResponseExt`], which attaches the server's answer to every error.

mod body;
mod error;
pub mod redirect;
mod watched;

use std::time::Duration;

pub use body::{
    BodyError, BodyKind, read_body, read_json, request_deadline, stream_body, transfer_deadline,
    transfer_floor,
};
pub use error::{HttpError, ResponseExt, error_chain, http_error, http_error_within};
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
pub use watched::{Progress, send_watched};

pub const USER_AGENT: &str = concat!("pypi-oidc-publish/", env!("CARGO_PKG_VERSION"));

/// How long a request may wait for the server without any progress.
const IDLE_TIMEOUT: Duration = Duration::from_secs(120);

/// Build the shared client. Redirects are followed only to the same host, a few at most:
/// credentials must never be carried to another server. Every request ends within
/// [`request_deadline`], head and body (a longer download sets its own `timeout`).
pub fn client() -> anyhow::Result<reqwest::Client> {
    Ok(builder()
        .redirect(same_host_redirects(3))
        .read_timeout(idle_timeout())
        .timeout(request_deadline())
        .build()?)
}

/// Like [`client`] but following no redirect at all: for POSTs whose answer must come from
/// the URL itself (the OIDC mint). reqwest turns a POST answered with 301/302/303 into a GET
/// without the body, and a success of that GET would be taken for the POST's.
pub fn no_redirect_client() -> anyhow::Result<reqwest::Client> {
    Ok(builder()
        .redirect(reqwest::redirect::Policy::none())
        .read_timeout(idle_timeout())
        .timeout(request_deadline())
        .build()?)
}

/// The client for file uploads: like [`client`] but without reqwest's read timeout, which
/// runs from the start of the request and so would cut off any upload that takes longer to
/// send than the timeout (a 100 MB file on a slow link). The upload watches progress itself
/// ([`send_watched`]): it gives up after [`idle_timeout`] without a byte sent or an
/// answer. It follows no redirect: a 301/302/303 would be re-sent as a GET without the file
/// and its 2xx counted as an upload (pypi/warehouse#8104); `upload::attempt` handles 307/308 itself.
pub fn upload_client() -> anyhow::Result<reqwest::Client> {
    Ok(builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?)
}

fn builder() -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .user_agent(USER_AGENT)
        .connect_timeout(Duration::from_secs(15))
        .pool_idle_timeout(Duration::from_secs(60))
        .tcp_nodelay(true)
}

/// How long to wait for a server that sends nothing. Tests shorten it with
/// `PYPI_OIDC_PUBLISH_READ_TIMEOUT_MS` (test-only, like `PYPI_OIDC_PUBLISH_RETRY_BASE_MS`);
/// production never sets it.
#[must_use]
pub fn idle_timeout() -> Duration {
    std::env::var("PYPI_OIDC_PUBLISH_READ_TIMEOUT_MS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .filter(|milliseconds| *milliseconds > 0)
        .map_or(IDLE_TIMEOUT, Duration::from_millis)
}

/// Follow at most `limit` redirects, each allowed by [`redirect::check`] from the hop before.
/// Another host stops (the caller sees the redirect and may follow it without credentials);
/// leaving https or plain http off loopback is an error.
fn same_host_redirects(limit: usize) -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(move |attempt| {
        let verdict = attempt
            .previous()
            .last()
            .map(|from| redirect::check(from, attempt.url()));
        if attempt.previous().len() > limit {
            attempt.error(format!("more than {limit} redirects"))
        } else {
            match verdict {
                Some(Ok(())) => attempt.follow(),
                Some(Err(redirect::Refused::OtherHost { .. })) | None => attempt.stop(),
                Some(Err(refused)) => attempt.error(refused),
            }
        }
    })
}

/// Exponential backoff with jitter, a bounded number of attempts.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            attempts: 5,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// Tests shorten the waits with `PYPI_OIDC_PUBLISH_RETRY_BASE_MS`; production never sets it.
    #[must_use]
    pub fn from_env() -> Self {
        let mut policy = Self::default();
        if let Some(milliseconds) = std::env::var("PYPI_OIDC_PUBLISH_RETRY_BASE_MS")
            .ok()
            .and_then(|v| v.parse::<u64>().ok())
        {
            policy.base_delay = Duration::from_millis(milliseconds);
            policy.max_delay = Duration::from_millis(milliseconds.saturating_mul(20).max(1));
        }
        policy
    }

    /// The wait before attempt `attempt + 1` (attempt counts from 1). A server's
    /// `Retry-After` wins, capped at a few minutes so a run cannot hang.
    #[must_use]
    pub fn delay(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        if let Some(wait) = retry_after {
            return wait.min(Duration::from_secs(300));
        }
        let exponential = self
            .base_delay
            .saturating_mul(2_u32.saturating_pow(attempt.saturating_sub(1)));
        let capped = exponential.min(self.max_delay);
        // Full jitter in [capped/2, capped]: spreads parallel jobs without making waits tiny.
        let half = capped / 2;
        half + half.mul_f64(rand::random::<f64>())
    }
}

/// Whether a status is worth retrying: 429 and 5xx.
#[must_use]
pub fn is_retryable(status: StatusCode) -> bool {
    status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error()
}

/// `Retry-After` in seconds or as an HTTP date; GitHub's `x-ratelimit-reset` (epoch seconds)
/// when `x-ratelimit-remaining` is 0.
#[must_use]
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    if let Some(value) = headers
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
    {
        if let Ok(seconds) = value.trim().parse::<u64>() {
            return Some(Duration::from_secs(seconds));
        }
        if let Ok(date) = httpdate::parse_http_date(value) {
            return Some(
                date.duration_since(std::time::SystemTime::now())
                    .unwrap_or_default(),
            );
        }
    }
    let remaining = headers
        .get("x-ratelimit-remaining")
        .and_then(|v| v.to_str().ok());
    if remaining == Some("0") {
        let reset = headers
            .get("x-ratelimit-reset")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok())?;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .ok()?
            .as_secs();
        return Some(Duration::from_secs(reset.saturating_sub(now).max(1)));
    }
    None
}

/// Whether a URL's host is a loopback address (plain `http://` is allowed only there).
#[must_use]
pub fn is_loopback_host(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// The one way a URL is shown: without user info (a token can be the user name, as Gemfury's
/// `https://TOKEN@host/` has it) and without query (a query may carry a token).
#[must_use]
pub fn display_url(url: &url::Url) -> String {
    let mut url = without_user_info(url);
    url.set_query(None);
    url.to_string()
}

/// As [`display_url`], keeping the query (a link to a page that needs it).
#[must_use]
pub fn display_url_with_query(url: &url::Url) -> String {
    without_user_info(url).to_string()
}

/// `url` without `user:password@`: for sending when the credentials go in a header instead.
#[must_use]
pub fn without_user_info(url: &url::Url) -> url::Url {
    let mut url = url.clone();
    let _ = url.set_username("");
    let _ = url.set_password(None);
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        let policy = RetryPolicy {
            attempts: 5,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(400),
        };
        for _ in 0..50 {
            let first = policy.delay(1, None);
            assert!(
                first >= Duration::from_millis(50) && first <= Duration::from_millis(100),
                "{first:?}"
            );
            let late = policy.delay(10, None);
            assert!(late <= Duration::from_millis(400), "{late:?}");
        }
        assert_eq!(
            policy.delay(1, Some(Duration::from_secs(7))),
            Duration::from_secs(7)
        );
    }

    #[test]
    fn retry_after_seconds_and_rate_limit_reset() {
        let mut headers = HeaderMap::new();
        headers.insert("retry-after", "3".parse().unwrap());
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(3)));
        let mut headers = HeaderMap::new();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        headers.insert("x-ratelimit-remaining", "0".parse().unwrap());
        headers.insert("x-ratelimit-reset", (now + 10).to_string().parse().unwrap());
        let wait = retry_after(&headers).unwrap();
        assert!(
            wait <= Duration::from_secs(10) && wait >= Duration::from_secs(8),
            "{wait:?}"
        );
    }
}
