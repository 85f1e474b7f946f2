//! GitHub's releases API (REST, `2022-11-28`) for one repository: the JSON calls through
//! octocrab (its base URI, its token auth, its release and asset models) over the program's
//! own reqwest client ([`transport`]), with retries that honour GitHub's rate-limit headers;
//! asset uploads and downloads streamed with reqwest ([`transfer`]).
//!
//! octocrab's typed calls are not used: its errors drop the response headers (`retry-after`,
//! `x-ratelimit-reset` decide the wait), they read bodies without a cap, and its default
//! retry would re-send a POST at once. Its raw calls (`_get`, `_post`, `_patch`, `_delete`)
//! return the whole `http::Response`, which is read by the one bounded reader.

mod error;
mod releases;
mod transfer;
mod transport;

use std::sync::Arc;
use std::time::Duration;

use octocrab::service::middleware::base_uri::BaseUriLayer;
use octocrab::service::middleware::extra_headers::ExtraHeadersLayer;
use reqwest::header::{ACCEPT, HeaderValue};
use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret as _, SecretString};
use serde::de::DeserializeOwned;
use url::Url;

use crate::http::{RetryPolicy, display_url, http_error};
pub use error::ApiError;
pub use octocrab::models::repos::{Asset, Release, ReleaseNotes as GeneratedNotes};
pub use octocrab::models::{AssetId, ReleaseId};
pub use transfer::upload_target;

const MEDIA_TYPE: &str = "application/vnd.github+json";
/// The REST API version the requests name (octocrab sends the same on its calls).
const API_VERSION: &str = "2022-11-28";

/// The sha256 the API reports for an asset (`digest: "sha256:<hex>"`; absent on older GHES).
#[must_use]
pub fn asset_sha256(asset: &Asset) -> Option<&str> {
    asset.digest.as_deref()?.strip_prefix("sha256:")
}

/// The releases API of one repository.
#[derive(Debug)]
pub struct GitHub<'a> {
    /// For the asset download, which is streamed past octocrab.
    client: &'a reqwest::Client,
    /// The JSON calls: `client` underneath, the API base, the token.
    octocrab: octocrab::Octocrab,
    /// For asset uploads: no read timeout (it would cut off a long upload); progress is
    /// watched instead ([`crate::http::send_watched`]).
    upload_client: reqwest::Client,
    api: Url,
    owner: String,
    repo: String,
    /// `Bearer <token>` for the streamed transfers, checked once in [`GitHub::new`] and
    /// marked sensitive.
    authorization: HeaderValue,
    pub policy: RetryPolicy,
}

impl<'a> GitHub<'a> {
    /// `api` is `GITHUB_API_URL` (`https://api.github.com`, GHES `https://HOST/api/v3`).
    /// Call within the tokio runtime: octocrab's client starts a task of its own.
    pub fn new(
        client: &'a reqwest::Client,
        api: &Url,
        repository: &str,
        token: &SecretString,
        policy: RetryPolicy,
    ) -> Result<Self, ApiError> {
        let (owner, repo) = repository
            .split_once('/')
            .filter(|(owner, repo)| !owner.is_empty() && !repo.is_empty() && !repo.contains('/'))
            .ok_or_else(|| {
                ApiError::Invalid(format!(
                    "GITHUB_REPOSITORY `{repository}` is not `owner/name`"
                ))
            })?;
        // Checked before octocrab sees the token: it would fail on such a token with a message
        // that names no input.
        let authorization = bearer(token)?;
        let upload_client = crate::http::upload_client().map_err(|error| {
            ApiError::Invalid(format!(
                "cannot make the HTTP client for uploads: {error:#}"
            ))
        })?;
        let api = crate::inputs::with_trailing_slash(api.clone());
        Ok(Self {
            client,
            octocrab: octocrab_for(client, &api, token)?,
            upload_client,
            api,
            owner: owner.to_owned(),
            repo: repo.to_owned(),
            authorization,
            policy,
        })
    }

