//! `GET $ACTIONS_ID_TOKEN_REQUEST_URL&audience=AUD`: the runner's token service hands the job a
//! fresh OIDC token (a JWT) for an audience, when the workflow grants `id-token: write`.

use secrecy::{ExposeSecret as _, SecretString};
use url::Url;

use super::{OidcError, short, unexpected_answer};
use crate::actions::Runner;
use crate::http::{self, RetryPolicy, error_chain};

/// Fail early, without a network call, when the job cannot get an OIDC token.
pub fn check_token_available(runner: &Runner) -> Result<(), OidcError> {
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

pub async fn fetch_id_token(
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
