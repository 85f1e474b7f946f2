//! A stateful loopback fake of GitHub's releases API and its uploads host, for end-to-end tests
//! of the release step: create, get-by-tag (hides drafts), list with `Link` pagination, update,
//! generate-notes, assets with `digest`, 422 on a duplicate tag or asset name, git refs; faults
//! on demand (a parallel job winning the create race, 5xx on uploads leaving a half asset,
//! failures when publishing, a token without `contents: write`). Every JSON request and response
//! is recorded with its operation id, so tests validate the shapes against GitHub's
//! `OpenAPI` description ([`openapi`]).

#![allow(
    clippy::unwrap_used,
    reason = "test support: a broken fake is a failed test; some test crates are not cfg(test)"
)]

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};
use sha2::Digest as _;

/// One recorded call.
#[derive(Debug, Clone)]
pub struct Exchange {
    /// The `OpenAPI` operation id (`repos/create-release`, ...).
    pub operation: &'static str,
    pub method: String,
    pub path: String,
    pub status: u16,
    pub request: Option<Value>,
    pub response: Option<Value>,
}

#[derive(Debug, Clone)]
pub struct FakeAsset {
    pub id: u64,
    pub name: String,
    pub content_type: String,
    pub data: Vec<u8>,
    /// `uploaded`, or `open` for a half-finished upload.
    pub state: String,
}

impl FakeAsset {
    pub fn sha256(&self) -> String {
        hex::encode(sha2::Sha256::digest(&self.data))
    }
}

#[derive(Debug, Clone)]
pub struct FakeRelease {
    pub id: u64,
    pub tag_name: String,
    pub target_commitish: String,
    pub name: Option<String>,
    pub body: Option<String>,
    pub draft: bool,
    pub prerelease: bool,
    pub make_latest: Option<String>,
    pub assets: Vec<FakeAsset>,
}

/// The fake's state; tests read it and set faults through [`GitHubFake::with_state`].
#[derive(Debug)]
pub struct State {
    pub token: String,
    pub owner_repo: String,
    next_id: u64,
    pub releases: Vec<FakeRelease>,
    pub tags: BTreeSet<String>,
    pub exchanges: Vec<Exchange>,
    /// Largest page the list endpoints serve (forces pagination).
    pub page_size: usize,
    /// Whether assets carry `digest` (older GHES does not).
    pub digests: bool,
    /// The next N uploads store a half asset (`state: open`) and answer 502.
    pub fail_uploads: u32,
    /// The next create finds that a parallel job published the release first: 422.
    pub race_on_create: bool,
    /// Answer generate-notes with this status instead of notes.
    pub generate_notes_status: Option<u16>,
    /// The next N updates that publish a draft answer 500.
    pub fail_publish: u32,
    /// Every call answers 403 "Resource not accessible by integration".
    pub deny: bool,
    /// Published releases refuse new assets (repository with immutable releases).
    pub immutable: bool,
    /// The next API calls answer these statuses first: 429 with `retry-after`, 403 as a
    /// secondary rate limit with `x-ratelimit-reset`, or a bare 5xx.
    pub throttle: Vec<u16>,
    /// The next N uploads are stored with other bytes than were sent (corrupted on the way).
    pub corrupt_uploads: u32,
    /// Downloads that arrived with an `Authorization` header (must stay 0: the storage host
    /// is another host).
    pub storage_saw_token: u32,
    /// The next publish finds that a parallel job published its own draft first.
    pub race_on_publish: bool,
    /// The next N creates store the release but lose the answer (502).
    pub lose_create_answers: u32,
}

impl State {
    fn id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// Add a release as if made by someone else (a `release: published` trigger, filler).
    pub fn add_release(
        &mut self,
        tag: &str,
        draft: bool,
        name: Option<&str>,
        body: Option<&str>,
    ) -> u64 {
        let id = self.id();
        if !draft {
            self.tags.insert(tag.to_owned());
        }
        self.releases.push(FakeRelease {
            id,
            tag_name: tag.to_owned(),
            target_commitish: "main".to_owned(),
            name: name.map(str::to_owned),
            body: body.map(str::to_owned),
            draft,
            prerelease: false,
            make_latest: None,
            assets: Vec::new(),
        });
        id
    }

