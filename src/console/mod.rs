//! The one writer of every byte this program prints, on stdout and stderr (STYLE habit 7):
//! plain lines, workflow commands, the `tracing` log, panics and usage errors all go through it.
//!
//! GitHub's runner reads a Docker action's stdout *and* stderr line by line (.NET
//! `StreamReader.ReadLine`: a line ends at `\r\n`, `\n` or a lone `\r`) and takes as a workflow
//! command any line that starts with `::` after leading white space, and any line holding `##[`
//! (actions/runner `ActionCommandManager.cs`, `ActionCommand.cs`). Once `::stop-commands::X`
//! gets through, the runner prints every later `::add-mask::` verbatim: a token in clear text.
//! So text is never trusted here:
//!
//! - every registered secret is replaced by `***` first ([`redact`]);
//! - the text is cut into lines at every break (the runner's three, plus VT, FF, NEL, LS, PS);
//! - control characters (but TAB) and default-ignorable code points (which the runner's
//!   culture-sensitive matching skips, and which can hide or reorder text) are shown as
//!   `\u{..}`;
//! - `##[` becomes `##\[` anywhere, and a line that would start with `::` (after white space)
//!   starts with `:\:` instead, as the runner itself defuses `##[start-action`.
//!
//! Only this module can write a workflow command, from a fixed set of names ([`Command`]), with
//! its data and properties escaped the runner's way. Secrets are announced with `::add-mask::`
//! the moment they are learned ([`mask`]): nothing printed before can have stopped commands.
//!
//! Outside Actions (the CLI), the plan and results go to stdout, errors, warnings, notices and
//! the log to stderr.
//!
//! In a terminal the upload progress bars (`crate::progress`, indicatif) are drawn through
//! [`LiveTerm`], the same writer: their text is redacted and its invisibles shown like any
//! line's, only the cursor movements indicatif asks for are written as escape sequences, and
//! every other line is written above the bars ([`show_live`]), never through them.

mod live;
mod log;
mod neutralise;
mod secrets;

use std::io::Write as _;
use std::sync::{Mutex, PoisonError};

use live::LIVE;
pub use live::{LiveTerm, show_live, stderr_is_terminal};
pub use log::{LogWriter, start_log};
use neutralise::command_text;
pub use neutralise::{escape_data, escape_property, plain_lines};
pub use secrets::{learned, mask, mask_exact, mask_str, mask_user_info, redact};

/// Serialises writes, so that lines from several threads never interleave.
pub(super) static WRITER: Mutex<()> = Mutex::new(());

fn in_actions() -> bool {
    std::env::var("GITHUB_ACTIONS").is_ok_and(|value| value == "true")
}

/// The workflow commands this program emits; no other can be written.
#[derive(Debug, Clone, Copy)]
enum Command {
    AddMask,
    Error,
    Warning,
    Notice,
    Group,
    EndGroup,
}

impl Command {
    fn name(self) -> &'static str {
        match self {
            Self::AddMask => "add-mask",
            Self::Error => "error",
            Self::Warning => "warning",
            Self::Notice => "notice",
            Self::Group => "group",
            Self::EndGroup => "endgroup",
        }
    }

    /// `::name k=v,k=v::data`, from already escaped properties and data.
    fn line(self, properties: &[(&str, String)], data: &str) -> String {
        let properties: Vec<String> = properties
            .iter()
            .map(|(key, value)| format!("{key}={value}"))
            .collect();
        let separator = if properties.is_empty() { "" } else { " " };
        format!(
            "::{}{separator}{}::{data}",
            self.name(),
            properties.join(",")
        )
    }
}

#[derive(Debug, Clone, Copy)]
enum Stream {
    Stdout,
    Stderr,
}

/// Write whole lines at once, above the progress bars if they are shown. A closed stream
/// (`| head`) must not turn into a panic.
fn write(stream: Stream, lines: &[String]) {
    let live = LIVE.read().unwrap_or_else(PoisonError::into_inner).clone();
    match live {
        // The bars are cleared, the lines written, the bars drawn again below them.
        Some(display) => display.suspend(|| write_now(stream, lines)),
        None => write_now(stream, lines),
    }
}

fn write_now(stream: Stream, lines: &[String]) {
    let mut bytes = Vec::new();
    for line in lines {
        bytes.extend_from_slice(line.as_bytes());
        bytes.push(b'\n');
    }
    let _guard = WRITER.lock().unwrap_or_else(PoisonError::into_inner);
    #[expect(
        clippy::disallowed_methods,
        reason = "the one writer of stdout and stderr"
    )]
    let _ = match stream {
        Stream::Stdout => {
            let mut stdout = std::io::stdout().lock();
            stdout.write_all(&bytes).and_then(|()| stdout.flush())
        }
        Stream::Stderr => {
            let mut stderr = std::io::stderr().lock();
            stderr.write_all(&bytes).and_then(|()| stderr.flush())
        }
    };
}

