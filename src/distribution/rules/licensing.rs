//! Rules for the license fields (PEP 639): `License-Expression` as a valid SPDX expression and
//! never next to `License`, and each `License-File` a plain relative path present in the archive.

use super::{Contents, Rules};
use crate::distribution::archive::shorten;
use crate::distribution::license;

impl Rules<'_> {
    pub(super) fn license(&mut self, contents: &Contents<'_>) {
        let expression = self.first("license_expression");
        if let Some(expression) = &expression {
            if let Err(reason) = license::canonicalize(expression) {
                self.error(format!(
                    "License-Expression `{}` is not a valid SPDX expression ({reason}); use SPDX identifiers like `MIT` or `Apache-2.0 OR MIT` (https://spdx.org/licenses/)",
                    shorten(expression)
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
