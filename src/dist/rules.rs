//! Content rules of core metadata 1.0 to 2.5
//! (<https://packaging.python.org/specifications/core-metadata/>), with the limits `PyPI`
//! enforces on upload. Skipped with `verify-metadata: false`.

use std::str::FromStr as _;

use pep440_rs::VersionSpecifiers;

use super::archive::{Finding, unsafe_path};
use super::metadata::CoreMetadata;

/// Metadata versions this tool knows.
const KNOWN_VERSIONS: [&str; 9] = [
    "1.0", "1.1", "1.2", "2.0", "2.1", "2.2", "2.3", "2.4", "2.5",
];

/// Every field: its name, the metadata version that introduced it, and whether it may repeat.
const FIELDS: [(&str, (u8, u8), bool); 32] = [
    ("Metadata-Version", (1, 0), false),
    ("Name", (1, 0), false),
    ("Version", (1, 0), false),
    ("Dynamic", (2, 2), true),
    ("Platform", (1, 0), true),
    ("Supported-Platform", (1, 1), true),
    ("Summary", (1, 0), false),
    ("Description", (1, 0), false),
    ("Description-Content-Type", (2, 1), false),
    ("Keywords", (1, 0), false),
    ("Home-page", (1, 0), false),
    ("Download-URL", (1, 1), false),
    ("Author", (1, 0), false),
    ("Author-email", (1, 0), false),
    ("Maintainer", (1, 2), false),
    ("Maintainer-email", (1, 2), false),
    ("License", (1, 0), false),
    ("License-Expression", (2, 4), false),
    ("License-File", (2, 4), true),
    ("Classifier", (1, 1), true),
    ("Requires-Dist", (1, 2), true),
    ("Requires-Python", (1, 2), false),
    ("Requires-External", (1, 2), true),
    ("Project-URL", (1, 2), true),
    ("Provides-Extra", (2, 1), true),
    ("Provides-Dist", (1, 2), true),
    ("Obsoletes-Dist", (1, 2), true),
    ("Requires", (1, 1), true),
    ("Provides", (1, 1), true),
    ("Obsoletes", (1, 1), true),
    ("Import-Name", (2, 5), true),
    ("Import-Namespace", (2, 5), true),
];

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
    let mut rules = Rules {
        member: contents.member,
        findings: Vec::new(),
    };
    let declared = rules.metadata_version(metadata);
    rules.fields(metadata, declared);
    if let Some(name) = metadata.name() {
        if !super::filename::valid_project_name(name) {
            rules.error(format!(
                "Name `{name}` is not a valid project name (letters, digits, `.`, `_`, `-`, starting and ending with a letter or digit)"
            ));
        }
    }
    rules.summary(metadata);
    rules.content_type(metadata);
    rules.license(metadata, contents, declared);
    rules.dynamic(metadata);
    if let Some(specifier) = known(metadata, "Requires-Python") {
        if let Err(error) = VersionSpecifiers::from_str(specifier) {
            rules.error(format!(
                "Requires-Python `{specifier}` is not a valid version specifier ({error}); write it like `>=3.9`"
            ));
        }
    }
    rules.urls(metadata);
    for field in ["Author-email", "Maintainer-email"] {
        if let Some(value) = known(metadata, field) {
            for address in split_addresses(value) {
                if !valid_address(&address) {
                    rules.error(format!(
                        "{field} `{value}` holds `{address}`, which is not an e-mail address; write `Name <user@example.org>` entries separated by commas"
                    ));
                }
            }
        }
    }
    rules.findings
}

struct Rules<'a> {
    member: &'a str,
    findings: Vec<Finding>,
}

