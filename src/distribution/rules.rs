//! Content rules of core metadata 1.0 to 2.5 as `PyPI` applies them to the upload form
//! (Warehouse `forklift/metadata.py` on top of `packaging.metadata`, `trove-classifiers`,
//! `email-validator`): each rule judges the values the form will carry ([`MetadataForm`]).
//! The rules `PyPI` certainly applies hold for `PyPI` and `TestPyPI` whatever `verify-metadata`
//! says (a form it refuses is never sent); for other indexes, for the one rule whose data may
//! lag behind `PyPI`'s (a classifier missing from the embedded list) and for fields the form
//! leaves out anyway (newer than the declared version, repeated), they run with
//! `verify-metadata` only. The Metadata-Version itself is checked always: it decides what the
//! form may carry.

use super::archive::Finding;
use super::classifiers::{self, Verdict};
use super::form::{self, MetadataForm, Reason};
use super::metadata::CoreMetadata;
use super::{email, license, pep508, uri};

const MAX_SUMMARY: usize = 512;
const MAX_URL_LABEL: usize = 32;

/// Where the archive's files are, for `License-File`.
pub struct Contents<'a> {
    /// The metadata file's member name, named in every finding.
    pub member: &'a str,
    /// Prefix of `License-File` paths: `{name}-{version}.dist-info/licenses/` or `{top}/`.
    pub license_root: String,
    /// Whether a member exists.
    pub has_member: &'a dyn Fn(&str) -> bool,
}

/// Every content rule over one metadata file.
#[must_use]
pub fn check(metadata: &CoreMetadata, contents: &Contents<'_>) -> Vec<Finding> {
    let form = MetadataForm::build(metadata);
    let mut rules = Rules {
        member: contents.member,
        form: &form,
        findings: Vec::new(),
    };
    if let Some(declared) = metadata.metadata_version() {
        if form::supported_version(declared).is_none() {
            rules.findings.push(Finding::error(
                Some(contents.member),
                unsupported_version(declared),
            ));
        }
    }
    rules.left_out();
    if let Some(name) = rules.first("name") {
        if !super::filename::valid_project_name(&name) {
            rules.error(format!(
                "Name `{name}` is not a valid project name (letters, digits, `.`, `_`, `-`, starting and ending with a letter or digit)"
            ));
        }
    }
    rules.summary();
    rules.content_type();
    rules.license(contents);
    rules.dynamic();
    rules.requirements();
    rules.extras_and_imports();
    rules.classifiers();
    rules.emails();
    rules.urls();
    rules.findings
}

struct Rules<'a> {
    member: &'a str,
    form: &'a MetadataForm,
    findings: Vec<Finding>,
}

