//! The release flow of one run: find -> create as a draft (or join a parallel job's) -> fill an
//! empty body -> attach missing assets -> publish. Every step re-reads GitHub's state, so a
//! re-run finishes what a failed run left.

use anyhow::Context as _;
use serde_json::json;

use super::api::{GitHub, Release};
use super::notes::{self, Source};
use super::{Plan, Publication, ReleaseOutcome, assets};
use crate::actions::{Console, Runner};
use crate::inputs::Settings;

pub(super) struct Releaser<'a> {
    pub github: &'a GitHub<'a>,
    pub settings: &'a Settings,
    pub runner: &'a Runner,
    pub publication: &'a Publication,
    pub plan: &'a Plan,
    /// GitHub's generated notes from the permission probe, if it made them.
    pub generated_notes: Option<String>,
}

impl Releaser<'_> {
    pub async fn run(&self) -> anyhow::Result<ReleaseOutcome> {
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
            release = Box::pin(self.publish_draft(release)).await?;
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
        Ok(ReleaseOutcome {
            url: release.html_url.to_string(),
            id: release.id.into_inner(),
            prerelease: release.prerelease,
        })
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
        if let Some(notes) = &self.generated_notes {
            return Some(notes.clone());
        }
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
