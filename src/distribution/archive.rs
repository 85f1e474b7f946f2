//! What wheels and sdists share: `PyPI`'s archive limits, the limits of our own that keep a
//! hostile archive from exhausting memory or time, member path safety, and the findings.

use std::borrow::Cow;

/// `PyPI`'s zip bomb rule (Warehouse `forklift/legacy.py` `COMPRESSION_RATIO_*`): a zip whose
/// members declare more than 64 MiB in total, and more than 50 times the file's size (a float
/// ratio, so 50.5 is over), is refused. Warehouse applies it to zips only.
pub const PYPI_RATIO_MIN_UNPACKED: u64 = 64 * 1024 * 1024;
pub const PYPI_MAX_RATIO: u64 = 50;

/// Whether `unpacked` bytes declared in a `packed`-byte zip break `PyPI`'s ratio rule.
/// `unpacked / packed > 50` in exact integer arithmetic (Warehouse divides as floats).
#[must_use]
pub fn pypi_ratio_exceeded(unpacked: u64, packed: u64) -> bool {
    unpacked > PYPI_RATIO_MIN_UNPACKED
        && u128::from(unpacked) > u128::from(PYPI_MAX_RATIO) * u128::from(packed)
}

// Our own limits, stricter than PyPI on purpose (README, "Stricter than PyPI on purpose"):
// verification must end in bounded memory and time whatever the input.

/// More members than this is an error (a real dist has hundreds, a huge one tens of thousands).
pub const MAX_ENTRIES: usize = 100_000;

/// A member name longer than this cannot be unpacked (Linux `PATH_MAX`): refused, and never
/// copied whole into a message.
pub const MAX_NAME_BYTES: usize = 4096;

/// A zip's central directory, or all of a tar's member names together: what the checks keep
/// in memory per archive (a wheel with 100 000 members has about 10 MiB).
pub const MAX_DIRECTORY_BYTES: u64 = 32 * 1024 * 1024;

/// A tar extension record (GNU long name or link, PAX header) larger than this is refused
/// before it is read into memory; real ones are a few hundred bytes.
pub const MAX_HEADER_RECORD_BYTES: u64 = 1024 * 1024;

/// An sdist may unpack to this much, or to [`SDIST_MAX_RATIO`] times its size if that is more.
/// `PyPI` has no limit for tar (Warehouse notes it as a TODO); we stop a gzip bomb here.
pub const SDIST_MIN_UNPACKED_LIMIT: u64 = 1024 * 1024 * 1024;
pub const SDIST_MAX_RATIO: u64 = 100;

/// The most an sdist of `packed` bytes may unpack to.
#[must_use]
pub fn sdist_unpacked_limit(packed: u64) -> u64 {
    packed
        .saturating_mul(SDIST_MAX_RATIO)
        .max(SDIST_MIN_UNPACKED_LIMIT)
}

/// The buffer every member is streamed through.
pub const BUFFER_BYTES: usize = 128 * 1024;

/// Member names, link targets and other archive text in messages: at most this many bytes.
const SHOWN_BYTES: usize = 160;

/// Archive text for a message: whole when short, else its start and its length, so a hostile
/// name never becomes a megabyte line in the log.
#[must_use]
pub fn shorten(text: &str) -> Cow<'_, str> {
    if text.len() <= SHOWN_BYTES {
        return Cow::Borrowed(text);
    }
    let mut end = SHOWN_BYTES;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    Cow::Owned(format!("{}... ({} bytes)", &text[..end], text.len()))
}

/// Whether a finding must stop the upload, or is advice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Error,
    Warning,
}

/// Structure checks protect the upload and always run; metadata content rules are skipped
/// with `verify-metadata: false`, except those `PyPI` certainly applies to the upload form
/// when the target is `PyPI` or `TestPyPI` (a form it refuses is never sent).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Category {
    Structure,
    Metadata,
    /// A rule `PyPI` applies to every upload form: always for `PyPI`/`TestPyPI`, with
    /// `verify-metadata` for other indexes.
    PypiForm,
}

/// One problem in one dist: the member if any, and a message with expected, found and fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub severity: Severity,
    pub category: Category,
    pub member: Option<String>,
    pub message: String,
}

