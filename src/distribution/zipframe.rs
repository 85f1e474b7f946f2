//! ZIP framing as `PyPI` checks it: Warehouse's walk of every record from the first byte
//! (`utils/zipfiles.py`) against the central directory Python reads ([`super::zipdir`]):
//! local headers that agree with it, no member without both, no data descriptors, no member
//! comments, no trailing data; and no file that is a tar as well. Headers only: the member
//! data is skipped, never read, so the walk costs a few reads per member.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};

use super::zipdir::{
    CENTRAL, END, END64, END64_LOCATOR, ZIP64_EXTRA, damaged, io_error, read_array, u16_at, u32_at,
    u64_at,
};
pub use super::zipdir::{Record, looks_like_zip};

const LOCAL: [u8; 4] = *b"PK\x03\x04";
const UNICODE_PATH_EXTRA: u16 = 0x7075;
const FLAG_DATA_DESCRIPTOR: u16 = 0x0008;

/// What the framing checks found in one zip.
#[derive(Debug)]
pub struct Zip {
    /// Every central directory record, duplicates included (Python's `infolist()`).
    pub records: Vec<Record>,
    /// The first framing problem Warehouse's walk stops at, in its words.
    pub framing: Option<String>,
    /// The first 512 bytes also read as a tar header: Warehouse refuses such a polyglot.
    pub also_a_tar: bool,
}

impl Zip {
    /// Uncompressed sizes of all records, as Warehouse sums them for its ratio rule.
    #[must_use]
    pub fn declared_size(&self) -> u64 {
        self.records
            .iter()
            .fold(0_u64, |total, record| total.saturating_add(record.size))
    }
}

/// Read the central directory, then walk the file. `Err` (the whole message) when the file is
/// not a zip at all, or breaks one of our limits: then nothing more is read.
pub fn inspect(file: &File, file_size: u64) -> Result<Zip, String> {
    let mut reader = BufReader::with_capacity(64 * 1024, file);
    let records = super::zipdir::read(&mut reader, file_size)?;
    let framing = walk(&mut reader, file_size, &records).err();
    let also_a_tar = is_tar_header(&mut reader).map_err(|problem| damaged(&problem))?;
    Ok(Zip {
        records,
        framing,
        also_a_tar,
    })
}

