//! The typed settings of DESIGN.md §1, parsed once at the edge from `INPUT_*` variables (the
//! GitHub runner's spelling, hyphens kept, underscores accepted) or command-line flags.

mod raw;
mod spec;
mod values;

use std::path::{Path, PathBuf};

use secrecy::SecretString;
use url::Url;

pub use raw::{RawInputs, command, raw_inputs};
use spec::default_of;
pub use spec::{
    DEFAULT_FILE_SIZE_LIMIT, DEFAULT_FULCIO_URL, DEFAULT_REKOR_URL, DEFAULT_REPOSITORY_URL, INPUTS,
    InputKind, InputSpec, OUTPUTS, deprecation_message,
};
pub use values::{
    InputError, ReleaseMode, Toggle, derive_check_url, inside_workspace, parse_bool, parse_url,
    url_credentials, with_trailing_slash,
};
use values::{differs_from, parse_size, parse_toggle, resolve_path};

/// Everything the run needs, validated. Holds credentials (also in URLs, and a token may be
/// the `user`), so its `Debug` shows URLs without user info and query, and no credential.
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

    /// `user` for display: `__token__` as it is, any other name hidden (an index may take a
    /// token as the user name).
    fn shown_user(&self) -> &str {
        if self.user == "__token__" {
            &self.user
        } else {
            "***"
        }
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

impl std::fmt::Debug for Settings {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let url = crate::http::display_url;
        let set = |secret: &Option<SecretString>| secret.as_ref().map(|_| "***");
        formatter
            .debug_struct("Settings")
            .field("user", &self.shown_user())
            .field("password", &set(&self.password))
            .field("repository_url", &url(&self.repository_url))
            .field("packages_dir", &self.packages_dir)
            .field("verify_metadata", &self.verify_metadata)
            .field("check_url", &url(&self.check_url))
            .field("skip_existing", &self.skip_existing)
            .field("verbose", &self.verbose)
            .field("print_hash", &self.print_hash)
            .field("attestations", &self.attestations)
            .field("github_token", &set(&self.github_token))
            .field("release", &self.release)
            .field("tag", &self.tag)
            .field("tag_source", &self.tag_source)
            .field("changelog", &self.changelog)
            .field("prerelease", &self.prerelease)
            .field("draft", &self.draft)
            .field("release_assets", &self.release_assets)
            .field("make_latest", &self.make_latest)
            .field("check_version", &self.check_version)
            .field("dry_run", &self.dry_run)
            .field("upload_concurrency", &self.upload_concurrency)
            .field("file_size_limit", &self.file_size_limit)
            .field("fulcio_url", &url(&self.fulcio_url))
            .field("rekor_url", &url(&self.rekor_url))
            .field("sigstore_overridden", &self.sigstore_overridden)
            .field("workspace", &self.workspace)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

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
    fn a_url_that_does_not_parse_is_shown_without_its_user_info() {
        let error = parse_url(
            "repository-url",
            "https://__token__:pypi-SECRETTOKEN123@upload.pypi.org:99999/legacy/",
        )
        .unwrap_err()
        .to_string();
        assert_eq!(
            error,
            "input `repository-url`: `https://***@upload.pypi.org:99999/legacy/` is not a URL (invalid port number); give a full URL such as https://upload.pypi.org/legacy/"
        );
        // No scheme (`bob` is taken for one): the user info starts the value.
        let error = parse_url("check-url", "bob:hunter2-pw@pkgs.example.com/simple/")
            .unwrap_err()
            .to_string();
        assert!(error.contains("`***@pkgs.example.com/simple/`"), "{error}");
        // An `@` in the path is not user info.
        let error = parse_url("check-url", "https://pkgs.example.com:99999/a@b/")
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("`https://pkgs.example.com:99999/a@b/`"),
            "{error}"
        );
    }

    #[test]
    fn the_user_info_of_a_url_that_does_not_parse_is_secret() {
        let inputs = raw(&[
            (
                "INPUT_REPOSITORY-URL",
                "https://__token__:pypi-SECRET%2FTOKEN@upload.pypi.org:99999/legacy/",
            ),
            (
                "INPUT_CHECK-URL",
                "https://reader-name:pw@pkgs.example.com:0x/",
            ),
            (
                "INPUT_FULCIO-URL",
                "fulcio-user:fulcio-pw@fulcio.example.com/",
            ),
        ]);
        let secrets = inputs.secrets();
        for expected in [
            "pypi-SECRET%2FTOKEN",
            "pypi-SECRET/TOKEN",
            "__token__:pypi-SECRET%2FTOKEN@",
            "reader-name",
            "reader-name:pw@",
            "fulcio-user",
            "fulcio-pw",
        ] {
            assert!(
                secrets.contains(&expected.to_owned()),
                "{expected}: {secrets:?}"
            );
        }
        assert!(!secrets.contains(&"__token__".to_owned()), "{secrets:?}");
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
    fn settings_debug_shows_no_credential() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("dist")).unwrap();
        let settings = Settings::parse(
            &raw(&[
                ("INPUT_USER", "FURYUSERTOKEN0123"),
                ("INPUT_PASSWORD", "pypi-password-0123"),
                ("INPUT_GITHUB-TOKEN", "ghs_token0123456789"),
                (
                    "INPUT_REPOSITORY-URL",
                    "https://alice:URLPASSWORD0123@pkgs.example.com/legacy/?t=QUERYTOKEN0123",
                ),
                (
                    "INPUT_CHECK-URL",
                    "https://CHECKTOKEN0123@pkgs.example.com/simple/",
                ),
                (
                    "INPUT_FULCIO-URL",
                    "https://bob:FULCIOPW0123@fulcio.example.com/",
                ),
                (
                    "INPUT_REKOR-URL",
                    "https://carol:REKORPW0123@rekor.example.com/",
                ),
            ]),
            dir.path(),
        )
        .unwrap();
        let text = format!("{settings:?}");
        for secret in [
            "FURYUSERTOKEN0123",
            "pypi-password-0123",
            "ghs_token0123456789",
            "alice",
            "URLPASSWORD0123",
            "QUERYTOKEN0123",
            "CHECKTOKEN0123",
            "FULCIOPW0123",
            "REKORPW0123",
        ] {
            assert!(!text.contains(secret), "{secret}: {text}");
        }
        assert!(
            text.contains("https://pkgs.example.com/legacy/")
                && text.contains("password: Some(\"***\")"),
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