    pub fn add_asset(&mut self, release_id: u64, name: &str, data: &[u8], state: &str) -> u64 {
        let id = self.id();
        let release = self
            .releases
            .iter_mut()
            .find(|r| r.id == release_id)
            .unwrap();
        release.assets.push(FakeAsset {
            id,
            name: name.to_owned(),
            content_type: "application/octet-stream".to_owned(),
            data: data.to_vec(),
            state: state.to_owned(),
        });
        id
    }

    pub fn releases_with_tag(&self, tag: &str) -> Vec<FakeRelease> {
        self.releases
            .iter()
            .filter(|r| r.tag_name == tag)
            .cloned()
            .collect()
    }

    pub fn calls(&self, operation: &str) -> usize {
        self.exchanges
            .iter()
            .filter(|e| e.operation == operation)
            .count()
    }
}

type Shared = Arc<Mutex<State>>;

/// The running fake; stopped on drop.
pub struct GitHubFake {
    pub port: u16,
    /// `""` (github.com: `https://api.github.com`) or `/api/v3` (GHES).
    pub api_prefix: &'static str,
    state: Shared,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

#[derive(Clone)]
struct Config {
    port: u16,
    api_prefix: &'static str,
    uploads_prefix: &'static str,
}

impl GitHubFake {
    /// github.com layout: the API at the root, uploads on "another host" (`/uploads`).
    pub fn start() -> Self {
        Self::start_with("", "/uploads")
    }

    /// GitHub Enterprise Server layout: `/api/v3` and `/api/uploads`.
    pub fn start_ghes() -> Self {
        Self::start_with("/api/v3", "/api/uploads")
    }

    fn start_with(api_prefix: &'static str, uploads_prefix: &'static str) -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let state: Shared = Arc::new(Mutex::new(State {
            token: format!("ghs_fake{:x}", rand::random::<u128>()),
            owner_repo: "octo-org/demo".to_owned(),
            next_id: 1000,
            releases: Vec::new(),
            tags: BTreeSet::new(),
            exchanges: Vec::new(),
            page_size: 100,
            digests: true,
            fail_uploads: 0,
            race_on_create: false,
            generate_notes_status: None,
            fail_publish: 0,
            deny: false,
            immutable: false,
            throttle: Vec::new(),
            lose_create_answers: 0,
            corrupt_uploads: 0,
            race_on_publish: false,
            storage_saw_token: 0,
        }));
        let config = Config {
            port,
            api_prefix,
            uploads_prefix,
        };
        let (shutdown, stopped) = tokio::sync::oneshot::channel::<()>();
        let shared = state.clone();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                let router =
                    axum::Router::new().fallback(move |request: axum::extract::Request| {
                        let shared = shared.clone();
                        let config = config.clone();
                        async move { handle(shared, config, request).await }
                    });
                axum::serve(listener, router)
                    .with_graceful_shutdown(async move {
                        let _ = stopped.await;
                    })
                    .await
                    .unwrap();
            });
        });
        Self {
            port,
            api_prefix,
            state,
            shutdown: Some(shutdown),
            thread: Some(thread),
        }
    }

    /// The value for `GITHUB_API_URL`.
    pub fn api_url(&self) -> String {
        format!("http://127.0.0.1:{}{}", self.port, self.api_prefix)
    }

    pub fn token(&self) -> String {
        self.state.lock().unwrap().token.clone()
    }

    pub fn with_state<R>(&self, function: impl FnOnce(&mut State) -> R) -> R {
        function(&mut self.state.lock().unwrap())
    }

    pub fn exchanges(&self) -> Vec<Exchange> {
        self.state.lock().unwrap().exchanges.clone()
    }
}

impl Drop for GitHubFake {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'%' && index + 2 < bytes.len() {
            if let Ok(byte) = u8::from_str_radix(&text[index + 1..index + 3], 16) {
                out.push(byte);
                index += 3;
                continue;
            }
        }
        out.push(bytes[index]);
        index += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn query_value(query: &str, key: &str) -> Option<String> {
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(name, _)| name == key)
        .map(|(_, value)| value.into_owned())
}

struct Answer {
    status: StatusCode,
    json: Option<Value>,
    headers: Vec<(&'static str, String)>,
    raw: Option<Vec<u8>>,
}

impl Answer {
    fn json(status: u16, json: Value) -> Self {
        Self {
            status: StatusCode::from_u16(status).unwrap(),
            json: Some(json),
            headers: Vec::new(),
            raw: None,
        }
    }

