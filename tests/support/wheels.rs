//! Wheels made for a test: the sample project's wheel under another platform tag, optionally
//! with a large incompressible payload (a valid RECORD either way).

use std::io::{Read as _, Write as _};
use std::path::Path;

/// The sample wheel in examples/dist.
pub const WHEEL: &str = "oidc_publish_demo-0.3.0-py3-none-any.whl";

/// A copy of the sample wheel under another platform tag: same metadata and files, its own
/// WHEEL tag and RECORD.
pub fn platform_wheel(dir: &Path, tag: &str) {
    platform_wheel_with_payload(dir, tag, 0);
}

/// Like [`platform_wheel`], plus `payload` bytes of incompressible data stored uncompressed.
/// Returns the file name.
pub fn platform_wheel_with_payload(dir: &Path, tag: &str, payload: usize) -> String {
    let mut members = sample_members(|name, data| {
        if name.ends_with(".dist-info/WHEEL") {
            format!(
                "Wheel-Version: 1.0\nGenerator: faults-test\nRoot-Is-Purelib: false\nTag: {tag}\n"
            )
            .into_bytes()
        } else {
            data
        }
    });
    if payload > 0 {
        let mut state = 0x9E37_79B9_7F4A_7C15_u64;
        let data: Vec<u8> = (0..payload)
            .map(|_| {
                // xorshift64: incompressible enough, deterministic, no dependency.
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state.to_le_bytes()[0]
            })
            .collect();
        members.push(("oidc_publish_demo/_native.bin".to_owned(), data));
    }
    let method = if payload > 0 {
        zip::CompressionMethod::Stored
    } else {
        zip::CompressionMethod::Deflated
    };
    write_wheel(dir, tag, members, method)
}

/// A copy of the sample wheel named with the tags `tag`, each member's bytes passed through
/// `edit(name, bytes)` (to craft METADATA or WHEEL), with a RECORD that matches. Returns the
/// file name.
pub fn edited_wheel(dir: &Path, tag: &str, edit: impl Fn(&str, Vec<u8>) -> Vec<u8>) -> String {
    let members = sample_members(edit);
    write_wheel(dir, tag, members, zip::CompressionMethod::Deflated)
}

/// The sample wheel's members but RECORD, each passed through `edit`.
fn sample_members(edit: impl Fn(&str, Vec<u8>) -> Vec<u8>) -> Vec<(String, Vec<u8>)> {
    let sample = super::repo_root().join("examples/dist").join(WHEEL);
    let mut archive = zip::ZipArchive::new(std::fs::File::open(sample).unwrap()).unwrap();
    let mut members = Vec::new();
    for index in 0..archive.len() {
        let mut entry = archive.by_index(index).unwrap();
        let name = entry.name().to_owned();
        let mut data = Vec::new();
        entry.read_to_end(&mut data).unwrap();
        if name.ends_with(".dist-info/RECORD") {
            continue;
        }
        let data = edit(&name, data);
        members.push((name, data));
    }
    members
}

/// `members` plus a RECORD that matches them, written as `oidc_publish_demo-0.3.0-{tag}.whl`.
fn write_wheel(
    dir: &Path,
    tag: &str,
    mut members: Vec<(String, Vec<u8>)>,
    method: zip::CompressionMethod,
) -> String {
    use base64::Engine as _;
    use sha2::Digest as _;
    let dist_info = "oidc_publish_demo-0.3.0.dist-info";
    let mut record = String::new();
    for (name, data) in &members {
        let digest =
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(data));
        record.push_str(&format!("{name},sha256={digest},{}\n", data.len()));
    }
    record.push_str(&format!("{dist_info}/RECORD,,\n"));
    members.push((format!("{dist_info}/RECORD"), record.into_bytes()));
    let file_name = format!("oidc_publish_demo-0.3.0-{tag}.whl");
    let mut writer = zip::ZipWriter::new(std::fs::File::create(dir.join(&file_name)).unwrap());
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(method)
        .large_file(false);
    for (name, data) in members {
        writer.start_file(name, options).unwrap();
        writer.write_all(&data).unwrap();
    }
    writer.finish().unwrap();
    file_name
}
