//! Rules for where the project and its people are reached: `Author-email` and
//! `Maintainer-email` as `email-validator` checks them, and `Home-page`, `Download-URL` and
//! `Project-URL` labels and URLs as Warehouse accepts them.

use super::Rules;
use crate::distribution::archive::shorten;
use crate::distribution::{email, uri};

const MAX_URL_LABEL: usize = 32;

impl Rules<'_> {
    pub(super) fn emails(&mut self) {
        for (field, form_field) in [
            ("Author-email", "author_email"),
            ("Maintainer-email", "maintainer_email"),
        ] {
            let Some(value) = self.first(form_field) else {
                continue;
            };
            let address = match email::address_pypi_checks(&value) {
                Ok(Some(address)) => address,
                // Several addresses, or none PyPI could parse: PyPI checks nothing.
                Ok(None) => continue,
                Err(email::NestedTooDeeply) => {
                    self.error(format!(
                        "{field} `{}` nests comments `(...)` or groups `name:` more than {} levels deep: Python's email parser, which PyPI reads the address with, fails on it. Give plain addresses in `authors`/`maintainers` (`{{name = \"...\", email = \"user@example.org\"}}`)",
                        shorten(&value),
                        email::MAX_NESTING
                    ));
                    continue;
                }
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

    pub(super) fn urls(&mut self) {
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
