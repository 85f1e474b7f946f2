//! The GitHub Actions runner: context variables (`GITHUB_*`), workflow commands
//! (`::add-mask::`, annotations, groups), `$GITHUB_OUTPUT` and `$GITHUB_STEP_SUMMARY`.
//! See <https://docs.github.com/actions/reference/workflow-commands-for-github-actions>.
//!
//! Every line this program prints goes through [`Console`], which first replaces every
//! registered secret by `***`: a secret cannot reach stdout or stderr even by mistake.

use std::collections::BTreeMap;
use std::fs::OpenOptions;
use std::io::Write as _;
use std::path::PathBuf;
use std::sync::{Mutex, PoisonError, RwLock};

use anyhow::Context as _;
use secrecy::{ExposeSecret as _, SecretString};

static SECRETS: RwLock<Vec<String>> = RwLock::new(Vec::new());
static STDOUT: Mutex<()> = Mutex::new(());
/// The progress bars on the terminal, when shown (`crate::progress`).
static LIVE: RwLock<Option<indicatif::MultiProgress>> = RwLock::new(None);

/// Register the live display on the terminal: from now on every line printed here is
/// written above it (the bars are cleared, the line printed, the bars drawn again).
pub fn show_live(display: Option<indicatif::MultiProgress>) {
    *LIVE.write().unwrap_or_else(PoisonError::into_inner) = display;
}

/// Run `print` with the live display (if any) out of the way.
fn above_live<R>(print: impl FnOnce() -> R) -> R {
    let live = LIVE.read().unwrap_or_else(PoisonError::into_inner).clone();
    match live {
        Some(display) => display.suspend(print),
        None => print(),
    }
}

/// Register a secret: it is masked by the runner (`::add-mask::`) and redacted from everything
/// this program prints from now on. Call it before anything could print the value.
pub fn mask(secret: &SecretString) {
    mask_str(secret.expose_secret());
}

/// As [`mask`], for a secret not (yet) wrapped.
pub fn mask_str(value: &str) {
    let value = value.trim();
    if value.len() < 4 {
        return; // masking a tiny value would garble ordinary text and protect nothing
    }
    {
        let mut secrets = SECRETS.write().unwrap_or_else(PoisonError::into_inner);
        if secrets.iter().any(|known| known == value) {
            return;
        }
        secrets.push(value.to_owned());
        // Each line of a multi-line value too, since it may be printed a line at a time.
        for piece in value
            .split(['\r', '\n'])
            .map(str::trim)
            .filter(|piece| piece.len() >= 4 && *piece != value)
        {
            if !secrets.iter().any(|known| known == piece) {
                secrets.push(piece.to_owned());
            }
        }
        // Longest first, so that a secret containing another is replaced whole.
        secrets.sort_by_key(|known| std::cmp::Reverse(known.len()));
    }
    if in_actions() {
        // The runner masks each line of a multi-line value separately.
        // A lone CR counts as a line break too (the runner reads lines the .NET way).
        for line in value
            .split(['\r', '\n'])
            .filter(|line| !line.trim().is_empty())
        {
            raw_stdout(&format!("::add-mask::{line}"));
        }
    }
}

/// Replace every registered secret in `text` by `***`.
#[must_use]
pub fn redact(text: &str) -> String {
    let secrets = SECRETS.read().unwrap_or_else(PoisonError::into_inner);
    let mut text = text.to_owned();
    for secret in secrets.iter() {
        if text.contains(secret.as_str()) {
            text = text.replace(secret.as_str(), "***");
        }
    }
    text
}

fn in_actions() -> bool {
    std::env::var("GITHUB_ACTIONS").is_ok_and(|value| value == "true")
}

fn raw_stdout(line: &str) {
    above_live(|| {
        let _guard = STDOUT.lock().unwrap_or_else(PoisonError::into_inner);
        let mut stdout = std::io::stdout().lock();
        // A closed stdout (e.g. `| head`) must not turn into a panic.
        let _ = writeln!(stdout, "{line}");
        let _ = stdout.flush();
    });
}

/// Escape the message part of a workflow command.
#[must_use]
pub fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escape a property value of a workflow command (`title=...`).
#[must_use]
pub fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

/// The one writer of user-facing lines: workflow commands inside Actions, plain prefixed lines
/// outside, always redacted.
#[derive(Debug, Clone, Copy)]
pub struct Console;

impl Console {
    /// A plain line on stdout.
    pub fn line(text: &str) {
        raw_stdout(&redact(text));
    }

    pub fn error(title: &str, message: &str) {
        Self::annotation("error", title, message);
    }

    pub fn warning(title: &str, message: &str) {
        Self::annotation("warning", title, message);
    }

    pub fn notice(title: &str, message: &str) {
        Self::annotation("notice", title, message);
    }

    fn annotation(level: &str, title: &str, message: &str) {
        let (title, message) = (redact(title), redact(message));
        if in_actions() {
            let properties = if title.is_empty() {
                String::new()
            } else {
                format!(" title={}", escape_property(&title))
            };
            raw_stdout(&format!("::{level}{properties}::{}", escape_data(&message)));
        } else if title.is_empty() {
            raw_stdout(&format!("{level}: {message}"));
        } else {
            raw_stdout(&format!("{level}: {title}: {message}"));
        }
    }

    /// Start a collapsible group (Actions) or a heading (terminal).
    pub fn group(name: &str) {
        let name = redact(name);
        if in_actions() {
            raw_stdout(&format!("::group::{}", escape_data(&name)));
        } else {
            raw_stdout(&format!("== {name}"));
        }
    }

    pub fn end_group() {
        if in_actions() {
            raw_stdout("::endgroup::");
        }
    }
}

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

/// A `tracing` writer that redacts secrets, for the debug log on stderr.
#[derive(Debug, Default)]
pub struct RedactingStderr;

impl std::io::Write for RedactingStderr {
    fn write(&mut self, buffer: &[u8]) -> std::io::Result<usize> {
        let text = redact(&String::from_utf8_lossy(buffer));
        above_live(|| std::io::stderr().lock().write_all(text.as_bytes()))?;
        Ok(buffer.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workflow_command_escaping() {
        assert_eq!(escape_data("50% done\r\nnext"), "50%25 done%0D%0Anext");
        assert_eq!(escape_property("a:b,c%"), "a%3Ab%2Cc%25");
    }

    #[test]
    fn each_line_of_a_multi_line_secret_is_redacted_on_its_own() {
        mask_str("first-line-secret\rsecond-line-secret");
        assert_eq!(redact("a second-line-secret b"), "a *** b");
    }

    #[test]
    fn registered_secrets_are_redacted() {
        mask_str("pypi-AgEIcHlwaS5vcmcSECRET");
        assert_eq!(
            redact("token pypi-AgEIcHlwaS5vcmcSECRET used"),
            "token *** used"
        );
    }
}
