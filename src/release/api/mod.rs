//! A small typed client for GitHub's releases API (REST, `2022-11-28`): JSON calls with retries
//! that honour GitHub's rate-limit headers, and streaming asset uploads to a release's own
//! `upload_url` (github.com's uploads host, GHES's `/api/uploads/`, or a loopback fake).
//!
//! Why not octocrab: its error type drops the response headers, so `retry-after` and
//! `x-ratelimit-reset` cannot be honoured; its default retry re-sends POSTs at once; its
//! `upload_asset` buffers the whole file and mis-builds GHES upload paths; and it brings a
//! second HTTP/TLS stack next to the one reqwest client the rest of the program uses.

use std::time::Duration;

use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, HeaderValue, LOCATION};
use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret as _, SecretString};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use url::Url;

use futures_util::StreamExt as _;

use crate::http::{
    HttpError, Progress, RetryPolicy, display_url, http_error, is_retryable, send_watched,
};

const API_VERSION: &str = "2022-11-28";
const MAX_PAGES: usize = 50;

/// A release as the API returns it (the fields this program uses).
#[derive(Debug, Clone, Deserialize)]
pub struct Release {
    pub id: u64,
    pub tag_name: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub body: Option<String>,
    pub draft: bool,
    pub prerelease: bool,
    pub html_url: String,
    pub upload_url: String,
}

/// A release asset.
#[derive(Debug, Clone, Deserialize)]
pub struct Asset {
    pub id: u64,
    pub name: String,
    pub size: u64,
    /// `uploaded`, or `starter` for a half-finished upload.
    pub state: String,
    /// `sha256:<hex>` on github.com; absent on older GHES.
    #[serde(default)]
    pub digest: Option<String>,
    /// The API URL of the asset (download with `Accept: application/octet-stream`).
    pub url: String,
}

impl Asset {
    /// The sha256 the API reports, when it reports one.
    #[must_use]
    pub fn sha256(&self) -> Option<&str> {
        self.digest.as_deref()?.strip_prefix("sha256:")
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct GeneratedNotes {
    pub body: String,
}

/// A failed API call.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error(transparent)]
    Status(#[from] HttpError),
    #[error("{method} {url} failed: {source}")]
    Transport {
        method: String,
        url: String,
        #[source]
        source: reqwest::Error,
    },
    /// Neither a byte of the body went out nor an answer came back for the idle timeout.
    #[error("{method} {url} stalled: nothing was sent or received for {idle:?}")]
    Stalled {
        method: String,
        url: String,
        idle: Duration,
    },
    #[error(transparent)]
    Body(#[from] crate::http::BodyError),
    #[error("{0}")]
    Invalid(String),
}

impl ApiError {
    #[must_use]
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Self::Status(error) => Some(error.status),
            _ => None,
        }
    }

    /// A 422 whose `errors[].code` is `already_exists`.
    #[must_use]
    pub fn already_exists(&self) -> bool {
        matches!(self, Self::Status(error) if error.status == StatusCode::UNPROCESSABLE_ENTITY
            && error.body.contains("already_exists"))
    }

    /// A 403 that is not a rate limit: the token may not do this ("Resource not accessible by
    /// integration": a workflow token without `contents: write`).
    #[must_use]
    pub fn permission_denied(&self) -> bool {
        matches!(self, Self::Status(error) if error.status == StatusCode::FORBIDDEN
            && !is_rate_limited(error))
    }

    /// Whether the request may have failed before or without effect on the server's side
    /// (connection trouble, 5xx, 429): worth a retry after checking the state.
    #[must_use]
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Status(error) => is_retryable(error.status) || is_rate_limited(error),
            Self::Transport { .. } | Self::Stalled { .. } => true,
            Self::Body(error) => matches!(
                error,
                crate::http::BodyError::TooSlow { .. } | crate::http::BodyError::Transport { .. }
            ),
            Self::Invalid(_) => false,
        }
    }
}

/// GitHub's primary and secondary rate limits answer 403 or 429 with `retry-after`,
/// `x-ratelimit-remaining: 0`, or a message that says so.
fn is_rate_limited(error: &HttpError) -> bool {
    (error.status == StatusCode::FORBIDDEN || error.status == StatusCode::TOO_MANY_REQUESTS)
        && (error.retry_after.is_some() || error.body.to_ascii_lowercase().contains("rate limit"))
}

