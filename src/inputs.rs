//! The typed settings of DESIGN.md §1, parsed once at the edge from `INPUT_*` variables (the
//! GitHub runner's spelling, hyphens kept, underscores accepted) or command-line flags.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use secrecy::SecretString;
use url::Url;

/// One input of action.yml. The table below is the single source of truth for the CLI flags,
/// the environment names and the action.yml consistency test.
#[derive(Debug, Clone, Copy)]
pub struct InputSpec {
    pub name: &'static str,
    pub default: &'static str,
    pub description: &'static str,
    pub kind: InputKind,
    /// pypa/gh-action-pypi-publish's deprecated underscore spelling, declared in action.yml
    /// with a `deprecationMessage` so that old workflows keep working without a warning about
    /// an unexpected input. The runner passes it as `INPUT_<NAME_WITH_UNDERSCORES>`, the same
    /// variable as the underscore spelling this program accepts for every input. Because the
    /// runner passes every declared input with its default, the canonical input and its alias
    /// declare no default in action.yml (the default lives here): an unset input arrives as
    /// `''`, and the first non-empty of canonical, alias, default wins.
    pub alias: Option<&'static str>,
}

/// The message action.yml gives a deprecated alias, word for word as pypa gives it.
#[must_use]
pub fn deprecation_message(canonical: &str) -> String {
    format!("The inputs have been normalized to use kebab-case. Use `{canonical}` instead.")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputKind {
    Text,
    Boolean,
    /// Read only from the environment, never from a command-line argument.
    Secret,
}

pub const DEFAULT_REPOSITORY_URL: &str = "https://upload.pypi.org/legacy/";
pub const DEFAULT_FULCIO_URL: &str = "https://fulcio.sigstore.dev";
/// `PyPI`'s default per-file limit (Warehouse `MAX_FILESIZE`).
pub const DEFAULT_FILE_SIZE_LIMIT: u64 = 100 * 1024 * 1024;
pub const DEFAULT_REKOR_URL: &str = "https://rekor.sigstore.dev";

pub const INPUTS: &[InputSpec] = &[
    InputSpec {
        name: "user",
        default: "__token__",
        description: "Index user name.",
        kind: InputKind::Text,
        alias: None,
    },
    InputSpec {
        name: "password",
        default: "",
        description: "API token or password. Empty with user `__token__` means Trusted Publishing. Locally: the PYPI_TOKEN environment variable.",
        kind: InputKind::Secret,
        alias: None,
    },
    InputSpec {
        name: "repository-url",
        default: DEFAULT_REPOSITORY_URL,
        description: "Legacy upload endpoint of the index. Default: `https://upload.pypi.org/legacy/`.",
        kind: InputKind::Text,
        alias: Some("repository_url"),
    },
    InputSpec {
        name: "packages-dir",
        default: "dist",
        description: "Directory holding the dists (searched recursively), relative to the workspace. Default: `dist`.",
        kind: InputKind::Text,
        alias: Some("packages_dir"),
    },
    InputSpec {
        name: "verify-metadata",
        default: "true",
        description: "Check core metadata content rules before uploading. With false, PyPI still never gets a form it refuses; structural checks always run. Default: `true`.",
        kind: InputKind::Boolean,
        alias: Some("verify_metadata"),
    },
    InputSpec {
        name: "check-url",
        default: "",
        description: "Simple index used to find files already uploaded. Derived from repository-url when empty.",
        kind: InputKind::Text,
        alias: None,
    },
    InputSpec {
        name: "skip-existing",
        default: "false",
        description: "A file already on the index with different content is a warning instead of an error (and no GitHub release is made). Default: `false`.",
        kind: InputKind::Boolean,
        alias: Some("skip_existing"),
    },
    InputSpec {
        name: "verbose",
        default: "false",
        description: "Debug-level log.",
        kind: InputKind::Boolean,
        alias: None,
    },
    InputSpec {
        name: "print-hash",
        default: "true",
        description: "Print the sha256 and blake2b-256 digests of each dist. Default: `true`.",
        kind: InputKind::Boolean,
        alias: Some("print_hash"),
    },
    InputSpec {
        name: "attestations",
        default: "true",
        description: "Sign and upload PEP 740 publish attestations (Trusted Publishing to PyPI or TestPyPI only).",
        kind: InputKind::Boolean,
        alias: None,
    },
    InputSpec {
        name: "github-token",
        default: "${{ github.token }}",
        description: "Token for the GitHub release API (needs `contents: write`). Locally: the GITHUB_TOKEN environment variable.",
        kind: InputKind::Secret,
        alias: None,
    },
    InputSpec {
        name: "release",
        default: "auto",
        description: "The GitHub release for the tag: auto (made when the run is for a tag and the token may write contents; otherwise a notice), true (required: a missing tag or permission is an error before anything is uploaded) or false.",
        kind: InputKind::Text,
        alias: None,
    },
    InputSpec {
        name: "tag",
        default: "",
        description: "Release tag. Default: from GITHUB_REF when it is refs/tags/*.",
        kind: InputKind::Text,
        alias: None,
    },
    InputSpec {
        name: "changelog",
        default: "",
        description: "File with the release notes. Default: the first of CHANGELOG.md, CHANGES.md, HISTORY.md, NEWS.md, MILESTONES.md, .planning/MILESTONES.md.",
        kind: InputKind::Text,
        alias: None,
    },
    InputSpec {
        name: "prerelease",
        default: "auto",
        description: "Mark the release as a pre-release: auto, true or false.",
        kind: InputKind::Text,
        alias: None,
    },
    InputSpec {
        name: "draft",
        default: "false",
        description: "Leave the release as a draft.",
        kind: InputKind::Boolean,
        alias: None,
    },
    InputSpec {
        name: "release-assets",
        default: "true",
        description: "Attach the dists to the release.",
        kind: InputKind::Boolean,
        alias: None,
    },
    InputSpec {
        name: "make-latest",
        default: "auto",
        description: "Mark the release as latest: auto (not for pre-releases), true or false.",
        kind: InputKind::Text,
        alias: None,
    },
    InputSpec {
        name: "check-version",
        default: "true",
        description: "The tag's version must equal the dists' version (PEP 440 comparison).",
        kind: InputKind::Boolean,
        alias: None,
    },
    InputSpec {
        name: "dry-run",
        default: "false",
        description: "Verify and plan everything, print the plan and the release notes, upload nothing. With Trusted Publishing and the job's OIDC token, prove the publisher: a token is minted and discarded.",
        kind: InputKind::Boolean,
        alias: None,
    },
    InputSpec {
        name: "upload-concurrency",
        default: "10",
        description: "How many files are uploaded at once (1 to 16).",
        kind: InputKind::Text,
        alias: None,
    },
    InputSpec {
        name: "file-size-limit",
        default: "100 MiB",
        description: "Largest dist PyPI and TestPyPI accept for this project: 100 MiB unless PyPI raised the project's limit on request (https://pypi.org/help/#file-size-limit); then set the new limit, e.g. `200 MiB`. Checked before anything is sent.",
        kind: InputKind::Text,
        alias: None,
    },
    InputSpec {
        name: "fulcio-url",
        default: DEFAULT_FULCIO_URL,
        description: "Fulcio (Sigstore certificate authority) base URL. Setting it allows attestations for any index.",
        kind: InputKind::Text,
        alias: None,
    },
    InputSpec {
        name: "rekor-url",
        default: DEFAULT_REKOR_URL,
        description: "Rekor (Sigstore transparency log) base URL. Setting it allows attestations for any index.",
        kind: InputKind::Text,
        alias: None,
    },
];

/// The outputs written to `$GITHUB_OUTPUT` (DESIGN §1).
pub const OUTPUTS: &[(&str, &str)] = &[
    (
        "name",
        "Project name of the dists (with several projects: the project the tag names).",
    ),
    (
        "version",
        "Version of the dists (with several projects: the tag's project).",
    ),
    (
        "uploaded",
        "JSON array of the file names uploaded by this run.",
    ),
    (
        "skipped",
        "JSON array of the file names already on the index.",
    ),
    (
        "package-url",
        "The index's page for this version, when known.",
    ),
    (
        "projects",
        "JSON array with one object per project: name, version, files, package-url.",
    ),
    ("release-url", "URL of the GitHub release."),
    ("release-id", "Numeric id of the GitHub release."),
    (
        "prerelease",
        "Whether the release is a pre-release (true/false).",
    ),
];

/// A setting that may be decided automatically.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Toggle {
    Auto,
    On,
    Off,
}

