//! Verification before any network call (DESIGN §3): every dist is checked, every failure is
//! reported, and nothing is sent unless all pass. The per-file checks run in [`super::load`];
//! this module adds the checks across the set and `check-version`, and applies
//! `verify-metadata`.

use std::collections::BTreeMap;
use std::str::FromStr as _;

use pep440_rs::Version;

use super::archive::{Category, Finding, Severity};
use super::filename::{escape_name, normalize_name};
use super::{CoreMetadata, Dist, DistFilename, DistKind};
use crate::inputs::Settings;

/// All problems found across the set of dists, reported together.
#[derive(Debug, Default)]
pub struct Report {
    pub errors: Vec<String>,
    pub warnings: Vec<String>,
}

/// Every verification problem of the run, reported together; nothing was sent.
#[derive(Debug, thiserror::Error)]
#[error("{} problem(s) found in the dists; nothing was uploaded:\n{}", errors.len(), errors.iter().map(|e| format!("  - {e}")).collect::<Vec<_>>().join("\n"))]
pub struct VerifyFailed {
    pub errors: Vec<String>,
}

/// All checks of DESIGN §3 over the loaded dists: each file's findings (metadata content rules
/// with `verify-metadata`, and those `PyPI` certainly applies always when the target is `PyPI`
/// or `TestPyPI`), the set rules, and `check-version`.
#[must_use]
pub fn verify_all(settings: &Settings, dists: &[Dist]) -> Report {
    let mut report = Report::default();
    let to_pypi = settings
        .repository_url
        .host_str()
        .is_some_and(|host| host == "upload.pypi.org" || host == "test.pypi.org");
    for dist in dists {
        for finding in &dist.findings {
            let applies = match finding.category {
                Category::Structure => true,
                Category::Metadata => settings.verify_metadata,
                Category::PypiForm => settings.verify_metadata || to_pypi,
            };
            if !applies {
                continue;
            }
            let line = finding.render(dist.file_name());
            match finding.severity {
                Severity::Error => report.errors.push(line),
                Severity::Warning => report.warnings.push(line),
            }
        }
        if to_pypi {
            for finding in dist.filename.pypi_findings() {
                report.errors.push(finding.render(dist.file_name()));
            }
            if dist.size > settings.file_size_limit {
                report
                    .errors
                    .push(too_large(dist, settings.file_size_limit));
            }
        }
        if to_pypi {
            let form = super::form::MetadataForm::build(&dist.metadata);
            for requirement in form
                .values("requires_dist")
                .filter(|r| is_direct_reference(r))
            {
                report.errors.push(format!(
                    "{}: Requires-Dist `{requirement}` is a direct reference (`name @ URL`); PyPI refuses dists that depend on a URL. Depend on a released version instead",
                    dist.file_name()
                ));
            }
        }
        if let Some(version) = dist.metadata.version() {
            let local = Version::from_str(version).is_ok_and(|v| v.is_local());
            if local && to_pypi {
                report.errors.push(format!(
                    "{}: the version `{version}` has a local part (`+...`); PyPI and TestPyPI refuse local versions. Build from a tagged, clean checkout (setuptools-scm adds `+g<hash>` otherwise)",
                    dist.file_name()
                ));
            }
        }
    }
    check_descriptions(settings, to_pypi, dists, &mut report);
    // The per-release rules hold per project (several projects may share packages-dir).
    report
        .errors
        .extend(crate::distribution::project::check_releases(dists));
    let set = check_set(dists);
    report.errors.extend(set.errors);
    report.warnings.extend(set.warnings);
    if settings.check_version {
        if let Some(tag) = &settings.tag {
            report
                .errors
                .extend(crate::distribution::project::check_version(
                    tag,
                    settings.tag_source,
                    dists,
                ));
        }
    }
    report
}

