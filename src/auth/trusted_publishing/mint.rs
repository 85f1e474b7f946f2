//! The mint exchange (Warehouse `oidc/views.py`): `POST {index}/_/oidc/mint-token` with the
//! job's OIDC token; the answer is a short-lived `PyPI` token (masked at once) and when it
//! expires, or a refusal explained with the token's claims.

use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::StatusCode;
use secrecy::{ExposeSecret as _, SecretString};
use url::Url;

use super::TrustedPublisher;
use super::pages::{index_web_base, publisher_settings_url};
use crate::actions::Console;
use crate::auth::Credentials;
use crate::auth::oidc::{
    MintErrorItem, OidcError, Rejection, SHOWN_CLAIMS, claim_text, decode_claims, short,
    unexpected_answer, workflow_file_name,
};
use crate::http::{self, error_chain};

/// Mint again when the token has less than this left, so that no upload starts with a token
/// that could expire under it.
pub const RENEW_MARGIN: Duration = Duration::from_secs(60);

/// A minted `PyPI` token and when it expires. Deliberately neither `Debug` nor `Display`.
pub(super) struct MintedToken {
    pub(super) token: SecretString,
    /// When it expires, on this machine's monotonic clock: the mint answer's `expires` less the
    /// index's own time (its `Date` header), so a runner whose clock is off neither renews
    /// before every file nor uses an expired token. `None` when the index did not say: the
    /// token is then minted again only when the index refuses it.
    pub(super) expires_at: Option<std::time::Instant>,
    /// When it was minted here: a refusal of a request sent before this is not its fault.
    pub(super) minted_at: std::time::Instant,
}

impl MintedToken {
    pub(super) fn left(&self, now: std::time::Instant) -> Option<Duration> {
        self.expires_at.map(|at| at.saturating_duration_since(now))
    }

    pub(super) fn expires_soon(&self, now: std::time::Instant) -> bool {
        self.left(now).is_some_and(|left| left < RENEW_MARGIN)
    }
}

impl TrustedPublisher {
    pub(super) async fn exchange(
        &self,
        url: &Url,
        jwt: &SecretString,
    ) -> Result<Exchange, OidcError> {
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
    pub(super) fn warn_if_reusable_workflow(&self, jwt: &SecretString) {
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
}

pub(super) fn credentials(minted: &MintedToken) -> Credentials {
    Credentials {
        user: "__token__".to_owned(),
        password: minted.token.clone(),
    }
}

pub(super) enum Exchange {
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
        .and_then(|expires| {
            let now = index_now
                .unwrap_or_else(SystemTime::now)
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default();
            // An expiry past what the clock can hold (`10000000000000000000`) is as good as
            // none: unknown, as when the index sends no `expires`.
            minted_at.checked_add(Duration::from_secs(expires).saturating_sub(now))
        });
    Some(MintedToken {
        token,
        expires_at,
        minted_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn an_expiry_past_what_the_clock_holds_is_unknown_not_a_panic() {
        for expires in ["10000000000000000000", "18446744073709551615"] {
            let minted = parse_minted(
                &format!(
                    r#"{{"success": true, "token": "pypi-minted-far", "expires": {expires}}}"#
                ),
                None,
            )
            .unwrap();
            assert_eq!(minted.expires_at, None, "{expires}");
            assert!(!minted.expires_soon(minted.minted_at));
        }
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
