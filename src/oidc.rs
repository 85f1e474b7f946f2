//! Trusted Publishing (DESIGN §4, Warehouse `oidc/views.py`): the job's GitHub OIDC token is
//! exchanged for a short-lived `PyPI` API token. Claims are decoded only to explain errors.
//!
//! Flow: `GET {index}/_/oidc/audience` -> `GET $ACTIONS_ID_TOKEN_REQUEST_URL&audience=AUD` ->
//! `POST {index}/_/oidc/mint-token`. A GitHub token can be exchanged once (its `jti`), so every
//! mint attempt, retries and renewals included, fetches a fresh one.

pub mod audience;
mod error;
mod identity;

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::StatusCode;
use secrecy::{ExposeSecret as _, SecretString};
use url::Url;

pub use self::error::{MintErrorItem, OidcError, Rejection};
pub use self::identity::Identity;
use crate::actions::{Console, Runner};
use crate::auth::Credentials;
use crate::http::error_chain;
use crate::http::{self, RetryPolicy};

/// Mint again when the token has less than this left, so that no upload starts with a token
/// that could expire under it.
pub const RENEW_MARGIN: Duration = Duration::from_secs(60);

/// The claims shown when the index refuses a token, in this order.
pub const SHOWN_CLAIMS: [&str; 8] = [
    "sub",
    "repository",
    "repository_owner",
    "repository_owner_id",
    "workflow_ref",
    "job_workflow_ref",
    "ref",
    "environment",
];

/// A minted `PyPI` token and when it expires. Deliberately neither `Debug` nor `Display`.
struct MintedToken {
    token: SecretString,
    /// When it expires, on this machine's monotonic clock: the mint answer's `expires` less the
    /// index's own time (its `Date` header), so a runner whose clock is off neither renews
    /// before every file nor uses an expired token. `None` when the index did not say: the
    /// token is then minted again only when the index refuses it.
    expires_at: Option<std::time::Instant>,
    /// When it was minted here: a refusal of a request sent before this is not its fault.
    minted_at: std::time::Instant,
}

impl MintedToken {
    fn left(&self, now: std::time::Instant) -> Option<Duration> {
        self.expires_at.map(|at| at.saturating_duration_since(now))
    }

    fn expires_soon(&self, now: std::time::Instant) -> bool {
        self.left(now).is_some_and(|left| left < RENEW_MARGIN)
    }
}

/// Mints (and re-mints) `PyPI` tokens for one index.
pub struct TrustedPublisher {
    pub client: reqwest::Client,
    /// For the mint POST: follows no redirect (a 301/302/303 would turn it into a GET).
    mint_client: reqwest::Client,
    /// `{scheme}://{host}` of the repository URL: the `/_/oidc/*` endpoints live there.
    pub index_base: Url,
    pub runner: Runner,
    audience: String,
    project: String,
    current: tokio::sync::Mutex<Current>,
    warned_reusable: AtomicBool,
    /// Whom the index accepted, from the claims of the last OIDC token it exchanged.
    accepted: std::sync::Mutex<Option<Identity>>,
}

/// The token in use, or why none could be minted.
#[derive(Default)]
struct Current {
    token: Option<MintedToken>,
    /// A renewal failed (already reported): every later request gets this error at once.
    failed: Option<String>,
}

impl fmt::Debug for TrustedPublisher {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("TrustedPublisher")
            .field("index_base", &self.index_base.as_str())
            .field("audience", &self.audience)
            .finish_non_exhaustive()
    }
}

