//! Trusted Publishing (DESIGN §4, Warehouse `oidc/views.py`): the job's GitHub OIDC token is
//! exchanged for a short-lived `PyPI` API token. Claims are decoded only to explain errors.
//!
//! Flow: `GET {index}/_/oidc/audience` -> `GET $ACTIONS_ID_TOKEN_REQUEST_URL&audience=AUD` ->
//! `POST {index}/_/oidc/mint-token`. A GitHub token can be exchanged once (its `jti`), so every
//! mint attempt, retries and renewals included, fetches a fresh one.

pub mod audience;
mod mint;
mod pages;

use std::fmt;
use std::sync::atomic::AtomicBool;

use secrecy::ExposeSecret as _;
use url::Url;

pub use self::mint::RENEW_MARGIN;
use self::mint::{Exchange, MintedToken, credentials};
use self::pages::index_name;
pub use self::pages::{publisher_settings_url, settings_url_for};
use crate::actions::{Console, Runner};
use crate::auth::Credentials;
pub use crate::auth::oidc::{Identity, OidcError};
use crate::auth::oidc::{check_token_available, decode_claims, fetch_id_token};
use crate::http::{self, RetryPolicy};

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
        let audience = audience::request(client, &index_base).await?;
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

    fn endpoint(&self, path: &str) -> Url {
        let mut url = self.index_base.clone();
        url.set_path(path);
        url.set_query(None);
        url
    }
}
