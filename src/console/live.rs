//! The upload progress bars on a terminal (indicatif), drawn through the one writer: their text
//! redacted and its invisibles shown, only the cursor movements written as escape sequences.

use std::sync::{PoisonError, RwLock};

use super::neutralise::show_invisible;
use super::{WRITER, redact};

/// The progress bars on the terminal, while they are shown.
pub(super) static LIVE: RwLock<Option<indicatif::MultiProgress>> = RwLock::new(None);

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
