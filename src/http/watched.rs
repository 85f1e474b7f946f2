//! A request whose body is watched: [`Progress`] counts the bytes sent, and
//! [`send_watched`] gives up on a connection where neither a byte goes out nor an answer comes
//! back for a while (a fixed total timeout would cut a large upload on a slow link).

use std::time::Duration;

/// Send a request whose body reports its progress; `None` when neither a body chunk went out
/// nor an answer came back for `idle` (a stalled connection or a server that never answers).
pub async fn send_watched(
    request: reqwest::RequestBuilder,
    progress: &Progress,
    idle: Duration,
) -> Option<Result<reqwest::Response, reqwest::Error>> {
    let send = request.send();
    tokio::pin!(send);
    loop {
        let deadline = tokio::time::Instant::from_std(progress.last() + idle);
        tokio::select! {
            // The error names the URL, query included: callers name it themselves.
            result = &mut send => return Some(result.map_err(reqwest::Error::without_url)),
            () = tokio::time::sleep_until(deadline) => {
                if progress.last() + idle <= std::time::Instant::now() {
                    return None;
                }
            }
        }
    }
}

/// What the body stream has handed to the connection: when it last did (for the idle
/// timeout) and how many bytes of the file so far (for the progress display).
#[derive(Debug, Clone)]
pub struct Progress {
    start: std::time::Instant,
    /// Milliseconds after `start`.
    last: std::sync::Arc<std::sync::atomic::AtomicU64>,
    sent: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl Default for Progress {
    fn default() -> Self {
        Self::new()
    }
}

impl Progress {
    #[must_use]
    pub fn new() -> Self {
        Self {
            start: std::time::Instant::now(),
            last: std::sync::Arc::default(),
            sent: std::sync::Arc::default(),
        }
    }

    pub fn touch(&self) {
        let elapsed = u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last
            .store(elapsed, std::sync::atomic::Ordering::Relaxed);
    }

    /// `bytes` more of the file went out.
    pub fn advance(&self, bytes: usize) {
        self.sent.fetch_add(
            u64::try_from(bytes).unwrap_or(u64::MAX),
            std::sync::atomic::Ordering::Relaxed,
        );
        self.touch();
    }

    #[must_use]
    pub fn last(&self) -> std::time::Instant {
        self.start + Duration::from_millis(self.last.load(std::sync::atomic::Ordering::Relaxed))
    }

    /// Bytes of the file handed to the connection so far.
    #[must_use]
    pub fn sent(&self) -> u64 {
        self.sent.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Time since the request started.
    #[must_use]
    pub fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }
}