    fn empty(status: u16) -> Self {
        Self {
            status: StatusCode::from_u16(status).unwrap(),
            json: None,
            headers: Vec::new(),
            raw: None,
        }
    }
}

fn not_found() -> Answer {
    Answer::json(
        404,
        json!({"message": "Not Found", "documentation_url": "https://docs.github.com/rest", "status": "404"}),
    )
}

fn validation_failed(resource: &str, field: &str) -> Answer {
    Answer::json(
        422,
        json!({
            "message": "Validation Failed",
            "errors": [{"resource": resource, "code": "already_exists", "field": field}],
            "documentation_url": "https://docs.github.com/rest/releases/releases",
        }),
    )
}

async fn handle(shared: Shared, config: Config, request: axum::extract::Request) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let query = request.uri().query().unwrap_or("").to_owned();
    let headers = request.headers().clone();
    let body = axum::body::to_bytes(request.into_body(), 512 * 1024 * 1024)
        .await
        .unwrap_or_default();
    let mut state = shared.lock().unwrap();
    let (operation, answer, request_json) =
        route(&mut state, &config, &method, &path, &query, &headers, &body);
    state.exchanges.push(Exchange {
        operation,
        method: method.to_string(),
        path: path.clone(),
        status: answer.status.as_u16(),
        request: request_json,
        response: answer.json.clone(),
    });
    drop(state);
    let mut response = Response::builder().status(answer.status);
    for (name, value) in &answer.headers {
        response = response.header(*name, value);
    }
    if let Some(raw) = answer.raw {
        return response
            .header("content-type", "application/octet-stream")
            .body(Body::from(raw))
            .unwrap();
    }
    match answer.json {
        Some(json) => response
            .header("content-type", "application/json; charset=utf-8")
            .body(Body::from(json.to_string()))
            .unwrap(),
        None => response.body(Body::empty()).unwrap(),
    }
}