/// The releases API of one repository.
#[derive(Debug)]
pub struct GitHub<'a> {
    client: &'a reqwest::Client,
    /// For asset uploads: no read timeout (it would cut off a long upload); progress is
    /// watched instead ([`crate::http::send_watched`]).
    upload_client: reqwest::Client,
    api: Url,
    owner: String,
    repo: String,
    /// `Bearer <token>`, checked once in [`GitHub::new`] and marked sensitive.
    authorization: HeaderValue,
    pub policy: RetryPolicy,
}

impl<'a> GitHub<'a> {
    /// `api` is `GITHUB_API_URL` (`https://api.github.com`, GHES `https://HOST/api/v3`).
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
        let authorization = bearer(token)?;
        let upload_client = crate::http::upload_client().map_err(|error| {
            ApiError::Invalid(format!(
                "cannot make the HTTP client for uploads: {error:#}"
            ))
        })?;
        Ok(Self {
            client,
            upload_client,
            api: crate::inputs::with_trailing_slash(api.clone()),
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

    fn request(&self, method: Method, url: Url) -> reqwest::RequestBuilder {
        self.request_accepting(method, url, "application/vnd.github+json")
    }

    fn request_accepting(
        &self,
        method: Method,
        url: Url,
        accept: &'static str,
    ) -> reqwest::RequestBuilder {
        self.with_headers(self.client.request(method, url), accept)
    }

    fn with_headers(
        &self,
        request: reqwest::RequestBuilder,
        accept: &'static str,
    ) -> reqwest::RequestBuilder {
        request
            .header(ACCEPT, accept)
            .header("X-GitHub-Api-Version", API_VERSION)
            .header(AUTHORIZATION, self.authorization.clone())
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
            let mut request = self.request(method.clone(), url.clone());
            if let Some(body) = body {
                request = request.json(body);
            }
            let error = match request.send().await {
                Ok(response) if response.status().is_success() => return Ok(response),
                Ok(response) => ApiError::Status(http_error(response, method.as_str()).await),
                Err(source) => ApiError::Transport {
                    method: method.to_string(),
                    url: display_url(url),
                    source,
                },
            };
            let rate_limited = matches!(&error, ApiError::Status(e) if is_rate_limited(e));
            if attempt >= self.policy.attempts
                || !error.is_transient()
                || (!idempotent && !rate_limited)
            {
                return Err(error);
            }
            let wait = self.wait_for(&error, attempt);
            tracing::debug!("{error}; retrying in {wait:?}");
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }

    /// The wait before the next attempt: the server's word first; a secondary rate limit
    /// without headers waits a minute (GitHub's advice), scaled down with the test policy.
    #[must_use]
    pub fn wait_for(&self, error: &ApiError, attempt: u32) -> Duration {
        let (retry_after, rate_limited) = match error {
            ApiError::Status(error) => (error.retry_after, is_rate_limited(error)),
            _ => (None, false),
        };
        if rate_limited && retry_after.is_none() {
            return self.policy.base_delay.saturating_mul(120);
        }
        self.policy.delay(attempt, retry_after)
    }

    async fn json<T: DeserializeOwned>(response: reqwest::Response) -> Result<T, ApiError> {
        Ok(crate::http::read_json(response, crate::http::BodyKind::GitHubJson).await?)
    }

    /// The published release of a tag (`None` on 404: drafts are not visible here).
    pub async fn release_by_tag(&self, tag: &str) -> Result<Option<Release>, ApiError> {
        let url = self.url(&["releases", "tags", tag]);
        match self.send(&Method::GET, &url, None, true).await {
            Ok(response) => Ok(Some(Self::json(response).await?)),
            Err(error) if error.status() == Some(StatusCode::NOT_FOUND) => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// The draft releases of a tag, oldest first, following the `Link` header (drafts come
    /// first in GitHub's newest-first listing, so paging stops at the first page that has one).
    pub async fn drafts_for(&self, tag: &str) -> Result<Vec<Release>, ApiError> {
        let mut url = self.url(&["releases"]);
        url.query_pairs_mut().append_pair("per_page", "100");
        let matches = |release: &Release| release.draft && release.tag_name == tag;
        let releases: Vec<Release> = self.paginate(url, matches).await?;
        let mut drafts: Vec<Release> = releases.into_iter().filter(matches).collect();
        drafts.sort_by_key(|release| release.id);
        Ok(drafts)
    }

    /// Every asset of a release.
    pub async fn assets(&self, release_id: u64) -> Result<Vec<Asset>, ApiError> {
        let mut url = self.url(&["releases", &release_id.to_string(), "assets"]);
        url.query_pairs_mut().append_pair("per_page", "100");
        self.paginate(url, |_: &Asset| false).await
    }

    pub async fn delete_release(&self, id: u64) -> Result<(), ApiError> {
        let url = self.url(&["releases", &id.to_string()]);
        match self.send(&Method::DELETE, &url, None, true).await {
            Ok(_) => Ok(()),
            Err(error) if error.status() == Some(StatusCode::NOT_FOUND) => Ok(()),
            Err(error) => Err(error),
        }
    }

    /// Follow `Link: rel="next"` until the last page, or until a page has an item that
    /// satisfies `enough`.
    async fn paginate<T: DeserializeOwned>(
        &self,
        first: Url,
        enough: impl Fn(&T) -> bool,
    ) -> Result<Vec<T>, ApiError> {
        let mut items = Vec::new();
        let mut next = Some(first);
        let mut pages = 0;
        while let Some(url) = next.take() {
            pages += 1;
            let response = self.send(&Method::GET, &url, None, true).await?;
            let link = response
                .headers()
                .get(reqwest::header::LINK)
                .and_then(|value| value.to_str().ok())
                .and_then(next_link);
            let page: Vec<T> = Self::json(response).await?;
            let done = page.iter().any(&enough);
            items.extend(page);
            if done {
                break;
            }
            // The token goes only to the API's own origin.
            next = link
                .and_then(|link| Url::parse(&link).ok())
                .filter(|link| link.origin() == self.api.origin())
                .filter(|_| pages < MAX_PAGES);
        }
        Ok(items)
    }

    /// Create a release. Not retried here: after an ambiguous failure the caller looks the
    /// release up before trying again.
    pub async fn create_release(&self, body: &serde_json::Value) -> Result<Release, ApiError> {
        let url = self.url(&["releases"]);
        let response = self.send(&Method::POST, &url, Some(body), false).await?;
        Self::json(response).await
    }

    pub async fn update_release(
        &self,
        id: u64,
        body: &serde_json::Value,
    ) -> Result<Release, ApiError> {
        let url = self.url(&["releases", &id.to_string()]);
        let response = self.send(&Method::PATCH, &url, Some(body), true).await?;
        Self::json(response).await
    }

    /// GitHub's generated notes (nothing is saved, so a retry is harmless).
    pub async fn generate_notes(
        &self,
        body: &serde_json::Value,
    ) -> Result<GeneratedNotes, ApiError> {
        let url = self.url(&["releases", "generate-notes"]);
        let response = self.send(&Method::POST, &url, Some(body), true).await?;
        Self::json(response).await
    }

    /// Whether the tag exists in the repository.
    pub async fn tag_exists(&self, tag: &str) -> Result<bool, ApiError> {
        let url = self.url(&["git", "ref", "tags", tag]);
        match self.send(&Method::GET, &url, None, true).await {
            Ok(_) => Ok(true),
            Err(error) if error.status() == Some(StatusCode::NOT_FOUND) => Ok(false),
            Err(error) => Err(error),
        }
    }

    pub async fn delete_asset(&self, id: u64) -> Result<(), ApiError> {
        let url = self.url(&["releases", "assets", &id.to_string()]);
        match self.send(&Method::DELETE, &url, None, true).await {
            Ok(_) => Ok(()),
            Err(error) if error.status() == Some(StatusCode::NOT_FOUND) => Ok(()),
            Err(error) => Err(error),
        }
    }

    /// Download an asset's bytes as a response to stream. GitHub redirects to a storage host;
    /// the token is not sent there.
    pub async fn download_asset(&self, asset: &Asset) -> Result<reqwest::Response, ApiError> {
        let url = Url::parse(&asset.url)
            .map_err(|error| ApiError::Invalid(format!("asset URL `{}`: {error}", asset.url)))?;
        check_origin(&url, &self.api, "asset URL")?;
        let deadline = super::assets::download_deadline(asset.size);
        let response = self
            .request_accepting(Method::GET, url.clone(), "application/octet-stream")
            .timeout(deadline)
            .send()
            .await
            .map_err(|source| ApiError::Transport {
                method: "GET".to_owned(),
                url: display_url(&url),
                source,
            })?;
        if response.status().is_redirection() {
            let location = response
                .headers()
                .get(LOCATION)
                .and_then(|value| value.to_str().ok())
                .and_then(|value| url.join(value).ok())
                .ok_or_else(|| {
                    ApiError::Invalid(format!("{} redirected nowhere", display_url(&url)))
                })?;
            // Fetched without the token, but the bytes decide a conflict: never in clear text.
            crate::http::redirect::check_scheme(&url, &location)
                .map_err(|refused| ApiError::Invalid(refused.to_string()))?;
            let response = self
                .client
                .get(location.clone())
                .timeout(deadline)
                .send()
                .await
                .map_err(|source| ApiError::Transport {
                    method: "GET".to_owned(),
                    url: display_url(&location),
                    source,
                })?;
            return if response.status().is_success() {
                Ok(response)
            } else {
                Err(http_error(response, "GET").await.into())
            };
        }
        if response.status().is_success() {
            Ok(response)
        } else {
            Err(http_error(response, "GET").await.into())
        }
    }

    /// Stream one file to the release's `upload_url` (its `{?name,label}` template removed),
    /// with a known length and the name percent-encoded. One attempt: the caller checks what
    /// a failure left behind before trying again.
    pub async fn upload_asset(
        &self,
        upload_url: &str,
        path: &std::path::Path,
        name: &str,
    ) -> Result<Asset, ApiError> {
        let url = upload_target(&self.api, upload_url, name)?;
        let file = tokio::fs::File::open(path).await.map_err(|error| {
            ApiError::Invalid(format!("cannot open {}: {error}", path.display()))
        })?;
        let length = file
            .metadata()
            .await
            .map_err(|error| ApiError::Invalid(format!("cannot read {}: {error}", path.display())))?
            .len();
        let progress = Progress::new();
        let watched = progress.clone();
        let stream = tokio_util::io::ReaderStream::with_capacity(file, 256 * 1024)
            .inspect(move |_| watched.touch());
        let request = self
            .with_headers(
                self.upload_client.request(Method::POST, url.clone()),
                "application/vnd.github+json",
            )
            .header(CONTENT_TYPE, "application/octet-stream")
            .header(CONTENT_LENGTH, length)
            .body(reqwest::Body::wrap_stream(stream));
        let idle = crate::http::idle_timeout();
        let response = match send_watched(request, &progress, idle).await {
            Some(Ok(response)) => response,
            Some(Err(source)) => {
                return Err(ApiError::Transport {
                    method: "POST".to_owned(),
                    url: display_url(&url),
                    source,
                });
            }
            None => {
                return Err(ApiError::Stalled {
                    method: "POST".to_owned(),
                    url: display_url(&url),
                    idle,
                });
            }
        };
        if !response.status().is_success() {
            return Err(http_error(response, "POST").await.into());
        }
        Self::json(response).await
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

/// The upload URL for one asset: the release's `upload_url` without its `{?name,label}`
/// template, plus `?name=` percent-encoded (a space as `%20`, never `+`). The token goes with
/// it, so it must be on the API's upload host ([`upload_host_ok`]).
pub fn upload_target(api: &Url, upload_url: &str, name: &str) -> Result<Url, ApiError> {
    let base = upload_url.split('{').next().unwrap_or(upload_url);
    let mut url = Url::parse(base).map_err(|error| {
        ApiError::Invalid(format!(
            "the release's upload_url is not a URL ({error}); refusing to send the token anywhere"
        ))
    })?;
    if !upload_host_ok(api, &url) {
        return Err(ApiError::Invalid(format!(
            "the release's upload_url {} is not on the upload host of the API {} ({}); refusing to send the token there",
            display_url(&url),
            display_url(api),
            expected_upload_host(api)
        )));
    }
    let encoded: String = url::form_urlencoded::byte_serialize(name.as_bytes()).collect();
    url.set_query(Some(&format!("name={}", encoded.replace('+', "%20"))));
    Ok(url)
}

/// Where a release's assets may be uploaded with the token: `https://uploads.github.com` for
/// `api.github.com`; the API's own origin for GitHub Enterprise Server (`/api/uploads`) and
/// loopback fakes. The asset download path keeps to the API origin the same way.
fn upload_host_ok(api: &Url, upload: &Url) -> bool {
    if api.host_str() == Some("api.github.com") {
        upload.scheme() == "https"
            && upload.host_str() == Some("uploads.github.com")
            && upload.port_or_known_default() == Some(443)
    } else {
        upload.origin() == api.origin()
    }
}

fn expected_upload_host(api: &Url) -> String {
    if api.host_str() == Some("api.github.com") {
        "https://uploads.github.com".to_owned()
    } else {
        api.origin().ascii_serialization()
    }
}

fn check_origin(url: &Url, api: &Url, what: &str) -> Result<(), ApiError> {
    if url.origin() == api.origin() {
        Ok(())
    } else {
        Err(ApiError::Invalid(format!(
            "the {what} {} is not on the API host {}; refusing to send the token there",
            display_url(url),
            display_url(api)
        )))
    }
}

/// The `rel="next"` target of a `Link` header.
fn next_link(header: &str) -> Option<String> {
    header.split(',').find_map(|part| {
        let (target, parameters) = part.split_once(';')?;
        parameters
            .split(';')
            .any(|parameter| {
                let parameter = parameter.trim().replace(' ', "");
                parameter == "rel=\"next\"" || parameter == "rel=next"
            })
            .then(|| {
                target
                    .trim()
                    .trim_start_matches('<')
                    .trim_end_matches('>')
                    .to_owned()
            })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_link_is_found_among_others() {
        let header = r#"<https://api.github.com/repositories/1/releases?page=1>; rel="prev", <https://api.github.com/repositories/1/releases?page=3>; rel="next", <https://api.github.com/repositories/1/releases?page=9>; rel="last""#;
        assert_eq!(
            next_link(header).as_deref(),
            Some("https://api.github.com/repositories/1/releases?page=3")
        );
        assert_eq!(next_link(r#"<https://x/?page=1>; rel="prev""#), None);
    }

    #[test]
    fn upload_targets_drop_the_template_and_encode_the_name() {
        let github = Url::parse("https://api.github.com").unwrap();
        let ghes = Url::parse("https://ghe.example.com/api/v3").unwrap();
        let fake = Url::parse("http://127.0.0.1:9/").unwrap();
        assert_eq!(
            upload_target(
                &github,
                "https://uploads.github.com/repos/o/r/releases/7/assets{?name,label}",
                "demo-1.0 final+build#1.whl"
            )
            .unwrap()
            .as_str(),
            "https://uploads.github.com/repos/o/r/releases/7/assets?name=demo-1.0%20final%2Bbuild%231.whl"
        );
        assert_eq!(
            upload_target(
                &ghes,
                "https://ghe.example.com/api/uploads/repos/o/r/releases/7/assets{?name,label}",
                "a.whl"
            )
            .unwrap()
            .as_str(),
            "https://ghe.example.com/api/uploads/repos/o/r/releases/7/assets?name=a.whl"
        );
        assert!(upload_target(&fake, "http://127.0.0.1:9/x{?name,label}", "a").is_ok());
        // The token never goes to another origin, another scheme or port of the same host.
        for elsewhere in [
            "https://uploads.example.com/x{?name,label}",
            "http://uploads.github.com/x{?name,label}",
            "https://uploads.github.com:8443/x{?name,label}",
            "https://api.github.com/x{?name,label}",
        ] {
            assert!(
                upload_target(&github, elsewhere, "a").is_err(),
                "{elsewhere}"
            );
        }
        assert!(upload_target(&ghes, "https://uploads.github.com/x", "a").is_err());
        assert!(upload_target(&fake, "http://127.0.0.1:10/x", "a").is_err());
    }

    #[test]
    fn urls_are_built_under_the_api_base_with_encoded_segments() {
        let client = reqwest::Client::new();
        let api = Url::parse("https://ghe.example.com/api/v3").unwrap();
        let github = GitHub::new(
            &client,
            &api,
            "octo-org/demo",
            &SecretString::from("t".to_owned()),
            RetryPolicy::default(),
        )
        .unwrap();
        assert_eq!(
            github.url(&["releases", "tags", "pkg/v1.0"]).as_str(),
            "https://ghe.example.com/api/v3/repos/octo-org/demo/releases/tags/pkg%2Fv1.0"
        );
        assert!(
            GitHub::new(
                &client,
                &api,
                "no-slash",
                &SecretString::from("t".to_owned()),
                RetryPolicy::default()
            )
            .is_err()
        );
    }
}
