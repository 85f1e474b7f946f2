//! The metadata part of the upload form, as `PyPI` validates it: Warehouse reads the form, not
//! the file (`forklift/legacy.py` `metadata.parse(None, form_data=request.POST)`), so the form
//! carries only known core metadata fields from a fixed table, only those the declared
//! Metadata-Version allows, and no `UNKNOWN` placeholders. The file itself is sent unchanged.

use super::metadata::CoreMetadata;

/// How a field travels in the form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Use {
    /// One value (a second one makes `PyPI` answer "has invalid data").
    Single,
    /// Repeated as repeated form keys.
    Multiple,
}

/// One core metadata field: its METADATA header, the form field Warehouse reads it from
/// (`forklift/metadata.py` `_FORM_TO_RAW_MAPPING`), and the metadata version that introduced
/// it (as `packaging.metadata` dates them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    pub header: &'static str,
    pub form: &'static str,
    pub introduced: Version,
    pub usage: Use,
}

/// A core metadata version as (major, minor).
pub type Version = (u8, u8);

/// The versions `PyPI` accepts (Warehouse `SUPPORTED_METADATA_VERSIONS`; 2.0 was never a
/// standard and is refused since 2024).
pub const SUPPORTED_VERSIONS: [(&str, Version); 8] = [
    ("1.0", (1, 0)),
    ("1.1", (1, 1)),
    ("1.2", (1, 2)),
    ("2.1", (2, 1)),
    ("2.2", (2, 2)),
    ("2.3", (2, 3)),
    ("2.4", (2, 4)),
    ("2.5", (2, 5)),
];

const fn field(header: &'static str, form: &'static str, introduced: Version, usage: Use) -> Field {
    Field {
        header,
        form,
        introduced,
        usage,
    }
}

/// Every core metadata field `PyPI` reads from the form. `Description` is sent once, from the
/// body (2.1+) or the header; `Keywords` is one comma-separated value; `Project-URL` values
/// are `Label, URL`; 2.5's `Import-Name` and `Import-Namespace` go under singular names.
pub const FIELDS: [Field; 32] = [
    field("Metadata-Version", "metadata_version", (1, 0), Use::Single),
    field("Name", "name", (1, 0), Use::Single),
    field("Version", "version", (1, 0), Use::Single),
    field("Dynamic", "dynamic", (2, 2), Use::Multiple),
    field("Platform", "platform", (1, 0), Use::Multiple),
    field(
        "Supported-Platform",
        "supported_platform",
        (1, 1),
        Use::Multiple,
    ),
    field("Summary", "summary", (1, 0), Use::Single),
    field("Description", "description", (1, 0), Use::Single),
    field(
        "Description-Content-Type",
        "description_content_type",
        (2, 1),
        Use::Single,
    ),
    field("Keywords", "keywords", (1, 0), Use::Single),
    field("Home-page", "home_page", (1, 0), Use::Single),
    field("Download-URL", "download_url", (1, 1), Use::Single),
    field("Author", "author", (1, 0), Use::Single),
    field("Author-email", "author_email", (1, 0), Use::Single),
    field("Maintainer", "maintainer", (1, 2), Use::Single),
    field("Maintainer-email", "maintainer_email", (1, 2), Use::Single),
    field("License", "license", (1, 0), Use::Single),
    field(
        "License-Expression",
        "license_expression",
        (2, 4),
        Use::Single,
    ),
    field("License-File", "license_file", (2, 4), Use::Multiple),
    field("Classifier", "classifiers", (1, 1), Use::Multiple),
    field("Requires-Dist", "requires_dist", (1, 2), Use::Multiple),
    field("Requires-Python", "requires_python", (1, 2), Use::Single),
    field(
        "Requires-External",
        "requires_external",
        (1, 2),
        Use::Multiple,
    ),
    field("Project-URL", "project_urls", (1, 2), Use::Multiple),
    field("Provides-Extra", "provides_extra", (2, 1), Use::Multiple),
    field("Provides-Dist", "provides_dist", (1, 2), Use::Multiple),
    field("Obsoletes-Dist", "obsoletes_dist", (1, 2), Use::Multiple),
    field("Requires", "requires", (1, 1), Use::Multiple),
    field("Provides", "provides", (1, 1), Use::Multiple),
    field("Obsoletes", "obsoletes", (1, 1), Use::Multiple),
    field("Import-Name", "import_name", (2, 5), Use::Multiple),
    field(
        "Import-Namespace",
        "import_namespace",
        (2, 5),
        Use::Multiple,
    ),
];

