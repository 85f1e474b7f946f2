//! `PyPI`'s scan for obfuscated code (Warehouse `utils/scanner.py` with the YARA rules in
//! `utils/scanner_rules/`): a `.py` or `.pye` member of at most 5 MiB holding `PyArmor`'s
//! runtime calls, or both `SourceDefender` markers, is refused. The same byte patterns are
//! searched here while the member streams through, so the scan costs no extra read.

use memchr::memmem;

/// Members larger than this are not scanned (Warehouse `_SCAN_MAX_FILE_SIZE`).
pub const MAX_SCANNED_BYTES: u64 = 5 * 1024 * 1024;

/// `pyarmor.yar`: any of these.
const PYARMOR: [&[u8]; 5] = [
    b"__pyarmor__(__name__, __file__,",
    b"__pyarmor_enter__",
    b"__pyarmor_exit__",
    b"__pyarmor_assert__",
    b"__pyarmor_bcc__",
];
const PYARMOR_PREFIX: &[u8] = b"__pyarmor";

/// `sourcedefender.yar`: both of these, found through their common end.
const PYE_BEGIN: &[u8] = b"---BEGIN PYE FILE---";
const PYE_END: &[u8] = b"---END PYE FILE---";
const PYE_COMMON: &[u8] = b"PYE FILE---";

/// The longest pattern, less one: how much of one chunk is kept to find a match spanning two.
const OVERLAP: usize = 31;

/// What a rule found, in `PyPI`'s words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Obfuscation {
    PyArmor,
    SourceDefender,
}

impl Obfuscation {
    /// The finding, with `PyPI`'s message (the rules' `message` metadata) and the fix.
    #[must_use]
    pub fn message(self) -> String {
        let (what, found) = match self {
            Self::PyArmor => ("PyArmor", "PyArmor's runtime calls (`__pyarmor__`)"),
            Self::SourceDefender => ("SourceDefender", "SourceDefender's `PYE FILE` markers"),
        };
        format!(
            "holds {found}: PyPI refuses it (\"{what}-encrypted content is not allowed\", https://pypi.org/policy/acceptable-use-policy/). Publish the plain source instead of the obfuscated build"
        )
    }
}

/// Whether Warehouse scans a member of this name: its suffix, lower-cased, is `.py` or `.pye`
/// (Python's `PurePath.suffix`: the last component's text from its last dot, not a leading one).
#[must_use]
pub fn scannable(name: &str) -> bool {
    if name.ends_with('/') {
        return false;
    }
    let last = name.rsplit('/').next().unwrap_or(name);
    match last.rfind('.') {
        Some(dot) if dot > 0 && dot < last.len() - 1 => {
            let suffix = &last[dot..];
            suffix.eq_ignore_ascii_case(".py") || suffix.eq_ignore_ascii_case(".pye")
        }
        _ => false,
    }
}

/// The patterns searched in one member, chunk by chunk.
#[derive(Debug, Default)]
pub struct Scanner {
    window: Vec<u8>,
    pyarmor: bool,
    pye_begin: bool,
    pye_end: bool,
}

impl Scanner {
    pub fn feed(&mut self, chunk: &[u8]) {
        if self.pyarmor {
            return;
        }
        // The end of the previous chunk, then this one: a match may span them.
        self.window.extend_from_slice(chunk);
        let window = self.window.as_slice();
        for at in memmem::find_iter(window, PYARMOR_PREFIX) {
            if PYARMOR
                .iter()
                .any(|pattern| window[at..].starts_with(pattern))
            {
                self.pyarmor = true;
                return;
            }
        }
        for at in memmem::find_iter(window, PYE_COMMON) {
            let ends_at = at + PYE_COMMON.len();
            let matches = |pattern: &[u8]| {
                let starts_at = ends_at.checked_sub(pattern.len());
                starts_at.is_some_and(|start| &window[start..ends_at] == pattern)
            };
            self.pye_begin |= matches(PYE_BEGIN);
            self.pye_end |= matches(PYE_END);
        }
        let keep = self.window.len().min(OVERLAP);
        let drop = self.window.len() - keep;
        self.window.drain(..drop);
    }

    /// What the member holds, once all of it was fed.
    #[must_use]
    pub fn verdict(&self) -> Option<Obfuscation> {
        if self.pyarmor {
            Some(Obfuscation::PyArmor)
        } else if self.pye_begin && self.pye_end {
            Some(Obfuscation::SourceDefender)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(chunks: &[&[u8]]) -> Option<Obfuscation> {
        let mut scanner = Scanner::default();
        for chunk in chunks {
            scanner.feed(chunk);
        }
        scanner.verdict()
    }

    #[test]
    fn every_pyarmor_pattern_is_found() {
        for pattern in PYARMOR {
            let text = [b"x = 1\n".as_slice(), pattern, b"\n"].concat();
            assert_eq!(scan(&[&text]), Some(Obfuscation::PyArmor));
        }
        // The tool's own template passes `$path`, not `__file__`: no match (as in the rule).
        assert_eq!(scan(&[b"__pyarmor__(__name__, $path, b'')"]), None);
        assert_eq!(scan(&[b"import pyarmor  # __pyarmor is mentioned"]), None);
    }

    #[test]
    fn matches_across_chunk_boundaries() {
        let text = b"from x import y\n__pyarmor__(__name__, __file__, b'\\x00')\n";
        for split in 1..text.len() {
            let (a, b) = text.split_at(split);
            assert_eq!(
                scan(&[a, b]),
                Some(Obfuscation::PyArmor),
                "split at {split}"
            );
        }
        let pye = b"---BEGIN PYE FILE---\nABCD\n---END PYE FILE---\n";
        for split in 1..pye.len() {
            let (a, b) = pye.split_at(split);
            assert_eq!(
                scan(&[a, b]),
                Some(Obfuscation::SourceDefender),
                "split at {split}"
            );
        }
    }

    #[test]
    fn sourcedefender_needs_both_markers() {
        assert_eq!(scan(&[b"---BEGIN PYE FILE---\n"]), None);
        assert_eq!(scan(&[b"---END PYE FILE---\n"]), None);
        // Overlapping markers count, as YARA finds overlapping strings.
        assert_eq!(
            scan(&[b"---BEGIN PYE FILE---END PYE FILE---"]),
            Some(Obfuscation::SourceDefender)
        );
    }

    #[test]
    fn scanned_names_follow_python_suffixes() {
        for name in ["a.py", "pkg/b.PY", "pkg/c.pye", "x.tar.py"] {
            assert!(scannable(name), "{name}");
        }
        for name in [
            ".py",
            "pkg/.py",
            "a.pyc",
            "a.py/",
            "pkg.py/data",
            "a.",
            "a.pyi",
        ] {
            assert!(!scannable(name), "{name}");
        }
    }
}
