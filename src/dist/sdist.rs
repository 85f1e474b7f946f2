//! Source distributions (<https://packaging.python.org/specifications/source-distribution-format/>):
//! a gzip tar with one top folder `{name}-{version}/` holding `PKG-INFO`; members stay inside
//! that folder, links too, and there are no device files. Streamed once, with the unpacked
//! size watched so a gzip bomb stops early. Legacy `.zip` sdists get the same checks.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use super::archive::{
    BUFFER_BYTES, Counting, Finding, MAX_ENTRIES, MAX_RATIO, exceeds_ratio, human, resolve,
    unsafe_path,
};
use super::filename::has_suffix;
use super::wheel::read_limited;
use super::{DistError, DistFilename, Inspection};

/// Check the sdist's structure and read its `PKG-INFO`.
pub fn inspect(
    path: &Path,
    filename: &DistFilename,
    file_size: u64,
) -> Result<Inspection, DistError> {
    let name = &filename.file_name;
    let stem = if has_suffix(name, ".zip") {
        &name[..name.len() - ".zip".len()]
    } else {
        &name[..name.len() - ".tar.gz".len()]
    };
    let file = File::open(path).map_err(|error| DistError::io(path, error))?;
    let mut walk = Walk {
        top: None,
        expected_top: stem.to_owned(),
        inspection: Inspection::default(),
        extra_tops: Vec::new(),
        pkg_info_seen: false,
    };
    if has_suffix(name, ".zip") {
        walk_zip(file, file_size, &mut walk);
    } else {
        walk_tar(file, file_size, &mut walk);
    }
    Ok(walk.finish())
}

struct Walk {
    top: Option<String>,
    expected_top: String,
    inspection: Inspection,
    extra_tops: Vec<String>,
    pkg_info_seen: bool,
}

