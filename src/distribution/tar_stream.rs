//! The tar stream of an sdist, member by member, as Python's `tarfile` (so `PyPI` and pip)
//! reads it: unpacked through [`super::gzip`] within a budget (header records before each
//! member may take at most 1 MiB, the whole stream the sdist limit), every member checked by
//! [`super::sdist`]'s walk, `PKG-INFO` read, `.py` members scanned. Header records that other
//! tools read differently (PAX sparse keys, renaming global headers, old-format extension
//! records) are refused, so every tool unpacks what was checked.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, Read, Seek as _, SeekFrom};
use std::rc::Rc;

use super::archive::{
    BUFFER_BYTES, MAX_ENTRIES, MAX_HEADER_RECORD_BYTES, MAX_NAME_BYTES, human, sdist_unpacked_limit,
};
use super::gzip::{Budget, Members, Spent};
use super::scan::{MAX_SCANNED_BYTES, Scanner, scannable};
use super::sdist::{Kind, Walk};
use super::wheel::read_limited;

fn damaged(error: &std::io::Error) -> String {
    format!("not a valid gzip tar archive ({error}); the file is truncated or damaged. Rebuild it")
}

/// Walk every member of the gzip tar in `file`.
pub(super) fn walk(mut file: File, file_size: u64, walk: &mut Walk) {
    if let Err(error) = file.seek(SeekFrom::Start(0)) {
        return walk.error(None, damaged(&error));
    }
    let budget = Budget::new(sdist_unpacked_limit(file_size));
    let packed = BufReader::with_capacity(BUFFER_BYTES, file.take(file_size));
    let mut archive = tar::Archive::new(Members::new(packed, Rc::clone(&budget)));
    let over_budget = |budget: &Budget| match budget.tripped() {
        Some(Spent::HeaderRecord) => Some(format!(
            "a tar header record (a GNU long name or link, or a PAX header) is larger than {} MiB: no real sdist has one, and reading it would exhaust memory. Rebuild the sdist",
            MAX_HEADER_RECORD_BYTES / (1024 * 1024)
        )),
        Some(Spent::Total) => Some(bomb(budget.unpacked(), budget.total(), file_size)),
        None => None,
    };
    {
        let mut entries = match archive.entries() {
            Ok(entries) => entries,
            Err(error) => return walk.error(None, damaged(&error)),
        };
        let mut buffer = vec![0_u8; BUFFER_BYTES];
        // Before the first header too, only header records may come.
        budget.limit_to(MAX_HEADER_RECORD_BYTES);
        for count in 0.. {
            if count >= MAX_ENTRIES {
                return walk.error(
                    None,
                    format!("holds more than {MAX_ENTRIES} members; that is not a real sdist"),
                );
            }
            let entry = match entries.next() {
                None => {
                    walk.complete = true;
                    break;
                }
                Some(Ok(entry)) => entry,
                Some(Err(error)) => {
                    let message = over_budget(&budget).unwrap_or_else(|| damaged(&error));
                    return walk.error(None, message);
                }
            };
            budget.unlimit();
            let Ok(data_end) = member(entry, &budget, file_size, &mut buffer, walk) else {
                return;
            };
            // Up to the next member header, only header records may come: bounded.
            budget.limit_to(data_end.saturating_add(MAX_HEADER_RECORD_BYTES));
        }
    }
    budget.unlimit();
    // Read to the end of the gzip member holding the tar's end: its CRC catches damage the
    // tar framing hides. Python stops there too and never reads what follows.
    let mut members = archive.into_inner();
    members.stop_at_member_end();
    if let Err(error) = std::io::copy(&mut members, &mut std::io::sink()) {
        let message = over_budget(&budget).unwrap_or_else(|| damaged(&error));
        walk.error(None, message);
    }
}

