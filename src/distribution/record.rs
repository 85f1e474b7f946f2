//! RECORD (<https://packaging.python.org/specifications/recording-installed-packages/>): a CSV
//! of `path,algorithm=urlsafe-b64-digest,size` listing every wheel member. Every member is
//! streamed once through a fixed buffer and compared with its row.

use std::collections::{BTreeMap, HashSet};
use std::io::Read as _;

use base64::Engine as _;
use sha2::Digest as _;
use sha2::digest::DynDigest;

use super::archive::{BUFFER_BYTES, Finding, Inspection, shorten};
use super::scan::{MAX_SCANNED_BYTES, Scanner, scannable};
use super::wheel::Archive;

/// One RECORD row.
struct Row {
    line: usize,
    hash: Option<(String, Vec<u8>)>,
    size: Option<u64>,
}

pub(super) fn check(
    archive: &mut Archive,
    members: &BTreeMap<String, usize>,
    dist_info: &str,
    record: &str,
    inspection: &mut Inspection,
) {
    let record_member = format!("{dist_info}/RECORD");
    let unhashed: HashSet<String> = ["RECORD", "RECORD.jws", "RECORD.p7s"]
        .iter()
        .map(|name| format!("{dist_info}/{name}"))
        .collect();
    let rows = parse_record(record, &record_member, inspection);
    for (path, row) in &rows {
        // A folder row (`pkg/,,`) holds no content to lose; PyPI and installers ignore it.
        let folder = path.ends_with('/') && row.hash.is_none() && row.size.is_none();
        if !members.contains_key(path) && !folder {
            inspection.push(Finding::error(
                Some(&record_member),
                format!(
                    "line {} lists `{}`, but the wheel has no such member; a file was removed after the build. Rebuild the wheel",
                    row.line,
                    shorten(path)
                ),
            ));
        }
    }
    let mut buffer = vec![0_u8; BUFFER_BYTES];
    // Archive order, so the file is read front to back.
    let mut in_order: Vec<(&String, usize)> = members.iter().map(|(n, &i)| (n, i)).collect();
    in_order.sort_by_key(|(_, index)| *index);
    for (name, index) in in_order {
        let row = rows.get(name);
        let expected = if unhashed.contains(name) {
            None
        } else if let Some(row) = row {
            if row.hash.is_none() {
                inspection.push(Finding::error(
                    Some(name),
                    format!(
                        "RECORD line {} has no hash for it; every member but RECORD needs one",
                        row.line
                    ),
                ));
            }
            row.hash.as_ref()
        } else {
            inspection.push(Finding::error(
                Some(name),
                "not listed in RECORD; a file was added after the build. Rebuild the wheel (or repack it with `wheel pack`, which rewrites RECORD)",
            ));
            None
        };
        // A compression method PyPI refuses is reported with the zip's framing; not readable.
        let Ok((size, method)) = archive
            .by_index_raw(index)
            .map(|entry| (entry.size(), entry.compression()))
        else {
            continue;
        };
        if !matches!(
            method,
            zip::CompressionMethod::Stored | zip::CompressionMethod::Deflated
        ) {
            continue;
        }
        // Stream the member once: its RECORD hash, and PyPI's scan for obfuscated code.
        let scan = scannable(name) && size <= MAX_SCANNED_BYTES;
        if expected.is_none() && !scan {
            continue;
        }
        let mut hasher = match expected
            .map(|(algorithm, _)| hasher_for(algorithm))
            .transpose()
        {
            Ok(hasher) => hasher,
            Err(problem) => {
                inspection.push(Finding::error(Some(name), problem));
                None
            }
        };
        let mut scanner = scan.then(Scanner::default);
        let size = match stream_member(archive, index, &mut buffer, |chunk| {
            if let Some(hasher) = hasher.as_mut() {
                hasher.update(chunk);
            }
            if let Some(scanner) = scanner.as_mut() {
                scanner.feed(chunk);
            }
        }) {
            Ok(size) => size,
            Err(problem) => {
                inspection.push(Finding::error(Some(name), problem));
                continue;
            }
        };
        if let Some(found) = scanner.as_ref().and_then(Scanner::verdict) {
            inspection.push(Finding::error(Some(name), found.message()));
        }
        let (Some(hasher), Some((algorithm, expected)), Some(row)) = (hasher, expected, row) else {
            continue;
        };
        let digest = hasher.finalize().to_vec();
        if &digest != expected {
            inspection.push(Finding::error(
                Some(name),
                format!(
                    "content does not match RECORD: RECORD says {algorithm}={}, the member hashes to {algorithm}={}; the wheel was changed after it was built. Rebuild it",
                    encode(expected),
                    encode(&digest)
                ),
            ));
        } else if row.size.is_some_and(|declared| declared != size) {
            inspection.push(Finding::error(
                Some(name),
                format!(
                    "size {size} does not match RECORD's {}; rebuild the wheel",
                    row.size.unwrap_or_default()
                ),
            ));
        }
    }
}

