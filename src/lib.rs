//! pypi-oidc-publish: finish a Python release in one step.
//!
//! The pipeline of DESIGN.md: verify dists -> authenticate (Trusted Publishing) -> attest
//! (PEP 740) -> upload -> GitHub release. [`run`] reads like that pipeline; each step lives in
//! its own module.

pub mod actions;
pub mod attest;
pub mod auth;
pub mod changelog;
pub mod console;
pub mod distribution;
pub mod http;
pub mod index;
pub mod inputs;
pub mod markdown;
pub mod oidc;
pub mod progress;
pub mod project;
pub mod release;
pub mod release_window;
pub mod report;
pub mod timing;
pub mod upload;
pub mod upload_plan;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use crate::actions::{Console, Runner};
use crate::distribution::Dist;
use crate::index::Lookup;
use crate::inputs::Settings;
use crate::project::Project;
use crate::report::{Confirmation, FileReport, Report};
use crate::upload::{FileStatus, Uploader};

/// What a run did.
#[derive(Debug, Default)]
pub struct Outcome {
    pub report: Report,
}

/// Run the whole pipeline. Nothing is sent before every dist is verified; nothing is released
/// before every upload succeeded. Outputs and the step summary are written whatever happens
/// after verification, so a failed run still shows which files made it.
pub async fn run(settings: Settings, runner: Runner) -> anyhow::Result<Outcome> {
    let started = Instant::now();
    let dists = verify_dists(&settings)?;
    let projects = project::group(&dists);
    let primary = project::primary(
        &projects,
        settings.tag.as_deref(),
        runner.repository.as_deref(),
    );
    let mut report = Report::new(&settings, &dists, &projects, primary);
    report.phases.record("verify", started);
    report.print_dists(&settings, &dists);
    report.prerelease = Some(settings.prerelease.resolve(release::notes::auto_prerelease(
        &report.version,
        settings.tag.as_deref().unwrap_or(""),
    )));

    let result = if settings.dry_run {
        report.attestations = Some(attest::plan(&settings));
        report.print_plan(&settings, &dists);
        release::plan(
            &settings,
            &runner,
            &release::Publication::new(&report, &dists),
        );
        prove_publisher(&settings, &runner, &mut report).await
    } else {
        publish(&settings, &runner, &dists, &projects, &mut report).await
    };
    let finished = report.finish(&runner);
    match (result, finished) {
        (Ok(()), Ok(())) => Ok(Outcome { report }),
        (Ok(()), Err(error)) => Err(error),
        // The run's own failure is what the user must see; a summary that could not be
        // written is only worth a warning then.
        (Err(error), finished) => {
            if let Err(summary_error) = finished {
                Console::warning("Step summary", &format!("{summary_error:#}"));
            }
            Err(error)
        }
    }
}

/// The dry run's check of Trusted Publishing (README, "Prove the setup with a dry run"): with
/// the job's OIDC token, a token is minted and discarded and whom the index accepted is
/// reported; a refusal fails the dry run with the real run's diagnosis. No dist is sent.
async fn prove_publisher(
    settings: &Settings,
    runner: &Runner,
    report: &mut Report,
) -> anyhow::Result<()> {
    if !settings.trusted_publishing() {
        return Ok(());
    }
    let client = http::client()?;
    let started = Instant::now();
    let proof = auth::prove_trusted_publishing(settings, runner, &client, &report.name).await;
    report.phases.record("authenticate", started);
    match proof? {
        auth::Proof::Accepted(index, identity) => {
            let text = format!(
                "the index at {} accepted this job as publisher ({identity}); the token it minted was discarded, and nothing was uploaded",
                http::display_url(&index)
            );
            Console::line(&format!("Trusted Publishing works: {text}"));
            report.publisher_proof = Some(text);
        }
        auth::Proof::NoOidcToken => Console::line(
            "Trusted Publishing not checked: this job has no OIDC token (in GitHub Actions, `permissions: id-token: write` lets the dry run exchange one with the index to prove the publisher)",
        ),
    }
    Ok(())
}

