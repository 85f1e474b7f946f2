//! ZIP framing as `PyPI` reads it (APPNOTE.TXT): the end record and central directory found
//! the way Python's `zipfile` finds them, then Warehouse's walk of every record from the first
//! byte (`utils/zipfiles.py`): local headers that agree with the central directory, no member
//! without both, no data descriptors, no member comments, no trailing data. Headers only: the
//! member data is skipped, never read, so the walk costs a few reads per member.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};

use super::archive::{MAX_DIRECTORY_BYTES, MAX_ENTRIES, human, shorten};

const CENTRAL: [u8; 4] = *b"PK\x01\x02";
const LOCAL: [u8; 4] = *b"PK\x03\x04";
const END: [u8; 4] = *b"PK\x05\x06";
const END64: [u8; 4] = *b"PK\x06\x06";
const END64_LOCATOR: [u8; 4] = *b"PK\x06\x07";
const ZIP64_EXTRA: u16 = 0x0001;
const UNICODE_PATH_EXTRA: u16 = 0x7075;
const FLAG_DATA_DESCRIPTOR: u16 = 0x0008;
const FLAG_UTF8: u16 = 0x0800;
/// Python's `zipfile` refuses records needing a newer "version needed to extract".
const MAX_EXTRACT_VERSION: u16 = 63;

/// One central directory record, as Python's `zipfile` reads it.
#[derive(Debug)]
pub struct Record {
    /// The name as `zipfile` decodes it (`orig_filename`); `None` for a non-ASCII name
    /// without the UTF-8 flag, which no local header can match.
    pub name: Option<String>,
    raw_name: Vec<u8>,
    pub method: u16,
    pub compressed: u64,
    pub size: u64,
    offset: u64,
}

impl Record {
    /// The name as stored.
    #[must_use]
    pub fn raw_name(&self) -> &[u8] {
        &self.raw_name
    }

    /// The name for messages.
    #[must_use]
    pub fn shown_name(&self) -> String {
        shorten(&String::from_utf8_lossy(&self.raw_name)).into_owned()
    }
}

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

/// Read the end record and central directory, then walk the file. `Err` (the whole message)
/// when the file is not a zip at all, or breaks one of our limits: then nothing more is read.
pub fn inspect(file: &File, file_size: u64) -> Result<Zip, String> {
    let mut reader = BufReader::with_capacity(64 * 1024, file);
    let end = find_end(&mut reader, file_size)
        .map_err(|problem| damaged(&problem))?
        .ok_or_else(|| damaged("no end of central directory record"))?;
    if end.entries > MAX_ENTRIES as u64 {
        return Err(format!(
            "declares {} members, more than the {MAX_ENTRIES} this tool accepts; that is not a real wheel",
            end.entries
        ));
    }
    if end.directory_size > MAX_DIRECTORY_BYTES {
        return Err(format!(
            "its central directory is {}, more than the {} this tool reads; that is not a real wheel",
            human(end.directory_size),
            human(MAX_DIRECTORY_BYTES)
        ));
    }
    let records = read_directory(&mut reader, &end).map_err(|problem| damaged(&problem))?;
    let framing = walk(&mut reader, file_size, &records).err();
    let also_a_tar = is_tar_header(&mut reader).map_err(|problem| damaged(&problem))?;
    Ok(Zip {
        records,
        framing,
        also_a_tar,
    })
}

/// Whether Python's `zipfile.is_zipfile` says yes: an end record in the last 64 KiB.
pub fn looks_like_zip(file: &File, file_size: u64) -> bool {
    let mut reader = BufReader::new(file);
    matches!(find_end(&mut reader, file_size), Ok(Some(_)) | Err(_))
}

fn damaged(problem: &str) -> String {
    format!(
        "not a valid zip archive ({problem}); the file is truncated or damaged. Rebuild it, and check the step that copied it (artifact upload/download)"
    )
}

struct End {
    entries: u64,
    directory_size: u64,
    directory_start: u64,
}

fn io_error(error: &std::io::Error) -> String {
    format!("read error: {error}")
}

fn u16_at(bytes: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([bytes[at], bytes[at + 1]])
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
}

fn u64_at(bytes: &[u8], at: usize) -> u64 {
    let mut word = [0_u8; 8];
    word.copy_from_slice(&bytes[at..at + 8]);
    u64::from_le_bytes(word)
}

