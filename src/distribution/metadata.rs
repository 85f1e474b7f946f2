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
                let Some((name, value)) = fields.last_mut() else {
                    return Err("the first line is indented; core metadata must start with `Metadata-Version: ...`".to_owned());
                };
                value.push('\n');
                if name.eq_ignore_ascii_case("Description") {
                    // Kept as written; unfolded as a whole below (the prefix is per writer).
                    value.push_str(content);
                } else {
                    value.push_str(unfold(content));
                }
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
        for (name, value) in &mut fields {
            if name.eq_ignore_ascii_case("Description") {
                *value = unfold_description(value);
            }
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

/// A folded `Description:` header back to the text its writer folded. distutils' and
/// setuptools' `rfc822_escape` put 8 spaces after every newline; distlib (metadata 1.2) and the
/// core metadata spec put 7 spaces and a `|` (the spec's example shows 8 and a `|`). Exactly that
/// prefix is removed, as pkginfo (twine before 6) did, so indentation inside the description
/// (literal blocks, block quotes) survives. A header folded some other way loses the
/// indentation its lines share, as setuptools' own reader does.
#[must_use]
pub fn unfold_description(value: &str) -> String {
    let mut lines = value.split('\n');
    let first = lines.next().unwrap_or_default();
    let rest: Vec<&str> = lines.collect();
    let all = |prefix: &str| !rest.is_empty() && rest.iter().all(|line| line.starts_with(prefix));
    let eight = "        ";
    let unfolded: Vec<&str> = if all("       |") {
        rest.iter().map(|line| &line[8..]).collect()
    } else if all("        |") {
        rest.iter().map(|line| &line[9..]).collect()
    } else if rest
        .iter()
        .all(|line| line.starts_with(eight) || line.trim().is_empty())
    {
        rest.iter()
            .map(|line| line.strip_prefix(eight).unwrap_or(""))
            .collect()
    } else {
        let common = rest
            .iter()
            .filter(|line| !line.trim().is_empty())
            .map(|line| &line[..line.len() - line.trim_start_matches([' ', '\t']).len()])
            .reduce(|shared, indent| {
                let same = shared
                    .bytes()
                    .zip(indent.bytes())
                    .take_while(|(a, b)| a == b)
                    .count();
                &shared[..same]
            })
            .unwrap_or_default();
        rest.iter()
            .map(|line| {
                if line.trim().is_empty() {
                    ""
                } else {
                    line.strip_prefix(common).unwrap_or(line)
                }
            })
            .collect()
    };
    let mut text = String::with_capacity(value.len());
    text.push_str(first);
    for line in unfolded {
        text.push('\n');
        text.push_str(line);
    }
    text
}

/// Continuation lines of other folded headers lose their indentation (and a `|` prefix).
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

    fn description_of(text: &str) -> String {
        CoreMetadata::parse(text)
            .unwrap()
            .description()
            .unwrap()
            .to_owned()
    }

    #[test]
    fn distutils_folding_keeps_indentation_blank_lines_and_tabs() {
        // rfc822_escape of "Demo\n====\n\nExample::\n\n    code\n\n\tTabbed\n| line block\n"
        let text = "Metadata-Version: 1.1\nName: old\nVersion: 0.1\nDescription: Demo\n        ====\n        \n        Example::\n        \n            code\n        \n        \tTabbed\n        | line block\n        \nPlatform: UNKNOWN\n";
        assert_eq!(
            description_of(text),
            "Demo\n====\n\nExample::\n\n    code\n\n\tTabbed\n| line block\n"
        );
    }

    #[test]
    fn distutils_folding_of_an_indented_docstring_is_not_dedented() {
        // long_description = __doc__ (pygments 2.1.3): the indentation is the author's.
        let text = "Metadata-Version: 1.1\nName: old\nVersion: 0.1\nDescription: Title\n            ~~~~~\n        \n            Text.\n";
        assert_eq!(description_of(text), "Title\n    ~~~~~\n\n    Text.");
    }

    #[test]
    fn pipe_folding_of_the_spec_and_distlib() {
        // distlib (metadata 1.2) and the spec's text: 7 spaces and `|`.
        let text = "Metadata-Version: 1.2\nName: old\nVersion: 0.1\nDescription: This project\n       |For example::\n       |\n       |    >>> sum(1, 2)\n       |\nKeywords: a\n";
        assert_eq!(
            description_of(text),
            "This project\nFor example::\n\n    >>> sum(1, 2)\n"
        );
    }

    #[test]
    fn other_folding_loses_only_the_shared_indentation() {
        let text = "Metadata-Version: 1.0\nName: old\nVersion: 0.1\nDescription: Title\n\t=====\n   \n\tText::\n\n";
        assert_eq!(description_of(text), "Title\n=====\n\nText::");
        let text =
            "Metadata-Version: 1.0\nName: old\nVersion: 0.1\nDescription: Title\n    =====\n\n";
        assert_eq!(description_of(text), "Title\n=====");
    }

    #[test]
    fn a_body_description_is_sent_as_written() {
        let text =
            "Metadata-Version: 2.1\nName: new\nVersion: 0.1\n\n        indented\n       |piped\n";
        assert_eq!(description_of(text), "        indented\n       |piped\n");
    }
}