impl Toggle {
    /// Resolve `auto` with the given automatic value.
    #[must_use]
    pub fn resolve(self, automatic: bool) -> bool {
        match self {
            Self::Auto => automatic,
            Self::On => true,
            Self::Off => false,
        }
    }
}

/// The `release` input: whether this step makes the GitHub release.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReleaseMode {
    /// Made when the run is for a tag and the token may write contents; otherwise a notice
    /// says why not and how to get one, and the job still succeeds.
    Auto,
    /// Required: no tag, no token or no permission is an error, found before any upload when
    /// it can be.
    Required,
    Off,
}

impl ReleaseMode {
    fn parse(value: &str) -> Result<Self, InputError> {
        match parse_toggle("release", value)? {
            Toggle::Auto => Ok(Self::Auto),
            Toggle::On => Ok(Self::Required),
            Toggle::Off => Ok(Self::Off),
        }
    }

    /// Whether a release may be made at all.
    #[must_use]
    pub fn wanted(self) -> bool {
        self != Self::Off
    }
}

impl fmt::Display for ReleaseMode {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(match self {
            Self::Auto => "auto",
            Self::Required => "true",
            Self::Off => "false",
        })
    }
}

/// Everything the run needs, validated.
#[derive(Debug)]
pub struct Settings {
    pub user: String,
    pub password: Option<SecretString>,
    pub repository_url: Url,
    pub packages_dir: PathBuf,
    pub verify_metadata: bool,
    pub check_url: Url,
    pub skip_existing: bool,
    pub verbose: bool,
    pub print_hash: bool,
    pub attestations: bool,
    pub github_token: Option<SecretString>,
    pub release: ReleaseMode,
    /// Explicit `tag` input, or the tag of `GITHUB_REF`.
    pub tag: Option<String>,
    /// Where the tag came from, for messages ("input `tag`" or `GITHUB_REF`).
    pub tag_source: &'static str,
    /// Explicit changelog file (absolute); `None` = auto-detect in the workspace.
    pub changelog: Option<PathBuf>,
    pub prerelease: Toggle,
    pub draft: bool,
    pub release_assets: bool,
    pub make_latest: Toggle,
    pub check_version: bool,
    pub dry_run: bool,
    pub upload_concurrency: usize,
    /// The largest dist `PyPI` / `TestPyPI` take for this project, in bytes (`file-size-limit`).
    pub file_size_limit: u64,
    pub fulcio_url: Url,
    pub rekor_url: Url,
    /// `fulcio-url` or `rekor-url` was set explicitly (allows attestations for any index).
    pub sigstore_overridden: bool,
    /// The workspace all relative paths are resolved against.
    pub workspace: PathBuf,
}