fn route(
    state: &mut State,
    config: &Config,
    method: &Method,
    path: &str,
    query: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> (&'static str, Answer, Option<Value>) {
    // Downloads come from "storage": no token needed (the client must not send it there).
    if let Some(rest) = path.strip_prefix("/download/") {
        if headers.contains_key("authorization") {
            state.storage_saw_token += 1;
        }
        let id: u64 = rest.split('/').next().unwrap_or("").parse().unwrap_or(0);
        let data = state
            .releases
            .iter()
            .flat_map(|r| r.assets.iter())
            .find(|a| a.id == id)
            .map(|a| a.data.clone());
        let answer = match data {
            Some(data) => Answer {
                raw: Some(data),
                ..Answer::empty(200)
            },
            None => not_found(),
        };
        return ("storage/download", answer, None);
    }
    let authorized = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == format!("Bearer {}", state.token));
    if !authorized {
        return (
            "unauthorized",
            Answer::json(
                401,
                json!({"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest", "status": "401"}),
            ),
            None,
        );
    }
    if !state.throttle.is_empty() && !path.starts_with(config.uploads_prefix) {
        let status = state.throttle.remove(0);
        let mut answer = Answer::json(status, json!({"message": "Service Unavailable"}));
        match status {
            429 => answer.headers.push(("retry-after", "1".to_owned())),
            403 => {
                let reset = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_secs()
                    + 1;
                answer.json = Some(
                    json!({"message": "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.", "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"}),
                );
                answer
                    .headers
                    .push(("x-ratelimit-remaining", "0".to_owned()));
                answer
                    .headers
                    .push(("x-ratelimit-reset", reset.to_string()));
            }
            _ => {}
        }
        return ("throttled", answer, None);
    }
    if state.deny {
        return (
            "denied",
            Answer::json(
                403,
                json!({"message": "Resource not accessible by integration", "documentation_url": "https://docs.github.com/rest/releases/releases#create-a-release", "status": "403"}),
            ),
            None,
        );
    }
    let repo_prefix = format!("/repos/{}/", state.owner_repo);
    if let Some(rest) = path
        .strip_prefix(config.uploads_prefix)
        .and_then(|rest| rest.strip_prefix(&repo_prefix))
    {
        let segments: Vec<&str> = rest.split('/').collect();
        if let (Method::POST, ["releases", id, "assets"]) = (method.clone(), segments.as_slice()) {
            let id: u64 = id.parse().unwrap_or(0);
            let answer = upload(state, config, id, query, headers, body);
            return ("repos/upload-release-asset", answer, None);
        }
        return ("unknown", not_found(), None);
    }
    let Some(rest) = path
        .strip_prefix(config.api_prefix)
        .and_then(|rest| rest.strip_prefix(&repo_prefix))
    else {
        return ("unknown", not_found(), None);
    };
    let segments: Vec<String> = rest.split('/').map(percent_decode).collect();
    let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
    let request_json: Option<Value> = if body.is_empty() {
        None
    } else {
        serde_json::from_slice(body).ok()
    };
    let base = format!("http://127.0.0.1:{}", config.port);
    let answer_for =
        |state: &State, release: &FakeRelease| release_json(state, config, &base, release);
    let (operation, answer) = match (method.clone(), segments.as_slice()) {
        (Method::GET, ["releases", "tags", tag]) => {
            let found = state
                .releases
                .iter()
                .find(|r| r.tag_name == *tag && !r.draft);
            let answer = match found {
                Some(release) => Answer::json(200, answer_for(state, release)),
                None => not_found(),
            };
            ("repos/get-release-by-tag", answer)
        }
        (Method::GET, ["releases"]) => {
            let mut releases: Vec<&FakeRelease> = state.releases.iter().collect();
            releases.sort_by_key(|r| std::cmp::Reverse(r.id));
            let items: Vec<Value> = releases.iter().map(|r| answer_for(state, r)).collect();
            let url = format!("{base}{}{repo_prefix}releases", config.api_prefix);
            ("repos/list-releases", page(state, &items, query, &url))
        }
        (Method::POST, ["releases"]) => (
            "repos/create-release",
            create(state, config, &base, request_json.as_ref()),
        ),
        (Method::POST, ["releases", "generate-notes"]) => {
            let answer = if let Some(status) = state.generate_notes_status {
                Answer::json(
                    status,
                    json!({"message": "Not Found", "documentation_url": "https://docs.github.com/rest", "status": status.to_string()}),
                )
            } else {
                {
                    let tag = request_json
                        .as_ref()
                        .and_then(|j| j["tag_name"].as_str())
                        .unwrap_or("");
                    Answer::json(
                        200,
                        json!({"name": tag, "body": format!("## What's Changed\n* Generated by GitHub for {tag}")}),
                    )
                }
            };
            ("repos/generate-release-notes", answer)
        }
        (Method::PATCH, ["releases", id]) => {
            let id: u64 = id.parse().unwrap_or(0);
            (
                "repos/update-release",
                update(state, config, &base, id, request_json.as_ref()),
            )
        }
        (Method::DELETE, ["releases", id]) => {
            let id: u64 = id.parse().unwrap_or(0);
            let before = state.releases.len();
            state.releases.retain(|r| r.id != id);
            let answer = if state.releases.len() == before {
                not_found()
            } else {
                Answer::empty(204)
            };
            ("repos/delete-release", answer)
        }
        (Method::GET, ["releases", id, "assets"]) => {
            let id: u64 = id.parse().unwrap_or(0);
            let answer = match state.releases.iter().find(|r| r.id == id) {
                Some(release) => {
                    let items: Vec<Value> = release
                        .assets
                        .iter()
                        .map(|a| asset_json(state, config, &base, a))
                        .collect();
                    let url = format!(
                        "{base}{}{repo_prefix}releases/{id}/assets",
                        config.api_prefix
                    );
                    page(state, &items, query, &url)
                }
                None => not_found(),
            };
            ("repos/list-release-assets", answer)
        }
        (Method::GET, ["releases", "assets", id]) => {
            let id: u64 = id.parse().unwrap_or(0);
            let asset = state
                .releases
                .iter()
                .flat_map(|r| r.assets.iter())
                .find(|a| a.id == id)
                .cloned();
            let wants_bytes = headers
                .get("accept")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.contains("application/octet-stream"));
            let answer = match asset {
                Some(asset) if wants_bytes => Answer {
                    headers: vec![(
                        "location",
                        // "Another host" (as objects.githubusercontent.com is).
                        format!(
                            "http://localhost:{}/download/{}/{}",
                            config.port, asset.id, asset.name
                        ),
                    )],
                    ..Answer::empty(302)
                },
                Some(asset) => Answer::json(200, asset_json(state, config, &base, &asset)),
                None => not_found(),
            };
            ("repos/get-release-asset", answer)
        }
        (Method::DELETE, ["releases", "assets", id]) => {
            let id: u64 = id.parse().unwrap_or(0);
            let mut found = false;
            for release in &mut state.releases {
                let before = release.assets.len();
                release.assets.retain(|a| a.id != id);
                found |= release.assets.len() != before;
            }
            (
                "repos/delete-release-asset",
                if found {
                    Answer::empty(204)
                } else {
                    not_found()
                },
            )
        }
        (Method::GET, ["git", "ref", "tags", tag]) => {
            let answer = if state.tags.contains(*tag) {
                Answer::json(
                    200,
                    json!({
                        "ref": format!("refs/tags/{tag}"),
                        "node_id": "REF_1",
                        "url": format!("{base}{}{repo_prefix}git/refs/tags/{tag}", config.api_prefix),
                        "object": {"type": "commit", "sha": "0123456789abcdef0123456789abcdef01234567", "url": format!("{base}/commit")},
                    }),
                )
            } else {
                not_found()
            };
            ("git/get-ref", answer)
        }
        _ => ("unknown", not_found()),
    };
    (operation, answer, request_json)
}

