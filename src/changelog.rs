//! Release notes from a changelog: `(text, version) -> section` (DESIGN §7).
//!
//! Pure: no file system, no network. A heading of any level (ATX `#`..`######` or setext
//! `===`/`---`) whose text begins with the version, `v`+version, `[version]` or `[vversion]`,
//! followed by the end, a space, `(`, `:` (so `- date` and `(date)` work) matches when its
//! version is equal by PEP 440 rules (`1.0.0rc1` finds `[1.0.0-rc.1]`; `1.0.1` never matches
//! `1.0.10`). The section runs to the next heading of the same or a higher level. Link
//! reference definitions the section uses are kept, wherever in the file they are defined.

use std::cmp::Ordering;
use std::path::{Path, PathBuf};
use std::str::FromStr as _;

use pep440_rs::Version;

/// The files tried, in order, when the `changelog` input is empty.
pub const CANDIDATES: &[&str] = &[
    "CHANGELOG.md",
    "CHANGES.md",
    "HISTORY.md",
    "NEWS.md",
    "MILESTONES.md",
    ".planning/MILESTONES.md",
];

/// GitHub refuses a release body longer than this many characters.
pub const GITHUB_BODY_LIMIT: usize = 125_000;

/// The changelog file: the explicit one, else the first candidate that exists in `root`.
/// Returns the absolute path and the path relative to `root` (for the link at the tag).
#[must_use]
pub fn locate(root: &Path, explicit: Option<&Path>) -> Option<(PathBuf, String)> {
    let real_root = std::fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf());
    if let Some(path) = explicit {
        let relative = path
            .strip_prefix(&real_root)
            .or_else(|_| path.strip_prefix(root))
            .unwrap_or(path);
        return Some((path.to_path_buf(), slash_path(relative)));
    }
    CANDIDATES
        .iter()
        .map(|candidate| (root.join(candidate), (*candidate).to_owned()))
        .filter(|(path, _)| path.is_file())
        .find_map(|(path, relative)| {
            match crate::inputs::inside_workspace("changelog", root, &path) {
                Ok(real) => Some((real, relative)),
                Err(refused) => {
                    // A committed `CHANGELOG.md -> /etc/...` link: never read, said once.
                    crate::console::Console::warning("Changelog not read", &refused.to_string());
                    None
                }
            }
        })
}

