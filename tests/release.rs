//! End-to-end: the real binary publishes to a real pypiserver, then makes the GitHub release
//! against a stateful loopback fake of the releases API (`tests/support/github_fake.rs`). Every
//! JSON body exchanged is validated against GitHub's `OpenAPI` description.

#![cfg(test)]

mod support;

use support::github_fake::{GitHubFake, openapi};
use support::{PypiServer, RunOutput, Workspace, repo_root, sha256_file};

const TAG: &str = "v0.3.0";
const WHEEL: &str = "oidc_publish_demo-0.3.0-py3-none-any.whl";
const SDIST: &str = "oidc_publish_demo-0.3.0.tar.gz";

struct Setup {
    server: PypiServer,
    github: GitHubFake,
    workspace: Workspace,
}

impl Setup {
    fn new() -> Self {
        Self::with(GitHubFake::start())
    }

    fn with(github: GitHubFake) -> Self {
        let workspace = Workspace::new().with_sample_dists();
        std::fs::copy(
            repo_root().join("examples/sample-project/CHANGELOG.md"),
            workspace.path().join("CHANGELOG.md"),
        )
        .unwrap();
        Self {
            server: PypiServer::start(),
            github,
            workspace,
        }
    }

    /// Run the binary for tag v0.3.0 (token auth); `extra` overrides. Scans for secrets.
    fn run(&self, extra: &[(&str, &str)]) -> RunOutput {
        let upload = self.server.upload_url();
        let api = self.github.api_url();
        let token = self.github.token();
        let mut env: Vec<(&str, &str)> = vec![
            ("INPUT_REPOSITORY-URL", &upload),
            ("INPUT_PASSWORD", &self.server.token),
            ("GITHUB_API_URL", &api),
            ("INPUT_GITHUB-TOKEN", &token),
            ("GITHUB_REF", "refs/tags/v0.3.0"),
            ("GITHUB_SERVER_URL", "https://github.com"),
        ];
        env.extend_from_slice(extra);
        let run = self.workspace.run(&env);
        run.assert_no_secrets(&[&self.server.token, &token]);
        run
    }

    /// Every JSON request and response the fake saw matches GitHub's `OpenAPI` description.
    fn assert_shapes(&self) {
        let (problems, checked) = openapi::check(&self.github.exchanges());
        assert!(problems.is_empty(), "{}", problems.join("\n"));
        assert!(checked >= 2, "too few JSON bodies checked: {checked}");
    }

    fn calls(&self, operation: &str) -> usize {
        self.github.with_state(|state| state.calls(operation))
    }
}

fn ok(run: &RunOutput) {
    assert_eq!(run.code, Some(0), "{}\n{}", run.stdout, run.stderr);
}

fn dist_sha256(setup: &Setup, name: &str) -> String {
    sha256_file(&setup.workspace.path().join("dist").join(name))
}

/// The one release of the tag, with its assets as (name, sha256, state).
fn only_release(setup: &Setup, tag: &str) -> support::github_fake::FakeRelease {
    let releases = setup
        .github
        .with_state(|state| state.releases_with_tag(tag));
    assert_eq!(
        releases.len(),
        1,
        "expected exactly one release: {releases:#?}"
    );
    releases.into_iter().next().unwrap()
}

fn asset_digests(release: &support::github_fake::FakeRelease) -> Vec<(String, String, String)> {
    let mut assets: Vec<_> = release
        .assets
        .iter()
        .map(|a| (a.name.clone(), a.sha256(), a.state.clone()))
        .collect();
    assets.sort();
    assets
}

fn expected_assets(setup: &Setup) -> Vec<(String, String, String)> {
    vec![
        (
            WHEEL.to_owned(),
            dist_sha256(setup, WHEEL),
            "uploaded".to_owned(),
        ),
        (
            SDIST.to_owned(),
            dist_sha256(setup, SDIST),
            "uploaded".to_owned(),
        ),
    ]
}