/// The table entry of a METADATA header (names are case-insensitive).
#[must_use]
pub fn lookup(header: &str) -> Option<&'static Field> {
    FIELDS
        .iter()
        .find(|field| field.header.eq_ignore_ascii_case(header))
}

/// A declared Metadata-Version `PyPI` accepts, compared as Warehouse does (exact text).
#[must_use]
pub fn supported_version(declared: &str) -> Option<Version> {
    SUPPORTED_VERSIONS
        .iter()
        .find(|(text, _)| *text == declared)
        .map(|(_, version)| *version)
}

/// What `PyPI` drops from a form: `UNKNOWN` (distutils' placeholder for a missing value,
/// deleted by Warehouse's `sanitize`) and empty values (treated as absent).
#[must_use]
pub fn is_placeholder(value: &str) -> bool {
    value.trim().is_empty() || value.trim() == "UNKNOWN"
}

/// Why a header of the file is not in the form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// Newer than the declared Metadata-Version: `PyPI` would refuse the whole form.
    NewerThanDeclared {
        introduced: Version,
        declared: Version,
    },
    /// `UNKNOWN`: `PyPI` deletes it anyway.
    Placeholder,
    /// Not a core metadata field: never forwarded, so it cannot pose as a protocol field.
    NotCoreMetadata,
    /// A single-use field given again: only the first value is sent.
    Repeated,
}

/// A header left out of the form, with the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Omission {
    /// The header as the file spells it.
    pub header: String,
    pub reason: Reason,
}

/// The metadata fields of one upload form, in file order, and what was left out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MetadataForm {
    pub fields: Vec<(&'static str, String)>,
    pub omitted: Vec<Omission>,
}

impl MetadataForm {
    /// Build the form from the file's metadata. Without a supported Metadata-Version no field
    /// is left out for its age (verification refuses such a file before any upload).
    #[must_use]
    pub fn build(metadata: &CoreMetadata) -> Self {
        let declared = metadata.metadata_version().and_then(supported_version);
        let mut form = Self::default();
        let mut single_seen: Vec<&'static str> = Vec::new();
        for (header, value) in &metadata.fields {
            let Some(field) = lookup(header) else {
                form.omit(header, Reason::NotCoreMetadata);
                continue;
            };
            if field.form == "description" {
                continue; // sent once below, from the body when there is one
            }
            // Placeholders first: PyPI drops them before it validates, so an `UNKNOWN` field
            // newer than the declared version (setuptools 38 wrote one into 1.1) is harmless.
            if value.trim() == "UNKNOWN" {
                form.omit(header, Reason::Placeholder);
                continue;
            }
            if is_placeholder(value) {
                continue;
            }
            if let Some(declared) = declared {
                if field.introduced > declared {
                    form.omit(
                        header,
                        Reason::NewerThanDeclared {
                            introduced: field.introduced,
                            declared,
                        },
                    );
                    continue;
                }
            }
            if field.usage == Use::Single {
                if single_seen.contains(&field.form) {
                    form.omit(header, Reason::Repeated);
                    continue;
                }
                single_seen.push(field.form);
            }
            form.fields.push((field.form, value.clone()));
        }
        match metadata.description() {
            Some(description) if description.trim() == "UNKNOWN" => {
                form.omit("Description", Reason::Placeholder);
            }
            Some(description) if !is_placeholder(description) => {
                form.fields.push(("description", description.to_owned()));
            }
            _ => {}
        }
        form
    }

    fn omit(&mut self, header: &str, reason: Reason) {
        self.omitted.push(Omission {
            header: header.to_owned(),
            reason,
        });
    }

