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
pub mod failure;
pub mod http;
pub mod index;
pub mod inputs;
pub mod markdown;
pub mod progress;
pub mod release;
pub mod release_window;
pub mod report;
pub mod timing;
pub mod upload;
pub mod verification;

use std::time::Instant;

use crate::actions::{Console, Runner};
use crate::distribution::Dist;
use crate::distribution::project::{self, Project};
use crate::inputs::Settings;
use crate::report::Report;
use crate::upload::Uploader;

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
    let dists = verification::verify_dists(&settings)?;
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
        release::plan(&settings, &runner, &report.publication(&dists));
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
        upload::sort_out_existing(&uploader, dists, projects, report),
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
    let upload_result = upload::upload_all(
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
    report.confirmed =
        upload::confirm_uploads(&uploader, dists, projects, &report.uploaded()).await;
    report.phases.record("confirm", started);
    let differing = report.skipped_different();
    if !differing.is_empty() && gate.will_release() {
        return Err(failure::ReleaseWithheld { files: differing }.into());
    }

    let publication = report.publication(dists);
    let started = Instant::now();
    let released = release::publish(settings, runner, &client, &publication, gate).await;
    report.phases.record("release", started);
    match released.map_err(|source| failure::ReleaseFailed { source })? {
        release::Released::Made(outcome) => report.release = Some(outcome),
        release::Released::Skipped(reason) => report.release_skipped = Some(reason),
        release::Released::NotWanted => {}
    }
    Ok(())
}
