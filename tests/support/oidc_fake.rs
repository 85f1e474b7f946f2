//! Loopback fakes for Trusted Publishing.
//!
//! - [`GithubOidc`]: GitHub's OIDC token endpoint (`ACTIONS_ID_TOKEN_REQUEST_URL`): checks the
//!   bearer request token and issues RS256 JWTs signed with a test key, for any requested
//!   audience (`pypi`, `sigstore`, ...), each with a fresh `jti`. [`verify_jwt`] checks them
//!   for other fakes (Fulcio).
//! - [`PypiOidc`]: Warehouse's `/_/oidc/audience` and `/_/oidc/mint-token` with Warehouse's JSON
//!   shapes: the signature, issuer, audience, expiry, single use of `jti` and the `repository`
//!   claim are verified. Every other path (upload, `/simple/`) is proxied to `upstream`: in
//!   the tests the PyPI-strict index of [`super::PypiServer`] (the Warehouse fake, pypiserver
//!   behind it), so uploads through Trusted Publishing are judged by PyPI's rules too.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::{Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};

pub const ISSUER: &str = "https://token.actions.githubusercontent.com";
const PRIVATE_KEY: &str = include_str!("../fixtures/oidc/test-issuer-key.pem");
pub const PUBLIC_KEY: &str = include_str!("../fixtures/oidc/test-issuer-public.pem");

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Unix time on the fake index's clock.
fn index_now(config: &PypiConfig) -> u64 {
    unix_now().saturating_add_signed(config.clock_offset)
}

/// A runtime with one worker running `router` on 127.0.0.1; returns it and the port.
fn serve(router: Router) -> (tokio::runtime::Runtime, u16) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let port = listener.local_addr().unwrap().port();
    runtime.spawn(async move { axum::serve(listener, router).await });
    (runtime, port)
}

/// Verify a JWT from [`GithubOidc`]: signature, issuer, audience, expiry. Returns its claims.
pub fn verify_jwt(token: &str, audience: &str) -> Result<serde_json::Map<String, Value>, String> {
    let key = jsonwebtoken::DecodingKey::from_rsa_pem(PUBLIC_KEY.as_bytes()).unwrap();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.set_audience(&[audience]);
    validation.set_issuer(&[ISSUER]);
    validation.set_required_spec_claims(&["exp", "iss", "aud"]);
    jsonwebtoken::decode::<serde_json::Map<String, Value>>(token, &key, &validation)
        .map(|data| data.claims)
        .map_err(|error| error.to_string())
}

/// One token the fake GitHub issued.
#[derive(Debug, Clone)]
pub struct Issued {
    pub audience: String,
    pub jti: String,
    pub token: String,
}

struct GithubState {
    request_token: String,
    claims: serde_json::Map<String, Value>,
    issued: Vec<Issued>,
}

/// GitHub's OIDC token endpoint. Stopped on drop.
pub struct GithubOidc {
    _runtime: tokio::runtime::Runtime,
    pub port: u16,
    pub request_token: String,
    state: Arc<Mutex<GithubState>>,
}

/// The claims of a tag push to `octo-org/demo` running `release.yml`.
pub fn default_claims() -> serde_json::Map<String, Value> {
    let Value::Object(claims) = json!({
        "sub": "repo:octo-org/demo:ref:refs/tags/v0.3.0",
        "repository": "octo-org/demo",
        "repository_owner": "octo-org",
        "repository_owner_id": "4242",
        "repository_id": "987654",
        "repository_visibility": "public",
        "workflow": "Release",
        "workflow_ref": "octo-org/demo/.github/workflows/release.yml@refs/tags/v0.3.0",
        "job_workflow_ref": "octo-org/demo/.github/workflows/release.yml@refs/tags/v0.3.0",
        "ref": "refs/tags/v0.3.0",
        "ref_type": "tag",
        "sha": "0123456789abcdef0123456789abcdef01234567",
        "event_name": "push",
        "runner_environment": "github-hosted",
    }) else {
        unreachable!()
    };
    claims
}