    /// `{api}/repos/{owner}/{repo}/{segments...}`, each segment percent-encoded.
    fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.api.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty()
                .extend(["repos", &self.owner, &self.repo])
                .extend(segments);
        }
        url
    }

    /// Send one JSON call. Rate limits (403/429 with their headers) are waited out and retried:
    /// the server did not act on the request. Other transient failures are retried only for
    /// `idempotent` calls; a POST comes back to the caller, which checks the state first.
    async fn send(
        &self,
        method: &Method,
        url: &Url,
        body: Option<&serde_json::Value>,
        idempotent: bool,
    ) -> Result<reqwest::Response, ApiError> {
        let mut attempt = 1;
        loop {
            let error = match self.send_once(method, url, body).await {
                Ok(response) if response.status().is_success() => return Ok(response),
                Ok(response) => ApiError::Status(http_error(response, method.as_str()).await),
                Err(error) => error,
            };
            if attempt >= self.policy.attempts
                || !error.is_transient()
                || (!idempotent && !error.rate_limited())
            {
                return Err(error);
            }
            let wait = self.wait_for(&error, attempt);
            tracing::debug!("{error}; retrying in {wait:?}");
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }

    /// One request through octocrab's raw calls: the answer whatever its status, its headers
    /// and body unread. `url` is on the API's origin (checked by every caller); octocrab gets
    /// its path, so that its auth adds the token and its base URI the API's origin.
    async fn send_once(
        &self,
        method: &Method,
        url: &Url,
        body: Option<&serde_json::Value>,
    ) -> Result<reqwest::Response, ApiError> {
        let path = match url.query() {
            Some(query) => format!("{}?{query}", url.path()),
            None => url.path().to_owned(),
        };
        let octocrab = &self.octocrab;
        // octocrab's futures are large (kilobytes each): boxed, so that every future awaiting
        // an API call does not carry them.
        let response = match *method {
            Method::GET => Box::pin(octocrab._get(path)).await,
            Method::POST => Box::pin(octocrab._post(path, body)).await,
            Method::PATCH => Box::pin(octocrab._patch(path, body)).await,
            Method::DELETE => Box::pin(octocrab._delete(path, body)).await,
            _ => {
                return Err(ApiError::Invalid(format!(
                    "{method} is not an API call here"
                )));
            }
        };
        response
            .map(transport::into_reqwest)
            .map_err(|error| ApiError::from_octocrab(method.as_str(), &display_url(url), error))
    }

    /// The wait before the next attempt: the server's word first; a secondary rate limit
    /// without headers waits a minute (GitHub's advice), scaled down with the test policy.
    #[must_use]
    pub fn wait_for(&self, error: &ApiError, attempt: u32) -> Duration {
        let retry_after = match error {
            ApiError::Status(error) => error.retry_after,
            _ => None,
        };
        if error.rate_limited() && retry_after.is_none() {
            return self.policy.base_delay.saturating_mul(120);
        }
        self.policy.delay(attempt, retry_after)
    }

    /// The JSON answer, read by the one bounded reader.
    async fn json<T: DeserializeOwned>(response: reqwest::Response) -> Result<T, ApiError> {
        Ok(crate::http::read_json(response, crate::http::BodyKind::GitHubJson).await?)
    }

    /// `Ok(None)` for a 404 (absent, or already gone).
    fn found<T>(result: Result<T, ApiError>) -> Result<Option<T>, ApiError> {
        match result {
            Ok(value) => Ok(Some(value)),
            Err(error) if error.status() == Some(StatusCode::NOT_FOUND) => Ok(None),
            Err(error) => Err(error),
        }
    }
}

/// octocrab on our reqwest client: the API's base URI, the token as its access-token auth
/// (sent only to that base, marked sensitive), GitHub's media type; no retry layer (a POST is
/// never re-sent blindly: [`GitHub::send`] decides) and no redirect layer (reqwest's policy
/// applies, [`crate::http::redirect`]).
fn octocrab_for(
    client: &reqwest::Client,
    api: &Url,
    token: &SecretString,
) -> Result<octocrab::Octocrab, ApiError> {
    let base = http::Uri::try_from(api.as_str()).map_err(|error| {
        ApiError::Invalid(format!(
            "GITHUB_API_URL {} is not a URI octocrab takes: {error}",
            display_url(api)
        ))
    })?;
    let headers = vec![(ACCEPT, HeaderValue::from_static(MEDIA_TYPE))];
    let octocrab = octocrab::OctocrabBuilder::new_empty()
        .with_service(transport::Transport::new(client.clone()))
        .with_layer(&ExtraHeadersLayer::new(Arc::new(headers)))
        .with_layer(&BaseUriLayer::new(base))
        .with_auth(octocrab::AuthState::AccessToken {
            token: token.clone(),
        })
        .build();
    match octocrab {
        Ok(octocrab) => Ok(octocrab),
        Err(never) => match never {},
    }
}

/// The `Authorization` value for `token`, marked sensitive. A token with a character an HTTP
/// header cannot carry (a carriage return from a CRLF file, a control character) is an error
/// naming the input, never the value: sent as an empty header, it would only come back as a
/// baffling 401.
fn bearer(token: &SecretString) -> Result<HeaderValue, ApiError> {
    let mut value = HeaderValue::from_str(&format!("Bearer {}", token.expose_secret()))
        .map_err(|_| {
            ApiError::Invalid(
                "the input `github-token` contains characters that cannot be sent in an HTTP header (a trailing newline or carriage return?): copy the token again without them".to_owned(),
            )
        })?;
    value.set_sensitive(true);
    Ok(value)
}

#[cfg(test)]
mod tests;