/// An input with a value that cannot be used. Always names the input, the value and the fix.
#[derive(Debug, thiserror::Error)]
#[error("input `{input}`: {problem}")]
pub struct InputError {
    pub input: String,
    pub problem: String,
}

impl InputError {
    fn new(input: &str, problem: impl Into<String>) -> Self {
        Self {
            input: input.to_owned(),
            problem: problem.into(),
        }
    }
}

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
        secrets
    }

    /// Every URL the run may print or send to, inputs and runner variables, for masking the
    /// user info written into them.
    #[must_use]
    pub fn urls(&self) -> Vec<Url> {
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
        inputs
            .chain(runner)
            .filter_map(|value| Url::parse(value).ok())
            .collect()
    }

    fn env(&self, name: &str) -> Option<&str> {
        self.env
            .get(name)
            .map(|value| value.trim())
            .filter(|value| !value.is_empty())
    }
}

pub fn parse_bool(input: &str, value: &str) -> Result<bool, InputError> {
    match value.to_ascii_lowercase().as_str() {
        "true" | "yes" | "1" => Ok(true),
        "false" | "no" | "0" => Ok(false),
        _ => Err(InputError::new(
            input,
            format!("`{value}` is not a boolean; use true or false (yes/no and 1/0 work too)"),
        )),
    }
}

