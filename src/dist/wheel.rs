//! Wheels (<https://packaging.python.org/specifications/binary-distribution-format/>): a zip
//! with one `{name}-{version}.dist-info/` holding METADATA, WHEEL and RECORD, where RECORD
//! lists every member with its hash and size. Every member is streamed once through a fixed
//! buffer and checked against RECORD.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use super::archive::{Finding, MAX_ENTRIES, exceeds_ratio, human, unsafe_path};
use super::filename::has_suffix;
use super::{DistError, DistFilename, Inspection};

/// Core metadata files larger than this are refused (a real one is a few hundred KB at most).
pub const MAX_METADATA_BYTES: u64 = 16 * 1024 * 1024;

pub(super) type Archive = zip::ZipArchive<BufReader<File>>;

/// Check the wheel's structure and read its METADATA.
pub fn inspect(
    path: &Path,
    filename: &DistFilename,
    file_size: u64,
) -> Result<Inspection, DistError> {
    let file = File::open(path).map_err(|error| DistError::io(path, error))?;
    let mut archive = match zip::ZipArchive::new(BufReader::with_capacity(64 * 1024, file)) {
        Ok(archive) => archive,
        Err(error) => {
            return Ok(Inspection::fatal(Finding::error(
                None,
                format!(
                    "not a valid zip archive ({error}); the file is truncated or damaged. Rebuild it, and check the step that copied it (artifact upload/download)"
                ),
            )));
        }
    };
    let mut inspection = Inspection::default();
    if archive.len() > MAX_ENTRIES {
        return Ok(Inspection::fatal(Finding::error(
            None,
            format!(
                "holds {} members, more than the {MAX_ENTRIES} this tool accepts; that is not a real wheel",
                archive.len()
            ),
        )));
    }
    if let Some(declared) = central_directory_entries(path, file_size) {
        if declared != archive.len() as u64 {
            inspection.push(Finding::error(
                None,
                format!(
                    "the central directory declares {declared} members but only {} distinct names: some member names appear twice, and installers may unpack a different copy than the one checked. Rebuild the wheel",
                    archive.len()
                ),
            ));
        }
    }
    let members = list_members(&mut archive, file_size, &mut inspection);
    if inspection.has_errors() && members.is_empty() {
        return Ok(inspection);
    }
    let Some(dist_info) = find_dist_info(filename, &members, &mut inspection) else {
        return Ok(inspection);
    };
    let metadata_member = format!("{dist_info}/METADATA");
    inspection.metadata_member.clone_from(&metadata_member);
    inspection.license_root = format!("{dist_info}/licenses/");
    inspection.metadata_text = read_text(&mut archive, &members, &metadata_member, &mut inspection);
    if let Some(wheel) = read_text(
        &mut archive,
        &members,
        &format!("{dist_info}/WHEEL"),
        &mut inspection,
    ) {
        check_wheel_file(
            &wheel,
            &format!("{dist_info}/WHEEL"),
            filename,
            &mut inspection,
        );
    }
    let record_member = format!("{dist_info}/RECORD");
    if let Some(record) = read_text(&mut archive, &members, &record_member, &mut inspection) {
        super::record::check(&mut archive, &members, &dist_info, &record, &mut inspection);
    }
    inspection.members = members.into_keys().collect();
    Ok(inspection)
}

/// The entry count the end-of-central-directory record declares (zip64 aware); the zip crate
/// keeps one entry per name, so a smaller count there means duplicate names.
fn central_directory_entries(path: &Path, file_size: u64) -> Option<u64> {
    use std::io::{Seek as _, SeekFrom};
    const EOCD: &[u8] = b"PK\x05\x06";
    const ZIP64_LOCATOR: &[u8] = b"PK\x06\x07";
    let mut file = File::open(path).ok()?;
    let tail_length = file_size.min(22 + 65_535 + 20);
    file.seek(SeekFrom::Start(file_size - tail_length)).ok()?;
    let mut tail = Vec::new();
    (&mut file).take(tail_length).read_to_end(&mut tail).ok()?;
    let at = tail.windows(4).rposition(|window| window == EOCD)?;
    let record = tail.get(at..at + 22)?;
    let count = u16::from_le_bytes([record[10], record[11]]);
    if count != u16::MAX {
        return Some(u64::from(count));
    }
    let locator = tail.get(at.checked_sub(20)?..at)?;
    if &locator[..4] != ZIP64_LOCATOR {
        return None;
    }
    let offset = u64::from_le_bytes(locator[8..16].try_into().ok()?);
    file.seek(SeekFrom::Start(offset.checked_add(32)?)).ok()?;
    let mut entries = [0_u8; 8];
    file.read_exact(&mut entries).ok()?;
    Some(u64::from_le_bytes(entries))
}

