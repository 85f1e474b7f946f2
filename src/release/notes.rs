//! What the release says and how it is flagged (DESIGN §1 `prerelease`/`make-latest`, §7 notes):
//! the changelog section or a fallback, a footer with the index and changelog links, and the
//! automatic pre-release decision.

use std::str::FromStr as _;

use crate::changelog::{self, GITHUB_BODY_LIMIT};

/// `prerelease: auto`: the version is a PEP 440 pre or dev release, or the tag has a
/// `-rc`, `-beta`, `-alpha`, `-pre` or `-dev` suffix.
#[must_use]
pub fn auto_prerelease(version: &str, tag: &str) -> bool {
    let version_says = pep440_rs::Version::from_str(version)
        .is_ok_and(|version| version.is_pre() || version.is_dev());
    version_says || tag_has_prerelease_suffix(tag)
}

/// `-rc`, `-beta`, `-alpha`, `-pre`, `-dev`, each followed by the end, a digit, `.` or `-`
/// (`v1.0.0-rc.1`, `v2-beta2`; not `v1.0.0-preview-builds` nor `v1-development`).
#[must_use]
pub fn tag_has_prerelease_suffix(tag: &str) -> bool {
    let lower = tag.to_ascii_lowercase();
    ["-rc", "-beta", "-alpha", "-pre", "-dev"]
        .iter()
        .any(|marker| {
            lower.match_indices(marker).any(|(index, _)| {
                lower[index + marker.len()..]
                    .chars()
                    .next()
                    .is_none_or(|next| next.is_ascii_digit() || next == '.' || next == '-')
            })
        })
}

/// Where the notes came from, for the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// The section under this heading in this file.
    Changelog { file: String, heading: String },
    /// GitHub's generated notes (no section for the version).
    Generated,
    /// A generic line (no section, and GitHub could not generate notes).
    Generic,
}

/// The changelog file in the repository, for the link at the tag.
#[derive(Debug, Clone)]
pub struct ChangelogFile {
    pub path: std::path::PathBuf,
    /// Relative to the repository root, `/`-separated.
    pub relative: String,
}

/// Links for the footer.
#[derive(Debug, Clone, Default)]
pub struct Footer {
    /// Each project's page for its version (pypi.org / test.pypi.org only): (label, URL).
    pub packages: Vec<(String, String)>,
    /// The changelog at the tag: `{server}/{repo}/blob/{tag}/{path}`.
    pub changelog_url: Option<(String, String)>,
}

impl Footer {
    #[must_use]
    pub fn markdown(&self) -> String {
        let mut lines = Vec::new();
        for (label, url) in &self.packages {
            lines.push(format!("- Package: [{label}]({url})"));
        }
        if let Some((name, url)) = &self.changelog_url {
            lines.push(format!("- Changelog: [{name}]({url})"));
        }
        if lines.is_empty() {
            return String::new();
        }
        format!("\n\n---\n\n{}", lines.join("\n"))
    }
}

/// The link to a file at a tag on the GitHub server.
#[must_use]
pub fn blob_url(server_url: &str, repository: &str, tag: &str, path: &str) -> String {
    let encode = |text: &str| {
        url::form_urlencoded::byte_serialize(text.as_bytes())
            .collect::<String>()
            .replace('+', "%20")
    };
    let path = path.split('/').map(encode).collect::<Vec<_>>().join("/");
    format!(
        "{}/{repository}/blob/{}/{path}",
        server_url.trim_end_matches('/'),
        encode(tag)
    )
}

/// The section of the changelog for `version`, if the file has one.
#[must_use]
pub fn changelog_section(file: &ChangelogFile, version: &str) -> Option<(String, Source)> {
    let text = std::fs::read_to_string(&file.path).ok()?;
    let section = changelog::extract(&text, version)?;
    if section.body.trim().is_empty() {
        return None;
    }
    Some((
        section.body,
        Source::Changelog {
            file: file.relative.clone(),
            heading: section.heading,
        },
    ))
}

/// The generic line used when nothing better exists.
#[must_use]
pub fn generic(name: &str, version: &str) -> String {
    format!("Release {version} of {name}.")
}

/// The body: the notes cut to fit GitHub's limit together with the footer.
#[must_use]
pub fn compose(notes: &str, footer: &Footer, full_notes: &str) -> String {
    let footer = footer.markdown();
    let budget = GITHUB_BODY_LIMIT.saturating_sub(footer.chars().count());
    format!(
        "{}{footer}",
        changelog::truncate(notes.trim(), budget, full_notes)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prerelease_from_version_or_tag() {
        assert!(auto_prerelease("1.0.0rc1", "v1.0.0rc1"));
        assert!(auto_prerelease("1.0.0.dev3", "v1.0.0.dev3"));
        assert!(auto_prerelease("1.0.0b2", "1.0.0b2"));
        assert!(auto_prerelease("1.0.0", "v1.0.0-rc.1"));
        assert!(auto_prerelease("1.0.0", "v1.0.0-beta"));
        assert!(auto_prerelease("1.0.0", "pkg-v1.0.0-alpha2"));
        assert!(auto_prerelease("1.0.0", "v1.0.0-pre"));
        assert!(auto_prerelease("1.0.0", "v1.0.0-dev.4"));
        assert!(!auto_prerelease("1.0.0", "v1.0.0"));
        assert!(!auto_prerelease("1.0.0.post1", "v1.0.0.post1"));
        assert!(!auto_prerelease("1.0.0", "v1.0.0-preview-builds"));
        assert!(!auto_prerelease("1.0.0", "release-development-1.0.0"));
    }

    #[test]
    fn footer_links_and_limit() {
        let footer = Footer {
            packages: vec![(
                "demo 1.0.0 on PyPI".to_owned(),
                "https://pypi.org/project/demo/1.0.0/".to_owned(),
            )],
            changelog_url: Some((
                "CHANGELOG.md".to_owned(),
                blob_url("https://github.com/", "o/r", "v1.0.0", "CHANGELOG.md"),
            )),
        };
        let body = compose("notes", &footer, "CHANGELOG.md");
        assert_eq!(
            body,
            "notes\n\n---\n\n- Package: [demo 1.0.0 on PyPI](https://pypi.org/project/demo/1.0.0/)\n- Changelog: [CHANGELOG.md](https://github.com/o/r/blob/v1.0.0/CHANGELOG.md)"
        );
        let long = "x\n".repeat(GITHUB_BODY_LIMIT);
        let body = compose(&long, &footer, "CHANGELOG.md");
        assert!(body.chars().count() <= GITHUB_BODY_LIMIT);
        assert!(body.ends_with("CHANGELOG.md)"));
        assert_eq!(
            blob_url(
                "https://ghe.example.com",
                "o/r",
                "v1 b",
                ".planning/MILESTONES.md"
            ),
            "https://ghe.example.com/o/r/blob/v1%20b/.planning/MILESTONES.md"
        );
    }
}
