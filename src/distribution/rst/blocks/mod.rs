//! Block structure as docutils' `Body`, `Text` and list states see it (`parsers/rst/states.py`,
//! `statemachine.py`): which lines form a paragraph, title, list, quote or explicit construct,
//! and the structural messages docutils emits on the way. Constructs we do not model (tables,
//! option lists, lettered lists) are skipped and make what follows in their block uncertain.
//! Here is the scanner and its dispatch on a block's first line; each construct has its module.

mod code_roles;
mod directives;
mod explicit;
mod indentation;
mod lists;
mod literal;
mod paragraphs;
mod sections;
mod tables;

use super::inline::Inline;
use super::{Document, Line};
use indentation::{Block, indented};
use lists::{bullet, enumerator, field_marker};
use sections::is_line;

/// What the last top-level element was, for docutils' transition rules.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Last {
    Start,
    Title,
    Transition,
    Visible,
}

pub struct Scanner<'d> {
    document: &'d mut Document,
    certain: bool,
    last: Last,
    /// An invisible element (comment, target) came after `last`.
    invisible_since: bool,
    /// Title styles in order of first use (`(overline, underline)` characters).
    styles: Vec<(Option<char>, char)>,
    level: usize,
    /// How many blocks this one is nested in (list items, quotes, directives, ...).
    depth: usize,
}

/// docutils parses each nested block with a new state machine, about 6 to 9 Python frames a
/// level, so Python's recursion limit (1000 frames) stops it with a `RecursionError` (`PyPI`
/// fails the upload) at 108 (directives) to 163 (block quotes) levels when run bare, and
/// earlier in Warehouse's deeper stack. Beyond this depth the render may fail.
const DOUBTFUL_DEPTH: usize = 100;

/// Beyond this depth the render certainly fails; the scanner also stops here, so that a
/// hostile description cannot exhaust our own stack.
const MAX_DEPTH: usize = 200;

/// A line that might start an option list (`-a`, `--all`, `/V`, `+x`): not modelled.
fn maybe_option(text: &str) -> bool {
    let bytes = text.as_bytes();
    match bytes {
        [b'-' | b'+', c, ..] if c.is_ascii_alphanumeric() => true,
        [b'-', b'-', c, ..] | [b'/', c, ..] if c.is_ascii_alphanumeric() => true,
        _ => false,
    }
}

fn starts_with_marker(text: &str, marker: &str) -> bool {
    text.strip_prefix(marker)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with(' '))
}

impl<'d> Scanner<'d> {
    pub fn new(document: &'d mut Document) -> Self {
        Self {
            document,
            certain: true,
            last: Last::Start,
            invisible_since: false,
            styles: Vec::new(),
            level: 0,
            depth: 0,
        }
    }

    fn report(&mut self, line: usize, message: impl Into<String>) {
        let certain = self.certain;
        self.document.report(line, certain, message);
    }

    fn inline(&mut self, text: &str, line: usize) {
        Inline::new(self.document, text, line, self.certain).parse();
    }

    fn nested(&mut self, lines: &[Line<'_>]) {
        let depth = self.depth + 1;
        let line = lines.first().map_or(1, |line| line.number);
        if depth > MAX_DEPTH {
            self.document.report(line, true, format!("the description is nested too deeply: more than {MAX_DEPTH} levels of lists, quotes or directives inside each other; docutils exceeds Python's recursion limit long before (PyPI fails the upload). Flatten the nesting"));
            return;
        }
        if depth == DOUBTFUL_DEPTH + 1 {
            self.document.report(line, false, format!("the description is nested more than {DOUBTFUL_DEPTH} levels deep (lists, quotes or directives inside each other); docutils may exceed Python's recursion limit here (PyPI fails the upload). Flatten the nesting"));
        }
        let mut inner = Scanner {
            document: &mut *self.document,
            certain: self.certain,
            last: Last::Visible,
            invisible_since: false,
            styles: Vec::new(),
            level: 0,
            depth,
        };
        inner.body(lines, false);
    }

    fn visible(&mut self) {
        self.document.visible = true;
        self.last = Last::Visible;
        self.invisible_since = false;
    }

    /// Give up on structure for the rest of this block: skip to the next blank line.
    fn skip(&mut self, lines: &[Line<'_>], start: usize) -> usize {
        self.document.skipped = true;
        self.certain = false;
        self.visible();
        let mut end = start;
        while end < lines.len() && !lines[end].is_blank() {
            end += 1;
        }
        end
    }

    /// `Body`: one block of body elements; `top` where section titles are allowed.
    pub fn body(&mut self, lines: &[Line<'_>], top: bool) {
        let mut i = 0;
        while i < lines.len() {
            let line = lines[i];
            if line.is_blank() {
                i += 1;
                continue;
            }
            i = if line.indent > 0 {
                self.block_quote(lines, i)
            } else if bullet(line.text).is_some() {
                self.list(lines, i, false)
            } else if enumerator(line.text).is_some() && Self::is_list_item(lines, i) {
                self.list(lines, i, true)
            } else if field_marker(line.text).is_some() {
                self.field_list(lines, i)
            } else if starts_with_marker(line.text, ">>>") {
                // A doctest block: the lines up to the next blank one, never parsed.
                self.visible();
                lines[i..]
                    .iter()
                    .position(Line::is_blank)
                    .map_or(lines.len(), |n| i + n)
            } else if maybe_option(line.text)
                || (line.text.starts_with("+-") && line.text.ends_with('+'))
            {
                self.skip(lines, i)
            } else if starts_with_marker(line.text, "|") {
                self.line_block(lines, i)
            } else if line.text.starts_with('=')
                && line.text.contains(' ')
                && line.text.chars().all(|c| c == '=' || c == ' ')
            {
                self.simple_table(lines, i)
            } else if starts_with_marker(line.text, "..") || starts_with_marker(line.text, "__") {
                self.explicit(lines, i)
            } else if is_line(line.text) {
                self.line(lines, i, top)
            } else {
                self.text(lines, i, top)
            };
        }
        if top && self.last == Last::Transition {
            {
                let line = lines
                    .iter()
                    .rev()
                    .find(|line| !line.is_blank())
                    .map_or(1, |line| line.number);
                let certain = self.certain && !self.invisible_since;
                self.document.report(line, certain, "Transition at the end of the document (a `----` line must be followed by text)");
            }
        }
    }

    fn block_quote(&mut self, lines: &[Line<'_>], i: usize) -> usize {
        let block = indented(lines, i, None, false);
        let block = Block {
            lines: block.lines.into_iter().skip_while(Line::is_blank).collect(),
            ..block
        };
        self.visible();
        self.nested(&block.lines);
        if !block.blank_finish {
            self.report(block.lines.last().map_or(lines[i].number, |l| l.number) + 1, "Block quote ends without a blank line; unexpected unindent (indent the line, or put a blank line before it)");
        }
        block.end
    }

    fn invisible(&mut self) {
        self.invisible_since = true;
    }

    fn lost(&mut self) {
        self.document.skipped = true;
    }
}
