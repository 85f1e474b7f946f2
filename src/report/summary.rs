//! The Markdown step summary (DESIGN §2): per project a table of the files with their state,
//! the attestations, the confirmation, the release, and what to do next.

use super::{ProjectReport, Report};
use crate::markdown;
use crate::upload::{Confirmation, FileReport};

impl Report {
    /// The dists table of one project.
    fn table(&self, project: &ProjectReport) -> String {
        let mut text =
            "| File | Size | SHA-256 | Status | Link |\n|---|---:|---|---|---|\n".to_owned();
        for row in self
            .rows
            .iter()
            .filter(|row| row.project == project.normalized)
        {
            let link = project
                .file_link
                .as_ref()
                .map(|url| markdown::link("index", url))
                .unwrap_or_default();
            text.push_str(&format!(
                "| {} | {} | `{}` | {} | {} |\n",
                markdown::code_in_table(&row.file_name),
                human_size(row.size),
                row.sha256,
                markdown::text(&row.state.label()),
                link
            ));
        }
        text
    }

    /// The step summary: the dists table (one per project), the confirmation, the release
    /// link (a link only when it is on the GitHub server `server_url`, as a release's page is).
    #[must_use]
    pub fn summary_markdown(&self, server_url: &str) -> String {
        let dry_run = if self.dry_run { " (dry run)" } else { "" };
        let mut text = match self.projects.as_slice() {
            [one] => format!(
                "## {} {}{dry_run}\n\n{}",
                markdown::text(&one.name),
                markdown::text(&one.version),
                self.table(one)
            ),
            several => {
                let mut text = format!("## {} projects{dry_run}\n", several.len());
                for project in several {
                    text.push_str(&format!(
                        "\n### {} {}\n\n{}",
                        markdown::text(&project.name),
                        markdown::text(&project.version),
                        self.table(project)
                    ));
                }
                text
            }
        };
        for row in &self.rows {
            if let FileReport::Failed { problem } = &row.state {
                text.push_str(&format!(
                    "\n**{}**: {}\n",
                    markdown::code(&row.file_name),
                    markdown::text(problem)
                ));
            }
        }
        match &self.confirmed {
            Some(Confirmation::WithHashes) => text.push_str(
                "\nConfirmed: the index lists every uploaded file with the sha256 above.\n",
            ),
            Some(Confirmation::ByNameOnly(names)) => text.push_str(&format!(
                "\nConfirmed by name: the index lists every uploaded file, but publishes no sha256 for {}.\n",
                names.iter().map(|name| markdown::code(name)).collect::<Vec<_>>().join(", ")
            )),
            Some(Confirmation::Missing(names)) => text.push_str(&format!(
                "\nNot yet confirmed: {} not listed by the index with the sha256 above after the upload (cache lag?).\n",
                names.iter().map(|name| markdown::code(name)).collect::<Vec<_>>().join(", ")
            )),
            None => {}
        }
        if let Some(attestations) = &self.attestations {
            text.push_str(&format!(
                "\nAttestations: {}\n",
                markdown::message(attestations)
            ));
        }
        if let Some(proof) = &self.publisher_proof {
            text.push_str(&format!(
                "\nTrusted Publishing works: {}\n",
                markdown::text(proof)
            ));
        }
        if !self.publisher_links.is_empty() {
            text.push_str(
                "\n**Publish without a stored token**: a Trusted Publisher for this workflow can be created at (logged in as an owner of the project):\n\n",
            );
            for link in &self.publisher_links {
                text.push_str(&format!("- <{link}>\n"));
            }
        }
        if let Some(skipped) = &self.release_skipped {
            // The permissions YAML of the reason as a code block, the rest as text.
            let yaml = crate::release::gate::PERMISSIONS_YAML;
            let rendered = match skipped.split_once(yaml) {
                Some((before, after)) => format!(
                    "{}\n\n```yaml\n{}\n```\n\n{}",
                    markdown::message(before.trim()),
                    yaml.lines()
                        .map(|line| line.strip_prefix("  ").unwrap_or(line))
                        .collect::<Vec<_>>()
                        .join("\n"),
                    markdown::message(after.trim())
                ),
                None => markdown::message(skipped),
            };
            text.push_str(&format!("\n**No GitHub release**: {rendered}\n"));
        }
        if let Some(release) = &self.release {
            let on_server = url::Url::parse(&release.url)
                .ok()
                .zip(url::Url::parse(server_url).ok())
                .is_some_and(|(release, server)| release.origin() == server.origin());
            let shown = if on_server {
                markdown::link(&release.url, &release.url)
            } else {
                markdown::code(&release.url)
            };
            text.push_str(&format!(
                "\nGitHub release: {}{}\n",
                shown,
                if release.prerelease {
                    " (pre-release)"
                } else {
                    ""
                }
            ));
        }
        text.push_str(&self.phases.markdown());
        text
    }
}

#[must_use]
pub fn human_size(bytes: u64) -> String {
    #[expect(clippy::cast_precision_loss, reason = "display only")]
    let value = bytes as f64;
    if bytes < 1024 {
        format!("{bytes} B")
    } else if bytes < 1024 * 1024 {
        format!("{:.1} KiB", value / 1024.0)
    } else {
        format!("{:.1} MiB", value / 1024.0 / 1024.0)
    }
}

#[cfg(test)]
mod tests {
    use super::{ProjectReport, Report};

    #[test]
    fn the_summary_links_the_trusted_publisher_pages_in_token_mode() {
        let report = Report {
            projects: vec![ProjectReport {
                name: "demo".to_owned(),
                normalized: "demo".to_owned(),
                version: "1.0".to_owned(),
                ..ProjectReport::default()
            }],
            publisher_links: vec![
                "https://pypi.org/manage/project/demo/settings/publishing/?provider=github&owner=o&repository=r&workflow_filename=w.yml".to_owned(),
            ],
            ..Report::default()
        };
        let summary = report.summary_markdown("https://github.com");
        assert!(summary.starts_with("## demo 1.0\n"), "{summary}");
        assert!(
            summary.contains("**Publish without a stored token**")
                && summary.contains("- <https://pypi.org/manage/project/demo/settings/publishing/?provider=github&owner=o&repository=r&workflow_filename=w.yml>\n"),
            "{summary}"
        );
    }
}
