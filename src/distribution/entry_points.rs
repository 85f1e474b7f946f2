//! `entry_points.txt` (<https://packaging.python.org/specifications/entry-points/>) as `PyPI`
//! checks it (Warehouse `utils/wheel.py` `validate_entrypoints`): UTF-8, an INI file that
//! Python's `configparser` reads (strict, `=` as the only delimiter, names kept as written),
//! and every `console_scripts` / `gui_scripts` name made of word characters, `.` and `-`.

use std::collections::{BTreeMap, HashSet};

use super::archive::shorten;

/// Why `PyPI` refuses the file, in words that say where.
pub fn check(bytes: &[u8]) -> Result<(), String> {
    let text = std::str::from_utf8(bytes).map_err(|_| "is not UTF-8".to_owned())?;
    let sections = parse(text)?;
    for section in ["console_scripts", "gui_scripts"] {
        let Some(names) = sections.get(section) else {
            continue;
        };
        // Python iterates a section together with the DEFAULT section's names.
        let defaults = sections.get("DEFAULT").into_iter().flatten();
        for name in names.iter().chain(defaults) {
            if !valid_name(name) {
                return Err(format!(
                    "the [{section}] name `{}` is not a valid entry point name: only letters, digits, `_`, `.` and `-` (no paths, no spaces)",
                    shorten(name)
                ));
            }
        }
    }
    Ok(())
}

/// `[\w.-]+` (Python's `\w` is Unicode-aware).
fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

/// Python's `str.isspace()`: Unicode white space plus the ASCII separators 0x1c to 0x1f.
fn is_space(c: char) -> bool {
    c.is_whitespace() || ('\x1c'..='\x1f').contains(&c)
}

/// Section name -> option names, read as `configparser.ConfigParser(delimiters=("=",))` with
/// `optionxform = str` reads: full-line `#`/`;` comments, `[section]` headers, `name = value`
/// options, indented continuation lines; a duplicate section or option is an error, as is a
/// line before the first section or a line that is neither.
fn parse(text: &str) -> Result<BTreeMap<String, Vec<String>>, String> {
    let mut sections: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut seen_sections: HashSet<String> = HashSet::new();
    let mut seen_options: HashSet<(String, String)> = HashSet::new();
    let mut current: Option<String> = None;
    let mut option_open = false;
    let mut indent_level = 0_usize;
    let mut bad_lines = Vec::new();
    // `io.StringIO` yields lines ending at `\n` only.
    for (index, line) in text.split_inclusive('\n').enumerate() {
        let number = index + 1;
        let stripped = line.trim_matches(is_space);
        let clean = if stripped.starts_with(['#', ';']) {
            ""
        } else {
            stripped
        };
        if clean.is_empty() {
            // Empty lines (and comments) may sit inside a multi-line value.
            continue;
        }
        let indent = line.find(|c: char| !is_space(c)).unwrap_or(0);
        if current.is_some() && option_open && indent > indent_level {
            continue; // a continuation line of the value
        }
        indent_level = indent;
        if let Some(name) = section_header(clean) {
            if name != "DEFAULT" && !seen_sections.insert(name.to_owned()) {
                return Err(format!(
                    "line {number}: the section [{}] appears twice",
                    shorten(name)
                ));
            }
            sections.entry(name.to_owned()).or_default();
            current = Some(name.to_owned());
            option_open = false;
            continue;
        }
        let Some(section) = current.clone() else {
            return Err(format!(
                "line {number}: `{}` comes before the first [section] header",
                shorten(clean)
            ));
        };
        let Some((option, _value)) = clean.split_once('=') else {
            // Python records the error and reads on, the previous option still open.
            bad_lines.push(number);
            continue;
        };
        let option = option.trim_end_matches(is_space);
        if option.is_empty() {
            bad_lines.push(number);
        }
        if !seen_options.insert((section.clone(), option.to_owned())) {
            return Err(format!(
                "line {number}: `{}` appears twice in [{}]",
                shorten(option),
                shorten(&section)
            ));
        }
        sections.entry(section).or_default().push(option.to_owned());
        option_open = !option.is_empty();
    }
    if let Some(first) = bad_lines.first() {
        return Err(format!(
            "line {first} is neither a [section] header nor a `name = value` entry"
        ));
    }
    Ok(sections)
}

/// `\[(?P<header>.+)\]` matched at the start: everything up to the last `]`.
fn section_header(clean: &str) -> Option<&str> {
    let rest = clean.strip_prefix('[')?;
    let end = rest.rfind(']')?;
    let name = &rest[..end];
    (!name.is_empty() && !name.contains('\n')).then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_entry_points_pass() {
        let text = "[console_scripts]\nblack = black:patched_main\nblackd = blackd:patched_main [d]\n\n[gui_scripts]\nidle.x-2 = idlelib:main\n\n# comment\n[pygments.lexers]\nfoo = pkg.lexer:Foo\n    continued\n";
        assert_eq!(check(text.as_bytes()), Ok(()));
        assert_eq!(check(b""), Ok(()));
        assert_eq!(check("[console_scripts]\nnaïve = m:f\n".as_bytes()), Ok(()));
    }

    #[test]
    fn what_pypi_refuses() {
        for (text, expected) in [
            ("black = black:main\n", "before the first [section]"),
            ("[console_scripts]\nblack\n", "line 2 is neither"),
            ("[console_scripts]\n= m:f\n", "line 2 is neither"),
            ("[a]\nx = 1\n[a]\n", "the section [a] appears twice"),
            ("[a]\nx = 1\nx = 2\n", "`x` appears twice in [a]"),
            (
                "[console_scripts]\n../evil = m:f\n",
                "`../evil` is not a valid",
            ),
            ("[gui_scripts]\nmy tool = m:f\n", "`my tool` is not a valid"),
            (
                "[DEFAULT]\nbad/name = x\n[console_scripts]\nok = m:f\n",
                "`bad/name`",
            ),
            (
                "\u{feff}[console_scripts]\nx = m:f\n",
                "before the first [section]",
            ),
        ] {
            let error = check(text.as_bytes()).unwrap_err();
            assert!(error.contains(expected), "{text:?}: {error}");
        }
        assert_eq!(check(b"[a]\n\xff = 1\n"), Err("is not UTF-8".to_owned()));
    }

    #[test]
    fn names_keep_their_case_and_sections_their_brackets() {
        // Case-sensitive option names: `X` and `x` are two names.
        assert_eq!(check(b"[console_scripts]\nX = m:f\nx = m:g\n"), Ok(()));
        // The header runs to the last `]`.
        assert_eq!(section_header("[a]b]"), Some("a]b"));
    }
}
