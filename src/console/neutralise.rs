//! Untrusted text made harmless for the runner: cut into lines at every break it knows,
//! invisibles shown as `\u{..}`, and nothing that it would read as a workflow command.

use super::redact;

/// Characters after which a line ends: the runner's CR and LF, and the breaks other readers
/// (terminals, the log viewer) honour, so that no line can be made to look like another.
fn is_line_break(c: char) -> bool {
    matches!(
        c,
        '\n' | '\r' | '\u{0B}' | '\u{0C}' | '\u{85}' | '\u{2028}' | '\u{2029}'
    )
}

/// Default-ignorable code points (Unicode's `Default_Ignorable_Code_Point`, bidi controls
/// included): invisible, skipped by culture-sensitive matching, able to reorder what a reader sees.
fn is_ignorable(c: char) -> bool {
    matches!(c as u32,
        0xAD | 0x34F | 0x61C | 0x115F | 0x1160 | 0x17B4 | 0x17B5 | 0x180B..=0x180F
        | 0x200B..=0x200F | 0x202A..=0x202E | 0x2060..=0x206F | 0x3164 | 0xFE00..=0xFE0F
        | 0xFEFF | 0xFFA0 | 0xFFF0..=0xFFF8 | 0x1BCA0..=0x1BCA3 | 0x1D173..=0x1D17A
        | 0xE0000..=0xE0FFF)
}

/// Control characters (but TAB) and ignorable code points, shown as `\u{..}`.
pub(super) fn show_invisible(text: &str) -> String {
    let mut shown = String::with_capacity(text.len());
    for c in text.chars() {
        if (c.is_control() && c != '\t') || is_ignorable(c) {
            shown.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
        } else {
            shown.push(c);
        }
    }
    shown
}

/// `text` (redacted) as lines none of which the runner can take for a workflow command.
#[must_use]
pub fn plain_lines(text: &str) -> Vec<String> {
    let text = redact(text);
    let mut lines = Vec::new();
    let mut rest = text.as_str();
    loop {
        let (line, next) = match rest.find(is_line_break) {
            Some(at) => {
                let break_len = rest[at..].chars().next().map_or(1, char::len_utf8);
                let mut next = at + break_len;
                if rest[at..].starts_with("\r\n") {
                    next = at + 2;
                }
                (&rest[..at], Some(&rest[next..]))
            }
            None => (rest, None),
        };
        lines.push(defuse(line));
        match next {
            Some(next) => rest = next,
            None => break,
        }
    }
    lines
}

/// One line without breaks -> a line that is not a command.
fn defuse(line: &str) -> String {
    let mut line = show_invisible(line).replace("##[", "##\\[");
    let indent = line.len() - line.trim_start().len();
    if line[indent..].starts_with("::") {
        line.insert(indent + 1, '\\');
    }
    line
}

/// Escape the message part of a workflow command (after redaction and [`show_invisible`]).
#[must_use]
pub fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escape a property value of a workflow command (`title=...`).
#[must_use]
pub fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

/// Text for a command's data or property: redacted, every break a `\n`, invisibles shown.
pub(super) fn command_text(text: &str) -> String {
    let text: String = redact(text)
        .replace("\r\n", "\n")
        .chars()
        .map(|c| if is_line_break(c) { '\n' } else { c })
        .collect();
    text.split('\n')
        .map(show_invisible)
        .collect::<Vec<_>>()
        .join("\n")
}
