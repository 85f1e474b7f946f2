//! The JSON calls through octocrab against scripted loopback servers: what goes out (path
//! under the base URI, token, headers), what comes back (status, rate-limit headers, body
//! through the bounded reader), and what must not happen (a POST sent twice, the token
//! following a redirect to another host, an endless body read whole).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use super::*;

const TOKEN: &str = "ghs_unit0123456789abcdef";

/// One scripted answer per connection (each answer closes its connection).
enum Answer {
    Json(u16, Vec<(&'static str, String)>, serde_json::Value),
    /// `200`, then JSON-ish bytes until the client stops reading (at most 256 MiB).
    Endless,
}

/// A loopback server answering from a script and recording each request's head.
struct Scripted {
    port: u16,
    heads: Arc<Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Scripted {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Scripted {
    async fn start(script: Vec<Answer>) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let heads = Arc::new(Mutex::new(Vec::new()));
        let recorded = heads.clone();
        let task = tokio::spawn(async move {
            for answer in script {
                let Ok((mut stream, _)) = listener.accept().await else {
                    return;
                };
                let head = read_request(&mut stream).await;
                recorded.lock().unwrap().push(head);
                let _ = write_answer(&mut stream, answer).await;
            }
        });
        Self { port, heads, task }
    }

    fn heads(&self) -> Vec<String> {
        self.heads.lock().unwrap().clone()
    }

    fn api(&self) -> Url {
        Url::parse(&format!("http://127.0.0.1:{}/api/v3", self.port)).unwrap()
    }
}

/// The request head (lower-cased), its body read and dropped.
async fn read_request(stream: &mut tokio::net::TcpStream) -> String {
    let mut data = Vec::new();
    let mut buffer = [0_u8; 4096];
    while !data.windows(4).any(|window| window == b"\r\n\r\n") {
        match stream.read(&mut buffer).await {
            Ok(0) | Err(_) => break,
            Ok(read) => data.extend_from_slice(&buffer[..read]),
        }
    }
    let end = data
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(data.len());
    let head = String::from_utf8_lossy(&data[..end]).to_ascii_lowercase();
    let length: usize = head
        .lines()
        .find_map(|line| line.strip_prefix("content-length:"))
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or(0);
    let mut body = data.len().saturating_sub(end + 4);
    while body < length {
        match stream.read(&mut buffer).await {
            Ok(0) | Err(_) => break,
            Ok(read) => body += read,
        }
    }
    head
}

async fn write_answer(stream: &mut tokio::net::TcpStream, answer: Answer) -> std::io::Result<()> {
    match answer {
        Answer::Json(status, headers, body) => {
            let body = body.to_string();
            let mut head = format!(
                "HTTP/1.1 {status} Scripted\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n",
                body.len()
            );
            for (name, value) in headers {
                head.push_str(&format!("{name}: {value}\r\n"));
            }
            stream
                .write_all(format!("{head}\r\n{body}").as_bytes())
                .await
        }
        Answer::Endless => {
            let head =
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n[";
            stream.write_all(head.as_bytes()).await?;
            let chunk = vec![b' '; 1024 * 1024];
            for _ in 0..256 {
                stream.write_all(&chunk).await?;
            }
            Ok(())
        }
    }
}

fn release_json(port: u16) -> serde_json::Value {
    let api = format!("http://127.0.0.1:{port}/api/v3/repos/octo-org/demo");
    json!({
        "url": format!("{api}/releases/7"), "html_url": "https://github.com/octo-org/demo/releases/tag/pkg/v1.0",
        "assets_url": format!("{api}/releases/7/assets"),
        "upload_url": format!("http://127.0.0.1:{port}/api/uploads/repos/octo-org/demo/releases/7/assets{{?name,label}}"),
        "tarball_url": null, "zipball_url": null, "id": 7, "node_id": "RE_7",
        "tag_name": "pkg/v1.0", "target_commitish": "main", "name": "pkg/v1.0", "body": "notes",
        "draft": false, "prerelease": false, "created_at": "2026-11-20T10:00:00Z",
        "published_at": "2026-11-20T10:05:00Z", "author": null, "assets": [],
    })
}

fn policy(attempts: u32) -> RetryPolicy {
    RetryPolicy {
        attempts,
        base_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(5),
    }
}

fn token() -> SecretString {
    SecretString::from(TOKEN.to_owned())
}

/// Run `call` against a client of the program's own making, bounded in time.
async fn within<T>(call: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(60), call)
        .await
        .expect("the call must end")
}

#[tokio::test]
async fn urls_are_built_under_the_api_base_with_encoded_segments() {
    let client = reqwest::Client::new();
    let api = Url::parse("https://ghe.example.com/api/v3").unwrap();
    let github = GitHub::new(&client, &api, "octo-org/demo", &token(), policy(1)).unwrap();
    assert_eq!(
        github.url(&["releases", "tags", "pkg/v1.0"]).as_str(),
        "https://ghe.example.com/api/v3/repos/octo-org/demo/releases/tags/pkg%2Fv1.0"
    );
    assert!(GitHub::new(&client, &api, "no-slash", &token(), policy(1)).is_err());
}

#[tokio::test]
async fn a_call_goes_under_the_base_path_with_the_token_and_our_headers() {
    let server = Scripted::start(vec![Answer::Json(200, vec![], release_json(0))]).await;
    let client = crate::http::client().unwrap();
    let github = GitHub::new(&client, &server.api(), "octo-org/demo", &token(), policy(1)).unwrap();
    let release = within(github.release_by_tag("pkg/v1.0"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(release.id, ReleaseId(7));
    assert_eq!(release.tag_name, "pkg/v1.0");
    let heads = server.heads();
    assert_eq!(heads.len(), 1);
    let head = &heads[0];
    assert!(
        head.starts_with("get /api/v3/repos/octo-org/demo/releases/tags/pkg%2fv1.0 http/1.1"),
        "{head}"
    );
    assert!(
        head.contains(&format!(
            "authorization: bearer {}",
            TOKEN.to_ascii_lowercase()
        )),
        "{head}"
    );
    assert!(
        head.contains("accept: application/vnd.github+json"),
        "{head}"
    );
    assert!(head.contains("x-github-api-version: 2022-11-28"), "{head}");
    assert!(head.contains("user-agent: pypi-oidc-publish/"), "{head}");
    assert_eq!(head.matches("authorization:").count(), 1, "{head}");
    assert!(!head.contains("octocrab"), "{head}");
}

#[tokio::test]
async fn a_missing_release_is_none_and_an_error_names_the_url_and_the_answer() {
    let not_found =
        json!({"message": "Not Found", "documentation_url": "https://docs.github.com/rest"});
    let server = Scripted::start(vec![
        Answer::Json(404, vec![], not_found),
        Answer::Json(500, vec![], json!({"message": "Server Error"})),
    ])
    .await;
    let client = crate::http::client().unwrap();
    let github = GitHub::new(&client, &server.api(), "octo-org/demo", &token(), policy(1)).unwrap();
    assert!(within(github.release_by_tag("v1")).await.unwrap().is_none());
    let error = within(github.release_by_tag("v1")).await.unwrap_err();
    assert_eq!(error.status(), Some(StatusCode::INTERNAL_SERVER_ERROR));
    assert_eq!(
        error.to_string(),
        format!(
            "GET http://127.0.0.1:{}/api/v3/repos/octo-org/demo/releases/tags/v1 answered 500 Internal Server Error: {{\"message\":\"Server Error\"}}",
            server.port
        )
    );
    let ApiError::Status(http) = &error else {
        panic!("{error:?}")
    };
    // The server's own reason phrase survives octocrab's stack.
    assert_eq!(http.reason.as_deref(), Some("Scripted"));
}

#[tokio::test]
async fn rate_limit_headers_permission_and_duplicates_are_told_apart() {
    let reset = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 7;
    let server = Scripted::start(vec![
        Answer::Json(
            403,
            vec![
                ("x-ratelimit-remaining", "0".to_owned()),
                ("x-ratelimit-reset", reset.to_string()),
            ],
            json!({"message": "You have exceeded a secondary rate limit."}),
        ),
        Answer::Json(429, vec![("retry-after", "3".to_owned())], json!({"message": "slow down"})),
        Answer::Json(
            403,
            vec![],
            json!({"message": "Resource not accessible by integration"}),
        ),
        Answer::Json(
            422,
            vec![],
            json!({"message": "Validation Failed", "errors": [{"resource": "Release", "code": "already_exists", "field": "tag_name"}]}),
        ),
    ])
    .await;
    let client = crate::http::client().unwrap();
    let github = GitHub::new(&client, &server.api(), "octo-org/demo", &token(), policy(1)).unwrap();
    let request = json!({"tag_name": "v1", "draft": true});

    let limited = within(github.create_release(&request)).await.unwrap_err();
    assert!(
        limited.rate_limited() && !limited.permission_denied(),
        "{limited:?}"
    );
    let wait = github.wait_for(&limited, 1);
    assert!(
        (Duration::from_secs(5)..=Duration::from_secs(7)).contains(&wait),
        "x-ratelimit-reset is honoured: {wait:?}"
    );

    let limited = within(github.create_release(&request)).await.unwrap_err();
    assert!(
        limited.rate_limited() && limited.is_transient(),
        "{limited:?}"
    );
    assert_eq!(github.wait_for(&limited, 1), Duration::from_secs(3));

    let denied = within(github.create_release(&request)).await.unwrap_err();
    assert!(
        denied.permission_denied() && !denied.rate_limited(),
        "{denied:?}"
    );
    assert!(!denied.is_transient());

    let duplicate = within(github.create_release(&request)).await.unwrap_err();
    assert!(duplicate.already_exists(), "{duplicate:?}");
    assert_eq!(server.heads().len(), 4);
}

#[tokio::test]
async fn a_post_that_may_have_acted_is_not_sent_again_an_idempotent_one_is() {
    let bad_gateway = || Answer::Json(502, vec![], json!({"message": "Bad Gateway"}));
    let notes = json!({"name": "v1", "body": "## What's Changed"});
    let server = Scripted::start(vec![
        bad_gateway(),
        bad_gateway(),
        Answer::Json(200, vec![], notes),
    ])
    .await;
    let client = crate::http::client().unwrap();
    let github = GitHub::new(&client, &server.api(), "octo-org/demo", &token(), policy(3)).unwrap();
    let error = within(github.create_release(&json!({"tag_name": "v1"})))
        .await
        .unwrap_err();
    assert!(error.is_transient(), "{error:?}");
    assert_eq!(server.heads().len(), 1, "the create was sent once");
    let generated = within(github.generate_notes(&json!({"tag_name": "v1"})))
        .await
        .unwrap();
    assert_eq!(generated.body, "## What's Changed");
    let heads = server.heads();
    assert_eq!(heads.len(), 3);
    assert!(
        heads[1..]
            .iter()
            .all(|head| head
                .starts_with("post /api/v3/repos/octo-org/demo/releases/generate-notes "))
    );
}

#[tokio::test]
async fn an_endless_answer_is_cut_at_the_cap() {
    let server = Scripted::start(vec![Answer::Endless]).await;
    let client = crate::http::client().unwrap();
    let github = GitHub::new(&client, &server.api(), "octo-org/demo", &token(), policy(1)).unwrap();
    let error = within(github.release_by_tag("v1")).await.unwrap_err();
    assert!(
        matches!(
            error,
            ApiError::Body(crate::http::BodyError::TooLarge { .. })
        ),
        "{error:?}"
    );
}

#[tokio::test]
async fn the_token_does_not_follow_a_redirect_to_another_host() {
    let elsewhere = Scripted::start(vec![Answer::Json(200, vec![], release_json(0))]).await;
    let location = format!(
        "http://localhost:{}/api/v3/repos/octo-org/demo/releases/tags/v1",
        elsewhere.port
    );
    let server = Scripted::start(vec![Answer::Json(
        307,
        vec![("location", location)],
        json!({"message": "Moved"}),
    )])
    .await;
    let client = crate::http::client().unwrap();
    let github = GitHub::new(&client, &server.api(), "octo-org/demo", &token(), policy(1)).unwrap();
    let error = within(github.release_by_tag("v1")).await.unwrap_err();
    assert_eq!(
        error.status(),
        Some(StatusCode::TEMPORARY_REDIRECT),
        "{error:?}"
    );
    assert!(elsewhere.heads().is_empty(), "{:?}", elsewhere.heads());
}
