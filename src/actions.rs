//! The GitHub Actions runner: context variables (`GITHUB_*`), `$GITHUB_OUTPUT` and
//! `$GITHUB_STEP_SUMMARY`. See
//! <https://docs.github.com/actions/reference/workflow-commands-for-github-actions>.
//!
//! Printing (workflow commands, masking, redaction) is [`crate::console`]'s alone; its names are
//! re-exported here for the callers that know them from this module.

use std::collections::BTreeMap;
use std::fs::OpenOptions;
use std::io::Write as _;
use std::path::PathBuf;

use anyhow::Context as _;
use secrecy::SecretString;

pub use crate::console::{
    Console, LogWriter, escape_data, escape_property, learned, mask, mask_exact, mask_str,
    mask_user_info, redact,
};

/// The runner context of DESIGN §2, read once from the environment.
#[derive(Debug, Clone, Default)]
pub struct Runner {
    pub in_actions: bool,
    pub debug: bool,
    pub workspace: PathBuf,
    pub github_ref: Option<String>,
    pub sha: Option<String>,
    pub repository: Option<String>,
    pub server_url: String,
    pub api_url: String,
    pub event_name: Option<String>,
    pub event_path: Option<PathBuf>,
    pub workflow_ref: Option<String>,
    pub output_path: Option<PathBuf>,
    pub summary_path: Option<PathBuf>,
    pub id_token_request_url: Option<String>,
    pub id_token_request_token: Option<SecretString>,
}

impl Runner {
    #[must_use]
    pub fn from_env(env: &BTreeMap<String, String>) -> Self {
        let get = |name: &str| env.get(name).filter(|value| !value.is_empty()).cloned();
        let workspace = get("GITHUB_WORKSPACE")
            .map(PathBuf::from)
            .or_else(|| std::env::current_dir().ok())
            .unwrap_or_else(|| PathBuf::from("."));
        Self {
            in_actions: get("GITHUB_ACTIONS").is_some_and(|value| value == "true"),
            debug: get("RUNNER_DEBUG").is_some_and(|value| value == "1"),
            workspace,
            github_ref: get("GITHUB_REF"),
            sha: get("GITHUB_SHA"),
            repository: get("GITHUB_REPOSITORY"),
            server_url: get("GITHUB_SERVER_URL").unwrap_or_else(|| "https://github.com".to_owned()),
            api_url: get("GITHUB_API_URL").unwrap_or_else(|| "https://api.github.com".to_owned()),
            event_name: get("GITHUB_EVENT_NAME"),
            event_path: get("GITHUB_EVENT_PATH").map(PathBuf::from),
            workflow_ref: get("GITHUB_WORKFLOW_REF"),
            output_path: get("GITHUB_OUTPUT").map(PathBuf::from),
            summary_path: get("GITHUB_STEP_SUMMARY").map(PathBuf::from),
            id_token_request_url: get("ACTIONS_ID_TOKEN_REQUEST_URL"),
            id_token_request_token: get("ACTIONS_ID_TOKEN_REQUEST_TOKEN").map(SecretString::from),
        }
    }

    /// Write the outputs to `$GITHUB_OUTPUT` (multi-line values with a random delimiter);
    /// outside Actions they are printed as `name=value` lines.
    pub fn write_outputs(&self, outputs: &[(&str, String)]) -> anyhow::Result<()> {
        let Some(path) = &self.output_path else {
            for (name, value) in outputs {
                Console::line(&format!("output {name}={value}"));
            }
            return Ok(());
        };
        let mut text = String::new();
        for (name, value) in outputs {
            let value = redact(value);
            if value.contains('\n') || value.contains('\r') {
                let delimiter = loop {
                    let candidate = format!("ghadelimiter_{:032x}", rand::random::<u128>());
                    if !value.contains(&candidate) {
                        break candidate;
                    }
                };
                text.push_str(&format!("{name}<<{delimiter}\n{value}\n{delimiter}\n"));
            } else {
                text.push_str(&format!("{name}={value}\n"));
            }
        }
        append(path, &text).with_context(|| {
            format!(
                "failed to write the outputs to GITHUB_OUTPUT ({})",
                path.display()
            )
        })
    }

    /// Append Markdown to the step summary (ignored outside Actions).
    pub fn append_summary(&self, markdown: &str) -> anyhow::Result<()> {
        let Some(path) = &self.summary_path else {
            return Ok(());
        };
        append(path, &redact(markdown)).with_context(|| {
            format!(
                "failed to write the step summary GITHUB_STEP_SUMMARY ({})",
                path.display()
            )
        })
    }
}

fn append(path: &PathBuf, text: &str) -> std::io::Result<()> {
    let mut file = OpenOptions::new().create(true).append(true).open(path)?;
    file.write_all(text.as_bytes())
}
