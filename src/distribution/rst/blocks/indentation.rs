//! Indented blocks as docutils' `StringList.get_indented` and `get_first_known_indented`
//! cut them: the lines of a quote, list item, field body or directive, dedented.

use crate::distribution::rst::Line;

/// The lines of an indented block, dedented, and whether it ended with a blank line.
pub(super) struct Block<'a> {
    pub(super) lines: Vec<Line<'a>>,
    pub(super) end: usize,
    pub(super) blank_finish: bool,
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
pub(super) fn indented<'a>(
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
pub(super) fn first_known<'a>(
    lines: &[Line<'a>],
    at: usize,
    first: &'a str,
    until_blank: bool,
) -> Block<'a> {
    let mut block = first_known_unstripped(lines, at, first, until_blank);
    while block.lines.first().is_some_and(Line::is_blank) {
        block.lines.remove(0);
    }
    block
}

/// `get_first_known_indented(strip_top=False)`, as directives read their block.
pub(super) fn first_known_unstripped<'a>(
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
