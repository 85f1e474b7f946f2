//! What can go wrong with Trusted Publishing, each case with the fix (DESIGN §4). The texts are
//! Markdown, so the same words serve the `::error::` annotation and the step summary.

use reqwest::StatusCode;

use crate::actions::Runner;
use crate::http;

/// One `{"code", "description"}` item of a 422 answer from `/_/oidc/mint-token`.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct MintErrorItem {
    pub code: String,
    pub description: String,
}

/// A 422 from `/_/oidc/mint-token`, with what the user needs to fix the publisher.
#[derive(Debug)]
pub struct Rejection {
    pub url: String,
    pub message: String,
    pub errors: Vec<MintErrorItem>,
    /// `(claim, value)`; `MISSING` where the token has no such claim.
    pub claims: Vec<(&'static str, String)>,
    /// The workflow file the publisher must name (from `job_workflow_ref`).
    pub workflow_file: Option<String>,
    pub settings_url: String,
    pub pending_url: String,
}

/// A Trusted Publishing failure. Callers tell the cases apart for the annotation's title.
#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    /// `ACTIONS_ID_TOKEN_REQUEST_*` are not set: the job lacks `id-token: write`.
    #[error("{}", missing_permission_text(missing))]
    MissingPermission { missing: Vec<&'static str> },

    /// A pull request from a fork: GitHub gives it no OIDC token at all.
    #[error("{}", fork_text(head))]
    ForkPullRequest { head: String },

    /// `/_/oidc/audience` answered 403: the index has Trusted Publishing switched off.
    #[error(
        "Trusted Publishing is disabled on {index}: GET {url} answered 403 ({message}). The index's administrators have switched it off; retry later, or publish with an API token in `password` meanwhile."
    )]
    Disabled {
        index: String,
        url: String,
        message: String,
    },

    /// `/_/oidc/audience` answered 404: the index has no Trusted Publishing.
    #[error(
        "{index} does not support Trusted Publishing: GET {url} answered 404. Check `repository-url` (PyPI: https://upload.pypi.org/legacy/, TestPyPI: https://test.pypi.org/legacy/); for an index without Trusted Publishing, set `password` (and `user`)."
    )]
    NotSupported { index: String, url: String },

    /// `/_/oidc/audience` names an audience the index may not ask for (another service's).
    #[error(
        "{index} asks for OIDC tokens with the audience `{audience}`, which {reason}. No token was requested: the index could use it at that service as this workflow. Check `repository-url` (PyPI: https://upload.pypi.org/legacy/, TestPyPI: https://test.pypi.org/legacy/); an index with Trusted Publishing names its own audience."
    )]
    ForeignAudience {
        index: String,
        audience: String,
        reason: String,
    },

    /// An answer the protocol does not have (audience 401/500-less 4xx, mint 400, ...).
    #[error(
        "{method} {url} answered an unexpected {status}{}. Check that `repository-url` points at a PyPI-compatible index with Trusted Publishing (PyPI: https://upload.pypi.org/legacy/).",
        if body.is_empty() { String::new() } else { format!(": {body}") }
    )]
    Unexpected {
        method: &'static str,
        url: String,
        status: u16,
        body: String,
    },

    /// GitHub's token endpoint refused to issue the job's OIDC token.
    #[error(
        "GitHub did not issue an OIDC token: GET {url} {problem}. Make sure the job has `permissions: id-token: write` and that nothing overrides ACTIONS_ID_TOKEN_REQUEST_URL or ACTIONS_ID_TOKEN_REQUEST_TOKEN; re-run the job if GitHub had an incident (https://www.githubstatus.com)."
    )]
    IdToken { url: String, problem: String },

    /// `/_/oidc/mint-token` answered 422: the index refused the exchange.
    #[error("{}", rejected_text(.0))]
    Rejected(Box<Rejection>),

    /// 5xx or network errors after every retry, or an answer that is not the expected JSON.
    #[error(
        "{method} {url} {problem}. The index may be having an outage (PyPI: https://status.python.org); re-run the job later: files already on the index are skipped."
    )]
    Unavailable {
        method: &'static str,
        url: String,
        problem: String,
    },
}

impl OidcError {
    /// The title of the `::error::` annotation.
    #[must_use]
    pub fn title(&self) -> &'static str {
        match self {
            Self::MissingPermission { .. } => {
                "Trusted Publishing: the job has no `id-token: write` permission"
            }
            Self::ForkPullRequest { .. } => {
                "Trusted Publishing: fork pull requests get no OIDC token"
            }
            Self::Disabled { .. } => "Trusted Publishing is disabled on the index",
            Self::NotSupported { .. } => "Trusted Publishing is not supported by this index",
            Self::ForeignAudience { .. } => {
                "Trusted Publishing: the index asks for another service's audience"
            }
            Self::Unexpected { .. } => "Trusted Publishing: unexpected answer from the index",
            Self::IdToken { .. } => "Trusted Publishing: GitHub issued no OIDC token",
            Self::Rejected { .. } => "Trusted Publishing: the index refused the token exchange",
            Self::Unavailable { .. } => "Trusted Publishing: the index is unavailable",
        }
    }

    /// Add this error as a section of the step summary (best effort: the annotation carries
    /// the same text).
    pub fn report(&self, runner: &Runner) {
        // The text quotes the index and the token's claims: shown verbatim, never rendered.
        let section = format!(
            "## Trusted Publishing failed\n\n**{}**\n\n{}\n",
            self.title(),
            crate::markdown::code_block(&self.to_string())
        );
        if let Err(error) = runner.append_summary(&section) {
            tracing::warn!("{error:#}");
        }
    }
}