#[test]
fn first_run_creates_a_draft_attaches_the_dists_then_publishes() {
    let setup = Setup::new();
    let run = setup.run(&[]);
    ok(&run);

    let release = only_release(&setup, TAG);
    assert!(!release.draft, "the release must be published");
    assert!(!release.prerelease);
    assert_eq!(release.name.as_deref(), Some(TAG));
    assert_eq!(release.make_latest.as_deref(), Some("true"));
    assert_eq!(asset_digests(&release), expected_assets(&setup));
    let body = release.body.clone().unwrap();
    assert!(body.contains("- `greet()` accepts any name."), "{body}");
    assert!(body.contains("### Fixed"), "{body}");
    assert!(!body.contains("0.2.0"), "only the 0.3.0 section: {body}");
    assert!(
        body.contains("[CHANGELOG.md](https://github.com/octo-org/demo/blob/v0.3.0/CHANGELOG.md)"),
        "{body}"
    );
    // The tag exists (the run is for it): no target_commitish; created as a draft first.
    let exchanges = setup.github.exchanges();
    let create = exchanges
        .iter()
        .find(|e| e.operation == "repos/create-release")
        .unwrap();
    let request = create.request.as_ref().unwrap();
    assert_eq!(request["draft"], true, "{request}");
    assert!(request.get("target_commitish").is_none(), "{request}");
    let uploads: Vec<usize> = exchanges
        .iter()
        .enumerate()
        .filter(|(_, e)| e.operation == "repos/upload-release-asset")
        .map(|(i, _)| i)
        .collect();
    let publish = exchanges
        .iter()
        .position(|e| {
            e.operation == "repos/update-release"
                && e.request.as_ref().is_some_and(|r| r["draft"] == false)
        })
        .unwrap();
    assert_eq!(uploads.len(), 2);
    assert!(
        uploads.iter().all(|upload| *upload < publish),
        "assets before publishing"
    );
    // Every call a first release costs, in order (the probe's notes are the only notes asked
    // for; the tag exists, so it is not looked up).
    let operations: Vec<&str> = exchanges.iter().map(|e| e.operation).collect();
    assert_eq!(
        operations,
        [
            "repos/generate-release-notes",
            "repos/get-release-by-tag",
            "repos/list-releases",
            "repos/create-release",
            "repos/list-release-assets",
            "repos/upload-release-asset",
            "repos/upload-release-asset",
            "repos/update-release",
        ]
    );

    let url = format!("https://github.com/octo-org/demo/releases/tag/{TAG}");
    assert_eq!(run.output("release-url").as_deref(), Some(url.as_str()));
    assert_eq!(run.output("release-id"), Some(release.id.to_string()));
    assert_eq!(run.output("prerelease").as_deref(), Some("false"));
    assert!(run.summary.contains(&url), "{}", run.summary);
    assert_eq!(setup.server.stored().len(), 2);
    setup.assert_shapes();
}

#[test]
fn three_runs_leave_exactly_one_release_with_the_same_assets_and_body() {
    let setup = Setup::new();
    ok(&setup.run(&[]));
    let first = only_release(&setup, TAG);
    let first_ids: Vec<u64> = first.assets.iter().map(|a| a.id).collect();
    for _ in 0..2 {
        let rerun = setup.run(&[]);
        ok(&rerun);
        assert!(
            rerun
                .stdout
                .contains("already attached with the same sha256; kept"),
            "{}",
            rerun.stdout
        );
        assert_eq!(rerun.output("release-id"), Some(first.id.to_string()));
    }
    let last = only_release(&setup, TAG);
    assert_eq!(last.body, first.body);
    assert_eq!(asset_digests(&last), expected_assets(&setup));
    assert_eq!(
        last.assets.iter().map(|a| a.id).collect::<Vec<_>>(),
        first_ids
    );
    assert_eq!(setup.calls("repos/create-release"), 1);
    assert_eq!(setup.calls("repos/upload-release-asset"), 2);
    setup.assert_shapes();
}

#[test]
fn a_rerun_after_a_failure_between_upload_and_publish_finishes_the_draft() {
    let setup = Setup::new();
    // Other releases fill the first pages: the draft is found only by following `Link`.
    setup.github.with_state(|state| {
        state.page_size = 2;
        state.fail_publish = 100;
    });
    let failed = setup.run(&[]);
    assert_eq!(failed.code, Some(1), "{}\n{}", failed.stdout, failed.stderr);
    assert!(
        failed.stdout.contains("re-run the job to finish it"),
        "{}",
        failed.stdout
    );
    let draft = only_release(&setup, TAG);
    assert!(draft.draft);
    assert_eq!(asset_digests(&draft), expected_assets(&setup));
    setup.github.with_state(|state| {
        state.fail_publish = 0;
        for index in 0..5 {
            state.add_release(&format!("v0.0.{index}"), false, None, Some("old"));
        }
    });

    let lists_before = setup.calls("repos/list-releases");
    let rerun = setup.run(&[]);
    ok(&rerun);
    // Five newer releases, two per page: the draft is on the third page.
    assert_eq!(setup.calls("repos/list-releases") - lists_before, 3);
    let release = only_release(&setup, TAG);
    assert_eq!(release.id, draft.id, "the draft is reused, not duplicated");
    assert!(!release.draft);
    assert_eq!(asset_digests(&release), expected_assets(&setup));
    assert_eq!(setup.calls("repos/create-release"), 1);
    assert!(
        rerun.stdout.contains("found the draft release"),
        "{}",
        rerun.stdout
    );
    setup.assert_shapes();
}

#[test]
fn an_existing_published_release_keeps_its_name_and_body_and_gets_the_assets() {
    let setup = Setup::new();
    let id = setup.github.with_state(|state| {
        state.add_release(TAG, false, Some("The big one"), Some("Hand-written notes."))
    });
    let run = setup.run(&[("GITHUB_EVENT_NAME", "release"), ("INPUT_DRAFT", "true")]);
    ok(&run);
    let release = only_release(&setup, TAG);
    assert_eq!(release.id, id);
    assert!(
        !release.draft,
        "a published release is never turned back into a draft"
    );
    assert_eq!(release.name.as_deref(), Some("The big one"));
    assert_eq!(release.body.as_deref(), Some("Hand-written notes."));
    assert_eq!(asset_digests(&release), expected_assets(&setup));
    assert_eq!(setup.calls("repos/create-release"), 0);
    assert_eq!(setup.calls("repos/update-release"), 0);
    assert!(
        run.stdout.contains("not turned back into a draft"),
        "{}",
        run.stdout
    );
    setup.assert_shapes();
}