impl GithubOidc {
    pub fn start() -> Self {
        Self::start_with(&json!({}))
    }

    /// Start with the default claims changed by `overrides` (a `null` value removes a claim).
    pub fn start_with(overrides: &Value) -> Self {
        let mut claims = default_claims();
        for (key, value) in overrides.as_object().unwrap() {
            if value.is_null() {
                claims.remove(key);
            } else {
                claims.insert(key.clone(), value.clone());
            }
        }
        let request_token = format!("ghs-request-{:032x}", rand::random::<u128>());
        let state = Arc::new(Mutex::new(GithubState {
            request_token: request_token.clone(),
            claims,
            issued: Vec::new(),
        }));
        let router = Router::new()
            .route("/_apis/token", get(issue_token))
            .with_state(state.clone());
        let (runtime, port) = serve(router);
        Self {
            _runtime: runtime,
            port,
            request_token,
            state,
        }
    }

    /// `ACTIONS_ID_TOKEN_REQUEST_URL` (already has a query, as GitHub's does).
    pub fn request_url(&self) -> String {
        format!("http://127.0.0.1:{}/_apis/token?api-version=2.0", self.port)
    }

    /// The two variables a job with `id-token: write` has.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("ACTIONS_ID_TOKEN_REQUEST_URL", self.request_url()),
            ("ACTIONS_ID_TOKEN_REQUEST_TOKEN", self.request_token.clone()),
        ]
    }

    pub fn issued(&self) -> Vec<Issued> {
        self.state.lock().unwrap().issued.clone()
    }

    /// Every secret this fake handed out (for output scans).
    pub fn secrets(&self) -> Vec<String> {
        let mut secrets: Vec<String> = self.issued().into_iter().map(|i| i.token).collect();
        secrets.push(self.request_token.clone());
        secrets
    }
}

async fn issue_token(
    State(state): State<Arc<Mutex<GithubState>>>,
    Query(query): Query<std::collections::BTreeMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let mut state = state.lock().unwrap();
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let expected = format!("bearer {}", state.request_token);
    if !authorization.eq_ignore_ascii_case(&expected) {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"message": "Unable to authenticate the request"})),
        )
            .into_response();
    }
    let owner = state.claims["repository_owner"]
        .as_str()
        .unwrap_or_default();
    let audience = query
        .get("audience")
        .cloned()
        .unwrap_or_else(|| format!("https://github.com/{owner}"));
    let now = unix_now();
    let jti = format!("{:032x}", rand::random::<u128>());
    let mut claims = state.claims.clone();
    claims.insert("jti".into(), json!(jti));
    claims.insert("aud".into(), json!(audience));
    claims.insert("iss".into(), json!(ISSUER));
    claims.insert("iat".into(), json!(now));
    claims.insert("nbf".into(), json!(now - 5));
    claims.insert("exp".into(), json!(now + 300));
    let mut jwt_header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
    jwt_header.kid = Some("test-issuer-key".into());
    let key = jsonwebtoken::EncodingKey::from_rsa_pem(PRIVATE_KEY.as_bytes()).unwrap();
    let token = jsonwebtoken::encode(&jwt_header, &claims, &key).unwrap();
    state.issued.push(Issued {
        audience,
        jti,
        token: token.clone(),
    });
    let count = state.issued.len();
    Json(json!({"count": count, "value": token})).into_response()
}