    /// Every value sent under a form field.
    pub fn values<'a>(&'a self, form_field: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.fields
            .iter()
            .filter(move |(name, _)| *name == form_field)
            .map(|(_, value)| value.as_str())
    }

    /// The notice for the user: what the form leaves out and why, one line; `None` when the
    /// form carries every header of the file.
    #[must_use]
    pub fn notice(&self) -> Option<String> {
        if self.omitted.is_empty() {
            return None;
        }
        let mut groups: Vec<(String, Vec<String>)> = Vec::new();
        for omission in &self.omitted {
            let why = match &omission.reason {
                Reason::NewerThanDeclared {
                    introduced,
                    declared,
                } => {
                    let twine = if omission.header.eq_ignore_ascii_case("License-File") {
                        " (twine leaves it out too)"
                    } else {
                        ""
                    };
                    format!(
                        "introduced in Metadata-Version {}.{}, but the file declares {}.{}: PyPI would refuse the upload with it{twine}",
                        introduced.0, introduced.1, declared.0, declared.1
                    )
                }
                Reason::Placeholder => "`UNKNOWN` placeholders, which PyPI drops".to_owned(),
                Reason::NotCoreMetadata => "not core metadata fields".to_owned(),
                Reason::Repeated => {
                    "single-use fields given more than once (the first value is sent)".to_owned()
                }
            };
            match groups.iter_mut().find(|(reason, _)| *reason == why) {
                Some((_, headers)) => {
                    if !headers.contains(&omission.header) {
                        headers.push(omission.header.clone());
                    }
                }
                None => groups.push((why, vec![omission.header.clone()])),
            }
        }
        let parts: Vec<String> = groups
            .iter()
            .map(|(why, headers)| format!("{}: {why}", headers.join(", ")))
            .collect();
        Some(format!(
            "left out of the upload form (the file itself is sent unchanged): {}",
            parts.join("; ")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(text: &str) -> MetadataForm {
        MetadataForm::build(&CoreMetadata::parse(text).unwrap())
    }

    #[test]
    fn the_table_uses_the_names_warehouse_reads() {
        // Warehouse's `_FORM_TO_RAW_MAPPING`: the raw names of packaging.metadata, with
        // singular names for platform, supported_platform, license_file and the 2.5 fields.
        let name = |header: &str| lookup(header).map(|field| field.form);
        assert_eq!(name("Requires-Dist"), Some("requires_dist"));
        assert_eq!(name("classifier"), Some("classifiers"));
        assert_eq!(name("Project-URL"), Some("project_urls"));
        assert_eq!(name("License-File"), Some("license_file"));
        assert_eq!(name("Author-email"), Some("author_email"));
        assert_eq!(name("Home-Page"), Some("home_page"));
        assert_eq!(name("Platform"), Some("platform"));
        assert_eq!(name("Supported-Platform"), Some("supported_platform"));
        assert_eq!(name("Import-Name"), Some("import_name"));
        assert_eq!(name("Import-Namespace"), Some("import_namespace"));
        assert_eq!(name("Sha256-Digest"), None);
        // No header can ever map to a protocol field.
        for protocol in [
            ":action",
            "protocol_version",
            "filetype",
            "pyversion",
            "sha256_digest",
            "blake2_256_digest",
            "md5_digest",
            "attestations",
            "content",
            "comment",
            "gpg_signature",
        ] {
            assert!(
                FIELDS.iter().all(|field| field.form != protocol),
                "{protocol}"
            );
        }
        // Every form name is unique, and so is every header.
        for (index, field) in FIELDS.iter().enumerate() {
            assert!(
                FIELDS[index + 1..]
                    .iter()
                    .all(|other| other.form != field.form
                        && !other.header.eq_ignore_ascii_case(field.header))
            );
        }
    }

    #[test]
    fn versions_as_packaging_dates_the_fields() {
        let introduced = |header: &str| lookup(header).unwrap().introduced;
        assert_eq!(introduced("Classifier"), (1, 1));
        assert_eq!(introduced("Download-URL"), (1, 1));
        assert_eq!(introduced("Maintainer"), (1, 2));
        assert_eq!(introduced("Project-URL"), (1, 2));
        assert_eq!(introduced("Description-Content-Type"), (2, 1));
        assert_eq!(introduced("Provides-Extra"), (2, 1));
        assert_eq!(introduced("Dynamic"), (2, 2));
        assert_eq!(introduced("License-Expression"), (2, 4));
        assert_eq!(introduced("License-File"), (2, 4));
        assert_eq!(introduced("Import-Name"), (2, 5));
        assert_eq!(supported_version("2.0"), None);
        assert_eq!(supported_version("2.5"), Some((2, 5)));
        assert_eq!(supported_version("2.10"), None);
    }

    #[test]
    fn license_file_is_left_out_below_2_4_with_a_notice() {
        let form = form(
            "Metadata-Version: 2.1\nName: demo\nVersion: 1.0\nLicense-File: LICENSE\nLicense-File: NOTICE\nClassifier: A\n\nbody\n",
        );
        assert_eq!(form.values("license_file").count(), 0);
        assert_eq!(form.values("classifiers").collect::<Vec<_>>(), ["A"]);
        assert_eq!(form.values("description").collect::<Vec<_>>(), ["body\n"]);
        assert_eq!(
            form.notice().unwrap(),
            "left out of the upload form (the file itself is sent unchanged): License-File: introduced in Metadata-Version 2.4, but the file declares 2.1: PyPI would refuse the upload with it (twine leaves it out too)"
        );
        let kept = form_for_2_4();
        assert_eq!(kept.values("license_file").collect::<Vec<_>>(), ["LICENSE"]);
        assert_eq!(kept.notice(), None);
    }

    fn form_for_2_4() -> MetadataForm {
        form("Metadata-Version: 2.4\nName: demo\nVersion: 1.0\nLicense-File: LICENSE\n")
    }

    #[test]
    fn smuggled_headers_placeholders_and_repeats_stay_out() {
        let form = form(
            "Metadata-Version: 1.0\nName: demo\nVersion: 1.0\nSha256-Digest: 00\nFiletype: sdist\nProtocol-Version: 2\nAttestations: []\nHome-page: UNKNOWN\nPlatform: UNKNOWN\nSummary: one\nSummary: two\nKeywords: a,b c\nClassifier: C\nDescription: UNKNOWN\n",
        );
        let names: Vec<&str> = form.fields.iter().map(|(name, _)| *name).collect();
        assert_eq!(
            names,
            ["metadata_version", "name", "version", "summary", "keywords"]
        );
        assert_eq!(form.values("keywords").collect::<Vec<_>>(), ["a,b c"]);
        assert_eq!(
            form.notice().unwrap(),
            "left out of the upload form (the file itself is sent unchanged): Sha256-Digest, Filetype, Protocol-Version, Attestations: not core metadata fields; Home-page, Platform, Description: `UNKNOWN` placeholders, which PyPI drops; Summary: single-use fields given more than once (the first value is sent); Classifier: introduced in Metadata-Version 1.1, but the file declares 1.0: PyPI would refuse the upload with it"
        );
    }

    #[test]
    fn a_placeholder_newer_than_the_declared_version_is_only_a_placeholder() {
        // toml 0.10.0's sdist (setuptools 38): Metadata 1.1 with a 2.1 field set to UNKNOWN.
        let form = form(
            "Metadata-Version: 1.1\nName: toml\nVersion: 0.10.0\nDescription-Content-Type: UNKNOWN\n",
        );
        assert_eq!(form.fields.len(), 3);
        assert_eq!(
            form.omitted,
            [Omission {
                header: "Description-Content-Type".to_owned(),
                reason: Reason::Placeholder
            }]
        );
    }

    #[test]
    fn empty_values_are_not_sent() {
        let form =
            form("Metadata-Version: 2.5\nName: demo\nVersion: 1.0\nImport-Name:\nKeywords: \n");
        assert_eq!(form.fields.len(), 3);
        assert_eq!(form.notice(), None);
    }
}