impl Rules<'_> {
    fn error(&mut self, message: String) {
        self.findings
            .push(Finding::error(Some(self.member), message).metadata());
    }

    fn warning(&mut self, message: String) {
        self.findings
            .push(Finding::warning(Some(self.member), message).metadata());
    }

    /// The declared version as (major, minor), when it is one this tool can reason about.
    fn metadata_version(&mut self, metadata: &CoreMetadata) -> Option<(u8, u8)> {
        let declared = metadata.metadata_version()?;
        let parsed = declared
            .split_once('.')
            .and_then(|(major, minor)| Some((major.parse().ok()?, minor.parse().ok()?)));
        if KNOWN_VERSIONS.contains(&declared) {
            return parsed;
        }
        if let Some((major @ (1 | 2), minor)) = parsed {
            self.warning(format!(
                "Metadata-Version {declared} is newer than the versions this tool knows (1.0 to 2.5); the fields are checked as 2.5"
            ));
            Some((major, minor))
        } else {
            self.error(format!(
                "Metadata-Version `{declared}` is not a core metadata version: expected one of 1.0 to 2.5; the build backend wrote an unknown format, upgrade or fix it"
            ));
            None
        }
    }

    fn fields(&mut self, metadata: &CoreMetadata, declared: Option<(u8, u8)>) {
        let mut seen: Vec<&str> = Vec::new();
        let mut reported: Vec<&str> = Vec::new();
        for (key, _) in &metadata.fields {
            let Some((name, introduced, repeatable)) = FIELDS
                .iter()
                .find(|(name, _, _)| name.eq_ignore_ascii_case(key))
            else {
                self.warning(format!(
                    "`{key}` is not a core metadata field; indexes ignore it"
                ));
                continue;
            };
            if !repeatable {
                if seen.contains(name) {
                    self.error(format!(
                        "{name} appears more than once; it is a single-use field"
                    ));
                }
                seen.push(name);
            }
            if reported.contains(name) {
                continue;
            }
            if let Some(declared) = declared {
                if *introduced > declared {
                    reported.push(name);
                }
                // setuptools 56 to 76 (and maturin, hatchling before 1.26) wrote License-File
                // into 2.1 to 2.3 metadata, and PyPI takes it (it does not validate that form
                // field), so it is exempt; every other field newer than the file is an error.
                let exempt = *name == "License-File";
                if !exempt && *introduced > declared && *introduced >= (2, 1) {
                    self.error(format!(
                        "{name} needs Metadata-Version {}.{} or later, but the file declares {}.{}; raise Metadata-Version (upgrade the build backend)",
                        introduced.0, introduced.1, declared.0, declared.1
                    ));
                }
            }
        }
    }

    fn summary(&mut self, metadata: &CoreMetadata) {
        let Some(summary) = known(metadata, "Summary") else {
            return;
        };
        let length = summary.chars().count();
        if length > MAX_SUMMARY {
            self.error(format!(
                "Summary is {length} characters long; PyPI accepts at most {MAX_SUMMARY}. Shorten `description` in pyproject.toml"
            ));
        }
        if summary.contains('\n') {
            self.error(
                "Summary spans several lines; it must be one line. Shorten `description` in pyproject.toml"
                    .to_owned(),
            );
        }
    }

    fn content_type(&mut self, metadata: &CoreMetadata) {
        let Some(value) = known(metadata, "Description-Content-Type") else {
            return;
        };
        let mut parts = value.split(';').map(str::trim);
        let media = parts.next().unwrap_or_default().to_ascii_lowercase();
        if !matches!(
            media.as_str(),
            "text/plain" | "text/x-rst" | "text/markdown"
        ) {
            self.error(format!(
                "Description-Content-Type `{value}` is not one of text/plain, text/x-rst, text/markdown; set `readme` in pyproject.toml to a .md, .rst or .txt file"
            ));
            return;
        }
        for parameter in parts.filter(|p| !p.is_empty()) {
            let (key, raw) = parameter.split_once('=').unwrap_or((parameter, ""));
            let parameter_value = raw.trim().trim_matches('"');
            match key.trim().to_ascii_lowercase().as_str() {
                "charset" if !parameter_value.eq_ignore_ascii_case("utf-8") => {
                    self.error(format!(
                        "Description-Content-Type `{value}`: charset must be UTF-8, found `{parameter_value}`"
                    ));
                }
                "variant"
                    if media == "text/markdown"
                        && !matches!(parameter_value, "GFM" | "CommonMark") =>
                {
                    self.error(format!(
                        "Description-Content-Type `{value}`: the markdown variant must be GFM or CommonMark, found `{parameter_value}`"
                    ));
                }
                "charset" | "variant" => {}
                other => self.warning(format!(
                    "Description-Content-Type `{value}`: unknown parameter `{other}`"
                )),
            }
        }
    }

    fn license(
        &mut self,
        metadata: &CoreMetadata,
        contents: &Contents<'_>,
        declared: Option<(u8, u8)>,
    ) {
        let expression = known(metadata, "License-Expression");
        if let Some(expression) = expression {
            if let Err(error) = spdx::Expression::parse(expression) {
                self.error(format!(
                    "License-Expression `{expression}` is not a valid SPDX expression ({}); use SPDX identifiers like `MIT` or `Apache-2.0 OR MIT` (https://spdx.org/licenses/)",
                    error.reason
                ));
            }
            if known(metadata, "License").is_some() {
                self.error(
                    "both License and License-Expression are set; they are exclusive (PEP 639). Remove the `license = {text = ...}` table or the License classifier text and keep the SPDX expression"
                        .to_owned(),
                );
            }
        }
        // Before 2.4, License-File paths had no fixed place in the archive.
        if declared.is_none_or(|declared| declared < (2, 4)) {
            return;
        }
        for path in metadata.get_all("License-File") {
            if let Some(problem) = unsafe_path(path) {
                self.error(format!(
                    "License-File `{path}` has {problem}; it must be a path relative to the project root"
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

    fn dynamic(&mut self, metadata: &CoreMetadata) {
        for value in metadata.get_all("Dynamic") {
            let known = FIELDS
                .iter()
                .find(|(name, _, _)| name.eq_ignore_ascii_case(value));
            match known {
                Some((name @ ("Name" | "Version" | "Metadata-Version"), _, _)) => {
                    self.error(format!(
                        "Dynamic lists `{name}`, which can never be dynamic in core metadata"
                    ));
                }
                Some(_) => {}
                None => self.error(format!(
                    "Dynamic lists `{value}`, which is not a core metadata field"
                )),
            }
        }
    }

    fn urls(&mut self, metadata: &CoreMetadata) {
        for field in ["Home-page", "Download-URL"] {
            if let Some(url) = known(metadata, field) {
                if !valid_url(url) {
                    self.error(format!("{field} `{url}` is not a valid http(s) URL"));
                }
            }
        }
        for value in metadata.get_all("Project-URL") {
            let Some((label, url)) = value.split_once(',') else {
                self.error(format!("Project-URL `{value}` must be `Label, URL`"));
                continue;
            };
            let (label, url) = (label.trim(), url.trim());
            let length = label.chars().count();
            if label.is_empty() {
                self.error(format!("Project-URL `{value}` has no label"));
            } else if length > MAX_URL_LABEL {
                self.error(format!(
                    "Project-URL label `{label}` is {length} characters long; PyPI accepts at most {MAX_URL_LABEL}. Shorten the key in [project.urls]"
                ));
            }
            if !valid_url(url) {
                self.error(format!(
                    "Project-URL `{label}` points at `{url}`, which is not a valid http(s) URL"
                ));
            }
        }
    }
}

/// A field's first value; `UNKNOWN` (what distutils wrote for a missing value, and what
/// Warehouse drops) counts as absent.
fn known<'a>(metadata: &'a CoreMetadata, field: &str) -> Option<&'a str> {
    metadata
        .get(field)
        .filter(|value| value.trim() != "UNKNOWN")
}

fn valid_url(url: &str) -> bool {
    url::Url::parse(url)
        .is_ok_and(|parsed| matches!(parsed.scheme(), "http" | "https") && parsed.host().is_some())
}

/// Split an RFC 822 address list on commas outside quotes and angle brackets; each entry
/// reduced to its address (`Name <a@b>` -> `a@b`).
fn split_addresses(value: &str) -> Vec<String> {
    let mut entries = Vec::new();
    let mut current = String::new();
    let (mut quoted, mut angle) = (false, false);
    for character in value.chars() {
        match character {
            '"' => quoted = !quoted,
            '<' if !quoted => angle = true,
            '>' if !quoted => angle = false,
            ',' if !quoted && !angle => {
                entries.push(std::mem::take(&mut current));
                continue;
            }
            _ => {}
        }
        current.push(character);
    }
    entries.push(current);
    entries
        .into_iter()
        .map(|entry| {
            let entry = entry.trim();
            match (entry.rfind('<'), entry.rfind('>')) {
                (Some(open), Some(close)) if open < close => entry[open + 1..close].to_owned(),
                _ => entry.to_owned(),
            }
        })
        .filter(|entry| !entry.is_empty())
        .collect()
}

fn valid_address(address: &str) -> bool {
    let Some((local, domain)) = address.rsplit_once('@') else {
        return false;
    };
    !local.is_empty()
        && !local.contains(char::is_whitespace)
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && domain
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '-'))
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
        let text = "Metadata-Version: 2.4\nName: demo\nVersion: 1.0\nSummary: s\nAuthor-email: \"Doe, J\" <j@example.org>, x@example.com\nLicense-Expression: Apache-2.0 OR MIT\nLicense-File: LICENSE\nProject-URL: Source, https://example.org/src\nRequires-Python: >=3.9\nDescription-Content-Type: text/markdown; charset=UTF-8; variant=GFM\nDynamic: Requires-Dist\n";
        assert_eq!(findings(text, &["demo-1.0/LICENSE"]), Vec::<String>::new());
    }

    #[test]
    fn each_rule_fires() {
        let text = "Metadata-Version: 2.1\nName: demo\nVersion: 1.0\nLicense: MIT\nLicense-Expression: MIT OR Bogus\nLicense-File: COPYING\nDescription-Content-Type: text/html\nProject-URL: A label that is much longer than thirty-two characters, https://example.org\nRequires-Python: >=>3\nAuthor-email: not-an-address\nDynamic: Name\n";
        let found = findings(text, &[]);
        for expected in [
            "License-Expression needs Metadata-Version 2.4",
            "`MIT OR Bogus` is not a valid SPDX",
            "both License and License-Expression",
            "Description-Content-Type `text/html`",
            "PyPI accepts at most 32",
            "Requires-Python `>=>3`",
            "`not-an-address`",
            "Dynamic lists `Name`",
        ] {
            assert!(
                found.iter().any(|message| message.contains(expected)),
                "{expected} not in {found:#?}"
            );
        }
    }

    #[test]
    fn license_files_must_be_in_the_archive_from_2_4() {
        let text = "Metadata-Version: 2.4\nName: demo\nVersion: 1.0\nLicense-File: COPYING\nLicense-File: ../x\n";
        let found = findings(text, &[]);
        assert_eq!(found.len(), 2, "{found:#?}");
        assert!(found[0].contains("expected member `demo-1.0/COPYING`"));
        assert!(found[1].contains("a `..` step"));
    }

    #[test]
    fn unknown_values_from_distutils_count_as_absent() {
        let text = "Metadata-Version: 1.1\nName: demo\nVersion: 1.0\nHome-page: UNKNOWN\nAuthor-email: UNKNOWN\nLicense: UNKNOWN\n";
        assert_eq!(findings(text, &[]), Vec::<String>::new());
    }

    #[test]
    fn unknown_metadata_versions() {
        let future = findings("Metadata-Version: 9.9\nName: demo\nVersion: 1.0\n", &[]);
        assert!(future[0].contains("`9.9` is not a core metadata version"));
        let minor = findings("Metadata-Version: 2.6\nName: demo\nVersion: 1.0\n", &[]);
        assert!(minor[0].contains("newer than the versions this tool knows"));
    }
}
