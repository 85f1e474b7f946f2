//! Distributions: discovery in packages-dir, core metadata, digests. The deep checks of
//! DESIGN §3 live in [`verify`].

pub mod archive;
pub mod description;
pub mod filename;
pub mod metadata;
pub mod record;
pub mod rst;
pub mod rules;
pub mod sdist;
pub mod verify;
pub mod wheel;

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Read as _;
use std::path::{Path, PathBuf};

use blake2::digest::consts::U32;
use blake2::{Blake2b, Digest as _};
use sha2::Sha256;

pub use archive::{Category, Finding, Inspection, Severity};
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

/// What discovery found in packages-dir.
#[derive(Debug, Default)]
pub struct Discovery {
    /// Dist files, unique by file name, sorted: wheels first, then sdists.
    pub dists: Vec<PathBuf>,
    /// Other files, listed to the user and ignored.
    pub ignored: Vec<PathBuf>,
    /// Same file name found twice with the same content: the extra copies, ignored.
    pub duplicates: Vec<PathBuf>,
}

const MAX_DEPTH: usize = 8;
const MAX_FILES: usize = 100_000;

/// Find `*.whl`, `*.tar.gz` and `*.zip` below `dir` (subfolders too: `download-artifact`
/// without `merge-multiple` puts each artifact in a folder of its own).
pub fn discover(dir: &Path) -> anyhow::Result<Discovery> {
    let mut found = Vec::new();
    let mut ignored = Vec::new();
    walk(dir, 0, &mut found, &mut ignored)?;
    found.sort();
    ignored.sort();

    let mut by_name: BTreeMap<String, PathBuf> = BTreeMap::new();
    let mut duplicates = Vec::new();
    for path in found {
        let name = file_name(&path);
        if let Some(first) = by_name.get(&name) {
            if same_content(first, &path)? {
                duplicates.push(path);
                continue;
            }
            anyhow::bail!(
                "{name} is in packages-dir twice with different content: {} and {}; remove the stale copy (an old build or a second artifact) and publish exactly one",
                first.display(),
                path.display()
            );
        }
        by_name.insert(name, path);
    }
    if by_name.is_empty() {
        let extra = if ignored.is_empty() {
            "it is empty".to_owned()
        } else {
            format!(
                "it holds only other files ({})",
                ignored
                    .iter()
                    .map(|p| file_name(p))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        anyhow::bail!(
            "no dists (*.whl, *.tar.gz, *.zip) found in packages-dir `{}`: {extra}; build them first (`python -m build`) or point packages-dir at them",
            dir.display()
        );
    }
    let mut dists: Vec<PathBuf> = by_name.into_values().collect();
    dists.sort_by_key(|path| {
        (
            !filename::has_suffix(&file_name(path), ".whl"),
            file_name(path),
        )
    });
    Ok(Discovery {
        dists,
        ignored,
        duplicates,
    })
}

fn walk(
    dir: &Path,
    depth: usize,
    found: &mut Vec<PathBuf>,
    ignored: &mut Vec<PathBuf>,
) -> anyhow::Result<()> {
    if depth > MAX_DEPTH {
        return Ok(());
    }
    let entries = std::fs::read_dir(dir).map_err(|error| DistError::io(dir, error))?;
    for entry in entries {
        let entry = entry.map_err(|error| DistError::io(dir, error))?;
        let path = entry.path();
        let file_type = entry
            .file_type()
            .map_err(|error| DistError::io(&path, error))?;
        if found.len() + ignored.len() > MAX_FILES {
            anyhow::bail!(
                "packages-dir `{}` holds more than {MAX_FILES} files; point it at the folder with the dists only",
                dir.display()
            );
        }
        let name = file_name(&path);
        if file_type.is_dir() {
            if !name.starts_with('.') {
                walk(&path, depth + 1, found, ignored)?;
            }
        } else if DistKind::from_file_name(&name).is_some() {
            found.push(path);
        } else {
            ignored.push(path);
        }
    }
    Ok(())
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn same_content(a: &Path, b: &Path) -> anyhow::Result<bool> {
    let size = |path: &Path| {
        std::fs::metadata(path)
            .map(|m| m.len())
            .map_err(|error| DistError::io(path, error))
    };
    if size(a)? != size(b)? {
        return Ok(false);
    }
    Ok(digest_file(a)?.sha256 == digest_file(b)?.sha256)
}

/// sha256 and blake2b-256 of a file in one streaming pass with a fixed buffer. (No md5: `PyPI`
/// does not need it, and it cost about 40% of the verification CPU of a large wheel.)
pub fn digest_file(path: &Path) -> Result<Digests, DistError> {
    let mut file = File::open(path).map_err(|error| DistError::io(path, error))?;
    let mut sha256 = Sha256::new();
    let mut blake2 = Blake2b::<U32>::new();
    let mut buffer = vec![0_u8; 256 * 1024];
    loop {
        let read = file
            .read(&mut buffer)
            .map_err(|error| DistError::io(path, error))?;
        if read == 0 {
            break;
        }
        let chunk = &buffer[..read];
        sha256.update(chunk);
        blake2.update(chunk);
    }
    Ok(Digests {
        sha256: hex::encode(sha256.finalize()),
        blake2_256: hex::encode(blake2.finalize()),
    })
}

/// Files above this size get their digests computed on a thread of their own.
const PARALLEL_DIGEST_BYTES: u64 = 4 * 1024 * 1024;

/// Read one dist and check it: file name, archive structure (RECORD hashes, member paths,
/// limits), metadata consistency and content rules. `Err` when the archive is too broken to
/// read its metadata; otherwise the findings travel with the [`Dist`].
pub fn load(path: &Path) -> Result<Dist, DistError> {
    let name = file_name(path);
    let filename = DistFilename::parse(&name)?;
    let size = std::fs::metadata(path)
        .map_err(|error| DistError::io(path, error))?
        .len();
    let inspect = || match filename.kind {
        DistKind::Wheel => wheel::inspect(path, &filename, size),
        DistKind::Sdist => sdist::inspect(path, &filename, size),
    };
    // For a large file the whole-file digests run beside the archive checks (the second read
    // comes from the page cache): the wall time is the longer of the two, not their sum.
    let (digests, inspection) = if size > PARALLEL_DIGEST_BYTES {
        std::thread::scope(|scope| {
            let digests = scope.spawn(|| digest_file(path));
            let inspection = inspect();
            let digests = digests
                .join()
                .unwrap_or_else(|_| Err(DistError::invalid(&name, "the digest thread failed")));
            (digests, inspection)
        })
    } else {
        (digest_file(path), inspect())
    };
    let inspection = inspection?;
    let digests = digests?;
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
