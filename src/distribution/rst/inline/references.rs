//! References: `name_` and `name__`, footnote and citation references (`[1]_`, `[#]_`,
//! `[label]_`), and phrase references with or without an embedded URI or alias, recorded in the
//! document to resolve against its targets at the end.

use super::{Fit, Inline};
use crate::distribution::rst::normalize_name;

impl Inline<'_> {
    /// `name_` and `name__` references.
    pub(super) fn whole_reference(&mut self, start: usize) -> Option<usize> {
        let name_end = self.simplename(start)?;
        // Backtrack like the regex: the longest name whose `_`/`__` is followed by an end.
        let mut candidates: Vec<usize> = (start + 1..=name_end)
            .rev()
            .filter(|end| *end == name_end || "-._+:".contains(self.text[*end]))
            .collect();
        candidates.retain(|end| *end == name_end || self.text[*end] == '_');
        for end in candidates {
            for underscores in [2, 1] {
                if self
                    .text
                    .get(end..end + underscores)
                    .is_some_and(|s| s.iter().all(|c| *c == '_'))
                {
                    match self.suffix_fits(end + underscores) {
                        Fit::Yes => {
                            let name: String = self.text[start..end].iter().collect();
                            if !name.is_ascii() {
                                self.certain = false;
                            }
                            let line = self.line_of(start);
                            if underscores == 2 {
                                self.document.anonymous_references.push(line);
                            } else {
                                self.document.references.push((normalize_name(&name), line));
                            }
                            return Some(end + underscores);
                        }
                        Fit::Unknown => self.certain = false,
                        Fit::No => {}
                    }
                }
            }
        }
        None
    }

    /// `[1]_`, `[#]_`, `[#label]_`, `[*]_`, `[citation]_`.
    pub(super) fn footnote_reference(&mut self, start: usize) -> Option<usize> {
        if self.at(start) != Some('[') {
            return None;
        }
        let close =
            (start + 1..self.text.len()).find(|i| self.text[*i] == ']' || self.text[*i] == '\n')?;
        if self.text[close] != ']' || self.at(close + 1) != Some('_') {
            return None;
        }
        let label: String = self.text[start + 1..close].iter().collect();
        let valid = !label.is_empty()
            && (label.chars().all(|c| c.is_ascii_digit())
                || label == "*"
                || label.starts_with('#')
                || label
                    .chars()
                    .all(|c| c.is_alphanumeric() || "-._+:".contains(c)));
        if !valid {
            return None;
        }
        match self.suffix_fits(close + 2) {
            Fit::Yes => {}
            Fit::Unknown => {
                self.certain = false;
                return None;
            }
            Fit::No => return None,
        }
        let line = self.line_of(start);
        if label == "#" || label == "*" {
            self.document.auto_footnotes += 1;
        } else {
            self.document
                .footnote_references
                .push((normalize_name(&label), line));
        }
        Some(close + 2)
    }

    pub(super) fn phrase_reference(&mut self, start: usize, text: &str, anonymous: bool) {
        let line = self.line_of(start);
        let unescaped: String = text.chars().filter(|c| *c != '\0').collect();
        let embedded = unescaped.trim_end().strip_suffix('>').and_then(|rest| {
            let open = rest.rfind('<')?;
            let before = &rest[..open];
            (open == 0 || before.ends_with([' ', '\n']))
                .then(|| (before.trim_end().to_owned(), rest[open + 1..].to_owned()))
        });
        match embedded {
            Some((label, alias)) => {
                // A URI (anything with a scheme) is never a name alias: keep those out.
                let alias_is_name = alias.ends_with('_')
                    && !alias.ends_with("\\_")
                    && !alias.contains([':', '@', '\\']);
                if alias_is_name {
                    self.document
                        .references
                        .push((normalize_name(&alias[..alias.len() - 1]), line));
                }
                if !anonymous && !label.is_empty() {
                    self.document.targets.insert(normalize_name(&label));
                }
            }
            None if anonymous => self.document.anonymous_references.push(line),
            None => self
                .document
                .references
                .push((normalize_name(&unescaped), line)),
        }
    }
}
