//! Untrusted text in the step summary. GitHub renders `$GITHUB_STEP_SUMMARY` as GitHub-flavoured
//! Markdown (cmark-gfm: tables, autolinks, raw HTML through its sanitiser), so a server's message,
//! a mint rejection's `errors[].code`, a release URL or a file name could otherwise add links,
//! images, HTML or table cells. Every string that did not come from this program goes through
//! one of these functions; none of them can be closed or escaped by its content.
//!
//! Each redacts the registered secrets ([`redact`]) *before* escaping: the escaped form of a
//! token (`pypi-Ag\_x`) no longer matches the secret, so redacting the finished Markdown
//! would let it through.

use crate::console::redact;

/// Plain text placed inside a line (never at its start): HTML's `&`, `<`, `>` as entities; the
/// characters that open inline markup (`\` `` ` `` `*` `_` `[` `]` `!` `|` `~`) backslash-
/// escaped; autolinks broken (`https\://`, `www\.`, `user\@host`); line breaks and control
/// characters as spaces, so no block (heading, list, table row) can start either.
#[must_use]
pub fn text(untrusted: &str) -> String {
    let untrusted = redact(untrusted);
    let mut escaped = String::with_capacity(untrusted.len() + 16);
    let chars: Vec<char> = untrusted.chars().collect();
    for (at, &c) in chars.iter().enumerate() {
        let next_two = chars.get(at + 1..at + 3);
        let after_www = at >= 3
            && chars[at - 3..at]
                .iter()
                .all(|w| w.eq_ignore_ascii_case(&'w'));
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '\\' | '`' | '*' | '_' | '[' | ']' | '!' | '|' | '~' | '@' => {
                escaped.push('\\');
                escaped.push(c);
            }
            ':' if next_two == Some(&['/', '/']) => escaped.push_str("\\:"),
            '.' if after_www => escaped.push_str("\\."),
            c if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}') => escaped.push(' '),
            c => escaped.push(c),
        }
    }
    escaped
}

/// A code span in running text (file names): one backtick more than the longest run inside.
#[must_use]
pub fn code(untrusted: &str) -> String {
    let flat: String = redact(untrusted)
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let fence = "`".repeat(longest_run(&flat, '`') + 1);
    let padding = if flat.starts_with('`') || flat.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{fence}{padding}{flat}{padding}{fence}")
}

/// A code span inside a table cell: delimited by one backtick more than the longest run in
/// the text, `|` escaped (GFM splits cells at `|` even inside code spans), breaks as spaces.
#[must_use]
pub fn code_in_table(untrusted: &str) -> String {
    code(untrusted).replace('|', "\\|")
}

/// A fenced code block holding `untrusted` verbatim: its fence is longer than any run of
/// backticks in the text, so no line of it can close the block.
#[must_use]
pub fn code_block(untrusted: &str) -> String {
    let untrusted = redact(untrusted);
    let fence = "`".repeat((longest_run(&untrusted, '`') + 1).max(3));
    let body: String = untrusted
        .replace("\r\n", "\n")
        .chars()
        .map(|c| match c {
            '\r' | '\u{2028}' | '\u{2029}' => '\n',
            c if c.is_control() && c != '\n' && c != '\t' => ' ',
            c => c,
        })
        .collect();
    format!("{fence}text\n{}\n{fence}", body.trim_end())
}

/// A link to `url` labelled `label`, when `url` is an https URL (or http on loopback, where
/// the tests' fakes run); anything else is shown as text, never as a link.
#[must_use]
pub fn link(label: &str, url: &str) -> String {
    let url = redact(url);
    match url::Url::parse(&url) {
        Ok(parsed)
            if parsed.scheme() == "https"
                || (parsed.scheme() == "http" && crate::http::is_loopback_host(&parsed)) =>
        {
            // `<...>` holds any destination but `<`, `>` and breaks, which a parsed URL
            // has percent-encoded.
            format!(
                "[{}](<{}>)",
                text(label),
                crate::http::display_url_with_query(&parsed)
            )
        }
        _ => format!("{} ({})", text(label), text(&url)),
    }
}

/// One of this program's own messages, which mark code with backticks (`` `release: false` ``)
/// and may quote untrusted values (a tag) outside them: each backticked part becomes a code
/// span of [`code`], the rest goes through [`text`]. An unpaired backtick stays text.
#[must_use]
pub fn message(ours: &str) -> String {
    // Whole, before the message is cut at its backticks.
    let ours = redact(ours);
    let parts: Vec<&str> = ours.split('`').collect();
    let paired = parts.len() % 2 == 1;
    let mut rendered = String::with_capacity(ours.len() + 16);
    for (at, part) in parts.iter().enumerate() {
        if at % 2 == 1 && paired {
            rendered.push_str(&code(part));
        } else {
            if at % 2 == 1 {
                rendered.push_str(&text("`"));
            }
            rendered.push_str(&text(part));
        }
    }
    rendered
}

fn longest_run(text: &str, of: char) -> usize {
    let mut longest = 0;
    let mut current = 0;
    for c in text.chars() {
        if c == of {
            current += 1;
            longest = longest.max(current);
        } else {
            current = 0;
        }
    }
    longest
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_cannot_start_markup() {
        assert_eq!(
            text("<img src=x> [a](https://e.x/) **b** | c\n# d www.e.x a@b.c 1.0"),
            "&lt;img src=x&gt; \\[a\\](https\\://e.x/) \\*\\*b\\*\\* \\| c # d www\\.e.x a\\@b.c 1.0"
        );
    }

    #[test]
    fn code_cannot_be_closed_by_its_content() {
        assert_eq!(code_in_table("a`b|c"), "``a`b\\|c``");
        assert_eq!(code_in_table("`x"), "`` `x ``");
        assert_eq!(code_block("x\n````\ny"), "`````text\nx\n````\ny\n`````");
    }

    #[test]
    fn our_messages_keep_their_code_spans_and_escape_the_rest() {
        assert_eq!(
            message("no release for v1<b>: set `release: false`"),
            "no release for v1&lt;b&gt;: set `release: false`"
        );
        assert_eq!(message("odd ` tick *x*"), "odd \\` tick \\*x\\*");
    }

    #[test]
    fn secrets_are_redacted_before_they_are_escaped() {
        let secret = "pypi-AgEI_markdown_secret*x";
        crate::console::mask_str(secret);
        let said = format!("invalid token {secret} [x]");
        for rendered in [
            text(&said),
            message(&format!("`{secret}` {said}")),
            code(&said),
            code_in_table(&said),
            code_block(&said),
            link(&said, &format!("https://e.x/?t={secret}")),
            link("x", &said),
        ] {
            // No part of it, escaped or not.
            for part in ["AgEI", "markdown", "secret"] {
                assert!(!rendered.contains(part), "{rendered}");
            }
            assert!(
                rendered.contains("***") || rendered.contains("\\*\\*\\*"),
                "{rendered}"
            );
        }
    }

    #[test]
    fn only_web_urls_become_links() {
        assert_eq!(
            link("release", "https://github.com/o/r/releases/tag/v1"),
            "[release](<https://github.com/o/r/releases/tag/v1>)"
        );
        assert_eq!(
            link("release", "javascript:alert(1)"),
            "release (javascript:alert(1))"
        );
        assert!(link("x", "https://e.x/a)b<c>").contains("(<https://e.x/a)b%3Cc%3E>)"));
    }
}