/// One member: its checks, PKG-INFO, the scan. Returns where its data ends; `Err` stops.
fn member<R: Read>(
    mut entry: tar::Entry<'_, R>,
    budget: &Budget,
    file_size: u64,
    buffer: &mut [u8],
    walk: &mut Walk,
) -> Result<u64, ()> {
    let path_bytes = without_nul_padding(entry.path_bytes());
    if path_bytes.len() > MAX_NAME_BYTES {
        let name = String::from_utf8_lossy(&path_bytes[..MAX_NAME_BYTES]).into_owned();
        walk.error(
            Some(&name),
            format!(
                "a member name is {} bytes long, more than the {MAX_NAME_BYTES} a file system can unpack; rebuild the sdist",
                path_bytes.len()
            ),
        );
        return Err(());
    }
    let path = String::from_utf8_lossy(&path_bytes).into_owned();
    let raw_path = path_bytes;
    let declared = entry.size();
    let data_end = entry
        .raw_file_position()
        .saturating_add(declared.saturating_add(511) & !511);
    if budget.unpacked().saturating_add(declared) > budget.total() {
        walk.error(
            Some(&path),
            format!(
                "declares {}: {}",
                human(declared),
                bomb(
                    budget.unpacked().saturating_add(declared),
                    budget.total(),
                    file_size
                )
            ),
        );
        return Err(());
    }
    let entry_type = entry.header().entry_type();
    if entry_type.is_gnu_sparse() {
        walk.error(Some(&path), sparse());
    }
    if differs_from_python(&mut entry, &path, &raw_path, walk) {
        return Err(());
    }
    let link = entry
        .link_name_bytes()
        .map(|bytes| String::from_utf8_lossy(&without_nul_padding(bytes)).into_owned())
        .unwrap_or_default();
    if link.len() > MAX_NAME_BYTES {
        walk.error(
            Some(&path),
            format!(
                "links to a target of {} bytes, more than the {MAX_NAME_BYTES} a file system can resolve; rebuild the sdist",
                link.len()
            ),
        );
        return Ok(data_end);
    }
    let kind = match entry_type {
        tar::EntryType::Directory => Kind::Folder,
        tar::EntryType::Symlink => Kind::Symlink(&link),
        tar::EntryType::Link => Kind::Hardlink(&link),
        tar::EntryType::Char => Kind::Device("character device"),
        tar::EntryType::Block => Kind::Device("block device"),
        tar::EntryType::Fifo => Kind::Device("fifo"),
        tar::EntryType::XGlobalHeader => return Ok(data_end),
        _ => Kind::File,
    };
    if walk.member(&path, &kind)? {
        match read_limited(&mut entry) {
            Ok(text) => walk.inspection.metadata_text = Some(text),
            Err(problem) => walk.error(Some(&path), problem),
        }
    } else if matches!(kind, Kind::File) && scannable(&path) && declared <= MAX_SCANNED_BYTES {
        let mut scanner = Scanner::default();
        loop {
            match entry.read(buffer) {
                Ok(0) => break,
                Ok(read) => scanner.feed(&buffer[..read]),
                Err(_) => return Ok(data_end), // the walk reports the damage next
            }
        }
        if let Some(found) = scanner.verdict() {
            walk.error(Some(&path), found.message());
        }
    }
    Ok(data_end)
}

/// A GNU long name or link ends at its first NUL for Python's `tarfile` (and GNU tar); this
/// reader keeps all but the last. Padding NULs are dropped; text after a NUL is kept, so the
/// name shows a control character and is refused (tools would disagree on it).
fn without_nul_padding(bytes: std::borrow::Cow<'_, [u8]>) -> Vec<u8> {
    match bytes.iter().position(|byte| *byte == 0) {
        Some(at) if bytes[at..].iter().all(|byte| *byte == 0) => bytes[..at].to_vec(),
        _ => bytes.into_owned(),
    }
}

fn sparse() -> String {
    "is a sparse member (a GNU tar extension): PyPI refuses it (\"tar archive not accepted: Sparse members are not allowed\"). Rebuild the sdist with `python -m build --sdist`".to_owned()
}