/// Authenticate, sort out what the index already has, attest, upload, confirm, release; the
/// wall time of each phase goes into the report, also when the phase fails.
async fn publish(
    settings: &Settings,
    runner: &Runner,
    dists: &[Dist],
    projects: &[Project],
    report: &mut Report,
) -> anyhow::Result<()> {
    let client = http::client()?;
    // What the release step will be able to do, known before anything is uploaded.
    let started = Instant::now();
    let gate = release::preflight(settings, runner, &client).await;
    report.phases.record("release", started);
    let gate = gate?;
    let names: Vec<&str> = projects
        .iter()
        .map(|project| project.name.as_str())
        .collect();
    let started = Instant::now();
    let authenticator =
        auth::Authenticator::select(settings, runner, &client, &report.name, &names).await;
    report.phases.record("authenticate", started);
    let authenticator = authenticator?;
    if matches!(authenticator, auth::Authenticator::Static(_)) && auth::on_pypi(settings) {
        // As pypa's action does: the summary links the pages that create a Trusted Publisher
        // for this workflow, prefilled.
        report.publisher_links = auth::publisher_links(settings, runner, &names);
    }
    let uploader = Uploader {
        client: &client,
        upload_client: http::upload_client()?,
        repository_url: settings.repository_url.clone(),
        check_url: settings.check_url.clone(),
        auth: &authenticator,
        policy: http::RetryPolicy::from_env(),
        skip_existing: settings.skip_existing,
    };

    // What the index has, and how old each release is (PyPI's 14-day window), asked at once.
    let started = Instant::now();
    let windows = futures_util::future::join_all(projects.iter().map(|project| {
        release_window::lookup_window(
            &client,
            &settings.check_url,
            &project.name,
            &project.version,
        )
    }));
    let (existing, windows) = tokio::join!(
        sort_out_existing(&uploader, dists, projects, report),
        windows
    );
    report.phases.record("upload", started);
    let (to_upload, new_releases) = existing?;
    for (project, window) in projects.iter().zip(&windows) {
        let files: Vec<&str> = to_upload
            .iter()
            .filter(|dist| project.owns(dist))
            .map(|dist| dist.file_name())
            .collect();
        if !files.is_empty() {
            release_window::refuse_if_closed(window, &project.name, &project.version, &files)?;
        }
    }
    let started = Instant::now();
    let attested = attest::attest(settings, runner, &client, &authenticator, &to_upload).await;
    report.phases.record("attest", started);
    let (attestations, attestation_status) = attested.inspect_err(|_| {
        report.attestations = Some("failed, so nothing was uploaded".to_owned());
    })?;
    report.attestations = attestation_status;
    let started = Instant::now();
    let upload_result = upload_plan::upload_all(
        &uploader,
        settings.upload_concurrency,
        &to_upload,
        &new_releases,
        &attestations,
        report,
    )
    .await;
    report.phases.record("upload", started);
    upload_result?;
    let started = Instant::now();
    report.confirmed = confirm_uploads(&uploader, dists, projects, &report.uploaded()).await;
    report.phases.record("confirm", started);
    let differing = report.skipped_different();
    if !differing.is_empty() && gate.will_release() {
        return Err(ReleaseWithheld { files: differing }.into());
    }

    let publication = release::Publication::new(report, dists);
    let started = Instant::now();
    let released = release::publish(settings, runner, &client, &publication, gate).await;
    report.phases.record("release", started);
    match released.map_err(|source| ReleaseFailed { source })? {
        release::Released::Made(outcome) => report.release = Some(outcome),
        release::Released::Skipped(reason) => report.release_skipped = Some(reason),
        release::Released::NotWanted => {}
    }
    Ok(())
}

/// The dists are on the index but the GitHub release could not be finished.
#[derive(Debug, thiserror::Error)]
#[error("the dists are on the index, but the GitHub release failed; re-run the job to finish it")]
pub struct ReleaseFailed {
    source: anyhow::Error,
}

/// `skip-existing` let a run pass although the index holds other files under our names; a
/// release made from the local files would not match what the index serves (DESIGN §7: a
/// release only once every dist is on the index).
#[derive(Debug, thiserror::Error)]
#[error(
    "no GitHub release was made: the index has different files under the names {} (skipped because skip-existing is on), so the release assets would not be what the index serves; rebuild exactly the published files, or bump the version and publish again",
    files.join(", ")
)]
pub struct ReleaseWithheld {
    files: Vec<String>,
}

