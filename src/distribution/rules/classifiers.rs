//! The rule for `Classifier`: each one a current trove classifier (`trove-classifiers`), no
//! `Private ::` classifier, and a deprecated one named with its replacement.

use super::Rules;
use crate::distribution::classifiers::{self, Verdict};

impl Rules<'_> {
    pub(super) fn classifiers(&mut self) {
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
}
