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

mod handlers;
mod json;
pub mod openapi;

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};
use sha2::Digest as _;

use handlers::{create, page, update, upload};
use json::{asset_json, release_json};

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
    /// A workflow token without `contents: write` (a job with `permissions: id-token: write`
    /// only): it reads published releases, sees no drafts, and every write answers 403
    /// "Resource not accessible by integration" (API and uploads host alike).
    pub read_only_token: String,
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
    /// The uploads host reads request bodies at this many bytes per second (a slow uplink):
    /// it keeps reading, so the client never waits long, but the whole body takes a while.
    pub upload_bytes_per_second: Option<u64>,
    /// The next N uploads store a half asset and then hang: they read no more of the body
    /// and answer nothing for `stall_for` (a connection that died without a reset).
    pub stall_uploads: u32,
    pub stall_for: std::time::Duration,
    /// The next N uploads meet another job of the same run uploading the same file to the
    /// same release: its asset (`open`, our bytes) holds the name, so the upload answers
    /// 422 `already_exists`; it finishes `peer_upload_takes` later.
    pub peer_uploads: u32,
    pub peer_upload_takes: std::time::Duration,
    /// Assets that become `uploaded` at the given time (a peer's upload in flight).
    finishing: Vec<(u64, std::time::Instant)>,
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

    /// Mark an asset to become `uploaded` at `at`.
    pub fn finish_later(&mut self, asset_id: u64, at: std::time::Instant) {
        self.finishing.push((asset_id, at));
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
    _server: super::background::BackgroundServer,
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

    /// github.com layout behind a slow uplink: the uploads host reads `bytes_per_second`,
    /// through a small socket receive buffer so that little data piles up in the kernel
    /// (the client sees its body move at the paced rate, not all at once into buffers).
    pub fn start_slow_uplink(bytes_per_second: u64) -> Self {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.set_recv_buffer_size(64 * 1024).unwrap();
        socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()
            .unwrap();
        let listener = {
            let _context = runtime.enter();
            socket.listen(64).unwrap().into_std().unwrap()
        };
        drop(runtime);
        let fake = Self::serve(listener, "", "/uploads");
        fake.with_state(|state| state.upload_bytes_per_second = Some(bytes_per_second));
        fake
    }

    fn start_with(api_prefix: &'static str, uploads_prefix: &'static str) -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        Self::serve(listener, api_prefix, uploads_prefix)
    }

    fn serve(
        listener: std::net::TcpListener,
        api_prefix: &'static str,
        uploads_prefix: &'static str,
    ) -> Self {
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let state: Shared = Arc::new(Mutex::new(State {
            token: format!("ghs_fake{:x}", rand::random::<u128>()),
            read_only_token: format!("ghs_readonly{:x}", rand::random::<u128>()),
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
            upload_bytes_per_second: None,
            stall_uploads: 0,
            stall_for: std::time::Duration::from_secs(10),
            peer_uploads: 0,
            peer_upload_takes: std::time::Duration::from_millis(300),
            finishing: Vec::new(),
        }));
        let config = Config {
            port,
            api_prefix,
            uploads_prefix,
        };
        let shared = state.clone();
        let app = axum::Router::new().fallback(move |request: axum::extract::Request| {
            let shared = shared.clone();
            let config = config.clone();
            async move { handle(shared, config, request).await }
        });
        let server = super::background::BackgroundServer::spawn(listener, app);
        Self {
            port,
            api_prefix,
            state,
            _server: server,
        }
    }

    /// The value for `GITHUB_API_URL`.
    pub fn api_url(&self) -> String {
        format!("http://127.0.0.1:{}{}", self.port, self.api_prefix)
    }

    pub fn token(&self) -> String {
        self.state.lock().unwrap().token.clone()
    }

    /// A token that may read but not write contents (see [`State::read_only_token`]).
    pub fn read_only_token(&self) -> String {
        self.state.lock().unwrap().read_only_token.clone()
    }

    pub fn with_state<R>(&self, function: impl FnOnce(&mut State) -> R) -> R {
        function(&mut self.state.lock().unwrap())
    }

    pub fn exchanges(&self) -> Vec<Exchange> {
        self.state.lock().unwrap().exchanges.clone()
    }
}

