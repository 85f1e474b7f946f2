//! Wheels (<https://packaging.python.org/specifications/binary-distribution-format/>): a zip
//! with one `{name}-{version}.dist-info/` holding METADATA, WHEEL and RECORD, where RECORD
//! lists every member with its hash and size. Every member is streamed once through a fixed
//! buffer and checked against RECORD.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::{BufReader, Read};

use super::archive::{
    Finding, MAX_NAME_BYTES, PYPI_MAX_RATIO, human, pypi_ratio_exceeded, shorten, unsafe_path,
};
use super::filename::has_suffix;
use super::{DistFilename, Inspection};

mod wheel_file;
mod zip_rules;

pub use wheel_file::expand_tags;

/// Core metadata files larger than this are refused (a real one is a few hundred KB at most).
pub const MAX_METADATA_BYTES: u64 = 16 * 1024 * 1024;

pub(super) type Archive = zip::ZipArchive<BufReader<File>>;

/// Check the wheel's structure and read its METADATA. `file` is the opened regular file.
pub fn inspect(file: File, filename: &DistFilename, file_size: u64) -> Inspection {
    let zip = match super::zipframe::inspect(&file, file_size) {
        Ok(zip) => zip,
        Err(problem) => return Inspection::fatal(Finding::error(None, problem)),
    };
    let declared = zip.declared_size();
    if pypi_ratio_exceeded(declared, file_size) {
        return Inspection::fatal(Finding::error(
            None,
            format!(
                "declares {} of content in a file of {}: PyPI refuses a zip unpacking to more than {PYPI_MAX_RATIO} times its size (\"File exceeds compression ratio of {PYPI_MAX_RATIO}\"), a zip bomb; nothing was unpacked",
                human(declared),
                human(file_size)
            ),
        ));
    }
    let mut inspection = Inspection::default();
    zip_rules::check_framing(&zip, &mut inspection);
    // The zip crate reads the central directory again: free ours first (100 000 names are MBs).
    drop(zip);
    let mut archive = match zip::ZipArchive::new(BufReader::with_capacity(64 * 1024, file)) {
        Ok(archive) => archive,
        Err(error) => {
            inspection.push(Finding::error(
                None,
                format!(
                    "not a valid zip archive ({error}); the file is truncated or damaged. Rebuild it, and check the step that copied it (artifact upload/download)"
                ),
            ));
            return inspection;
        }
    };
    let members = list_members(&mut archive, &mut inspection);
    let Some(dist_info) = find_dist_info(filename, &members, &mut inspection) else {
        return inspection;
    };
    let metadata_member = format!("{dist_info}/METADATA");
    inspection.metadata_member.clone_from(&metadata_member);
    inspection.license_root = format!("{dist_info}/licenses/");
    inspection.metadata_text = read_text(&mut archive, &members, &metadata_member, &mut inspection);
    let wheel_member = format!("{dist_info}/WHEEL");
    if let Some(wheel) = read_text(&mut archive, &members, &wheel_member, &mut inspection) {
        wheel_file::check_wheel_file(&wheel, &wheel_member, filename, &mut inspection);
    }
    let entry_points = format!("{dist_info}/entry_points.txt");
    if members.contains_key(&entry_points) {
        if let Some(text) = read_text(&mut archive, &members, &entry_points, &mut inspection) {
            if let Err(problem) = super::entry_points::check(text.as_bytes()) {
                inspection.push(Finding::error(
                    Some(&entry_points),
                    format!(
                        "{problem}; PyPI refuses the wheel (\"invalid entry points defined in the entry_points.txt file\"). Fix `[project.scripts]` / `[project.entry-points]` in pyproject.toml and rebuild"
                    ),
                ));
            }
        }
    }
    let record_member = format!("{dist_info}/RECORD");
    if let Some(record) = read_text(&mut archive, &members, &record_member, &mut inspection) {
        super::record::check(&mut archive, &members, &dist_info, &record, &mut inspection);
    }
    inspection.members = members.into_keys().collect();
    inspection
}

