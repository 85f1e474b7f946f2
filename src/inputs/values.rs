//! One input's value, parsed and validated: booleans, `auto`/`true`/`false` toggles, the
//! release mode, URLs (https, or http to loopback; credentials in them), sizes and paths inside
//! the workspace. Every error names the input and the fix.

use std::fmt;
use std::path::{Path, PathBuf};

use url::Url;

use super::spec::DEFAULT_REPOSITORY_URL;

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

impl fmt::Display for Toggle {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(match self {
            Self::Auto => "auto",
            Self::On => "true",
            Self::Off => "false",
        })
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
    pub(super) fn parse(value: &str) -> Result<Self, InputError> {
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

/// An input with a value that cannot be used. Always names the input, the value and the fix.
#[derive(Debug, thiserror::Error)]
#[error("input `{input}`: {problem}")]
pub struct InputError {
    pub input: String,
    pub problem: String,
}

impl InputError {
    pub(super) fn new(input: &str, problem: impl Into<String>) -> Self {
        Self {
            input: input.to_owned(),
            problem: problem.into(),
        }
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

pub(super) fn parse_toggle(input: &str, value: &str) -> Result<Toggle, InputError> {
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
    // Never the user info: a URL that does not parse (or parses without a host, as
    // `user:password@host/` does: scheme `user`) may still carry a password.
    let shown = match Url::parse(raw) {
        Ok(url) if url.has_host() => crate::http::display_url(&url),
        _ => without_written_user_info(raw),
    };
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

/// Where the user info sits in a URL as written, whether or not it parses: from after `://`
/// (the start, when there is none) to the last `@` before the next `/`. A value `Url::parse`
/// refuses (a bad port, a stray space) may still carry a password, which must neither be
/// echoed nor go unmasked.
fn written_user_info(value: &str) -> Option<std::ops::Range<usize>> {
    let start = value.find("://").map_or(0, |at| at + "://".len());
    let authority = value[start..].split('/').next().unwrap_or_default();
    let at = authority.rfind('@')?;
    Some(start..start + at)
}

/// `value` with its written user info replaced by `***` (`https://***@host:99999/`).
fn without_written_user_info(value: &str) -> String {
    match written_user_info(value) {
        Some(range) => format!("{}***{}", &value[..range.start], &value[range.end..]),
        None => value.to_owned(),
    }
}

/// The user name and password written into a URL that does not parse into one with a host
/// (whose user info [`url_credentials`] reads), as written, the password split off at the
/// first `:` as a parser would: to be masked all the same.
#[must_use]
pub(super) fn written_credentials(value: &str) -> Option<(String, Option<String>)> {
    if Url::parse(value).is_ok_and(|url| url.has_host()) {
        return None;
    }
    let user_info = &value[written_user_info(value)?];
    Some(match user_info.split_once(':') {
        Some((user, password)) => (user.to_owned(), Some(password.to_owned())),
        None => (user_info.to_owned(), None),
    })
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

pub(super) fn resolve_path(workspace: &Path, value: &str) -> PathBuf {
    let path = Path::new(value);
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        workspace.join(path)
    }
}

/// A size like `100 MiB`, `1 GiB` or `200` (MiB). `MB` and `GB` are read as `PyPI` writes them
/// in its limits and errors: powers of 1024.
pub(super) fn parse_size(input: &str, value: &str) -> Result<u64, InputError> {
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
pub(super) fn differs_from(url: &Url, default: &str) -> bool {
    Url::parse(default).map_or(true, |default| default != *url)
}