/// Member names (files only) to their index; unsafe names, odd compression and bombs reported.
fn list_members(
    archive: &mut Archive,
    file_size: u64,
    inspection: &mut Inspection,
) -> BTreeMap<String, usize> {
    let mut members = BTreeMap::new();
    let mut declared: u64 = 0;
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
        let name = entry.name().to_owned();
        declared = declared.saturating_add(entry.size());
        if let Some(problem) = unsafe_path(&name) {
            inspection.push(Finding::error(
                Some(&name),
                format!("unsafe member name: {problem}; installers refuse it. Rebuild the wheel"),
            ));
        }
        if !matches!(
            entry.compression(),
            zip::CompressionMethod::Stored | zip::CompressionMethod::Deflated
        ) {
            inspection.push(Finding::error(
                Some(&name),
                format!(
                    "compressed with {:?}; PyPI accepts only stored and deflate members",
                    entry.compression()
                ),
            ));
        }
        if !entry.is_dir() {
            members.insert(name, index);
        }
    }
    if exceeds_ratio(declared, file_size) {
        inspection.push(Finding::error(
            None,
            format!(
                "declares {} of content in an archive of {}: a compression ratio over {} is a zip bomb and PyPI refuses it; nothing was unpacked",
                human(declared),
                human(file_size),
                super::archive::MAX_RATIO
            ),
        ));
        return BTreeMap::new();
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
                format!("the .data folder must be `{expected_data}/` to match the file name"),
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
                    "the .dist-info folder must be `{expected}/` to match the file name, found `{one}/`; the wheel was renamed after the build. Rebuild it instead of renaming"
                ),
            ));
            Some((*one).to_owned())
        }
        many => {
            inspection.push(Finding::error(
                None,
                format!(
                    "exactly one .dist-info folder is allowed, found {}: {}; a build directory was reused. Delete `build/` and rebuild from a clean tree",
                    many.len(),
                    many.iter().map(|m| format!("`{m}/`")).collect::<Vec<_>>().join(", ")
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
            "missing: every wheel needs METADATA, WHEEL and RECORD in its .dist-info folder; rebuild it",
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

/// `WHEEL`: `Wheel-Version` 1.x, `Root-Is-Purelib`, tags and build equal to the file name's.
fn check_wheel_file(
    text: &str,
    member: &str,
    filename: &DistFilename,
    inspection: &mut Inspection,
) {
    let Ok(wheel) = super::CoreMetadata::parse(text) else {
        inspection.push(Finding::error(
            Some(member),
            "is not a `Key: value` file; rebuild the wheel",
        ));
        return;
    };
    match wheel.get("Wheel-Version") {
        None => inspection.push(Finding::error(
            Some(member),
            "has no Wheel-Version; rebuild the wheel",
        )),
        Some(version) if version.split('.').next() != Some("1") => inspection.push(Finding::error(
            Some(member),
            format!(
                "Wheel-Version is `{version}`, expected 1.x; installers refuse other major versions"
            ),
        )),
        Some(_) => {}
    }
    match wheel.get("Root-Is-Purelib") {
        None => inspection.push(Finding::error(
            Some(member),
            "has no Root-Is-Purelib; rebuild the wheel",
        )),
        Some(value) if !matches!(value.to_ascii_lowercase().as_str(), "true" | "false") => {
            inspection.push(Finding::error(
                Some(member),
                format!("Root-Is-Purelib is `{value}`, expected true or false"),
            ));
        }
        Some(_) => {}
    }
    let expected = expand_tags(filename);
    // Expanded on both sides: some builders (maturin) write compressed sets in Tag lines too.
    let found: BTreeSet<String> = wheel
        .get_all("Tag")
        .flat_map(|tag| {
            let mut parts = tag.splitn(3, '-');
            let (python, abi, platform) = (
                parts.next().unwrap_or_default(),
                parts.next().unwrap_or_default(),
                parts.next().unwrap_or_default(),
            );
            expand(python, abi, platform)
        })
        .collect();
    if found != expected {
        inspection.push(Finding::error(
            Some(member),
            format!(
                "its Tag lines ({}) do not match the file name's tags ({}); the wheel was renamed after the build. Retag it with `wheel tags` instead of renaming",
                list_or_none(&found),
                list_or_none(&expected)
            ),
        ));
    }
    match (wheel.get("Build"), filename.build_tag.as_deref()) {
        (Some(inside), Some(outside)) if inside != outside => inspection.push(Finding::error(
            Some(member),
            format!("Build is `{inside}` but the file name's build tag is `{outside}`"),
        )),
        (Some(inside), None) => inspection.push(Finding::error(
            Some(member),
            format!("Build is `{inside}` but the file name has no build tag"),
        )),
        _ => {}
    }
}

fn list_or_none(tags: &BTreeSet<String>) -> String {
    if tags.is_empty() {
        "none".to_owned()
    } else {
        tags.iter().cloned().collect::<Vec<_>>().join(", ")
    }
}

/// The file name's compressed tag sets expanded: `py2.py3-none-any` -> py2-none-any, py3-none-any.
#[must_use]
pub fn expand_tags(filename: &DistFilename) -> BTreeSet<String> {
    expand(
        filename.python_tag.as_deref().unwrap_or_default(),
        filename.abi_tag.as_deref().unwrap_or_default(),
        filename.platform_tag.as_deref().unwrap_or_default(),
    )
}

fn expand(python: &str, abi: &str, platform: &str) -> BTreeSet<String> {
    let mut tags = BTreeSet::new();
    for python in python.split('.') {
        for abi in abi.split('.') {
            for platform in platform.split('.') {
                tags.insert(format!("{python}-{abi}-{platform}"));
            }
        }
    }
    tags
}

#[cfg(test)]
mod tests {
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
        let inspection = inspect(&path, &filename, size).unwrap();
        assert_eq!(inspection.findings.len(), 1, "{:?}", inspection.findings);
        assert!(
            inspection.findings[0]
                .message
                .starts_with("holds 100001 members, more than the 100000"),
            "{:?}",
            inspection.findings
        );
        assert!(inspection.metadata_text.is_none());
    }

    #[test]
    fn wheel_file_tags_compare_expanded() {
        let filename = DistFilename::parse(
            "demo-1.0-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
        )
        .unwrap();
        let check = |text: &str| {
            let mut inspection = Inspection::default();
            check_wheel_file(text, "demo-1.0.dist-info/WHEEL", &filename, &mut inspection);
            inspection.findings
        };
        // maturin writes the compressed set in one Tag line; setuptools one line per tag.
        let compressed = "Wheel-Version: 1.0\nRoot-Is-Purelib: false\nTag: cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64\n";
        assert_eq!(check(compressed), vec![]);
        let expanded = "Wheel-Version: 1.0\nRoot-Is-Purelib: false\nTag: cp311-cp311-manylinux_2_17_x86_64\nTag: cp311-cp311-manylinux2014_x86_64\n";
        assert_eq!(check(expanded), vec![]);
        let renamed = "Wheel-Version: 2.0\nTag: py3-none-any\n";
        let messages: Vec<String> = check(renamed).into_iter().map(|f| f.message).collect();
        assert_eq!(messages.len(), 3, "{messages:#?}");
        assert!(messages[0].contains("Wheel-Version is `2.0`"));
        assert!(messages[1].contains("no Root-Is-Purelib"));
        assert!(messages[2].contains("(py3-none-any) do not match"));
    }

    #[test]
    fn tags_expand() {
        let filename = DistFilename::parse("demo-1.0-py2.py3-none-any.whl").unwrap();
        assert_eq!(
            expand_tags(&filename).into_iter().collect::<Vec<_>>(),
            ["py2-none-any", "py3-none-any"]
        );
    }
}