fn page(state: &State, items: &[Value], query: &str, url: &str) -> Answer {
    let per_page: usize = query_value(query, "per_page")
        .and_then(|v| v.parse().ok())
        .unwrap_or(30)
        .min(state.page_size)
        .max(1);
    let number: usize = query_value(query, "page")
        .and_then(|v| v.parse().ok())
        .unwrap_or(1)
        .max(1);
    let start = (number - 1) * per_page;
    let slice: Vec<Value> = items.iter().skip(start).take(per_page).cloned().collect();
    let mut answer = Answer::json(200, Value::Array(slice));
    if start + per_page < items.len() {
        answer.headers.push((
            "link",
            format!(
                "<{url}?per_page={per_page}&page={}>; rel=\"next\", <{url}?per_page={per_page}&page={}>; rel=\"last\"",
                number + 1,
                items.len().div_ceil(per_page)
            ),
        ));
    }
    answer
}

fn create(state: &mut State, config: &Config, base: &str, request: Option<&Value>) -> Answer {
    let Some(request) = request else {
        return Answer::json(
            400,
            json!({"message": "Problems parsing JSON", "documentation_url": "https://docs.github.com/rest"}),
        );
    };
    let tag = request["tag_name"].as_str().unwrap_or("").to_owned();
    if state.race_on_create {
        state.race_on_create = false;
        state.add_release(
            &tag,
            false,
            Some(&tag),
            Some("Notes by the job that won the race"),
        );
        return validation_failed("Release", "tag_name");
    }
    if state.releases.iter().any(|r| r.tag_name == tag && !r.draft) {
        return validation_failed("Release", "tag_name");
    }
    let id = state.id();
    let draft = request["draft"].as_bool().unwrap_or(false);
    let release = FakeRelease {
        id,
        tag_name: tag.clone(),
        target_commitish: request["target_commitish"]
            .as_str()
            .unwrap_or("main")
            .to_owned(),
        name: request["name"].as_str().map(str::to_owned),
        body: request["body"].as_str().map(str::to_owned),
        draft,
        prerelease: request["prerelease"].as_bool().unwrap_or(false),
        make_latest: request["make_latest"].as_str().map(str::to_owned),
        assets: Vec::new(),
    };
    if !draft {
        state.tags.insert(tag);
    }
    state.releases.push(release.clone());
    if state.lose_create_answers > 0 {
        state.lose_create_answers -= 1;
        return Answer::json(502, json!({"message": "Bad Gateway"}));
    }
    Answer::json(201, release_json(state, config, base, &release))
}

