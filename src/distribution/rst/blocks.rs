//! Block structure as docutils' `Body`, `Text` and list states see it (`parsers/rst/states.py`,
//! `statemachine.py`): which lines form a paragraph, title, list, quote or explicit construct,
//! and the structural messages docutils emits on the way. Constructs we do not model (tables,
//! option lists, lettered lists) are skipped and make what follows in their block uncertain.

use super::docutils::{self, DirectiveSpec};
use super::inline::Inline;
use super::{Document, Line, normalize_name};

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
}

/// The lines of an indented block, dedented, and whether it ended with a blank line.
struct Block<'a> {
    lines: Vec<Line<'a>>,
    end: usize,
    blank_finish: bool,
}

fn dedent<'a>(lines: &[Line<'a>], by: usize) -> Vec<Line<'a>> {
    lines
        .iter()
        .map(|line| Line {
            indent: line.indent.saturating_sub(by),
            ..*line
        })
        .collect()
}

/// `StringList.get_indented`: the lines from `start` that are blank or indented (at least
/// `known` columns when given), the common indentation removed.
fn indented<'a>(
    lines: &[Line<'a>],
    start: usize,
    known: Option<usize>,
    until_blank: bool,
) -> Block<'a> {
    let mut end = start;
    let mut blank_finish = true;
    while end < lines.len() {
        let line = lines[end];
        if line.is_blank() {
            if until_blank {
                break;
            }
            end += 1;
            continue;
        }
        if line.indent == 0 || known.is_some_and(|min| line.indent < min) {
            blank_finish = end > start && lines[end - 1].is_blank();
            break;
        }
        end += 1;
    }
    let by = known.unwrap_or_else(|| {
        lines[start..end]
            .iter()
            .filter(|line| !line.is_blank())
            .map(|line| line.indent)
            .min()
            .unwrap_or(0)
    });
    Block {
        lines: dedent(&lines[start..end], by),
        end,
        blank_finish,
    }
}

/// `get_first_known_indented`: the first line's text after its marker, then the indented lines
/// that follow.
fn first_known<'a>(lines: &[Line<'a>], at: usize, first: &'a str, until_blank: bool) -> Block<'a> {
    let mut block = first_known_unstripped(lines, at, first, until_blank);
    while block.lines.first().is_some_and(Line::is_blank) {
        block.lines.remove(0);
    }
    block
}

/// `get_first_known_indented(strip_top=False)`, as directives read their block.
fn first_known_unstripped<'a>(
    lines: &[Line<'a>],
    at: usize,
    first: &'a str,
    until_blank: bool,
) -> Block<'a> {
    let mut rest = indented(lines, at + 1, None, until_blank);
    let mut block = vec![Line {
        indent: 0,
        text: first.trim_start(),
        number: lines[at].number,
    }];
    block.append(&mut rest.lines);
    Block {
        lines: block,
        ..rest
    }
}

/// A line of one repeated punctuation character (`Body.patterns['line']`).
fn is_line(text: &str) -> bool {
    let mut chars = text.chars();
    let Some(first) = chars.next() else {
        return false;
    };
    first.is_ascii_punctuation() && text.trim_end().chars().all(|c| c == first)
}

/// The bullet or enumerator width (marker and following spaces), if the line is a list item.
fn bullet(text: &str) -> Option<(char, usize)> {
    let first = text.chars().next()?;
    if !matches!(
        first,
        '-' | '+' | '*' | '\u{2022}' | '\u{2023}' | '\u{2043}'
    ) {
        return None;
    }
    let rest = &text[first.len_utf8()..];
    if rest.is_empty() {
        return Some((first, first.len_utf8()));
    }
    let spaces = rest.len() - rest.trim_start_matches(' ').len();
    (spaces > 0).then_some((first, first.len_utf8() + spaces))
}

/// An enumerator: (is arabic or `#`, ordinal or `None` for `#`, format, width).
type Enumerator = (bool, Option<u64>, (bool, char), usize);