#[test]
fn an_existing_release_without_notes_gets_them() {
    let setup = Setup::new();
    setup
        .github
        .with_state(|state| state.add_release(TAG, false, Some(TAG), Some("")));
    ok(&setup.run(&[]));
    let release = only_release(&setup, TAG);
    assert!(
        release
            .body
            .as_deref()
            .unwrap()
            .contains("accepts any name"),
        "{release:?}"
    );
    setup.assert_shapes();
}

#[test]
fn a_parallel_job_winning_the_create_race_is_joined_not_duplicated() {
    let setup = Setup::new();
    setup.github.with_state(|state| state.race_on_create = true);
    let run = setup.run(&[]);
    ok(&run);
    assert!(
        run.stdout.contains("created by another job"),
        "{}",
        run.stdout
    );
    let release = only_release(&setup, TAG);
    assert_eq!(
        release.body.as_deref(),
        Some("Notes by the job that won the race")
    );
    assert_eq!(asset_digests(&release), expected_assets(&setup));
    let exchanges = setup.github.exchanges();
    assert!(
        exchanges
            .iter()
            .any(|e| e.operation == "repos/create-release" && e.status == 422)
    );
    setup.assert_shapes();
}

#[test]
fn a_prerelease_tag_makes_a_prerelease_that_is_not_latest() {
    let setup = Setup::new();
    let run = setup.run(&[
        ("GITHUB_REF", "refs/tags/v0.3.0-rc.1"),
        ("INPUT_CHECK-VERSION", "false"),
    ]);
    ok(&run);
    let release = only_release(&setup, "v0.3.0-rc.1");
    assert!(release.prerelease);
    assert!(!release.draft);
    assert_eq!(release.make_latest.as_deref(), Some("false"));
    assert_eq!(run.output("prerelease").as_deref(), Some("true"));
    assert!(run.summary.contains("(pre-release)"), "{}", run.summary);
    setup.assert_shapes();
}

#[test]
fn without_a_changelog_section_the_notes_are_generated_by_github() {
    let setup = Setup::new();
    std::fs::write(
        setup.workspace.path().join("CHANGELOG.md"),
        "# Changelog\n\n## [Unreleased]\n\n- next\n\n## [0.2.0]\n\n- old\n",
    )
    .unwrap();
    let run = setup.run(&[]);
    ok(&run);
    let body = only_release(&setup, TAG).body.unwrap();
    assert!(
        body.starts_with("## What's Changed\n* Generated by GitHub for v0.3.0"),
        "{body}"
    );
    assert!(!body.contains("next"), "{body}");
    assert!(
        run.stdout.contains("no section for 0.3.0 in CHANGELOG.md"),
        "{}",
        run.stdout
    );
    setup.assert_shapes();
}

#[test]
fn when_github_cannot_generate_notes_a_generic_line_is_used() {
    let setup = Setup::new();
    std::fs::remove_file(setup.workspace.path().join("CHANGELOG.md")).unwrap();
    setup
        .github
        .with_state(|state| state.generate_notes_status = Some(404));
    let run = setup.run(&[]);
    ok(&run);
    let body = only_release(&setup, TAG).body.unwrap();
    assert_eq!(body, "Release 0.3.0 of oidc-publish-demo.");
    setup.assert_shapes();
}

#[test]
fn a_ghes_base_path_and_its_upload_host_work() {
    let setup = Setup::with(GitHubFake::start_ghes());
    assert!(setup.github.api_url().ends_with("/api/v3"));
    let run = setup.run(&[("GITHUB_SERVER_URL", "https://ghe.example.com")]);
    ok(&run);
    let release = only_release(&setup, TAG);
    assert_eq!(asset_digests(&release), expected_assets(&setup));
    assert!(
        release
            .body
            .unwrap()
            .contains("https://ghe.example.com/octo-org/demo/blob/v0.3.0/CHANGELOG.md")
    );
    assert!(
        setup
            .github
            .exchanges()
            .iter()
            .filter(|e| e.operation == "repos/upload-release-asset")
            .all(|e| e
                .path
                .starts_with("/api/uploads/repos/octo-org/demo/releases/"))
    );
    setup.assert_shapes();
}

