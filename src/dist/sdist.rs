//! Source distributions: read the top-level `PKG-INFO` from a gzip tar (streaming) or a
//! legacy zip sdist.

use std::fs::File;
use std::path::Path;

use super::wheel::read_limited;
use super::{DistError, DistFilename};

/// The text of the sdist's `{top}/PKG-INFO`.
pub fn read_pkg_info(path: &Path, filename: &DistFilename) -> Result<String, DistError> {
    let name = &filename.file_name;
    let file = File::open(path).map_err(|error| DistError::io(path, error))?;
    if super::filename::has_suffix(name, ".zip") {
        return read_zip_pkg_info(file, name);
    }
    let mut archive =
        tar::Archive::new(flate2::read::GzDecoder::new(std::io::BufReader::new(file)));
    let entries = archive.entries().map_err(|error| corrupt(name, &error))?;
    for entry in entries {
        let entry = entry.map_err(|error| corrupt(name, &error))?;
        let member = entry
            .path()
            .map_err(|error| corrupt(name, &error))?
            .to_string_lossy()
            .into_owned();
        if is_top_level_pkg_info(&member) {
            return read_limited(entry, name, &member);
        }
    }
    Err(DistError::invalid(
        name,
        "no PKG-INFO in the sdist's top folder; build the sdist with a PEP 517 builder (`python -m build --sdist`)",
    ))
}

fn read_zip_pkg_info(file: File, name: &str) -> Result<String, DistError> {
    let mut archive = zip::ZipArchive::new(file)
        .map_err(|error| DistError::invalid(name, format!("not a valid zip archive ({error})")))?;
    let member = archive
        .file_names()
        .find(|member| is_top_level_pkg_info(member))
        .map(str::to_owned)
        .ok_or_else(|| DistError::invalid(name, "no PKG-INFO in the sdist's top folder"))?;
    let entry = archive
        .by_name(&member)
        .map_err(|error| DistError::invalid(name, format!("cannot read {member}: {error}")))?;
    read_limited(entry, name, &member)
}

fn is_top_level_pkg_info(member: &str) -> bool {
    let member = member.strip_prefix("./").unwrap_or(member);
    let mut parts = member.split('/');
    matches!((parts.next(), parts.next(), parts.next()), (Some(top), Some("PKG-INFO"), None) if !top.is_empty())
}

fn corrupt(name: &str, error: &std::io::Error) -> DistError {
    DistError::invalid(
        name,
        format!(
            "not a valid gzip tar archive ({error}); the file is truncated or corrupt, rebuild it"
        ),
    )
}
