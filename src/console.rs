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

use std::io::Write as _;
use std::sync::{Mutex, PoisonError, RwLock};

use secrecy::{ExposeSecret as _, SecretString};

static SECRETS: RwLock<Vec<String>> = RwLock::new(Vec::new());
/// Serialises writes, so that lines from several threads never interleave.
static WRITER: Mutex<()> = Mutex::new(());
/// The progress bars on the terminal, while they are shown.
static LIVE: RwLock<Option<indicatif::MultiProgress>> = RwLock::new(None);

/// Secrets shorter than this are not redacted on their own: replacing every `ab` in the log
/// would garble it and protect nothing (see [`mask_exact`] for URL user info).
const SHORTEST_SECRET: usize = 4;

/// Register a secret: masked by the runner (`::add-mask::`) and redacted from everything this
/// program prints from now on. Call it the moment the value is learned.
pub fn mask(secret: &SecretString) {
    mask_str(secret.expose_secret());
}

/// Wrap a secret just learned (a minted token, an OIDC token), masking it at once: the one way
/// to hold a secret that came from the network.
#[must_use]
pub fn learned(value: String) -> SecretString {
    mask_str(&value);
    SecretString::from(value)
}

/// As [`mask`], for a value not (yet) wrapped. Values shorter than 4 characters are ignored.
pub fn mask_str(value: &str) {
    let value = value.trim();
    if value.chars().count() >= SHORTEST_SECRET {
        register(value);
    }
}

/// Register a value whatever its length: for the forms a URL carries its user info in
/// (`user:password@`), which are distinctive even when the password is short.
pub fn mask_exact(value: &str) {
    if !value.trim().is_empty() {
        register(value);
    }
}

/// Register the user info of a URL (`https://user:password@host/`), raw and percent-decoded:
/// the password, the user name unless it is `__token__` (Gemfury-style indexes put the token
/// there), and the `user:password@` / `user@` forms whatever their length, as a URL carries
/// them (a 2-character password is still masked where it appears in a URL; alone it is not,
/// since masking every `ab` would garble the log and protect nothing).
pub fn mask_user_info(url: &url::Url) {
    if url.username().is_empty() && url.password().is_none() {
        return;
    }
    let decode = |text: &str| {
        percent_encoding::percent_decode_str(text)
            .decode_utf8_lossy()
            .into_owned()
    };
    let raw = (url.username().to_owned(), url.password().map(str::to_owned));
    let decoded = (decode(&raw.0), raw.1.as_deref().map(decode));
    for (user, password) in [raw, decoded] {
        if user != "__token__" {
            mask_str(&user);
        }
        match password {
            Some(password) => {
                mask_str(&password);
                mask_exact(&format!("{user}:{password}@"));
            }
            None => mask_exact(&format!("{user}@")),
        }
    }
}

fn register(value: &str) {
    {
        let mut secrets = SECRETS.write().unwrap_or_else(PoisonError::into_inner);
        if secrets.iter().any(|known| known == value) {
            return;
        }
        secrets.push(value.to_owned());
        // Each line of a multi-line value too, since it may be printed a line at a time
        // (the runner splits at CR and LF the same way).
        for piece in value
            .split(['\r', '\n'])
            .map(str::trim)
            .filter(|piece| piece.chars().count() >= SHORTEST_SECRET && *piece != value)
        {
            if !secrets.iter().any(|known| known == piece) {
                secrets.push(piece.to_owned());
            }
        }
        // Longest first, so that a secret containing another is replaced whole.
        secrets.sort_by_key(|known| std::cmp::Reverse(known.len()));
    }
    if in_actions() {
        // One command: the runner masks the whole value and each of its lines itself. The data
        // is escaped because the runner unescapes it (`%25` would mask `%`, not `%25`).
        write(
            Stream::Stdout,
            &[Command::AddMask.line(&[], &escape_data(value))],
        );
    }
}

/// Replace every registered secret in `text` by `***`.
#[must_use]
pub fn redact(text: &str) -> String {
    let secrets = SECRETS.read().unwrap_or_else(PoisonError::into_inner);
    let mut text = text.to_owned();
    for secret in secrets.iter() {
        if text.contains(secret.as_str()) {
            text = text.replace(secret.as_str(), "***");
        }
    }
    text
}