fn encode(digest: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest)
}

/// The hash RECORD names, if it is one the wheel spec allows (sha256 or stronger).
fn hasher_for(algorithm: &str) -> Result<Box<dyn DynDigest>, String> {
    match algorithm {
        "sha256" => Ok(Box::new(sha2::Sha256::new())),
        "sha384" => Ok(Box::new(sha2::Sha384::new())),
        "sha512" => Ok(Box::new(sha2::Sha512::new())),
        other => Err(format!(
            "RECORD uses the hash `{}`; only sha256, sha384 and sha512 are allowed (weaker hashes do not protect the content). Rebuild the wheel with a current build backend",
            shorten(other)
        )),
    }
}

/// Stream one member through `sink` with a fixed buffer, never beyond its declared size.
fn stream_member(
    archive: &mut Archive,
    index: usize,
    buffer: &mut [u8],
    mut sink: impl FnMut(&[u8]),
) -> Result<u64, String> {
    let entry = archive
        .by_index(index)
        .map_err(|error| format!("cannot be read ({error}); the zip is damaged, rebuild it"))?;
    let declared = entry.size();
    let mut limited = entry.take(declared.saturating_add(1));
    let mut total: u64 = 0;
    loop {
        let read = limited.read(buffer).map_err(|error| {
            format!("cannot be unpacked ({error}); the data is damaged (truncated or tampered), rebuild the wheel")
        })?;
        if read == 0 {
            break;
        }
        total += read as u64;
        sink(&buffer[..read]);
    }
    if total > declared {
        return Err(format!(
            "unpacks to more than its declared {declared} bytes: the data is damaged (tampered or truncated) or the zip headers lie (a zip bomb); rebuild the wheel"
        ));
    }
    Ok(total)
}

/// RECORD is CSV: `path,algorithm=urlsafe-b64-digest,size`.
fn parse_record(record: &str, member: &str, inspection: &mut Inspection) -> BTreeMap<String, Row> {
    let mut rows = BTreeMap::new();
    for (line_index, fields) in parse_csv(record).into_iter().enumerate() {
        let line = line_index + 1;
        let [raw_path, hash, size] = fields.as_slice() else {
            if fields.iter().all(String::is_empty) {
                continue;
            }
            inspection.push(Finding::error(
                Some(member),
                format!(
                    "line {line} has {} fields, expected path,hash,size",
                    fields.len()
                ),
            ));
            continue;
        };
        // Windows builds may write `\\`; PyPI and installers read it as `/` (Warehouse
        // `utils/wheel.py` normalises it the same way).
        let path = raw_path.replace('\\', "/");
        let shown = shorten(&path);
        let hash = if hash.is_empty() {
            None
        } else if let Some((algorithm, value)) = hash.split_once('=') {
            let decoded = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(value.trim_end_matches('='));
            let Ok(digest) = decoded else {
                inspection.push(Finding::error(
                    Some(member),
                    format!("line {line}: the hash of `{shown}` is not urlsafe base64"),
                ));
                continue;
            };
            Some((algorithm.to_owned(), digest))
        } else {
            inspection.push(Finding::error(
                Some(member),
                format!("line {line}: the hash of `{shown}` is not `algorithm=digest`"),
            ));
            continue;
        };
        let size = if size.is_empty() {
            None
        } else if let Ok(size) = size.parse() {
            Some(size)
        } else {
            inspection.push(Finding::error(
                Some(member),
                format!(
                    "line {line}: the size `{}` of `{shown}` is not a number",
                    shorten(size)
                ),
            ));
            continue;
        };
        let shown = shown.into_owned();
        if rows.insert(path, Row { line, hash, size }).is_some() {
            inspection.push(Finding::error(
                Some(member),
                format!("line {line} lists `{shown}` a second time"),
            ));
        }
    }
    rows
}

/// Minimal RFC 4180 CSV (what Python's csv module writes): quoted fields, doubled quotes.
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut characters = text.chars().peekable();
    while let Some(character) = characters.next() {
        match (character, quoted) {
            ('"', true) if characters.peek() == Some(&'"') => {
                characters.next();
                field.push('"');
            }
            ('"', true) => quoted = false,
            ('"', false) if field.is_empty() => quoted = true,
            (',', false) => row.push(std::mem::take(&mut field)),
            ('\r', false) => {}
            ('\n', false) => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (other, _) => field.push(other),
        }
    }
    if !field.is_empty() || !row.is_empty() {
        row.push(field);
        rows.push(row);
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_with_quotes() {
        let rows = parse_csv("a,b,1\n\"x,y\",\"q\"\"r\",2\r\n");
        assert_eq!(rows, vec![vec!["a", "b", "1"], vec!["x,y", "q\"r", "2"]]);
    }
}