fn enumerator(text: &str) -> Option<Enumerator> {
    let (open, body) = match text.strip_prefix('(') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let label_end = body.find(|c: char| !c.is_ascii_alphanumeric() && c != '#')?;
    let label = &body[..label_end];
    let close = body[label_end..].chars().next()?;
    let valid_close = if open {
        close == ')'
    } else {
        matches!(close, ')' | '.')
    };
    if !valid_close {
        return None;
    }
    let arabic = !label.is_empty() && label.bytes().all(|b| b.is_ascii_digit());
    let other = label == "#"
        || (label.len() == 1 && label.bytes().all(|b| b.is_ascii_alphabetic()))
        || (!label.is_empty() && label.bytes().all(|b| b"ivxlcdm".contains(&b)))
        || (!label.is_empty() && label.bytes().all(|b| b"IVXLCDM".contains(&b)));
    if !arabic && !other {
        return None;
    }
    let consumed = usize::from(open) + label_end + 1;
    let rest = &text[consumed..];
    let spaces = rest.len() - rest.trim_start_matches(' ').len();
    if !rest.is_empty() && spaces == 0 {
        return None;
    }
    let ordinal = if arabic { label.parse().ok() } else { None };
    Some((
        arabic || label == "#",
        ordinal,
        (open, close),
        consumed + spaces,
    ))
}

/// `Body.patterns['field_marker']`: the end of `:name:` and where the body starts.
fn field_marker(text: &str) -> Option<(usize, usize)> {
    let bytes = text.as_bytes();
    if bytes.first() != Some(&b':') || matches!(bytes.get(1), None | Some(b':' | b' ')) {
        return None;
    }
    let mut i = 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => {
                if i + 1 >= bytes.len() {
                    return None;
                }
                i += 2;
            }
            b':' => match bytes.get(i + 1) {
                None | Some(b' ') => {
                    if bytes[i - 1] == b' ' {
                        return None;
                    }
                    let rest = &text[i + 1..];
                    return Some((
                        i + 1,
                        i + 1 + rest.len() - rest.trim_start_matches(' ').len(),
                    ));
                }
                Some(b'`') => return None,
                Some(_) => i += 1,
            },
            _ => i += 1,
        }
    }
    None
}

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

