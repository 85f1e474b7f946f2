//! What the user sees at the end: per-file status lines, `$GITHUB_OUTPUT` and the Markdown
//! step summary (DESIGN §1 outputs, §2 summary).

use std::collections::BTreeMap;

mod summary;

pub use summary::human_size;

use crate::actions::{Console, Runner};
use crate::distribution::Dist;
use crate::inputs::{ReleaseMode, Settings};
use crate::release::{Publication, ReleaseOutcome};
use crate::upload::{Confirmation, FileReport, FileStates, FileStatus};

#[derive(Debug, Clone)]
struct Row {
    /// The project's normalised name (rows are grouped by it in the summary).
    project: String,
    file_name: String,
    size: u64,
    sha256: String,
    state: FileReport,
}

/// One project of the run (several may share packages-dir), for the outputs and the summary.
#[derive(Debug, Clone, Default)]
pub struct ProjectReport {
    pub name: String,
    pub normalized: String,
    pub version: String,
    pub files: Vec<String>,
    pub package_url: Option<String>,
    /// Where a file's page is: the version page on PyPI/TestPyPI, else the simple index page.
    pub file_link: Option<String>,
}

/// The run's report, filled as it goes and written once at the end (also after a failure).
#[derive(Debug, Default)]
pub struct Report {
    /// The project `name`/`version`/`package-url` speak for: the only one, or the tag's.
    pub name: String,
    pub version: String,
    pub package_url: Option<String>,
    pub projects: Vec<ProjectReport>,
    rows: Vec<Row>,
    index: BTreeMap<String, usize>,
    pub confirmed: Option<Confirmation>,
    pub release: Option<ReleaseOutcome>,
    /// Token mode on pypi.org: the pages that create a Trusted Publisher for this workflow.
    pub publisher_links: Vec<String>,
    /// Why no release was made although one could have been (`release: auto`), with the fix.
    pub release_skipped: Option<String>,
    pub attestations: Option<String>,
    /// Whether the version is a pre-release (the `prerelease` output when no release is made).
    pub prerelease: Option<bool>,
    pub dry_run: bool,
    /// The wall time of each phase, for the summary.
    pub phases: crate::timing::Phases,
    /// The dry run's proof of Trusted Publishing: whom the index accepted.
    pub publisher_proof: Option<String>,
}

/// The index's page for a version, for pypi.org and test.pypi.org only.
#[must_use]
pub fn package_url(repository_url: &url::Url, name: &str, version: &str) -> Option<String> {
    let host = match repository_url.host_str()? {
        "upload.pypi.org" | "pypi.org" => "pypi.org",
        "test.pypi.org" => "test.pypi.org",
        _ => return None,
    };
    Some(format!(
        "https://{host}/project/{}/{version}/",
        crate::distribution::filename::normalize_name(name)
    ))
}

impl FileStates for Report {
    fn set(&mut self, file_name: &str, state: FileReport) {
        Report::set(self, file_name, state);
    }
}

impl Report {
    /// `primary`: the project `name` and `version` speak for (see [`crate::distribution::project::primary`]).
    #[must_use]
    pub fn new(
        settings: &Settings,
        dists: &[Dist],
        projects: &[crate::distribution::project::Project],
        primary: Option<&crate::distribution::project::Project>,
    ) -> Self {
        let projects: Vec<ProjectReport> = projects
            .iter()
            .map(|project| {
                let package_url =
                    package_url(&settings.repository_url, &project.name, &project.version);
                let file_link = package_url.clone().or_else(|| {
                    crate::index::project_url(&settings.check_url, &project.name)
                        .ok()
                        .map(|url| crate::http::display_url(&url))
                });
                ProjectReport {
                    name: project.name.clone(),
                    normalized: project.normalized.clone(),
                    version: project.version.clone(),
                    files: project.files.clone(),
                    package_url,
                    file_link,
                }
            })
            .collect();
        let main = primary
            .and_then(|primary| {
                projects
                    .iter()
                    .find(|project| project.normalized == primary.normalized)
            })
            .cloned()
            .unwrap_or_default();
        let rows: Vec<Row> = dists
            .iter()
            .map(|dist| Row {
                project: crate::distribution::project::project_key(dist),
                file_name: dist.file_name().to_owned(),
                size: dist.size,
                sha256: dist.digests.sha256.clone(),
                state: FileReport::Pending,
            })
            .collect();
        let index = rows
            .iter()
            .enumerate()
            .map(|(position, row)| (row.file_name.clone(), position))
            .collect();
        Self {
            name: main.name,
            version: main.version,
            package_url: main.package_url,
            projects,
            rows,
            index,
            dry_run: settings.dry_run,
            ..Self::default()
        }
    }

    /// What the release step is handed: this run's dists (also the dry run's plan).
    #[must_use]
    pub fn publication(&self, dists: &[Dist]) -> Publication {
        Publication {
            name: self.name.clone(),
            version: self.version.clone(),
            files: dists.iter().map(|dist| dist.path.clone()).collect(),
            package_url: self.package_url.clone(),
            projects: self
                .projects
                .iter()
                .map(|project| {
                    (
                        project.name.clone(),
                        project.version.clone(),
                        project.package_url.clone(),
                    )
                })
                .collect(),
        }
    }

    pub fn set(&mut self, file_name: &str, state: FileReport) {
        if let Some(&position) = self.index.get(file_name) {
            self.rows[position].state = state;
        }
    }