/// Warehouse's `_validate_zipfile`: every record from byte 0 to the end, in order. Members are
/// tracked by their index in `records` (the last record of a name, as Python's dict keeps
/// it), so no name is copied.
fn walk(reader: &mut BufReader<&File>, file_size: u64, records: &[Record]) -> Result<(), String> {
    let index_of: HashMap<&[u8], usize> = records
        .iter()
        .enumerate()
        .map(|(index, record)| (record.raw_name.as_slice(), index))
        .collect();
    reader.seek(SeekFrom::Start(0)).map_err(|e| io_error(&e))?;
    let mut position: u64 = 0;
    let mut local_seen = vec![false; records.len()];
    let mut central_seen = vec![false; records.len()];
    let (mut end64_seen, mut locator_seen) = (false, false);
    let (mut central_count, mut central_start, mut central_size) = (0_u64, None, 0_u64);
    let mut expected: Option<(u64, u64, u64)> = None;
    let malformed = || "Malformed zip file".to_owned();
    loop {
        let signature: [u8; 4] = read_array(reader, &mut position).ok_or_else(malformed)?;
        if signature == END && end64_seen && !locator_seen {
            return Err(malformed());
        }
        match signature {
            CENTRAL => {
                central_start.get_or_insert(position - 4);
                central_count += 1;
                let header: [u8; 42] = read_array(reader, &mut position).ok_or_else(malformed)?;
                let (name_length, extra_length) = (u16_at(&header, 24), u16_at(&header, 26));
                if u16_at(&header, 28) != 0 {
                    return Err("Comment in central directory".into());
                }
                let name = read_vec(reader, &mut position, name_length).ok_or_else(malformed)?;
                skip(reader, &mut position, u64::from(extra_length)).ok_or_else(malformed)?;
                if unprintable(&name) {
                    return Err("Invalid character in filename".into());
                }
                central_size += 46 + u64::from(name_length) + u64::from(extra_length);
                let index = index_of.get(name.as_slice()).copied();
                if index.is_some_and(|index| central_seen[index]) {
                    return Err("Duplicate filename in central directory".into());
                }
                let Some(index) = index.filter(|&index| local_seen[index]) else {
                    return Err("Missing filename in local headers".into());
                };
                central_seen[index] = true;
            }
            LOCAL => {
                let start = position - 4;
                let index = local_header(reader, &mut position, records, &index_of)?;
                if std::mem::replace(&mut local_seen[index], true) {
                    return Err("Duplicate filename in local headers".into());
                }
                // Not in Warehouse's walk, but its reads (`zfp.read`) refuse a member whose
                // record points at another member's header: installers would disagree.
                if records[index].offset != start {
                    return Err(format!(
                        "the central directory places `{}` at another offset than its local header",
                        records[index].shown_name()
                    ));
                }
            }
            END => {
                central_start.get_or_insert(position - 4);
                let body: [u8; 18] = read_array(reader, &mut position).ok_or_else(malformed)?;
                if u16_at(&body, 4) != u16_at(&body, 6) {
                    return Err(malformed());
                }
                skip(reader, &mut position, u64::from(u16_at(&body, 16))).ok_or_else(malformed)?;
                if !(locator_seen && expected.is_some()) {
                    expected = Some((
                        u64::from(u16_at(&body, 6)),
                        u64::from(u32_at(&body, 8)),
                        u64::from(u32_at(&body, 12)),
                    ));
                }
                let (count, size, offset) = expected.unwrap_or_default();
                if count != central_count {
                    return Err("Mismatched central directory records".into());
                }
                if central_start != Some(offset) {
                    return Err("Mismatched central directory offset".into());
                }
                if size != central_size {
                    return Err("Mismatched central directory size".into());
                }
                break;
            }
            END64 => {
                end64_seen = true;
                let body: [u8; 52] = read_array(reader, &mut position).ok_or_else(malformed)?;
                if u64_at(&body, 20) != u64_at(&body, 28) {
                    return Err(malformed());
                }
                if u64_at(&body, 0) != 44 {
                    return Err("ZIP64 extensible data not allowed".into());
                }
                expected = Some((u64_at(&body, 28), u64_at(&body, 36), u64_at(&body, 44)));
            }
            END64_LOCATOR => {
                read_array::<16>(reader, &mut position).ok_or_else(malformed)?;
                locator_seen = true;
            }
            _ => return Err("Unknown record signature".into()),
        }
    }
    if local_seen != central_seen {
        return Err("Mis-matched local headers and central directory".into());
    }
    if position != file_size {
        return Err("Trailing data".into());
    }
    Ok(())
}

