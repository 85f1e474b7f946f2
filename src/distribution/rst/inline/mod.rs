//! Inline markup as docutils' `Inliner.parse` finds it (`parsers/rst/states.py`): start-strings
//! only after whitespace, an opening bracket or a delimiter, end-strings only before one, and a
//! start-string without its end-string is a warning (which halts `PyPI`'s render). Characters
//! outside ASCII next to markup make the result uncertain: docutils' Unicode punctuation tables
//! are not reproduced here.

mod delimited;
mod interpreted;
mod references;

use super::Document;

const OPENERS: &str = "\"'(<[{";
const CLOSERS: &str = "\"')>]}";
const DELIMITERS: &str = "-/:";
const CLOSING_DELIMITERS: &str = "\\.,;!?";

#[derive(Clone, Copy, PartialEq, Eq)]
enum Fit {
    Yes,
    No,
    Unknown,
}

fn classify(c: char, ascii: impl Fn(char) -> bool) -> Fit {
    if c.is_whitespace() || ascii(c) {
        Fit::Yes
    } else if c.is_ascii() || c.is_alphanumeric() {
        Fit::No
    } else {
        Fit::Unknown
    }
}

/// One paragraph, title or other inline-parsed text.
pub struct Inline<'d> {
    document: &'d mut Document,
    text: Vec<char>,
    first_line: usize,
    certain: bool,
}

impl<'d> Inline<'d> {
    pub fn new(document: &'d mut Document, text: &str, first_line: usize, certain: bool) -> Self {
        Self {
            document,
            text: escape_to_null(text),
            first_line,
            certain,
        }
    }

    fn line_of(&self, position: usize) -> usize {
        self.first_line
            + self.text[..position.min(self.text.len())]
                .iter()
                .filter(|c| **c == '\n')
                .count()
    }

    fn report(&mut self, position: usize, message: impl Into<String>) {
        self.report_if(position, true, message);
    }

    /// A problem that is certain only if `certain` and the text around it was understood.
    fn report_if(&mut self, position: usize, certain: bool, message: impl Into<String>) {
        let line = self.line_of(position);
        self.document.report(line, self.certain && certain, message);
    }

    /// Whether a start-string may begin at `position`; `segment` is where the text docutils
    /// searches in begins (it restarts after every construct, so `^` matches there).
    fn prefix_fits(&self, segment: usize, position: usize) -> Fit {
        if position == segment {
            return Fit::Yes;
        }
        classify(self.text[position - 1], |c| {
            OPENERS.contains(c) || DELIMITERS.contains(c)
        })
    }

    fn suffix_fits(&self, position: usize) -> Fit {
        match self.text.get(position) {
            None | Some('\0') => Fit::Yes,
            Some(&c) => classify(c, |c| {
                CLOSING_DELIMITERS.contains(c) || DELIMITERS.contains(c) || CLOSERS.contains(c)
            }),
        }
    }

    fn at(&self, position: usize) -> Option<char> {
        self.text.get(position).copied()
    }

    fn is_space_at(&self, position: usize) -> bool {
        self.at(position).is_some_and(char::is_whitespace)
    }

    /// Parse the whole text, reporting what docutils reports.
    pub fn parse(mut self) {
        let mut segment = 0;
        let mut position = 0;
        while position < self.text.len() {
            match self.prefix_fits(segment, position) {
                Fit::No => {
                    position += 1;
                    continue;
                }
                Fit::Unknown => self.certain = false,
                Fit::Yes => {}
            }
            if let Some(next) = self.construct(position) {
                segment = next;
                position = next;
            } else {
                position += 1;
            }
        }
    }

    /// The construct starting at `start`, if any: returns where the search resumes.
    fn construct(&mut self, start: usize) -> Option<usize> {
        let c = self.at(start)?;
        let next = self.at(start + 1);
        let after =
            |length: usize| !self.is_space_at(start + length) && self.at(start + length).is_some();
        if c == '*' && next == Some('*') && after(2) {
            return Some(self.inline_object(start, 2, "strong", &["**"], false));
        }
        if c == '*' && next != Some('*') && after(1) {
            return Some(self.inline_object(start, 1, "emphasis", &["*"], false));
        }
        if c == '`' && next == Some('`') && after(2) {
            return Some(self.inline_object(start, 2, "literal", &["``"], true));
        }
        if c == '_' && next == Some('`') && after(2) {
            return Some(self.inline_object(start, 2, "target", &["`"], false));
        }
        if c == '|' && next != Some('|') && after(1) {
            return Some(self.inline_object(
                start,
                1,
                "substitution_reference",
                &["|__", "|_", "|"],
                false,
            ));
        }
        if let Some(end) = self.whole_reference(start) {
            return Some(end);
        }
        if let Some(end) = self.footnote_reference(start) {
            return Some(end);
        }
        let role_end = if c == ':' {
            self.simplename(start + 1)
                .filter(|end| self.at(*end) == Some(':'))
                .map(|end| end + 1)
        } else {
            None
        };
        let backquote = role_end.unwrap_or(start);
        if self.at(backquote) == Some('`')
            && self.at(backquote + 1) != Some('`')
            && !self.is_space_at(backquote + 1)
            && self.at(backquote + 1).is_some()
        {
            let role = role_end.map(|end| self.text[start + 1..end - 1].iter().collect::<String>());
            if role.as_ref().is_some_and(|role| !role.is_ascii()) {
                self.certain = false;
            }
            return Some(self.interpreted(start, backquote, role));
        }
        None
    }

    /// The longest simple name (`\w+` joined by single `-._+:`) starting at `start`, ending
    /// before the returned index. (Python's `\w` and Rust's alphanumeric differ on a few
    /// non-ASCII marks: callers treat a name with non-ASCII characters as uncertain.)
    fn simplename(&self, start: usize) -> Option<usize> {
        let word = |c: char| c.is_alphanumeric();
        let mut end = start;
        if !self.at(end).is_some_and(word) {
            return None;
        }
        loop {
            while self.at(end).is_some_and(word) {
                end += 1;
            }
            if self.at(end).is_some_and(|c| "-._+:".contains(c))
                && self.at(end + 1).is_some_and(word)
            {
                end += 1;
            } else {
                return Some(end);
            }
        }
    }

    fn quoted(&self, start: usize, end: usize) -> bool {
        if start == 0 {
            return false;
        }
        let Some(post) = self.at(end) else {
            return true;
        };
        let pre = self.text[start - 1];
        OPENERS
            .find(pre)
            .is_some_and(|index| CLOSERS.chars().nth(index) == Some(post))
    }
}

/// docutils' `escape2null`: a backslash becomes NUL and protects the next character.
fn escape_to_null(text: &str) -> Vec<char> {
    let mut out = Vec::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            out.push('\0');
            if let Some(next) = chars.next() {
                out.push(next);
            }
        } else {
            out.push(c);
        }
    }
    out
}
