//! Custom roles based on docutils' `code` role (`.. role:: name(code)` with `:language:`), as
//! `directives/misc.py` `Role` defines them: the language each use of the role is highlighted
//! as, which fails `PyPI`'s render when Pygments has no lexer of that name. (The `code`
//! directive does not fail so: with `PyPI`'s `report_level` of 5 docutils drops the
//! highlighting silently; only the role with an explicit `:language:` warns.)

use super::Scanner;
use super::explicit::is_simplename;
use super::lists::field_marker;
use crate::distribution::rst::{Line, UnknownLanguage, pygments};

/// `Role.argument_pattern`: `new` or `new(base)`, the names lower-cased.
fn role_names(first: &str) -> Option<(String, Option<String>)> {
    let (new, base) = match first.split_once('(') {
        Some((new, rest)) => (new.trim_end(), Some(rest.strip_suffix(')')?.trim())),
        None => (first, None),
    };
    if !is_simplename(new) || base.is_some_and(|base| !is_simplename(base)) {
        return None;
    }
    Some((new.to_lowercase(), base.map(str::to_lowercase)))
}

/// A value docutils reads as plain text in a field body: words without inline markup, not an
/// enumerator, ASCII (so that lower-casing is the same in Python and here).
fn plain(value: &str) -> bool {
    value.starts_with(|c: char| c.is_ascii_alphabetic())
        && value.split(' ').all(|word| {
            !word.ends_with('_')
                && word
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+#-_".contains(c))
        })
}

/// What a role definition's options say about its language.
enum LanguageOption {
    Absent,
    /// The value, its line, and whether it is certainly read as that plain text.
    Given(String, usize, bool),
    NotUnderstood,
}

/// The `:language:` option among a role definition's options.
fn language_option(lines: &[Line<'_>]) -> LanguageOption {
    let mut lines = match lines.first() {
        Some(line) if line.is_blank() => &lines[1..],
        _ => lines,
    };
    if let Some(end) = lines.iter().position(Line::is_blank) {
        lines = &lines[..end];
    }
    let mut language = LanguageOption::Absent;
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let Some((name_end, body_start)) = field_marker(line.text).filter(|_| line.indent == 0)
        else {
            return LanguageOption::NotUnderstood;
        };
        let continuation = lines[i + 1..]
            .iter()
            .take_while(|line| line.indent > 0)
            .count();
        if &line.text[1..name_end - 1] == "language" {
            let first = &line.text[body_start..];
            let body: Vec<&str> = std::iter::once(first)
                .filter(|text| !text.is_empty())
                .chain(lines[i + 1..=i + continuation].iter().map(|l| l.text))
                .collect();
            let value = body.join("\n");
            let certain = body.len() <= 1 && (value.is_empty() || plain(&value));
            language = LanguageOption::Given(value, line.number, certain);
        }
        i += 1 + continuation;
    }
    language
}

impl Scanner<'_> {
    /// A `.. role::` directive: remember whether the role it defines is a `code` role that
    /// fails when used. What is not understood is remembered as harmless.
    pub(super) fn role_definition(&mut self, lines: &[Line<'_>]) {
        let Some(first) = lines.first().filter(|line| !line.is_blank()) else {
            return;
        };
        let Some((new, base)) = role_names(first.text) else {
            return;
        };
        // The base is looked up among the custom roles first, as `roles.role` does.
        let inherited = match base
            .as_deref()
            .map(|base| (base, self.document.code_roles.get(base)))
        {
            Some((_, Some(status))) => status.clone(),
            Some(("code", None)) => None,
            _ => {
                self.document.code_roles.remove(&new);
                return;
            }
        };
        let status = match language_option(&lines[1..]) {
            LanguageOption::Absent => inherited,
            LanguageOption::NotUnderstood => None,
            LanguageOption::Given(language, line, certain) => {
                (!pygments::language_renders(&language)).then_some(UnknownLanguage {
                    language,
                    line,
                    certain,
                })
            }
        };
        self.document.code_roles.insert(new, status);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_names_follow_the_argument_pattern() {
        assert_eq!(
            role_names("Foo(CODE)"),
            Some(("foo".to_owned(), Some("code".to_owned())))
        );
        assert_eq!(
            role_names("foo ( code )"),
            Some(("foo".to_owned(), Some("code".to_owned())))
        );
        assert_eq!(role_names("foo"), Some(("foo".to_owned(), None)));
        assert_eq!(role_names("foo(code"), None);
        assert_eq!(role_names("foo bar"), None);
    }

    #[test]
    fn only_plain_values_are_certain() {
        assert!(plain("nosuchlang") && plain("c++") && plain("Python 3"));
        for markup in [
            "*py*",
            "py_",
            "a.",
            "1",
            "`py`",
            "py_ thon",
            "\u{212a}otlin",
        ] {
            assert!(!plain(markup), "{markup}");
        }
    }
}