/// `PyPI`'s per-file limit (Warehouse `:1151-1162`, `file_size > limit` refused): 100 MiB unless
/// `PyPI` raised the project's limit on request, which the user then states in
/// `file-size-limit`.
fn too_large(dist: &Dist, limit: u64) -> String {
    const MIB: u64 = 1024 * 1024;
    // What a GitHub issue title may hold unescaped.
    const TITLE: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'.')
        .remove(b'_');
    let size_mb = dist.size.div_ceil(MIB);
    let project = dist.metadata.name().unwrap_or(&dist.filename.name);
    let request = format!(
        "https://github.com/pypi/support/issues/new?labels=limit+request&template=limit-request-file.yml&title=File+Limit+Request%3A+{}+-+{size_mb}+MB",
        percent_encoding::utf8_percent_encode(project, TITLE)
    );
    let whose = if limit == crate::inputs::DEFAULT_FILE_SIZE_LIMIT {
        "PyPI's default limit"
    } else {
        "the limit set in `file-size-limit`"
    };
    format!(
        "{}: the file is {} bytes, over {whose} of {limit} bytes ({}); PyPI would refuse it (\"File too large\"). Make it smaller (strip debug symbols, move data to a separate download), or ask PyPI to raise the limit for `{project}` (https://pypi.org/help/#file-size-limit; the request form: {request}; the project needs one release under the limit first). Once PyPI raised it, set the input `file-size-limit` to the new limit, e.g. `file-size-limit: {} MiB`",
        dist.file_name(),
        dist.size,
        super::archive::human(limit),
        size_mb.next_multiple_of(50).max(150)
    )
}

/// `PyPI` renders a description without `Description-Content-Type` (or `text/x-rst`) as
/// reStructuredText and refuses the upload when that fails. A certain failure stops the run
/// when the repository is `PyPI` or `TestPyPI`, even with `verify-metadata: false`: `PyPI` would
/// refuse the file whatever we skip, and dists whose descriptions differ could otherwise leave
/// the release half-published. Doubtful descriptions get a warning; other indexes do not render
/// descriptions, so there a certain failure is only a warning. One message per distinct
/// description, naming every dist that carries it.
fn check_descriptions(settings: &Settings, to_pypi: bool, dists: &[Dist], report: &mut Report) {
    if !to_pypi && !settings.verify_metadata {
        return;
    }
    let mut verdicts: Vec<(super::description::Verdict, Vec<&str>)> = Vec::new();
    for dist in dists {
        let verdict = super::description::check(&dist.metadata);
        if verdict == super::description::Verdict::Renders {
            continue;
        }
        match verdicts.iter_mut().find(|(known, _)| *known == verdict) {
            Some((_, files)) => files.push(dist.file_name()),
            None => verdicts.push((verdict, vec![dist.file_name()])),
        }
    }
    for (verdict, files) in verdicts {
        let files = files.join(", ");
        match verdict {
            super::description::Verdict::Refused(message) if to_pypi => {
                report.errors.push(format!("{files}: {message}"));
            }
            super::description::Verdict::Refused(message) => {
                report
                    .warnings
                    .push(format!("{files}: PyPI would refuse this: {message}"));
            }
            super::description::Verdict::Doubtful(message) if settings.verify_metadata => {
                report.warnings.push(format!("{files}: {message}"));
            }
            _ => {}
        }
    }
}

/// Name and version in the metadata equal the file name's (always checked: the upload form
/// and the file must describe the same release).
#[must_use]
pub fn consistency(filename: &DistFilename, metadata: &CoreMetadata, member: &str) -> Vec<Finding> {
    let mut findings = Vec::new();
    match metadata.name() {
        None => findings.push(Finding::error(
            Some(member),
            "has no Name; core metadata needs Metadata-Version, Name and Version. Rebuild the dist",
        )),
        Some(name) if normalize_name(name) != normalize_name(&filename.name) => {
            findings.push(Finding::error(
                Some(member),
                format!(
                    "Name is `{name}` but the file name says `{}`; a file was renamed or its metadata edited. Rebuild the dist (expected a file name starting `{}-`)",
                    filename.name,
                    escape_name(name)
                ),
            ));
        }
        Some(_) => {}
    }
    if metadata.metadata_version().is_none() {
        findings.push(Finding::error(
            Some(member),
            "has no Metadata-Version; rebuild the dist with a current build backend",
        ));
    }
    match metadata.version() {
        None => findings.push(Finding::error(
            Some(member),
            "has no Version; core metadata needs Metadata-Version, Name and Version. Rebuild the dist",
        )),
        Some(version) => match Version::from_str(version) {
            Err(error) => findings.push(Finding::error(
                Some(member),
                format!("Version `{version}` is not a valid PEP 440 version ({error})"),
            )),
            Ok(parsed) => {
                let file_version = filename.parsed_version();
                if file_version.as_ref().is_some_and(|file| *file != parsed) {
                    findings.push(Finding::error(
                        Some(member),
                        format!(
                            "Version is `{version}` but the file name says `{}`; a file was renamed or its metadata edited. Rebuild the dist",
                            filename.version
                        ),
                    ));
                } else if filename.kind == DistKind::Sdist
                    && file_version.is_some_and(|file| file.to_string() == filename.version)
                    && parsed.to_string() != filename.version
                {
                    // PyPI names the sdist from the metadata's version, normalised
                    // (`{name}-{meta.version}.tar.gz`): `1.0` in the name is not `1.0.0`.
                    findings.push(Finding::error(
                        None,
                        format!(
                            "the file name carries the version `{}` but the metadata says `{parsed}`: PyPI expects `{}-{parsed}.tar.gz` (PEP 625, the metadata's version normalised) and refuses this name. Rebuild the sdist",
                            filename.version,
                            escape_name(&filename.name)
                        ),
                    ));
                }
            }
        },
    }
    findings
}