impl Rules<'_> {
    /// A rule `PyPI` certainly applies to the form.
    fn error(&mut self, message: String) {
        self.findings
            .push(Finding::error(Some(self.member), message).pypi_form());
    }

    /// A rule whose data may be older here than on `PyPI` (the classifier list), or one the
    /// form already works around by leaving the field out: skipped with `verify-metadata: false`.
    fn error_unless_skipped(&mut self, message: String) {
        self.findings
            .push(Finding::error(Some(self.member), message).metadata());
    }

    fn first(&self, form_field: &str) -> Option<String> {
        self.form.values(form_field).next().map(str::to_owned)
    }

    fn all(&self, form_field: &str) -> Vec<String> {
        self.form.values(form_field).map(str::to_owned).collect()
    }

    /// What the form leaves out that `PyPI` would have refused: fields newer than the declared
    /// version (except `License-File` below 2.4, which twine and this tool leave out with a
    /// notice), and single-use fields given twice. An error with `verify-metadata` (the field's
    /// information would be lost); without it, the notice says what was left out.
    fn left_out(&mut self) {
        let mut reported: Vec<String> = Vec::new();
        for omission in &self.form.omitted {
            if reported.contains(&omission.header) {
                continue;
            }
            match &omission.reason {
                Reason::NewerThanDeclared {
                    introduced,
                    declared,
                } if !omission.header.eq_ignore_ascii_case("License-File") => {
                    self.error_unless_skipped(format!(
                        "{} needs Metadata-Version {}.{} or later, but the file declares {}.{}; PyPI refuses the upload with it. Rebuild with a current build backend (it writes a Metadata-Version that has the field), or remove the field",
                        omission.header, introduced.0, introduced.1, declared.0, declared.1
                    ));
                }
                Reason::Repeated => self.error_unless_skipped(format!(
                    "{} appears more than once, but it is a single-use field; PyPI refuses the upload. Rebuild the dist from a pyproject.toml that sets it once",
                    omission.header
                )),
                _ => continue,
            }
            reported.push(omission.header.clone());
        }
    }

    fn summary(&mut self) {
        let Some(summary) = self.first("summary") else {
            return;
        };
        if summary.contains('\n') {
            self.error(
                "the Summary header spans several lines (a folded header: lines after the first start with whitespace); PyPI accepts only a one-line Summary. Write `description` in pyproject.toml (or `description=` in setup.py) on a single line"
                    .to_owned(),
            );
        }
        let length = summary.chars().count();
        if length > MAX_SUMMARY {
            self.error(format!(
                "Summary is {length} characters long; PyPI accepts at most {MAX_SUMMARY}. Shorten the one-line `description` in pyproject.toml (the summary, not the readme)"
            ));
        }
    }

    /// `packaging`'s rule: one of three media types, `charset=UTF-8` exactly, Markdown
    /// variant `GFM` or `CommonMark` exactly.
    fn content_type(&mut self) {
        let Some(value) = self.first("description_content_type") else {
            return;
        };
        let mut parts = value.split(';');
        let media = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
        if !matches!(
            media.as_str(),
            "text/plain" | "text/x-rst" | "text/markdown"
        ) {
            self.error(format!(
                "Description-Content-Type `{value}` is not one of text/plain, text/x-rst, text/markdown; set `readme` in pyproject.toml to a .md, .rst or .txt file"
            ));
            return;
        }
        let mut seen: Vec<String> = Vec::new();
        for parameter in parts.map(str::trim).filter(|p| !p.is_empty()) {
            let (key, raw) = parameter.split_once('=').unwrap_or((parameter, ""));
            let key = key.trim().to_ascii_lowercase();
            if seen.contains(&key) {
                continue; // the first one counts
            }
            seen.push(key.clone());
            let parameter_value = raw.trim().trim_matches('"');
            match key.as_str() {
                "charset" if parameter_value != "UTF-8" => self.error(format!(
                    "Description-Content-Type `{value}`: PyPI accepts only `charset=UTF-8` (exactly so written), found `{parameter_value}`"
                )),
                "variant"
                    if media == "text/markdown"
                        && !matches!(parameter_value, "GFM" | "CommonMark") =>
                {
                    self.error(format!(
                        "Description-Content-Type `{value}`: the Markdown variant must be `GFM` or `CommonMark` (exactly so written), found `{parameter_value}`"
                    ));
                }
                _ => {}
            }
        }
    }

    fn license(&mut self, contents: &Contents<'_>) {
        let expression = self.first("license_expression");
        if let Some(expression) = &expression {
            if let Err(reason) = license::canonicalize(expression) {
                self.error(format!(
                    "License-Expression `{expression}` is not a valid SPDX expression ({reason}); use SPDX identifiers like `MIT` or `Apache-2.0 OR MIT` (https://spdx.org/licenses/)"
                ));
            }
            if self.first("license").is_some() {
                self.error(
                    "both License and License-Expression are set; PyPI refuses them together (PEP 639). Remove the `license = {text = ...}` table and keep the SPDX expression"
                        .to_owned(),
                );
            }
        }
        for path in self.all("license_file") {
            if let Some(problem) = license_path_problem(&path) {
                self.error(format!(
                    "License-File `{path}`: {problem}; list files relative to the project root in `license-files`"
                ));
                continue;
            }
            let member = format!("{}{path}", contents.license_root);
            if !(contents.has_member)(&member) {
                self.error(format!(
                    "License-File `{path}` is not in the archive: expected member `{member}`; list only files that exist in `license-files`"
                ));
            }
        }
    }

    /// `packaging` refuses Name, Version and Metadata-Version; Warehouse's own list of dynamic
    /// fields also leaves out `Dynamic` itself.
    fn dynamic(&mut self) {
        for value in self.all("dynamic") {
            match form::lookup(&value) {
                Some(
                    field @ form::Field {
                        header: "Name" | "Version" | "Metadata-Version" | "Dynamic",
                        ..
                    },
                ) => self.error(format!(
                    "Dynamic lists `{}`, which can never be dynamic; PyPI refuses it",
                    field.header
                )),
                Some(_) => {}
                None => self.error(format!(
                    "Dynamic lists `{value}`, which is not a core metadata field"
                )),
            }
        }
    }

    fn requirements(&mut self) {
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
                    "Requires-Dist `{requirement}` is not a valid PEP 508 requirement ({problem}); fix `dependencies` or `optional-dependencies` in pyproject.toml"
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
                        "{field} `{requirement}` is not a valid PEP 508 requirement ({problem}); PyPI refuses it"
                    )),
                    Ok(parsed) if parsed.url.is_some() => self.error(format!(
                        "{field} `{requirement}` names a URL; PyPI refuses direct references there. Give the name (and version) only"
                    )),
                    Ok(_) => {}
                }
            }
        }
    }

    fn extras_and_imports(&mut self) {
        for extra in self.all("provides_extra") {
            if !super::filename::valid_project_name(&extra) {
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

    fn classifiers(&mut self) {
        for classifier in self.all("classifiers") {
            match classifiers::verdict(&classifier) {
                Verdict::Valid => {}
                Verdict::Unknown if classifier.starts_with("Private ::") => self.error(format!(
                    "Classifier `{classifier}` is a `Private ::` classifier, which exists to make PyPI refuse the upload; remove it to publish"
                )),
                Verdict::Unknown => self.error_unless_skipped(format!(
                    "Classifier `{classifier}` is not a valid classifier, so PyPI refuses the upload; use one listed at https://pypi.org/classifiers/ (this check knows trove-classifiers {}: if PyPI added it since, set verify-metadata: false)",
                    classifiers::list_version()
                )),
                Verdict::Deprecated(replacements) if replacements.is_empty() => {
                    self.error(format!(
                        "Classifier `{classifier}` is deprecated, so PyPI refuses the upload; remove it (it has no replacement)"
                    ));
                }
                Verdict::Deprecated(replacements) => {
                    let named: Vec<String> =
                        replacements.iter().map(|r| format!("`{r}`")).collect();
                    self.error(format!(
                        "Classifier `{classifier}` is deprecated, so PyPI refuses the upload; use {} instead",
                        named.join(" or ")
                    ));
                }
            }
        }
    }

    fn emails(&mut self) {
        for (field, form_field) in [
            ("Author-email", "author_email"),
            ("Maintainer-email", "maintainer_email"),
        ] {
            let Some(value) = self.first(form_field) else {
                continue;
            };
            let Some(address) = email::address_pypi_checks(&value) else {
                continue; // several addresses, or none PyPI could parse: PyPI checks nothing
            };
            if let Err(reason) = email::validate(&address) {
                let reason = reason.trim_end_matches('.');
                let read = if address == value {
                    String::new()
                } else {
                    format!(" PyPI reads the address `{address}` from it and")
                };
                self.error(format!(
                    "{field} `{value}`:{read} refuses it: {reason}. Give a real address in `authors`/`maintainers` (`{{name = \"...\", email = \"user@example.org\"}}`)"
                ));
            }
        }
    }

    fn urls(&mut self) {
        for (field, form_field) in [("Home-page", "home_page"), ("Download-URL", "download_url")] {
            if let Some(url) = self.first(form_field) {
                if !uri::valid_url(&url) {
                    self.error(format!(
                        "{field} `{url}` is not a URL PyPI accepts (it needs `http://` or `https://`, a port up to 65535, and no `[` or `]` in the path or query)"
                    ));
                }
            }
        }
        let mut labels: Vec<String> = Vec::new();
        for value in self.all("project_urls") {
            let (label, url) = value.split_once(',').unwrap_or((value.as_str(), ""));
            let (label, url) = (label.trim(), url.trim());
            if labels.iter().any(|seen| seen == label) {
                self.error(format!(
                    "Project-URL label `{label}` appears twice; PyPI needs each label once. Merge the duplicate keys in [project.urls]"
                ));
                continue;
            }
            labels.push(label.to_owned());
            let length = label.chars().count();
            if label.is_empty() {
                self.error(format!(
                    "Project-URL `{value}` has no label; write `Label, URL`"
                ));
            } else if length > MAX_URL_LABEL {
                self.error(format!(
                    "Project-URL label `{label}` is {length} characters long; PyPI accepts at most {MAX_URL_LABEL}. Shorten the key in [project.urls]"
                ));
            } else if url.is_empty() {
                self.error(format!(
                    "Project-URL `{value}` has no URL; write `Label, URL`"
                ));
            } else if !uri::valid_url(url) {
                self.error(format!(
                    "Project-URL `{label}` points at `{url}`, which is not a URL PyPI accepts (it needs `http://` or `https://`, a port up to 65535, and no `[` or `]` in the path or query)"
                ));
            }
        }
    }
}

/// Why `PyPI` refuses a declared Metadata-Version, and the fix.
fn unsupported_version(declared: &str) -> String {
    let why = if declared == "2.0" {
        "was never a standard (old `wheel`/`bdist_wheel` wrote it) and PyPI refuses it since 2024"
    } else {
        "is not one PyPI accepts"
    };
    format!(
        "Metadata-Version `{declared}` {why}; PyPI accepts 1.0, 1.1, 1.2 and 2.1 to 2.5. Rebuild the dist with a current build backend (`python -m build` with an up-to-date setuptools, hatchling, flit-core, poetry-core, pdm-backend or maturin), which writes a version PyPI accepts"
    )
}

/// `packaging`'s rule for `License-File` paths.
fn license_path_problem(path: &str) -> Option<&'static str> {
    let bytes = path.as_bytes();
    let windows_absolute = path.starts_with("\\\\")
        || (bytes.len() >= 3
            && bytes[0].is_ascii_alphabetic()
            && bytes[1] == b':'
            && matches!(bytes[2], b'/' | b'\\'));
    if path.contains("..") {
        Some("parent directory indicators (`..`) are not allowed")
    } else if path.contains('*') {
        Some("it must be a resolved path, not a glob")
    } else if path.starts_with('/') || windows_absolute {
        Some("it must be a relative path")
    } else if path.contains('\\')
        || path.contains("//")
        || path.ends_with('/')
        || path.split('/').any(|part| part == ".")
    {
        Some("it must be a plain `/`-separated path (no `\\`, `//`, `./` or trailing `/`)")
    } else {
        None
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

    fn findings(text: &str, members: &[&str]) -> Vec<String> {
        let metadata = CoreMetadata::parse(text).unwrap();
        let has = |member: &str| members.contains(&member);
        let contents = Contents {
            member: "PKG-INFO",
            license_root: "demo-1.0/".to_owned(),
            has_member: &has,
        };
        check(&metadata, &contents)
            .into_iter()
            .map(|finding| finding.message)
            .collect()
    }

    #[test]
    fn a_clean_2_4_file_passes() {
        let text = "Metadata-Version: 2.4\nName: demo\nVersion: 1.0\nSummary: s\nAuthor-email: \"Doe, J\" <j@example.org>, x@example.com\nLicense-Expression: Apache-2.0 OR MIT\nLicense-File: LICENSE\nProject-URL: Source, https://example.org/src\nRequires-Python: >=3.9,\nRequires-Dist: requests>=2; extra == 'web'\nProvides-Extra: web\nClassifier: Programming Language :: Python :: 3\nDescription-Content-Type: text/markdown; charset=UTF-8; variant=GFM\nDynamic: Requires-Dist\n";
        assert_eq!(findings(text, &["demo-1.0/LICENSE"]), Vec::<String>::new());
    }

    #[test]
    fn what_pypi_accepts_passes() {
        for text in [
            // setuptools 56 to 76: License-File in 2.1 metadata; left out of the form.
            "Metadata-Version: 2.1\nName: demo\nVersion: 1.0\nLicense: MIT\nLicense-File: LICENSE\n",
            "Metadata-Version: 2.4\nName: demo\nVersion: 1.0\nLicense-Expression: mit\n",
            "Metadata-Version: 2.1\nName: demo\nVersion: 1.0\nDescription-Content-Type: UNKNOWN\n",
            "Metadata-Version: 1.1\nName: demo\nVersion: 1.0\nHome-page: UNKNOWN\nAuthor-email: UNKNOWN\nLicense: UNKNOWN\nPlatform: UNKNOWN\n",
            "Metadata-Version: 2.5\nName: demo\nVersion: 1.0\nImport-Name: demo.sub ; private\nImport-Namespace: demo\n",
        ] {
            assert_eq!(findings(text, &[]), Vec::<String>::new(), "{text}");
        }
    }

    #[test]
    fn each_rule_fires() {
        let text = "Metadata-Version: 2.2\nName: demo\nVersion: 1.0\nSummary: one\n  two\nLicense-Expression: MIT\nDescription-Content-Type: text/markdown; charset=utf-8\nProject-URL: A label that is much longer than thirty-two characters, https://example.org\nProject-URL: Docs, https://example.org/docs\nProject-URL: Docs, https://example.org/other\nProject-URL: Home, www.example.org\nRequires-Python: >=3.8.*\nRequires-Dist: requests>=2.0.*\nProvides-Dist: other @ https://example.org/o.whl\nProvides-Extra: my extra\nAuthor-email: Jane <jane@box.local>\nClassifier: Framework :: Bogus\nClassifier: Natural Language :: Ukranian\nClassifier: Private :: Do Not Upload\nHome-page: ftp://example.org\nDynamic: Name\nKeywords: a\nKeywords: b\n";
        let found = findings(text, &[]);
        for expected in [
            "License-Expression needs Metadata-Version 2.4 or later, but the file declares 2.2",
            "Keywords appears more than once",
            "the Summary header spans several lines",
            "only `charset=UTF-8`",
            "PyPI accepts at most 32",
            "label `Docs` appears twice",
            "`www.example.org`, which is not a URL PyPI accepts",
            "Requires-Python `>=3.8.*`",
            "Requires-Dist `requests>=2.0.*`",
            "Provides-Dist `other @ https://example.org/o.whl` names a URL",
            "Provides-Extra `my extra`",
            "special-use or reserved name",
            "`Framework :: Bogus` is not a valid classifier",
            "use `Natural Language :: Ukrainian` instead",
            "`Private ::` classifier",
            "Home-page `ftp://example.org`",
            "Dynamic lists `Name`",
        ] {
            assert!(
                found.iter().any(|message| message.contains(expected)),
                "{expected} not in {found:#?}"
            );
        }
        assert_eq!(found.len(), 17, "{found:#?}");
    }

    #[test]
    fn license_files_from_2_4() {
        let text = "Metadata-Version: 2.4\nName: demo\nVersion: 1.0\nLicense-File: COPYING\nLicense-File: ../x\nLicense-File: ./NOTICE\nLicense-Expression: MIT\nLicense: MIT\n";
        let found = findings(text, &[]);
        assert_eq!(found.len(), 4, "{found:#?}");
        assert!(found[0].contains("both License and License-Expression"));
        assert!(found[1].contains("expected member `demo-1.0/COPYING`"));
        assert!(found[2].contains("parent directory indicators"));
        assert!(found[3].contains("plain `/`-separated path"));
    }

    #[test]
    fn unsupported_metadata_versions_are_refused_whatever_verify_metadata_says() {
        for version in ["2.0", "9.9", "2.6", "2.1.0"] {
            let text = format!("Metadata-Version: {version}\nName: demo\nVersion: 1.0\n");
            let metadata = CoreMetadata::parse(&text).unwrap();
            let has = |_: &str| false;
            let contents = Contents {
                member: "PKG-INFO",
                license_root: String::new(),
                has_member: &has,
            };
            let found = check(&metadata, &contents);
            assert_eq!(found.len(), 1, "{found:#?}");
            assert_eq!(found[0].category, super::super::Category::Structure);
            assert!(
                found[0]
                    .message
                    .contains("Rebuild the dist with a current build backend")
            );
        }
    }

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