/// Python's `_EndRecData` and `_EndRecData64`: the end record at the very end, or the last
/// one in the final 64 KiB (an archive comment may follow it); its zip64 form if present.
fn find_end(reader: &mut BufReader<&File>, file_size: u64) -> Result<Option<End>, String> {
    const END_SIZE: u64 = 22;
    if file_size < END_SIZE {
        return Ok(None);
    }
    let tail_start = file_size.saturating_sub(65_535 + END_SIZE);
    reader
        .seek(SeekFrom::Start(tail_start))
        .map_err(|e| io_error(&e))?;
    let mut tail = Vec::new();
    reader
        .take(file_size - tail_start)
        .read_to_end(&mut tail)
        .map_err(|e| io_error(&e))?;
    let last = &tail[tail.len() - 22..];
    let at = if last.starts_with(&END) && last[20..] == [0, 0] {
        tail.len() - 22
    } else {
        match tail.windows(4).rposition(|window| window == END) {
            Some(at) if at + 22 <= tail.len() => at,
            _ => return Ok(None),
        }
    };
    let record = &tail[at..at + 22];
    let location = tail_start + at as u64;
    let mut end = End {
        entries: u64::from(u16_at(record, 10)),
        directory_size: u64::from(u32_at(record, 12)),
        directory_start: 0,
    };
    let mut directory_offset = u64::from(u32_at(record, 16));
    let mut concat_adjust = 0;
    // The zip64 locator sits just before the end record, the zip64 end record before it.
    if let Some(locator) = read_at::<20>(reader, location.checked_sub(20))? {
        if locator.starts_with(&END64_LOCATOR) {
            if u32_at(&locator, 4) != 0 || u32_at(&locator, 16) > 1 {
                return Err("it spans several disks".to_owned());
            }
            if let Some(end64) = read_at::<56>(reader, location.checked_sub(20 + 56))? {
                if end64.starts_with(&END64) {
                    end.entries = u64_at(&end64, 32);
                    end.directory_size = u64_at(&end64, 40);
                    directory_offset = u64_at(&end64, 48);
                    concat_adjust = 56 + 20;
                }
            }
        }
    }
    // Python allows data before the archive ("concat"); the walk below refuses it.
    let concat = location
        .checked_sub(end.directory_size)
        .and_then(|rest| rest.checked_sub(directory_offset))
        .and_then(|rest| rest.checked_sub(concat_adjust))
        .ok_or("the end record points outside the file")?;
    end.directory_start = directory_offset + concat;
    Ok(Some(end))
}

/// `N` bytes at `at` (`None` when `at` is before the start or the file ends first).
fn read_at<const N: usize>(
    reader: &mut BufReader<&File>,
    at: Option<u64>,
) -> Result<Option<[u8; N]>, String> {
    let Some(at) = at else { return Ok(None) };
    reader.seek(SeekFrom::Start(at)).map_err(|e| io_error(&e))?;
    let mut position = at;
    Ok(read_array(reader, &mut position))
}

/// Python's `_RealGetContents`: every central directory record, with zip64 sizes applied.
fn read_directory(reader: &mut BufReader<&File>, end: &End) -> Result<Vec<Record>, String> {
    reader
        .seek(SeekFrom::Start(end.directory_start))
        .map_err(|e| io_error(&e))?;
    let mut directory = Vec::new();
    reader
        .take(end.directory_size)
        .read_to_end(&mut directory)
        .map_err(|e| io_error(&e))?;
    let mut records = Vec::new();
    let mut rest = directory.as_slice();
    let mut total: u64 = 0;
    while total < end.directory_size {
        if records.len() >= MAX_ENTRIES {
            return Err(format!("more than {MAX_ENTRIES} members"));
        }
        let header = rest.get(..46).ok_or("the central directory is truncated")?;
        if header[..4] != CENTRAL {
            return Err("bad magic number in the central directory".into());
        }
        let flags = u16_at(header, 8);
        let (name_length, extra_length, comment_length) = (
            usize::from(u16_at(header, 28)),
            usize::from(u16_at(header, 30)),
            usize::from(u16_at(header, 32)),
        );
        let record_length = 46 + name_length + extra_length + comment_length;
        let body = rest
            .get(46..record_length)
            .ok_or("the central directory is truncated")?;
        if u16_at(header, 6) > MAX_EXTRACT_VERSION {
            return Err(format!(
                "a member needs zip version {:.1} to extract, Python reads up to 6.3",
                f64::from(u16_at(header, 6)) / 10.0
            ));
        }
        let raw_name = body[..name_length].to_vec();
        let name = if flags & FLAG_UTF8 != 0 {
            Some(
                String::from_utf8(raw_name.clone())
                    .map_err(|_| "a member name flagged UTF-8 is not UTF-8".to_owned())?,
            )
        } else if raw_name.is_ascii() {
            Some(String::from_utf8_lossy(&raw_name).into_owned())
        } else {
            None
        };
        let mut record = Record {
            name,
            raw_name,
            method: u16_at(header, 10),
            compressed: u64::from(u32_at(header, 20)),
            size: u64::from(u32_at(header, 24)),
            offset: u64::from(u32_at(header, 42)),
        };
        apply_zip64(&mut record, &body[name_length..name_length + extra_length])?;
        records.push(record);
        rest = &rest[record_length..];
        total += record_length as u64;
    }
    Ok(records)
}