/// Discover, read and verify every dist; report all problems together.
fn verify_dists(settings: &Settings) -> anyhow::Result<Vec<Dist>> {
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

/// Map over items on a few threads (hashing and archive reading are CPU-bound), keeping order.
fn parallel_map<T: Sync, R: Send>(items: &[T], function: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let threads = std::thread::available_parallelism()
        .map_or(2, std::num::NonZero::get)
        .clamp(1, 4)
        .min(items.len().max(1));
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut results: Vec<Option<R>> = (0..items.len()).map(|_| None).collect();
    let slots: Vec<std::sync::Mutex<&mut Option<R>>> =
        results.iter_mut().map(std::sync::Mutex::new).collect();
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                loop {
                    let index = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(item) = items.get(index) else { break };
                    let value = function(item);
                    if let Ok(mut slot) = slots[index].lock() {
                        **slot = Some(value);
                    }
                }
            });
        }
    });
    drop(slots);
    results.into_iter().flatten().collect()
}

/// Ask the index once which files it already has: identical ones are skipped, different ones
/// are an error (or a warning with skip-existing). Returns the dists still to upload, and the
/// projects (normalised names) whose release the index does not have yet (not listed, or
/// the index could not be asked): their first file goes alone.
async fn sort_out_existing<'d>(
    uploader: &Uploader<'_>,
    dists: &'d [Dist],
    projects: &[Project],
    report: &mut Report,
) -> anyhow::Result<(Vec<&'d Dist>, BTreeSet<String>)> {
    // One simple-index page per project.
    let mut lookups = BTreeMap::new();
    let mut new_releases = BTreeSet::new();
    for project in projects {
        let lookup = match index::lookup(uploader.client, &uploader.check_url, &project.name).await
        {
            Ok(lookup) => lookup,
            Err(error) => {
                Console::notice(
                    "Index lookup unavailable",
                    &format!(
                        "could not list the files of {} already on the index ({error:#}); the upload answers will decide",
                        project.name
                    ),
                );
                Lookup::NotFound
            }
        };
        let exists = matches!(&lookup, Lookup::Found(files) if files.has_release(&project.version));
        if !exists {
            new_releases.insert(project.normalized.clone());
        }
        lookups.insert(project.normalized.clone(), lookup);
    }
    let mut to_upload = Vec::new();
    let mut errors = Vec::new();
    for dist in dists {
        let lookup = lookups
            .get(&project::project_key(dist))
            .unwrap_or(&Lookup::NotFound);
        let listed = match lookup {
            Lookup::Found(files) => files.sha256_of(dist.file_name()).flatten(),
            Lookup::NotFound => None,
        };
        match listed {
            Some(hash) if hash == dist.digests.sha256 => {
                Console::line(&format!(
                    "{}: already on the index with the same sha256; skipped",
                    dist.file_name()
                ));
                report.set(
                    dist.file_name(),
                    FileReport::done(FileStatus::AlreadyOnIndex, 0),
                );
            }
            Some(hash) => match uploader.different_content(dist, hash) {
                Ok(status) => report.set(dist.file_name(), FileReport::done(status, 0)),
                Err(error) => {
                    report.set(dist.file_name(), FileReport::failed(&error.problem));
                    errors.push(error.to_string());
                }
            },
            None => to_upload.push(dist),
        }
    }
    if !errors.is_empty() {
        anyhow::bail!("nothing was uploaded: {}", errors.join("\n"));
    }
    Ok((to_upload, new_releases))
}

/// After the uploads, read the files this run uploaded (`sent_names`) back from
/// the index: proof, not hope. A file that does not show up (a CDN can lag, a new project's
/// page can 404 for a while) is a warning naming it, not a failure. A file listed without a
/// sha256 is confirmed by name only, and said so.
async fn confirm_uploads(
    uploader: &Uploader<'_>,
    dists: &[Dist],
    projects: &[Project],
    sent_names: &[String],
) -> Option<Confirmation> {
    let mut confirmations = Vec::new();
    for project in projects {
        let sent: Vec<&Dist> = dists
            .iter()
            .filter(|dist| project.owns(dist))
            .filter(|dist| sent_names.iter().any(|name| name == dist.file_name()))
            .collect();
        if !sent.is_empty() {
            confirmations.push(confirm_project(uploader, &project.name, &sent).await);
        }
    }
    Confirmation::combine(confirmations)
}

