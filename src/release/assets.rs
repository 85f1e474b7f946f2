//! The dists as release assets (DESIGN §7): an asset with the same name and sha256 is kept,
//! the same name with other content is an error naming both hashes, a missing one is streamed
//! to the release's `upload_url`. A failed upload may leave a half asset (`state: starter`):
//! it is found by listing, deleted, and the upload tried again after a backoff.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use sha2::{Digest as _, Sha256};
use tokio::io::AsyncReadExt as _;

use super::api::{ApiError, Asset, GitHub, Release, asset_sha256};
use crate::actions::Console;

/// GitHub's limit for one release asset.
const MAX_ASSET_SIZE: u64 = 2 * 1024 * 1024 * 1024;

pub fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default()
}

struct Local {
    path: PathBuf,
    name: String,
    size: u64,
    sha256: String,
}

async fn local(path: &Path) -> anyhow::Result<Local> {
    let mut file = tokio::fs::File::open(path)
        .await
        .with_context(|| format!("cannot open {}", path.display()))?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0_u8; 256 * 1024];
    let mut size = 0_u64;
    loop {
        let read = file
            .read(&mut buffer)
            .await
            .with_context(|| format!("cannot read {}", path.display()))?;
        if read == 0 {
            break;
        }
        hasher.update(&buffer[..read]);
        size += read as u64;
    }
    Ok(Local {
        path: path.to_path_buf(),
        name: file_name(path),
        size,
        sha256: hex::encode(hasher.finalize()),
    })
}

/// The sha256 of an asset: the API's `digest`, else (when the size matches) its bytes.
async fn remote_sha256(
    github: &GitHub<'_>,
    asset: &Asset,
    local: &Local,
) -> anyhow::Result<String> {
    if let Some(digest) = asset_sha256(asset) {
        return Ok(digest.to_ascii_lowercase());
    }
    let size = u64::try_from(asset.size).unwrap_or_default();
    if size != local.size {
        return Ok(format!(
            "(unknown; {} bytes, ours {})",
            asset.size, local.size
        ));
    }
    let response = github.download_asset(asset).await.with_context(|| {
        format!(
            "failed to download the existing asset {} to compare it",
            asset.name
        )
    })?;
    let mut hasher = Sha256::new();
    crate::http::stream_body(response, size, download_deadline(size), |chunk| {
        hasher.update(chunk);
    })
    .await
    .with_context(|| format!("failed to download the asset {}", asset.name))?;
    Ok(hex::encode(hasher.finalize()))
}

/// How long downloading an asset of `size` bytes may take: the usual request deadline plus
/// the time at 64 KiB/s, a floor no working link is below.
pub fn download_deadline(size: u64) -> std::time::Duration {
    crate::http::transfer_deadline(size)
}

/// Attach every file that is not attached yet; fail before uploading anything when an asset
/// of the same name holds other content.
pub async fn sync(github: &GitHub<'_>, release: &Release, files: &[PathBuf]) -> anyhow::Result<()> {
    let existing = github
        .assets(release.id)
        .await
        .context("failed to list the release's assets")?;
    let mut to_upload = Vec::new();
    let mut conflicts = Vec::new();
    for path in files {
        let local = local(path).await?;
        if local.size >= MAX_ASSET_SIZE {
            anyhow::bail!(
                "{} is {} bytes: GitHub release assets must be smaller than 2 GiB; set `release-assets: false`",
                local.name,
                local.size
            );
        }
        match existing.iter().find(|asset| asset.name == local.name) {
            Some(asset) if asset.state != "uploaded" => {
                match finished(github, release, &local.name).await? {
                    Finished::Uploaded(asset) => {
                        let remote = remote_sha256(github, &asset, &local).await?;
                        if remote == local.sha256 {
                            Console::line(&format!(
                                "release asset {}: attached by another job meanwhile, with the same sha256; kept",
                                local.name
                            ));
                        } else {
                            conflicts.push(conflict(&local, &remote));
                        }
                    }
                    Finished::Gone => to_upload.push(local),
                    Finished::Stale(asset) => {
                        delete(github, &asset).await?;
                        to_upload.push(local);
                    }
                }
            }
            Some(asset) => {
                let remote = remote_sha256(github, asset, &local).await?;
                if remote == local.sha256 {
                    Console::line(&format!(
                        "release asset {}: already attached with the same sha256; kept",
                        local.name
                    ));
                } else {
                    conflicts.push(conflict(&local, &remote));
                }
            }
            None => to_upload.push(local),
        }
    }
    if !conflicts.is_empty() {
        anyhow::bail!("{}", conflicts.join("\n"));
    }
    for local in &to_upload {
        upload(github, release, local).await?;
    }
    Ok(())
}