impl TrustedPublisher {
    /// Check that the job can get an OIDC token, ask the index for its audience and mint the
    /// first token, so that every problem shows before the first upload.
    #[tracing::instrument(skip_all, fields(index = %index_base))]
    pub async fn start(
        client: &reqwest::Client,
        runner: &Runner,
        index_base: Url,
        project: &str,
    ) -> Result<Self, OidcError> {
        check_token_available(runner)?;
        let audience = audience(client, &index_base).await?;
        tracing::debug!("the index's OIDC audience is `{audience}`");
        if let Some(reason) = self::audience::refusal(&index_base, &audience) {
            return Err(OidcError::ForeignAudience {
                index: index_name(&index_base),
                audience,
                reason,
            });
        }
        let mint_client = http::no_redirect_client().map_err(|error| OidcError::Unavailable {
            method: "POST",
            url: http::display_url(&index_base),
            problem: format!("cannot build the HTTP client: {error:#}"),
        })?;
        let publisher = Self {
            client: client.clone(),
            mint_client,
            index_base,
            runner: runner.clone(),
            audience,
            project: project.to_owned(),
            current: tokio::sync::Mutex::new(Current::default()),
            warned_reusable: AtomicBool::new(false),
            accepted: std::sync::Mutex::new(None),
        };
        let minted = publisher.mint().await?;
        publisher.current.lock().await.token = Some(minted);
        Ok(publisher)
    }

    /// Whom the index accepted as publisher at the last mint (the exchanged token's claims).
    #[must_use]
    pub fn identity(&self) -> Option<Identity> {
        self.accepted
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Credentials for the next upload request: the current token, or a fresh one when it is
    /// about to expire. Concurrent callers wait for one renewal.
    pub async fn credentials(&self) -> anyhow::Result<Credentials> {
        let mut current = self.current.lock().await;
        if let Some(failure) = &current.failed {
            anyhow::bail!("{failure}");
        }
        let now = std::time::Instant::now();
        let valid = current
            .token
            .as_ref()
            .filter(|token| !token.expires_soon(now));
        if let Some(token) = valid {
            return Ok(credentials(token));
        }
        if let Some(left) = current.token.as_ref().and_then(|token| token.left(now)) {
            Console::line(&format!(
                "the PyPI token expires in {}s: minting a fresh one before the next file",
                left.as_secs()
            ));
        }
        match self.mint().await {
            Ok(minted) => {
                let credentials = credentials(&minted);
                current.token = Some(minted);
                Ok(credentials)
            }
            Err(error) => {
                // Reported once; the uploads waiting on the lock fail with it at once
                // instead of each repeating the mint retries and the report.
                error.report(&self.runner);
                let text = format!("{:#}", anyhow::Error::new(error));
                current.failed = Some(text.clone());
                current.token = None;
                Err(anyhow::anyhow!(text))
            }
        }
    }

    /// The index refused a request sent at `sent_at` with the current token (it expired
    /// while the file was on its way, or was revoked): mint a new one for the next request,
    /// unless that already happened since.
    pub async fn invalidate(&self, sent_at: std::time::Instant) {
        let mut current = self.current.lock().await;
        if current
            .token
            .as_ref()
            .is_some_and(|token| token.minted_at <= sent_at)
        {
            Console::line("the index refused the PyPI token: minting a fresh one");
            current.token = None;
        }
    }

    /// One exchange, retried on 5xx and network errors, each try with a fresh OIDC token.
    async fn mint(&self) -> Result<MintedToken, OidcError> {
        let url = self.endpoint("_/oidc/mint-token");
        let policy = RetryPolicy::from_env();
        let mut problem = String::new();
        for attempt in 1..=policy.attempts {
            let jwt = fetch_id_token(&self.client, &self.runner, &self.audience).await?;
            self.warn_if_reusable_workflow(&jwt);
            match self.exchange(&url, &jwt).await? {
                Exchange::Minted(minted) => {
                    *self
                        .accepted
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner) =
                        decode_claims(jwt.expose_secret())
                            .map(|claims| Identity::from_claims(&claims));
                    if let Some(left) = minted.left(std::time::Instant::now()) {
                        tracing::debug!("minted a PyPI token valid for {}s", left.as_secs());
                    } else {
                        tracing::debug!(
                            "minted a PyPI token; the index did not say when it expires, so it is minted again only if the index refuses it"
                        );
                    }
                    return Ok(minted);
                }
                Exchange::Retry {
                    problem: why,
                    retry_after,
                } => {
                    problem = why;
                    if attempt < policy.attempts {
                        let wait = policy.delay(attempt, retry_after);
                        tracing::info!(
                            "minting the PyPI token failed ({problem}); retrying in {:.1}s with a fresh OIDC token (attempt {attempt}/{})",
                            wait.as_secs_f64(),
                            policy.attempts
                        );
                        tokio::time::sleep(wait).await;
                    }
                }
            }
        }
        Err(OidcError::Unavailable {
            method: "POST",
            url: http::display_url(&url),
            problem: format!("failed {} times, the last time: {problem}", policy.attempts),
        })
    }

