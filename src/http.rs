//! The one HTTP client (user agent, timeouts, rustls), the retry policy shared by every
//! protocol client, and [`ResponseExt`], which attaches the server's answer to every error.

mod body;
pub mod redirect;

use std::time::Duration;

pub use body::{BodyError, BodyKind, read_body, read_json, request_deadline, stream_body};
use reqwest::StatusCode;
use reqwest::header::HeaderMap;

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
/// (`upload::send_watched`): it gives up after [`idle_timeout`] without a byte sent or an
/// answer. It follows no redirect: a 301/302/303 would be re-sent as a GET without the file
/// and its 2xx counted as an upload (pypi/warehouse#8104); `upload.rs` handles 307/308 itself.
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

/// An HTTP answer that was not a success: the status line and the body, shortened.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{method} {url} answered {status}{}", if body.is_empty() { String::new() } else { format!(": {body}") })]
pub struct HttpError {
    pub method: String,
    pub url: String,
    pub status: StatusCode,
    /// The reason phrase the server sent (Warehouse puts its message there).
    pub reason: Option<String>,
    pub body: String,
    pub retry_after: Option<Duration>,
}

impl HttpError {
    /// The most useful text: a JSON `message` (or `detail`), else the body, else the reason.
    #[must_use]
    pub fn message(&self) -> String {
        if let Ok(json) = serde_json::from_str::<serde_json::Value>(&self.body) {
            for key in ["message", "detail", "error"] {
                if let Some(text) = json.get(key).and_then(serde_json::Value::as_str) {
                    return text.to_owned();
                }
            }
        }
        let body = self.body.trim();
        if !body.is_empty() && !body.starts_with('<') {
            return body.to_owned();
        }
        if let Some(title) = html_title(body) {
            return title;
        }
        self.reason
            .clone()
            .unwrap_or_else(|| self.status.canonical_reason().unwrap_or("").to_owned())
    }
}

fn html_title(body: &str) -> Option<String> {
    let lower = body.to_ascii_lowercase();
    let start = lower.find("<title>")? + "<title>".len();
    let end = lower[start..].find("</title>")? + start;
    Some(body[start..end].trim().to_owned())
}

const MAX_ERROR_BODY: usize = 4096;

/// Turn non-success answers into [`HttpError`] carrying the server's own words.
pub trait ResponseExt: Sized {
    fn error_for_status_with_body(
        self,
        method: &str,
    ) -> impl std::future::Future<Output = Result<reqwest::Response, HttpError>> + Send;
}

impl ResponseExt for reqwest::Response {
    async fn error_for_status_with_body(
        self,
        method: &str,
    ) -> Result<reqwest::Response, HttpError> {
        let status = self.status();
        if status.is_success() {
            return Ok(self);
        }
        Err(http_error(self, method).await)
    }
}

/// Read a failed response into an [`HttpError`] (body capped, read within [`idle_timeout`]).
pub async fn http_error(response: reqwest::Response, method: &str) -> HttpError {
    http_error_within(response, method, idle_timeout())
        .await
        .unwrap_or_else(|partial| partial)
}

/// Read a failed response into an [`HttpError`]: at most [`BodyKind::Error`]'s limit of the
/// body, within `deadline`. `Err` carries what arrived when the body did not arrive in time.
pub async fn http_error_within(
    response: reqwest::Response,
    method: &str,
    deadline: Duration,
) -> Result<HttpError, HttpError> {
    let status = response.status();
    let url = crate::http::display_url(response.url());
    let retry_after = retry_after(response.headers());
    let reason = reason_phrase(&response);
    let mut bytes = Vec::new();
    let complete = body::read_error_body(response, &mut bytes, deadline).await;
    let mut body = String::from_utf8_lossy(&bytes).into_owned();
    if body.len() > MAX_ERROR_BODY {
        let mut cut = MAX_ERROR_BODY;
        while !body.is_char_boundary(cut) {
            cut -= 1;
        }
        body.truncate(cut);
        body.push_str(" [...]");
    }
    let error = HttpError {
        method: method.to_owned(),
        url,
        status,
        reason,
        body: body.trim().to_owned(),
        retry_after,
    };
    if complete { Ok(error) } else { Err(error) }
}

fn reason_phrase(response: &reqwest::Response) -> Option<String> {
    // hyper keeps a non-canonical reason phrase in the response extensions.
    response
        .extensions()
        .get::<hyper::ext::ReasonPhrase>()
        .and_then(|phrase| std::str::from_utf8(phrase.as_bytes()).ok())
        .map(str::to_owned)
}