fn slash_path(path: &Path) -> String {
    path.components()
        .map(|component| component.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

/// The section found for a version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    /// The heading's text, as written (without `#` or underline).
    pub heading: String,
    /// The section's Markdown, trimmed, with the link definitions it uses appended.
    pub body: String,
}

#[derive(Debug, Clone)]
struct Heading {
    /// First line of the heading (for setext: the text line).
    line: usize,
    /// First line of the content below it.
    content: usize,
    level: usize,
    text: String,
}

/// Find the section of `version` in a Markdown changelog.
#[must_use]
pub fn extract(text: &str, version: &str) -> Option<Section> {
    let wanted = Version::from_str(version.trim().trim_start_matches(['v', 'V'])).ok()?;
    let lines: Vec<&str> = text.lines().collect();
    let headings = headings(&lines);
    let (position, heading) = headings
        .iter()
        .enumerate()
        .find(|(_, heading)| heading_version(&heading.text).is_some_and(|v| same(&v, &wanted)))?;
    let end = headings[position + 1..]
        .iter()
        .find(|next| next.level <= heading.level)
        .map_or(lines.len(), |next| next.line);
    let section_lines = &lines[heading.content..end];
    let definitions = link_definitions(&lines);
    let mut kept: Vec<&str> = section_lines
        .iter()
        .copied()
        .filter(|line| parse_definition(line).is_none())
        .collect();
    trim_blank(&mut kept);
    let mut body = kept.join("\n");
    let used: Vec<&(String, &str)> = definitions
        .iter()
        .filter(|(label, _)| uses_label(&body, label))
        .collect();
    if !used.is_empty() {
        body.push_str("\n\n");
        body.push_str(
            &used
                .iter()
                .map(|(_, line)| line.trim())
                .collect::<Vec<_>>()
                .join("\n"),
        );
    }
    Some(Section {
        heading: heading.text.clone(),
        body,
    })
}

fn same(left: &Version, right: &Version) -> bool {
    left.cmp(right) == Ordering::Equal
}

/// The version a heading's text starts with, if any.
fn heading_version(text: &str) -> Option<Version> {
    let text = text.trim();
    let (inner, bracketed) = match text.strip_prefix('[') {
        Some(rest) => (rest, true),
        None => (text, false),
    };
    let inner = inner
        .strip_prefix(['v', 'V'])
        .filter(|rest| rest.starts_with(|c: char| c.is_ascii_digit()))
        .unwrap_or(inner);
    if !inner.starts_with(|c: char| c.is_ascii_digit()) {
        return None; // `[Unreleased]`, `Version history`, ...
    }
    let end = inner
        .find(|c: char| c.is_whitespace() || c == '(' || c == ':' || (bracketed && c == ']'))
        .unwrap_or(inner.len());
    let (candidate, rest) = inner.split_at(end);
    if bracketed && !rest.starts_with(']') {
        return None;
    }
    Version::from_str(candidate).ok()
}

/// Every heading outside fenced code blocks.
fn headings(lines: &[&str]) -> Vec<Heading> {
    let mut found = Vec::new();
    let mut fence: Option<(char, usize)> = None;
    for (index, line) in lines.iter().enumerate() {
        let stripped = strip_indent(line);
        if let Some((marker, length)) = fence_marker(stripped) {
            match fence {
                None => fence = Some((marker, length)),
                Some((open, open_length)) if open == marker && length >= open_length => {
                    fence = None;
                }
                Some(_) => {}
            }
            continue;
        }
        if fence.is_some() {
            continue;
        }
        let Some(stripped) = stripped else { continue };
        if let Some((level, text)) = atx_heading(stripped) {
            found.push(Heading {
                line: index,
                content: index + 1,
                level,
                text,
            });
        } else if let Some(level) = setext_underline(stripped) {
            let Some(previous) = index.checked_sub(1).map(|i| lines[i]) else {
                continue;
            };
            let previous_is_text = strip_indent(previous).is_some_and(|text| {
                !text.trim().is_empty()
                    && atx_heading(text).is_none()
                    && setext_underline(text).is_none()
                    && fence_marker(Some(text)).is_none()
                    && !text.starts_with(['-', '*', '+', '>', '|'])
            });
            let already = found.last().is_some_and(|h| h.line + 1 == index);
            if previous_is_text && !already {
                found.push(Heading {
                    line: index - 1,
                    content: index + 1,
                    level,
                    text: previous.trim().to_owned(),
                });
            }
        }
    }
    found
}

/// The line without up to three spaces of indentation; `None` for an indented code line.
fn strip_indent(line: &str) -> Option<&str> {
    let spaces = line.len() - line.trim_start_matches(' ').len();
    (spaces <= 3).then(|| &line[spaces..])
}

fn fence_marker(line: Option<&str>) -> Option<(char, usize)> {
    let line = line?;
    let marker = line.chars().next().filter(|c| *c == '`' || *c == '~')?;
    let length = line.len() - line.trim_start_matches(marker).len();
    (length >= 3).then_some((marker, length))
}

fn atx_heading(line: &str) -> Option<(usize, String)> {
    let level = line.len() - line.trim_start_matches('#').len();
    if !(1..=6).contains(&level) {
        return None;
    }
    let rest = &line[level..];
    if !(rest.is_empty() || rest.starts_with([' ', '\t'])) {
        return None;
    }
    // A closing sequence of `#` is not part of the text.
    let text = rest.trim();
    let text = match text.trim_end_matches('#') {
        without if without.is_empty() || without.ends_with([' ', '\t']) => without.trim_end(),
        _ => text,
    };
    Some((level, text.to_owned()))
}

fn setext_underline(line: &str) -> Option<usize> {
    let trimmed = line.trim_end();
    if trimmed.is_empty() {
        return None;
    }
    if trimmed.chars().all(|c| c == '=') {
        Some(1)
    } else if trimmed.chars().all(|c| c == '-') {
        Some(2)
    } else {
        None
    }
}

/// `[label]: destination` lines of the whole file: (lower-cased label, line).
fn link_definitions<'a>(lines: &[&'a str]) -> Vec<(String, &'a str)> {
    lines
        .iter()
        .filter_map(|line| parse_definition(line).map(|label| (label, *line)))
        .collect()
}

fn parse_definition(line: &str) -> Option<String> {
    let text = strip_indent(line)?;
    let rest = text.strip_prefix('[')?;
    let close = rest.find("]:")?;
    let label = &rest[..close];
    if label.is_empty() || label.starts_with('^') || label.contains('[') {
        return None;
    }
    let destination = rest[close + 2..].trim();
    if destination.is_empty() {
        return None;
    }
    Some(label.to_lowercase())
}

