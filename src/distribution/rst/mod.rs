//! `reStructuredText` as `PyPI` renders a description: `readme_renderer` runs docutils with
//! `halt_level = 2`, so the first warning, error or severe system message aborts the render, and
//! an output with nothing in it counts as a failure too. This is a conservative recogniser of
//! those failures, not a renderer: it models the block structure and the inline markup rules of
//! docutils (`parsers/rst/states.py`) where they decide a failure, reports a problem as
//! *certain* only where the structure around it was fully understood, and otherwise as
//! *uncertain*. No Rust crate parses `reStructuredText` with docutils' error semantics (the
//! `rst_parser` crate stops at a subset and reports no system messages), hence our own.

mod blocks;
pub mod docutils;
mod inline;
pub mod pygments;

use std::collections::{HashMap, HashSet};

/// One reason the render fails, or may fail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// 1-based line in the description.
    pub line: usize,
    /// docutils certainly stops here; otherwise it probably does, or the scanner lost track.
    pub certain: bool,
    pub message: String,
}

/// A line as docutils sees it: tabs expanded to 8 columns, trailing whitespace removed,
/// split into indentation and the rest.
#[derive(Debug, Clone, Copy)]
struct Line<'a> {
    indent: usize,
    text: &'a str,
    number: usize,
}

impl Line<'_> {
    fn is_blank(&self) -> bool {
        self.text.is_empty()
    }
}

/// Everything docutils would report for `text`, certain problems first, in line order.
#[must_use]
pub fn check(text: &str) -> Vec<Problem> {
    let owned = lines(text);
    let lines: Vec<Line<'_>> = owned
        .iter()
        .enumerate()
        .map(|(index, line)| {
            let rest = line.trim_start_matches(' ');
            Line {
                indent: line.len() - rest.len(),
                text: rest,
                number: index + 1,
            }
        })
        .collect();
    let mut document = Document::default();
    blocks::Scanner::new(&mut document).body(&lines, true);
    document.finish();
    let mut problems = document.problems;
    problems.sort_by_key(|problem| (!problem.certain, problem.line));
    problems
}

/// docutils' `string2lines`: `\v` and `\f` become spaces, Python's `splitlines` boundaries,
/// tabs expanded to 8 columns, trailing whitespace stripped.
fn lines(text: &str) -> Vec<String> {
    let text = text.replace(['\u{b}', '\u{c}'], " ");
    let mut out = Vec::new();
    let mut rest = text.as_str();
    loop {
        let Some(end) = rest.find([
            '\r', '\n', '\u{1c}', '\u{1d}', '\u{1e}', '\u{85}', '\u{2028}', '\u{2029}',
        ]) else {
            if !rest.is_empty() {
                out.push(expand_tabs(rest));
            }
            return out;
        };
        out.push(expand_tabs(&rest[..end]));
        let skip = if rest[end..].starts_with("\r\n") {
            2
        } else {
            rest[end..].chars().next().map_or(1, char::len_utf8)
        };
        rest = &rest[end + skip..];
    }
}

fn expand_tabs(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut column = 0;
    for c in line.chars() {
        if c == '\t' {
            let pad = 8 - column % 8;
            out.extend(std::iter::repeat_n(' ', pad));
            column += pad;
        } else {
            out.push(c);
            column += 1;
        }
    }
    let trimmed = out.trim_end().len();
    out.truncate(trimmed);
    out
}

/// A `:language:` no Pygments lexer is called, as a custom `code` role was given it.
#[derive(Debug, Clone)]
struct UnknownLanguage {
    language: String,
    /// The line of the `:language:` option.
    line: usize,
    /// The value is plain text: no inline markup or enumerator docutils would read otherwise.
    certain: bool,
}

/// What the whole document defines and references, resolved at the end like docutils'
/// transforms do.
#[derive(Debug, Default)]
struct Document {
    problems: Vec<Problem>,
    /// Parts of the text were skipped (tables, option lists, ...): a name defined there is
    /// unknown to us, so an unresolved reference is only uncertain.
    skipped: bool,
    targets: HashSet<String>,
    /// The URL of each external target, to find duplicates that disagree.
    uris: HashMap<String, String>,
    references: Vec<(String, usize)>,
    anonymous_references: Vec<usize>,
    anonymous_targets: usize,
    substitutions: HashSet<String>,
    substitution_references: Vec<(String, usize)>,
    footnote_references: Vec<(String, usize)>,
    footnotes: HashSet<String>,
    auto_footnotes: usize,
    custom_roles: bool,
    /// Custom roles based on docutils' `code` role (`.. role:: name(code)`), by lower-case
    /// name, with the `:language:` that makes each use of them fail, if any.
    code_roles: HashMap<String, Option<UnknownLanguage>>,
    /// Something that renders (a paragraph, a list, a directive, ...), besides titles.
    visible: bool,
    titles: Vec<(usize, usize)>,
}

impl Document {
    fn report(&mut self, line: usize, certain: bool, message: impl Into<String>) {
        self.problems.push(Problem {
            line,
            certain,
            message: message.into(),
        });
    }

    fn finish(&mut self) {
        let certain = !self.skipped;
        let unknown: Vec<(String, usize)> = self
            .references
            .iter()
            .filter(|(name, _)| !self.targets.contains(name))
            .cloned()
            .collect();
        for (name, line) in unknown {
            self.report(
                line,
                certain,
                format!("Unknown target name: \"{name}\" (a `name_` or `` `text`_ `` reference with no `.. _name: URL` target; write `` `text <URL>`_ `` or escape the underscore as `name\\_`)"),
            );
        }
        let undefined: Vec<(String, usize)> = self
            .substitution_references
            .iter()
            .filter(|(name, _)| {
                !self.substitutions.contains(name)
                    && !self.substitutions.contains(&name.to_lowercase())
            })
            .cloned()
            .collect();
        for (name, line) in undefined {
            self.report(
                line,
                certain,
                format!("Undefined substitution referenced: \"{name}\" (`|...|` is a substitution; a Markdown table does not work in reStructuredText)"),
            );
        }
        let footnotes: Vec<(String, usize)> = self
            .footnote_references
            .iter()
            .filter(|(label, _)| !self.footnotes.contains(label))
            .cloned()
            .collect();
        for (label, line) in footnotes {
            self.report(
                line,
                certain && self.auto_footnotes == 0,
                format!("footnote or citation `[{label}]_` is referenced but never defined (`.. [{label}] text`)"),
            );
        }
        if self.anonymous_references.len() != self.anonymous_targets {
            let line = self.anonymous_references.first().copied().unwrap_or(1);
            self.report(
                line,
                certain,
                format!(
                    "Anonymous hyperlink mismatch: {} references but {} targets (each `` `text`__ `` needs its own `.. __: URL`, or write `` `text <URL>`__ ``)",
                    self.anonymous_references.len(),
                    self.anonymous_targets
                ),
            );
        }
        let promotable = match self.titles.as_slice() {
            [] | [_] => true,
            [(_, first), (_, second)] => second > first,
            _ => false,
        };
        if !self.visible && promotable && !self.skipped {
            let line = self.titles.first().map_or(1, |(line, _)| *line);
            self.report(
                line,
                true,
                "the description renders to nothing: only a title (docutils makes a lone title the document title, which PyPI does not show), comments or link targets; add a paragraph of text",
            );
        }
    }
}

/// docutils' `normalize_name`: lower case, whitespace collapsed.
fn normalize_name(name: &str) -> String {
    name.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}