/// Header records Python's `tarfile` (so `PyPI` and pip) reads differently from this reader:
/// PAX sparse keys, a global PAX header that renames or resizes what follows, extension
/// records in an old-format header, a GNU long name beside a PAX path. `true` stops the walk.
fn differs_from_python<R: Read>(
    entry: &mut tar::Entry<'_, R>,
    path: &str,
    raw_path: &[u8],
    walk: &mut Walk,
) -> bool {
    let entry_type = entry.header().entry_type();
    if entry_type.is_gnu_longname()
        || entry_type.is_gnu_longlink()
        || entry_type.is_pax_local_extensions()
    {
        walk.error(
            Some(path),
            "holds a GNU or PAX extension record in an old-format tar header: Python's tarfile applies it to the next member, other tools do not, so they would unpack different names. Rebuild the sdist with `python -m build --sdist`",
        );
        return true;
    }
    if entry_type.is_pax_global_extensions() && entry.size() > MAX_HEADER_RECORD_BYTES {
        walk.error(
            Some(path),
            format!(
                "is a PAX global header larger than {} MiB; rebuild the sdist",
                MAX_HEADER_RECORD_BYTES / (1024 * 1024)
            ),
        );
        return true;
    }
    let Ok(Some(extensions)) = entry.pax_extensions() else {
        return false;
    };
    let mut keys: HashMap<Vec<u8>, Vec<u8>> = HashMap::new();
    for extension in extensions.flatten() {
        keys.insert(
            extension.key_bytes().to_vec(),
            extension.value_bytes().to_vec(),
        );
    }
    if entry_type.is_pax_global_extensions() {
        let renames = ["path", "linkpath", "size"]
            .iter()
            .find(|key| keys.contains_key(key.as_bytes()))
            .copied()
            .or_else(|| {
                keys.keys()
                    .any(|key| key.starts_with(b"GNU.sparse."))
                    .then_some("GNU.sparse")
            });
        if let Some(key) = renames {
            walk.error(
                Some(path),
                format!("a PAX global header sets `{key}` for every member after it: Python's tarfile applies it, other tools do not, so they would unpack different files. Rebuild the sdist with `python -m build --sdist`"),
            );
            return true;
        }
        return false;
    }
    let major_minor = (
        keys.get(b"GNU.sparse.major".as_slice()),
        keys.get(b"GNU.sparse.minor".as_slice()),
    );
    if keys.contains_key(b"GNU.sparse.map".as_slice())
        || keys.contains_key(b"GNU.sparse.size".as_slice())
        || major_minor == (Some(&b"1".to_vec()), Some(&b"0".to_vec()))
    {
        walk.error(Some(path), sparse());
    }
    // The reader here prefers a GNU long name, Python the PAX path that came after it.
    if keys
        .get(b"path".as_slice())
        .is_some_and(|value| value.as_slice() != raw_path)
    {
        walk.error(
            Some(path),
            "has both a GNU long name and a PAX path that disagree: tools would unpack it under different names. Rebuild the sdist with `python -m build --sdist`",
        );
        return true;
    }
    false
}

fn bomb(unpacked: u64, limit: u64, packed: u64) -> String {
    format!(
        "would unpack to at least {} from an archive of {}, past this tool's limit of {} (1 GiB, or {} times the file's size): a decompression bomb; stopped reading",
        human(unpacked),
        human(packed),
        human(limit),
        super::archive::SDIST_MAX_RATIO
    )
}

#[cfg(test)]
mod tests {
    use super::super::DistFilename;
    use std::io::Write as _;