/// Python's `ZipInfo._decodeExtra`: zip64 values replace the 0xFFFFFFFF placeholders, in
/// order; an extra field longer than the extra data is an error.
fn apply_zip64(record: &mut Record, mut extra: &[u8]) -> Result<(), String> {
    while extra.len() >= 4 {
        let (id, length) = (u16_at(extra, 0), usize::from(u16_at(extra, 2)));
        let data = extra
            .get(4..4 + length)
            .ok_or("a corrupt extra field in the central directory")?;
        if id == ZIP64_EXTRA {
            let mut values = data.chunks_exact(8).map(|chunk| u64_at(chunk, 0));
            let mut next = || values.next().ok_or("a corrupt zip64 extra field");
            if record.size == u64::from(u32::MAX) {
                record.size = next()?;
            }
            if record.compressed == u64::from(u32::MAX) {
                record.compressed = next()?;
            }
            if record.offset == u64::from(u32::MAX) {
                record.offset = next()?;
            }
        }
        extra = &extra[4 + length..];
    }
    Ok(())
}

/// Warehouse's `_validate_zipfile`: every record from byte 0 to the end, in order.
fn walk(reader: &mut BufReader<&File>, file_size: u64, records: &[Record]) -> Result<(), String> {
    let sizes: HashMap<&str, (u64, u64)> = records
        .iter()
        .filter_map(|r| Some((r.name.as_deref()?, (r.compressed, r.size))))
        .collect();
    let offsets: HashMap<&[u8], u64> = records
        .iter()
        .map(|r| (r.raw_name.as_slice(), r.offset))
        .collect();
    reader.seek(SeekFrom::Start(0)).map_err(|e| io_error(&e))?;
    let mut position: u64 = 0;
    let mut locals: HashSet<Vec<u8>> = HashSet::new();
    let mut centrals: HashSet<Vec<u8>> = HashSet::new();
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
                if !centrals.insert(name.clone()) {
                    return Err("Duplicate filename in central directory".into());
                }
                if !locals.contains(&name) {
                    return Err("Missing filename in local headers".into());
                }
            }
            LOCAL => {
                let start = position - 4;
                let name = local_header(reader, &mut position, &sizes)?;
                if !locals.insert(name.clone()) {
                    return Err("Duplicate filename in local headers".into());
                }
                // Not in Warehouse's walk, but its reads (`zfp.read`) refuse a member whose
                // record points at another member's header: installers would disagree.
                if offsets.get(name.as_slice()).is_some_and(|&at| at != start) {
                    return Err(format!(
                        "the central directory places `{}` at another offset than its local header",
                        shorten(&String::from_utf8_lossy(&name))
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
    if centrals != locals {
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
    sizes: &HashMap<&str, (u64, u64)>,
) -> Result<Vec<u8>, String> {
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
    let text = std::str::from_utf8(&name).map_err(|_| "Filename not unicode".to_owned())?;
    let &(expected_compressed, expected_size) = sizes
        .get(text)
        .ok_or_else(|| "Filename not in central directory".to_owned())?;
    if expected_compressed != compressed {
        return Err("Mis-matched data size".into());
    }
    if expected_size != size {
        return Err("Mis-matched file size".into());
    }
    skip(reader, position, compressed).ok_or_else(malformed)?;
    Ok(name)
}

fn unprintable(name: &[u8]) -> bool {
    name.iter().any(|byte| *byte < 0x20 || *byte == 0x7f)
}

fn read_array<const N: usize>(
    reader: &mut BufReader<&File>,
    position: &mut u64,
) -> Option<[u8; N]> {
    let mut bytes = [0_u8; N];
    reader.read_exact(&mut bytes).ok()?;
    *position += N as u64;
    Some(bytes)
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
