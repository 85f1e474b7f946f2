//! docutils' `Text` state: a paragraph, a title underline or a definition list, decided by the
//! second line, and the paragraph's inline text (up to a `::` that announces a literal block).

use super::Scanner;
use super::literal::ends_with_literal_marker;
use super::sections::{ascii_width, is_line};
use crate::distribution::rst::Line;

impl Scanner<'_> {
    /// `Text`: a paragraph, a title, or a definition list, decided by the second line.
    pub(super) fn text(&mut self, lines: &[Line<'_>], i: usize, top: bool) -> usize {
        let first = lines[i];
        let Some(&second) = lines.get(i + 1) else {
            return self.paragraph(lines, i, i + 1);
        };
        if second.is_blank() {
            return self.paragraph(lines, i, i + 1);
        }
        if second.indent > 0 {
            return self.definition_list(lines, i);
        }
        if is_line(second.text) {
            let title = first.text;
            let short = match ascii_width(title) {
                Some(width) => Some(width > second.text.len()),
                // Wide characters count twice and combining ones not at all.
                None if second.text.len() >= 2 * title.chars().count() => Some(false),
                None => None,
            };
            if short == Some(true) && second.text.len() < 4 {
                return self.paragraph_from(lines, i);
            }
            if short.is_none() && second.text.len() < 4 {
                self.certain = false;
                return self.paragraph_from(lines, i);
            }
            if short == Some(true) {
                self.report(second.number, format!("Title underline too short (the title has {} characters, the underline {}; make the underline at least as long)", title.chars().count(), second.text.len()));
            }
            if !top {
                self.report(second.number, "Unexpected section title (a title inside a list, quote or directive; remove the indentation)");
                return i + 2;
            }
            let underline = second.text.chars().next().unwrap_or('=');
            self.title(None, underline, title, first.number);
            return i + 2;
        }
        self.paragraph_from(lines, i)
    }

    /// A paragraph of two or more lines: an indented line inside it is an error.
    fn paragraph_from(&mut self, lines: &[Line<'_>], i: usize) -> usize {
        let mut end = i + 1;
        while end < lines.len() && !lines[end].is_blank() {
            if lines[end].indent > 0 {
                self.report(lines[end].number, "Unexpected indentation (an indented line inside a paragraph; put a blank line before an indented block or a list)");
                break;
            }
            end += 1;
        }
        self.paragraph(lines, i, end)
    }

    fn paragraph(&mut self, lines: &[Line<'_>], start: usize, end: usize) -> usize {
        self.visible();
        let texts: Vec<&str> = lines[start..end].iter().map(|l| l.text).collect();
        let joined = texts.join("\n");
        let literal_next = ends_with_literal_marker(&joined);
        let text = if literal_next {
            let trimmed = &joined[..joined.len() - 2];
            if trimmed.ends_with([' ', '\n']) {
                trimmed.trim_end()
            } else {
                &joined[..joined.len() - 1]
            }
        } else {
            &joined
        };
        if text.is_empty() && literal_next {
            // A lone `::` only announces the literal block.
        } else {
            self.inline(text, lines[start].number);
        }
        if literal_next {
            return self.literal_block(lines, end);
        }
        end
    }
}