fn percent_decode(text: &str) -> String {
    percent_encoding::percent_decode_str(text)
        .decode_utf8_lossy()
        .into_owned()
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

/// GitHub's answer to a write by a workflow token without the permission for it.
fn forbidden() -> Answer {
    Answer::json(
        403,
        json!({"message": "Resource not accessible by integration", "documentation_url": "https://docs.github.com/rest/releases/releases#create-a-release", "status": "403"}),
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
    let uploading = path.starts_with(config.uploads_prefix);
    let (pace, stall) = {
        let mut state = shared.lock().unwrap();
        let stall = uploading && state.stall_uploads > 0;
        if stall {
            state.stall_uploads -= 1;
        }
        (
            state.upload_bytes_per_second,
            stall.then_some(state.stall_for),
        )
    };
    if let Some(stall_for) = stall {
        return stalled_upload(&shared, &path, &query, stall_for).await;
    }
    let body = match pace {
        Some(bytes_per_second) if uploading => {
            read_slowly(request.into_body(), bytes_per_second).await
        }
        _ => axum::body::to_bytes(request.into_body(), 512 * 1024 * 1024)
            .await
            .unwrap_or_default(),
    };
    let mut state = shared.lock().unwrap();
    let now = std::time::Instant::now();
    let done: Vec<u64> = state
        .finishing
        .iter()
        .filter(|(_, at)| *at <= now)
        .map(|(id, _)| *id)
        .collect();
    state.finishing.retain(|(_, at)| *at > now);
    for release in &mut state.releases {
        for asset in &mut release.assets {
            if done.contains(&asset.id) {
                "uploaded".clone_into(&mut asset.state);
            }
        }
    }
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

/// Read a body at `bytes_per_second` on average: after each frame, sleep until the bytes read
/// so far are due (by the clock, so late wake-ups on a busy machine do not slow it further).
async fn read_slowly(body: Body, bytes_per_second: u64) -> axum::body::Bytes {
    use futures_util::StreamExt as _;
    let start = tokio::time::Instant::now();
    let mut stream = body.into_data_stream();
    let mut data = Vec::new();
    while let Some(Ok(chunk)) = stream.next().await {
        data.extend_from_slice(&chunk);
        let due = data.len() as u64 * 1_000_000 / bytes_per_second.max(1);
        tokio::time::sleep_until(start + std::time::Duration::from_micros(due)).await;
    }
    data.into()
}

/// An upload that hangs: GitHub has made a half asset (`state: open`), then nothing more
/// happens on the connection until `stall_for` has passed (the client should give up first).
async fn stalled_upload(
    shared: &Shared,
    path: &str,
    query: &str,
    stall_for: std::time::Duration,
) -> Response {
    {
        let mut state = shared.lock().unwrap();
        let id: Option<u64> = path
            .trim_end_matches("/assets")
            .rsplit('/')
            .next()
            .and_then(|id| id.parse().ok());
        let name = query_value(query, "name");
        if let (Some(id), Some(name)) = (id, name)
            && state.releases.iter().any(|r| r.id == id)
        {
            state.add_asset(id, &name, b"", "open");
        }
        state.exchanges.push(Exchange {
            operation: "repos/upload-release-asset (stalled)",
            method: "POST".to_owned(),
            path: path.to_owned(),
            status: 0,
            request: None,
            response: None,
        });
    }
    tokio::time::sleep(stall_for).await;
    Response::builder()
        .status(StatusCode::GATEWAY_TIMEOUT)
        .body(Body::empty())
        .unwrap()
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
    let presented = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let read_only = presented == format!("Bearer {}", state.read_only_token);
    let authorized = read_only || presented == format!("Bearer {}", state.token);
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
        return ("denied", forbidden(), None);
    }
    let repo_prefix = format!("/repos/{}/", state.owner_repo);
    if let Some(rest) = path
        .strip_prefix(config.uploads_prefix)
        .and_then(|rest| rest.strip_prefix(&repo_prefix))
    {
        let segments: Vec<&str> = rest.split('/').collect();
        if let (Method::POST, ["releases", id, "assets"]) = (method.clone(), segments.as_slice()) {
            if read_only {
                return ("repos/upload-release-asset", forbidden(), None);
            }
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
    // A scripted generate-notes answer wins (to test a probe that says nothing).
    let scripted_notes = state.generate_notes_status.is_some()
        && matches!(segments.as_slice(), ["releases", "generate-notes"]);
    if read_only && *method != Method::GET && !scripted_notes {
        let operation = match (method.clone(), segments.as_slice()) {
            (Method::POST, ["releases"]) => "repos/create-release",
            (Method::POST, ["releases", "generate-notes"]) => "repos/generate-release-notes",
            (Method::PATCH, ["releases", _]) => "repos/update-release",
            (Method::DELETE, ["releases", _]) => "repos/delete-release",
            (Method::DELETE, ["releases", "assets", _]) => "repos/delete-release-asset",
            _ => "unknown",
        };
        return (operation, forbidden(), request_json);
    }
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
            // "Only users with push access will receive listings for draft releases."
            let mut releases: Vec<&FakeRelease> = state
                .releases
                .iter()
                .filter(|r| !(read_only && r.draft))
                .collect();
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
