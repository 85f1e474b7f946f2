//! The upload's `multipart/form-data` body (Warehouse `forklift/legacy.py`): the protocol
//! fields, the metadata `PyPI` accepts, the attestation, and the file streamed last.

use futures_util::StreamExt as _;
use reqwest::multipart::{Form, Part};

use crate::distribution::Dist;
use crate::distribution::form::MetadataForm;
use crate::http::Progress;

/// The multipart form: `:action`, `protocol_version`, the metadata fields (repeated fields
/// repeated), file type and digests, the attestation, and the file itself last, streamed.
pub async fn form(dist: &Dist, attestation: Option<&str>) -> std::io::Result<Form> {
    form_watched(dist, attestation, None).await
}

pub(super) async fn form_watched(
    dist: &Dist,
    attestation: Option<&str>,
    progress: Option<&Progress>,
) -> std::io::Result<Form> {
    let mut form = Form::new()
        .text(":action", "file_upload")
        .text("protocol_version", "1");
    for (key, value) in form_fields(dist) {
        form = form.text(key, value);
    }
    if let Some(attestation) = attestation {
        form = form.text("attestations", attestation.to_owned());
    }
    let file = tokio::fs::File::open(&dist.path).await?;
    let length = file.metadata().await?.len();
    let progress = progress.cloned();
    // Reads of 256 KiB for large files, which go one or two at a time (they take several
    // upload slots); at most 16 KiB for the others, which may be many in flight at once: each
    // read is buffered twice (tokio's file and the stream), per upload. Measured in bench/:
    // with 10 uploads of 200 KB in flight, 256 KiB reads took 4 MiB more peak memory.
    let capacity = if length >= 16 * 1024 * 1024 {
        256 * 1024
    } else {
        usize::try_from(length)
            .unwrap_or(usize::MAX)
            .clamp(8 * 1024, 16 * 1024)
    };
    let stream =
        tokio_util::io::ReaderStream::with_capacity(file, capacity).inspect(move |chunk| {
            if let Some(progress) = &progress {
                progress.advance(chunk.as_ref().map_or(0, bytes::Bytes::len));
            }
        });
    let part = Part::stream_with_length(reqwest::Body::wrap_stream(stream), length)
        .file_name(dist.file_name().to_owned())
        .mime_str("application/octet-stream")
        .map_err(std::io::Error::other)?;
    Ok(form.part("content", part))
}

/// Every text field of the upload form, in order: the metadata fields `PyPI` accepts for the
/// declared Metadata-Version ([`MetadataForm`]), then our own protocol fields. No header of
/// the file can become a protocol field: metadata is forwarded from a fixed table only.
#[must_use]
pub fn form_fields(dist: &Dist) -> Vec<(String, String)> {
    let mut fields: Vec<(String, String)> = MetadataForm::build(&dist.metadata)
        .fields
        .into_iter()
        .map(|(name, value)| (name.to_owned(), value))
        .collect();
    fields.push(("filetype".to_owned(), dist.kind().filetype().to_owned()));
    fields.push(("pyversion".to_owned(), dist.pyversion().to_owned()));
    fields.push(("sha256_digest".to_owned(), dist.digests.sha256.clone()));
    fields.push((
        "blake2_256_digest".to_owned(),
        dist.digests.blake2_256.clone(),
    ));
    fields
}