/// docutils' `column_width` for ASCII; `None` when wide or combining characters may count.
fn ascii_width(text: &str) -> Option<usize> {
    text.is_ascii().then_some(text.len())
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
        let mut inner = Scanner {
            document: &mut *self.document,
            certain: self.certain,
            last: Last::Visible,
            invisible_since: false,
            styles: Vec::new(),
            level: 0,
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

    fn is_list_item(lines: &[Line<'_>], i: usize) -> bool {
        let Some(next) = lines.get(i + 1) else {
            return true;
        };
        if next.is_blank() || next.indent > 0 {
            return true;
        }
        let (_, ordinal, format, _) =
            enumerator(lines[i].text).unwrap_or((false, None, (false, '.'), 0));
        enumerator(next.text).is_some_and(|(_, next_ordinal, next_format, _)| {
            next_format == format
                && (next_ordinal.is_none() || next_ordinal == ordinal.map(|o| o + 1))
        })
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

    /// Bullet and enumerated lists: items while the marker continues the list.
    fn list(&mut self, lines: &[Line<'_>], mut i: usize, enumerated: bool) -> usize {
        self.visible();
        let first = lines[i].text;
        let marker = bullet(first).map(|(c, _)| c);
        let first_enum = enumerator(first);
        let certain_kind = !enumerated || first_enum.is_some_and(|(arabic, ..)| arabic);
        let mut ordinal = first_enum.and_then(|(_, o, ..)| o);
        let mut blank_finish;
        loop {
            let text = lines[i].text;
            let width = if enumerated {
                enumerator(text).map_or(1, |e| e.3)
            } else {
                bullet(text).map_or(1, |b| b.1)
            };
            let rest = &text[width.min(text.len())..];
            let block = if rest.is_empty() {
                first_known(lines, i, rest, false)
            } else {
                let mut block = indented(lines, i + 1, Some(width), false);
                block.lines.insert(
                    0,
                    Line {
                        indent: 0,
                        text: rest,
                        number: lines[i].number,
                    },
                );
                block
            };
            self.nested(&block.lines);
            blank_finish = block.blank_finish;
            i = block.end;
            let Some(next) = lines.get(i) else { break };
            if next.indent > 0 {
                break;
            }
            let continues = if enumerated {
                enumerator(next.text).is_some_and(|(_, o, format, _)| {
                    first_enum.is_some_and(|(_, _, f, _)| f == format)
                        && (o.is_none() || o == ordinal.map(|x| x + 1))
                }) && Self::is_list_item(lines, i)
            } else {
                bullet(next.text).map(|(c, _)| c) == marker
            };
            if !continues {
                break;
            }
            ordinal = ordinal.map(|x| x + 1);
        }
        if !certain_kind {
            self.certain = false;
        }
        if !blank_finish {
            let name = if enumerated {
                "Enumerated list"
            } else {
                "Bullet list"
            };
            let line = lines.get(i).map_or(0, |l| l.number);
            self.report(line, format!("{name} ends without a blank line; unexpected unindent (put a blank line after the list, or indent the line to continue the item)"));
        }
        i
    }

    fn field_list(&mut self, lines: &[Line<'_>], mut i: usize) -> usize {
        self.visible();
        while let Some((name_end, body_start)) = field_marker(lines[i].text) {
            let text = lines[i].text;
            self.inline(&text[1..name_end - 1], lines[i].number);
            let block = first_known(lines, i, &text[body_start..], false);
            self.nested(&block.lines);
            i = block.end;
            let Some(next) = lines.get(i) else { return i };
            if next.indent > 0 || field_marker(next.text).is_none() {
                if !block.blank_finish {
                    self.report(next.number, "Field list ends without a blank line; unexpected unindent (a line starting with `:name:` is a field list; put a blank line after it)");
                }
                return i;
            }
        }
        i
    }

    fn line_block(&mut self, lines: &[Line<'_>], mut i: usize) -> usize {
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

    fn simple_table(&mut self, lines: &[Line<'_>], i: usize) -> usize {
        self.document.skipped = true;
        self.visible();
        let width = lines[i].text.len();
        let mut found = 0;
        for (j, line) in lines.iter().enumerate().skip(i + 1) {
            if line.indent == 0
                && !line.is_blank()
                && line.text.chars().all(|c| c == '=' || c == ' ')
            {
                if line.text.len() != width {
                    break;
                }
                found += 1;
                if found == 2 || lines.get(j + 1).is_none_or(Line::is_blank) {
                    return j + 1;
                }
            }
        }
        self.skip(lines, i)
    }

    /// Explicit markup (`.. ` and `__ `) constructs, one after another without blank lines.
    fn explicit(&mut self, lines: &[Line<'_>], mut i: usize) -> usize {
        loop {
            let text = lines[i].text;
            let block = if let Some(rest) = text.strip_prefix("__") {
                self.document.anonymous_targets += 1;
                self.invisible();
                first_known(lines, i, rest, true)
            } else {
                self.explicit_construct(lines, i)
            };
            i = block.end;
            let Some(next) = lines.get(i) else { return i };
            if next.indent == 0
                && (starts_with_marker(next.text, "..") || starts_with_marker(next.text, "__"))
            {
                continue;
            }
            if !block.blank_finish {
                self.report(next.number, "Explicit markup ends without a blank line; unexpected unindent (put a blank line after the `..` block, e.g. after an image's options)");
            }
            return i;
        }
    }

    fn invisible(&mut self) {
        self.invisible_since = true;
    }

    fn explicit_construct<'a>(&mut self, lines: &[Line<'a>], i: usize) -> Block<'a> {
        let text: &'a str = lines[i].text;
        let after = text[2..].trim_start();
        let number = lines[i].number;
        if let Some(label) = after
            .strip_prefix('[')
            .and_then(|r| r.split_once(']'))
            .filter(|(label, rest)| {
                (rest.is_empty() || rest.starts_with(' ')) && footnote_label(label)
            })
        {
            let (label, rest) = label;
            self.visible();
            if label == "#" || label == "*" {
                self.document.auto_footnotes += 1;
            } else {
                self.document.footnotes.insert(normalize_name(label));
                self.document
                    .targets
                    .insert(normalize_name(label.trim_start_matches('#')));
            }
            let block = first_known(lines, i, rest, false);
            self.nested(&block.lines);
            return block;
        }
        if let Some(target) = after.strip_prefix('_') {
            self.invisible();
            let block = first_known(lines, i, "", true);
            self.hyperlink_target(target, &block.lines, number);
            return block;
        }
        if after.starts_with('|') {
            self.invisible();
            if let Some((name, rest)) = after.strip_prefix('|').and_then(|a| a.split_once('|')) {
                self.document.substitutions.insert(normalize_name(name));
                if let Some((directive, _)) = rest.trim_start().split_once("::") {
                    if docutils::directive(directive.trim()).is_none()
                        && is_simplename(directive.trim())
                    {
                        self.report(
                            number,
                            format!(
                                "Unknown directive type \"{}\" in a substitution definition",
                                directive.trim()
                            ),
                        );
                    }
                }
            }
            return first_known(lines, i, "", false);
        }
        if let Some((name, rest)) = after.split_once("::").filter(|(name, rest)| {
            is_simplename(name.trim_end())
                && !name.ends_with("  ")
                && (rest.is_empty() || rest.starts_with(' '))
        }) {
            self.visible();
            let block = first_known_unstripped(lines, i, rest, false);
            self.directive(name.trim_end(), &block, number);
            return block;
        }
        self.invisible();
        if after.is_empty() && lines.get(i + 1).is_none_or(Line::is_blank) {
            // An empty comment: only this line.
            return Block {
                lines: Vec::new(),
                end: i + 1,
                blank_finish: true,
            };
        }
        first_known(lines, i, after, false)
    }

    fn hyperlink_target(&mut self, target: &str, block: &[Line<'_>], number: usize) {
        if target.starts_with(' ') || target.is_empty() {
            return;
        }
        let joined: String = std::iter::once(target)
            .chain(block.iter().skip(1).map(|l| l.text))
            .collect::<Vec<_>>()
            .join(" ");
        if let Some(rest) = joined.strip_prefix("_:") {
            if rest.is_empty() || rest.starts_with(' ') {
                self.document.anonymous_targets += 1;
                return;
            }
        }
        let (name, uri) = if let Some(quoted) = joined.strip_prefix('`') {
            let Some((name, rest)) = quoted.split_once("`:") else {
                return self.lost();
            };
            (name.to_owned(), rest.to_owned())
        } else {
            let Some(colon) = joined
                .char_indices()
                .find(|(index, c)| {
                    *c == ':' && joined[index + 1..].chars().next().is_none_or(|n| n == ' ')
                })
                .map(|(index, _)| index)
            else {
                return self.lost();
            };
            (joined[..colon].to_owned(), joined[colon + 1..].to_owned())
        };
        if name.contains('\\') || name.ends_with(' ') || name.contains(':') {
            return self.lost();
        }
        let name = normalize_name(&name);
        let uri: String = uri.split_whitespace().collect();
        if let Some(reference) = uri
            .strip_suffix('_')
            .filter(|r| !r.is_empty() && !r.ends_with('\\') && !r.contains(':'))
        {
            let reference = reference.trim_matches('`');
            self.document
                .references
                .push((normalize_name(reference), number));
        }
        if !uri.is_empty() && !uri.ends_with('_') {
            if let Some(previous) = self.document.uris.get(&name) {
                if *previous != uri {
                    self.report(number, format!("Duplicate explicit target name: \"{name}\" (two `.. _{name}:` targets with different URLs)"));
                }
            }
            self.document.uris.insert(name.clone(), uri);
        }
        self.document.targets.insert(name);
    }

    fn lost(&mut self) {
        self.document.skipped = true;
    }

    fn directive(&mut self, name: &str, block: &Block<'_>, number: usize) {
        let Some(spec) = docutils::directive(name) else {
            self.report(number, format!("Unknown directive type \"{name}\" (docutils has no such directive; Sphinx directives such as toctree, automodule, versionadded or literalinclude do not render on PyPI)"));
            return;
        };
        if docutils::DISABLED_DIRECTIVES
            .iter()
            .any(|d| d.eq_ignore_ascii_case(name))
        {
            self.report(number, format!("\"{name}\" directive disabled (PyPI renders with file insertion and raw HTML turned off)"));
            return;
        }
        if spec.name.eq_ignore_ascii_case("role") || spec.name.eq_ignore_ascii_case("default-role")
        {
            self.document.custom_roles = true;
        }
        self.directive_block(spec, &block.lines, number);
    }

    /// `parse_directive_block`: arguments, options, content, as far as a failure is certain.
    fn directive_block(&mut self, spec: &DirectiveSpec, block: &[Line<'_>], number: usize) {
        let mut lines: Vec<Line<'_>> = block.to_vec();
        if lines.first().is_some_and(Line::is_blank) {
            lines.remove(0);
        }
        while lines.last().is_some_and(Line::is_blank) {
            lines.pop();
        }
        let takes_arguments = spec.required_arguments + spec.optional_arguments > 0;
        let split = if !lines.is_empty() && (takes_arguments || spec.options.is_some()) {
            lines.iter().position(Line::is_blank).unwrap_or(lines.len())
        } else {
            0
        };
        let head = &lines[..split];
        let option_start = head
            .iter()
            .position(|line| line.indent == 0 && field_marker(line.text).is_some())
            .filter(|_| spec.options.is_some());
        if let (Some(start), Some(options)) = (option_start, spec.options) {
            for line in head[start..].iter().filter(|line| line.indent == 0) {
                let Some((name_end, body_start)) = field_marker(line.text) else {
                    return self.lost();
                };
                let option = &line.text[1..name_end - 1];
                if option.contains('\\') {
                    return self.lost();
                }
                if option == "name" {
                    self.document
                        .targets
                        .insert(normalize_name(&line.text[body_start..]));
                }
                if option == "target" && line.text.ends_with('_') {
                    self.lost();
                }
                if !options.contains(&option) {
                    self.report(line.number, format!("Error in \"{}\" directive: unknown option: \"{option}\" (docutils' {} takes {}; options such as :linenos: or :caption: are Sphinx's)", spec.name, spec.name, options.join(", ")));
                }
            }
        }
        let argument_lines = &head[..option_start.unwrap_or(head.len())];
        let content: Vec<Line<'_>> = if split == 0 {
            lines.clone()
        } else if !takes_arguments {
            argument_lines
                .iter()
                .chain(&lines[split..])
                .copied()
                .collect()
        } else {
            lines.get(split + 1..).unwrap_or_default().to_vec()
        };
        if takes_arguments {
            let arguments: usize = argument_lines
                .iter()
                .map(|l| l.text.split_whitespace().count())
                .sum();
            if arguments < spec.required_arguments {
                self.report(
                    number,
                    format!(
                        "Error in \"{}\" directive: {} argument(s) required, {arguments} supplied",
                        spec.name, spec.required_arguments
                    ),
                );
                return;
            }
            if arguments > spec.required_arguments + spec.optional_arguments
                && !spec.final_argument_whitespace
            {
                self.report(number, format!("Error in \"{}\" directive: maximum {} argument(s) allowed, {arguments} supplied", spec.name, spec.required_arguments + spec.optional_arguments));
                return;
            }
        }
        self.certain_content(spec, &content, number);
    }

    fn certain_content(&mut self, spec: &DirectiveSpec, content: &[Line<'_>], number: usize) {
        let content: Vec<Line<'_>> = content
            .iter()
            .skip_while(|l| l.is_blank())
            .copied()
            .collect();
        if !content.is_empty() && !spec.has_content {
            self.report(number, format!("Error in \"{}\" directive: no content permitted (indent only its options, then leave a blank line)", spec.name));
            return;
        }
        if spec.parsed_content {
            if content.is_empty() && spec.name != "container" && spec.name != "compound" {
                self.report(
                    number,
                    format!(
                        "Content block expected for the \"{}\" directive; none found",
                        spec.name
                    ),
                );
                return;
            }
            self.nested(&content);
        } else if !matches!(
            spec.name,
            "code"
                | "code-block"
                | "sourcecode"
                | "math"
                | "image"
                | "contents"
                | "sectnum"
                | "section-numbering"
                | "class"
                | "rst-class"
                | "rubric"
                | "title"
                | "unicode"
                | "date"
                | "replace"
                | "target-notes"
        ) {
            // Content we do not parse (tables, figures, ...) may define or reference names.
            self.document.skipped = true;
        }
    }

    /// A line of punctuation at the start of a block: transition, overlined title or text.
    fn line(&mut self, lines: &[Line<'_>], i: usize, top: bool) -> usize {
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

    fn title(&mut self, overline: Option<char>, underline: char, text: &str, number: usize) {
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

    /// `Text`: a paragraph, a title, or a definition list, decided by the second line.
    fn text(&mut self, lines: &[Line<'_>], i: usize, top: bool) -> usize {
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

    fn literal_block(&mut self, lines: &[Line<'_>], start: usize) -> usize {
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

    fn definition_list(&mut self, lines: &[Line<'_>], mut i: usize) -> usize {
        self.visible();
        loop {
            let term = lines[i];
            self.inline(term.text, term.number);
            let block = indented(lines, i + 1, None, false);
            let content: Vec<Line<'_>> = block
                .lines
                .iter()
                .copied()
                .skip_while(Line::is_blank)
                .collect();
            self.nested(&content);
            i = block.end;
            let Some(next) = lines.get(i) else { return i };
            let next_is_item = !is_line(next.text)
                && lines
                    .get(i + 1)
                    .is_some_and(|after| !after.is_blank() && after.indent > 0);
            if next_is_item {
                continue;
            }
            if !block.blank_finish {
                self.report(next.number, "Definition list ends without a blank line; unexpected unindent (a line followed by an indented line is a definition list; put blank lines around it)");
            }
            return i;
        }
    }
}

/// `[0-9]+`, `#`, `#name`, `*` (footnotes) or a simple name (citations).
fn footnote_label(label: &str) -> bool {
    (!label.is_empty() && label.bytes().all(|b| b.is_ascii_digit()))
        || label == "#"
        || label == "*"
        || is_simplename(label.strip_prefix('#').unwrap_or(label))
}

fn is_simplename(name: &str) -> bool {
    let mut previous_separator = true;
    for c in name.chars() {
        if c.is_alphanumeric() {
            previous_separator = false;
        } else if "-._+:".contains(c) && !previous_separator {
            previous_separator = true;
        } else {
            return false;
        }
    }
    !previous_separator
}

/// `(?<!\\)(\\\\)*::$`: a paragraph announcing a literal block.
fn ends_with_literal_marker(text: &str) -> bool {
    let Some(before) = text.strip_suffix("::") else {
        return false;
    };
    let backslashes = before.len() - before.trim_end_matches('\\').len();
    backslashes % 2 == 0
}

/// A title's text as a name: inline markup characters dropped.
fn strip_markup(text: &str) -> String {
    text.chars()
        .filter(|c| !matches!(c, '*' | '`' | '|' | '\\'))
        .collect()
}
