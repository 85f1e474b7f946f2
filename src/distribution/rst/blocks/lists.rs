//! Lists: bullet and enumerated lists (their markers, when a line continues the list), field
//! lists and definition lists, and the messages docutils emits when one ends without a blank
//! line.

use super::Scanner;
use super::indentation::{first_known, indented};
use super::sections::is_line;
use crate::distribution::rst::Line;

/// The bullet or enumerator width (marker and following spaces), if the line is a list item.
pub(super) fn bullet(text: &str) -> Option<(char, usize)> {
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

pub(super) fn enumerator(text: &str) -> Option<Enumerator> {
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
pub(super) fn field_marker(text: &str) -> Option<(usize, usize)> {
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

impl Scanner<'_> {
    pub(super) fn is_list_item(lines: &[Line<'_>], i: usize) -> bool {
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

    /// Bullet and enumerated lists: items while the marker continues the list.
    pub(super) fn list(&mut self, lines: &[Line<'_>], mut i: usize, enumerated: bool) -> usize {
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

    pub(super) fn field_list(&mut self, lines: &[Line<'_>], mut i: usize) -> usize {
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

    pub(super) fn definition_list(&mut self, lines: &[Line<'_>], mut i: usize) -> usize {
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