fn parse_toggle(input: &str, value: &str) -> Result<Toggle, InputError> {
    if value.eq_ignore_ascii_case("auto") {
        return Ok(Toggle::Auto);
    }
    match parse_bool(input, value) {
        Ok(true) => Ok(Toggle::On),
        Ok(false) => Ok(Toggle::Off),
        Err(_) => Err(InputError::new(
            input,
            format!("`{value}` is not one of auto, true, false"),
        )),
    }
}

pub fn parse_url(input: &str, value: &str) -> Result<Url, InputError> {
    let raw = value;
    let shown =
        Url::parse(raw).map_or_else(|_| raw.to_owned(), |url| crate::http::display_url(&url));
    let value = shown.as_str();
    let url = Url::parse(raw).map_err(|error| {
        InputError::new(
            input,
            format!(
                "`{value}` is not a URL ({error}); give a full URL such as {DEFAULT_REPOSITORY_URL}"
            ),
        )
    })?;
    match url.scheme() {
        "https" => {}
        "http" if crate::http::is_loopback_host(&url) => {}
        "http" => {
            return Err(InputError::new(
                input,
                format!(
                    "`{value}` uses plain http://, which would send credentials in clear text; use https:// (http:// is allowed only for 127.0.0.1, ::1 and localhost)"
                ),
            ));
        }
        other => {
            return Err(InputError::new(
                input,
                format!("`{value}` has scheme `{other}`; use https://"),
            ));
        }
    }
    if url.host().is_none() {
        return Err(InputError::new(input, format!("`{value}` has no host")));
    }
    Ok(url)
}

/// The user name and password written into a URL (`https://user:password@host/`, or a token
/// as the user name, `https://TOKEN@host/`), percent-decoded; the password may be empty.
#[must_use]
pub fn url_credentials(url: &Url) -> Option<(String, String)> {
    if url.username().is_empty() && url.password().is_none() {
        return None;
    }
    let decode = |text: &str| {
        percent_encoding::percent_decode_str(text)
            .decode_utf8_lossy()
            .into_owned()
    };
    Some((
        decode(url.username()),
        url.password().map(decode).unwrap_or_default(),
    ))
}

/// Ensure a base URL ends with `/` so that joining a relative path keeps its last segment.
#[must_use]
pub fn with_trailing_slash(mut url: Url) -> Url {
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    url
}

/// DESIGN §1: `upload.pypi.org/legacy/` -> `pypi.org/simple/`, `test.pypi.org/legacy/` ->
/// `test.pypi.org/simple/`, `.../legacy/` -> `.../simple/`, otherwise `{repository-url}simple/`.
#[must_use]
pub fn derive_check_url(repository_url: &Url) -> Url {
    let mut url = repository_url.clone();
    url.set_query(None);
    url.set_fragment(None);
    if url.host_str() == Some("upload.pypi.org") {
        let _ = url.set_host(Some("pypi.org"));
    }
    let path = url.path().trim_end_matches('/').to_owned();
    if let Some(parent) = path.strip_suffix("/legacy") {
        url.set_path(&format!("{parent}/simple/"));
        return url;
    }
    with_trailing_slash(url)
        .join("simple/")
        .unwrap_or_else(|_| repository_url.clone())
}