/// [`confirm_uploads`] for the files of one project.
async fn confirm_project(
    uploader: &Uploader<'_>,
    project: &str,
    dists: &[&Dist],
) -> Option<Confirmation> {
    let check_url = http::display_url(&uploader.check_url);
    let policy = http::RetryPolicy::from_env();
    let attempts = 4;
    let mut missing: Vec<&str> = Vec::new();
    let mut last_error = None;
    for attempt in 1..=attempts {
        let files = match index::lookup(uploader.client, &uploader.check_url, project).await {
            Ok(Lookup::Found(files)) => Some(files),
            Ok(Lookup::NotFound) => None,
            Err(error) => {
                last_error = Some(format!("{error:#}"));
                // An index too slow to answer in time once will not be faster now.
                if index::is_timeout(&error) {
                    break;
                }
                if attempt < attempts {
                    tokio::time::sleep(policy.delay(attempt, None)).await;
                }
                continue;
            }
        };
        last_error = None;
        let listed = |dist: &Dist| {
            files
                .as_ref()
                .and_then(|files| files.sha256_of(dist.file_name()))
        };
        missing = dists
            .iter()
            .filter(|dist| match listed(dist) {
                None => true,
                Some(Some(hash)) => hash != dist.digests.sha256,
                Some(None) => false,
            })
            .map(|dist| dist.file_name())
            .collect();
        if missing.is_empty() {
            let by_name: Vec<&str> = dists
                .iter()
                .filter(|dist| matches!(listed(dist), Some(None)))
                .map(|dist| dist.file_name())
                .collect();
            if by_name.is_empty() {
                Console::line(&format!(
                    "confirmed: the index at {check_url} lists every file with its sha256"
                ));
            } else {
                for name in &by_name {
                    Console::line(&format!(
                        "{name}: listed, but the index publishes no sha256 (confirmed by name only)"
                    ));
                }
                Console::line(&format!(
                    "confirmed: the index at {check_url} lists every uploaded file"
                ));
            }
            return Some(if by_name.is_empty() {
                Confirmation::WithHashes
            } else {
                Confirmation::ByNameOnly(by_name.iter().map(|name| (*name).to_owned()).collect())
            });
        }
        if attempt < attempts {
            tokio::time::sleep(policy.delay(attempt, None)).await;
        }
    }
    if let Some(error) = last_error {
        Console::warning(
            "Could not confirm",
            &format!(
                "the index at {check_url} could not be queried to confirm the uploads ({error})"
            ),
        );
        return None;
    }
    Console::warning(
        "Not yet visible on the index",
        &format!(
            "{} not (yet) listed at {check_url} with the expected sha256; the index may be lagging behind its cache",
            missing.join(", ")
        ),
    );
    Some(Confirmation::Missing(
        missing.iter().map(|name| (*name).to_owned()).collect(),
    ))
}

/// A short title for the one `::error::` annotation of a failed run.
#[must_use]
pub fn error_title(error: &anyhow::Error) -> String {
    if error
        .downcast_ref::<distribution::verify::VerifyFailed>()
        .is_some()
        || error.downcast_ref::<distribution::DistError>().is_some()
    {
        return "Verification failed (nothing uploaded)".to_owned();
    }
    if let Some(oidc) = error.downcast_ref::<oidc::OidcError>() {
        return oidc.title().to_owned();
    }
    if error.is::<release_window::ReleaseClosed>() {
        return "Release closed to new files (nothing uploaded)".to_owned();
    }
    if error.downcast_ref::<attest::AttestFailed>().is_some() {
        return "Attestation failed (nothing uploaded)".to_owned();
    }
    if error
        .chain()
        .any(|cause| cause.is::<upload::UploadError>() || cause.is::<upload::UploadFailed>())
    {
        return "Upload failed".to_owned();
    }
    if error.is::<release::gate::ReleaseImpossible>() {
        return "GitHub release impossible (nothing uploaded)".to_owned();
    }
    if error.is::<ReleaseWithheld>() {
        return "GitHub release withheld".to_owned();
    }
    if error.is::<ReleaseFailed>() {
        return "GitHub release failed".to_owned();
    }
    "Publishing failed".to_owned()
}
