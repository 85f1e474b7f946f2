//! Distributions: discovery in packages-dir, core metadata, digests. The deep checks of
//! DESIGN §3 live in [`verify`].

pub mod archive;
pub mod classifiers;
pub mod description;
pub mod discover;
pub mod email;
pub mod entry_points;
pub mod filename;
pub mod form;
pub mod gzip;
pub mod license;
pub mod metadata;
pub mod pep508;
pub mod platform;
pub mod project;
pub mod record;
pub mod rst;
pub mod rules;
pub mod scan;
pub mod sdist;
pub mod tar_stream;
pub mod uri;
pub mod verify;
pub mod wheel;
pub mod zipdir;
pub mod zipframe;

use std::fs::File;
use std::io::Read as _;
use std::path::{Path, PathBuf};

use blake2::digest::consts::U32;
use blake2::{Blake2b, Digest as _};
use sha2::Sha256;

pub use archive::{Category, Finding, Inspection, Severity};
pub use discover::{Discovery, discover};
pub use filename::{DistFilename, DistKind};
pub use metadata::CoreMetadata;

/// A problem with one file, naming the file and the fix.
#[derive(Debug, thiserror::Error)]
pub enum DistError {
    #[error("{path}: cannot read the file: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{file}: {problem}")]
    Invalid { file: String, problem: String },
    /// The archive is too broken to read its metadata; every problem found on the way.
    #[error("{}", findings.iter().map(|f| f.render(file)).collect::<Vec<_>>().join("\n"))]
    Rejected {
        file: String,
        findings: Vec<Finding>,
    },
}

impl DistError {
    pub fn invalid(file: &str, problem: impl Into<String>) -> Self {
        Self::Invalid {
            file: file.to_owned(),
            problem: problem.into(),
        }
    }

    pub fn io(path: &Path, source: std::io::Error) -> Self {
        Self::Io {
            path: path.display().to_string(),
            source,
        }
    }

    /// One line per problem, for the combined verification report.
    #[must_use]
    pub fn messages(&self) -> Vec<String> {
        match self {
            Self::Rejected { file, findings } => findings
                .iter()
                .filter(|finding| finding.severity == Severity::Error)
                .map(|finding| finding.render(file))
                .collect(),
            other => vec![other.to_string()],
        }
    }
}

/// The digests `PyPI` and the step summary need, computed in one streaming pass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Digests {
    pub sha256: String,
    pub blake2_256: String,
}

/// A dist ready to upload: its parsed name, metadata, size and digests.
#[derive(Debug, Clone)]
pub struct Dist {
    pub path: PathBuf,
    pub filename: DistFilename,
    pub size: u64,
    pub digests: Digests,
    pub metadata: CoreMetadata,
    /// Everything the per-file checks found (errors and warnings, structure and metadata);
    /// [`verify::verify_all`] decides which of them stop the run.
    pub findings: Vec<Finding>,
}

impl Dist {
    #[must_use]
    pub fn file_name(&self) -> &str {
        &self.filename.file_name
    }

    #[must_use]
    pub fn kind(&self) -> DistKind {
        self.filename.kind
    }