fn conflict(local: &Local, remote: &str) -> String {
    format!(
        "release asset {} already exists with different content (release sha256 {remote}, local sha256 {}): delete the asset from the release if the local file is the right one, or rebuild and release a new version",
        local.name, local.sha256
    )
}

/// Upload one file, retrying transient failures. Before each retry the assets are listed: a
/// finished identical asset means the lost answer was a success; a half one is deleted.
async fn upload(github: &GitHub<'_>, release: &Release, local: &Local) -> anyhow::Result<()> {
    let attempts = github.policy.attempts;
    let mut attempt = 1;
    loop {
        let error = match github
            .upload_asset(&release.upload_url, &local.path, &local.name)
            .await
        {
            Ok(asset) => {
                if let Some(remote) = asset_sha256(&asset).filter(|remote| *remote != local.sha256)
                {
                    // Corrupted on the way: remove it so that neither this loop nor a re-run
                    // mistakes it for the user's own different file.
                    let remote = remote.to_owned();
                    delete(github, &asset).await?;
                    if attempt >= attempts {
                        anyhow::bail!(
                            "release asset {} was stored with sha256 {remote}, but the file has {}: the upload was corrupted every time; re-run the job",
                            local.name,
                            local.sha256
                        );
                    }
                    attempt += 1;
                    continue;
                }
                let tries = if attempt > 1 {
                    format!(" after {attempt} attempts")
                } else {
                    String::new()
                };
                Console::line(&format!("release asset {}: uploaded{tries}", local.name));
                return Ok(());
            }
            Err(error) => error,
        };
        if !(error.is_transient() || error.already_exists()) {
            return Err(anyhow::Error::new(error)
                .context(format!("failed to upload the release asset {}", local.name)));
        }
        tracing::debug!(
            "release asset {}: the upload failed ({error}); checking what it left",
            local.name
        );
        if error.is_transient() {
            tokio::time::sleep(github.wait_for(&error, attempt)).await;
        }
        if settle(github, release, local).await? {
            return Ok(());
        }
        if attempt >= attempts {
            return Err(anyhow::Error::new(error).context(format!(
                "failed to upload the release asset {} after {attempt} attempts",
                local.name
            )));
        }
        tracing::debug!("{error}; uploading {} again", local.name);
        attempt += 1;
    }
}

/// What became of an asset that was not finished when we saw it.
enum Finished {
    Uploaded(Asset),
    Gone,
    /// Still unfinished after waiting: a failed upload's leftover.
    Stale(Asset),
}

/// Wait (a few backoff steps) for an unfinished asset to finish: it may be another job of the
/// same run uploading the same dist to the same release right now (two publish jobs on one
/// tag), and deleting it would break that upload. Only one that stays unfinished is stale.
async fn finished(github: &GitHub<'_>, release: &Release, name: &str) -> anyhow::Result<Finished> {
    let mut attempt = 1;
    loop {
        let assets = github
            .assets(release.id)
            .await
            .context("failed to list the release's assets")?;
        let Some(asset) = assets.into_iter().find(|asset| asset.name == name) else {
            return Ok(Finished::Gone);
        };
        if asset.state == "uploaded" {
            return Ok(Finished::Uploaded(asset));
        }
        if attempt >= github.policy.attempts {
            return Ok(Finished::Stale(asset));
        }
        tokio::time::sleep(github.policy.delay(attempt, None)).await;
        attempt += 1;
    }
}

/// After a failed upload: `true` when the asset is in fact there and identical (our lost
/// answer, or another job's upload of the same file); removes a stale half one; an identical
/// name with other content is an error.
async fn settle(github: &GitHub<'_>, release: &Release, local: &Local) -> anyhow::Result<bool> {
    match finished(github, release, &local.name)
        .await
        .context("after a failed upload")?
    {
        Finished::Gone => Ok(false),
        Finished::Uploaded(asset) => {
            let remote = remote_sha256(github, &asset, local).await?;
            if remote == local.sha256 {
                Console::line(&format!(
                    "release asset {}: the upload went through after all, or another job attached the same file (same sha256)",
                    local.name
                ));
                return Ok(true);
            }
            anyhow::bail!("{}", conflict(local, &remote));
        }
        Finished::Stale(asset) => {
            delete(github, &asset).await?;
            Ok(false)
        }
    }
}

async fn delete(github: &GitHub<'_>, asset: &Asset) -> Result<(), anyhow::Error> {
    github
        .delete_asset(asset.id)
        .await
        .map_err(|error: ApiError| anyhow::Error::new(error))
        .with_context(|| format!("failed to delete the half-uploaded asset {}", asset.name))?;
    Console::line(&format!(
        "release asset {}: removed a failed upload (state {})",
        asset.name, asset.state
    ));
    Ok(())
}