/// Warehouse's `_handle_local_file_header`: the name, the extras (zip64 sizes, Unicode path),
/// no data descriptor, sizes equal to the central directory's. Skips the data.
fn local_header(
    reader: &mut BufReader<&File>,
    position: &mut u64,
    records: &[Record],
    index_of: &HashMap<&[u8], usize>,
) -> Result<usize, String> {
    let malformed = || "Malformed zip file".to_owned();
    let header: [u8; 26] = read_array(reader, position).ok_or_else(malformed)?;
    let (flags, method) = (u16_at(&header, 2), u16_at(&header, 4));
    let mut compressed = u64::from(u32_at(&header, 14));
    let mut size = u64::from(u32_at(&header, 18));
    let name = read_vec(reader, position, u16_at(&header, 22)).ok_or_else(malformed)?;
    let extra = read_vec(reader, position, u16_at(&header, 24)).ok_or_else(malformed)?;
    if unprintable(&name) {
        return Err("Invalid character in filename".into());
    }
    let mut seen = HashSet::new();
    let mut rest = extra.as_slice();
    while !rest.is_empty() {
        if rest.len() < 4 {
            return Err(malformed());
        }
        let (id, length) = (u16_at(rest, 0), usize::from(u16_at(rest, 2)));
        let data = rest.get(4..4 + length).ok_or_else(malformed)?;
        if !seen.insert(id) && matches!(id, ZIP64_EXTRA | UNICODE_PATH_EXTRA) {
            return Err("Invalid duplicate extra in local file".into());
        }
        if id == ZIP64_EXTRA {
            match length {
                0 if compressed == u64::from(u32::MAX) || size == u64::from(u32::MAX) => {
                    return Err(malformed());
                }
                0 => {}
                8 => {
                    if method != 0 {
                        return Err(malformed());
                    }
                    compressed = u64_at(data, 0);
                    if size == u64::from(u32::MAX) {
                        size = compressed;
                    }
                }
                16 | 24 | 28 => {
                    if size == u64::from(u32::MAX) {
                        size = u64_at(data, 0);
                    }
                    compressed = u64_at(data, 8);
                }
                _ => return Err(malformed()),
            }
        } else if id == UNICODE_PATH_EXTRA {
            let unicode = data.get(5..).unwrap_or_default();
            if unprintable(unicode) {
                return Err("Invalid character in filename".into());
            }
            if std::str::from_utf8(unicode).is_err() {
                return Err("Filename not valid UTF-8".into());
            }
        }
        rest = &rest[4 + length..];
    }
    if flags & FLAG_DATA_DESCRIPTOR != 0 {
        return Err("ZIP contains a data descriptor".into());
    }
    std::str::from_utf8(&name).map_err(|_| "Filename not unicode".to_owned())?;
    // Python keys its sizes by the decoded name: a record decoded as cp437 matches nothing.
    let index = index_of
        .get(name.as_slice())
        .copied()
        .filter(|&index| records[index].decodes_like_local)
        .ok_or_else(|| "Filename not in central directory".to_owned())?;
    if records[index].compressed != compressed {
        return Err("Mis-matched data size".into());
    }
    if records[index].size != size {
        return Err("Mis-matched file size".into());
    }
    skip(reader, position, compressed).ok_or_else(malformed)?;
    Ok(index)
}

fn unprintable(name: &[u8]) -> bool {
    name.iter().any(|byte| *byte < 0x20 || *byte == 0x7f)
}

fn read_vec(reader: &mut BufReader<&File>, position: &mut u64, length: u16) -> Option<Vec<u8>> {
    let mut bytes = vec![0_u8; usize::from(length)];
    reader.read_exact(&mut bytes).ok()?;
    *position += u64::from(length);
    Some(bytes)
}

/// Skip `length` bytes; `None` when that passes the end of the file (the next read would fail).
fn skip(reader: &mut BufReader<&File>, position: &mut u64, length: u64) -> Option<()> {
    let offset = i64::try_from(length).ok()?;
    reader.seek_relative(offset).ok()?;
    *position += length;
    Some(())
}

/// Python's `tarfile.is_tarfile` on a zip: the first 512 bytes make a tar header whose
/// checksum holds (counted with unsigned or signed bytes, the field itself as spaces).
fn is_tar_header(reader: &mut BufReader<&File>) -> Result<bool, String> {
    reader.seek(SeekFrom::Start(0)).map_err(|e| io_error(&e))?;
    let mut block = [0_u8; 512];
    if reader.read_exact(&mut block).is_err() || block.iter().all(|byte| *byte == 0) {
        return Ok(false);
    }
    let Some(stored) = tar_number(&block[148..156]) else {
        return Ok(false);
    };
    let outside = block[..148].iter().chain(&block[156..]);
    let unsigned: i64 = 256 + outside.clone().map(|byte| i64::from(*byte)).sum::<i64>();
    let signed: i64 = 256
        + outside
            .map(|byte| i64::from(i8::from_ne_bytes([*byte])))
            .sum::<i64>();
    Ok(stored == unsigned || stored == signed)
}

