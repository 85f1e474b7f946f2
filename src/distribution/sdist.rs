//! Source distributions (<https://packaging.python.org/specifications/source-distribution-format/>):
//! a gzip tar with one top folder holding `PKG-INFO`, as `PyPI` reads it (Warehouse
//! `forklift/legacy.py` with Python's `tarfile`): `PKG-INFO` at `{common path}/PKG-INFO` by its
//! exact member name, no sparse members, no `PyArmor` code. Ours besides: members and links stay
//! inside the top folder, no device files, no member twice, bounded names and header records.
//! Streamed once ([`super::tar_stream`]) through [`super::gzip`], whose budget stops a bomb
//! inside the decompressor.
//! `.zip` sdists are refused by their file name (PEP 625) and not opened.

use std::collections::HashMap;
use std::fs::File;

use super::archive::{Finding, MAX_DIRECTORY_BYTES, human, resolve, shorten, unsafe_path};
use super::{DistFilename, Inspection};

/// Check the sdist's structure and read its `PKG-INFO`. `file` is the opened regular file.
pub fn inspect(file: File, filename: &DistFilename, file_size: u64) -> Inspection {
    let Some(stem) = filename.file_name.strip_suffix(".tar.gz") else {
        // A `.zip` (or `.TAR.GZ`) sdist: the file name check says why PyPI refuses it.
        return Inspection::default();
    };
    let mut walk = Walk::new(stem);
    if super::zipframe::looks_like_zip(&file, file_size) {
        walk.inspection.push(Finding::error(
            None,
            "it ends with a zip directory record, so it reads as a zip as well as a tar: PyPI refuses it (\"File is both a zip and a tar file\"). Rebuild the sdist with `python -m build --sdist`",
        ));
    }
    super::tar_stream::walk(file, file_size, &mut walk);
    walk.finish()
}

/// What the walk learns member by member.
pub(super) struct Walk {
    expected_top: String,
    pub(super) inspection: Inspection,
    /// The first folder of the first member (`./` stripped): the sdist's top folder.
    top: Option<String>,
    extra_tops: Vec<String>,
    /// Member paths (`./` and trailing `/` stripped), and whether each is a folder.
    names: HashMap<String, bool>,
    names_bytes: u64,
    /// Python's `os.path.commonpath` of every name as `tarfile` lists it, as components.
    common: Option<Vec<String>>,
    /// Files named `.../PKG-INFO` exactly as `tarfile` lists them (Warehouse looks one up).
    pkg_info_names: Vec<String>,
    dot_slash: bool,
    duplicates: Vec<String>,
    /// The walk reached the end of the archive (a fatal problem stops it early).
    pub(super) complete: bool,
}

