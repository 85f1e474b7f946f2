//! Discovery (DESIGN §3): the dists in packages-dir and its subfolders. Only regular files are
//! read: a FIFO, device or socket named like a dist would block or never end, so it is refused
//! by its type before anything opens it. A symlink is followed only to a regular file inside
//! packages-dir (some build tools link their outputs); one that leaves packages-dir, or points
//! at anything else, is refused, so what is published is what the build put there.

use std::collections::BTreeMap;
use std::fs::FileType;
use std::path::{Path, PathBuf};

use super::{DistError, DistKind, digest_file, file_name, filename};

/// What discovery found in packages-dir.
#[derive(Debug, Default)]
pub struct Discovery {
    /// Dist files, unique by file name, sorted: wheels first, then sdists.
    pub dists: Vec<PathBuf>,
    /// Other files, listed to the user and ignored.
    pub ignored: Vec<PathBuf>,
    /// Same file name found twice with the same content: the extra copies, ignored.
    pub duplicates: Vec<PathBuf>,
    /// Entries named like dists that are not regular files: one message each, naming the
    /// path and the fix. They fail verification together with every other problem.
    pub refused: Vec<String>,
}

const MAX_DEPTH: usize = 8;
const MAX_FILES: usize = 100_000;

/// Find `*.whl`, `*.tar.gz` and `*.zip` below `dir` (subfolders too: `download-artifact`
/// without `merge-multiple` puts each artifact in a folder of its own). Extensions are matched
/// in any case here, so a `.WHL` is found and refused with its fix rather than ignored.
pub fn discover(dir: &Path) -> anyhow::Result<Discovery> {
    let root = std::fs::canonicalize(dir).map_err(|error| DistError::io(dir, error))?;
    let mut walk = Walk {
        root,
        found: Vec::new(),
        ignored: Vec::new(),
        refused: Vec::new(),
    };
    walk.folder(dir, 0)?;
    let Walk {
        mut found,
        mut ignored,
        refused,
        ..
    } = walk;
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
    if by_name.is_empty() && refused.is_empty() {
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
            "no dists (*.whl, *.tar.gz) found in packages-dir `{}`: {extra}; build them first (`python -m build`) or point packages-dir at them",
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
        refused,
    })
}

struct Walk {
    /// packages-dir, resolved: symlinks must stay below it.
    root: PathBuf,
    found: Vec<PathBuf>,
    ignored: Vec<PathBuf>,
    refused: Vec<String>,
}

impl Walk {
    fn folder(&mut self, dir: &Path, depth: usize) -> anyhow::Result<()> {
        if depth > MAX_DEPTH {
            return Ok(());
        }
        let entries = std::fs::read_dir(dir).map_err(|error| DistError::io(dir, error))?;
        for entry in entries {
            let entry = entry.map_err(|error| DistError::io(dir, error))?;
            let path = entry.path();
            // The entry itself, never what a symlink points to.
            let file_type = entry
                .file_type()
                .map_err(|error| DistError::io(&path, error))?;
            if self.found.len() + self.ignored.len() + self.refused.len() > MAX_FILES {
                anyhow::bail!(
                    "packages-dir `{}` holds more than {MAX_FILES} files; point it at the folder with the dists only",
                    dir.display()
                );
            }
            let name = file_name(&path);
            if file_type.is_dir() {
                if !name.starts_with('.') {
                    self.folder(&path, depth + 1)?;
                }
            } else if DistKind::from_file_name(&name).is_none() {
                self.ignored.push(path);
            } else if file_type.is_file() {
                self.found.push(path);
            } else if file_type.is_symlink() {
                match self.link_target(&path) {
                    Ok(()) => self.found.push(path),
                    Err(problem) => self.refused.push(problem),
                }
            } else {
                self.refused.push(format!(
                    "{}: is a {}, not a regular file: only regular files are published (reading it could block forever). Remove it and put the built dist file there",
                    path.display(),
                    special_kind(file_type)
                ));
            }
        }
        Ok(())
    }

    /// A symlink named like a dist is read only when it resolves to a regular file inside
    /// packages-dir.
    fn link_target(&self, path: &Path) -> Result<(), String> {
        let copy = "copy the file itself into packages-dir (`cp -L`)";
        let target = std::fs::canonicalize(path).map_err(|error| {
            format!(
                "{}: cannot read the symlink's target ({error}); {copy}",
                path.display()
            )
        })?;
        if !target.starts_with(&self.root) {
            return Err(format!(
                "{}: is a symlink to `{}`, outside packages-dir `{}`: only files inside packages-dir are published; {copy}",
                path.display(),
                target.display(),
                self.root.display()
            ));
        }
        let metadata = std::fs::metadata(&target).map_err(|error| {
            format!(
                "{}: cannot read the symlink's target ({error}); {copy}",
                path.display()
            )
        })?;
        if !metadata.is_file() {
            return Err(format!(
                "{}: is a symlink to `{}`, which is a {}, not a regular file; {copy}",
                path.display(),
                target.display(),
                special_kind(metadata.file_type())
            ));
        }
        Ok(())
    }
}

/// What a non-regular file is, for messages.
fn special_kind(file_type: FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt as _;
        if file_type.is_fifo() {
            return "named pipe (FIFO)";
        }
        if file_type.is_socket() {
            return "socket";
        }
        if file_type.is_char_device() {
            return "character device";
        }
        if file_type.is_block_device() {
            return "block device";
        }
    }
    if file_type.is_dir() {
        "folder"
    } else {
        "special file"
    }
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