/// A scripted answer of the fake mint endpoint, used before any verification.
#[derive(Debug, Clone)]
pub enum Scripted {
    /// Answer this status; the token counts as used (as if the answer was lost after `PyPI`
    /// stored the `jti`), so re-sending the same JWT would be refused.
    Status(u16),
    /// 200 with an HTML page.
    NotJson,
    /// 422 with this error code and Warehouse's description for it.
    Error(&'static str),
    /// No script for this request: verify and mint as usual.
    Mint,
    /// A redirect with this status to `/_/oidc/mint-token`, where a GET gets a token: a
    /// client that follows it as a GET would take that for the mint's answer.
    Redirect(u16),
}

/// How the fake index behaves.
#[derive(Debug, Clone)]
pub struct PypiConfig {
    /// What `/_/oidc/audience` advertises.
    pub audience: String,
    /// The audience the mint endpoint verifies (normally the advertised one).
    pub verified_audience: String,
    /// `/_/oidc/audience` answers this status (200: the audience).
    pub audience_status: u16,
    /// The publisher: the `repository` claim must equal it (case-insensitive).
    pub publisher_repository: String,
    /// The API token minted (the real index's password).
    pub minted_token: String,
    /// Lifetimes in seconds of the successive minted tokens; the last one repeats.
    pub lifetimes: Vec<u64>,
    /// Answers given to the first mint requests, in order.
    pub scripted: Vec<Scripted>,
    /// Where everything else goes (a real index).
    pub upstream: Option<String>,
    /// Hold the first upload this long before forwarding it (a slow, large file).
    pub first_upload_delay: Duration,
    /// The index's clock is this many seconds ahead of this machine's (negative: behind): the
    /// mint's `expires`, its `Date` header and the expiry check all use it.
    pub clock_offset: i64,
}

impl Default for PypiConfig {
    fn default() -> Self {
        Self {
            audience: "pypi".into(),
            verified_audience: "pypi".into(),
            audience_status: 200,
            publisher_repository: "octo-org/demo".into(),
            minted_token: format!("pypi-minted{:032x}", rand::random::<u128>()),
            lifetimes: vec![900],
            scripted: Vec::new(),
            upstream: None,
            first_upload_delay: Duration::ZERO,
            clock_offset: 0,
        }
    }
}

struct PypiState {
    config: PypiConfig,
    used_jtis: HashSet<String>,
    /// jti of every mint request, in order (also failed ones).
    mint_jtis: Vec<String>,
    mints: usize,
    expires: Option<u64>,
    events: Vec<String>,
    uploads: usize,
}

/// Warehouse's OIDC endpoints in front of a real index. Stopped on drop.
pub struct PypiOidc {
    _runtime: tokio::runtime::Runtime,
    pub port: u16,
    pub minted_token: String,
    state: Arc<Mutex<PypiState>>,
}

impl PypiOidc {
    pub fn start(config: PypiConfig) -> Self {
        let minted_token = config.minted_token.clone();
        let state = Arc::new(Mutex::new(PypiState {
            config,
            used_jtis: HashSet::new(),
            mint_jtis: Vec::new(),
            mints: 0,
            expires: None,
            events: Vec::new(),
            uploads: 0,
        }));
        let router = Router::new()
            .route("/_/oidc/audience", get(audience))
            .route("/_/oidc/mint-token", post(mint_token).get(mint_by_get))
            .fallback(proxy)
            .with_state(state.clone());
        let (runtime, port) = serve(router);
        Self {
            _runtime: runtime,
            port,
            minted_token,
            state,
        }
    }

    /// The repository URL the binary is given.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }

    /// What happened, in order: `audience`, `mint ok`, `mint 503`, `mint 422 <code>`,
    /// `upload <file>`, ...
    pub fn events(&self) -> Vec<String> {
        self.state.lock().unwrap().events.clone()
    }

    pub fn count(&self, prefix: &str) -> usize {
        self.events()
            .iter()
            .filter(|event| event.starts_with(prefix))
            .count()
    }