/// The real location of `path` (an existing file or folder), which must be inside `workspace`:
/// `..`, an absolute path elsewhere and a symbolic link pointing out (committed to the
/// repository, say) are refused with an error naming `input`. Returns the canonical path, so
/// that what is read later is what was checked.
pub fn inside_workspace(input: &str, workspace: &Path, path: &Path) -> Result<PathBuf, InputError> {
    let real = std::fs::canonicalize(path).map_err(|error| {
        InputError::new(
            input,
            format!("cannot resolve `{}`: {error}", path.display()),
        )
    })?;
    let root = std::fs::canonicalize(workspace).unwrap_or_else(|_| workspace.to_path_buf());
    if real.starts_with(&root) {
        return Ok(real);
    }
    let how = if real == path {
        String::new()
    } else {
        format!(" (it resolves to `{}`)", real.display())
    };
    Err(InputError::new(
        input,
        format!(
            "`{}` is outside the workspace `{}`{how}; only files of the repository are read: give a path inside it, and no link that points out of it",
            path.display(),
            root.display()
        ),
    ))
}

fn resolve_path(workspace: &Path, value: &str) -> PathBuf {
    let path = Path::new(value);
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        workspace.join(path)
    }
}

impl Settings {
    /// Type and validate every input. Nothing here touches the network.
    pub fn parse(raw: &RawInputs, workspace: &Path) -> Result<Self, InputError> {
        let text = |name: &str| -> String {
            raw.get(name)
                .map_or_else(|| default_of(name).to_owned(), str::to_owned)
        };
        let boolean = |name: &str| -> Result<bool, InputError> { parse_bool(name, &text(name)) };

        let repository_url = parse_url("repository-url", &text("repository-url"))?;
        let check_url = match raw.get("check-url") {
            Some(value) => with_trailing_slash(parse_url("check-url", value)?),
            None => derive_check_url(&repository_url),
        };

        let packages_dir = resolve_path(workspace, &text("packages-dir"));
        if !packages_dir.is_dir() {
            let problem = if packages_dir.exists() {
                format!(
                    "`{}` is not a directory; point it at the folder your build wrote the dists to",
                    packages_dir.display()
                )
            } else {
                format!(
                    "directory `{}` does not exist; build the dists first (`python -m build` writes dist/) or set packages-dir to where they are",
                    packages_dir.display()
                )
            };
            return Err(InputError::new("packages-dir", problem));
        }
        // In Actions the workspace is the repository the workflow checked out: nothing else
        // is published from (`packages-dir: /`, `../..`).
        if raw.env("GITHUB_ACTIONS") == Some("true") {
            inside_workspace("packages-dir", workspace, &packages_dir)?;
        }

        let password = raw
            .password()
            .map(|value| SecretString::from(value.to_owned()));
        let github_token = raw
            .github_token()
            .map(|value| SecretString::from(value.to_owned()));

        let (tag, tag_source) = match raw.get("tag") {
            Some(tag) => (Some(tag.to_owned()), "input `tag`"),
            None => (
                raw.env("GITHUB_REF")
                    .and_then(|r| r.strip_prefix("refs/tags/"))
                    .map(str::to_owned),
                "GITHUB_REF",
            ),
        };
        if let Some(tag) = &tag {
            if tag.chars().any(|c| c.is_whitespace() || c.is_control()) {
                return Err(InputError::new(
                    "tag",
                    format!("`{tag}` contains white space; give the tag name, e.g. v1.2.3"),
                ));
            }
        }

        let changelog = match raw.get("changelog") {
            Some(value) => {
                let path = resolve_path(workspace, value);
                if !path.is_file() {
                    return Err(InputError::new(
                        "changelog",
                        format!(
                            "file `{}` does not exist; give a path relative to the repository root, or leave it empty to auto-detect CHANGELOG.md and friends",
                            path.display()
                        ),
                    ));
                }
                Some(inside_workspace("changelog", workspace, &path)?)
            }
            None => None,
        };

        let concurrency_text = text("upload-concurrency");
        let upload_concurrency = concurrency_text
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=16).contains(n))
            .ok_or_else(|| {
                InputError::new(
                    "upload-concurrency",
                    format!("`{concurrency_text}` is not a whole number from 1 to 16"),
                )
            })?;

        let file_size_limit = parse_size("file-size-limit", &text("file-size-limit"))?;
        let fulcio_url = parse_url("fulcio-url", &text("fulcio-url"))?;
        let rekor_url = parse_url("rekor-url", &text("rekor-url"))?;
        // The runner passes action.yml's defaults as values: only a different URL counts.
        let sigstore_overridden = differs_from(&fulcio_url, DEFAULT_FULCIO_URL)
            || differs_from(&rekor_url, DEFAULT_REKOR_URL);

        Ok(Self {
            user: text("user"),
            password,
            repository_url,
            packages_dir,
            verify_metadata: boolean("verify-metadata")?,
            check_url,
            skip_existing: boolean("skip-existing")?,
            verbose: boolean("verbose")?,
            print_hash: boolean("print-hash")?,
            attestations: boolean("attestations")?,
            github_token,
            release: ReleaseMode::parse(&text("release"))?,
            tag,
            tag_source,
            changelog,
            prerelease: parse_toggle("prerelease", &text("prerelease"))?,
            draft: boolean("draft")?,
            release_assets: boolean("release-assets")?,
            make_latest: parse_toggle("make-latest", &text("make-latest"))?,
            check_version: boolean("check-version")?,
            dry_run: boolean("dry-run")?,
            upload_concurrency,
            file_size_limit,
            fulcio_url,
            rekor_url,
            sigstore_overridden,
            workspace: workspace.to_path_buf(),
        })
    }

    /// Trusted Publishing is used when no password is given (neither as `password` nor in
    /// `repository-url`) and the user is `__token__`.
    #[must_use]
    pub fn trusted_publishing(&self) -> bool {
        self.password.is_none()
            && self.user == "__token__"
            && url_credentials(&self.repository_url).is_none()
    }
}

