//! Warehouse's zip rules for wheels (`forklift` upload checks, <https://docs.pypi.org/archives>):
//! its framing walk, the compression methods it takes, names given twice or without the UTF-8
//! flag, and no file that is a tar as well.

use crate::distribution::Inspection;
use crate::distribution::archive::Finding;
use crate::distribution::zipframe::Zip;

/// Warehouse's zip rules: its framing walk, the compression methods it takes, and no file
/// that is a tar as well.
pub(super) fn check_framing(zip: &Zip, inspection: &mut Inspection) {
    if let Some(problem) = &zip.framing {
        let (what, cause) = framing_cause(problem);
        inspection.push(Finding::error(
            None,
            format!(
                "{what}: PyPI refuses it (\"ZIP archive not accepted: {problem}\", https://docs.pypi.org/archives). {cause}; build the wheel with its build backend (`python -m build --wheel`), or repack an edited one with `wheel pack`, which writes a plain zip"
            ),
        ));
    }
    if zip.also_a_tar {
        inspection.push(Finding::error(
            None,
            "its first 512 bytes also read as a tar header: PyPI refuses a file that is both a zip and a tar (\"File is both a zip and a tar file\"). Rebuild the wheel",
        ));
    }
    let mut names = std::collections::HashSet::new();
    let mut reported = std::collections::HashSet::new();
    for record in &zip.records {
        if !names.insert(record.raw_name()) && reported.insert(record.raw_name()) {
            inspection.push(Finding::error(
                Some(&record.shown_name()),
                "appears twice in the zip: installers may unpack another copy than the one checked. Rebuild the wheel",
            ));
        }
        if !matches!(record.method, 0 | 8) {
            inspection.push(Finding::error(
                Some(&record.shown_name()),
                format!(
                    "is compressed with zip method {}: PyPI accepts only stored (0) and deflate (8) members (\"File does not use a supported compression type\"). Rebuild the wheel with its build backend",
                    record.method
                ),
            ));
        }
        if !record.decodes_like_local {
            inspection.push(Finding::error(
                Some(&record.shown_name()),
                "has a non-ASCII name without the zip UTF-8 flag: Python reads it as cp437, so PyPI cannot match it to its local header and refuses the wheel. Rebuild the wheel with its build backend",
            ));
        }
    }
}

/// What a Warehouse framing problem means and how such a zip comes about.
fn framing_cause(problem: &str) -> (&'static str, &'static str) {
    match problem {
        "Trailing data" => (
            "bytes follow the end of the zip",
            "Two archives were concatenated, or a copy step appended data",
        ),
        "Comment in central directory" => (
            "a member carries a comment",
            "A zip tool added per-file comments",
        ),
        "ZIP contains a data descriptor" => (
            "members are written in streaming mode (data descriptors)",
            "The zip was written to a pipe or by a streaming zip library",
        ),
        "Unknown record signature" => (
            "the file holds bytes that are not zip records (data before the first member, or between members)",
            "A tool prepended or inserted data",
        ),
        _ => (
            "the local file headers and the central directory disagree",
            "The zip was edited in place (a member replaced, added or removed) or written by a broken tool",
        ),
    }
}
