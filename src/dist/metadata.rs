//! Core metadata (<https://packaging.python.org/specifications/core-metadata/>), versions 1.0
//! to 2.5: the email-header format of `METADATA` / `PKG-INFO`, kept in file order so repeated
//! fields stay repeated.

/// Parsed core metadata: header fields in file order, and the description body (2.1+).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CoreMetadata {
    pub fields: Vec<(String, String)>,
    pub body: Option<String>,
}

impl CoreMetadata {
    /// Parse the header block and the body. Fails only when the text is not metadata at all.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut fields: Vec<(String, String)> = Vec::new();
        let mut lines = text.split_inclusive('\n');
        let mut body_start = None;
        let mut consumed = 0;
        for line in lines.by_ref() {
            consumed += line.len();
            let content = line.trim_end_matches(['\r', '\n']);
            if content.is_empty() {
                body_start = Some(consumed);
                break;
            }
            if content.starts_with([' ', '\t']) {
                // A continuation line (folded header; Description in metadata 1.x).
                let Some((_, value)) = fields.last_mut() else {
                    return Err("the first line is indented; core metadata must start with `Metadata-Version: ...`".to_owned());
                };
                value.push('\n');
                value.push_str(unfold(content));
                continue;
            }
            let Some((key, value)) = content.split_once(':') else {
                return Err(format!(
                    "line `{}` is not a `Key: value` header",
                    truncate(content)
                ));
            };
            if key.is_empty() || key.contains(char::is_whitespace) {
                return Err(format!(
                    "line `{}` has no valid field name",
                    truncate(content)
                ));
            }
            fields.push((key.to_owned(), value.trim().to_owned()));
        }
        if fields.is_empty() {
            return Err("the metadata file is empty".to_owned());
        }
        let body = body_start
            .map(|start| text[start..].to_owned())
            .filter(|body| !body.trim().is_empty());
        Ok(Self { fields, body })
    }

    /// The first value of a field (case-insensitive name).
    #[must_use]
    pub fn get(&self, key: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(key))
            .map(|(_, value)| value.as_str())
    }

    /// Every value of a repeated field.
    pub fn get_all<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.fields
            .iter()
            .filter(move |(name, _)| name.eq_ignore_ascii_case(key))
            .map(|(_, value)| value.as_str())
    }

    #[must_use]
    pub fn name(&self) -> Option<&str> {
        self.get("Name")
    }

    #[must_use]
    pub fn version(&self) -> Option<&str> {
        self.get("Version")
    }

    #[must_use]
    pub fn metadata_version(&self) -> Option<&str> {
        self.get("Metadata-Version")
    }

    /// The long description: the body (2.1+) or the `Description` header.
    #[must_use]
    pub fn description(&self) -> Option<&str> {
        self.body.as_deref().or_else(|| self.get("Description"))
    }
}

/// Metadata 1.x folds Description continuation lines as 8 spaces and a `|`.
fn unfold(line: &str) -> &str {
    let trimmed = line.trim_start_matches([' ', '\t']);
    if let Some(rest) = trimmed.strip_prefix('|') {
        rest.strip_prefix(' ').unwrap_or(rest)
    } else {
        trimmed
    }
}

fn truncate(line: &str) -> String {
    line.chars().take(60).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_fields_and_body_are_kept() {
        let text = "Metadata-Version: 2.4\nName: demo\nVersion: 1.0\nClassifier: A\nClassifier: B\nDescription-Content-Type: text/markdown\n\n# Demo\n\ntext\n";
        let metadata = CoreMetadata::parse(text).unwrap();
        assert_eq!(metadata.name(), Some("demo"));
        assert_eq!(
            metadata.get_all("classifier").collect::<Vec<_>>(),
            ["A", "B"]
        );
        assert_eq!(metadata.description(), Some("# Demo\n\ntext\n"));
    }

    #[test]
    fn legacy_folded_description() {
        let text = "Metadata-Version: 1.1\nName: old\nVersion: 0.1\nDescription: first\n        |second\n        |\n";
        let metadata = CoreMetadata::parse(text).unwrap();
        assert_eq!(metadata.get("Description"), Some("first\nsecond\n"));
    }
}
