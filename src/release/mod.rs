//! The GitHub release (DESIGN §7): find or create the release for the tag, notes from the
//! changelog, pre-release flags, the dists as assets; safe to re-run.
//!
//! Order: find (published by tag, then drafts by listing) -> create as a draft when missing ->
//! fill an empty body -> attach missing assets -> publish (unless `draft: true`). A re-run finds
//! the same release and finishes whatever a failed run left; a published release is never
//! turned back into a draft and keeps its name and body.

pub mod api;
mod assets;
mod flow;
pub mod gate;
pub mod notes;

use anyhow::Context as _;
use secrecy::SecretString;

use crate::actions::{Console, Runner};
use crate::http::RetryPolicy;
use crate::inputs::{ReleaseMode, Settings};
use api::{ApiError, GitHub};
pub use gate::{Gate, preflight};
use notes::{ChangelogFile, Footer, Source};

/// What the publish step hands to the release step.
#[derive(Debug, Clone)]
pub struct Publication {
    /// The project the release is for (the tag's, when several share packages-dir).
    pub name: String,
    pub version: String,
    /// Every dist of every project (uploaded or already on the index), in upload order.
    pub files: Vec<std::path::PathBuf>,
    /// The index's page for this version, when known (pypi.org / test.pypi.org).
    pub package_url: Option<String>,
    /// Every project: (name, version, index page), for the footer.
    pub projects: Vec<(String, String, Option<String>)>,
}

/// What the release step did.
#[derive(Debug, Clone)]
pub enum Released {
    Made(ReleaseOutcome),
    /// `release: auto` could not make it: why, and how to get one.
    Skipped(String),
    /// `release: false`, or `auto` on a run that is not for a tag.
    NotWanted,
}

/// The release as it stands after this run.
#[derive(Debug, Clone)]
pub struct ReleaseOutcome {
    pub url: String,
    pub id: u64,
    pub prerelease: bool,
}

/// Everything decided before talking to GitHub.
#[derive(Debug)]
struct Plan {
    tag: String,
    repository: String,
    prerelease: bool,
    make_latest: bool,
    changelog: Option<ChangelogFile>,
    footer: Footer,
}

/// `None` (with a line saying why) when there is nothing to release.
/// `announce`: a real run (say why a release is skipped; the dry run's plan already did).
fn plan_for(
    settings: &Settings,
    runner: &Runner,
    publication: &Publication,
    announce: bool,
) -> anyhow::Result<Option<Plan>> {
    if !settings.release.wanted() {
        if announce {
            Console::line(
                "release: off (input `release` is false); the GitHub release was skipped",
            );
        }
        return Ok(None);
    }
    let Some(tag) = settings.tag.clone() else {
        if announce {
            Console::line(
                "release: none, skipped because the run is not for a tag (release: auto; push a tag, or set the input `tag`, to release)",
            );
        }
        return Ok(None);
    };
    let repository = match (&runner.repository, announce) {
        (Some(repository), _) => repository.clone(),
        // The dry run still shows the release, with a placeholder.
        (None, false) => "OWNER/REPO".to_owned(),
        (None, true) => anyhow::bail!(
            "GITHUB_REPOSITORY is not set: the release needs `owner/name` (it is set on every GitHub runner; locally, export it or pass --release=false)"
        ),
    };
    let prerelease = settings
        .prerelease
        .resolve(notes::auto_prerelease(&publication.version, &tag));
    let make_latest = settings.make_latest.resolve(!prerelease);
    let changelog = crate::changelog::locate(&settings.workspace, settings.changelog.as_deref())
        .map(|(path, relative)| ChangelogFile { path, relative });
    let footer = Footer {
        packages: publication
            .projects
            .iter()
            .filter_map(|(name, version, url)| {
                let url = url.clone()?;
                let index = if url.starts_with("https://test.pypi.org/") {
                    "TestPyPI"
                } else {
                    "PyPI"
                };
                Some((format!("{name} {version} on {index}"), url))
            })
            .collect(),
        changelog_url: changelog.as_ref().map(|file| {
            (
                file.relative.clone(),
                notes::blob_url(&runner.server_url, &repository, &tag, &file.relative),
            )
        }),
    };
    Ok(Some(Plan {
        tag,
        repository,
        prerelease,
        make_latest,
        changelog,
        footer,
    }))
}