    fn names_with(&self, wanted: impl Fn(&FileReport) -> bool) -> Vec<String> {
        self.rows
            .iter()
            .filter(|row| wanted(&row.state))
            .map(|row| row.file_name.clone())
            .collect()
    }

    #[must_use]
    pub fn uploaded(&self) -> Vec<String> {
        self.names_with(|state| {
            matches!(
                state,
                FileReport::Done {
                    status: FileStatus::Uploaded,
                    ..
                }
            )
        })
    }

    /// Files skipped because the index has a different file under the same name.
    #[must_use]
    pub fn skipped_different(&self) -> Vec<String> {
        self.names_with(|state| {
            matches!(
                state,
                FileReport::Done {
                    status: FileStatus::SkippedDifferent,
                    ..
                }
            )
        })
    }

    #[must_use]
    pub fn skipped(&self) -> Vec<String> {
        self.names_with(|state| {
            matches!(
                state,
                FileReport::Done {
                    status: FileStatus::AlreadyOnIndex | FileStatus::SkippedDifferent,
                    ..
                }
            )
        })
    }

    /// The dists and their digests, one group per file.
    pub fn print_dists(&self, settings: &Settings, dists: &[Dist]) {
        let what = match self.projects.as_slice() {
            [one] => format!("{} {}", one.name, one.version),
            several => format!(
                "{} projects ({})",
                several.len(),
                several
                    .iter()
                    .map(|project| format!("{} {}", project.name, project.version))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        Console::line(&format!(
            "{what}: {} dist(s) verified in {}",
            dists.len(),
            settings.packages_dir.display()
        ));
        for dist in dists {
            Console::group(&format!("{} ({})", dist.file_name(), human_size(dist.size)));
            if settings.print_hash {
                Console::line(&format!("  sha256      {}", dist.digests.sha256));
                Console::line(&format!("  blake2b-256 {}", dist.digests.blake2_256));
            }
            Console::line(&format!(
                "  metadata {}, {}",
                dist.metadata.metadata_version().unwrap_or("?"),
                dist.kind().filetype()
            ));
            Console::end_group();
        }
    }

    /// The dry run's plan: what would be sent where, with which credentials.
    pub fn print_plan(&self, settings: &Settings, dists: &[Dist]) {
        Console::group("Plan (dry run: nothing is sent)");
        Console::line(&format!(
            "upload to   {}",
            crate::http::display_url(&settings.repository_url)
        ));
        Console::line(&format!(
            "check index {}",
            crate::http::display_url(&settings.check_url)
        ));
        let auth = if settings.trusted_publishing() {
            "Trusted Publishing (OIDC token exchanged for a short-lived PyPI token)".to_owned()
        } else {
            format!("password/token for user `{}`", settings.user)
        };
        Console::line(&format!("credentials {auth}"));
        Console::line(&format!("attestations {}", crate::attest::plan(settings)));
        for (position, dist) in dists.iter().enumerate() {
            Console::line(&format!(
                "  {}. {} {} ({})",
                position + 1,
                dist.kind().filetype(),
                dist.file_name(),
                human_size(dist.size)
            ));
        }
        match (&settings.tag, settings.release) {
            (_, ReleaseMode::Off) => Console::line("release     off (release: false)"),
            (None, ReleaseMode::Auto) => {
                Console::line("release     none: the run is not for a tag (release: auto)");
            }
            (None, ReleaseMode::Required) => Console::line(
                "release     required, but the run is not for a tag: a real run fails before uploading (push a tag or set `tag`)",
            ),
            (Some(tag), mode) => Console::line(&format!(
                "release     GitHub release for tag {tag} (release: {mode}; prerelease: {}, draft: {}, assets: {}){}",
                settings.prerelease,
                settings.draft,
                settings.release_assets,
                if mode == ReleaseMode::Auto {
                    "; made only if the token may write contents"
                } else {
                    ""
                }
            )),
        }
        Console::end_group();
    }

    /// Write `$GITHUB_OUTPUT` and the step summary.
    pub fn finish(&self, runner: &Runner) -> anyhow::Result<()> {
        let json =
            |names: Vec<String>| serde_json::to_string(&names).unwrap_or_else(|_| "[]".to_owned());
        let release = self.release.as_ref();
        let outputs = [
            ("name", self.name.clone()),
            ("version", self.version.clone()),
            ("uploaded", json(self.uploaded())),
            ("skipped", json(self.skipped())),
            ("package-url", self.package_url.clone().unwrap_or_default()),
            ("projects", self.projects_json()),
            (
                "release-url",
                release.map(|r| r.url.clone()).unwrap_or_default(),
            ),
            (
                "release-id",
                release.map(|r| r.id.to_string()).unwrap_or_default(),
            ),
            (
                "prerelease",
                release
                    .map(|r| r.prerelease)
                    .or(self.prerelease)
                    .map(|prerelease| prerelease.to_string())
                    .unwrap_or_default(),
            ),
        ];
        runner.write_outputs(&outputs)?;
        runner.append_summary(&self.summary_markdown(&runner.server_url))
    }

    /// The `projects` output: one object per project.
    #[must_use]
    pub fn projects_json(&self) -> String {
        let projects: Vec<serde_json::Value> = self
            .projects
            .iter()
            .map(|project| {
                serde_json::json!({
                    "name": project.name,
                    "version": project.version,
                    "files": project.files,
                    "package-url": project.package_url,
                })
            })
            .collect();
        serde_json::Value::Array(projects).to_string()
    }
}