/// Member names (files only) to their index; unsafe and overlong names reported.
fn list_members(archive: &mut Archive, inspection: &mut Inspection) -> BTreeMap<String, usize> {
    let mut members = BTreeMap::new();
    for index in 0..archive.len() {
        let entry = match archive.by_index_raw(index) {
            Ok(entry) => entry,
            Err(error) => {
                inspection.push(Finding::error(
                    None,
                    format!(
                        "member {index} cannot be read ({error}); the zip is damaged, rebuild it"
                    ),
                ));
                continue;
            }
        };
        let name = entry.name();
        if name.len() > MAX_NAME_BYTES {
            inspection.push(Finding::error(
                Some(name),
                format!(
                    "the member name is {} bytes long, more than the {MAX_NAME_BYTES} a file system can unpack; rebuild the wheel",
                    name.len()
                ),
            ));
            continue;
        }
        if let Some(problem) = unsafe_path(name) {
            inspection.push(Finding::error(
                Some(name),
                format!("unsafe member name: {problem}; installers refuse it. Rebuild the wheel"),
            ));
        }
        if !entry.is_dir() {
            members.insert(name.to_owned(), index);
        }
    }
    members
}

/// The one `.dist-info` folder, named `{name}-{version}.dist-info` as in the file name.
fn find_dist_info(
    filename: &DistFilename,
    members: &BTreeMap<String, usize>,
    inspection: &mut Inspection,
) -> Option<String> {
    let expected = format!("{}-{}.dist-info", filename.name, filename.version);
    let expected_data = format!("{}-{}.data", filename.name, filename.version);
    let tops: BTreeSet<&str> = members
        .keys()
        .filter_map(|name| name.split_once('/').map(|(top, _)| top))
        .collect();
    for data in tops.iter().filter(|top| has_suffix(top, ".data")) {
        if *data != expected_data {
            inspection.push(Finding::error(
                Some(&format!("{data}/")),
                format!(
                    "the .data folder must be `{expected_data}/` to match the file name; installers that follow the wheel spec would unpack it as a plain folder. Rebuild the wheel"
                ),
            ));
        }
    }
    let found: Vec<&str> = tops
        .into_iter()
        .filter(|top| has_suffix(top, ".dist-info"))
        .collect();
    match found.as_slice() {
        [] => {
            inspection.push(Finding::error(
                None,
                format!(
                    "no .dist-info folder: expected `{expected}/` with METADATA, WHEEL and RECORD; this is not a wheel. Build it with `python -m build --wheel`"
                ),
            ));
            None
        }
        [one] if *one == expected => Some(expected),
        [one] => {
            inspection.push(Finding::error(
                Some(&format!("{one}/")),
                format!(
                    "the .dist-info folder must be `{expected}/` to match the file name, found `{}/`: PyPI looks for `{expected}/WHEEL` and refuses the wheel. The name or version part of the file name was changed after the build; rebuild it instead of renaming",
                    shorten(one)
                ),
            ));
            Some((*one).to_owned())
        }
        many => {
            inspection.push(Finding::error(
                None,
                format!(
                    "exactly one .dist-info folder is allowed (pip refuses more), found {}: {}; a build directory was reused. Delete `build/` and rebuild from a clean tree",
                    many.len(),
                    shorten(&many.iter().map(|m| format!("`{m}/`")).collect::<Vec<_>>().join(", "))
                ),
            ));
            many.iter()
                .find(|m| **m == expected)
                .map(|m| (*m).to_owned())
        }
    }
}

fn read_text(
    archive: &mut Archive,
    members: &BTreeMap<String, usize>,
    member: &str,
    inspection: &mut Inspection,
) -> Option<String> {
    let Some(&index) = members.get(member) else {
        inspection.push(Finding::error(
            Some(member),
            "missing: every wheel needs METADATA, WHEEL and RECORD in its .dist-info folder, and PyPI refuses it without them; rebuild it",
        ));
        return None;
    };
    let result = archive
        .by_index(index)
        .map_err(|error| format!("cannot read it ({error})"))
        .and_then(|entry| read_limited(entry).map_err(str::to_owned));
    match result {
        Ok(text) => Some(text),
        Err(problem) => {
            inspection.push(Finding::error(Some(member), problem));
            None
        }
    }
}

