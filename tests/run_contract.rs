//! End-to-end checks of the run's contract around the steps: what is withheld, what is always
//! written, and what must never be printed (DESIGN §1, §2, §7).

#![cfg(test)]

mod support;

use support::github_fake::GitHubFake;
use support::{PypiServer, Workspace};

const WHEEL: &str = "oidc_publish_demo-0.3.0-py3-none-any.whl";

#[test]
fn no_release_is_made_when_skip_existing_skipped_a_different_file() {
    let server = PypiServer::start();
    let github = GitHubFake::start();
    let workspace = Workspace::new().with_sample_dists();
    std::fs::write(server.packages.path().join(WHEEL), b"another wheel").unwrap();
    let (upload, api, token) = (server.upload_url(), github.api_url(), github.token());
    let run = workspace.run(&[
        ("INPUT_REPOSITORY-URL", &upload),
        ("INPUT_PASSWORD", &server.token),
        ("INPUT_SKIP-EXISTING", "true"),
        ("GITHUB_API_URL", &api),
        ("INPUT_GITHUB-TOKEN", &token),
        ("GITHUB_REF", "refs/tags/v0.3.0"),
    ]);
    assert_eq!(run.code, Some(1), "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout
            .contains("::error title=GitHub release withheld::"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains(WHEEL), "{}", run.stdout);
    assert_eq!(
        github.with_state(|state| state.releases.len()),
        0,
        "no release may be made"
    );
    // The sdist was still uploaded, and the outputs say what happened.
    assert_eq!(
        run.output("uploaded").as_deref(),
        Some(r#"["oidc_publish_demo-0.3.0.tar.gz"]"#)
    );
    assert_eq!(
        run.output("skipped").as_deref(),
        Some(r#"["oidc_publish_demo-0.3.0-py3-none-any.whl"]"#)
    );
    run.assert_no_secrets(&[&server.token, &token]);
}

#[test]
fn a_password_inside_a_url_never_reaches_the_output_or_the_summary() {
    let server = PypiServer::start();
    let workspace = Workspace::new().with_sample_dists();
    let secret = "S3cretReaderPassw0rd";
    let check_url = format!("http://reader:{secret}@127.0.0.1:{}/simple/", server.port);
    let upload = server.upload_url();
    let run = workspace.run(&[
        ("INPUT_REPOSITORY-URL", &upload),
        ("INPUT_PASSWORD", &server.token),
        ("INPUT_CHECK-URL", &check_url),
        ("INPUT_VERBOSE", "true"),
    ]);
    assert_eq!(run.code, Some(0), "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.summary.contains("/simple/oidc-publish-demo/"),
        "{}",
        run.summary
    );
    run.assert_no_secrets(&[secret, &server.token]);
    assert_eq!(server.stored().len(), 2);
}

#[test]
fn a_summary_that_cannot_be_written_does_not_hide_the_real_failure() {
    let server = PypiServer::start();
    let workspace = Workspace::new().with_sample_dists();
    let upload = server.upload_url();
    let not_a_file = workspace.path().join("summary-dir");
    std::fs::create_dir(&not_a_file).unwrap();
    let summary = not_a_file.to_string_lossy().into_owned();
    let run = workspace.run(&[
        ("INPUT_REPOSITORY-URL", &upload),
        ("INPUT_PASSWORD", "pypi-wrong-token-for-this-test"),
        ("GITHUB_STEP_SUMMARY", &summary),
    ]);
    assert_eq!(run.code, Some(1), "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("::error title=Upload failed::"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("::warning title=Step summary::"),
        "{}",
        run.stdout
    );
}

#[test]
fn the_dry_run_summary_states_the_attestation_plan_and_the_prerelease_output() {
    let workspace = Workspace::new().with_sample_dists();
    let run = workspace.run(&[
        ("INPUT_DRY-RUN", "true"),
        ("INPUT_PASSWORD", "pypi-unused-in-a-dry-run"),
    ]);
    assert_eq!(run.code, Some(0), "{}\n{}", run.stdout, run.stderr);
    assert!(run.summary.contains("Attestations: off"), "{}", run.summary);
    assert_eq!(run.output("prerelease").as_deref(), Some("false"));

    let tagged = workspace.run(&[
        ("INPUT_DRY-RUN", "true"),
        ("INPUT_TAG", "v0.3.0-rc.1"),
        ("INPUT_CHECK-VERSION", "false"),
    ]);
    assert_eq!(tagged.code, Some(0), "{}\n{}", tagged.stdout, tagged.stderr);
    assert_eq!(tagged.output("prerelease").as_deref(), Some("true"));
}

#[test]
fn sigstore_defaults_passed_by_the_runner_do_not_enable_attestations_for_other_indexes() {
    // The runner passes action.yml's defaults as values; only a different URL may allow
    // attestations for an index other than PyPI/TestPyPI (DESIGN §5).
    let workspace = Workspace::new().with_sample_dists();
    let run = workspace.run(&[
        ("INPUT_DRY-RUN", "true"),
        ("INPUT_REPOSITORY-URL", "https://pypi.example.com/legacy/"),
        ("INPUT_FULCIO-URL", "https://fulcio.sigstore.dev"),
        ("INPUT_REKOR-URL", "https://rekor.sigstore.dev"),
    ]);
    assert_eq!(run.code, Some(0), "{}\n{}", run.stdout, run.stderr);
    assert!(run.summary.contains("Attestations: off"), "{}", run.summary);
    assert!(
        !run.stdout.contains("certificate from Fulcio"),
        "{}",
        run.stdout
    );
}

#[test]
fn outside_actions_diagnostics_go_to_stderr_and_the_plan_to_stdout() {
    let workspace = Workspace::new().with_sample_dists();
    std::fs::write(workspace.path().join("dist/notes.txt"), "not a dist").unwrap();
    let run = workspace.run(&[("GITHUB_ACTIONS", "false"), ("INPUT_DRY-RUN", "true")]);
    assert_eq!(run.code, Some(0), "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("== Plan (dry run: nothing is sent)"),
        "{}",
        run.stdout
    );
    assert!(
        run.stderr.contains("notice: Ignored file: ") && !run.stdout.contains("Ignored file"),
        "stdout:\n{}\nstderr:\n{}",
        run.stdout,
        run.stderr
    );
    assert!(
        !run.stdout.contains("::"),
        "no workflow command outside Actions"
    );

    let failed = workspace.run(&[
        ("GITHUB_ACTIONS", "false"),
        ("INPUT_UPLOAD-CONCURRENCY", "99"),
    ]);
    assert_eq!(failed.code, Some(2), "{}\n{}", failed.stdout, failed.stderr);
    assert!(failed.stdout.is_empty(), "{}", failed.stdout);
    assert!(
        failed
            .stderr
            .starts_with("error: Invalid input: input `upload-concurrency`"),
        "{}",
        failed.stderr
    );
}
