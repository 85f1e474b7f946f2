//! Release assets' bytes, streamed with reqwest past octocrab (whose `upload_asset` buffers the
//! whole file, does not percent-encode the name and prefixes a GHES base path twice): the
//! upload to the release's own `upload_url` (github.com's uploads host, GHES's `/api/uploads/`,
//! or a loopback fake) with a known length, and the download of an existing asset to compare
//! it, whose redirect to a storage host goes without the token.

use futures_util::StreamExt as _;
use reqwest::Method;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, LOCATION};
use url::Url;

use super::{API_VERSION, ApiError, Asset, GitHub, MEDIA_TYPE};
use crate::http::{Progress, display_url, http_error, send_watched};

impl GitHub<'_> {
    /// Download an asset's bytes as a response to stream. GitHub redirects to a storage host;
    /// the token is not sent there.
    pub async fn download_asset(&self, asset: &Asset) -> Result<reqwest::Response, ApiError> {
        let url = asset.url.clone();
        check_origin(&url, &self.api, "asset URL")?;
        let size = u64::try_from(asset.size).unwrap_or_default();
        let deadline = crate::release::assets::download_deadline(size);
        let request = self
            .client
            .request(Method::GET, url.clone())
            .header(ACCEPT, "application/octet-stream");
        let response = with_auth(self, request)
            .timeout(deadline)
            .send()
            .await
            .map_err(|source| transport_error("GET", &url, source))?;
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
                .map_err(|source| transport_error("GET", &location, source))?;
            return success(response, "GET").await;
        }
        success(response, "GET").await
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
            .upload_client
            .request(Method::POST, url.clone())
            .header(ACCEPT, MEDIA_TYPE)
            .header(CONTENT_TYPE, "application/octet-stream")
            .header(CONTENT_LENGTH, length)
            .body(reqwest::Body::wrap_stream(stream));
        let idle = crate::http::idle_timeout();
        let deadline = crate::http::transfer_deadline(length);
        let Ok(sent) = tokio::time::timeout(
            deadline,
            send_watched(with_auth(self, request), &progress, idle),
        )
        .await
        else {
            return Err(ApiError::Overran {
                method: "POST".to_owned(),
                url: display_url(&url),
                size: length,
                deadline,
            });
        };
        let response = match sent {
            Some(Ok(response)) => response,
            Some(Err(source)) => return Err(transport_error("POST", &url, source)),
            None => {
                return Err(ApiError::Stalled {
                    method: "POST".to_owned(),
                    url: display_url(&url),
                    idle,
                });
            }
        };
        Self::json(success(response, "POST").await?).await
    }
}

/// The token and API version on a transfer's request (octocrab adds them to the JSON calls).
fn with_auth(github: &GitHub<'_>, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
    request
        .header("X-GitHub-Api-Version", API_VERSION)
        .header(AUTHORIZATION, github.authorization.clone())
}

async fn success(response: reqwest::Response, method: &str) -> Result<reqwest::Response, ApiError> {
    if response.status().is_success() {
        Ok(response)
    } else {
        Err(http_error(response, method).await.into())
    }
}

fn transport_error(method: &str, url: &Url, source: reqwest::Error) -> ApiError {
    ApiError::Transport {
        method: method.to_owned(),
        url: display_url(url),
        // Its URL would show the query (a pre-signed download's signature).
        source: source.without_url(),
    }
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
/// `api.github.com`, `https://uploads.SUBDOMAIN.ghe.com` for `api.SUBDOMAIN.ghe.com` (GitHub
/// Enterprise Cloud with data residency, whose hosts are all `*.SUBDOMAIN.ghe.com`); the API's
/// own origin for GitHub Enterprise Server (`/api/uploads`) and loopback fakes. The asset
/// download path keeps to the API origin the same way.
fn upload_host_ok(api: &Url, upload: &Url) -> bool {
    match separate_upload_host(api) {
        Some(host) => {
            upload.scheme() == "https"
                && upload.host_str() == Some(host.as_str())
                && upload.port_or_known_default() == Some(443)
        }
        None => upload.origin() == api.origin(),
    }
}

/// The upload host of an API served on https from `api.github.com` or `api.SUBDOMAIN.ghe.com`,
/// whose uploads go to a host of their own; `None` where they go to the API's origin.
fn separate_upload_host(api: &Url) -> Option<String> {
    if api.scheme() != "https" {
        return None;
    }
    let rest = api.host_str()?.strip_prefix("api.")?;
    (rest == "github.com" || rest.ends_with(".ghe.com")).then(|| format!("uploads.{rest}"))
}

fn expected_upload_host(api: &Url) -> String {
    match separate_upload_host(api) {
        Some(host) => format!("https://{host}"),
        None => api.origin().ascii_serialization(),
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

#[cfg(test)]
mod tests {
    use super::*;

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
    fn ghe_com_uploads_go_to_the_uploads_host_of_the_same_subdomain_only() {
        // GitHub Enterprise Cloud with data residency: API at api.SUBDOMAIN.ghe.com.
        let api = Url::parse("https://api.octocorp.ghe.com").unwrap();
        assert_eq!(
            upload_target(
                &api,
                "https://uploads.octocorp.ghe.com/repos/o/r/releases/7/assets{?name,label}",
                "a.whl"
            )
            .unwrap()
            .as_str(),
            "https://uploads.octocorp.ghe.com/repos/o/r/releases/7/assets?name=a.whl"
        );
        assert!(upload_target(&api, "https://uploads.octocorp.ghe.com:443/x", "a").is_ok());
        for elsewhere in [
            "https://uploads.other.ghe.com/x",
            "https://uploads.github.com/x",
            "http://uploads.octocorp.ghe.com/x",
            "https://uploads.octocorp.ghe.com:8443/x",
            "https://uploads.octocorp.ghe.com.evil.example/x",
            "https://evil.octocorp.ghe.com/x",
            "https://api.octocorp.ghe.com/x",
        ] {
            let error = upload_target(&api, elsewhere, "a").unwrap_err().to_string();
            assert!(
                error.contains("(https://uploads.octocorp.ghe.com)"),
                "{elsewhere}: {error}"
            );
        }
        // Only `api.` hosts of ghe.com, only over https.
        for api in [
            "https://octocorp.ghe.com",
            "https://api.octocorp.ghe.com.evil.example",
            "http://api.octocorp.ghe.com",
        ] {
            let api = Url::parse(api).unwrap();
            assert!(
                upload_target(&api, "https://uploads.octocorp.ghe.com/x", "a").is_err(),
                "{api}"
            );
        }
    }
}