/// The user-facing writer: workflow commands inside Actions, plain prefixed lines outside.
#[derive(Debug, Clone, Copy)]
pub struct Console;

impl Console {
    /// A line of the plan or the results (stdout). Line breaks in `text` start new lines.
    pub fn line(text: &str) {
        write(Stream::Stdout, &plain_lines(text));
    }

    /// A line of the log (stderr): the `tracing` events, panics, usage errors.
    pub fn log(text: &str) {
        write(Stream::Stderr, &plain_lines(text));
    }

    pub fn error(title: &str, message: &str) {
        Self::annotation(Command::Error, title, message);
    }

    pub fn warning(title: &str, message: &str) {
        Self::annotation(Command::Warning, title, message);
    }

    pub fn notice(title: &str, message: &str) {
        Self::annotation(Command::Notice, title, message);
    }

    fn annotation(command: Command, title: &str, message: &str) {
        if in_actions() {
            let title = command_text(title);
            let properties = if title.is_empty() {
                Vec::new()
            } else {
                vec![("title", escape_property(&title))]
            };
            let line = command.line(&properties, &escape_data(&command_text(message)));
            write(Stream::Stdout, &[line]);
        } else {
            let prefix = if title.is_empty() {
                format!("{}: ", command.name())
            } else {
                format!("{}: {title}: ", command.name())
            };
            write(Stream::Stderr, &plain_lines(&format!("{prefix}{message}")));
        }
    }

    /// Start a collapsible group (Actions) or a heading (terminal).
    pub fn group(name: &str) {
        if in_actions() {
            let line = Command::Group.line(&[], &escape_data(&command_text(name)));
            write(Stream::Stdout, &[line]);
        } else {
            write(Stream::Stdout, &plain_lines(&format!("== {name}")));
        }
    }

    pub fn end_group() {
        if in_actions() {
            write(Stream::Stdout, &[Command::EndGroup.line(&[], "")]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workflow_command_escaping() {
        assert_eq!(escape_data("50% done\r\nnext"), "50%25 done%0D%0Anext");
        assert_eq!(escape_property("a:b,c%"), "a%3Ab%2Cc%25");
    }

    #[test]
    fn each_line_of_a_multi_line_secret_is_redacted_on_its_own() {
        mask_str("first-line-secret\rsecond-line-secret");
        assert_eq!(redact("a second-line-secret b"), "a *** b");
    }

    #[test]
    fn registered_secrets_are_redacted() {
        mask_str("pypi-AgEIcHlwaS5vcmcSECRET");
        assert_eq!(
            redact("token pypi-AgEIcHlwaS5vcmcSECRET used"),
            "token *** used"
        );
    }

    #[test]
    fn short_user_info_forms_are_masked_whole() {
        mask_exact("bob:ab@");
        assert_eq!(redact("https://bob:ab@host/"), "https://***host/");
        assert_eq!(redact("a tab"), "a tab");
    }

    #[test]
    fn no_line_can_be_a_command() {
        let cases = [
            (
                "2.4\r::stop-commands::x",
                vec!["2.4", ":\\:stop-commands::x"],
            ),
            ("a\n  ::warning::b", vec!["a", "  :\\:warning::b"]),
            (
                "x ##[set-output name=a]b",
                vec!["x ##\\[set-output name=a]b"],
            ),
            ("a\u{2028}::error::b", vec!["a", ":\\:error::b"]),
            ("\u{ad}::error::b", vec!["\\u{ad}::error::b"]),
            ("\u{85}\u{3000}::x", vec!["", "\u{3000}:\\:x"]),
            ("\x1b[8mhidden", vec!["\\u{1b}[8mhidden"]),
            ("a\r\nb", vec!["a", "b"]),
        ];
        for (text, expected) in cases {
            assert_eq!(plain_lines(text), expected, "{text:?}");
        }
    }

    #[test]
    fn command_data_keeps_breaks_escaped_and_shows_invisibles() {
        assert_eq!(
            escape_data(&command_text("a\rb\u{2028}c\u{202e}d")),
            "a%0Ab%0Ac\\u{202e}d"
        );
        assert_eq!(
            Command::Error.line(&[("title", escape_property("T: x"))], "m"),
            "::error title=T%3A x::m"
        );
    }
}