/// A size like `100 MiB`, `1 GiB` or `200` (MiB). `MB` and `GB` are read as `PyPI` writes them
/// in its limits and errors: powers of 1024.
fn parse_size(input: &str, value: &str) -> Result<u64, InputError> {
    const MIB: u64 = 1024 * 1024;
    let compact: String = value.chars().filter(|c| !c.is_whitespace()).collect();
    let split = compact
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(compact.len());
    let (number, unit) = compact.split_at(split);
    let scale = match unit.to_ascii_lowercase().as_str() {
        "" | "mib" | "mb" => Some(MIB),
        "gib" | "gb" => Some(1024 * MIB),
        _ => None,
    };
    number
        .parse::<u64>()
        .ok()
        .zip(scale)
        .and_then(|(number, scale)| number.checked_mul(scale))
        .filter(|bytes| *bytes >= MIB)
        .ok_or_else(|| {
            InputError::new(
                input,
                format!(
                    "`{value}` is not a size; write the limit PyPI set for the project, like `200 MiB` or `1 GiB` (the default is `100 MiB`)"
                ),
            )
        })
}

/// Whether a URL input names another service than its default (the runner passes action.yml's
/// defaults as values, so "set" alone means nothing).
fn differs_from(url: &Url, default: &str) -> bool {
    Url::parse(default).map_or(true, |default| default != *url)
}

fn default_of(name: &str) -> &'static str {
    INPUTS
        .iter()
        .find(|spec| spec.name == name)
        .map_or("", |spec| spec.default)
}

impl fmt::Display for Toggle {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(match self {
            Self::Auto => "auto",
            Self::On => "true",
            Self::Off => "false",
        })
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

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(pairs: &[(&str, &str)]) -> RawInputs {
        RawInputs {
            flags: BTreeMap::new(),
            env: pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        }
    }

    #[test]
    fn check_url_derivation_follows_the_contract() {
        let cases = [
            (
                "https://upload.pypi.org/legacy/",
                "https://pypi.org/simple/",
            ),
            (
                "https://test.pypi.org/legacy/",
                "https://test.pypi.org/simple/",
            ),
            (
                "https://example.com/pypi/legacy/",
                "https://example.com/pypi/simple/",
            ),
            ("http://127.0.0.1:8080/", "http://127.0.0.1:8080/simple/"),
            (
                "https://example.com/upload",
                "https://example.com/upload/simple/",
            ),
        ];
        for (repository, expected) in cases {
            assert_eq!(
                derive_check_url(&Url::parse(repository).unwrap()).as_str(),
                expected,
                "{repository}"
            );
        }
    }

