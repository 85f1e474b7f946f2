//! The upload phase's order (DESIGN §6, issue 14): which file goes when.
//!
//! - A release the index does not have yet gets its first file alone: `PyPI` creates the
//!   release with the first upload that finds none (Warehouse `forklift/legacy.py:990-1017`),
//!   so concurrent first uploads of a new release race on creating it. With several projects,
//!   each new release has its own first file (they go together: different releases).
//! - Then every other file, `upload-concurrency` at a time, wheels before sdists. The files in
//!   flight add up to at most 64 MiB (a larger file goes alone): small files fill the slots
//!   while large ones, which fill the link on their own, go one or two at a time.
//!
//! A round trip per file is what a real index costs (hundreds of milliseconds), so the wall
//! time is about one round trip for the first file plus one per `upload-concurrency` files
//! (bench/README.md, "Latency").

use std::collections::{BTreeMap, BTreeSet};

use futures_util::StreamExt as _;

use super::{FileReport, FileStates, UploadError, UploadFailed, Uploader};
use crate::actions::Console;
use crate::distribution::project::project_key;
use crate::distribution::{Dist, DistKind};

/// Upload `dists` (the files not on the index yet). `new_releases` holds the normalised
/// names of the projects whose release the index does not have. Every file is tried even when
/// one fails; the failures are reported together.
pub async fn upload_all(
    uploader: &Uploader<'_>,
    concurrency: usize,
    dists: &[&Dist],
    new_releases: &BTreeSet<String>,
    attestations: &BTreeMap<String, String>,
    report: &mut impl FileStates,
) -> anyhow::Result<()> {
    let slots = Slots::new(concurrency);
    let mut failures = Vec::new();
    let mut pending: Vec<&Dist> = Vec::with_capacity(dists.len());
    for kind in [DistKind::Wheel, DistKind::Sdist] {
        pending.extend(dists.iter().copied().filter(|dist| dist.kind() == kind));
    }

    // Each new release's first file alone; when it fails, the project's next file is tried
    // alone in its place, so the release is never created by several uploads at once.
    let mut opening: BTreeSet<String> = pending
        .iter()
        .map(|dist| project_key(dist))
        .filter(|key| new_releases.contains(key))
        .collect();
    while !opening.is_empty() {
        let mut openers = Vec::new();
        for key in &opening {
            if let Some(position) = pending.iter().position(|dist| project_key(dist) == *key) {
                openers.push(pending.remove(position));
            }
        }
        if openers.is_empty() {
            break;
        }
        for dist in &openers {
            let others = pending
                .iter()
                .filter(|other| project_key(other) == project_key(dist))
                .count();
            if others > 0 {
                Console::line(&format!(
                    "{} {} is new on the index: {} goes first, alone (the index creates the release with the first file), then the other {others} together",
                    dist.metadata.name().unwrap_or(&dist.filename.name),
                    dist.metadata.version().unwrap_or(&dist.filename.version),
                    dist.file_name()
                ));
            }
        }
        let done = upload_batch(uploader, &slots, &openers, attestations, report).await;
        for (dist, result) in openers.iter().zip(done) {
            match result {
                Ok(()) => {
                    opening.remove(&project_key(dist));
                }
                Err(error) => failures.push(error),
            }
        }
        opening.retain(|key| pending.iter().any(|dist| project_key(dist) == *key));
    }

    for kind in [DistKind::Wheel, DistKind::Sdist] {
        let batch: Vec<&Dist> = pending
            .iter()
            .copied()
            .filter(|dist| dist.kind() == kind)
            .collect();
        let done = upload_batch(uploader, &slots, &batch, attestations, report).await;
        failures.extend(done.into_iter().filter_map(Result::err));
    }
    if failures.is_empty() {
        return Ok(());
    }
    Err(UploadFailed {
        failures,
        total: dists.len(),
    }
    .into())
}

/// The upload slots: `upload-concurrency` of them, a file taking [`upload_weight`] of them.
struct Slots {
    concurrency: u32,
    permits: tokio::sync::Semaphore,
}

