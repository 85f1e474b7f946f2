//! An HTTP answer that was not a success, with the server's body attached (read with a cap and
//! a deadline), and the one-line text of any error with its causes.

use std::time::Duration;

use reqwest::StatusCode;

use super::body;
use super::idle_timeout;
use super::retry_after;

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

/// Read a failed response into an [`HttpError`]: at most [`body::BodyKind::Error`]'s limit of the
/// body, within `deadline`. `Err` carries what arrived when the body did not arrive in time.
pub async fn http_error_within(
    response: reqwest::Response,
    method: &str,
    deadline: Duration,
) -> Result<HttpError, HttpError> {
    let status = response.status();
    let url = crate::http::display_url(response.url());
    let retry_after = retry_after(response.headers());
    let reason = reason_phrase(&response).map(|reason| crate::console::redact(&reason));
    let mut bytes = Vec::new();
    let complete = body::read_error_body(response, &mut bytes, deadline).await;
    // Redacted before it is cut: half a secret would no longer match it.
    let mut body = crate::console::redact(&String::from_utf8_lossy(&bytes));
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

/// An error and all its causes on one line (reqwest's own Display hides the cause). A
/// `reqwest::Error` names the URL it was sending to, query and user info included (a token
/// in `?token=`, a pre-signed download's signature): that URL is shown without them.
#[must_use]
pub fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = one_error(error);
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&one_error(cause));
        source = cause.source();
    }
    text
}

fn one_error(error: &(dyn std::error::Error + 'static)) -> String {
    let text = error.to_string();
    match error
        .downcast_ref::<reqwest::Error>()
        .and_then(reqwest::Error::url)
    {
        Some(url) => text.replace(url.as_str(), &crate::http::display_url(url)),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    async fn a_secret_across_the_cut_of_an_error_body_is_redacted_whole() {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let secret = "pypi-cut-in-half-SECRET-0123456789";
        crate::console::mask_str(secret);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            let mut request = [0_u8; 4096];
            let _ = stream.read(&mut request).await;
            // The secret starts 10 bytes before the cut.
            let body = format!("{}{secret} and more", "x".repeat(MAX_ERROR_BODY - 10));
            let head = format!(
                "HTTP/1.1 400 Bad Request\r\nContent-Length: {}\r\n\r\n",
                body.len()
            );
            stream.write_all(head.as_bytes()).await.unwrap();
            stream.write_all(body.as_bytes()).await.unwrap();
        });
        let response = reqwest::Client::new()
            .get(format!("http://127.0.0.1:{port}/"))
            .send()
            .await
            .unwrap();
        let error = http_error(response, "GET").await;
        assert!(
            !error.body.contains("pypi-cut") && error.body.contains("***"),
            "{}",
            &error.body[MAX_ERROR_BODY - 20..]
        );
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

    #[tokio::test]
    async fn an_error_chain_shows_no_query_nor_user_info_of_the_url() {
        // A port just freed: nothing listens there.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let error = reqwest::Client::new()
            .get(format!(
                "http://user:PASSWORDSECRET@127.0.0.1:{port}/legacy/?token=QUERYSECRET"
            ))
            .send()
            .await
            .unwrap_err();
        let text = error_chain(&error);
        assert!(
            !text.contains("QUERYSECRET") && !text.contains("PASSWORDSECRET"),
            "{text}"
        );
        assert!(text.contains("Connection refused"), "{text}");
        let text = error_chain(&error.without_url());
        assert!(!text.contains("QUERYSECRET"), "{text}");
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
