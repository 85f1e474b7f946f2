//! Several projects in one packages-dir (DESIGN §3: `uv build --all-packages`, hatch/pdm
//! monorepos, `foo` with `foo-stubs`): the dists grouped by project, the rules that hold per
//! release applied to each project, and `check-version` against the tag (`name-v1.2.3` checks
//! the project it names, a bare `v1.2.3` every project).
//!
//! A rule that holds for one release of one project (one version, at most one sdist, and
//! whatever the index says about that release) belongs in [`check_releases`] or takes a
//! [`Project`].

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::str::FromStr as _;

use pep440_rs::Version;

use crate::distribution::filename::normalize_name;
use crate::distribution::verify::tag_version;
use crate::distribution::{Dist, DistKind};

/// One project's dists in this run: one release (name, version) of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Project {
    /// The name as the core metadata spells it (of the first dist).
    pub name: String,
    /// PEP 503 normalised, the key projects are told apart by.
    pub normalized: String,
    /// The version as the core metadata spells it (of the first dist).
    pub version: String,
    /// The dists' file names, in upload order (wheels first).
    pub files: Vec<String>,
    pub paths: Vec<PathBuf>,
}

impl Project {
    /// Whether a dist belongs to this project.
    #[must_use]
    pub fn owns(&self, dist: &Dist) -> bool {
        project_key(dist) == self.normalized
    }
}

/// The normalised project name of a dist (metadata, else the file name's).
#[must_use]
pub fn project_key(dist: &Dist) -> String {
    normalize_name(dist.metadata.name().unwrap_or(&dist.filename.name))
}

/// The dists grouped by project, sorted by normalised name; inside a project the dists keep
/// their order.
#[must_use]
pub fn group(dists: &[Dist]) -> Vec<Project> {
    let mut projects: BTreeMap<String, Project> = BTreeMap::new();
    for dist in dists {
        let key = project_key(dist);
        let project = projects.entry(key.clone()).or_insert_with(|| Project {
            name: dist
                .metadata
                .name()
                .unwrap_or(&dist.filename.name)
                .to_owned(),
            normalized: key,
            version: dist
                .metadata
                .version()
                .unwrap_or(&dist.filename.version)
                .to_owned(),
            files: Vec::new(),
            paths: Vec::new(),
        });
        project.files.push(dist.file_name().to_owned());
        project.paths.push(dist.path.clone());
    }
    projects.into_values().collect()
}

/// The project `name`, `version` and the release speak for when there are several: the one the
/// tag names (`foo-v1.2.3`), else the one named like the repository (`owner/foo` publishing
/// `foo` and `foo-stubs`), else the first by name.
#[must_use]
pub fn primary<'p>(
    projects: &'p [Project],
    tag: Option<&str>,
    repository: Option<&str>,
) -> Option<&'p Project> {
    if let Some(named) = tag.and_then(|tag| named_by_tag(projects, tag)) {
        return Some(named);
    }
    let repository_name = repository
        .and_then(|repository| repository.rsplit('/').next())
        .map(normalize_name);
    projects
        .iter()
        .find(|project| Some(&project.normalized) == repository_name.as_ref())
        .or_else(|| projects.first())
}

/// The project a `name-v1.2.3` tag names (the longest matching name: `foo-bar-v1` is
/// `foo-bar`, not `foo`). A bare version tag names none.
#[must_use]
pub fn named_by_tag<'p>(projects: &'p [Project], tag: &str) -> Option<&'p Project> {
    if bare_tag_version(tag).is_some() {
        return None;
    }
    projects
        .iter()
        .filter(|project| tag_version(tag, &project.name).is_some())
        .max_by_key(|project| project.normalized.len())
}

/// `v1.2.3` or `1.2.3`: a tag that is only a version.
fn bare_tag_version(tag: &str) -> Option<Version> {
    let text = tag
        .strip_prefix(['v', 'V'])
        .filter(|rest| rest.starts_with(|c: char| c.is_ascii_digit()))
        .unwrap_or(tag);
    Version::from_str(text).ok()
}

fn pep440(version: &str) -> String {
    Version::from_str(version).map_or_else(|_| version.to_owned(), |v| v.to_string())
}

