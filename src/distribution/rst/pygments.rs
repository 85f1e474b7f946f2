//! The names Pygments 2.20 (the version `PyPI` highlights code with) finds a lexer under:
//! `pygments-lexers.txt`, which `scripts/update-pygments-lexers.py` writes from the pinned
//! package, embedded at build time.

const LIST: &str = include_str!("pygments-lexers.txt");

/// The embedded file, for the test that compares it with the pinned Pygments.
#[must_use]
pub fn embedded_list() -> &'static str {
    LIST
}

/// Whether `get_lexer_by_name(name)` finds a lexer: it lower-cases `name`, then compares it
/// with every lexer's aliases.
#[must_use]
pub fn has_lexer(name: &str) -> bool {
    let lower = name.to_lowercase();
    LIST.lines()
        .filter(|line| !line.starts_with('#'))
        .any(|line| line == lower)
}

/// How docutils' `code` role fares with a `:language:` value (`utils/code_analyzer.py`):
/// empty, `text` and `none` (any case) highlight nothing and always render; any other value
/// must name a lexer, or docutils warns and `PyPI`'s render halts.
#[must_use]
pub fn language_renders(language: &str) -> bool {
    language.is_empty()
        || language == "text"
        || language.to_lowercase() == "none"
        || has_lexer(language)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_is_by_alias_after_lower_casing() {
        for known in [
            "python",
            "Python",
            "PY3",
            "shell-session",
            "console",
            "c++",
            "text",
        ] {
            assert!(has_lexer(known), "{known}");
        }
        // A display name with a space, a file name pattern and a MIME type are not aliases.
        for unknown in ["Python 3", "*.py", "text/x-python", "nosuchlang", ""] {
            assert!(!has_lexer(unknown), "{unknown}");
        }
        assert!(language_renders("NONE") && language_renders(""));
        assert!(!language_renders("nosuchlang"));
    }
}