fn update(
    state: &mut State,
    config: &Config,
    base: &str,
    id: u64,
    request: Option<&Value>,
) -> Answer {
    let request = request.cloned().unwrap_or(Value::Null);
    let publishing = request["draft"].as_bool() == Some(false);
    let Some(index) = state.releases.iter().position(|r| r.id == id) else {
        return not_found();
    };
    if publishing && state.releases[index].draft && state.fail_publish > 0 {
        state.fail_publish -= 1;
        return Answer::json(500, json!({"message": "Server Error"}));
    }
    if publishing && state.releases[index].draft {
        let tag = state.releases[index].tag_name.clone();
        if state.race_on_publish {
            state.race_on_publish = false;
            state.add_release(
                &tag,
                false,
                Some(&tag),
                Some("Notes by the job that published first"),
            );
        }
        if state.releases.iter().any(|r| r.tag_name == tag && !r.draft) {
            return validation_failed("Release", "tag_name");
        }
    }
    let release = &mut state.releases[index];
    if let Some(body) = request["body"].as_str() {
        release.body = Some(body.to_owned());
    }
    if let Some(name) = request["name"].as_str() {
        release.name = Some(name.to_owned());
    }
    if let Some(draft) = request["draft"].as_bool() {
        release.draft = draft;
    }
    if let Some(prerelease) = request["prerelease"].as_bool() {
        release.prerelease = prerelease;
    }
    if let Some(latest) = request["make_latest"].as_str() {
        release.make_latest = Some(latest.to_owned());
    }
    let release = release.clone();
    if !release.draft {
        state.tags.insert(release.tag_name.clone());
    }
    Answer::json(200, release_json(state, config, base, &release))
}