    #[test]
    fn hyphen_and_underscore_spellings_are_both_read() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("out")).unwrap();
        let hyphen = Settings::parse(&raw(&[("INPUT_PACKAGES-DIR", "out")]), dir.path()).unwrap();
        let underscore =
            Settings::parse(&raw(&[("INPUT_PACKAGES_DIR", "out")]), dir.path()).unwrap();
        assert_eq!(hyphen.packages_dir, dir.path().join("out"));
        assert_eq!(underscore.packages_dir, dir.path().join("out"));
    }

    #[test]
    fn deprecated_aliases_work_and_the_canonical_name_wins() {
        let dir = tempfile::tempdir().unwrap();
        for folder in ["dist", "old", "new"] {
            std::fs::create_dir(dir.path().join(folder)).unwrap();
        }
        let parse = |pairs: &[(&str, &str)]| Settings::parse(&raw(pairs), dir.path()).unwrap();
        // As the runner passes them for `with: packages_dir: old`: every declared input, the
        // unset ones (no default in action.yml) empty.
        let alias_only = parse(&[
            ("INPUT_PACKAGES-DIR", ""),
            ("INPUT_PACKAGES_DIR", "old"),
            ("INPUT_SKIP-EXISTING", ""),
            ("INPUT_SKIP_EXISTING", "true"),
            ("INPUT_PRINT-HASH", ""),
            ("INPUT_PRINT_HASH", "false"),
            ("INPUT_VERIFY-METADATA", ""),
            ("INPUT_VERIFY_METADATA", "false"),
            ("INPUT_REPOSITORY-URL", ""),
            ("INPUT_REPOSITORY_URL", "https://test.pypi.org/legacy/"),
        ]);
        assert_eq!(alias_only.packages_dir, dir.path().join("old"));
        assert!(alias_only.skip_existing && !alias_only.print_hash && !alias_only.verify_metadata);
        assert_eq!(
            alias_only.repository_url.as_str(),
            "https://test.pypi.org/legacy/"
        );
        let both = parse(&[
            ("INPUT_PACKAGES-DIR", "new"),
            ("INPUT_PACKAGES_DIR", "old"),
            ("INPUT_PRINT-HASH", "true"),
            ("INPUT_PRINT_HASH", "false"),
        ]);
        assert_eq!(both.packages_dir, dir.path().join("new"));
        assert!(both.print_hash);
        // Neither given: both arrive empty and the defaults apply.
        let neither = parse(&[
            ("INPUT_PACKAGES-DIR", ""),
            ("INPUT_PACKAGES_DIR", ""),
            ("INPUT_PRINT-HASH", ""),
            ("INPUT_PRINT_HASH", ""),
        ]);
        assert_eq!(neither.packages_dir, dir.path().join("dist"));
        assert!(neither.print_hash);
        let aliased: Vec<&str> = INPUTS.iter().filter_map(|spec| spec.alias).collect();
        assert_eq!(
            aliased,
            [
                "repository_url",
                "packages_dir",
                "verify_metadata",
                "skip_existing",
                "print_hash"
            ]
        );
    }

    #[test]
    fn release_is_auto_unless_told_otherwise() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("dist")).unwrap();
        let mode = |value: &str| {
            Settings::parse(&raw(&[("INPUT_RELEASE", value)]), dir.path()).map(|s| s.release)
        };
        assert_eq!(mode("").unwrap(), ReleaseMode::Auto);
        assert_eq!(mode("AUTO").unwrap(), ReleaseMode::Auto);
        assert_eq!(mode("yes").unwrap(), ReleaseMode::Required);
        assert_eq!(mode("0").unwrap(), ReleaseMode::Off);
        assert_eq!(
            mode("sometimes").unwrap_err().to_string(),
            "input `release`: `sometimes` is not one of auto, true, false"
        );
    }

    #[test]
    fn booleans_accept_the_documented_spellings_and_name_the_input_otherwise() {
        for value in ["true", "TRUE", "yes", "1", "False", "no", "0"] {
            assert!(parse_bool("verbose", value).is_ok(), "{value}");
        }
        for value in ["on", "off", "2", "y"] {
            assert!(
                parse_bool("verbose", value).is_err(),
                "{value} is not in the contract"
            );
        }
        let error = parse_bool("verify-metadata", "maybe").unwrap_err();
        assert_eq!(
            error.to_string(),
            "input `verify-metadata`: `maybe` is not a boolean; use true or false (yes/no and 1/0 work too)"
        );
    }

    #[test]
    fn file_size_limits_read_as_pypi_writes_them() {
        const MIB: u64 = 1024 * 1024;
        for (value, bytes) in [
            ("100 MiB", 100 * MIB),
            ("200MB", 200 * MIB),
            ("1 GiB", 1024 * MIB),
            ("2gb", 2048 * MIB),
            ("150", 150 * MIB),
        ] {
            assert_eq!(
                parse_size("file-size-limit", value).unwrap(),
                bytes,
                "{value}"
            );
        }
        for value in [
            "",
            "big",
            "0",
            "1.5 GiB",
            "100 KiB",
            "-5 MiB",
            "99999999999999 GiB",
        ] {
            let error = parse_size("file-size-limit", value).unwrap_err();
            assert!(
                error
                    .to_string()
                    .starts_with(&format!("input `file-size-limit`: `{value}` is not a size")),
                "{error}"
            );
        }
        assert_eq!(
            parse_size("file-size-limit", default_of("file-size-limit")).unwrap(),
            DEFAULT_FILE_SIZE_LIMIT
        );
    }

    #[test]
    fn plain_http_is_refused_except_for_loopback() {
        assert!(parse_url("repository-url", "http://127.0.0.1:8080/").is_ok());
        assert!(parse_url("repository-url", "http://localhost/").is_ok());
        assert!(parse_url("repository-url", "http://[::1]:9/").is_ok());
        let error = parse_url("repository-url", "http://pypi.example.com/legacy/").unwrap_err();
        assert!(error.to_string().contains("clear text"), "{error}");
    }

    #[test]
    fn empty_values_mean_the_default() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("dist")).unwrap();
        let settings = Settings::parse(
            &raw(&[("INPUT_VERBOSE", ""), ("INPUT_REPOSITORY-URL", "")]),
            dir.path(),
        )
        .unwrap();
        assert!(!settings.verbose);
        assert_eq!(settings.repository_url.as_str(), DEFAULT_REPOSITORY_URL);
        assert_eq!(settings.check_url.as_str(), "https://pypi.org/simple/");
        assert!(settings.trusted_publishing());
    }

    #[test]
    fn tag_comes_from_github_ref_only_for_tags() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("dist")).unwrap();
        let tagged =
            Settings::parse(&raw(&[("GITHUB_REF", "refs/tags/v1.2.3")]), dir.path()).unwrap();
        assert_eq!(tagged.tag.as_deref(), Some("v1.2.3"));
        let branch =
            Settings::parse(&raw(&[("GITHUB_REF", "refs/heads/main")]), dir.path()).unwrap();
        assert_eq!(branch.tag, None);
    }

    #[test]
    fn raw_inputs_debug_names_variables_but_never_prints_values() {
        let inputs = raw(&[
            ("INPUT_PASSWORD", "pypi-very-secret-value"),
            ("GITHUB_TOKEN", "ghs_secret"),
        ]);
        let text = format!("{inputs:?}");
        assert!(text.contains("INPUT_PASSWORD"), "{text}");
        assert!(
            !text.contains("pypi-very-secret-value") && !text.contains("ghs_secret"),
            "{text}"
        );
    }

    #[test]
    fn passwords_written_into_urls_are_secrets_too() {
        let inputs = raw(&[(
            "INPUT_CHECK-URL",
            "https://reader:p%40ss-word-1@pkgs.example.com/simple/",
        )]);
        let secrets = inputs.secrets();
        assert!(secrets.contains(&"p%40ss-word-1".to_owned()), "{secrets:?}");
        assert!(secrets.contains(&"p@ss-word-1".to_owned()), "{secrets:?}");
    }
}
