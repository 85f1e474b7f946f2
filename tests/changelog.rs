//! Golden cases for changelog extraction: `tests/fixtures/changelog/<case>/{input.md, version,
//! expected.md}`; a case without `expected.md` must find no section.
//! Set `UPDATE_GOLDEN=1` to rewrite the expected files after a deliberate change.

#![cfg(test)]

use std::path::PathBuf;

use pypi_oidc_publish::changelog;

fn cases() -> Vec<PathBuf> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/changelog");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.is_dir())
        .collect();
    cases.sort();
    cases
}

#[test]
fn golden_corpus() {
    let cases = cases();
    assert!(cases.len() >= 6, "the corpus is missing: {cases:?}");
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let mut failures = Vec::new();
    for case in &cases {
        let input = std::fs::read_to_string(case.join("input.md")).unwrap();
        let version = std::fs::read_to_string(case.join("version")).unwrap();
        let expected_path = case.join("expected.md");
        let expected = std::fs::read_to_string(&expected_path).ok();
        let actual = changelog::extract(&input, version.trim()).map(|section| section.body + "\n");
        if update {
            if let Some(actual) = &actual {
                std::fs::write(&expected_path, actual).unwrap();
            }
            continue;
        }
        if actual != expected {
            failures.push(format!(
                "{}:\n--- expected\n{}\n--- actual\n{}",
                case.display(),
                expected.as_deref().unwrap_or("(no section)"),
                actual.as_deref().unwrap_or("(no section)")
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn the_heading_is_reported_as_written() {
    let input = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/changelog/milestones-seed/input.md"),
    )
    .unwrap();
    let section = changelog::extract(&input, "1.1.0").unwrap();
    assert_eq!(
        section.heading,
        "v1.1 Release Automation (Shipped: 2026-02-10)"
    );
}

#[test]
fn unreleased_never_matches_and_an_invalid_version_finds_nothing() {
    let text = "## [Unreleased]\n\n- next\n\n## [1.0.0]\n\n- one\n";
    assert_eq!(changelog::extract(text, "not-a-version"), None);
    assert_eq!(changelog::extract(text, "1.0.0").unwrap().body, "- one");
    assert_eq!(changelog::extract(text, "v1.0.0").unwrap().body, "- one");
}

#[test]
fn locate_prefers_the_documented_order() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(changelog::locate(dir.path(), None), None);
    std::fs::create_dir(dir.path().join(".planning")).unwrap();
    std::fs::write(dir.path().join(".planning/MILESTONES.md"), "x").unwrap();
    assert_eq!(
        changelog::locate(dir.path(), None).unwrap().1,
        ".planning/MILESTONES.md"
    );
    std::fs::write(dir.path().join("NEWS.md"), "x").unwrap();
    assert_eq!(changelog::locate(dir.path(), None).unwrap().1, "NEWS.md");
    std::fs::write(dir.path().join("CHANGELOG.md"), "x").unwrap();
    assert_eq!(
        changelog::locate(dir.path(), None).unwrap().1,
        "CHANGELOG.md"
    );
    let explicit = dir.path().join("docs/changes.md");
    assert_eq!(
        changelog::locate(dir.path(), Some(&explicit)).unwrap().1,
        "docs/changes.md"
    );
}