/// Read a small text member, refusing anything larger than [`MAX_METADATA_BYTES`].
pub(crate) fn read_limited(reader: impl Read) -> Result<String, &'static str> {
    let mut bytes = Vec::new();
    reader
        .take(MAX_METADATA_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|_| "cannot be read: the archive is damaged, rebuild it")?;
    if bytes.len() as u64 > MAX_METADATA_BYTES {
        return Err("is larger than 16 MiB; that is not core metadata");
    }
    String::from_utf8(bytes).map_err(|_| "is not UTF-8; core metadata must be UTF-8")
}

#[cfg(test)]
mod tests {
    use super::super::archive::MAX_ENTRIES;
    use super::*;

    #[test]
    fn too_many_members_is_an_error_before_anything_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("demo-1.0-py3-none-any.whl");
        let mut writer = zip::ZipWriter::new(File::create(&path).unwrap());
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored);
        for index in 0..=MAX_ENTRIES {
            writer.start_file(format!("d/{index}"), options).unwrap();
        }
        writer.finish().unwrap();
        let filename = DistFilename::parse("demo-1.0-py3-none-any.whl").unwrap();
        let size = std::fs::metadata(&path).unwrap().len();
        let inspection = inspect(File::open(&path).unwrap(), &filename, size);
        assert_eq!(inspection.findings.len(), 1, "{:?}", inspection.findings);
        assert!(
            inspection.findings[0]
                .message
                .starts_with("declares 100001 members, more than the 100000"),
            "{:?}",
            inspection.findings
        );
        assert!(inspection.metadata_text.is_none());
    }

    /// A wheel of `members` with a RECORD listing them (sha256), plus `extra_rows`.
    fn wheel(members: &[(&str, &[u8])], extra_rows: &str) -> Inspection {
        use base64::Engine as _;
        use sha2::Digest as _;
        use std::io::Write as _;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("demo-1.0-py3-none-any.whl");
        let mut writer = zip::ZipWriter::new(File::create(&path).unwrap());
        let options = zip::write::SimpleFileOptions::default();
        let mut record = String::from(extra_rows);
        for (name, data) in members {
            if name.ends_with('/') {
                writer.add_directory(*name, options).unwrap();
                continue;
            }
            writer.start_file(*name, options).unwrap();
            writer.write_all(data).unwrap();
            let digest =
                base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(data));
            record.push_str(&format!("{name},sha256={digest},{}\n", data.len()));
        }
        record.push_str("demo-1.0.dist-info/RECORD,,\n");
        writer
            .start_file("demo-1.0.dist-info/RECORD", options)
            .unwrap();
        writer.write_all(record.as_bytes()).unwrap();
        writer.finish().unwrap();
        let filename = DistFilename::parse("demo-1.0-py3-none-any.whl").unwrap();
        let size = std::fs::metadata(&path).unwrap().len();
        inspect(File::open(&path).unwrap(), &filename, size)
    }

    #[test]
    fn record_rows_for_folders_are_ignored_as_pypi_ignores_them() {
        let members: [(&str, &[u8]); 4] = [
            ("demo/", b""),
            ("demo/__init__.py", b"x = 1\n"),
            (
                "demo-1.0.dist-info/METADATA",
                b"Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n",
            ),
            (
                "demo-1.0.dist-info/WHEEL",
                b"Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
            ),
        ];
        assert_eq!(wheel(&members, "demo/,,\n").findings, vec![]);
        // A file row without its member is still an error.
        let findings = wheel(&members, "demo/gone.py,,\n").findings;
        assert_eq!(findings.len(), 1, "{findings:?}");
        assert!(
            findings[0]
                .message
                .contains("lists `demo/gone.py`, but the wheel has no such member")
        );
    }
}
