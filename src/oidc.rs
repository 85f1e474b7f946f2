//! Trusted Publishing (DESIGN §4, Warehouse `oidc/views.py`): the job's GitHub OIDC token is
//! exchanged for a short-lived `PyPI` API token. Claims are decoded only to explain errors.

use secrecy::SecretString;
use url::Url;

use crate::actions::Runner;
use crate::auth::Credentials;
use crate::http::ResponseExt as _;

/// Mints (and re-mints) `PyPI` tokens for one index.
#[derive(Debug)]
pub struct TrustedPublisher {
    pub client: reqwest::Client,
    /// `{scheme}://{host}` of the repository URL: the `/_/oidc/*` endpoints live there.
    pub index_base: Url,
    pub runner: Runner,
}

impl TrustedPublisher {
    /// Credentials for the next upload request.
    #[expect(clippy::unused_async, reason = "minting talks to the index")]
    pub async fn credentials(&self) -> anyhow::Result<Credentials> {
        anyhow::bail!(
            "Trusted Publishing is not available in this build yet; set `password` to an API token"
        )
    }
}

#[derive(serde::Deserialize)]
struct IdTokenAnswer {
    value: String,
}

/// `GET $ACTIONS_ID_TOKEN_REQUEST_URL&audience=AUD` -> the job's OIDC token (a JWT), masked.
pub async fn request_id_token(
    client: &reqwest::Client,
    runner: &Runner,
    audience: &str,
) -> anyhow::Result<SecretString> {
    use secrecy::ExposeSecret as _;
    let (Some(request_url), Some(request_token)) =
        (&runner.id_token_request_url, &runner.id_token_request_token)
    else {
        anyhow::bail!(
            "no OIDC token available: ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN are not set; grant the job `permissions: id-token: write`"
        );
    };
    let mut url = Url::parse(request_url)
        .map_err(|error| anyhow::anyhow!("ACTIONS_ID_TOKEN_REQUEST_URL is not a URL: {error}"))?;
    url.query_pairs_mut().append_pair("audience", audience);
    let response = client
        .get(url)
        .header(
            reqwest::header::AUTHORIZATION,
            format!("bearer {}", request_token.expose_secret()),
        )
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await?
        .error_for_status_with_body("GET")
        .await?;
    let answer: IdTokenAnswer = response.json().await?;
    let token = SecretString::from(answer.value);
    crate::actions::mask(&token);
    Ok(token)
}
