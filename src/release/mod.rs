//! The GitHub release (DESIGN §7): find or create the release for the tag, notes from the
//! changelog, pre-release flags, the dists as assets; safe to re-run.
//!
//! Order: find (published by tag, then drafts by listing) -> create as a draft when missing ->
//! fill an empty body -> attach missing assets -> publish (unless `draft: true`). A re-run finds
//! the same release and finishes whatever a failed run left; a published release is never
//! turned back into a draft and keeps its name and body.

pub mod api;
mod assets;
pub mod notes;

use anyhow::Context as _;
use secrecy::SecretString;
use serde_json::json;

use crate::actions::{Console, Runner};
use crate::http::RetryPolicy;
use crate::inputs::Settings;
use api::{ApiError, GitHub, Release};
use notes::{ChangelogFile, Footer, Source};

/// What the publish step hands to the release step.
#[derive(Debug, Clone)]
pub struct Publication {
    pub name: String,
    pub version: String,
    /// Every dist (uploaded or already on the index), in upload order.
    pub files: Vec<std::path::PathBuf>,
    /// The index's page for this version, when known (pypi.org / test.pypi.org).
    pub package_url: Option<String>,
}

impl Publication {
    /// The publication a run would make, for the dry run's plan.
    #[must_use]
    pub fn planned(report: &crate::report::Report, dists: &[crate::dist::Dist]) -> Self {
        Self {
            name: report.name.clone(),
            version: report.version.clone(),
            files: dists.iter().map(|dist| dist.path.clone()).collect(),
            package_url: report.package_url.clone(),
        }
    }
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
    if !settings.release {
        if announce {
            Console::line(
                "release: off (input `release` is false); the GitHub release was skipped",
            );
        }
        return Ok(None);
    }
    let Some(tag) = settings.tag.clone() else {
        if announce {
            Console::notice(
                "Release skipped",
                "the GitHub release was skipped because the run is not for a tag: push a tag (on: push: tags) or set the input `tag`",
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
    let index = match publication.package_url.as_deref() {
        Some(url) if url.starts_with("https://test.pypi.org/") => "TestPyPI",
        _ => "PyPI",
    };
    let footer = Footer {
        package_url: publication.package_url.clone(),
        package_label: format!("{} {} on {index}", publication.name, publication.version),
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

/// Create or update the release. `Ok(None)` when there is nothing to release (no tag,
/// `release: false`), with a line saying why.
pub async fn publish(
    settings: &Settings,
    runner: &Runner,
    client: &reqwest::Client,
    publication: &Publication,
) -> anyhow::Result<Option<ReleaseOutcome>> {
    let Some(plan) = plan_for(settings, runner, publication, true)? else {
        return Ok(None);
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
        token,
        RetryPolicy::from_env(),
    )?;
    let release = Releaser {
        github: &github,
        settings,
        runner,
        publication,
        plan: &plan,
    };
    release.run().await.map_err(|error| explain(error, &plan))
}

struct Releaser<'a> {
    github: &'a GitHub<'a>,
    settings: &'a Settings,
    runner: &'a Runner,
    publication: &'a Publication,
    plan: &'a Plan,
}

impl Releaser<'_> {
    async fn run(&self) -> anyhow::Result<Option<ReleaseOutcome>> {
        let tag = &self.plan.tag;
        let mut release = match self.find().await? {
            Some(found) => {
                Console::line(&format!(
                    "release: found the {} release for {tag} ({})",
                    if found.draft { "draft" } else { "published" },
                    found.html_url
                ));
                self.fill_body(found).await?
            }
            None => self.create().await?,
        };
        if self.settings.release_assets {
            assets::sync(self.github, &release, &self.publication.files).await?;
        }
        if release.draft && !self.settings.draft {
            release = self.publish_draft(release).await?;
        } else if release.draft {
            Console::line(&format!(
                "release: left as a draft (draft: true): {}",
                release.html_url
            ));
        } else if self.settings.draft {
            Console::notice(
                "Release already published",
                &format!(
                    "the release for {tag} is already published; it is not turned back into a draft (draft: true applies to new releases only)"
                ),
            );
        }
        Ok(Some(ReleaseOutcome {
            url: release.html_url,
            id: release.id,
            prerelease: release.prerelease,
        }))
    }

    /// Publish our draft. GitHub allows several drafts for one tag, so a parallel job may have
    /// published its own first (422 `already_exists`): then ours is removed and theirs gets
    /// the assets, leaving one release.
    async fn publish_draft(&self, draft: Release) -> anyhow::Result<Release> {
        let tag = &self.plan.tag;
        let request = json!({
            "draft": false,
            "make_latest": self.plan.make_latest.to_string(),
        });
        match self.github.update_release(draft.id, &request).await {
            Ok(published) => {
                Console::line(&format!("release: published {}", published.html_url));
                Ok(published)
            }
            Err(error) if error.already_exists() => {
                let winner = self
                    .github
                    .release_by_tag(tag)
                    .await
                    .with_context(|| format!("failed to look up the release for {tag}"))?
                    .ok_or_else(|| {
                        anyhow::Error::new(error)
                            .context(format!("failed to publish the draft release for {tag}"))
                    })?;
                Console::line(&format!(
                    "release: another job published {tag} first ({}); removing our duplicate draft",
                    winner.html_url
                ));
                self.github
                    .delete_release(draft.id)
                    .await
                    .context("failed to delete the duplicate draft release")?;
                if self.settings.release_assets {
                    assets::sync(self.github, &winner, &self.publication.files).await?;
                }
                Ok(winner)
            }
            Err(error) => Err(anyhow::Error::new(error)
                .context(format!("failed to publish the draft release for {tag}"))),
        }
    }

    /// The published release of the tag, else a draft with the tag (get-by-tag hides drafts).
    async fn find(&self) -> anyhow::Result<Option<Release>> {
        let tag = &self.plan.tag;
        if let Some(release) = self
            .github
            .release_by_tag(tag)
            .await
            .with_context(|| format!("failed to look up the release for {tag}"))?
        {
            return Ok(Some(release));
        }
        let drafts = self
            .github
            .drafts_for(tag)
            .await
            .context("failed to list the releases (to find a draft for the tag)")?;
        Ok(drafts.into_iter().next())
    }

    /// Create the release as a draft. A 422 `already_exists` means a parallel job won: use its
    /// release. After an ambiguous failure (5xx, dropped connection) look before re-sending.
    async fn create(&self) -> anyhow::Result<Release> {
        let tag = &self.plan.tag;
        let body = self.notes().await;
        let mut request = json!({
            "tag_name": tag,
            "name": tag,
            "body": body,
            "draft": true,
            "prerelease": self.plan.prerelease,
        });
        if let Some(sha) = self.target_commitish().await {
            request["target_commitish"] = json!(sha);
        }
        let attempts = self.github.policy.attempts;
        for attempt in 1..=attempts {
            match self.github.create_release(&request).await {
                Ok(release) => {
                    Console::line(&format!(
                        "release: created a draft for {tag} ({})",
                        release.html_url
                    ));
                    return Ok(release);
                }
                Err(error) if error.already_exists() => {
                    Console::line(&format!(
                        "release: {tag} was created by another job meanwhile; continuing with it"
                    ));
                    return self.find_after_race().await;
                }
                Err(error) if error.is_transient() && attempt < attempts => {
                    tokio::time::sleep(self.github.wait_for(&error, attempt)).await;
                    if let Some(found) = self.find().await? {
                        return Ok(found);
                    }
                    tracing::debug!("{error}; the release does not exist, creating it again");
                }
                Err(error) => {
                    return Err(anyhow::Error::new(error)
                        .context(format!("failed to create the release for {tag}")));
                }
            }
        }
        anyhow::bail!("failed to create the release for {tag}")
    }

    async fn find_after_race(&self) -> anyhow::Result<Release> {
        for attempt in 1..=self.github.policy.attempts {
            if let Some(found) = self.find().await? {
                return Ok(found);
            }
            tokio::time::sleep(self.github.policy.delay(attempt, None)).await;
        }
        anyhow::bail!(
            "GitHub said a release for {} already exists, but it cannot be found: is it a draft another token owns? Delete the stale draft or publish it, then re-run",
            self.plan.tag
        )
    }

    /// An existing release keeps its body; an empty one gets the notes.
    async fn fill_body(&self, release: Release) -> anyhow::Result<Release> {
        if release
            .body
            .as_deref()
            .is_some_and(|body| !body.trim().is_empty())
        {
            return Ok(release);
        }
        let body = self.notes().await;
        let updated = self
            .github
            .update_release(release.id, &json!({ "body": body }))
            .await
            .with_context(|| {
                format!(
                    "failed to write the notes of the release for {}",
                    self.plan.tag
                )
            })?;
        Console::line("release: the existing release had no notes; filled them in");
        Ok(updated)
    }

    /// The tag's commit is the workflow's: send `target_commitish` only when the tag does not
    /// exist yet (GitHub creates it when the release is published).
    async fn target_commitish(&self) -> Option<String> {
        let sha = self.runner.sha.clone()?;
        let tag = &self.plan.tag;
        if self.runner.github_ref.as_deref() == Some(&format!("refs/tags/{tag}")) {
            return None;
        }
        match self.github.tag_exists(tag).await {
            Ok(true) => None,
            Ok(false) | Err(_) => Some(sha),
        }
    }

    /// The changelog section, else GitHub's generated notes, else a generic line; plus footer.
    async fn notes(&self) -> String {
        let publication = self.publication;
        let section = self
            .plan
            .changelog
            .as_ref()
            .and_then(|file| notes::changelog_section(file, &publication.version));
        let (text, source) = match section {
            Some(found) => found,
            None => match self.generated_notes().await {
                Some(text) => (text, Source::Generated),
                None => (
                    notes::generic(&publication.name, &publication.version),
                    Source::Generic,
                ),
            },
        };
        match &source {
            Source::Changelog { file, heading } => {
                Console::line(&format!("release notes: {file}, section `{heading}`"));
            }
            Source::Generated => {
                let reason = self.plan.changelog.as_ref().map_or_else(
                    || "no changelog file".to_owned(),
                    |file| {
                        format!(
                            "no section for {} in {}",
                            publication.version, file.relative
                        )
                    },
                );
                Console::line(&format!("release notes: generated by GitHub ({reason})"));
            }
            Source::Generic => Console::line(
                "release notes: a generic line (no changelog section, and GitHub could not generate notes)",
            ),
        }
        let full = self
            .plan
            .footer
            .changelog_url
            .as_ref()
            .map_or_else(String::new, |(_, url)| url.clone());
        notes::compose(&text, &self.plan.footer, &full)
    }

    async fn generated_notes(&self) -> Option<String> {
        let mut request = json!({ "tag_name": self.plan.tag });
        if let Some(sha) = &self.runner.sha {
            request["target_commitish"] = json!(sha);
        }
        match self.github.generate_notes(&request).await {
            Ok(notes) if !notes.body.trim().is_empty() => Some(notes.body),
            Ok(_) => None,
            Err(error) => {
                Console::warning(
                    "Generated notes unavailable",
                    &format!(
                        "GitHub could not generate release notes ({error}); using a generic line"
                    ),
                );
                None
            }
        }
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