    /// The `pyversion` form field: the wheel's python tag, `source` for sdists.
    #[must_use]
    pub fn pyversion(&self) -> &str {
        match &self.filename.kind {
            DistKind::Wheel => self.filename.python_tag.as_deref().unwrap_or("py3"),
            DistKind::Sdist => "source",
        }
    }
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// sha256 and blake2b-256 of a file in one streaming pass with a fixed buffer. (No md5: `PyPI`
/// does not need it, and it cost about 40% of the verification CPU of a large wheel.)
pub fn digest_file(path: &Path) -> Result<Digests, DistError> {
    let (file, size) = open_regular(path)?;
    digest(file, size).map_err(|error| DistError::io(path, error))
}

/// The digests of the `size` bytes `stat` reported: never more, and a file that ends sooner
/// (it changed while it was read) is an error.
fn digest(file: File, size: u64) -> std::io::Result<Digests> {
    let mut sha256 = Sha256::new();
    let mut blake2 = Blake2b::<U32>::new();
    let mut buffer = vec![0_u8; 256 * 1024];
    let mut reader = file.take(size);
    let mut total: u64 = 0;
    loop {
        let read = reader.read(&mut buffer)?;
        if read == 0 {
            break;
        }
        let chunk = &buffer[..read];
        total += read as u64;
        sha256.update(chunk);
        blake2.update(chunk);
    }
    if total != size {
        return Err(std::io::Error::other(format!(
            "the file changed while it was read ({total} of {size} bytes)"
        )));
    }
    Ok(Digests {
        sha256: hex::encode(sha256.finalize()),
        blake2_256: hex::encode(blake2.finalize()),
    })
}

/// Open a dist that must be a regular file (a FIFO or device would block or never end):
/// checked before opening, and again on the opened file. Returns it with its size.
pub fn open_regular(path: &Path) -> Result<(File, u64), DistError> {
    let before = std::fs::metadata(path).map_err(|error| DistError::io(path, error))?;
    let not_regular = || {
        DistError::invalid(
            &path.display().to_string(),
            "is not a regular file: only regular files are published. Put the built dist file there",
        )
    };
    if !before.is_file() {
        return Err(not_regular());
    }
    let file = File::open(path).map_err(|error| DistError::io(path, error))?;
    let opened = file
        .metadata()
        .map_err(|error| DistError::io(path, error))?;
    if !opened.is_file() {
        return Err(not_regular());
    }
    Ok((file, opened.len()))
}

/// Files above this size get their digests computed on a thread of their own.
const PARALLEL_DIGEST_BYTES: u64 = 4 * 1024 * 1024;

/// Read one dist and check it: file name, archive structure (RECORD hashes, member paths,
/// limits), metadata consistency and content rules. `Err` when the archive is too broken to
/// read its metadata; otherwise the findings travel with the [`Dist`].
pub fn load(path: &Path) -> Result<Dist, DistError> {
    let name = file_name(path);
    let filename = DistFilename::parse(&name)?;
    let (file, size) = open_regular(path)?;
    let inspect = |file: File| match filename.kind {
        DistKind::Wheel => wheel::inspect(file, &filename, size),
        DistKind::Sdist => sdist::inspect(file, &filename, size),
    };
    // For a large file the whole-file digests run beside the archive checks (the second read
    // comes from the page cache): the wall time is the longer of the two, not their sum.
    let (digests, inspection) = if size > PARALLEL_DIGEST_BYTES {
        let (second, _) = open_regular(path)?;
        std::thread::scope(|scope| {
            let digests = scope.spawn(|| digest(second, size));
            let inspection = inspect(file);
            let digests = digests
                .join()
                .unwrap_or_else(|_| Err(std::io::Error::other("the digest thread failed")));
            (digests, inspection)
        })
    } else {
        let digests = file.try_clone().and_then(|copy| digest(copy, size));
        let inspection = inspect(file);
        (digests, inspection)
    };
    let digests = digests.map_err(|error| DistError::io(path, error))?;
    let mut findings = filename.check();
    findings.extend(inspection.findings);
    let member = inspection.metadata_member.as_str();
    let Some(text) = inspection.metadata_text.as_deref() else {
        return Err(DistError::Rejected {
            file: name,
            findings,
        });
    };
    let metadata = match CoreMetadata::parse(text) {
        Ok(metadata) => metadata,
        Err(problem) => {
            findings.push(Finding::error(
                Some(member),
                format!("is not core metadata: {problem}; rebuild the dist"),
            ));
            return Err(DistError::Rejected {
                file: name,
                findings,
            });
        }
    };
    findings.extend(verify::consistency(&filename, &metadata, member));
    let members = &inspection.members;
    let has_member = |candidate: &str| members.contains(candidate);
    findings.extend(rules::check(
        &metadata,
        &rules::Contents {
            member,
            license_root: inspection.license_root.clone(),
            has_member: &has_member,
        },
    ));
    Ok(Dist {
        path: path.to_path_buf(),
        filename,
        size,
        digests,
        metadata,
        findings,
    })
}