#[test]
fn a_5xx_on_an_asset_upload_removes_the_half_asset_and_retries() {
    let setup = Setup::new();
    setup.github.with_state(|state| state.fail_uploads = 1);
    let run = setup.run(&[]);
    ok(&run);
    let release = only_release(&setup, TAG);
    assert_eq!(asset_digests(&release), expected_assets(&setup));
    assert_eq!(setup.calls("repos/delete-release-asset"), 1);
    assert!(
        run.stdout.contains("removed a failed upload (state open)"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("uploaded after 2 attempts"),
        "{}",
        run.stdout
    );
    setup.assert_shapes();
}

#[test]
fn a_slow_asset_upload_that_keeps_moving_is_not_cut_off_by_the_idle_timeout() {
    // A slow uplink: the upload host reads 8 MB/s, so the 48 MB wheel takes ~6 s, twice the
    // 3 s idle timeout; but bytes keep moving, so it must go through in one attempt. (Only
    // what sits in socket buffers when the last chunk is handed over, a few MB, is sent
    // without the client seeing progress: well under the idle timeout at this rate.)
    let setup = Setup::with(GitHubFake::start_slow_uplink(8 * 1024 * 1024));
    big_wheel(&setup, 48);
    let run = setup.run(&[
        ("GITHUB_REF", "refs/tags/v1.0.0"),
        ("INPUT_PACKAGES-DIR", "big"),
        ("PYPI_OIDC_PUBLISH_READ_TIMEOUT_MS", "3000"),
        ("PYPI_OIDC_PUBLISH_RETRY_BASE_MS", "20"),
    ]);
    ok(&run);
    assert!(
        run.stdout
            .contains("release asset bigwheel-1.0.0-py3-none-any.whl: uploaded\n"),
        "{}",
        run.stdout
    );
    assert_eq!(setup.calls("repos/upload-release-asset"), 1);
    assert_eq!(setup.calls("repos/delete-release-asset"), 0);
    let release = only_release(&setup, "v1.0.0");
    assert_eq!(release.assets.len(), 1);
    assert_eq!(release.assets[0].state, "uploaded");
}

#[test]
fn an_asset_upload_read_too_slowly_ends_at_its_total_deadline() {
    // The upload host reads 2 MB/s, never idle for the 1 s timeout, so only the total
    // deadline can end an attempt: 2 s + 24 MB at 16 MiB/s = about 3.4 s, where the whole
    // asset would take 12 s. Every attempt is read as slowly, so the run ends in a clear error
    // after the retry budget, and no half asset is left behind.
    let setup = Setup::with(GitHubFake::start_slow_uplink(2 * 1024 * 1024));
    big_wheel(&setup, 24);
    let run = setup.run(&[
        ("GITHUB_REF", "refs/tags/v1.0.0"),
        ("INPUT_PACKAGES-DIR", "big"),
        ("PYPI_OIDC_PUBLISH_READ_TIMEOUT_MS", "1000"),
        ("PYPI_OIDC_PUBLISH_UPLOAD_FLOOR_BPS", "16777216"),
        ("PYPI_OIDC_PUBLISH_RETRY_BASE_MS", "20"),
    ]);
    assert_ne!(run.code, Some(0), "{}\n{}", run.stdout, run.stderr);
    let text = format!("{}\n{}", run.stdout, run.stderr);
    assert!(
        text.contains("was still running after") && text.contains("reads it too slowly"),
        "the deadline is named:\n{text}"
    );
    let attempts = setup.calls("repos/upload-release-asset");
    assert!((2..=5).contains(&attempts), "{attempts} attempts");
    let release = only_release(&setup, "v1.0.0");
    assert!(
        release.assets.iter().all(|a| a.state == "uploaded"),
        "{:?}",
        release.assets
    );
}

#[test]
fn a_stalled_asset_upload_is_given_up_settled_and_retried() {
    let setup = Setup::new();
    setup.github.with_state(|state| {
        state.stall_uploads = 1;
        state.stall_for = std::time::Duration::from_secs(5);
    });
    let run = setup.run(&[
        ("PYPI_OIDC_PUBLISH_READ_TIMEOUT_MS", "500"),
        ("PYPI_OIDC_PUBLISH_RETRY_BASE_MS", "20"),
    ]);
    ok(&run);
    let release = only_release(&setup, TAG);
    assert_eq!(asset_digests(&release), expected_assets(&setup));
    assert_eq!(setup.calls("repos/upload-release-asset (stalled)"), 1);
    assert_eq!(setup.calls("repos/delete-release-asset"), 1);
    assert!(
        run.stdout.contains("removed a failed upload (state open)"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("uploaded after 2 attempts"),
        "{}",
        run.stdout
    );
}

#[test]
fn an_upload_host_that_always_stalls_fails_after_the_retry_budget() {
    let setup = Setup::new();
    setup.github.with_state(|state| {
        state.stall_uploads = 100;
        state.stall_for = std::time::Duration::from_secs(3);
    });
    let run = setup.run(&[
        ("PYPI_OIDC_PUBLISH_READ_TIMEOUT_MS", "300"),
        ("PYPI_OIDC_PUBLISH_RETRY_BASE_MS", "20"),
    ]);
    assert_ne!(run.code, Some(0), "{}\n{}", run.stdout, run.stderr);
    let stalled = setup.calls("repos/upload-release-asset (stalled)");
    assert!((2..=5).contains(&stalled), "{stalled} stalled uploads");
    assert!(
        run.stderr.contains("stalled") || run.stdout.contains("stalled"),
        "{}\n{}",
        run.stdout,
        run.stderr
    );
    // Every half asset was removed: none is left for a re-run to trip over.
    let release = only_release(&setup, TAG);
    assert!(release.assets.iter().all(|a| a.state == "uploaded"));
}

#[test]
fn a_token_with_a_carriage_return_inside_is_an_error_and_nothing_is_sent() {
    let setup = Setup::new();
    let token = setup.github.token();
    let (head, tail) = token.split_at(8);
    let bad = format!("{head}\r{tail}");
    let run = setup.run(&[("INPUT_GITHUB-TOKEN", &bad)]);
    assert_ne!(run.code, Some(0), "{}\n{}", run.stdout, run.stderr);
    let text = format!("{}\n{}", run.stdout, run.stderr);
    assert!(
        text.contains("the input `github-token` contains characters that cannot be sent in an HTTP header (a trailing newline or carriage return?)"),
        "{text}"
    );
    assert!(
        setup.github.exchanges().is_empty(),
        "{:?}",
        setup.github.exchanges()
    );
    // The value is never echoed (the runner's own `::add-mask::` command aside).
    for line in text
        .lines()
        .filter(|line| !line.starts_with("::add-mask::"))
    {
        assert!(!line.contains(tail), "the token leaked: {line:?}");
    }
}

#[test]
fn an_asset_with_the_same_name_and_other_content_is_an_error_naming_both_hashes() {
    let setup = Setup::new();
    let id = setup
        .github
        .with_state(|state| state.add_release(TAG, false, Some(TAG), Some("notes")));
    setup
        .github
        .with_state(|state| state.add_asset(id, WHEEL, b"another wheel", "uploaded"));
    let other = {
        use sha2::Digest as _;
        hex::encode(sha2::Sha256::digest(b"another wheel"))
    };
    let run = setup.run(&[]);
    assert_eq!(run.code, Some(1), "{}\n{}", run.stdout, run.stderr);
    assert!(run.stdout.contains(&other), "{}", run.stdout);
    assert!(
        run.stdout.contains(&dist_sha256(&setup, WHEEL)),
        "{}",
        run.stdout
    );
    assert_eq!(
        setup.calls("repos/upload-release-asset"),
        0,
        "nothing uploaded"
    );
    setup.assert_shapes();
}

#[test]
fn without_digests_an_existing_asset_is_compared_by_downloading_it() {
    let setup = Setup::new();
    setup.github.with_state(|state| state.digests = false);
    ok(&setup.run(&[]));
    let rerun = setup.run(&[]);
    ok(&rerun);
    assert!(
        rerun
            .stdout
            .contains("already attached with the same sha256; kept")
    );
    assert_eq!(setup.calls("storage/download"), 2);
    assert_eq!(
        setup.github.with_state(|state| state.storage_saw_token),
        0,
        "the token must not follow the redirect to the storage host"
    );
    assert_eq!(setup.calls("repos/upload-release-asset"), 2);
    setup.assert_shapes();
}

/// `release: auto` (the default) with the token of a job that has only `id-token: write`:
/// the dists are published, a notice and the step summary say how to get the release or
/// silence the notice, and nothing is written on GitHub.
#[test]
fn auto_publishes_and_explains_when_the_token_may_not_write_contents() {
    let setup = Setup::new();
    let read_only = setup.github.read_only_token();
    let run = setup.run(&[("INPUT_GITHUB-TOKEN", &read_only)]);
    ok(&run);
    run.assert_no_secrets(&[&read_only]);
    assert_eq!(setup.server.stored().len(), 2, "the dists are published");
    let notice = run
        .stdout
        .lines()
        .find(|line| line.starts_with("::notice title=No GitHub release::"))
        .unwrap_or_else(|| panic!("no notice:\n{}", run.stdout));
    for needed in [
        "no GitHub release was made for v0.3.0",
        "contents: write   # the GitHub release",
        "`release: false`",
    ] {
        assert!(notice.contains(needed), "{needed}: {notice}");
    }
    assert!(
        run.summary
            .contains("**No GitHub release**: the dists are published")
            && run
                .summary
                .contains("```yaml\npermissions:\n  contents: write")
            && run.summary.contains("`release: false`"),
        "{}",
        run.summary
    );
    // Known before the upload (the probe), so nothing was even tried.
    assert!(
        run.stdout.find("No GitHub release").unwrap()
            > run
                .stdout
                .find("oidc_publish_demo-0.3.0.tar.gz: uploaded")
                .unwrap(),
        "the notice comes after the uploads:\n{}",
        run.stdout
    );
    let calls: Vec<String> = setup
        .github
        .exchanges()
        .iter()
        .map(|e| format!("{} {} {}", e.status, e.method, e.path))
        .collect();
    assert_eq!(
        calls,
        ["403 POST /repos/octo-org/demo/releases/generate-notes"],
        "one probe that creates nothing, refused"
    );
    assert!(setup.github.with_state(|state| state.releases.is_empty()));
    assert_eq!(run.output("release-url").as_deref(), Some(""));
    setup.assert_shapes();
}

/// When the probe cannot tell (GitHub failed it), the 403 of the create itself is the same
/// notice under `auto`.
#[test]
fn auto_turns_a_403_on_create_into_the_notice_too() {
    let setup = Setup::new();
    setup
        .github
        .with_state(|state| state.generate_notes_status = Some(404));
    let read_only = setup.github.read_only_token();
    let run = setup.run(&[("INPUT_GITHUB-TOKEN", &read_only)]);
    ok(&run);
    assert!(
        run.stdout.contains("::notice title=No GitHub release::"),
        "{}",
        run.stdout
    );
    assert_eq!(
        setup.calls("repos/create-release"),
        1,
        "the create was refused"
    );
    assert!(setup.github.with_state(|state| state.releases.is_empty()));
    assert_eq!(setup.server.stored().len(), 2);
}

/// `release: true` requires the release: without the permission the run stops before the
/// first upload, saying how to grant it.
#[test]
fn release_true_without_contents_write_fails_before_uploading() {
    let setup = Setup::new();
    let read_only = setup.github.read_only_token();
    let run = setup.run(&[
        ("INPUT_GITHUB-TOKEN", &read_only),
        ("INPUT_RELEASE", "true"),
    ]);
    assert_eq!(run.code, Some(1), "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("the token lacks `contents: write`")
            && run
                .stdout
                .contains("contents: write   # the GitHub release")
            && run.stdout.contains("nothing was uploaded"),
        "{}",
        run.stdout
    );
    assert!(setup.server.stored().is_empty(), "nothing may be uploaded");
    // A token denied everything (reads too) is refused the same way.
    let denied = Setup::new();
    denied.github.with_state(|state| state.deny = true);
    let run = denied.run(&[("INPUT_RELEASE", "true")]);
    assert_eq!(run.code, Some(1), "{}\n{}", run.stdout, run.stderr);
    assert!(denied.server.stored().is_empty());
}

#[test]
fn release_true_on_a_run_not_for_a_tag_fails_before_uploading() {
    let setup = Setup::new();
    let run = setup.run(&[("GITHUB_REF", "refs/heads/main"), ("INPUT_RELEASE", "true")]);
    assert_eq!(run.code, Some(1), "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("the run is not for a tag") && run.stdout.contains("release: auto"),
        "{}",
        run.stdout
    );
    assert!(setup.server.stored().is_empty());
    assert!(setup.github.exchanges().is_empty());
}

#[test]
fn a_run_not_for_a_tag_publishes_and_skips_the_release() {
    let setup = Setup::new();
    let run = setup.run(&[("GITHUB_REF", "refs/heads/main")]);
    ok(&run);
    assert!(
        run.stdout
            .contains("skipped because the run is not for a tag"),
        "{}",
        run.stdout
    );
    assert_eq!(setup.server.stored().len(), 2);
    assert!(setup.github.exchanges().is_empty());
    assert_eq!(run.output("release-url").as_deref(), Some(""));
}

#[test]
fn release_false_skips_the_release() {
    let setup = Setup::new();
    let run = setup.run(&[("INPUT_RELEASE", "false")]);
    ok(&run);
    assert!(setup.github.exchanges().is_empty());
    assert_eq!(setup.server.stored().len(), 2);
}

#[test]
fn the_dry_run_prints_the_release_and_its_notes_and_sends_nothing() {
    let setup = Setup::new();
    let run = setup.run(&[("INPUT_DRY-RUN", "true")]);
    ok(&run);
    let plan: Vec<&str> = run
        .stdout
        .lines()
        .skip_while(|line| !line.starts_with("::group::Release plan"))
        .take_while(|line| *line != "::endgroup::")
        .collect();
    insta::assert_snapshot!(plan.join("\n"));
    assert!(setup.github.exchanges().is_empty());
    assert!(setup.server.stored().is_empty());
}

#[test]
fn the_shape_validator_rejects_a_wrong_body() {
    // The validator must be able to fail: a create request with a wrong type and a release
    // without its required fields.
    let exchanges = vec![support::github_fake::Exchange {
        operation: "repos/create-release",
        method: "POST".to_owned(),
        path: "/repos/o/r/releases".to_owned(),
        status: 201,
        request: Some(serde_json::json!({"tag_name": "v1", "draft": "yes", "make_latest": true})),
        response: Some(serde_json::json!({"id": 1})),
    }];
    let (problems, _) = openapi::check(&exchanges);
    let text = problems.join("\n");
    assert!(text.contains("request.draft"), "{text}");
    assert!(text.contains("request.make_latest"), "{text}");
    assert!(
        text.contains("required property `upload_url` is missing"),
        "{text}"
    );
}

#[test]
fn rate_limits_and_5xx_on_the_api_are_waited_out() {
    let setup = Setup::new();
    setup
        .github
        .with_state(|state| state.throttle = vec![429, 403, 503]);
    let run = setup.run(&[]);
    ok(&run);
    assert_eq!(setup.calls("throttled"), 3);
    let release = only_release(&setup, TAG);
    assert!(!release.draft);
    assert_eq!(asset_digests(&release), expected_assets(&setup));
    setup.assert_shapes();
}

#[test]
fn a_lost_create_answer_is_not_blindly_re_sent() {
    let setup = Setup::new();
    setup
        .github
        .with_state(|state| state.lose_create_answers = 1);
    let run = setup.run(&[]);
    ok(&run);
    // The release was stored before the answer got lost: it is found, not created twice.
    assert_eq!(setup.calls("repos/create-release"), 1);
    let release = only_release(&setup, TAG);
    assert!(!release.draft);
    assert_eq!(asset_digests(&release), expected_assets(&setup));
    setup.assert_shapes();
}

#[test]
fn an_immutable_published_release_is_explained() {
    let setup = Setup::new();
    setup.github.with_state(|state| {
        state.immutable = true;
        state.add_release(TAG, false, Some(TAG), Some("notes"));
    });
    let run = setup.run(&[]);
    assert_eq!(run.code, Some(1), "{}\n{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("is immutable"), "{}", run.stdout);
    assert!(only_release(&setup, TAG).assets.is_empty());
}

#[test]
fn a_tag_that_does_not_exist_yet_is_created_at_the_workflow_commit() {
    let setup = Setup::new();
    let run = setup.run(&[("GITHUB_REF", "refs/heads/main"), ("INPUT_TAG", TAG)]);
    ok(&run);
    let release = only_release(&setup, TAG);
    assert_eq!(
        release.target_commitish,
        "0123456789abcdef0123456789abcdef01234567"
    );
    assert!(!release.draft);
    assert_eq!(setup.calls("git/get-ref"), 1);
    setup.assert_shapes();
}

#[test]
fn an_explicit_prerelease_false_wins_over_the_tag() {
    let setup = Setup::new();
    let run = setup.run(&[
        ("GITHUB_REF", "refs/tags/v0.3.0-rc.1"),
        ("INPUT_CHECK-VERSION", "false"),
        ("INPUT_PRERELEASE", "false"),
        ("INPUT_MAKE-LATEST", "false"),
    ]);
    ok(&run);
    let release = only_release(&setup, "v0.3.0-rc.1");
    assert!(!release.prerelease);
    assert_eq!(release.make_latest.as_deref(), Some("false"));
    assert_eq!(run.output("prerelease").as_deref(), Some("false"));
}

#[test]
fn an_upload_corrupted_on_the_way_is_removed_and_sent_again() {
    let setup = Setup::new();
    setup.github.with_state(|state| state.corrupt_uploads = 1);
    let run = setup.run(&[]);
    ok(&run);
    let release = only_release(&setup, TAG);
    assert_eq!(asset_digests(&release), expected_assets(&setup));
    assert_eq!(setup.calls("repos/delete-release-asset"), 1);
    assert_eq!(setup.calls("repos/upload-release-asset"), 3);
    setup.assert_shapes();
}

#[test]
fn a_parallel_job_publishing_first_leaves_one_release_not_two() {
    let setup = Setup::new();
    setup
        .github
        .with_state(|state| state.race_on_publish = true);
    let run = setup.run(&[]);
    ok(&run);
    assert!(
        run.stdout.contains("another job published v0.3.0 first"),
        "{}",
        run.stdout
    );
    let release = only_release(&setup, TAG);
    assert!(!release.draft);
    assert_eq!(
        release.body.as_deref(),
        Some("Notes by the job that published first")
    );
    assert_eq!(asset_digests(&release), expected_assets(&setup));
    assert_eq!(setup.calls("repos/delete-release"), 1);
    assert_eq!(run.output("release-id"), Some(release.id.to_string()));
    setup.assert_shapes();
}

/// Peak memory of the release step for a ~100 MB wheel: it must stay flat (DESIGN §8), i.e.
/// add nothing proportional to the file to a run. Slow, so ignored by default:
/// `cargo test --test release -- --ignored --nocapture`.
#[test]
#[ignore = "slow: builds and uploads a 100 MB wheel twice"]
fn a_100_mb_asset_is_streamed_with_flat_memory() {
    let setup = Setup::new();
    let dist = big_wheel(&setup, 100);
    // First the upload alone, then a re-run that finds the file on the index and makes the
    // release: its peak is the release step's (plus the fixed cost of a run).
    let (upload_peak, _) = measured_run(&setup, "false");
    let (release_peak, stdout) = measured_run(&setup, "true");
    assert!(
        stdout.contains("release asset bigwheel-1.0.0-py3-none-any.whl: uploaded"),
        "{stdout}"
    );
    let release = only_release(&setup, "v1.0.0");
    assert_eq!(release.assets.len(), 1);
    assert_eq!(release.assets[0].data.len(), {
        let size = std::fs::metadata(dist.join("bigwheel-1.0.0-py3-none-any.whl"))
            .unwrap()
            .len();
        usize::try_from(size).unwrap()
    });
    println!("peak RSS: upload run {upload_peak} KiB, release run {release_peak} KiB");
    // A debug build carries ~15 MiB of fixed cost (the DESIGN bar of 20 MiB is for the
    // release build): the release step must add next to nothing, and nothing like the file.
    assert!(
        release_peak < upload_peak + 4 * 1024 && release_peak < 40 * 1024,
        "the release step's memory is not flat: {release_peak} KiB (upload run {upload_peak} KiB)"
    );
}

/// Write `big/bigwheel-1.0.0-py3-none-any.whl` (version 1.0.0, tag v1.0.0) holding
/// `megabytes` of random bytes; returns the directory.
fn big_wheel(setup: &Setup, megabytes: u32) -> std::path::PathBuf {
    let dist = setup.workspace.path().join("big");
    std::fs::create_dir_all(&dist).unwrap();
    let script = r#"
import base64, hashlib, os, sys, zipfile
path = os.path.join(sys.argv[1], "bigwheel-1.0.0-py3-none-any.whl")
files = {
    "bigwheel/__init__.py": b"",
    "bigwheel/blob.bin": os.urandom(int(sys.argv[2]) * 1024 * 1024),
    "bigwheel-1.0.0.dist-info/METADATA": b"Metadata-Version: 2.1\nName: bigwheel\nVersion: 1.0.0\nSummary: big\n",
    "bigwheel-1.0.0.dist-info/WHEEL": b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
}
record = []
for name, data in files.items():
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    record.append(f"{name},sha256={digest},{len(data)}")
record.append("bigwheel-1.0.0.dist-info/RECORD,,")
files["bigwheel-1.0.0.dist-info/RECORD"] = ("\n".join(record) + "\n").encode()
with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
    for name, data in files.items():
        archive.writestr(name, data)
"#;
    let status = std::process::Command::new(support::venv_bin("python"))
        .args(["-c", script])
        .arg(&dist)
        .arg(megabytes.to_string())
        .status()
        .unwrap();
    assert!(status.success());
    dist
}

/// Run the binary under `/usr/bin/time`; returns the peak RSS in KiB and stdout.
fn measured_run(setup: &Setup, release: &str) -> (u64, String) {
    let upload = setup.server.upload_url();
    let api = setup.github.api_url();
    let token = setup.github.token();
    let files = tempfile::tempdir().unwrap();
    let output = std::process::Command::new("/usr/bin/time")
        .args(["-f", "peak-rss-kb=%M"])
        .arg(support::BINARY)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_WORKSPACE", setup.workspace.path())
        .env("GITHUB_OUTPUT", files.path().join("output"))
        .env("GITHUB_STEP_SUMMARY", files.path().join("summary"))
        .env("GITHUB_REPOSITORY", "octo-org/demo")
        .env("GITHUB_SHA", "0123456789abcdef0123456789abcdef01234567")
        .env("GITHUB_REF", "refs/tags/v1.0.0")
        .env("GITHUB_API_URL", &api)
        .env("INPUT_GITHUB-TOKEN", &token)
        .env("INPUT_REPOSITORY-URL", &upload)
        .env("INPUT_PASSWORD", &setup.server.token)
        .env("INPUT_PACKAGES-DIR", "big")
        .env("INPUT_RELEASE", release)
        .current_dir(setup.workspace.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    let peak_kb: u64 = stderr
        .lines()
        .find_map(|line| line.strip_prefix("peak-rss-kb="))
        .and_then(|value| value.trim().parse().ok())
        .unwrap();
    (peak_kb, stdout)
}

/// Another job of the same run is uploading the same dist to the same release (its asset is
/// unfinished, holding the name): the upload's 422 is waited out, the finished asset compared
/// and kept, never deleted from under the other job.
#[test]
fn an_asset_another_job_is_uploading_is_awaited_not_deleted() {
    let setup = Setup::new();
    setup.github.with_state(|state| {
        state.peer_uploads = 1;
        // Within the few backoff steps a run waits (20 ms base in tests, 500 ms in production).
        state.peer_upload_takes = std::time::Duration::from_millis(100);
    });
    let run = setup.run(&[]);
    ok(&run);
    assert!(
        run.stdout.contains("another job attached the same file"),
        "{}",
        run.stdout
    );
    let release = only_release(&setup, TAG);
    assert!(!release.draft);
    assert_eq!(asset_digests(&release), expected_assets(&setup));
    assert_eq!(setup.calls("repos/delete-release-asset"), 0);
    setup.assert_shapes();
}

/// On a tag push two jobs of one run (the guide's `PyPI` and `TestPyPI` jobs, given
/// `contents: write`) make the release of the same tag at the same time. Whoever creates or
/// publishes first wins and the other joins: one published release, no draft left behind,
/// every dist attached once, both jobs green with the same release id. Repeated with fresh
/// state to meet different interleavings.
#[test]
fn two_jobs_releasing_one_tag_at_once_leave_one_release() {
    for round in 0..4 {
        let github = GitHubFake::start();
        let jobs: Vec<(PypiServer, Workspace)> = (0..2)
            .map(|_| {
                let workspace = Workspace::new().with_sample_dists();
                std::fs::copy(
                    repo_root().join("examples/sample-project/CHANGELOG.md"),
                    workspace.path().join("CHANGELOG.md"),
                )
                .unwrap();
                (PypiServer::start(), workspace)
            })
            .collect();
        let api = github.api_url();
        let token = github.token();
        let runs: Vec<RunOutput> = std::thread::scope(|scope| {
            let handles: Vec<_> = jobs
                .iter()
                .map(|(server, workspace)| {
                    let (api, token) = (&api, &token);
                    scope.spawn(move || {
                        let upload = server.upload_url();
                        workspace.run(&[
                            ("INPUT_REPOSITORY-URL", &upload),
                            ("INPUT_PASSWORD", &server.token),
                            ("GITHUB_API_URL", api),
                            ("INPUT_GITHUB-TOKEN", token),
                            ("GITHUB_REF", "refs/tags/v0.3.0"),
                            ("GITHUB_SERVER_URL", "https://github.com"),
                        ])
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        for run in &runs {
            assert_eq!(
                run.code,
                Some(0),
                "round {round}: {}\n{}",
                run.stdout,
                run.stderr
            );
        }
        let releases = github.with_state(|state| state.releases_with_tag(TAG));
        assert_eq!(releases.len(), 1, "round {round}: {releases:#?}");
        let release = &releases[0];
        assert!(!release.draft, "round {round}");
        let mut names: Vec<(String, String)> = release
            .assets
            .iter()
            .map(|a| (a.name.clone(), a.state.clone()))
            .collect();
        names.sort();
        assert_eq!(
            names,
            [
                (WHEEL.to_owned(), "uploaded".to_owned()),
                (SDIST.to_owned(), "uploaded".to_owned())
            ],
            "round {round}"
        );
        for run in &runs {
            assert_eq!(run.output("release-id"), Some(release.id.to_string()));
        }
        let (problems, _) = openapi::check(&github.exchanges());
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }
}