    async fn exchange(&self, url: &Url, jwt: &SecretString) -> Result<Exchange, OidcError> {
        let shown_url = http::display_url(url);
        let sent = self
            .mint_client
            .post(url.clone())
            .header(reqwest::header::ACCEPT, "application/json")
            .json(&serde_json::json!({ "token": jwt.expose_secret() }))
            .send()
            .await;
        let response = match sent {
            Ok(response) => response,
            Err(error) => {
                return Ok(Exchange::Retry {
                    problem: format!("the connection failed ({})", error_chain(&error)),
                    retry_after: None,
                });
            }
        };
        let status = response.status();
        if status.is_success() {
            let index_now = response
                .headers()
                .get(reqwest::header::DATE)
                .and_then(|value| value.to_str().ok())
                .and_then(|value| httpdate::parse_http_date(value).ok());
            let body = http::read_body(response, http::BodyKind::OidcAnswer).await;
            let minted = body
                .as_ref()
                .ok()
                .and_then(|bytes| parse_minted(&String::from_utf8_lossy(bytes), index_now));
            return minted
                .map(Exchange::Minted)
                .ok_or_else(|| OidcError::Unavailable {
                    method: "POST",
                    url: shown_url,
                    problem: unexpected_answer(status, r#"{"token", "expires"}"#, body.err()),
                });
        }
        let failure = http::http_error(response, "POST").await;
        if http::is_retryable(status) {
            return Ok(Exchange::Retry {
                problem: format!("answered {status}"),
                retry_after: failure.retry_after,
            });
        }
        if status == StatusCode::UNPROCESSABLE_ENTITY {
            if let Ok(answer) = serde_json::from_str::<MintFailure>(&failure.body) {
                return Err(self.rejected(shown_url, answer, jwt));
            }
        }
        Err(OidcError::Unexpected {
            method: "POST",
            url: shown_url,
            status: status.as_u16(),
            body: short(&failure.body),
        })
    }

    fn rejected(&self, url: String, answer: MintFailure, jwt: &SecretString) -> OidcError {
        let claims = decode_claims(jwt.expose_secret()).unwrap_or_default();
        let shown = SHOWN_CLAIMS
            .iter()
            .map(|&name| (name, claim_text(&claims, name)))
            .collect();
        let workflow_file = claims
            .get("job_workflow_ref")
            .and_then(serde_json::Value::as_str)
            .and_then(workflow_file_name);
        let web = index_web_base(&self.index_base);
        OidcError::Rejected(Box::new(Rejection {
            url,
            message: answer
                .message
                .unwrap_or_else(|| "Token request failed".to_owned()),
            errors: answer.errors,
            claims: shown,
            workflow_file,
            settings_url: publisher_settings_url(&web, &self.project),
            pending_url: format!("{web}manage/account/publishing/"),
        }))
    }

    /// `PyPI` does not support reusable workflows as publishers: say so once, before it bites.
    fn warn_if_reusable_workflow(&self, jwt: &SecretString) {
        if self.warned_reusable.load(Ordering::Relaxed) {
            return;
        }
        let Some(claims) = decode_claims(jwt.expose_secret()) else {
            return;
        };
        let text = |name: &str| claims.get(name).and_then(serde_json::Value::as_str);
        let (Some(workflow_ref), Some(job_workflow_ref)) =
            (text("workflow_ref"), text("job_workflow_ref"))
        else {
            return;
        };
        if workflow_ref == job_workflow_ref || self.warned_reusable.swap(true, Ordering::Relaxed) {
            return;
        }
        Console::warning(
            "Trusted Publishing from a reusable workflow",
            &format!(
                "this job runs the reusable workflow `{job_workflow_ref}`, called from `{workflow_ref}`. Reusable workflows are not supported as Trusted Publishers (https://docs.pypi.org/trusted-publishers/troubleshooting/#reusable-workflows-on-github): PyPI checks the publisher's workflow file against `job_workflow_ref`, the reusable workflow, not the calling one, so the publisher may not match, or stop matching when PyPI changes how it checks them. Run this action in a job of the top-level workflow{} and register that file as the publisher.",
                workflow_file_name(workflow_ref)
                    .map(|file| format!(" `{file}`"))
                    .unwrap_or_default()
            ),
        );
    }

    fn endpoint(&self, path: &str) -> Url {
        let mut url = self.index_base.clone();
        url.set_path(path);
        url.set_query(None);
        url
    }
}

fn credentials(minted: &MintedToken) -> Credentials {
    Credentials {
        user: "__token__".to_owned(),
        password: minted.token.clone(),
    }
}

enum Exchange {
    Minted(MintedToken),
    Retry {
        problem: String,
        retry_after: Option<Duration>,
    },
}

#[derive(serde::Deserialize)]
struct MintFailure {
    message: Option<String>,
    #[serde(default)]
    errors: Vec<MintErrorItem>,
}

/// `{"success": true, "token": "pypi-...", "expires": N}`; the token is masked at once.
/// `expires` is a Unix time on the index's clock: the token's lifetime is measured from the
/// index's `Date` (`index_now`), or from this machine's clock when the index sent none.
fn parse_minted(body: &str, index_now: Option<SystemTime>) -> Option<MintedToken> {
    let mut answer: serde_json::Value = serde_json::from_str(body).ok()?;
    let token = match answer.get_mut("token")?.take() {
        serde_json::Value::String(token) if !token.is_empty() => crate::console::learned(token),
        _ => return None,
    };
    let minted_at = std::time::Instant::now();
    let expires_at = answer
        .get("expires")
        .and_then(serde_json::Value::as_u64)
        .map(|expires| {
            let now = index_now
                .unwrap_or_else(SystemTime::now)
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default();
            minted_at + Duration::from_secs(expires).saturating_sub(now)
        });
    Some(MintedToken {
        token,
        expires_at,
        minted_at,
    })
}

/// Fail early, without a network call, when the job cannot get an OIDC token.
fn check_token_available(runner: &Runner) -> Result<(), OidcError> {
    let mut missing = Vec::new();
    if runner.id_token_request_url.is_none() {
        missing.push("ACTIONS_ID_TOKEN_REQUEST_URL");
    }
    if runner.id_token_request_token.is_none() {
        missing.push("ACTIONS_ID_TOKEN_REQUEST_TOKEN");
    }
    if missing.is_empty() {
        return Ok(());
    }
    if let Some(head) = fork_pull_request(runner) {
        return Err(OidcError::ForkPullRequest { head });
    }
    Err(OidcError::MissingPermission { missing })
}

/// The head repository when this run is for a pull request from a fork (per the event
/// payload at `GITHUB_EVENT_PATH`).
fn fork_pull_request(runner: &Runner) -> Option<String> {
    if runner.event_name.as_deref() != Some("pull_request") {
        return None;
    }
    let payload = std::fs::read_to_string(runner.event_path.as_ref()?).ok()?;
    fork_of_payload(&payload, runner.repository.as_deref())
}

fn fork_of_payload(payload: &str, repository: Option<&str>) -> Option<String> {
    let event: serde_json::Value = serde_json::from_str(payload).ok()?;
    let pull_request = event.get("pull_request")?;
    let head_repo = pull_request.pointer("/head/repo");
    let Some(head_repo) = head_repo.filter(|repo| !repo.is_null()) else {
        return Some("(deleted repository)".to_owned()); // a fork deleted since the PR opened
    };
    let head = head_repo
        .get("full_name")
        .and_then(serde_json::Value::as_str);
    let base = pull_request
        .pointer("/base/repo/full_name")
        .and_then(serde_json::Value::as_str)
        .or(repository);
    let fork_flag = head_repo.get("fork").and_then(serde_json::Value::as_bool);
    let is_fork = match (head, base) {
        (Some(head), Some(base)) => !head.eq_ignore_ascii_case(base),
        _ => fork_flag == Some(true),
    };
    is_fork.then(|| head.unwrap_or("(unknown)").to_owned())
}

/// `GET {index}/_/oidc/audience` -> the audience the index expects in the OIDC token.
pub async fn audience(client: &reqwest::Client, index_base: &Url) -> Result<String, OidcError> {
    let mut url = index_base.clone();
    url.set_path("_/oidc/audience");
    url.set_query(None);
    let shown_url = http::display_url(&url);
    let index = index_name(index_base);
    let policy = RetryPolicy::from_env();
    let mut problem = String::new();
    for attempt in 1..=policy.attempts {
        let mut retry_after = None;
        match client
            .get(url.clone())
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
        {
            Err(error) => problem = format!("the connection failed ({})", error_chain(&error)),
            Ok(response) if response.status().is_success() => {
                let status = response.status();
                let body = http::read_body(response, http::BodyKind::OidcAnswer).await;
                let audience = body
                    .as_ref()
                    .ok()
                    .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(bytes).ok())
                    .and_then(|json| json.get("audience")?.as_str().map(str::to_owned));
                return audience.ok_or_else(|| OidcError::Unavailable {
                    method: "GET",
                    url: shown_url,
                    problem: unexpected_answer(status, r#"{"audience"}"#, body.err()),
                });
            }
            Ok(response) => {
                let status = response.status();
                let failure = http::http_error(response, "GET").await;
                if !http::is_retryable(status) {
                    return Err(match status {
                        StatusCode::FORBIDDEN => OidcError::Disabled {
                            index,
                            url: shown_url,
                            message: failure.message(),
                        },
                        StatusCode::NOT_FOUND => OidcError::NotSupported {
                            index,
                            url: shown_url,
                        },
                        _ => OidcError::Unexpected {
                            method: "GET",
                            url: shown_url,
                            status: status.as_u16(),
                            body: short(&failure.body),
                        },
                    });
                }
                problem = format!("answered {status}");
                retry_after = failure.retry_after;
            }
        }
        if attempt < policy.attempts {
            tokio::time::sleep(policy.delay(attempt, retry_after)).await;
        }
    }
    Err(OidcError::Unavailable {
        method: "GET",
        url: shown_url,
        problem: format!("failed {} times, the last time: {problem}", policy.attempts),
    })
}

#[derive(serde::Deserialize)]
struct IdTokenAnswer {
    value: String,
}

/// `GET $ACTIONS_ID_TOKEN_REQUEST_URL&audience=AUD` -> the job's OIDC token (a JWT), masked.
/// Every call returns a fresh token (a new `jti`).
pub async fn request_id_token(
    client: &reqwest::Client,
    runner: &Runner,
    audience: &str,
) -> anyhow::Result<SecretString> {
    Ok(fetch_id_token(client, runner, audience).await?)
}

async fn fetch_id_token(
    client: &reqwest::Client,
    runner: &Runner,
    audience: &str,
) -> Result<SecretString, OidcError> {
    check_token_available(runner)?;
    let (Some(request_url), Some(request_token)) =
        (&runner.id_token_request_url, &runner.id_token_request_token)
    else {
        return Err(OidcError::MissingPermission {
            missing: vec!["ACTIONS_ID_TOKEN_REQUEST_URL"],
        });
    };
    crate::actions::mask(request_token);
    let url = id_token_url(request_url, audience).map_err(|problem| OidcError::IdToken {
        url: "$ACTIONS_ID_TOKEN_REQUEST_URL".to_owned(),
        problem,
    })?;
    let shown_url = http::display_url(&url);
    let mut authorization =
        reqwest::header::HeaderValue::try_from(format!("bearer {}", request_token.expose_secret()))
            .map_err(|_| OidcError::IdToken {
                url: shown_url.clone(),
                problem:
                    "cannot be asked: ACTIONS_ID_TOKEN_REQUEST_TOKEN is not a valid header value"
                        .to_owned(),
            })?;
    authorization.set_sensitive(true);
    let policy = RetryPolicy::from_env();
    let mut problem = String::new();
    for attempt in 1..=policy.attempts {
        let mut retry_after = None;
        match client
            .get(url.clone())
            .header(reqwest::header::AUTHORIZATION, authorization.clone())
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
        {
            Err(error) => problem = format!("failed to connect ({})", error_chain(&error)),
            Ok(response) if response.status().is_success() => {
                let status = response.status();
                let answer =
                    http::read_json::<IdTokenAnswer>(response, http::BodyKind::OidcAnswer).await;
                return match answer {
                    Ok(answer) if !answer.value.is_empty() => {
                        Ok(crate::console::learned(answer.value))
                    }
                    Ok(_) => Err(OidcError::IdToken {
                        url: shown_url,
                        problem: unexpected_answer(status, r#"{"value"}"#, None),
                    }),
                    Err(error) => Err(OidcError::IdToken {
                        url: shown_url,
                        problem: unexpected_answer(status, r#"{"value"}"#, Some(error)),
                    }),
                };
            }
            Ok(response) => {
                let status = response.status();
                let failure = http::http_error(response, "GET").await;
                problem = format!("answered {status}: {}", short(&failure.message()));
                if !http::is_retryable(status) {
                    return Err(OidcError::IdToken {
                        url: shown_url,
                        problem,
                    });
                }
                retry_after = failure.retry_after;
            }
        }
        if attempt < policy.attempts {
            tokio::time::sleep(policy.delay(attempt, retry_after)).await;
        }
    }
    Err(OidcError::IdToken {
        url: shown_url,
        problem: format!("failed {} times, the last time: {problem}", policy.attempts),
    })
}

/// The request URL with `audience=` appended (`?` or `&` as the URL needs, value encoded).
/// The URL follows the rules of the URL inputs (https, or http to loopback): the request
/// carries `ACTIONS_ID_TOKEN_REQUEST_TOKEN`.
fn id_token_url(request_url: &str, audience: &str) -> Result<Url, String> {
    let mut url = crate::inputs::parse_url("ACTIONS_ID_TOKEN_REQUEST_URL", request_url)
        .map_err(|error| error.problem)?;
    url.query_pairs_mut().append_pair("audience", audience);
    Ok(url)
}

/// The claims of a JWT, decoded for display only.
///
/// Nothing is validated, on purpose (jsonwebtoken's `dangerous::insecure_decode`: no signature,
/// no `exp`, no `aud`). That is safe here: the token comes straight from the runner's token
/// service over TLS, and this program is not its relying party: `PyPI` (and Fulcio) verify it
/// when it is presented. The claims are only shown, to explain a refused token or a reusable
/// workflow; nothing is granted or sent on their word, so a forged token gains nothing.
#[must_use]
pub fn decode_claims(jwt: &str) -> Option<serde_json::Map<String, serde_json::Value>> {
    jsonwebtoken::dangerous::insecure_decode(jwt)
        .ok()
        .map(|token| token.claims)
}

fn claim_text(claims: &serde_json::Map<String, serde_json::Value>, name: &str) -> String {
    match claims.get(name) {
        None | Some(serde_json::Value::Null) => "MISSING".to_owned(),
        Some(serde_json::Value::String(text)) => text.clone(),
        Some(other) => other.to_string(),
    }
}

/// `owner/repo/.github/workflows/release.yml@refs/tags/v1` -> `release.yml`.
fn workflow_file_name(workflow_ref: &str) -> Option<String> {
    let path = workflow_ref.split('@').next()?;
    let file = path.rsplit('/').next()?;
    (!file.is_empty()).then(|| file.to_owned())
}

/// The web host of an index: `upload.pypi.org` uploads are managed on `pypi.org`.
fn index_web_base(index_base: &Url) -> Url {
    let mut web = http::without_user_info(index_base);
    if web.host_str() == Some("upload.pypi.org") {
        let _ = web.set_host(Some("pypi.org"));
    }
    web.set_path("/");
    web.set_query(None);
    web
}

fn index_name(index_base: &Url) -> String {
    let mut name = index_base.host_str().unwrap_or("the index").to_owned();
    if let Some(port) = index_base.port() {
        name.push_str(&format!(":{port}"));
    }
    name
}

/// Where a project's Trusted Publishers are managed (Warehouse's path).
#[must_use]
pub fn publisher_settings_url(web: &Url, project: &str) -> String {
    format!(
        "{web}manage/project/{}/settings/publishing/",
        crate::distribution::filename::normalize_name(project)
    )
}

/// The Trusted Publishing settings page for a project on the index of `repository_url`
/// (for notices in token mode).
#[must_use]
pub fn settings_url_for(repository_url: &Url, project: &str) -> String {
    publisher_settings_url(&index_web_base(repository_url), project)
}

/// The problem with a 2xx answer that is not what the protocol says: the body could not be
/// read (too large, too slow), or it is not the `expected` JSON.
fn unexpected_answer(status: StatusCode, expected: &str, read: Option<http::BodyError>) -> String {
    match read {
        Some(error) => format!("answered {status}, but {error}"),
        None => format!("answered {status} without the expected JSON `{expected}`"),
    }
}

fn short(text: &str) -> String {
    let text = text.trim();
    if text.chars().count() <= 300 {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(300).collect();
    cut.push_str(" [...]");
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(claims: &serde_json::Value) -> String {
        use base64::Engine as _;
        let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        format!(
            "{}.{}.c2lnbmF0dXJl",
            engine.encode(br#"{"alg":"RS256","typ":"JWT"}"#),
            engine.encode(claims.to_string())
        )
    }

    #[test]
    fn audience_is_appended_with_the_right_separator_and_encoded() {
        let url = id_token_url("https://token.example/req?api-version=2.0", "pypi").unwrap();
        assert_eq!(
            url.as_str(),
            "https://token.example/req?api-version=2.0&audience=pypi"
        );
        let url = id_token_url("https://token.example/req", "a b&c").unwrap();
        assert_eq!(url.as_str(), "https://token.example/req?audience=a+b%26c");
        assert!(id_token_url("not a url", "pypi").is_err());
        assert!(id_token_url("http://token.example/req", "pypi").is_err());
        assert!(id_token_url("file:///etc/passwd", "pypi").is_err());
        assert!(id_token_url("http://127.0.0.1:9/req", "pypi").is_ok());
    }

    #[test]
    fn claims_are_decoded_for_display_with_missing_ones_marked() {
        let token = jwt(&serde_json::json!({
            "sub": "repo:octo-org/demo:ref:refs/tags/v1",
            "repository_owner_id": 42,
            "environment": null,
        }));
        let claims = decode_claims(&token).unwrap();
        assert_eq!(
            claim_text(&claims, "sub"),
            "repo:octo-org/demo:ref:refs/tags/v1"
        );
        assert_eq!(claim_text(&claims, "repository_owner_id"), "42");
        assert_eq!(claim_text(&claims, "environment"), "MISSING");
        assert_eq!(claim_text(&claims, "ref"), "MISSING");
        assert!(decode_claims("not-a-jwt").is_none());
    }

    #[test]
    fn claims_are_shown_whatever_the_signature_expiry_and_audience() {
        // Expired, for another audience, signed with a key nobody checks: still decoded,
        // since the claims are only shown (the index verifies the token, not this program).
        let claims = serde_json::json!({
            "sub": "repo:octo-org/demo:environment:pypi",
            "aud": "sigstore",
            "exp": 1_000_000_000,
            "job_workflow_ref": "octo-org/demo/.github/workflows/release.yml@refs/tags/v1",
        });
        let token = jsonwebtoken::encode(
            &jsonwebtoken::Header::default(),
            &claims,
            &jsonwebtoken::EncodingKey::from_secret(b"not the issuer's key"),
        )
        .unwrap();
        let decoded = decode_claims(&token).unwrap();
        assert_eq!(serde_json::Value::Object(decoded), claims);
        // A token whose signature part is garbage: the same.
        let (signed, _) = token.rsplit_once('.').unwrap();
        assert!(decode_claims(&format!("{signed}.garbage")).is_some());
        // Claims that are not an object are no claims.
        assert!(decode_claims(&jwt(&serde_json::json!(["sub"]))).is_none());
    }

    #[test]
    fn settings_page_is_on_the_web_host() {
        let pypi = Url::parse("https://upload.pypi.org/legacy/").unwrap();
        assert_eq!(
            settings_url_for(&pypi, "Oidc_Publish.Demo"),
            "https://pypi.org/manage/project/oidc-publish-demo/settings/publishing/"
        );
        let test = Url::parse("https://test.pypi.org/legacy/").unwrap();
        assert_eq!(
            settings_url_for(&test, "demo"),
            "https://test.pypi.org/manage/project/demo/settings/publishing/"
        );
    }

    #[test]
    fn workflow_file_comes_from_the_ref() {
        assert_eq!(
            workflow_file_name("octo-org/demo/.github/workflows/release.yml@refs/tags/v1")
                .as_deref(),
            Some("release.yml")
        );
    }

    #[test]
    fn fork_pull_requests_are_recognised() {
        let fork = r#"{"pull_request": {"head": {"repo": {"full_name": "forker/demo", "fork": true}}, "base": {"repo": {"full_name": "octo-org/demo"}}}}"#;
        assert_eq!(
            fork_of_payload(fork, Some("octo-org/demo")).as_deref(),
            Some("forker/demo")
        );
        // A branch of a repository that is itself a fork is not a fork pull request.
        let same = r#"{"pull_request": {"head": {"repo": {"full_name": "octo-org/demo", "fork": true}}, "base": {"repo": {"full_name": "octo-org/demo"}}}}"#;
        assert_eq!(fork_of_payload(same, Some("octo-org/demo")), None);
        let deleted = r#"{"pull_request": {"head": {"repo": null}, "base": {"repo": {"full_name": "octo-org/demo"}}}}"#;
        assert!(fork_of_payload(deleted, None).is_some());
        assert_eq!(fork_of_payload(r#"{"push": {}}"#, None), None);
    }

    #[test]
    fn the_lifetime_is_measured_on_the_index_clock() {
        // The index's clock is an hour behind this machine's: its token for 900 s still has
        // 900 s, not none.
        let index_now = SystemTime::now() - Duration::from_secs(3600);
        let expires = index_now.duration_since(UNIX_EPOCH).unwrap().as_secs() + 900;
        let minted = parse_minted(
            &format!(r#"{{"success": true, "token": "pypi-minted-abcdef", "expires": {expires}}}"#),
            Some(index_now),
        )
        .unwrap();
        let left = minted.left(minted.minted_at).unwrap();
        assert!(
            left > Duration::from_secs(895) && left <= Duration::from_secs(900),
            "{left:?}"
        );
        assert!(!minted.expires_soon(minted.minted_at));
        assert!(minted.expires_soon(minted.minted_at + Duration::from_secs(841)));
    }

    #[test]
    fn without_a_date_the_local_clock_is_used_and_without_expires_none_is_assumed() {
        let expires = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs()
            + 100;
        let minted = parse_minted(
            &format!(r#"{{"success": true, "token": "pypi-minted-abcdef", "expires": {expires}}}"#),
            None,
        )
        .unwrap();
        assert!(minted.expires_soon(minted.minted_at + Duration::from_secs(41)));
        assert!(!minted.expires_soon(minted.minted_at + Duration::from_secs(30)));

        let minted =
            parse_minted(r#"{"success": true, "token": "pypi-minted-abcdef"}"#, None).unwrap();
        assert_eq!(minted.left(minted.minted_at), None);
        assert!(!minted.expires_soon(minted.minted_at + Duration::from_secs(100_000)));

        assert!(parse_minted("<html>", None).is_none());
        assert!(parse_minted(r#"{"success": true}"#, None).is_none());
    }
}
