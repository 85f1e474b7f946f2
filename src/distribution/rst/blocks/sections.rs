//! Section titles and transitions: underlined and overlined titles, the order of title styles,
//! and where a transition (`----`) may stand.

use super::{Last, Scanner};
use crate::distribution::rst::{Line, normalize_name};

/// A line of one repeated punctuation character (`Body.patterns['line']`).
pub(super) fn is_line(text: &str) -> bool {
    let mut chars = text.chars();
    let Some(first) = chars.next() else {
        return false;
    };
    first.is_ascii_punctuation() && text.trim_end().chars().all(|c| c == first)
}

/// docutils' `column_width` for ASCII; `None` when wide or combining characters may count.
pub(super) fn ascii_width(text: &str) -> Option<usize> {
    text.is_ascii().then_some(text.len())
}

impl Scanner<'_> {
    /// A line of punctuation at the start of a block: transition, overlined title or text.
    pub(super) fn line(&mut self, lines: &[Line<'_>], i: usize, top: bool) -> usize {
        let marker = lines[i].text;
        if !top {
            if marker == "::" || marker.len() < 4 {
                return self.text(lines, i, top);
            }
            self.report(lines[i].number, "Unexpected section title or transition (a title or `----` line inside a list, quote or directive; remove the indentation or the line)");
            return i + 1;
        }
        match lines.get(i + 1) {
            None if marker.len() >= 4 => {
                self.transition(lines[i].number);
                i + 1
            }
            Some(next) if next.is_blank() && marker.len() >= 4 => {
                self.transition(lines[i].number);
                i + 1
            }
            Some(next) if !next.is_blank() && marker.len() >= 4 => self.overlined_title(lines, i),
            _ => self.text(lines, i, top),
        }
    }

    fn transition(&mut self, number: usize) {
        let certain = self.certain && !self.invisible_since;
        match self.last {
            Last::Start | Last::Title => self.document.report(number, certain, "Transition at the start of the document or section (a `----` line must follow some text)"),
            Last::Transition => self.document.report(number, certain, "At least one body element should separate transitions"),
            Last::Visible => {}
        }
        self.invisible_since = false;
        self.document.visible = true;
        self.last = Last::Transition;
    }

    fn overlined_title(&mut self, lines: &[Line<'_>], i: usize) -> usize {
        let overline = lines[i].text;
        let number = lines[i].number;
        if is_line(lines[i + 1].text) && lines[i + 1].indent == 0 {
            self.report(number, "Invalid section title or transition marker");
            return i + 2;
        }
        let title = lines[i + 1];
        let Some(underline) = lines.get(i + 2) else {
            self.report(
                number,
                "Incomplete section title (an overline and a title need an underline)",
            );
            return i + 2;
        };
        if underline.indent > 0 || !is_line(underline.text) {
            self.report(
                number,
                "Missing matching underline for section title overline",
            );
            return i + 2;
        }
        if underline.text != overline {
            self.report(number, "Title overline & underline mismatch (make both lines the same character and length)");
            return i + 3;
        }
        let width = ascii_width(title.text).map(|w| w + title.indent);
        if width.is_some_and(|w| w > overline.len()) {
            self.report(
                number,
                "Title overline too short (make the lines at least as long as the title)",
            );
        }
        let first = overline.chars().next().unwrap_or('=');
        self.title(Some(first), first, title.text, title.number);
        i + 3
    }

    pub(super) fn title(
        &mut self,
        overline: Option<char>,
        underline: char,
        text: &str,
        number: usize,
    ) {
        let style = (overline, underline);
        let level = self
            .styles
            .iter()
            .position(|s| *s == style)
            .map_or(self.styles.len() + 1, |p| p + 1);
        if level > self.level + 1 {
            self.report(number, format!("Inconsistent title style: skip from level {} to {level} (a title underline style used first for a deeper level; use the styles in the same order throughout)", self.level));
            return;
        }
        if level > self.styles.len() {
            self.styles.push(style);
        }
        self.level = level;
        self.invisible_since = false;
        self.document.titles.push((number, level));
        self.document
            .targets
            .insert(normalize_name(&strip_markup(text)));
        self.inline(text, number);
        self.last = Last::Title;
    }
}

/// A title's text as a name: inline markup characters dropped.
fn strip_markup(text: &str) -> String {
    text.chars()
        .filter(|c| !matches!(c, '*' | '`' | '|' | '\\'))
        .collect()
}