impl Slots {
    fn new(concurrency: usize) -> Self {
        let concurrency = u32::try_from(concurrency).unwrap_or(1).max(1);
        Self {
            concurrency,
            permits: tokio::sync::Semaphore::new(concurrency as usize),
        }
    }
}

/// Upload `batch` concurrently within the slots; print and record each result in order.
/// Returns each file's result, in the batch's order.
async fn upload_batch(
    uploader: &Uploader<'_>,
    slots: &Slots,
    batch: &[&Dist],
    attestations: &BTreeMap<String, String>,
    report: &mut impl FileStates,
) -> Vec<Result<(), UploadError>> {
    let mut results = futures_util::stream::iter(batch.iter().copied())
        .map(|dist| async move {
            let attestation = attestations.get(dist.file_name()).map(String::as_str);
            // Closed never happens: the semaphore lives as long as the upload phase.
            let _held = slots
                .permits
                .acquire_many(upload_weight(dist.size, slots.concurrency))
                .await
                .ok();
            (dist, uploader.upload(dist, attestation).await)
        })
        .buffered(slots.concurrency as usize);
    let mut done = Vec::with_capacity(batch.len());
    while let Some((dist, result)) = results.next().await {
        match result {
            Ok(outcome) => {
                let attempts = if outcome.attempts > 1 {
                    format!(" after {} attempts", outcome.attempts)
                } else {
                    String::new()
                };
                Console::line(&format!(
                    "{}: {}{attempts}",
                    dist.file_name(),
                    outcome.status.label()
                ));
                for warning in &outcome.server_warnings {
                    Console::warning("Index warning", &format!("{}: {warning}", dist.file_name()));
                }
                report.set(
                    dist.file_name(),
                    FileReport::done(outcome.status, outcome.attempts),
                );
                done.push(Ok(()));
            }
            Err(error) => {
                report.set(dist.file_name(), FileReport::failed(&error.problem));
                done.push(Err(error));
            }
        }
    }
    done
}

/// The bytes of files in flight at once, at most (a single larger file goes alone).
const IN_FLIGHT: u64 = 64 * 1024 * 1024;

/// How many of the `concurrency` upload slots a file takes: one per started share of
/// [`IN_FLIGHT`] (16 MiB at 4 slots, 6.4 MiB at 10), so many small files go up in parallel
/// while large ones, which fill the link (and a small index's CPU) on their own, go one or two
/// at a time whatever the concurrency. Measured in bench/: two 100 MB wheels sent together to
/// pypiserver took 1.35x as long as sent one after the other.
fn upload_weight(size: u64, concurrency: u32) -> u32 {
    let slot = (IN_FLIGHT / u64::from(concurrency.max(1))).max(1);
    u32::try_from(size.div_ceil(slot))
        .unwrap_or(u32::MAX)
        .clamp(1, concurrency.max(1))
}

#[cfg(test)]
mod tests {
    use super::upload_weight;

    #[test]
    fn small_files_share_the_slots_and_large_ones_take_them_all() {
        assert_eq!(upload_weight(40 * 1024, 4), 1);
        assert_eq!(upload_weight(16 * 1024 * 1024, 4), 1);
        assert_eq!(upload_weight(20 * 1024 * 1024, 4), 2);
        assert_eq!(upload_weight(100 * 1024 * 1024, 4), 4);
        assert_eq!(upload_weight(100 * 1024 * 1024, 1), 1);
        assert_eq!(upload_weight(0, 4), 1);
    }

    #[test]
    fn the_bytes_in_flight_stay_bounded_at_any_concurrency() {
        const MIB: u64 = 1024 * 1024;
        // 10 slots of 6.4 MiB: cibuildwheel-sized wheels all go together...
        assert_eq!(upload_weight(200 * 1024, 10), 1);
        assert_eq!(upload_weight(6 * MIB, 10), 1);
        // ...larger ones share the 64 MiB, a 100 MB wheel goes alone.
        assert_eq!(upload_weight(16 * MIB, 10), 3);
        assert_eq!(upload_weight(40 * MIB, 10), 7);
        assert_eq!(upload_weight(100 * MIB, 10), 10);
        assert_eq!(upload_weight(100 * MIB, 16), 16);
        assert_eq!(upload_weight(MIB, 0), 1);
    }
}