/// The per-release rules, applied to each project: one version, at most one sdist. With one
/// project the messages are the single-release ones; with several they name the project.
#[must_use]
pub fn check_releases(dists: &[Dist]) -> Vec<String> {
    let mut by_project: BTreeMap<String, Vec<&Dist>> = BTreeMap::new();
    for dist in dists {
        by_project.entry(project_key(dist)).or_default().push(dist);
    }
    let several = by_project.len() > 1;
    let mut errors = Vec::new();
    for (project, dists) in &by_project {
        let whose = if several {
            format!("the dists of `{project}`")
        } else {
            "the dists".to_owned()
        };
        let mut versions: BTreeMap<String, Vec<&str>> = BTreeMap::new();
        for dist in dists {
            if let Some(version) = dist.metadata.version() {
                versions
                    .entry(pep440(version))
                    .or_default()
                    .push(dist.file_name());
            }
        }
        if versions.len() > 1 {
            let listed = versions
                .iter()
                .map(|(version, files)| format!("{version} ({})", files.join(", ")))
                .collect::<Vec<_>>()
                .join("; ");
            errors.push(format!(
                "{whose} have different versions: {listed}; remove stale dists from packages-dir (`rm -rf dist` before the build) so one version is published{}",
                if several { " per project" } else { "" }
            ));
        }
        // One sdist per release: per version (two versions are the error above already).
        let mut sdists_by_version: BTreeMap<String, Vec<&str>> = BTreeMap::new();
        for dist in dists.iter().filter(|dist| dist.kind() == DistKind::Sdist) {
            let version = dist.metadata.version().map(pep440).unwrap_or_default();
            sdists_by_version
                .entry(version)
                .or_default()
                .push(dist.file_name());
        }
        for sdists in sdists_by_version.values().filter(|sdists| sdists.len() > 1) {
            let (of, stale) = if several {
                (
                    format!(" of `{project}`"),
                    " (two sdists of one project in one folder: a stale dist/?)",
                )
            } else {
                (String::new(), "")
            };
            errors.push(format!(
                "more than one sdist{of} ({}); an index accepts only one sdist per release. Keep the one your build made and delete the others{stale}",
                sdists.join(", ")
            ));
        }
    }
    errors
}

/// `check-version` for several projects: a `name-v1.2.3` tag checks that project, a bare
/// version tag every project (released in lock step); anything else says which project has
/// which version and how to tag. One project keeps the single-release check and messages.
#[must_use]
pub fn check_version(tag: &str, tag_source: &str, dists: &[Dist]) -> Vec<String> {
    let projects = group(dists);
    if projects.len() <= 1 {
        return crate::distribution::verify::check_version(tag, tag_source, dists);
    }
    let listing = projects
        .iter()
        .map(|project| format!("{} {}", project.name, project.version))
        .collect::<Vec<_>>()
        .join(", ");
    if let Some(named) = named_by_tag(&projects, tag) {
        let own: Vec<Dist> = dists
            .iter()
            .filter(|dist| named.owns(dist))
            .cloned()
            .collect();
        return crate::distribution::verify::check_version(tag, tag_source, &own);
    }
    let Some(tagged) = bare_tag_version(tag) else {
        let example = &projects[0];
        return vec![format!(
            "check-version: the tag `{tag}` (from {tag_source}) names neither a version nor one of the projects in packages-dir ({listing}); tag `v{}` when every project has that version, or `{}-v{}` to release one project, or set `check-version: false`",
            example.version, example.normalized, example.version
        )];
    };
    let differing: Vec<&Project> = projects
        .iter()
        .filter(|project| Version::from_str(&project.version).is_ok_and(|v| v != tagged))
        .collect();
    if differing.is_empty() {
        return Vec::new();
    }
    let example = differing[0];
    vec![format!(
        "check-version: the tag `{tag}` (from {tag_source}) is version {tagged}, which every project in packages-dir must have with a bare version tag, but they are: {listing}; build every project at {tagged} (a workspace released in lock step), or tag the one project you release (`{}-v{}`) and publish the others from their own packages-dir, or set `check-version: false`",
        example.normalized, example.version
    )]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn project(name: &str, version: &str) -> Project {
        Project {
            name: name.to_owned(),
            normalized: normalize_name(name),
            version: version.to_owned(),
            files: Vec::new(),
            paths: Vec::new(),
        }
    }

    #[test]
    fn the_tag_names_the_longest_matching_project() {
        let projects = [project("foo", "1.0"), project("foo-bar", "2.0")];
        let named = |tag: &str| named_by_tag(&projects, tag).map(|p| p.name.as_str());
        assert_eq!(named("foo-bar-v2.0"), Some("foo-bar"));
        assert_eq!(named("foo-v1.0"), Some("foo"));
        assert_eq!(named("Foo_Bar/v2"), Some("foo-bar"));
        assert_eq!(named("v1.0"), None);
        assert_eq!(named("1.0"), None);
        assert_eq!(named("other-v1.0"), None);
    }

    #[test]
    fn the_primary_project_is_the_tags_then_the_repositorys_then_the_first() {
        let projects = [project("demo", "1.0"), project("demo-stubs", "1.0")];
        let primary_name =
            |tag, repository| primary(&projects, tag, repository).map(|p| p.name.as_str());
        assert_eq!(
            primary_name(Some("demo-stubs-v1.0"), Some("o/demo")),
            Some("demo-stubs")
        );
        assert_eq!(primary_name(Some("v1.0"), Some("o/demo")), Some("demo"));
        assert_eq!(
            primary_name(Some("v1.0"), Some("o/Demo_Stubs")),
            Some("demo-stubs")
        );
        assert_eq!(primary_name(None, Some("o/unrelated")), Some("demo"));
        assert_eq!(primary(&[], None, None), None);
    }
}