impl Finding {
    pub fn error(member: Option<&str>, message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Error,
            category: Category::Structure,
            member: member.map(|member| shorten(member).into_owned()),
            message: message.into(),
        }
    }

    pub fn warning(member: Option<&str>, message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Warning,
            ..Self::error(member, message)
        }
    }

    #[must_use]
    pub fn metadata(mut self) -> Self {
        self.category = Category::Metadata;
        self
    }

    #[must_use]
    pub fn pypi_form(mut self) -> Self {
        self.category = Category::PypiForm;
        self
    }

    /// `file: member: message`, the line the user reads.
    #[must_use]
    pub fn render(&self, file: &str) -> String {
        match &self.member {
            Some(member) => format!("{file}: {member}: {}", self.message),
            None => format!("{file}: {}", self.message),
        }
    }
}

/// What reading one archive found: the metadata text, the members, the findings.
#[derive(Debug, Default)]
pub struct Inspection {
    /// `{name}-{version}.dist-info/METADATA` or `{top}/PKG-INFO`.
    pub metadata_member: String,
    pub metadata_text: Option<String>,
    /// Prefix of `License-File` paths in this archive.
    pub license_root: String,
    /// Every member name (files; folders too for sdists).
    pub members: std::collections::HashSet<String>,
    pub findings: Vec<Finding>,
}

impl Inspection {
    #[must_use]
    pub fn fatal(finding: Finding) -> Self {
        Self {
            findings: vec![finding],
            ..Self::default()
        }
    }

    pub fn push(&mut self, finding: Finding) {
        self.findings.push(finding);
    }

    #[must_use]
    pub fn has_errors(&self) -> bool {
        self.findings
            .iter()
            .any(|finding| finding.severity == Severity::Error)
    }
}

/// Why a member path is unsafe to unpack, if it is: absolute, a `..` step, a drive or
/// backslash path, a control character.
#[must_use]
pub fn unsafe_path(path: &str) -> Option<&'static str> {
    if path.starts_with('/') {
        return Some("an absolute path");
    }
    if path.contains('\\') {
        return Some("a backslash (Windows separator) in the path");
    }
    if path.chars().any(char::is_control) {
        return Some("a control character in the path");
    }
    if path.len() > 1 && path.as_bytes()[1] == b':' {
        return Some("a drive letter");
    }
    if path.split('/').any(|part| part == "..") {
        return Some("a `..` step that leaves the archive's folder");
    }
    None
}

/// Resolve `target` relative to the folder `base` (both `/`-separated, relative), `None` when
/// it climbs above the root.
#[must_use]
pub fn resolve(base: &str, target: &str) -> Option<String> {
    let mut parts: Vec<&str> = base.split('/').filter(|p| !p.is_empty()).collect();
    for part in target.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            other => parts.push(other),
        }
    }
    Some(parts.join("/"))
}

/// Human size for messages.
#[must_use]
pub fn human(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["bytes", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes;
    let mut unit = 0;
    while value >= 10 * 1024 && unit < UNITS.len() - 1 {
        value /= 1024;
        unit += 1;
    }
    format!("{value} {}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsafe_paths() {
        assert_eq!(unsafe_path("pkg/mod.py"), None);
        assert!(unsafe_path("/etc/passwd").is_some());
        assert!(unsafe_path("pkg/../../x").is_some());
        assert!(unsafe_path("C:/x").is_some());
        assert!(unsafe_path("a\\b").is_some());
    }

    #[test]
    fn link_resolution() {
        assert_eq!(resolve("demo-1.0/a", "../b").as_deref(), Some("demo-1.0/b"));
        assert_eq!(resolve("demo-1.0", "../../etc/passwd"), None);
        assert_eq!(resolve("", "x/./y").as_deref(), Some("x/y"));
    }

    #[test]
    fn ratio_rule_matches_warehouse() {
        const MIB: u64 = 1024 * 1024;
        // Only past 64 MiB unpacked, however high the ratio.
        assert!(!pypi_ratio_exceeded(64 * MIB, 1));
        assert!(pypi_ratio_exceeded(64 * MIB + 1, 1));
        assert!(pypi_ratio_exceeded(100 * MIB, 1024));
        assert!(!pypi_ratio_exceeded(100 * MIB, 10 * MIB));
        // A float ratio: 50.5 is over 50 (an integer division would say 50).
        assert!(pypi_ratio_exceeded(101 * MIB, 2 * MIB));
        assert!(!pypi_ratio_exceeded(100 * MIB, 2 * MIB));
    }

    #[test]
    fn long_text_is_shortened() {
        assert_eq!(shorten("pkg/mod.py"), "pkg/mod.py");
        let long = "é".repeat(5000);
        let shown = shorten(&long);
        assert!(shown.len() < 200, "{shown}");
        assert!(shown.ends_with("... (10000 bytes)"), "{shown}");
    }
}
