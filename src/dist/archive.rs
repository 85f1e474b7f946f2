//! What wheels and sdists share: the limits that keep a hostile archive from exhausting memory
//! or time, member path safety, and the findings the checks produce.

use std::cell::Cell;
use std::io::Read;
use std::rc::Rc;

/// More members than this is an error (a real dist has hundreds, a huge one tens of thousands).
pub const MAX_ENTRIES: usize = 100_000;

/// Warehouse's zip bomb rule (`forklift/legacy.py`): an archive unpacking to more than 64 MiB
/// and more than 50 times its own size is refused.
pub const RATIO_MIN_UNPACKED: u64 = 64 * 1024 * 1024;
pub const MAX_RATIO: u64 = 50;

/// The buffer every member is streamed through.
pub const BUFFER_BYTES: usize = 128 * 1024;

/// Whether `unpacked` bytes from a `packed`-byte archive exceed what `PyPI` accepts.
#[must_use]
pub fn exceeds_ratio(unpacked: u64, packed: u64) -> bool {
    unpacked > RATIO_MIN_UNPACKED && unpacked / packed.max(1) > MAX_RATIO
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
            member: member.map(str::to_owned),
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

/// A reader that counts the bytes passing through it (compressed or unpacked side).
pub struct Counting<R> {
    inner: R,
    count: Rc<Cell<u64>>,
}

impl<R> Counting<R> {
    pub fn new(inner: R) -> (Self, Rc<Cell<u64>>) {
        let count = Rc::new(Cell::new(0));
        (
            Self {
                inner,
                count: Rc::clone(&count),
            },
            count,
        )
    }
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
        let read = self.inner.read(buffer)?;
        self.count.set(self.count.get() + read as u64);
        Ok(read)
    }
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
        assert!(!exceeds_ratio(60 * 1024 * 1024, 1));
        assert!(exceeds_ratio(100 * 1024 * 1024, 1024));
        assert!(!exceeds_ratio(100 * 1024 * 1024, 10 * 1024 * 1024));
    }
}
