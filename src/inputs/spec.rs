//! The inputs of action.yml (DESIGN §1) and the outputs: one table, the single source of truth
//! for the CLI flags, the environment names, the defaults, the deprecated aliases and the
//! action.yml consistency test.

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

pub(super) fn default_of(name: &str) -> &'static str {
    INPUTS
        .iter()
        .find(|spec| spec.name == name)
        .map_or("", |spec| spec.default)
}