    /// The `jti` of every token sent to the mint endpoint.
    pub fn mint_jtis(&self) -> Vec<String> {
        self.state.lock().unwrap().mint_jtis.clone()
    }
}

async fn audience(State(state): State<Arc<Mutex<PypiState>>>) -> Response {
    let mut state = state.lock().unwrap();
    state.events.push("audience".into());
    match state.config.audience_status {
        200 => Json(json!({"audience": state.config.audience})).into_response(),
        403 => (
            StatusCode::FORBIDDEN,
            Json(json!({"message": "Trusted publishing functionality not enabled"})),
        )
            .into_response(),
        404 => (
            StatusCode::NOT_FOUND,
            "404 Not Found\n\nThe resource could not be found.",
        )
            .into_response(),
        other => (
            StatusCode::from_u16(other).unwrap(),
            format!("status {other} from the fake index"),
        )
            .into_response(),
    }
}

fn invalid(code: &str, description: &str) -> Response {
    (
        StatusCode::UNPROCESSABLE_ENTITY,
        Json(json!({
            "message": "Token request failed",
            "errors": [{"code": code, "description": description}],
        })),
    )
        .into_response()
}

fn description_of(code: &str) -> &'static str {
    match code {
        "invalid-payload" => "malformed JWT",
        "invalid-token" => "malformed or invalid token",
        "invalid-publisher" => {
            "valid token, but no corresponding publisher (Publisher with matching claims was not found)"
        }
        "invalid-reuse-token" => "invalid token: already used",
        "invalid-pending-publisher" => "valid token, but project already exists",
        "not-enabled" => "github trusted publishing functionality not enabled",
        _ => "unknown",
    }
}

async fn mint_token(State(state): State<Arc<Mutex<PypiState>>>, body: Bytes) -> Response {
    let mut state = state.lock().unwrap();
    let Some(token) = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|payload| payload.get("token")?.as_str().map(str::to_owned))
    else {
        state.events.push("mint 422 invalid-payload".into());
        return invalid(
            "invalid-payload",
            "1 validation error for TokenPayload\ntoken\n  Field required [type=missing]",
        );
    };
    let unverified = unverified_claims(&token);
    let jti = unverified
        .as_ref()
        .and_then(|claims| claims.get("jti")?.as_str().map(str::to_owned))
        .unwrap_or_default();
    state.mint_jtis.push(jti.clone());
    if !state.config.scripted.is_empty() {
        let scripted = state.config.scripted.remove(0);
        match scripted {
            Scripted::Mint => {}
            Scripted::Status(status) => {
                state.used_jtis.insert(jti);
                state.events.push(format!("mint {status}"));
                return (
                    StatusCode::from_u16(status).unwrap(),
                    "<html><body><h1>Service Unavailable</h1></body></html>",
                )
                    .into_response();
            }
            Scripted::NotJson => {
                state.events.push("mint 200 not-json".into());
                return (
                    StatusCode::OK,
                    [(header::CONTENT_TYPE, "text/html")],
                    "<html><body>Maintenance</body></html>",
                )
                    .into_response();
            }
            Scripted::Error(code) => {
                state.events.push(format!("mint 422 {code}"));
                return invalid(code, description_of(code));
            }
            Scripted::Redirect(status) => {
                state.events.push(format!("mint {status}"));
                return (
                    StatusCode::from_u16(status).unwrap(),
                    [(header::LOCATION, "/_/oidc/mint-token")],
                )
                    .into_response();
            }
        }
    }
    let issuer = unverified
        .as_ref()
        .and_then(|claims| claims.get("iss")?.as_str().map(str::to_owned));
    let Some(issuer) = issuer else {
        state.events.push("mint 422 invalid-payload".into());
        return invalid("invalid-payload", "malformed JWT");
    };
    if issuer != ISSUER {
        state.events.push("mint 422 invalid-payload".into());
        return invalid("invalid-payload", "unknown trusted publishing issuer");
    }
    let Ok(claims) = verify_jwt(&token, &state.config.verified_audience) else {
        state.events.push("mint 422 invalid-token".into());
        return invalid("invalid-token", description_of("invalid-token"));
    };
    if jti.is_empty() || state.used_jtis.contains(&jti) {
        state.events.push("mint 422 invalid-reuse-token".into());
        return invalid("invalid-reuse-token", description_of("invalid-reuse-token"));
    }
    let repository = claims
        .get("repository")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if !repository.eq_ignore_ascii_case(&state.config.publisher_repository) {
        state.events.push("mint 422 invalid-publisher".into());
        return invalid("invalid-publisher", description_of("invalid-publisher"));
    }
    state.used_jtis.insert(jti);
    let lifetimes = &state.config.lifetimes;
    let lifetime = lifetimes
        .get(state.mints)
        .or(lifetimes.last())
        .copied()
        .unwrap_or(900);
    state.mints += 1;
    let now = index_now(&state.config);
    let expires = now + lifetime;
    state.expires = Some(expires);
    state.events.push("mint ok".into());
    let date = httpdate::fmt_http_date(UNIX_EPOCH + Duration::from_secs(now));
    (
        [("date", date)],
        Json(json!({"success": true, "token": state.config.minted_token, "expires": expires})),
    )
        .into_response()
}