fn in_actions() -> bool {
    std::env::var("GITHUB_ACTIONS").is_ok_and(|value| value == "true")
}

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
fn show_invisible(text: &str) -> String {
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
fn command_text(text: &str) -> String {
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

/// Register the progress bars drawn on the terminal (through [`LiveTerm`]): from now on every
/// line is written above them.
pub fn show_live(display: Option<indicatif::MultiProgress>) {
    *LIVE.write().unwrap_or_else(PoisonError::into_inner) = display;
}

/// Whether stderr is a terminal a person watches (not a pipe, a file, or `TERM=dumb`).
#[must_use]
pub fn stderr_is_terminal() -> bool {
    use std::io::IsTerminal as _;
    #[expect(
        clippy::disallowed_methods,
        reason = "asks only whether stderr is a terminal; writes nothing"
    )]
    let terminal = std::io::stderr().is_terminal();
    terminal && !std::env::var("TERM").is_ok_and(|term| term == "dumb")
}

/// indicatif's terminal: stderr, through this writer. Text is redacted and its control and
/// invisible characters shown as `\u{..}` (a bar holds a file name and numbers, nothing else
/// passes); the cursor movements and line clearing indicatif asks for are the `console`
/// crate's fixed escape sequences. Each call holds the writer's lock, so bars and lines never
/// interleave mid-line.
#[derive(Debug)]
pub struct LiveTerm(console::Term);

impl LiveTerm {
    /// On stderr, buffered until indicatif flushes a whole frame.
    #[must_use]
    pub fn stderr() -> Self {
        #[expect(
            clippy::disallowed_methods,
            reason = "the one writer's terminal for the progress bars"
        )]
        Self(console::Term::buffered_stderr())
    }

    fn locked<R>(&self, draw: impl FnOnce(&console::Term) -> R) -> R {
        let _guard = WRITER.lock().unwrap_or_else(PoisonError::into_inner);
        draw(&self.0)
    }
}

impl indicatif::TermLike for LiveTerm {
    fn width(&self) -> u16 {
        self.0.size().1
    }

    fn height(&self) -> u16 {
        self.0.size().0
    }

    fn move_cursor_up(&self, n: usize) -> std::io::Result<()> {
        self.locked(|term| term.move_cursor_up(n))
    }

    fn move_cursor_down(&self, n: usize) -> std::io::Result<()> {
        self.locked(|term| term.move_cursor_down(n))
    }

    fn move_cursor_right(&self, n: usize) -> std::io::Result<()> {
        self.locked(|term| term.move_cursor_right(n))
    }

    fn move_cursor_left(&self, n: usize) -> std::io::Result<()> {
        self.locked(|term| term.move_cursor_left(n))
    }

    fn write_line(&self, text: &str) -> std::io::Result<()> {
        let text = show_invisible(&redact(text));
        self.locked(|term| term.write_line(&text))
    }

    fn write_str(&self, text: &str) -> std::io::Result<()> {
        // indicatif returns to the start of the line with a lone "\r": a cursor movement.
        let text = if text == "\r" {
            text.to_owned()
        } else {
            show_invisible(&redact(text))
        };
        self.locked(|term| term.write_str(&text))
    }

    fn clear_line(&self) -> std::io::Result<()> {
        self.locked(console::Term::clear_line)
    }

    fn flush(&self) -> std::io::Result<()> {
        self.locked(console::Term::flush)
    }
}

/// Send the `tracing` log (one event per line) through [`LogWriter`]: debug level with
/// `verbose` or `RUNNER_DEBUG`, else info.
pub fn start_log(debug: bool) {
    let level = if debug { "debug" } else { "info" };
    let filter = tracing_subscriber::EnvFilter::try_new(format!("warn,pypi_oidc_publish={level}"))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(LogWriter::default)
        .with_target(false)
        .without_time()
        .with_ansi(false)
        .init();
}

/// A `tracing` writer: collects one event and writes it through [`Console::log`]
/// when dropped, so that a secret split across two writes is still redacted.
#[derive(Debug, Default)]
pub struct LogWriter {
    buffer: Vec<u8>,
}

impl std::io::Write for LogWriter {
    fn write(&mut self, buffer: &[u8]) -> std::io::Result<usize> {
        self.buffer.extend_from_slice(buffer);
        Ok(buffer.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for LogWriter {
    fn drop(&mut self) {
        let text = String::from_utf8_lossy(&self.buffer);
        let text = text.strip_suffix('\n').unwrap_or(&text);
        if !text.is_empty() {
            Console::log(text);
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
