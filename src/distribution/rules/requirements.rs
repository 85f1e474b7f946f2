//! Rules for what the project needs and provides: `Requires-Python`, `Requires-Dist`,
//! `Provides-Dist`, `Obsoletes-Dist` (PEP 508, no URLs where `PyPI` refuses them),
//! `Provides-Extra` names and `Import-Name` / `Import-Namespace` paths (PEP 794).

use super::Rules;
use crate::distribution::archive::shorten;
use crate::distribution::{filename, pep508};

impl Rules<'_> {
    pub(super) fn requirements(&mut self) {
        if let Some(specifiers) = self.first("requires_python") {
            if let Err(bad) = pep508::check_specifiers(&specifiers) {
                let which = if bad == specifiers.trim() {
                    String::new()
                } else {
                    format!(" (`{bad}` is not one)")
                };
                self.error(format!(
                    "Requires-Python `{specifiers}` is not a valid version specifier{which}; write it like `>=3.9` or `>=3.9, <4`"
                ));
            }
        }
        for requirement in self.all("requires_dist") {
            if let Err(problem) = pep508::parse_requirement(&requirement) {
                self.error(format!(
                    "Requires-Dist `{}` is not a valid PEP 508 requirement ({problem}); fix `dependencies` or `optional-dependencies` in pyproject.toml",
                    shorten(&requirement)
                ));
            }
        }
        for (field, form_field) in [
            ("Provides-Dist", "provides_dist"),
            ("Obsoletes-Dist", "obsoletes_dist"),
        ] {
            for requirement in self.all(form_field) {
                match pep508::parse_requirement(&requirement) {
                    Err(problem) => self.error(format!(
                        "{field} `{}` is not a valid PEP 508 requirement ({problem}); PyPI refuses it",
                        shorten(&requirement)
                    )),
                    Ok(parsed) if parsed.url.is_some() => self.error(format!(
                        "{field} `{requirement}` names a URL; PyPI refuses direct references there. Give the name (and version) only"
                    )),
                    Ok(_) => {}
                }
            }
        }
    }

    pub(super) fn extras_and_imports(&mut self) {
        for extra in self.all("provides_extra") {
            if !filename::valid_project_name(&extra) {
                self.error(format!(
                    "Provides-Extra `{extra}` is not a valid extra name (letters, digits, `.`, `_`, `-`, starting and ending with a letter or digit); rename it in `optional-dependencies`"
                ));
            }
        }
        for (field, form_field) in [
            ("Import-Name", "import_name"),
            ("Import-Namespace", "import_namespace"),
        ] {
            for value in self.all(form_field) {
                if let Some(problem) = import_name_problem(&value) {
                    self.error(format!(
                        "{field} `{value}` is invalid: {problem}; write a dotted Python import path, optionally followed by `; private`"
                    ));
                }
            }
        }
    }
}

/// Python's reserved keywords (`keyword.kwlist`), which can never be import names.
const KEYWORDS: [&str; 35] = [
    "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue",
    "def", "del", "elif", "else", "except", "finally", "for", "from", "global", "if", "import",
    "in", "is", "lambda", "nonlocal", "not", "or", "pass", "raise", "return", "try", "while",
    "with", "yield",
];

/// `packaging`'s rule for `Import-Name` / `Import-Namespace` (PEP 794).
fn import_name_problem(value: &str) -> Option<String> {
    let (name, private) = match value.split_once(';') {
        Some((name, option)) => (name, Some(option)),
        None => (value, None),
    };
    for identifier in name.trim_end().split('.') {
        let mut characters = identifier.chars();
        let valid = characters
            .next()
            .is_some_and(|c| c == '_' || unicode_ident::is_xid_start(c))
            && characters.all(unicode_ident::is_xid_continue);
        if !valid {
            return Some(format!("`{identifier}` is not a valid identifier"));
        }
        if KEYWORDS.contains(&identifier) {
            return Some(format!("`{identifier}` is a Python keyword"));
        }
    }
    if private.is_some_and(|option| option.trim_start() != "private") {
        return Some("the only option after `;` is `private`".to_owned());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn import_names() {
        assert_eq!(import_name_problem("demo.sub"), None);
        assert_eq!(import_name_problem("_private ; private"), None);
        assert_eq!(import_name_problem("caf\u{e9}"), None);
        assert!(import_name_problem("demo-hatch").is_some());
        assert!(import_name_problem("demo.class").is_some());
        assert!(import_name_problem("demo; public").is_some());
        assert!(import_name_problem("1demo").is_some());
    }
}