/// `name @ URL` (PEP 508 URL requirement), as `packaging` parses it.
fn is_direct_reference(requirement: &str) -> bool {
    super::pep508::parse_requirement(requirement).is_ok_and(|parsed| parsed.url.is_some())
}

/// Checks across the whole set: no file twice under two spellings. (The per-release rules,
/// one version and at most one sdist, are per project: [`crate::distribution::project::check_releases`].)
#[must_use]
pub fn check_set(dists: &[Dist]) -> Report {
    let mut report = Report::default();
    let mut spellings: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for dist in dists {
        if dist.kind() == DistKind::Wheel {
            spellings
                .entry(canonical_file_name(&dist.filename))
                .or_default()
                .push(dist.file_name());
        }
    }
    for files in spellings.values().filter(|files| files.len() > 1) {
        report.errors.push(format!(
            "the same dist under different file names ({}); keep one",
            files.join(", ")
        ));
    }
    report
}

/// A wheel file name with name and version normalised and tags lower-cased, to find duplicates.
fn canonical_file_name(filename: &DistFilename) -> String {
    let version = filename
        .parsed_version()
        .map_or_else(|| filename.version.clone(), |v| v.to_string());
    let name = escape_name(&filename.name);
    format!(
        "{name}-{version}-{}-{}-{}-{}",
        filename.build_tag.as_deref().unwrap_or_default(),
        filename
            .python_tag
            .as_deref()
            .unwrap_or_default()
            .to_ascii_lowercase(),
        filename
            .abi_tag
            .as_deref()
            .unwrap_or_default()
            .to_ascii_lowercase(),
        filename
            .platform_tag
            .as_deref()
            .unwrap_or_default()
            .to_ascii_lowercase()
    )
}

/// The version a release tag names: `v1.2.3`, `1.2.3`, `{name}-v1.2.3`, `{name}-1.2.3` (also
/// `{name}/v1.2.3`), compared as PEP 440 (`v1.0.0-rc.1` is 1.0.0rc1).
#[must_use]
pub fn tag_version(tag: &str, project: &str) -> Option<Version> {
    let parse = |text: &str| {
        let text = text
            .strip_prefix(['v', 'V'])
            .filter(|rest| rest.starts_with(|c: char| c.is_ascii_digit()))
            .unwrap_or(text);
        Version::from_str(text).ok()
    };
    if let Some(version) = parse(tag) {
        return Some(version);
    }
    let project = normalize_name(project);
    tag.char_indices()
        .filter(|(_, c)| matches!(c, '-' | '_' | '/' | '@'))
        .find(|(index, _)| normalize_name(&tag[..*index]) == project)
        .and_then(|(index, _)| parse(&tag[index + 1..]))
}

