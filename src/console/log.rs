//! The `tracing` log: one line per event on stderr, through the one writer.

use super::Console;

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