/// Python's `tarfile.nti` for the checksum field: NUL-terminated octal text, surrounding
/// whitespace ignored (`int(text.strip() or "0", 8)`), or base-256.
fn tar_number(field: &[u8]) -> Option<i64> {
    if field[0] == 0o200 || field[0] == 0o377 {
        let magnitude = field[1..]
            .iter()
            .fold(0_i64, |value, byte| (value << 8) | i64::from(*byte));
        return Some(if field[0] == 0o377 {
            magnitude - (1_i64 << (8 * (field.len() - 1)))
        } else {
            magnitude
        });
    }
    let text = field.split(|byte| *byte == 0).next().unwrap_or_default();
    let text = std::str::from_utf8(text).ok()?;
    if !text.is_ascii() {
        return None;
    }
    let text = text
        .trim_matches(|c: char| c.is_ascii_whitespace() || matches!(c, '\x0b' | '\x1c'..='\x1f'));
    let (negative, digits) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let digits = digits
        .strip_prefix("0o")
        .or_else(|| digits.strip_prefix("0O"))
        .unwrap_or(digits);
    if digits.is_empty() {
        return (text.is_empty()).then_some(0);
    }
    if digits.starts_with('_') || digits.ends_with('_') || digits.contains("__") {
        return None;
    }
    let value = i64::from_str_radix(&digits.replace('_', ""), 8).ok()?;
    Some(if negative { -value } else { value })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write as _;

    fn zip_with(options: zip::write::SimpleFileOptions) -> tempfile::NamedTempFile {
        let file = tempfile::NamedTempFile::new().unwrap();
        let mut writer = zip::ZipWriter::new(file.reopen().unwrap());
        for name in ["pkg/__init__.py", "pkg-1.0.dist-info/METADATA"] {
            writer.start_file(name, options).unwrap();
            writer.write_all(b"x = 1\n").unwrap();
        }
        writer.finish().unwrap();
        file
    }

    fn inspect_file(file: &tempfile::NamedTempFile) -> Zip {
        let opened = file.reopen().unwrap();
        let size = opened.metadata().unwrap().len();
        inspect(&opened, size).unwrap()
    }

    #[test]
    fn plain_and_zip64_zips_pass_the_walk() {
        let plain = zip_with(zip::write::SimpleFileOptions::default());
        let zip = inspect_file(&plain);
        assert_eq!((zip.framing.as_deref(), zip.also_a_tar), (None, false));
        assert_eq!(zip.records.len(), 2);
        assert_eq!(zip.declared_size(), 12);
        // zip64 extras in the local headers and the central directory, as Warehouse reads them.
        let zip64 = zip_with(zip::write::SimpleFileOptions::default().large_file(true));
        assert_eq!(inspect_file(&zip64).framing, None);
    }

    #[test]
    fn a_tar_header_is_recognised_as_python_recognises_it() {
        let mut header = tar::Header::new_gnu();
        header.set_path("pkg/a.py").unwrap();
        header.set_size(0);
        header.set_cksum();
        let mut file = tempfile::NamedTempFile::new().unwrap();
        file.write_all(header.as_bytes()).unwrap();
        let opened = file.reopen().unwrap();
        assert!(is_tar_header(&mut BufReader::new(&opened)).unwrap());
        let zip = zip_with(zip::write::SimpleFileOptions::default());
        assert!(!inspect_file(&zip).also_a_tar);
        // The checksum field as Python's `nti` reads it.
        assert_eq!(tar_number(b"0001234\0"), Some(0o1234));
        assert_eq!(tar_number(b"  1234 \0"), Some(0o1234));
        assert_eq!(tar_number(b"\0\0\0\0\0\0\0\0"), Some(0));
        assert_eq!(tar_number(b"12x4\0\0\0\0"), None);
        assert_eq!(tar_number(&[0o200, 0, 0, 0, 0, 0, 1, 0]), Some(256));
    }
}
