//! Where the raw values come from: `INPUT_*` variables (the runner's spelling, hyphens kept,
//! underscores accepted, deprecated aliases read) or command-line flags built from the table;
//! and which of them are secrets or URLs that may carry one.

use std::collections::BTreeMap;
use std::fmt;

use url::Url;

use super::spec::{INPUTS, InputKind};
use super::values::written_credentials;

/// The raw values, before typing: command-line flags win over `INPUT_*` variables. Holds
/// secrets as plain text, so its `Debug` shows names only.
#[derive(Default, Clone)]
pub struct RawInputs {
    pub flags: BTreeMap<String, String>,
    pub env: BTreeMap<String, String>,
}

impl fmt::Debug for RawInputs {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("RawInputs")
            .field("flags", &self.flags.keys().collect::<Vec<_>>())
            .field("env", &self.env.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl RawInputs {
    /// The value of an input, `None` when unset or empty (empty means default).
    /// Each spelling is tried in turn and an empty one is skipped: the runner passes every
    /// declared input, so `INPUT_PACKAGES-DIR=''` (the canonical input, unset) must not hide
    /// `INPUT_PACKAGES_DIR=out` (pypa's deprecated `packages_dir`, set by an old workflow).
    #[must_use]
    pub fn get(&self, name: &str) -> Option<&str> {
        fn non_empty(value: Option<&String>) -> Option<&str> {
            value
                .map(|value| value.trim())
                .filter(|value| !value.is_empty())
        }
        let upper = name.to_ascii_uppercase();
        let hyphen = format!("INPUT_{upper}");
        let underscore = format!("INPUT_{}", upper.replace('-', "_"));
        non_empty(self.flags.get(name))
            .or_else(|| non_empty(self.env.get(&hyphen)))
            .or_else(|| non_empty(self.env.get(&underscore)))
    }

    /// The index password/token: the `password` input, or `PYPI_TOKEN` outside Actions.
    #[must_use]
    pub fn password(&self) -> Option<&str> {
        self.get("password").or_else(|| self.env("PYPI_TOKEN"))
    }

    /// The GitHub token: the `github-token` input (unless the runner passed the expression
    /// unexpanded), or `GITHUB_TOKEN`.
    #[must_use]
    pub fn github_token(&self) -> Option<&str> {
        self.get("github-token")
            .filter(|value| !value.starts_with("${{"))
            .or_else(|| self.env("GITHUB_TOKEN"))
    }

    /// Every secret among the inputs and the runner's variables, to mask before anything
    /// else is printed (DESIGN §2).
    #[must_use]
    pub fn secrets(&self) -> Vec<String> {
        let mut secrets: Vec<String> = [
            self.password(),
            self.github_token(),
            self.env("ACTIONS_ID_TOKEN_REQUEST_TOKEN"),
        ]
        .into_iter()
        .flatten()
        .map(str::to_owned)
        .collect();
        // A password written into a URL (`https://user:secret@index/...`), as typed and decoded.
        for spec in INPUTS.iter().filter(|spec| spec.name.ends_with("-url")) {
            if let Some(password) = self
                .get(spec.name)
                .and_then(|value| Url::parse(value).ok())
                .and_then(|url| url.password().map(str::to_owned))
            {
                let decoded = percent_encoding::percent_decode_str(&password)
                    .decode_utf8_lossy()
                    .into_owned();
                secrets.push(decoded);
                secrets.push(password);
            }
        }
        // The user info of a URL that does not parse (it is refused later, but its password
        // must not show on the way): the password, the user name unless it is `__token__`, and
        // the `user:password@` form, as written and decoded.
        for (user, password) in self.url_values().filter_map(written_credentials) {
            let decode = |text: &str| {
                percent_encoding::percent_decode_str(text)
                    .decode_utf8_lossy()
                    .into_owned()
            };
            let form = match &password {
                Some(password) => format!("{user}:{password}@"),
                None => format!("{user}@"),
            };
            let parts = [
                Some(user.as_str()),
                password.as_deref(),
                Some(form.as_str()),
            ];
            for part in parts.into_iter().flatten() {
                if part != "__token__" {
                    secrets.push(part.to_owned());
                    secrets.push(decode(part));
                }
            }
        }
        secrets.dedup();
        secrets
    }

    /// Every URL the run may print or send to, inputs and runner variables, for masking the
    /// user info written into them.
    #[must_use]
    pub fn urls(&self) -> Vec<Url> {
        self.url_values()
            .filter_map(|value| Url::parse(value).ok())
            .collect()
    }

    /// The values of every URL input and runner variable, as given.
    fn url_values(&self) -> impl Iterator<Item = &str> {
        let inputs = INPUTS
            .iter()
            .filter(|spec| spec.name.ends_with("-url"))
            .filter_map(|spec| self.get(spec.name));
        let runner = [
            "ACTIONS_ID_TOKEN_REQUEST_URL",
            "GITHUB_API_URL",
            "GITHUB_SERVER_URL",
        ]
        .into_iter()
        .filter_map(|name| self.env(name));
        inputs.chain(runner)
    }

    pub(super) fn env(&self, name: &str) -> Option<&str> {
        self.env
            .get(name)
            .map(|value| value.trim())
            .filter(|value| !value.is_empty())
    }
}

/// The command line: one `--flag` per non-secret input, plus the packages dir as a positional
/// argument. Secrets are never accepted as arguments (they would show in `ps` and shell history).
#[must_use]
pub fn command() -> clap::Command {
    let mut command = clap::Command::new("pypi-oidc-publish")
        .version(env!("CARGO_PKG_VERSION"))
        .about("Verify Python dists, publish them to PyPI (Trusted Publishing, PEP 740 attestations) and create the GitHub release.")
        .after_help(
            "Every flag can also be given as an environment variable INPUT_<NAME> (as GitHub Actions does).\n\
             Secrets come only from the environment: the index password/token from PYPI_TOKEN (or INPUT_PASSWORD),\n\
             the GitHub token from GITHUB_TOKEN (or INPUT_GITHUB-TOKEN).\n\n\
             Example: pypi-oidc-publish --dry-run dist/",
        )
        .arg(clap::Arg::new("PACKAGES_DIR").help("Directory with the dists (same as --packages-dir).").value_name("PACKAGES_DIR"));
    for spec in INPUTS.iter().filter(|spec| spec.kind != InputKind::Secret) {
        let mut arg = clap::Arg::new(spec.name)
            .long(spec.name)
            .help(spec.description)
            .value_name("VALUE");
        if spec.kind == InputKind::Boolean {
            arg = arg
                .num_args(0..=1)
                .default_missing_value("true")
                .require_equals(true)
                .value_name("BOOL");
        }
        command = command.arg(arg);
    }
    command
}

/// Collect the raw values from parsed flags and the environment.
#[must_use]
pub fn raw_inputs(matches: &clap::ArgMatches, env: BTreeMap<String, String>) -> RawInputs {
    let mut flags = BTreeMap::new();
    for spec in INPUTS.iter().filter(|spec| spec.kind != InputKind::Secret) {
        if let Some(value) = matches.get_one::<String>(spec.name) {
            flags.insert(spec.name.to_owned(), value.clone());
        }
    }
    if let Some(dir) = matches.get_one::<String>("PACKAGES_DIR") {
        flags
            .entry("packages-dir".to_owned())
            .or_insert_with(|| dir.clone());
    }
    RawInputs { flags, env }
}
