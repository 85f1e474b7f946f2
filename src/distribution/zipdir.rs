//! The ZIP end record and central directory (APPNOTE.TXT) found and read the way Python's
//! `zipfile` does (`_EndRecData`, `_EndRecData64`, `_RealGetContents`, `_decodeExtra`): the
//! view `PyPI` and pip have of a wheel's members. Streamed record by record within our limits.

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};

use super::archive::{MAX_DIRECTORY_BYTES, MAX_ENTRIES, human, shorten};

pub(super) const CENTRAL: [u8; 4] = *b"PK\x01\x02";
pub(super) const END: [u8; 4] = *b"PK\x05\x06";
pub(super) const END64: [u8; 4] = *b"PK\x06\x06";
pub(super) const END64_LOCATOR: [u8; 4] = *b"PK\x06\x07";
pub(super) const ZIP64_EXTRA: u16 = 0x0001;
const FLAG_UTF8: u16 = 0x0800;
/// Python's `zipfile` refuses records needing a newer "version needed to extract".
const MAX_EXTRACT_VERSION: u16 = 63;

/// One central directory record, as Python's `zipfile` reads it.
#[derive(Debug)]
pub struct Record {
    pub(super) raw_name: Vec<u8>,
    /// Python decodes the name as a local header's (UTF-8): it is ASCII or flagged UTF-8. A
    /// non-ASCII name without the flag is read as cp437 and matches no local header.
    pub decodes_like_local: bool,
    pub method: u16,
    pub compressed: u64,
    pub size: u64,
    pub(super) offset: u64,
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

/// Every central directory record of the zip, duplicates included (Python's `infolist()`).
/// `Err` (the whole message) when the file is not a zip or breaks one of our limits.
pub(super) fn read(reader: &mut BufReader<&File>, file_size: u64) -> Result<Vec<Record>, String> {
    let end = find_end(reader, file_size)
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
    read_directory(reader, &end).map_err(|problem| damaged(&problem))
}

/// Whether Python's `zipfile.is_zipfile` says yes: an end record in the last 64 KiB.
pub fn looks_like_zip(file: &File, file_size: u64) -> bool {
    let mut reader = BufReader::new(file);
    matches!(find_end(&mut reader, file_size), Ok(Some(_)) | Err(_))
}

pub(super) fn damaged(problem: &str) -> String {
    format!(
        "not a valid zip archive ({problem}); the file is truncated or damaged. Rebuild it, and check the step that copied it (artifact upload/download)"
    )
}

struct End {
    entries: u64,
    directory_size: u64,
    directory_start: u64,
}

pub(super) fn io_error(error: &std::io::Error) -> String {
    format!("read error: {error}")
}

pub(super) fn u16_at(bytes: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([bytes[at], bytes[at + 1]])
}

pub(super) fn u32_at(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
}

pub(super) fn u64_at(bytes: &[u8], at: usize) -> u64 {
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
    // Streamed record by record: only the names are kept.
    let mut directory = reader.take(end.directory_size);
    let truncated = |_| "the central directory is truncated".to_owned();
    let mut records = Vec::new();
    let mut total: u64 = 0;
    let mut extra = Vec::new();
    while total < end.directory_size {
        if records.len() >= MAX_ENTRIES {
            return Err(format!("more than {MAX_ENTRIES} members"));
        }
        let mut header = [0_u8; 46];
        directory.read_exact(&mut header).map_err(truncated)?;
        if header[..4] != CENTRAL {
            return Err("bad magic number in the central directory".into());
        }
        let flags = u16_at(&header, 8);
        let (name_length, extra_length, comment_length) = (
            usize::from(u16_at(&header, 28)),
            usize::from(u16_at(&header, 30)),
            u64::from(u16_at(&header, 32)),
        );
        if u16_at(&header, 6) > MAX_EXTRACT_VERSION {
            return Err(format!(
                "a member needs zip version {:.1} to extract, Python reads up to 6.3",
                f64::from(u16_at(&header, 6)) / 10.0
            ));
        }
        let mut raw_name = vec![0_u8; name_length];
        directory.read_exact(&mut raw_name).map_err(truncated)?;
        extra.resize(extra_length, 0);
        directory.read_exact(&mut extra).map_err(truncated)?;
        let skipped = std::io::copy(
            &mut (&mut directory).take(comment_length),
            &mut std::io::sink(),
        )
        .map_err(|e| io_error(&e))?;
        if skipped != comment_length {
            return Err("the central directory is truncated".into());
        }
        if flags & FLAG_UTF8 != 0 && std::str::from_utf8(&raw_name).is_err() {
            return Err("a member name flagged UTF-8 is not UTF-8".to_owned());
        }
        let decodes_like_local = flags & FLAG_UTF8 != 0 || raw_name.is_ascii();
        let mut record = Record {
            raw_name,
            decodes_like_local,
            method: u16_at(&header, 10),
            compressed: u64::from(u32_at(&header, 20)),
            size: u64::from(u32_at(&header, 24)),
            offset: u64::from(u32_at(&header, 42)),
        };
        apply_zip64(&mut record, &extra)?;
        records.push(record);
        total += 46 + (name_length + extra_length) as u64 + comment_length;
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

pub(super) fn read_array<const N: usize>(
    reader: &mut BufReader<&File>,
    position: &mut u64,
) -> Option<[u8; N]> {
    let mut bytes = [0_u8; N];
    reader.read_exact(&mut bytes).ok()?;
    *position += N as u64;
    Some(bytes)
}
