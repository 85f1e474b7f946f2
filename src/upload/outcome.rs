//! What happened to each file in the upload phase: its final status, and the state the run's
//! report records for it as the phase goes ([`FileStates`]).

/// What happened to one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileStatus {
    Uploaded,
    /// The same file (same sha256) was already on the index.
    AlreadyOnIndex,
    /// A different file with this name is on the index and `skip-existing` is on.
    SkippedDifferent,
}

impl FileStatus {
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Self::Uploaded => "uploaded",
            Self::AlreadyOnIndex => "already on index",
            Self::SkippedDifferent => "skipped (different file on index)",
        }
    }
}

#[derive(Debug, Clone)]
pub struct FileOutcome {
    pub status: FileStatus,
    /// HTTP requests made for this file (1 when nothing went wrong).
    pub attempts: u32,
    /// Warnings the index sent back with a success.
    pub server_warnings: Vec<String>,
}

/// The state of one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileReport {
    Pending,
    Done { status: FileStatus, attempts: u32 },
    Failed { problem: String },
}

impl FileReport {
    #[must_use]
    pub fn done(status: FileStatus, attempts: u32) -> Self {
        Self::Done { status, attempts }
    }

    #[must_use]
    pub fn failed(problem: &str) -> Self {
        Self::Failed {
            problem: problem.to_owned(),
        }
    }

    pub fn label(&self) -> String {
        match self {
            Self::Pending => "not sent".to_owned(),
            Self::Done { status, attempts } if *attempts > 1 => {
                format!("{} ({attempts} attempts)", status.label())
            }
            Self::Done { status, .. } => status.label().to_owned(),
            Self::Failed { .. } => "failed".to_owned(),
        }
    }
}

/// Where the upload phase records each file's state as soon as it is known: the run's report
/// (so that a failed run still shows which files made it), without the upload knowing the
/// report.
pub trait FileStates {
    fn set(&mut self, file_name: &str, state: FileReport);
}