/// What kind of member the walk sees.
enum Kind<'a> {
    File,
    Folder,
    Symlink(&'a str),
    Hardlink(&'a str),
    Device(&'static str),
}

impl Walk {
    /// Check one member; returns whether it is the top folder's PKG-INFO.
    fn member(&mut self, raw_path: &str, kind: &Kind<'_>) -> bool {
        let path = raw_path.strip_prefix("./").unwrap_or(raw_path);
        let path = path.trim_end_matches('/');
        if path.is_empty() || path == "." {
            return false;
        }
        self.inspection.members.insert(path.to_owned());
        if let Some(problem) = unsafe_path(path) {
            self.inspection.push(Finding::error(
                Some(path),
                format!("unsafe member path: {problem}; members must stay inside `{}/`. Rebuild the sdist with a PEP 517 builder (`python -m build --sdist`)", self.expected_top),
            ));
            return false;
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
        if rest.is_empty() && !matches!(kind, Kind::Folder) {
            self.extra_tops.push(first.to_owned());
        }
        match kind {
            Kind::Device(what) => self.inspection.push(Finding::error(
                Some(path),
                format!("is a {what}; an sdist holds files, folders and links only. Rebuild it from a clean tree"),
            )),
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
                    self.inspection.push(Finding::error(
                        Some(path),
                        format!("is a link to `{target}`, outside the sdist's folder `{first}/`; unpacking it would reach into the user's system. Replace the link with the file it points to"),
                    ));
                }
            }
            Kind::File | Kind::Folder => {}
        }
        let is_pkg_info = matches!(kind, Kind::File) && rest == "PKG-INFO" && !self.pkg_info_seen;
        self.pkg_info_seen |= is_pkg_info;
        is_pkg_info
    }

    fn fatal(&mut self, message: String) {
        self.inspection.push(Finding::error(None, message));
    }

    fn finish(mut self) -> Inspection {
        let top = self.top.clone().unwrap_or_default();
        if !self.extra_tops.is_empty() {
            self.extra_tops.sort();
            self.extra_tops.dedup();
            self.inspection.push(Finding::error(
                None,
                format!(
                    "an sdist has one top folder, found `{top}/` and also {}; build it with `python -m build --sdist`",
                    self.extra_tops.iter().map(|t| format!("`{t}`")).collect::<Vec<_>>().join(", ")
                ),
            ));
        }
        if self.top.is_some() && top != self.expected_top {
            self.inspection.push(Finding::error(
                Some(&format!("{top}/")),
                format!(
                    "the top folder must be `{}/` to match the file name, found `{top}/`; the sdist was renamed after the build. Rebuild it",
                    self.expected_top
                ),
            ));
        }
        self.inspection.metadata_member = format!("{top}/PKG-INFO");
        self.inspection.license_root = format!("{top}/");
        if !self.pkg_info_seen {
            self.inspection.push(Finding::error(
                None,
                format!(
                    "no PKG-INFO in the top folder: expected `{}/PKG-INFO`; build the sdist with a PEP 517 builder (`python -m build --sdist`), not by archiving the source tree",
                    self.expected_top
                ),
            ));
        }
        self.inspection
    }
}

fn walk_tar(file: File, file_size: u64, walk: &mut Walk) {
    let (packed, _) = Counting::new(BufReader::with_capacity(BUFFER_BYTES, file));
    let (unpacked, unpacked_count) = Counting::new(flate2::read::GzDecoder::new(packed));
    let mut archive = tar::Archive::new(unpacked);
    let damaged = |error: &std::io::Error| {
        format!(
            "not a valid gzip tar archive ({error}); the file is truncated or damaged. Rebuild it"
        )
    };
    {
        let entries = match archive.entries() {
            Ok(entries) => entries,
            Err(error) => return walk.fatal(damaged(&error)),
        };
        for (count, entry) in entries.enumerate() {
            if count >= MAX_ENTRIES {
                return walk.fatal(format!(
                    "holds more than {MAX_ENTRIES} members; that is not a real sdist"
                ));
            }
            let mut entry = match entry {
                Ok(entry) => entry,
                Err(error) => return walk.fatal(damaged(&error)),
            };
            let path = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
            let declared = entry.header().size().unwrap_or(u64::MAX);
            if exceeds_ratio(unpacked_count.get().saturating_add(declared), file_size) {
                walk.inspection.push(Finding::error(
                    Some(&path),
                    format!(
                        "declares {}: {}",
                        human(declared),
                        bomb(unpacked_count.get().saturating_add(declared), file_size)
                    ),
                ));
                return;
            }
            let link = entry
                .link_name_bytes()
                .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
                .unwrap_or_default();
            let kind = match entry.header().entry_type() {
                tar::EntryType::Directory => Kind::Folder,
                tar::EntryType::Symlink => Kind::Symlink(&link),
                tar::EntryType::Link => Kind::Hardlink(&link),
                tar::EntryType::Char => Kind::Device("character device"),
                tar::EntryType::Block => Kind::Device("block device"),
                tar::EntryType::Fifo => Kind::Device("fifo"),
                tar::EntryType::XGlobalHeader | tar::EntryType::XHeader => continue,
                _ => Kind::File,
            };
            if walk.member(&path, &kind) {
                match read_limited(&mut entry) {
                    Ok(text) => walk.inspection.metadata_text = Some(text),
                    Err(problem) => walk.inspection.push(Finding::error(Some(&path), problem)),
                }
            }
        }
    }
    // Read to the end of the gzip stream: its CRC catches damage the tar framing hides.
    let limit = file_size
        .saturating_mul(MAX_RATIO)
        .max(super::archive::RATIO_MIN_UNPACKED);
    let mut rest = archive.into_inner().take(limit);
    if let Err(error) = std::io::copy(&mut rest, &mut std::io::sink()) {
        walk.fatal(damaged(&error));
    }
}

fn bomb(unpacked: u64, packed: u64) -> String {
    format!(
        "would unpack to at least {} from an archive of {}: a compression ratio over {MAX_RATIO} is a decompression bomb and PyPI refuses it; stopped reading",
        human(unpacked),
        human(packed)
    )
}

fn walk_zip(file: File, file_size: u64, walk: &mut Walk) {
    let mut archive = match zip::ZipArchive::new(BufReader::with_capacity(BUFFER_BYTES, file)) {
        Ok(archive) => archive,
        Err(error) => {
            return walk.fatal(format!(
                "not a valid zip archive ({error}); the file is truncated or damaged. Rebuild it"
            ));
        }
    };
    if archive.len() > MAX_ENTRIES {
        return walk.fatal(format!(
            "holds more than {MAX_ENTRIES} members; that is not a real sdist"
        ));
    }
    let mut declared: u64 = 0;
    let mut buffer = vec![0_u8; BUFFER_BYTES];
    for index in 0..archive.len() {
        let Ok(mut entry) = archive.by_index(index) else {
            walk.fatal(format!(
                "member {index} cannot be read; the zip is damaged, rebuild it"
            ));
            continue;
        };
        declared = declared.saturating_add(entry.size());
        if exceeds_ratio(declared, file_size) {
            return walk.fatal(bomb(declared, file_size));
        }
        let name = entry.name().to_owned();
        let kind = if entry.is_dir() {
            Kind::Folder
        } else {
            Kind::File
        };
        if walk.member(&name, &kind) {
            match read_limited(&mut entry) {
                Ok(text) => walk.inspection.metadata_text = Some(text),
                Err(problem) => walk.inspection.push(Finding::error(Some(&name), problem)),
            }
            continue;
        }
        let limit = entry.size().saturating_add(1);
        let mut limited = (&mut entry).take(limit);
        loop {
            match limited.read(&mut buffer) {
                Ok(0) => break,
                Ok(_) => {}
                Err(error) => {
                    walk.inspection.push(Finding::error(
                        Some(&name),
                        format!(
                            "cannot be unpacked ({error}); the data is damaged, rebuild the sdist"
                        ),
                    ));
                    break;
                }
            }
        }
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
            if target.is_empty() {
                builder.append_data(&mut header, name, data).unwrap();
            } else {
                builder.append_link(&mut header, name, target).unwrap();
            }
        }
        builder.into_inner().unwrap().finish().unwrap();
        (dir, path)
    }

    fn messages(members: &[(&str, tar::EntryType, &str)]) -> Vec<String> {
        let (_dir, path) = sdist(members);
        let filename = DistFilename::parse("demo-1.0.tar.gz").unwrap();
        let size = std::fs::metadata(&path).unwrap().len();
        inspect(&path, &filename, size)
            .unwrap()
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
        assert_eq!(found.len(), expected.len(), "{found:#?}");
        for (message, start) in found.iter().zip(expected) {
            assert!(
                message.starts_with(start),
                "{message} should start with {start}"
            );
        }
    }

    #[test]
    fn the_top_folder_must_match_the_file_name() {
        let found = messages(&[("Demo-1.0/PKG-INFO", Regular, "")]);
        assert_eq!(found.len(), 1, "{found:#?}");
        assert!(
            found[0].contains("the top folder must be `demo-1.0/`"),
            "{found:#?}"
        );
    }
}
