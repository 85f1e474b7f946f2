//! Rules for the one-line summary and the description's content type: `Summary` on one line and
//! at most 512 characters (Warehouse), `Description-Content-Type` as `packaging` accepts it.

use super::Rules;

const MAX_SUMMARY: usize = 512;

impl Rules<'_> {
    pub(super) fn summary(&mut self) {
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
    pub(super) fn content_type(&mut self) {
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
}
