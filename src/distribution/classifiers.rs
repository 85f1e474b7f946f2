//! Trove classifiers as `PyPI` judges them (Warehouse `forklift/metadata.py` with the
//! `trove-classifiers` package): the list is embedded at build time from
//! `trove-classifiers.txt`, which `scripts/update-classifiers.py` writes from the pinned package.

use std::collections::HashMap;
use std::sync::LazyLock;

const LIST: &str = include_str!("trove-classifiers.txt");

/// What `PyPI` says about one classifier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Valid,
    /// Not in the list: `PyPI` refuses it.
    Unknown,
    /// Deprecated: `PyPI` refuses it and suggests these replacements (maybe none).
    Deprecated(Vec<&'static str>),
}

/// Classifier -> replacements when deprecated.
static CLASSIFIERS: LazyLock<HashMap<&'static str, Option<Vec<&'static str>>>> =
    LazyLock::new(|| {
        LIST.lines()
            .filter(|line| !line.starts_with('#') && !line.is_empty())
            .map(|line| {
                let mut parts = line.split('\t');
                let classifier = parts.next().unwrap_or_default();
                let deprecated = parts.next().map(|_| parts.collect());
                (classifier, deprecated)
            })
            .collect()
    });

/// Judge one classifier (exact text, as `PyPI` compares).
#[must_use]
pub fn verdict(classifier: &str) -> Verdict {
    match CLASSIFIERS.get(classifier) {
        None => Verdict::Unknown,
        Some(None) => Verdict::Valid,
        Some(Some(replacements)) => Verdict::Deprecated(replacements.clone()),
    }
}

/// The `trove-classifiers` release the embedded list comes from.
#[must_use]
pub fn list_version() -> &'static str {
    LIST.lines()
        .next()
        .and_then(|line| line.strip_prefix("# trove-classifiers "))
        .and_then(|rest| rest.split(':').next())
        .unwrap_or("unknown")
}

/// The embedded list file, for the staleness test.
#[must_use]
pub fn embedded_list() -> &'static str {
    LIST
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_list_answers() {
        assert_eq!(
            verdict("Development Status :: 5 - Production/Stable"),
            Verdict::Valid
        );
        assert_eq!(
            verdict("Programming Language :: Python :: 3"),
            Verdict::Valid
        );
        assert_eq!(
            verdict("Programming Language :: Cobol :: 2"),
            Verdict::Unknown
        );
        assert_eq!(verdict("Private :: Do Not Upload"), Verdict::Unknown);
        assert_eq!(
            verdict("development status :: 5 - production/stable"),
            Verdict::Unknown
        );
        assert_eq!(
            verdict("Natural Language :: Ukranian"),
            Verdict::Deprecated(vec!["Natural Language :: Ukrainian"])
        );
        assert!(list_version().starts_with("20"), "{}", list_version());
        assert!(CLASSIFIERS.len() > 800);
    }
}