/// Whether the Markdown refers to `[label]` (as `[label]`, `[text][label]` or `[label][]`).
fn uses_label(body: &str, label: &str) -> bool {
    let lower = body.to_lowercase();
    let needle = format!("[{label}]");
    lower.match_indices(&needle).any(|(index, _)| {
        // `[label](url)` is an inline link, not a reference.
        !lower[index + needle.len()..].starts_with('(')
    })
}

/// Drop blank lines at both ends, and a trailing thematic break (`---` between sections).
fn trim_blank(lines: &mut Vec<&str>) {
    while lines.first().is_some_and(|line| line.trim().is_empty()) {
        lines.remove(0);
    }
    loop {
        while lines.last().is_some_and(|line| line.trim().is_empty()) {
            lines.pop();
        }
        let length = lines.len();
        let trailing_break = length >= 2
            && is_thematic_break(lines[length - 1])
            && lines[length - 2].trim().is_empty();
        if !trailing_break {
            break;
        }
        lines.pop();
    }
}

fn is_thematic_break(line: &str) -> bool {
    let compact: String = line.chars().filter(|c| !c.is_whitespace()).collect();
    compact.len() >= 3
        && ["-", "*", "_"]
            .iter()
            .any(|mark| compact.chars().all(|c| c.to_string() == *mark))
}

/// Cut `text` so that it has at most `limit` characters, at a line break when there is one,
/// and say so with a note pointing at `full_notes` (a URL or file name).
#[must_use]
pub fn truncate(text: &str, limit: usize, full_notes: &str) -> String {
    if text.chars().count() <= limit {
        return text.to_owned();
    }
    let note = format!(
        "\n\n*These notes were cut: the changelog section is longer than GitHub's limit of {GITHUB_BODY_LIMIT} characters. The full text is in {full_notes}.*"
    );
    let budget = limit.saturating_sub(note.chars().count());
    let cut = text
        .char_indices()
        .nth(budget)
        .map_or(text.len(), |(index, _)| index);
    let kept = &text[..cut];
    let kept = match kept.rfind('\n') {
        Some(line_end) if line_end > cut / 2 => &kept[..line_end],
        _ => kept,
    };
    format!("{}{note}", kept.trim_end())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(text: &str) -> Option<String> {
        heading_version(text).map(|v| v.to_string())
    }

    #[test]
    fn heading_forms_that_name_a_version() {
        assert_eq!(version("[1.2.3] - 2026-01-01").as_deref(), Some("1.2.3"));
        assert_eq!(version("v1.2.3 (2026-01-01)").as_deref(), Some("1.2.3"));
        assert_eq!(version("1.2.3").as_deref(), Some("1.2.3"));
        assert_eq!(version("[v1.2.3]").as_deref(), Some("1.2.3"));
        assert_eq!(version("1.2.3: the big one").as_deref(), Some("1.2.3"));
        assert_eq!(version("1.2.3(2026)").as_deref(), Some("1.2.3"));
        assert_eq!(version("[1.0.0-rc.1]").as_deref(), Some("1.0.0rc1"));
        assert_eq!(version("[Unreleased]"), None);
        assert_eq!(version("Version history"), None);
        assert_eq!(version("[1.2.3"), None);
        assert_eq!(version("1.2.3-not a version!"), None);
    }

    #[test]
    fn a_longer_version_never_matches_its_prefix() {
        let text = "## 1.0.10\n\nten\n\n## 1.0.1\n\none\n";
        assert_eq!(extract(text, "1.0.1").unwrap().body, "one");
        assert_eq!(extract(text, "1.0.10").unwrap().body, "ten");
        assert_eq!(extract(text, "1.0.100"), None);
    }

    #[test]
    fn headings_inside_code_fences_are_ignored() {
        let text = "## 2.0.0\n\n```\n## 1.0.0\n```\n\nafter\n\n## 1.0.0\n\nreal\n";
        assert_eq!(extract(text, "1.0.0").unwrap().body, "real");
        assert!(extract(text, "2.0.0").unwrap().body.contains("after"));
    }

    #[test]
    fn truncation_respects_the_limit_and_says_so() {
        let text = "line\n".repeat(1000);
        let cut = truncate(&text, 600, "CHANGELOG.md");
        assert!(cut.chars().count() <= 600, "{}", cut.chars().count());
        assert!(cut.contains("These notes were cut"));
        assert!(cut.contains("CHANGELOG.md"));
        assert_eq!(truncate("short", 600, "x"), "short");
        let wide = "é".repeat(1000);
        assert!(truncate(&wide, 500, "x").chars().count() <= 500);
    }
}
