//! Whether this run will make the GitHub release (DESIGN §1 `release`), decided before anything
//! is uploaded: `release: true` fails early when it cannot work, `release: auto` (the default,
//! so that the Packaging Guide's publish job with only `id-token: write` works unchanged) skips
//! the release with a notice.
//!
//! The permission probe: a workflow token's permissions cannot be read from any header
//! (`x-accepted-github-permissions` names what an endpoint needs, not what the token has, and
//! `x-oauth-scopes` exists only for classic tokens), so the probe is a call that needs
//! `contents: write` and changes nothing: `POST /releases/generate-notes` ("The generated
//! release notes are not saved anywhere"; GitHub's permission tables list it under Contents:
//! write for installation tokens, which `GITHUB_TOKEN` is). 403 means no write permission;
//! any other failure says nothing about permissions, and the release calls themselves decide.

use secrecy::SecretString;

use super::api::{ApiError, GitHub};
use crate::actions::{Console, Runner};
use crate::http::RetryPolicy;
use crate::inputs::{ReleaseMode, Settings};

/// What the release step will do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Gate {
    /// `release: false`.
    Off,
    /// `release: auto` and the run is not for a tag.
    NoTag,
    /// `release: auto` and the release cannot be made: why, and how to get one.
    Skip(String),
    /// Make the release. `generated_notes`: GitHub's generated notes, from the probe.
    Go { generated_notes: Option<String> },
}

impl Gate {
    #[must_use]
    pub fn will_release(&self) -> bool {
        matches!(self, Self::Go { .. })
    }
}

/// A release that `release: true` requires cannot be made; nothing was uploaded.
#[derive(Debug, thiserror::Error)]
#[error("{problem}; nothing was uploaded. {fix}")]
pub struct ReleaseImpossible {
    problem: String,
    fix: String,
}

/// The YAML that grants what the release needs.
pub const PERMISSIONS_YAML: &str = "  permissions:\n    contents: write   # the GitHub release\n    id-token: write   # Trusted Publishing";

/// Why `auto` made no release after a 403, and the two ways out.
#[must_use]
pub fn no_permission_notice(tag: &str) -> String {
    format!(
        "the dists are published, but no GitHub release was made for {tag}: GitHub did not let this job's token make it (403 Resource not accessible by integration), so the token lacks `contents: write`. To have this step make the release, give the job\n\n{PERMISSIONS_YAML}\n\nTo publish only and silence this notice, set `release: false`."
    )
}

/// Decide before uploading. Errors only for `release: true` (and for a token GitHub does not
/// accept at all, which no mode can use).
pub async fn preflight(
    settings: &Settings,
    runner: &Runner,
    client: &reqwest::Client,
) -> anyhow::Result<Gate> {
    let mode = settings.release;
    if mode == ReleaseMode::Off {
        return Ok(Gate::Off);
    }
    let required = |problem: String, fix: &str| -> anyhow::Result<Gate> {
        if mode == ReleaseMode::Required {
            Err(ReleaseImpossible {
                problem,
                fix: fix.to_owned(),
            }
            .into())
        } else {
            Ok(Gate::Skip(format!("{problem}. {fix}")))
        }
    };
    let Some(tag) = settings.tag.as_deref() else {
        if mode == ReleaseMode::Auto {
            return Ok(Gate::NoTag);
        }
        return required(
            "`release: true` requires a GitHub release, but the run is not for a tag".to_owned(),
            "Run on a tag push (`on: push: tags: ['v*']`) or set the input `tag`; or set `release: auto` to release only on tags",
        );
    };
    let Some(repository) = runner.repository.as_deref() else {
        return required(
            format!("no GitHub release can be made for {tag}: GITHUB_REPOSITORY is not set"),
            "It is set on every GitHub runner; locally, export GITHUB_REPOSITORY=owner/name, or set `release: false`",
        );
    };
    let Some(token) = settings.github_token.clone() else {
        return required(
            format!("no GitHub release can be made for {tag}: there is no GitHub token"),
            "The input `github-token` defaults to `${{ github.token }}`; locally export GITHUB_TOKEN, or set `release: false`",
        );
    };
    probe(settings, runner, client, repository, tag, &token).await
}

async fn probe(
    settings: &Settings,
    runner: &Runner,
    client: &reqwest::Client,
    repository: &str,
    tag: &str,
    token: &SecretString,
) -> anyhow::Result<Gate> {
    crate::actions::mask(token);
    let api = crate::inputs::parse_url("GITHUB_API_URL", &runner.api_url)?;
    let github = GitHub::new(client, &api, repository, token, RetryPolicy::from_env())?;
    let mut request = serde_json::json!({ "tag_name": tag });
    if let Some(sha) = &runner.sha {
        request["target_commitish"] = serde_json::json!(sha);
    }
    match github.generate_notes(&request).await {
        Ok(notes) => Ok(Gate::Go {
            generated_notes: Some(notes.body).filter(|body| !body.trim().is_empty()),
        }),
        Err(error) if error.status().is_some_and(|status| status.as_u16() == 401) => {
            Err(anyhow::Error::new(error).context(
                "GitHub refused the token (401) before anything was uploaded: check the input `github-token` (default `${{ github.token }}`), or set `release: false`",
            ))
        }
        Err(error) if error.permission_denied() => match settings.release {
            ReleaseMode::Required => Err(ReleaseImpossible {
                problem: format!(
                    "`release: true`, but GitHub does not let this job's token make the release for {tag} (403 Resource not accessible by integration: the token lacks `contents: write`)"
                ),
                fix: format!(
                    "Give the job\n\n{PERMISSIONS_YAML}\n\nor set `release: auto` (publish, and release only when allowed) or `release: false`"
                ),
            }
            .into()),
            _ => Ok(Gate::Skip(no_permission_notice(tag))),
        },
        Err(error) => {
            tracing::debug!("the release permission probe said nothing ({error}); carrying on");
            Ok(Gate::Go {
                generated_notes: None,
            })
        }
    }
}

/// Whether a failed release was GitHub refusing the token the write (not a rate limit).
#[must_use]
pub fn refused_permission(error: &anyhow::Error) -> bool {
    error
        .chain()
        .filter_map(|cause| cause.downcast_ref::<ApiError>())
        .any(ApiError::permission_denied)
}

/// Say that `auto` made no release, and why.
pub fn announce_skip(reason: &str) {
    Console::notice("No GitHub release", reason);
}
