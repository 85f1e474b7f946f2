//! Explicit markup (`.. ` and `__ `): footnotes and citations, hyperlink targets, substitution
//! definitions, comments and the start of directives, one after another without blank lines.

use super::indentation::{Block, first_known, first_known_unstripped};
use super::{Scanner, starts_with_marker};
use crate::distribution::rst::{Line, docutils, normalize_name};

impl Scanner<'_> {
    /// Explicit markup (`.. ` and `__ `) constructs, one after another without blank lines.
    pub(super) fn explicit(&mut self, lines: &[Line<'_>], mut i: usize) -> usize {
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
}

/// `[0-9]+`, `#`, `#name`, `*` (footnotes) or a simple name (citations).
fn footnote_label(label: &str) -> bool {
    (!label.is_empty() && label.bytes().all(|b| b.is_ascii_digit()))
        || label == "#"
        || label == "*"
        || is_simplename(label.strip_prefix('#').unwrap_or(label))
}

pub(super) fn is_simplename(name: &str) -> bool {
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