/// A GET of the mint URL (only a followed redirect makes one): answers like a mint.
async fn mint_by_get(State(state): State<Arc<Mutex<PypiState>>>) -> Response {
    let mut state = state.lock().unwrap();
    state.events.push("mint GET".into());
    let expires = unix_now() + 900;
    Json(json!({"success": true, "token": state.config.minted_token, "expires": expires}))
        .into_response()
}

/// A JWT's claims without any check (Warehouse peeks at `iss` this way to pick the issuer).
fn unverified_claims(token: &str) -> Option<Value> {
    use base64::Engine as _;
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// The file name of the multipart `content` part.
fn uploaded_file_name(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(64 * 1024)]);
    text.find("filename=\"")
        .and_then(|start| {
            let rest = &text[start + 10..];
            rest.find('"').map(|end| rest[..end].to_owned())
        })
        .unwrap_or_default()
}

async fn proxy(State(state): State<Arc<Mutex<PypiState>>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, 512 * 1024 * 1024).await.unwrap();
    let is_upload = parts.method == axum::http::Method::POST;
    let (upstream, delay) = {
        let mut state = state.lock().unwrap();
        let Some(upstream) = state.config.upstream.clone() else {
            return (StatusCode::NOT_FOUND, "no upstream").into_response();
        };
        let mut delay = Duration::ZERO;
        if is_upload {
            if state.uploads == 0 {
                delay = state.config.first_upload_delay;
            }
            state.uploads += 1;
        }
        (upstream, delay)
    };
    // The body takes this long to arrive; the token is checked once it has.
    tokio::time::sleep(delay).await;
    if is_upload {
        let mut state = state.lock().unwrap();
        // An expired token is refused, as Warehouse's macaroon caveat does.
        if state
            .expires
            .is_some_and(|expires| index_now(&state.config) > expires)
        {
            state.events.push("upload refused: token expired".into());
            return (
                StatusCode::FORBIDDEN,
                Json(json!({"message": "Invalid or non-existent authentication information."})),
            )
                .into_response();
        }
        let file = uploaded_file_name(&body);
        state.events.push(format!("upload {file}"));
    }
    let (client, url) = super::upstream_target(&upstream, &parts.uri);
    let mut forward = client.request(parts.method.clone(), url).body(body);
    for name in [
        header::AUTHORIZATION,
        header::CONTENT_TYPE,
        header::ACCEPT,
        header::USER_AGENT,
    ] {
        if let Some(value) = parts.headers.get(&name) {
            forward = forward.header(name, value);
        }
    }
    let answer = match forward.send().await {
        Ok(answer) => answer,
        Err(error) => return (StatusCode::BAD_GATEWAY, error.to_string()).into_response(),
    };
    let mut response = Response::builder().status(answer.status().as_u16());
    for name in [header::CONTENT_TYPE, header::LOCATION] {
        if let Some(value) = answer.headers().get(&name) {
            response = response.header(name, value);
        }
    }
    let bytes = answer.bytes().await.unwrap_or_default();
    response.body(axum::body::Body::from(bytes)).unwrap()
}