/// `check-version`: the tag's version equals the dists' version.
#[must_use]
pub fn check_version(tag: &str, tag_source: &str, dists: &[Dist]) -> Vec<String> {
    let Some(first) = dists.first() else {
        return Vec::new();
    };
    let project = first.metadata.name().unwrap_or(&first.filename.name);
    let Some(tagged) = tag_version(tag, project) else {
        return vec![format!(
            "check-version: the tag `{tag}` (from {tag_source}) does not name a version: expected `v1.2.3`, `1.2.3`, `{project}-v1.2.3` or `{project}-1.2.3`; tag the release with its version, or set `check-version: false`"
        )];
    };
    let mut mismatched: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for dist in dists {
        let Some(version) = dist.metadata.version() else {
            continue;
        };
        if Version::from_str(version).is_ok_and(|v| v != tagged) {
            mismatched
                .entry(version.to_owned())
                .or_default()
                .push(dist.file_name());
        }
    }
    mismatched
        .into_iter()
        .map(|(version, files)| {
            format!(
                "check-version: the tag `{tag}` (from {tag_source}) is version {tagged}, but the dists are version {version} (Version in the core metadata of {}); build from the tagged commit on a clean checkout (setuptools-scm and hatch-vcs make a .devN or +g<hash> version otherwise) or move the tag, or set `check-version: false`",
                files.join(", ")
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(extra: &[(&str, &str)]) -> (tempfile::TempDir, Settings) {
        let dir = tempfile::tempdir().unwrap();
        let mut raw = crate::inputs::RawInputs::default();
        raw.env
            .insert("INPUT_PACKAGES-DIR".to_owned(), ".".to_owned());
        for (key, value) in extra {
            raw.env.insert((*key).to_owned(), (*value).to_owned());
        }
        let settings = Settings::parse(&raw, dir.path()).unwrap();
        (dir, settings)
    }

    fn fixture_wheel() -> Dist {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/dists/valid-hatchling-2.4/demo_hatch-1.0.0-py3-none-any.whl");
        super::super::load(&path).unwrap()
    }

    #[test]
    fn pypi_refuses_files_over_the_project_limit() {
        let mut dist = fixture_wheel();
        // Warehouse refuses `file_size > limit`: exactly 100 MiB passes.
        dist.size = crate::inputs::DEFAULT_FILE_SIZE_LIMIT;
        let (_dir, pypi) = settings(&[]);
        assert_eq!(
            verify_all(&pypi, std::slice::from_ref(&dist)).errors,
            Vec::<String>::new()
        );
        dist.size += 1;
        let errors = verify_all(&pypi, std::slice::from_ref(&dist)).errors;
        assert_eq!(errors.len(), 1, "{errors:#?}");
        assert!(
            errors[0].starts_with("demo_hatch-1.0.0-py3-none-any.whl: the file is 104857601 bytes, over PyPI's default limit of 104857600 bytes (100 MiB); PyPI would refuse it"),
            "{}",
            errors[0]
        );
        assert!(
            errors[0].contains("title=File+Limit+Request%3A+demo-hatch+-+101+MB"),
            "{}",
            errors[0]
        );
        // A project whose limit PyPI raised says so in `file-size-limit`.
        let (_dir, raised) = settings(&[("INPUT_FILE-SIZE-LIMIT", "200 MiB")]);
        assert_eq!(
            verify_all(&raised, std::slice::from_ref(&dist)).errors,
            Vec::<String>::new()
        );
        // Other indexes have limits of their own.
        let (_dir, private) =
            settings(&[("INPUT_REPOSITORY-URL", "https://pypi.example.org/legacy/")]);
        assert_eq!(verify_all(&private, &[dist]).errors, Vec::<String>::new());
    }

    #[test]
    fn direct_references() {
        assert!(is_direct_reference("demo @ https://example.org/demo.whl"));
        assert!(is_direct_reference("demo[x]@ git+https://example.org/demo"));
        assert!(!is_direct_reference("demo>=1.0; python_version >= '3.9'"));
        assert!(!is_direct_reference("demo; extra == 'a@b'"));
    }

    #[test]
    fn tags_name_versions() {
        let v = |text: &str| Version::from_str(text).unwrap();
        assert_eq!(tag_version("v1.0.0-rc.1", "demo"), Some(v("1.0.0rc1")));
        assert_eq!(tag_version("1.2.3", "demo"), Some(v("1.2.3")));
        assert_eq!(tag_version("demo-v1.2", "demo"), Some(v("1.2")));
        assert_eq!(
            tag_version("My_Pkg-2.0.post1", "my-pkg"),
            Some(v("2.0.post1"))
        );
        assert_eq!(tag_version("my-pkg/v3", "my.pkg"), Some(v("3")));
        assert_eq!(tag_version("release-candidate", "demo"), None);
        assert_eq!(tag_version("other-v1.0", "demo"), None);
    }
}
