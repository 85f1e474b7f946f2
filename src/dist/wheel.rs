//! Wheels: read `{name}-{version}.dist-info/METADATA` from the zip without loading the archive.

use std::fs::File;
use std::io::Read as _;
use std::path::Path;

use super::{DistError, DistFilename};

/// Core metadata files larger than this are refused (a real one is a few hundred KB at most).
pub const MAX_METADATA_BYTES: u64 = 16 * 1024 * 1024;

/// The text of the wheel's `.dist-info/METADATA`.
pub fn read_metadata(path: &Path, filename: &DistFilename) -> Result<String, DistError> {
    let name = &filename.file_name;
    let file = File::open(path).map_err(|error| DistError::io(path, error))?;
    let mut archive = zip::ZipArchive::new(file).map_err(|error| {
        DistError::invalid(name, format!("not a valid zip archive ({error}); the file is truncated or not a wheel, rebuild it"))
    })?;
    let candidates: Vec<String> = archive
        .file_names()
        .filter(|member| {
            let mut parts = member.split('/');
            matches!((parts.next(), parts.next(), parts.next()), (Some(dir), Some("METADATA"), None) if dir.ends_with(".dist-info"))
        })
        .map(str::to_owned)
        .collect();
    let member = match candidates.as_slice() {
        [one] => one.clone(),
        [] => {
            return Err(DistError::invalid(
                name,
                "no *.dist-info/METADATA in the wheel; it was not built by a wheel builder, rebuild it",
            ));
        }
        many => {
            return Err(DistError::invalid(
                name,
                format!(
                    "more than one *.dist-info/METADATA ({}); rebuild the wheel from a clean tree",
                    many.join(", ")
                ),
            ));
        }
    };
    let entry = archive
        .by_name(&member)
        .map_err(|error| DistError::invalid(name, format!("cannot read {member}: {error}")))?;
    read_limited(entry, name, &member)
}

pub(crate) fn read_limited(
    reader: impl std::io::Read,
    file: &str,
    member: &str,
) -> Result<String, DistError> {
    let mut bytes = Vec::new();
    reader
        .take(MAX_METADATA_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|error| DistError::invalid(file, format!("cannot read {member}: {error}")))?;
    if bytes.len() as u64 > MAX_METADATA_BYTES {
        return Err(DistError::invalid(
            file,
            format!(
                "{member} is larger than {} MiB; that is not core metadata",
                MAX_METADATA_BYTES / 1024 / 1024
            ),
        ));
    }
    String::from_utf8(bytes).map_err(|_| {
        DistError::invalid(
            file,
            format!("{member} is not UTF-8; core metadata must be UTF-8"),
        )
    })
}
