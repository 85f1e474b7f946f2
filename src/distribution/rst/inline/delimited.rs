//! Inline markup closed by a fixed end-string: emphasis (`*`), strong (`**`), inline literals,
//! inline targets and substitution references (`|name|`), and the warning docutils emits when
//! the end-string is missing.

use super::{Fit, Inline};
use crate::distribution::rst::normalize_name;

impl Inline<'_> {
    /// emphasis, strong, literal, inline target, substitution reference.
    pub(super) fn inline_object(
        &mut self,
        start: usize,
        length: usize,
        kind: &str,
        ends: &[&'static str],
        literal: bool,
    ) -> usize {
        let content = start + length;
        if self.quoted(start, content) {
            return content;
        }
        if let Some((end, after, which)) = self.find_end(content, ends, literal) {
            if end > content {
                let text: String = self.text[content..end]
                    .iter()
                    .filter(|c| **c != '\0')
                    .collect();
                match kind {
                    "target" => {
                        self.document.targets.insert(normalize_name(&text));
                    }
                    "substitution_reference" => {
                        let line = self.line_of(start);
                        self.document
                            .substitution_references
                            .push((normalize_name(&text), line));
                        match which {
                            "|_" => self.document.references.push((normalize_name(&text), line)),
                            "|__" => self.document.anonymous_references.push(line),
                            _ => {}
                        }
                    }
                    _ => {}
                }
                return after;
            }
        }
        self.report(start, format!("Inline {kind} start-string without end-string (an unmatched `{}`; escape it with a backslash or put code in ``double backquotes``)", &self.text[start..content].iter().collect::<String>()));
        content
    }

    /// The first end-string after `from` (docutils searches the text after the start-string).
    fn find_end(
        &mut self,
        from: usize,
        ends: &[&'static str],
        literal: bool,
    ) -> Option<(usize, usize, &'static str)> {
        for position in from..self.text.len() {
            if position > from {
                let before = self.text[position - 1];
                if before.is_whitespace() || (!literal && before == '\0') {
                    continue;
                }
            }
            for end in ends {
                let chars: Vec<char> = end.chars().collect();
                if self.text.get(position..position + chars.len()) == Some(chars.as_slice()) {
                    match self.suffix_fits(position + chars.len()) {
                        Fit::Yes => return Some((position, position + chars.len(), end)),
                        Fit::Unknown => self.certain = false,
                        Fit::No => {}
                    }
                }
            }
        }
        None
    }
}
