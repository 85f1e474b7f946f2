//! The verify step of the pipeline (DESIGN §3): discover the dists in `packages-dir`, read and
//! check each one (on a few threads: hashing and inflating are CPU-bound), and report every
//! problem of every file together, before anything is sent.

use crate::actions::Console;
use crate::distribution::{self, Dist};
use crate::inputs::Settings;

/// Discover, read and verify every dist; report all problems together.
pub fn verify_dists(settings: &Settings) -> anyhow::Result<Vec<Dist>> {
    let discovery = distribution::discover(&settings.packages_dir)?;
    for path in &discovery.ignored {
        Console::notice(
            "Ignored file",
            &format!(
                "{} is not a dist (*.whl, *.tar.gz); ignored",
                path.display()
            ),
        );
    }
    for path in &discovery.duplicates {
        Console::notice(
            "Duplicate dist",
            &format!(
                "{} is a second identical copy of a dist; counted once",
                path.display()
            ),
        );
    }
    let results = parallel_map(&discovery.dists, |path| distribution::load(path));
    let mut dists = Vec::new();
    // Entries named like dists that are not regular files, reported with everything else.
    let mut errors = discovery.refused;
    for result in results {
        match result {
            Ok(dist) => dists.push(dist),
            Err(error) => errors.extend(error.messages()),
        }
    }
    let verification = distribution::verify::verify_all(settings, &dists);
    errors.extend(verification.errors);
    for warning in &verification.warnings {
        Console::warning("Dist check", warning);
    }
    for dist in &dists {
        if let Some(notice) = distribution::form::MetadataForm::build(&dist.metadata).notice() {
            Console::notice("Upload form", &format!("{}: {notice}", dist.file_name()));
        }
    }
    if !errors.is_empty() {
        return Err(distribution::verify::VerifyFailed { errors }.into());
    }
    Ok(dists)
}

/// At most this many dists are read at once, whatever the machine: each reading thread holds
/// one archive's buffers.
const MAX_THREADS: usize = 4;

/// Map over items on a few threads of a rayon pool, keeping their order.
fn parallel_map<T: Sync, R: Send>(items: &[T], function: impl Fn(&T) -> R + Sync) -> Vec<R> {
    use rayon::prelude::*;
    let threads = std::thread::available_parallelism()
        .map_or(2, std::num::NonZero::get)
        .clamp(1, MAX_THREADS)
        .min(items.len().max(1));
    match rayon::ThreadPoolBuilder::new().num_threads(threads).build() {
        Ok(pool) => pool.install(|| items.par_iter().map(&function).collect()),
        // No thread could be started: read them one after the other.
        Err(error) => {
            tracing::debug!("no thread pool ({error}); reading the dists one by one");
            items.iter().map(function).collect()
        }
    }
}