fn upload(
    state: &mut State,
    config: &Config,
    id: u64,
    query: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Answer {
    let Some(name) = query_value(query, "name") else {
        return Answer::json(400, json!({"message": "name is required"}));
    };
    let content_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let length: Option<usize> = headers
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    if content_type.is_empty()
        || length != Some(body.len())
        || headers.contains_key("transfer-encoding")
    {
        return Answer::json(
            400,
            json!({"message": format!("Content-Type and Content-Length are required (got {content_type:?}, {length:?}, {} bytes)", body.len())}),
        );
    }
    let Some(index) = state.releases.iter().position(|r| r.id == id) else {
        return not_found();
    };
    if state.immutable && !state.releases[index].draft {
        return Answer::json(
            422,
            json!({"message": "Cannot upload assets to an immutable release.", "documentation_url": "https://docs.github.com/rest/releases/assets#upload-a-release-asset"}),
        );
    }
    if state.releases[index].assets.iter().any(|a| a.name == name) {
        return validation_failed("ReleaseAsset", "name");
    }
    if state.fail_uploads > 0 {
        state.fail_uploads -= 1;
        state.add_asset(id, &name, &body[..body.len() / 2], "open");
        return Answer::json(502, json!({"message": "Bad Gateway"}));
    }
    let stored: Vec<u8> = if state.corrupt_uploads > 0 {
        state.corrupt_uploads -= 1;
        body.iter().map(|byte| byte ^ 0xff).collect()
    } else {
        body.to_vec()
    };
    let asset_id = state.add_asset(id, &name, &stored, "uploaded");
    let asset = state.releases[index]
        .assets
        .iter()
        .find(|a| a.id == asset_id)
        .unwrap()
        .clone();
    let base = format!("http://127.0.0.1:{}", config.port);
    Answer::json(201, asset_json(state, config, &base, &asset))
}

fn user(base: &str) -> Value {
    json!({
        "login": "github-actions[bot]", "id": 41_898_282, "node_id": "MDM6Qm90NDE4OTgyODI=",
        "avatar_url": format!("{base}/avatar"), "gravatar_id": "", "url": format!("{base}/users/bot"),
        "html_url": format!("{base}/apps/github-actions"), "followers_url": format!("{base}/f"),
        "following_url": format!("{base}/g"), "gists_url": format!("{base}/h"),
        "starred_url": format!("{base}/i"), "subscriptions_url": format!("{base}/j"),
        "organizations_url": format!("{base}/k"), "repos_url": format!("{base}/l"),
        "events_url": format!("{base}/m"), "received_events_url": format!("{base}/n"),
        "type": "Bot", "site_admin": false,
    })
}

fn asset_json(state: &State, config: &Config, base: &str, asset: &FakeAsset) -> Value {
    json!({
        "url": format!("{base}{}/repos/{}/releases/assets/{}", config.api_prefix, state.owner_repo, asset.id),
        "browser_download_url": format!("{base}/download/{}/{}", asset.id, asset.name),
        "id": asset.id,
        "node_id": format!("RA_{}", asset.id),
        "name": asset.name,
        "label": null,
        "state": asset.state,
        "content_type": asset.content_type,
        "size": asset.data.len(),
        "digest": if state.digests { json!(format!("sha256:{}", asset.sha256())) } else { Value::Null },
        "download_count": 0,
        "created_at": "2026-11-20T10:00:00Z",
        "updated_at": "2026-11-20T10:00:00Z",
        "uploader": user(base),
    })
}

fn release_json(state: &State, config: &Config, base: &str, release: &FakeRelease) -> Value {
    let api = format!("{base}{}/repos/{}", config.api_prefix, state.owner_repo);
    let assets: Vec<Value> = release
        .assets
        .iter()
        .map(|a| asset_json(state, config, base, a))
        .collect();
    json!({
        "url": format!("{api}/releases/{}", release.id),
        "html_url": format!("https://github.com/{}/releases/tag/{}", state.owner_repo, release.tag_name),
        "assets_url": format!("{api}/releases/{}/assets", release.id),
        "upload_url": format!("{base}{}/repos/{}/releases/{}/assets{{?name,label}}", config.uploads_prefix, state.owner_repo, release.id),
        "tarball_url": format!("{api}/tarball/{}", release.tag_name),
        "zipball_url": format!("{api}/zipball/{}", release.tag_name),
        "id": release.id,
        "node_id": format!("RE_{}", release.id),
        "tag_name": release.tag_name,
        "target_commitish": release.target_commitish,
        "name": release.name,
        "body": release.body,
        "draft": release.draft,
        "prerelease": release.prerelease,
        "immutable": state.immutable,
        "created_at": "2026-11-20T10:00:00Z",
        "published_at": if release.draft { Value::Null } else { json!("2026-11-20T10:05:00Z") },
        "author": user(base),
        "assets": assets,
    })
}

/// Validation of recorded exchanges against GitHub's `OpenAPI` description
/// (`@octokit/openapi`'s `generated/api.github.com.json`, `OpenAPI` 3.0: `nullable`, `$ref`,
/// `allOf`/`anyOf`/`oneOf`, `enum`, `required`, `additionalProperties`).
pub mod openapi {
    use std::path::PathBuf;
    use std::sync::OnceLock;

    use serde_json::Value;

    use super::Exchange;

    pub fn spec() -> &'static Value {
        static SPEC: OnceLock<Value> = OnceLock::new();
        SPEC.get_or_init(|| {
            let node = std::env::var_os("PYPI_OIDC_PUBLISH_TEST_NODE").map_or_else(
                || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/test-env/node/node_modules"),
                PathBuf::from,
            );
            let path = node.join("@octokit/openapi/generated/api.github.com.json");
            let text = std::fs::read_to_string(&path).unwrap_or_else(|error| {
                panic!("{} is missing ({error}): run scripts/test.sh --setup (it installs tests/node/package.json)", path.display())
            });
            serde_json::from_str(&text).unwrap()
        })
    }

    fn operation<'a>(spec: &'a Value, id: &str) -> Option<&'a Value> {
        spec["paths"].as_object()?.values().find_map(|item| {
            item.as_object()?
                .values()
                .find(|op| op["operationId"].as_str() == Some(id))
        })
    }

    fn resolve<'a>(spec: &'a Value, schema: &'a Value) -> &'a Value {
        let mut schema = schema;
        for _ in 0..16 {
            match schema["$ref"].as_str() {
                Some(reference) => {
                    schema = spec
                        .pointer(reference.trim_start_matches('#'))
                        .unwrap_or(&Value::Null);
                }
                None => break,
            }
        }
        schema
    }

    /// Problems of `value` against `schema`, each with its JSON path.
    pub fn validate(
        spec: &Value,
        schema: &Value,
        value: &Value,
        at: &str,
        problems: &mut Vec<String>,
    ) {
        let schema = resolve(spec, schema);
        if value.is_null() {
            let nullable = schema["nullable"].as_bool() == Some(true)
                || (schema.get("type").is_none()
                    && schema.get("allOf").is_none()
                    && schema.get("anyOf").is_none()
                    && schema.get("oneOf").is_none());
            let alternatives_allow = ["anyOf", "oneOf"].iter().any(|key| {
                schema[*key].as_array().is_some_and(|options| {
                    options.iter().any(|option| {
                        let mut inner = Vec::new();
                        validate(spec, option, value, at, &mut inner);
                        inner.is_empty()
                    })
                })
            });
            if !(nullable || alternatives_allow) {
                problems.push(format!("{at}: null is not allowed"));
            }
            return;
        }
        if let Some(all) = schema["allOf"].as_array() {
            for option in all {
                validate(spec, option, value, at, problems);
            }
        }
        for key in ["anyOf", "oneOf"] {
            if let Some(options) = schema[key].as_array() {
                let matches = options
                    .iter()
                    .filter(|option| {
                        let mut inner = Vec::new();
                        validate(spec, option, value, at, &mut inner);
                        inner.is_empty()
                    })
                    .count();
                if matches == 0 {
                    problems.push(format!("{at}: matches none of {key}"));
                }
            }
        }
        if let Some(allowed) = schema["enum"].as_array() {
            if !allowed.contains(value) {
                problems.push(format!("{at}: {value} is not one of {allowed:?}"));
            }
        }
        let type_ok = match schema["type"].as_str() {
            Some("object") => value.is_object(),
            Some("array") => value.is_array(),
            Some("string") => value.is_string(),
            Some("integer") => value.is_i64() || value.is_u64(),
            Some("number") => value.is_number(),
            Some("boolean") => value.is_boolean(),
            _ => true,
        };
        if !type_ok {
            problems.push(format!("{at}: {value} is not of type {}", schema["type"]));
            return;
        }
        if let Some(object) = value.as_object() {
            if let Some(required) = schema["required"].as_array() {
                for name in required.iter().filter_map(Value::as_str) {
                    if !object.contains_key(name) {
                        problems.push(format!("{at}: required property `{name}` is missing"));
                    }
                }
            }
            let properties = schema["properties"].as_object();
            for (name, item) in object {
                match properties.and_then(|p| p.get(name)) {
                    Some(property) => {
                        validate(spec, property, item, &format!("{at}.{name}"), problems);
                    }
                    None => match &schema["additionalProperties"] {
                        Value::Bool(false) => {
                            problems.push(format!("{at}: property `{name}` is not allowed"));
                        }
                        extra @ Value::Object(_) => {
                            validate(spec, extra, item, &format!("{at}.{name}"), problems);
                        }
                        _ => {}
                    },
                }
            }
        }
        if let (Some(items), Some(schema_items)) = (value.as_array(), schema.get("items")) {
            for (index, item) in items.iter().enumerate() {
                validate(
                    spec,
                    schema_items,
                    item,
                    &format!("{at}[{index}]"),
                    problems,
                );
            }
        }
    }

    /// Validate every recorded JSON request and response of a documented operation. Returns
    /// the problems and how many bodies were checked.
    pub fn check(exchanges: &[Exchange]) -> (Vec<String>, usize) {
        let spec = spec();
        let mut problems = Vec::new();
        let mut checked = 0;
        for exchange in exchanges {
            let Some(op) = operation(spec, exchange.operation) else {
                continue; // storage downloads, deliberate 401/403 answers
            };
            let label = format!(
                "{} {} ({})",
                exchange.method, exchange.path, exchange.operation
            );
            if let Some(request) = &exchange.request {
                let schema = &op["requestBody"]["content"]["application/json"]["schema"];
                if schema.is_null() {
                    problems.push(format!("{label}: the operation takes no JSON body"));
                } else {
                    checked += 1;
                    validate(
                        spec,
                        schema,
                        request,
                        &format!("{label} request"),
                        &mut problems,
                    );
                }
            }
            if exchange.status >= 500 {
                continue; // injected faults: GitHub documents no body for them
            }
            let response = resolve(spec, &op["responses"][exchange.status.to_string()]);
            if response.is_null() {
                // The description leaves out some real answers (a 422 when publishing a
                // draft whose tag another release took): such errors must still have
                // GitHub's error shapes.
                let fallback = match exchange.status {
                    422 => "#/components/schemas/validation-error",
                    400..=499 => "#/components/schemas/basic-error",
                    _ => {
                        problems.push(format!(
                            "{label}: status {} is not documented",
                            exchange.status
                        ));
                        continue;
                    }
                };
                if let Some(body) = &exchange.response {
                    checked += 1;
                    let schema = serde_json::json!({ "$ref": fallback });
                    let at = format!("{label} response {}", exchange.status);
                    validate(spec, &schema, body, &at, &mut problems);
                }
                continue;
            }
            if let Some(body) = &exchange.response {
                let schema = &response["content"]["application/json"]["schema"];
                if !schema.is_null() {
                    checked += 1;
                    validate(
                        spec,
                        schema,
                        body,
                        &format!("{label} response {}", exchange.status),
                        &mut problems,
                    );
                }
            }
        }
        (problems, checked)
    }
}