    /// A gzip tar of raw 512-byte blocks: GNU long-name records given byte for byte.
    fn sdist_with_long_name(long_name: &[u8]) -> Vec<String> {
        let header = |kind: tar::EntryType, name: &str, size: usize| {
            let mut header = tar::Header::new_gnu();
            header.set_entry_type(kind);
            header.set_mode(0o644);
            header.set_size(size as u64);
            header.as_gnu_mut().unwrap().name[..name.len()].copy_from_slice(name.as_bytes());
            header.set_cksum();
            header.as_bytes().to_vec()
        };
        let pkg_info = b"Metadata-Version: 2.4\nName: demo\nVersion: 1.0\n";
        let mut tar = header(
            tar::EntryType::GNULongName,
            "././@LongLink",
            long_name.len(),
        );
        tar.extend_from_slice(long_name);
        tar.resize(tar.len().next_multiple_of(512), 0);
        tar.extend(header(tar::EntryType::Regular, "x", pkg_info.len()));
        tar.extend_from_slice(pkg_info);
        tar.resize(tar.len().next_multiple_of(512) + 1024, 0);
        inspect_tar(&tar)
    }

    /// A PAX global header (`g`) with `records`, then a valid sdist's PKG-INFO.
    fn sdist_with_global_header(records: &str) -> Vec<String> {
        let mut header = tar::Header::new_ustar();
        header.set_entry_type(tar::EntryType::XGlobalHeader);
        header.set_size(records.len() as u64);
        header.set_path("pax_global_header").unwrap();
        header.set_cksum();
        let mut tar = header.as_bytes().to_vec();
        tar.extend_from_slice(records.as_bytes());
        tar.resize(tar.len().next_multiple_of(512), 0);
        let pkg_info = b"Metadata-Version: 2.4\nName: demo\nVersion: 1.0\n";
        let mut header = tar::Header::new_ustar();
        header.set_size(pkg_info.len() as u64);
        header.set_path("demo-1.0/PKG-INFO").unwrap();
        header.set_cksum();
        tar.extend_from_slice(header.as_bytes());
        tar.extend_from_slice(pkg_info);
        tar.resize(tar.len().next_multiple_of(512) + 1024, 0);
        inspect_tar(&tar)
    }

    fn inspect_tar(tar: &[u8]) -> Vec<String> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("demo-1.0.tar.gz");
        let mut encoder = flate2::write::GzEncoder::new(
            std::fs::File::create(&path).unwrap(),
            flate2::Compression::fast(),
        );
        encoder.write_all(tar).unwrap();
        encoder.finish().unwrap();
        let filename = DistFilename::parse("demo-1.0.tar.gz").unwrap();
        let size = std::fs::metadata(&path).unwrap().len();
        let inspection =
            super::super::sdist::inspect(std::fs::File::open(&path).unwrap(), &filename, size);
        inspection
            .findings
            .into_iter()
            .map(|f| f.render("demo-1.0.tar.gz"))
            .collect()
    }

    #[test]
    fn a_global_pax_header_may_comment_but_not_rename() {
        // `git archive` writes the commit id as a global comment: harmless.
        let commit = "52 comment=0123456789abcdef0123456789abcdef01234567\n";
        assert_eq!(sdist_with_global_header(commit), Vec::<String>::new());
        // A global `path` renames every later member for Python's tarfile only.
        let found = sdist_with_global_header("22 path=demo-1.0/x.py\n");
        assert!(
            found
                .iter()
                .any(|m| m.contains("a PAX global header sets `path`")),
            "{found:#?}"
        );
    }

    #[test]
    fn long_names_end_at_their_first_nul_as_in_python() {
        // Padding NULs after the name: the name Python reads.
        assert_eq!(
            sdist_with_long_name(b"demo-1.0/PKG-INFO\0\0\0\0"),
            Vec::<String>::new()
        );
        // Text hidden after a NUL: tools disagree on the name, so it is refused.
        let found = sdist_with_long_name(b"demo-1.0/PKG-INFO\0../../evil");
        assert!(
            found
                .iter()
                .any(|m| m.contains("a control character in the path")),
            "{found:#?}"
        );
    }
}
