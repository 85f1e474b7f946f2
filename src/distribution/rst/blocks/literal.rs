//! Literal blocks (after a paragraph's `::`, indented or quoted) and line blocks (`| ` lines):
//! text docutils does not parse as body elements, and how each one must end.

use super::Scanner;
use super::indentation::{first_known, indented};
use super::starts_with_marker;
use crate::distribution::rst::Line;

impl Scanner<'_> {
    pub(super) fn line_block(&mut self, lines: &[Line<'_>], mut i: usize) -> usize {
        self.visible();
        let mut blank_finish = true;
        while let Some(line) = lines.get(i) {
            if line.indent == 0 && starts_with_marker(line.text, "|") {
                let block = first_known(lines, i, line.text[1..].trim_start(), true);
                let joined: Vec<&str> = block.lines.iter().map(|l| l.text).collect();
                self.inline(&joined.join("\n"), line.number);
                blank_finish =
                    block.blank_finish || block.end >= lines.len() || lines[block.end].is_blank();
                i = block.end;
            } else {
                break;
            }
        }
        if let Some(next) = lines.get(i) {
            if !next.is_blank() && !blank_finish {
                self.report(next.number, "Line block ends without a blank line (a line starting with `| ` is a line block; a Markdown table does not work in reStructuredText)");
            } else if !next.is_blank() {
                self.certain = false;
            }
        }
        i
    }

    pub(super) fn literal_block(&mut self, lines: &[Line<'_>], start: usize) -> usize {
        let mut next = start;
        while next < lines.len() && lines[next].is_blank() {
            next += 1;
        }
        match lines.get(next) {
            Some(line) if line.indent > 0 => indented(lines, start, None, false).end,
            Some(line) if line.text.starts_with(|c: char| c.is_ascii_punctuation()) => {
                let quote = line.text.chars().next().unwrap_or('>');
                let mut end = next;
                while end < lines.len()
                    && !lines[end].is_blank()
                    && lines[end].indent == 0
                    && lines[end].text.starts_with(quote)
                {
                    end += 1;
                }
                if let Some(after) = lines.get(end).filter(|l| !l.is_blank()) {
                    let problem = if after.indent > 0 {
                        "Unexpected indentation"
                    } else {
                        "Inconsistent literal block quoting"
                    };
                    self.report(after.number, format!("{problem} (a quoted literal block after `::` continues only with lines starting with `{quote}`)"));
                }
                end
            }
            Some(line) => {
                self.report(line.number, "Literal block expected; none found (a paragraph ending in `::` must be followed by a blank line and an indented block)");
                next
            }
            None => {
                let line = lines.last().map_or(1, |l| l.number);
                self.report(
                    line,
                    "Literal block expected; none found (the description ends with `::`)",
                );
                next
            }
        }
    }
}

/// `(?<!\\)(\\\\)*::$`: a paragraph announcing a literal block.
pub(super) fn ends_with_literal_marker(text: &str) -> bool {
    let Some(before) = text.strip_suffix("::") else {
        return false;
    };
    let backslashes = before.len() - before.trim_end_matches('\\').len();
    backslashes % 2 == 0
}
