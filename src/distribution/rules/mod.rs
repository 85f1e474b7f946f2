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
use super::form::{self, MetadataForm, Reason};
use super::metadata::CoreMetadata;

mod classifiers;
mod contacts;
mod description;
mod licensing;
mod requirements;

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
}