/// The dry run: print the release that would be made, with its notes. Sends nothing (GitHub's
/// generated notes cannot be previewed offline; the plan says when they would be used).
pub fn plan(settings: &Settings, runner: &Runner, publication: &Publication) {
    let plan = match plan_for(settings, runner, publication, false) {
        Ok(Some(plan)) => plan,
        Ok(None) => return,
        Err(error) => {
            Console::warning("Release plan", &format!("{error:#}"));
            return;
        }
    };
    Console::group(&format!("Release plan (dry run): {}", plan.tag));
    Console::line(&format!("repository   {}", plan.repository));
    Console::line(&format!(
        "tag          {} (from {})",
        plan.tag, settings.tag_source
    ));
    Console::line(&format!(
        "name         {} (an existing release keeps its name)",
        plan.tag
    ));
    Console::line(&format!("prerelease   {}", plan.prerelease));
    Console::line(&format!("make_latest  {}", plan.make_latest));
    Console::line(&format!(
        "draft        {}",
        if settings.draft {
            "true (left as a draft)"
        } else {
            "false (created as a draft, published after the assets)"
        }
    ));
    if settings.release_assets {
        for file in &publication.files {
            Console::line(&format!("asset        {}", assets::file_name(file)));
        }
    } else {
        Console::line("assets       none (release-assets: false)");
    }
    let section = plan
        .changelog
        .as_ref()
        .and_then(|file| notes::changelog_section(file, &publication.version));
    let notes = if let Some((text, Source::Changelog { file, heading })) = &section {
        Console::line(&format!("notes        from {file}, section `{heading}`:"));
        text.clone()
    } else {
        let reason = plan.changelog.as_ref().map_or_else(
            || "no changelog file found".to_owned(),
            |file| {
                format!(
                    "no section for {} in {}",
                    publication.version, file.relative
                )
            },
        );
        Console::line(&format!(
            "notes        GitHub's generated notes ({reason}); if GitHub cannot generate them:"
        ));
        notes::generic(&publication.name, &publication.version)
    };
    let full = plan
        .footer
        .changelog_url
        .as_ref()
        .map_or_else(String::new, |(_, url)| url.clone());
    for line in notes::compose(&notes, &plan.footer, &full).lines() {
        Console::line(format!("  | {line}").trim_end());
    }
    Console::end_group();
}

/// Create or update the release, as [`preflight`] decided. With `release: auto` a 403 from
/// GitHub (no `contents: write`) is a notice, not a failure: the dists are published.
pub async fn publish(
    settings: &Settings,
    runner: &Runner,
    client: &reqwest::Client,
    publication: &Publication,
    gate: Gate,
) -> anyhow::Result<Released> {
    let generated_notes = match gate {
        Gate::Skip(reason) => {
            gate::announce_skip(&reason);
            return Ok(Released::Skipped(reason));
        }
        Gate::Go { generated_notes } => generated_notes,
        Gate::Off | Gate::NoTag => None,
    };
    let Some(plan) = plan_for(settings, runner, publication, true)? else {
        return Ok(Released::NotWanted);
    };
    let token: SecretString = settings.github_token.clone().context(
        "no GitHub token for the release: the input `github-token` defaults to `${{ github.token }}`; locally export GITHUB_TOKEN, or set `release: false`",
    )?;
    crate::actions::mask(&token);
    let api = crate::inputs::parse_url("GITHUB_API_URL", &runner.api_url)
        .context("GITHUB_API_URL must be the API base URL (https://api.github.com, or https://HOST/api/v3 on GitHub Enterprise Server)")?;
    let github = GitHub::new(
        client,
        &api,
        &plan.repository,
        &token,
        RetryPolicy::from_env(),
    )?;
    let release = flow::Releaser {
        github: &github,
        settings,
        runner,
        publication,
        plan: &plan,
        generated_notes,
    };
    // Boxed: octocrab's release model is large (~2 KB, with its author), and the flow holds
    // a few across awaits; the futures of the whole run need not carry them.
    match Box::pin(release.run()).await {
        Ok(outcome) => Ok(Released::Made(outcome)),
        Err(error) if settings.release == ReleaseMode::Auto && gate::refused_permission(&error) => {
            tracing::debug!("release refused: {error:#}");
            let reason = gate::no_permission_notice(&plan.tag);
            gate::announce_skip(&reason);
            Ok(Released::Skipped(reason))
        }
        Err(error) => Err(explain(error, &plan)),
    }
}

/// Add what to do to the errors users meet: permissions, immutable releases.
fn explain(error: anyhow::Error, plan: &Plan) -> anyhow::Error {
    let Some(status) = error
        .chain()
        .find_map(|cause| cause.downcast_ref::<ApiError>().and_then(ApiError::status))
        .or_else(|| {
            error
                .chain()
                .find_map(|cause| cause.downcast_ref::<crate::http::HttpError>())
                .map(|http| http.status)
        })
    else {
        return error;
    };
    let text = format!("{error:#}").to_ascii_lowercase();
    match status.as_u16() {
        401 => error.context(
            "GitHub refused the token (401): check the input `github-token` (default `${{ github.token }}`)",
        ),
        403 if text.contains("rate limit") => error.context(
            "GitHub's rate limit for this token is exhausted: re-run the job later (the dists are already on the index)",
        ),
        403 | 404 => error.context(format!(
            "GitHub answered {status} for repository {}: the token needs `permissions: contents: write`. In the workflow:\n\n  permissions:\n    contents: write   # create the GitHub release\n    id-token: write   # Trusted Publishing\n\n(a personal token needs the `repo` scope or, fine-grained, Contents: read and write)",
            plan.repository
        )),
        422 if text.contains("immutable") => error.context(format!(
            "the release for {} is immutable (the repository has immutable releases on): once published, its assets and tag cannot change. Assets are attached while it is a draft; to change a published release, release a new version",
            plan.tag
        )),
        _ => error,
    }
}
