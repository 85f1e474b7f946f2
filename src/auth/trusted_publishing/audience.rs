//! Which OIDC audience an index may ask for. The audience decides which service accepts the
//! job's GitHub token; an index that asks for another service's audience (Sigstore, a cloud's
//! STS, `PyPI` itself) gets a token it can replay there as this workflow within its lifetime. So
//! pypi.org and test.pypi.org must ask for `pypi` and `testpypi`, and no other index may ask for
//! a well-known audience of another service.
//!
//! `GET {index}/_/oidc/audience` asks the index which audience it expects ([`request`]).

use reqwest::StatusCode;
use url::Url;

use super::pages::index_name;
use crate::auth::oidc::{OidcError, short, unexpected_answer};
use crate::http::{self, RetryPolicy, error_chain};

/// Audiences of other services, matched without regard to case: `(audience, service)`.
const FOREIGN: &[(&str, &str)] = &[
    (
        "sigstore",
        "Sigstore's (a token for it signs artifacts as this workflow)",
    ),
    (
        "sts.amazonaws.com",
        "AWS's (a token for it assumes AWS roles trusted to this workflow)",
    ),
    (
        "api://AzureADTokenExchange",
        "Azure's (a token for it signs in to Azure as this workflow)",
    ),
    ("crates.io", "crates.io's (a token for it publishes crates)"),
    (
        "npm:registry.npmjs.org",
        "npm's (a token for it publishes npm packages)",
    ),
    ("rubygems.org", "RubyGems' (a token for it publishes gems)"),
];

/// Why `audience` may not be asked for by the index at `index`; `None` when it may.
#[must_use]
pub fn refusal(index: &Url, audience: &str) -> Option<String> {
    let host = index.host_str().unwrap_or_default().to_ascii_lowercase();
    let own = match host.as_str() {
        "pypi.org" | "upload.pypi.org" => Some("pypi"),
        "test.pypi.org" => Some("testpypi"),
        _ => None,
    };
    if let Some(own) = own {
        return (audience != own).then(|| format!("is not `{own}`, the audience {host} uses"));
    }
    if audience.trim().is_empty() {
        return Some("is empty".to_owned());
    }
    if audience.len() > 256
        || audience
            .chars()
            .any(|c| c.is_control() || c.is_whitespace())
    {
        return Some("is not a plain audience name (it holds white space or control characters, or is very long)".to_owned());
    }
    let lower = audience.to_ascii_lowercase();
    let loopback = crate::http::is_loopback_host(index);
    if (lower == "pypi" || lower == "testpypi") && !loopback {
        return Some(format!(
            "is {}'s (a token for it publishes to PyPI as this workflow); only PyPI and TestPyPI may ask for it",
            if lower == "pypi" { "PyPI" } else { "TestPyPI" }
        ));
    }
    if let Some((_, service)) = FOREIGN
        .iter()
        .find(|(known, _)| known.eq_ignore_ascii_case(audience))
    {
        return Some(format!("is {service}"));
    }
    if lower.starts_with("sts.") && lower.ends_with(".amazonaws.com") {
        return Some("is an AWS STS endpoint's (a token for it assumes AWS roles)".to_owned());
    }
    if lower.starts_with("api://azureadtokenexchange") {
        return Some("is Azure's (a token for it signs in to Azure as this workflow)".to_owned());
    }
    if lower.contains("iam.googleapis.com") {
        return Some(
            "is a Google Cloud workload identity pool's (a token for it gets Google Cloud credentials)"
                .to_owned(),
        );
    }
    if lower == "https://github.com" || lower.starts_with("https://github.com/") {
        return Some("is GitHub's default audience, which services such as HashiCorp Vault and cloud providers accept as this workflow".to_owned());
    }
    None
}

/// `GET {index}/_/oidc/audience` -> the audience the index expects in the OIDC token.
pub async fn request(client: &reqwest::Client, index_base: &Url) -> Result<String, OidcError> {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> Url {
        Url::parse(text).unwrap()
    }

    #[test]
    fn pypi_and_testpypi_must_ask_for_their_own_audience() {
        let pypi = url("https://upload.pypi.org/");
        assert_eq!(refusal(&pypi, "pypi"), None);
        assert!(refusal(&pypi, "testpypi").is_some());
        assert!(refusal(&pypi, "sigstore").is_some());
        assert_eq!(refusal(&url("https://test.pypi.org/"), "testpypi"), None);
        assert!(refusal(&url("https://test.pypi.org/"), "pypi").is_some());
    }

    #[test]
    fn other_indexes_may_not_ask_for_another_service_s_audience() {
        let index = url("https://pkgs.example.com/");
        for audience in [
            "sigstore",
            "sts.amazonaws.com",
            "sts.eu-west-1.amazonaws.com",
            "api://AzureADTokenExchange",
            "//iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p/providers/g",
            "https://iam.googleapis.com/projects/1/x",
            "https://github.com/octo-org",
            "pypi",
            "TestPyPI",
            "crates.io",
            "",
            "a b",
        ] {
            assert!(refusal(&index, audience).is_some(), "{audience:?}");
        }
        assert_eq!(refusal(&index, "pkgs.example.com"), None);
        // A loopback index is this machine (tests, local mirrors), as for plain http.
        assert_eq!(refusal(&url("http://127.0.0.1:8080/"), "pypi"), None);
        assert!(refusal(&url("http://127.0.0.1:8080/"), "sigstore").is_some());
    }
}