/// What kind of member the walk sees.
pub(super) enum Kind<'a> {
    File,
    Folder,
    Symlink(&'a str),
    Hardlink(&'a str),
    Device(&'static str),
}

impl Walk {
    fn new(stem: &str) -> Self {
        Self {
            expected_top: stem.to_owned(),
            inspection: Inspection::default(),
            top: None,
            extra_tops: Vec::new(),
            names: HashMap::new(),
            names_bytes: 0,
            common: None,
            pkg_info_names: Vec::new(),
            dot_slash: false,
            duplicates: Vec::new(),
            complete: false,
        }
    }

    pub(super) fn error(&mut self, member: Option<&str>, message: impl Into<String>) {
        self.inspection.push(Finding::error(member, message));
    }

    /// Check one member; returns whether it is the top folder's PKG-INFO. `Err` stops the walk.
    pub(super) fn member(&mut self, raw: &str, kind: &Kind<'_>) -> Result<bool, ()> {
        let is_folder = matches!(kind, Kind::Folder);
        // `tarfile` strips the trailing slashes of folder names only.
        let listed = if is_folder {
            raw.trim_end_matches('/')
        } else {
            raw
        };
        self.names_bytes += listed.len() as u64;
        if self.names_bytes > MAX_DIRECTORY_BYTES {
            self.error(
                None,
                format!(
                    "its member names add up to more than {}, more than this tool reads; that is not a real sdist",
                    human(MAX_DIRECTORY_BYTES)
                ),
            );
            return Err(());
        }
        self.common_path(listed);
        if !is_folder && listed.ends_with("/PKG-INFO") {
            self.pkg_info_names.push(listed.to_owned());
        }
        self.dot_slash |= listed.starts_with("./");
        let path = listed.strip_prefix("./").unwrap_or(listed);
        let path = path.trim_end_matches('/');
        if path.is_empty() || path == "." {
            return Ok(false);
        }
        // The same path twice: an extractor keeps the last copy (two folders are harmless).
        match self.names.get(path) {
            Some(was_folder) if !(is_folder && *was_folder) => {
                if !self.duplicates.iter().any(|d| d == path) {
                    self.duplicates.push(path.to_owned());
                }
            }
            Some(_) => {}
            None => {
                self.names.insert(path.to_owned(), is_folder);
            }
        }
        if let Some(problem) = unsafe_path(path) {
            let top = self.expected_top.clone();
            self.error(
                Some(path),
                format!("unsafe member path: {problem}; members must stay inside `{top}/`. Rebuild the sdist with a PEP 517 builder (`python -m build --sdist`)"),
            );
            return Ok(false);
        }
        let (first, rest) = path.split_once('/').unwrap_or((path, ""));
        match &self.top {
            None => self.top = Some(first.to_owned()),
            Some(top) if top != first => {
                if !self.extra_tops.iter().any(|t| t == first) {
                    self.extra_tops.push(first.to_owned());
                }
            }
            Some(_) => {}
        }
        if rest.is_empty() && !is_folder {
            self.extra_tops.push(first.to_owned());
        }
        match kind {
            Kind::Device(what) => self.error(
                Some(path),
                format!("is a {what}; an sdist holds files, folders and links only. Rebuild it from a clean tree"),
            ),
            Kind::Symlink(target) | Kind::Hardlink(target) => {
                let base = match kind {
                    Kind::Symlink(_) => path.rsplit_once('/').map_or("", |(parent, _)| parent),
                    _ => "",
                };
                let inside = !target.starts_with('/')
                    && resolve(base, target).is_some_and(|resolved| {
                        resolved.split('/').next() == Some(first) && resolved.contains('/')
                    });
                if !inside {
                    self.error(
                        Some(path),
                        format!("is a link to `{}`, outside the sdist's folder `{}/`; unpacking it would reach into the user's system. Replace the link with the file it points to", shorten(target), shorten(first)),
                    );
                }
            }
            Kind::File | Kind::Folder => {}
        }
        Ok(matches!(kind, Kind::File)
            && rest == "PKG-INFO"
            && self.inspection.metadata_text.is_none())
    }

    /// `os.path.commonpath`: the leading components every name shares (empty ones and `.`
    /// left out).
    fn common_path(&mut self, name: &str) {
        let parts = name
            .split('/')
            .filter(|part| !part.is_empty() && *part != ".");
        match &mut self.common {
            None => self.common = Some(parts.map(str::to_owned).collect()),
            Some(common) => {
                let shared = common
                    .iter()
                    .zip(parts)
                    .take_while(|(kept, part)| kept.as_str() == *part)
                    .count();
                common.truncate(shared);
            }
        }
    }

    fn finish(mut self) -> Inspection {
        let top = self.top.clone().unwrap_or_default();
        if !self.extra_tops.is_empty() {
            self.extra_tops.sort();
            self.extra_tops.dedup();
            let others = self
                .extra_tops
                .iter()
                .map(|t| format!("`{}`", shorten(t)))
                .collect::<Vec<_>>()
                .join(", ");
            self.error(
                None,
                format!(
                    "an sdist has one top folder, found `{}/` and also {}: PyPI refuses it (\"Incorrect number of top-level directories in sdist\"); build it with `python -m build --sdist`",
                    shorten(&top),
                    shorten(&others)
                ),
            );
        }
        if self.top.is_some() && top != self.expected_top {
            // PyPI reads PKG-INFO under whatever the top folder is called; installers too.
            self.inspection.push(Finding::warning(
                Some(&format!("{top}/")),
                format!(
                    "the top folder is `{}/`, not `{}/` as the file name says: the sdist was renamed after the build. PyPI and installers accept it; rebuild to keep them in step",
                    shorten(&top),
                    self.expected_top
                ),
            ));
        }
        for name in std::mem::take(&mut self.duplicates) {
            self.error(
                Some(&name),
                "appears twice in the archive: extractors keep the last copy while checks (and readers of the first) see another. Rebuild the sdist from a clean tree",
            );
        }
        // Warehouse: `tar.getmember(os.path.join(commonpath(names), "PKG-INFO"))`.
        let common = self.common.take().unwrap_or_default().join("/");
        let pypi_target = format!("{common}/PKG-INFO");
        let found_by_pypi = !common.is_empty() && self.pkg_info_names.contains(&pypi_target);
        self.inspection.metadata_member = format!("{top}/PKG-INFO");
        self.inspection.license_root = format!("{top}/");
        if self.inspection.metadata_text.is_none() && self.complete {
            self.error(
                None,
                format!(
                    "no PKG-INFO in the top folder: expected `{}/PKG-INFO`; build the sdist with a PEP 517 builder (`python -m build --sdist`), not by archiving the source tree",
                    self.expected_top
                ),
            );
        } else if self.dot_slash && !found_by_pypi && self.complete {
            self.error(
                None,
                format!(
                    "its members are stored as `./{}/...`: PyPI looks for `{}` by exact name, finds no PKG-INFO and refuses it. Rebuild with `python -m build --sdist` (not `tar -C dir -czf ... .`)",
                    shorten(&top),
                    shorten(&pypi_target)
                ),
            );
        }
        self.inspection.members = self.names.into_keys().collect();
        self.inspection
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A gzip tar with the given (path, kind, link target) members.
    fn sdist(members: &[(&str, tar::EntryType, &str)]) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("demo-1.0.tar.gz");
        let file = File::create(&path).unwrap();
        let mut builder = tar::Builder::new(flate2::write::GzEncoder::new(
            file,
            flate2::Compression::fast(),
        ));
        for (name, kind, target) in members {
            let mut header = tar::Header::new_gnu();
            header.set_entry_type(*kind);
            header.set_mode(0o644);
            let data: &[u8] = if *kind == tar::EntryType::Regular {
                b"Metadata-Version: 2.4\nName: demo\nVersion: 1.0\n"
            } else {
                b""
            };
            header.set_size(data.len() as u64);
            // Names and targets byte for byte (the builder would drop a leading `./`).
            let gnu = header.as_gnu_mut().unwrap();
            gnu.name[..name.len()].copy_from_slice(name.as_bytes());
            gnu.linkname[..target.len()].copy_from_slice(target.as_bytes());
            header.set_cksum();
            builder.append(&header, data).unwrap();
        }
        builder.into_inner().unwrap().finish().unwrap();
        (dir, path)
    }

    fn messages(members: &[(&str, tar::EntryType, &str)]) -> Vec<String> {
        let (_dir, path) = sdist(members);
        let filename = DistFilename::parse("demo-1.0.tar.gz").unwrap();
        let size = std::fs::metadata(&path).unwrap().len();
        inspect(File::open(&path).unwrap(), &filename, size)
            .findings
            .into_iter()
            .map(|finding| finding.render("demo-1.0.tar.gz"))
            .collect()
    }

    use tar::EntryType::{Block, Fifo, Link, Regular, Symlink};

    #[test]
    fn a_clean_sdist_with_inner_links_passes() {
        assert_eq!(
            messages(&[
                ("demo-1.0/PKG-INFO", Regular, ""),
                ("demo-1.0/src/a.py", Regular, ""),
                ("demo-1.0/src/b.py", Symlink, "a.py"),
                ("demo-1.0/c.py", Link, "demo-1.0/src/a.py"),
            ]),
            Vec::<String>::new()
        );
    }

    #[test]
    fn devices_outside_links_and_stray_tops_are_errors() {
        let found = messages(&[
            ("demo-1.0/PKG-INFO", Regular, ""),
            ("demo-1.0/dev", Block, ""),
            ("demo-1.0/pipe", Fifo, ""),
            ("demo-1.0/up", Symlink, "../../x"),
            ("demo-1.0/hard", Link, "etc/shadow"),
            ("other/file.py", Regular, ""),
        ]);
        let expected = [
            "demo-1.0.tar.gz: demo-1.0/dev: is a block device",
            "demo-1.0.tar.gz: demo-1.0/pipe: is a fifo",
            "demo-1.0.tar.gz: demo-1.0/up: is a link to `../../x`, outside",
            "demo-1.0.tar.gz: demo-1.0/hard: is a link to `etc/shadow`, outside",
            "demo-1.0.tar.gz: an sdist has one top folder, found `demo-1.0/` and also `other`",
        ];
        assert_messages_start_with(&found, &expected);
    }

    /// `found` holds exactly one message per `expected` start, in order.
    fn assert_messages_start_with(found: &[String], expected: &[&str]) {
        assert_eq!(found.len(), expected.len(), "{found:#?}");
        for (message, start) in found.iter().zip(expected) {
            assert!(
                message.starts_with(start),
                "{message} should start with {start}"
            );
        }
    }

    #[test]
    fn a_top_folder_unlike_the_file_name_is_a_warning() {
        // PyPI reads PKG-INFO under whatever the top folder is called.
        let (_dir, path) = sdist(&[("Demo-1.0/PKG-INFO", Regular, "")]);
        let filename = DistFilename::parse("demo-1.0.tar.gz").unwrap();
        let size = std::fs::metadata(&path).unwrap().len();
        let findings = inspect(File::open(&path).unwrap(), &filename, size).findings;
        assert_eq!(findings.len(), 1, "{findings:#?}");
        assert_eq!(findings[0].severity, super::super::Severity::Warning);
        assert!(
            findings[0]
                .message
                .contains("the top folder is `Demo-1.0/`, not `demo-1.0/`"),
            "{findings:#?}"
        );
    }

    #[test]
    fn duplicate_members_and_dot_slash_names_are_refused() {
        let found = messages(&[
            ("./demo-1.0/PKG-INFO", Regular, ""),
            ("./demo-1.0/setup.py", Regular, ""),
            ("./demo-1.0/setup.py", Regular, ""),
            ("./demo-1.0/src", tar::EntryType::Directory, ""),
            ("./demo-1.0/src", tar::EntryType::Directory, ""),
        ]);
        let expected = [
            "demo-1.0.tar.gz: demo-1.0/setup.py: appears twice in the archive",
            "demo-1.0.tar.gz: its members are stored as `./demo-1.0/...`: PyPI looks for `demo-1.0/PKG-INFO`",
        ];
        assert_messages_start_with(&found, &expected);
    }

    #[test]
    fn python_obfuscation_is_refused_like_pypi() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("demo-1.0.tar.gz");
        let mut builder = tar::Builder::new(flate2::write::GzEncoder::new(
            File::create(&path).unwrap(),
            flate2::Compression::fast(),
        ));
        for (name, data) in [
            ("demo-1.0/PKG-INFO", b"Metadata-Version: 2.4\nName: demo\nVersion: 1.0\n".as_slice()),
            ("demo-1.0/demo/__init__.py", b"from .pyarmor_runtime import __pyarmor__\n__pyarmor__(__name__, __file__, b'PY0')\n"),
            // Not a `.py` file: not scanned, as on PyPI.
            ("demo-1.0/demo/notes.txt", b"__pyarmor_enter__"),
        ] {
            let mut header = tar::Header::new_gnu();
            header.set_mode(0o644);
            header.set_size(data.len() as u64);
            builder.append_data(&mut header, name, data).unwrap();
        }
        builder.into_inner().unwrap().finish().unwrap();
        let filename = DistFilename::parse("demo-1.0.tar.gz").unwrap();
        let size = std::fs::metadata(&path).unwrap().len();
        let findings = inspect(File::open(&path).unwrap(), &filename, size).findings;
        assert_eq!(findings.len(), 1, "{findings:#?}");
        assert_eq!(
            findings[0].member.as_deref(),
            Some("demo-1.0/demo/__init__.py")
        );
        assert!(
            findings[0]
                .message
                .contains("PyArmor-encrypted content is not allowed")
        );
    }
}