/// An error and all its causes on one line (reqwest's own Display hides the cause).
#[must_use]
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
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

/// Send a request whose body reports its progress; `None` when neither a body chunk went out
/// nor an answer came back for `idle` (a stalled connection or a server that never answers).
pub async fn send_watched(
    request: reqwest::RequestBuilder,
    progress: &Progress,
    idle: Duration,
) -> Option<Result<reqwest::Response, reqwest::Error>> {
    let send = request.send();
    tokio::pin!(send);
    loop {
        let deadline = tokio::time::Instant::from_std(progress.last() + idle);
        tokio::select! {
            result = &mut send => return Some(result),
            () = tokio::time::sleep_until(deadline) => {
                if progress.last() + idle <= std::time::Instant::now() {
                    return None;
                }
            }
        }
    }
}

/// What the body stream has handed to the connection: when it last did (for the idle
/// timeout) and how many bytes of the file so far (for the progress display).
#[derive(Debug, Clone)]
pub struct Progress {
    start: std::time::Instant,
    /// Milliseconds after `start`.
    last: std::sync::Arc<std::sync::atomic::AtomicU64>,
    sent: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl Default for Progress {
    fn default() -> Self {
        Self::new()
    }
}

impl Progress {
    #[must_use]
    pub fn new() -> Self {
        Self {
            start: std::time::Instant::now(),
            last: std::sync::Arc::default(),
            sent: std::sync::Arc::default(),
        }
    }

    pub fn touch(&self) {
        let elapsed = u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last
            .store(elapsed, std::sync::atomic::Ordering::Relaxed);
    }

    /// `bytes` more of the file went out.
    pub fn advance(&self, bytes: usize) {
        self.sent.fetch_add(
            u64::try_from(bytes).unwrap_or(u64::MAX),
            std::sync::atomic::Ordering::Relaxed,
        );
        self.touch();
    }

    #[must_use]
    pub fn last(&self) -> std::time::Instant {
        self.start + Duration::from_millis(self.last.load(std::sync::atomic::Ordering::Relaxed))
    }

    /// Bytes of the file handed to the connection so far.
    #[must_use]
    pub fn sent(&self) -> u64 {
        self.sent.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Time since the request started.
    #[must_use]
    pub fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }
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

    /// One connection: answer `head`, send `first` bytes of body, then hold it open.
    async fn endless_body_server(first: usize) -> (u16, tokio::task::JoinHandle<()>) {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let task = tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            let mut request = [0_u8; 4096];
            let _ = stream.read(&mut request).await;
            let head = "HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/plain\r\nContent-Length: 1000000000\r\n\r\n";
            stream.write_all(head.as_bytes()).await.unwrap();
            let _ = stream.write_all(&vec![b'x'; first]).await;
            tokio::time::sleep(Duration::from_secs(120)).await;
        });
        (port, task)
    }

    #[tokio::test]
    async fn an_endless_error_body_is_read_only_up_to_the_cap() {
        let (port, server) = endless_body_server(1024 * 1024).await;
        let response = reqwest::Client::new()
            .get(format!("http://127.0.0.1:{port}/"))
            .send()
            .await
            .unwrap();
        // Without the cap this waits for a gigabyte that never comes.
        let error = tokio::time::timeout(Duration::from_secs(30), http_error(response, "GET"))
            .await
            .expect("the error body must be read only up to the cap");
        assert_eq!(error.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(error.body.ends_with("[...]"), "{}", error.body.len());
        assert!(error.body.len() <= MAX_ERROR_BODY + 10);
        server.abort();
    }

    #[tokio::test]
    async fn an_error_body_that_stalls_is_given_up_on() {
        let (port, server) = endless_body_server(10).await;
        let response = reqwest::Client::new()
            .get(format!("http://127.0.0.1:{port}/"))
            .send()
            .await
            .unwrap();
        let partial = http_error_within(response, "GET", Duration::from_millis(300))
            .await
            .unwrap_err();
        assert_eq!(partial.body, "xxxxxxxxxx");
        server.abort();
    }

    #[test]
    fn error_message_prefers_json_message() {
        let error = HttpError {
            method: "POST".into(),
            url: "u".into(),
            status: StatusCode::BAD_REQUEST,
            reason: Some("File already exists".into()),
            body: r#"{"message": "400 File already exists ('x', with blake2_256 hash 'y')"}"#
                .into(),
            retry_after: None,
        };
        assert!(error.message().starts_with("400 File already exists"));
    }
}
