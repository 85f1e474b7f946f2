//! Inline markup as docutils' `Inliner.parse` finds it (`parsers/rst/states.py`): start-strings
//! only after whitespace, an opening bracket or a delimiter, end-strings only before one, and a
//! start-string without its end-string is a warning (which halts `PyPI`'s render). Characters
//! outside ASCII next to markup make the result uncertain: docutils' Unicode punctuation tables
//! are not reproduced here.

use super::{Document, docutils, normalize_name};

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
        let line = self.line_of(position);
        self.document.report(line, self.certain, message);
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

    /// emphasis, strong, literal, inline target, substitution reference.
    fn inline_object(
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

    /// `name_` and `name__` references.
    fn whole_reference(&mut self, start: usize) -> Option<usize> {
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
    fn footnote_reference(&mut self, start: usize) -> Option<usize> {
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

    /// Interpreted text (with a role) or a phrase reference.
    fn interpreted(
        &mut self,
        start: usize,
        backquote: usize,
        prefix_role: Option<String>,
    ) -> usize {
        let content = backquote + 1;
        if prefix_role.is_none() && self.quoted(start, content) {
            return content;
        }
        let Some((end, after, suffix_role, underscores)) = self.interpreted_end(content) else {
            self.report(start, "Inline interpreted text or phrase reference start-string without end-string (an unmatched `` ` ``; use ``double backquotes`` for code)");
            return content;
        };
        let text: String = self.text[content..end].iter().collect();
        if prefix_role.is_some() && suffix_role.is_some() {
            self.report(start, "Multiple roles in interpreted text (both prefix and suffix present; only one allowed)");
            return after;
        }
        let role = prefix_role.or(suffix_role);
        if underscores > 0 {
            if role.is_some() {
                self.report(
                    start,
                    "Mismatch: both interpreted text role and reference suffix",
                );
                return after;
            }
            self.phrase_reference(start, &text, underscores == 2);
            return after;
        }
        if let Some(role) = role {
            self.check_role(start, &role);
        }
        after
    }

    fn interpreted_end(&mut self, from: usize) -> Option<(usize, usize, Option<String>, usize)> {
        for position in from..self.text.len() {
            if self.text[position] != '`' {
                continue;
            }
            if position > from {
                let before = self.text[position - 1];
                let escaped_before = position >= from + 2 && self.text[position - 2] == '\0';
                if (before.is_whitespace() || before == '\0') && !escaped_before {
                    continue;
                }
            }
            // `:role:` suffix, then `_` or `__`, each optional, longest first.
            let mut options: Vec<(usize, Option<String>)> = Vec::new();
            if self.at(position + 1) == Some(':') {
                if let Some(end) = self
                    .simplename(position + 2)
                    .filter(|end| self.at(*end) == Some(':'))
                {
                    options.push((end + 1, Some(self.text[position + 2..end].iter().collect())));
                }
            }
            options.push((position + 1, None));
            for (after_role, role) in options {
                for underscores in [2, 1, 0] {
                    let end = after_role + underscores;
                    if underscores > 0
                        && !self
                            .text
                            .get(after_role..end)
                            .is_some_and(|s| s.iter().all(|c| *c == '_'))
                    {
                        continue;
                    }
                    match self.suffix_fits(end) {
                        Fit::Yes => {
                            if position == from {
                                return None;
                            }
                            return Some((position, end, role, underscores));
                        }
                        Fit::Unknown => self.certain = false,
                        Fit::No => {}
                    }
                }
            }
        }
        None
    }

    fn check_role(&mut self, start: usize, role: &str) {
        if self.document.custom_roles {
            return;
        }
        match docutils::role_renders(role) {
            Some(true) => {}
            Some(false) => self.report(start, format!("Interpreted text role \"{role}\" is not available on PyPI (docutils does not implement it, or PyPI disables it)")),
            None => self.report(start, format!("Unknown interpreted text role \"{role}\" (a Sphinx role, like :func: or :ref:, is unknown to docutils, which PyPI renders with; write the text as a ``literal`` instead)")),
        }
    }

    fn phrase_reference(&mut self, start: usize, text: &str, anonymous: bool) {
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