const PERMISSIONS_YAML: &str = "    jobs:
      publish:
        runs-on: ubuntu-latest
        permissions:
          id-token: write   # Trusted Publishing (and PEP 740 attestations)
          contents: write   # the GitHub release";

fn missing_permission_text(missing: &[&'static str]) -> String {
    format!(
        "Trusted Publishing needs the job's OIDC token, but {} not set: the job lacks the `id-token: write` permission. Grant it to the publishing job:\n\n{PERMISSIONS_YAML}\n\nOr, to publish without Trusted Publishing, set `password` to an API token.",
        match missing {
            [one] => format!("{one} is"),
            many => format!("{} are", many.join(" and ")),
        }
    )
}

fn fork_text(head: &str) -> String {
    format!(
        "This run is for a pull request from the fork `{head}`: GitHub gives workflows triggered by pull requests from forks no OIDC token, whatever their `permissions`, so Trusted Publishing cannot work here. Publish from a trigger in your own repository instead, for example:\n\n    on:\n      release:\n        types: [published]\n      push:\n        tags: [\"v*\"]\n\nand keep pull request workflows to building and testing (`dry-run: true` checks the dists without publishing)."
    )
}

fn rejected_text(rejection: &Rejection) -> String {
    let Rejection {
        url,
        message,
        errors,
        claims,
        workflow_file,
        settings_url,
        pending_url,
    } = rejection;
    let mut text = format!(
        "The index refused to exchange the OIDC token for an API token: POST {url} answered 422 ({message}):\n"
    );
    for item in errors {
        text.push_str(&format!("- `{}`: {}\n", item.code, item.description));
    }
    let codes: Vec<&str> = errors.iter().map(|item| item.code.as_str()).collect();
    text.push('\n');
    text.push_str(&advice(&codes));
    text.push_str("\n\nThe token's claims, decoded for display only (not verified; do not copy them into a publisher unless they are what you expect; `MISSING` = not in the token):\n");
    for (claim, value) in claims {
        text.push_str(&format!("- `{claim}`: `{value}`\n"));
    }
    let workflow = workflow_file
        .as_deref()
        .map_or_else(String::new, |file| format!(", workflow `{file}`"));
    text.push_str(&format!(
        "\nCheck the Trusted Publisher at {settings_url} (owner, repository{workflow}, environment). A project that does not exist yet needs a pending publisher: {pending_url}"
    ));
    text
}

fn advice(codes: &[&str]) -> String {
    if codes.contains(&"not-enabled") {
        return "Trusted Publishing from GitHub is switched off on the index: retry later, or publish with an API token in `password` meanwhile.".to_owned();
    }
    if codes.contains(&"invalid-reuse-token") {
        return "This OIDC token was already exchanged once: re-run the job (each attempt fetches a fresh token).".to_owned();
    }
    if codes.contains(&"invalid-token") {
        return "The index could not verify the token (signature, issuer, audience or expiry). Re-run the job; if it persists, the index may not accept tokens from this GitHub instance (GitHub Enterprise Server tokens are not accepted by PyPI).".to_owned();
    }
    if codes.contains(&"invalid-payload") {
        return "The index could not read the token request; re-run the job, and report it if it persists.".to_owned();
    }
    "No Trusted Publisher on the index matches this workflow run: the publisher must name this repository's owner and name, the workflow file that runs this job and, if it has one, the environment.".to_owned()
}

/// The problem with a 2xx answer that is not what the protocol says: the body could not be
/// read (too large, too slow), or it is not the `expected` JSON.
pub(crate) fn unexpected_answer(
    status: StatusCode,
    expected: &str,
    read: Option<http::BodyError>,
) -> String {
    match read {
        Some(error) => format!("answered {status}, but {error}"),
        None => format!("answered {status} without the expected JSON `{expected}`"),
    }
}

/// A server's answer cut to 300 characters for a message, its secrets redacted first (half
/// a secret would no longer match it).
pub(crate) fn short(text: &str) -> String {
    let text = crate::console::redact(text);
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

    #[test]
    fn missing_permission_names_every_missing_variable() {
        let text = OidcError::MissingPermission {
            missing: vec![
                "ACTIONS_ID_TOKEN_REQUEST_URL",
                "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
            ],
        }
        .to_string();
        assert!(text.contains(
            "ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN are not set"
        ));
        assert!(text.contains("id-token: write"));
    }

    #[test]
    fn a_secret_across_the_cut_is_redacted_whole() {
        let secret = "ghs_cut-in-half-oidc-SECRET-0123";
        crate::console::mask_str(secret);
        let shortened = short(&format!("{}{secret} and more", "x".repeat(290)));
        assert!(
            !shortened.contains("ghs_cut") && shortened.contains("***"),
            "{shortened}"
        );
    }

    #[test]
    fn advice_follows_the_most_telling_code() {
        assert!(advice(&["invalid-publisher"]).starts_with("No Trusted Publisher"));
        assert!(advice(&["invalid-publisher", "not-enabled"]).contains("switched off"));
        assert!(advice(&["invalid-reuse-token"]).contains("already exchanged"));
    }
}
