//! End-to-end: the real binary uploads to a real pypiserver, pip installs what was uploaded.

mod support;

use support::{PypiServer, Workspace, pip_install, sha256_file};

fn token_env(server: &PypiServer) -> Vec<(&'static str, String)> {
    vec![
        ("INPUT_REPOSITORY-URL", server.upload_url()),
        ("INPUT_PASSWORD", server.token.clone()),
    ]
}

fn as_refs<'a>(pairs: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    pairs.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

#[test]
fn uploads_the_sample_dists_and_pip_installs_them() {
    let server = PypiServer::start();
    let workspace = Workspace::new().with_sample_dists();
    let env = token_env(&server);
    let run = workspace.run(&as_refs(&env));
    assert_eq!(run.code, Some(0), "{}\n{}", run.stdout, run.stderr);
    run.assert_no_secrets(&[&server.token]);

    let stored = server.stored();
    for entry in std::fs::read_dir(workspace.path().join("dist")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        assert_eq!(
            stored.get(&name),
            Some(&sha256_file(&path)),
            "{name} not stored intact: {stored:?}"
        );
    }
    assert_eq!(stored.len(), 2);
    assert_eq!(
        run.output("uploaded").as_deref(),
        Some(r#"["oidc_publish_demo-0.3.0-py3-none-any.whl","oidc_publish_demo-0.3.0.tar.gz"]"#)
    );
    assert_eq!(run.output("skipped").as_deref(), Some("[]"));
    assert_eq!(run.output("name").as_deref(), Some("oidc-publish-demo"));
    assert_eq!(run.output("version").as_deref(), Some("0.3.0"));
    assert!(
        run.summary.contains("| `oidc_publish_demo-0.3.0.tar.gz` |"),
        "{}",
        run.summary
    );
    assert!(
        run.summary
            .contains("Confirmed: the index lists every uploaded file with the sha256 above"),
        "{}",
        run.summary
    );
    assert!(
        run.stdout.starts_with("::add-mask::"),
        "the token must be masked first:\n{}",
        run.stdout
    );

    let (installed, log) = pip_install(&server.simple_url(), "oidc-publish-demo==0.3.0");
    assert!(installed, "pip could not install what was uploaded:\n{log}");
}

#[test]
fn a_rerun_skips_identical_files_and_succeeds() {
    let server = PypiServer::start();
    let workspace = Workspace::new().with_sample_dists();
    let env = token_env(&server);
    assert_eq!(workspace.run(&as_refs(&env)).code, Some(0));
    let rerun = workspace.run(&as_refs(&env));
    assert_eq!(rerun.code, Some(0), "{}\n{}", rerun.stdout, rerun.stderr);
    assert!(
        rerun
            .stdout
            .contains("already on the index with the same sha256; skipped"),
        "{}",
        rerun.stdout
    );
    assert_eq!(rerun.output("uploaded").as_deref(), Some("[]"));
    assert_eq!(
        rerun.output("skipped").as_deref(),
        Some(r#"["oidc_publish_demo-0.3.0-py3-none-any.whl","oidc_publish_demo-0.3.0.tar.gz"]"#)
    );
    assert_eq!(server.stored().len(), 2);
}

#[test]
fn wrong_credentials_are_refused_without_echoing_the_secret() {
    let server = PypiServer::start();
    let workspace = Workspace::new().with_sample_dists();
    let wrong = "pypi-wrong-token-value-0123456789";
    let url = server.upload_url();
    let run = workspace.run(&[("INPUT_REPOSITORY-URL", &url), ("INPUT_PASSWORD", wrong)]);
    assert_eq!(run.code, Some(1), "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout
            .contains("refused the credentials for user `__token__`"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("::error title=Upload failed::"),
        "{}",
        run.stdout
    );
    run.assert_no_secrets(&[wrong, &server.token]);
    assert!(server.stored().is_empty());
    assert!(run.summary.contains("| failed |"), "{}", run.summary);
}

#[test]
fn a_different_file_with_the_same_name_is_an_error_naming_both_hashes() {
    let server = PypiServer::start();
    let workspace = Workspace::new().with_sample_dists();
    let wheel = "oidc_publish_demo-0.3.0-py3-none-any.whl";
    // Put a different file of the same name on the index first.
    std::fs::write(server.packages.path().join(wheel), b"not the same wheel").unwrap();
    let index_hash = sha256_file(&server.packages.path().join(wheel));
    let local_hash = sha256_file(&workspace.path().join("dist").join(wheel));
    let env = token_env(&server);

    let run = workspace.run(&as_refs(&env));
    assert_eq!(run.code, Some(1), "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains(&index_hash) && run.stdout.contains(&local_hash),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("bump the version"), "{}", run.stdout);
    assert_eq!(
        server.stored().len(),
        1,
        "nothing may be uploaded when a conflict is found"
    );

    let mut env = env;
    env.push(("INPUT_SKIP-EXISTING", "true".to_owned()));
    let skipping = workspace.run(&as_refs(&env));
    assert_eq!(
        skipping.code,
        Some(0),
        "{}\n{}",
        skipping.stdout,
        skipping.stderr
    );
    assert!(
        skipping
            .stdout
            .contains("::warning title=Different file already on the index::"),
        "{}",
        skipping.stdout
    );
    assert_eq!(
        skipping.output("uploaded").as_deref(),
        Some(r#"["oidc_publish_demo-0.3.0.tar.gz"]"#)
    );
}

#[test]
fn dry_run_sends_nothing() {
    let server = PypiServer::start();
    let workspace = Workspace::new().with_sample_dists();
    let mut env = token_env(&server);
    env.push(("INPUT_DRY-RUN", "true".to_owned()));
    let run = workspace.run(&as_refs(&env));
    assert_eq!(run.code, Some(0), "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("Plan (dry run: nothing is sent)"),
        "{}",
        run.stdout
    );
    assert!(server.stored().is_empty());
    run.assert_no_secrets(&[&server.token]);
}

#[test]
fn bad_inputs_fail_before_any_network_call_naming_the_input() {
    let workspace = Workspace::new();
    let cases: &[(&[(&str, &str)], &str)] = &[
        (&[], "input `packages-dir`: directory"),
        (
            &[
                ("INPUT_PACKAGES-DIR", "."),
                ("INPUT_VERIFY-METADATA", "maybe"),
            ],
            "input `verify-metadata`: `maybe` is not a boolean",
        ),
        (
            &[
                ("INPUT_PACKAGES-DIR", "."),
                ("INPUT_REPOSITORY-URL", "http://pypi.example.com/legacy/"),
            ],
            "input `repository-url`",
        ),
        (
            &[
                ("INPUT_PACKAGES-DIR", "."),
                ("INPUT_REPOSITORY-URL", "not a url"),
            ],
            "is not a URL",
        ),
        (
            &[
                ("INPUT_PACKAGES-DIR", "."),
                ("INPUT_UPLOAD-CONCURRENCY", "0"),
            ],
            "input `upload-concurrency`",
        ),
        (
            &[
                ("INPUT_PACKAGES-DIR", "."),
                ("INPUT_PRERELEASE", "sometimes"),
            ],
            "input `prerelease`",
        ),
    ];
    for (env, expected) in cases {
        let run = workspace.run(env);
        assert_eq!(run.code, Some(2), "{env:?}: {}\n{}", run.stdout, run.stderr);
        assert!(
            run.stdout.contains("::error title=Invalid input::"),
            "{env:?}: {}",
            run.stdout
        );
        assert!(
            run.stdout.contains(expected),
            "{env:?}: expected `{expected}` in {}",
            run.stdout
        );
        assert_eq!(
            run.stdout.matches("::error").count(),
            1,
            "one error per failure: {}",
            run.stdout
        );
    }
}

#[test]
fn empty_dir_and_non_dists_only_are_errors_that_say_what_to_do() {
    let workspace = Workspace::new();
    std::fs::create_dir(workspace.path().join("dist")).unwrap();
    let empty = workspace.run(&[]);
    assert_eq!(empty.code, Some(1));
    assert!(
        empty.stdout.contains("no dists (*.whl, *.tar.gz) found")
            && empty.stdout.contains("it is empty"),
        "{}",
        empty.stdout
    );

    std::fs::write(workspace.path().join("dist/SHA256SUMS"), "x").unwrap();
    let others = workspace.run(&[]);
    assert_eq!(others.code, Some(1));
    assert!(
        others
            .stdout
            .contains("it holds only other files (SHA256SUMS)"),
        "{}",
        others.stdout
    );
}

#[test]
fn a_corrupt_archive_stops_everything_before_the_network() {
    let server = PypiServer::start();
    let workspace = Workspace::new().with_sample_dists();
    let wheel = workspace
        .path()
        .join("dist/oidc_publish_demo-0.3.0-py3-none-any.whl");
    let bytes = std::fs::read(&wheel).unwrap();
    std::fs::write(&wheel, &bytes[..bytes.len() / 2]).unwrap();
    let env = token_env(&server);
    let run = workspace.run(&as_refs(&env));
    assert_eq!(run.code, Some(1), "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout
            .contains("::error title=Verification failed (nothing uploaded)::"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("oidc_publish_demo-0.3.0-py3-none-any.whl"),
        "{}",
        run.stdout
    );
    assert!(
        server.stored().is_empty(),
        "the sdist must not be uploaded either"
    );
}

#[test]
fn dists_in_artifact_subfolders_are_found_and_duplicates_counted_once() {
    let server = PypiServer::start();
    let workspace = Workspace::new().with_sample_dists();
    let dist = workspace.path().join("dist");
    std::fs::create_dir(dist.join("artifact-a")).unwrap();
    let sdist = "oidc_publish_demo-0.3.0.tar.gz";
    std::fs::rename(dist.join(sdist), dist.join("artifact-a").join(sdist)).unwrap();
    std::fs::create_dir(dist.join("artifact-b")).unwrap();
    std::fs::copy(
        dist.join("artifact-a").join(sdist),
        dist.join("artifact-b").join(sdist),
    )
    .unwrap();
    std::fs::write(dist.join("build.log"), "log").unwrap();
    let env = token_env(&server);
    let run = workspace.run(&as_refs(&env));
    assert_eq!(run.code, Some(0), "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("::notice title=Ignored file::"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("::notice title=Duplicate dist::"),
        "{}",
        run.stdout
    );
    assert_eq!(server.stored().len(), 2);
}

#[test]
fn a_simple_index_url_given_as_upload_url_gets_a_hint() {
    let server = PypiServer::start();
    let workspace = Workspace::new().with_sample_dists();
    let url = format!("{}packages/", server.upload_url());
    let run = workspace.run(&[
        ("INPUT_REPOSITORY-URL", &url),
        ("INPUT_PASSWORD", &server.token),
        ("INPUT_CHECK-URL", &server.simple_url()),
    ]);
    assert_eq!(run.code, Some(1), "{}\n{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("hint:"), "{}", run.stdout);
    run.assert_no_secrets(&[&server.token]);
}

#[test]
fn files_skipped_for_a_different_file_are_not_confirmed_as_missing() {
    let server = PypiServer::start();
    let workspace = Workspace::new().with_sample_dists();
    let wheel = "oidc_publish_demo-0.3.0-py3-none-any.whl";
    std::fs::write(server.packages.path().join(wheel), b"not the same wheel").unwrap();
    let mut env = token_env(&server);
    env.push(("INPUT_SKIP-EXISTING", "true".to_owned()));

    let run = workspace.run(&as_refs(&env));
    assert_eq!(run.code, Some(0), "{}\n{}", run.stdout, run.stderr);
    assert!(
        !run.stdout.contains("Not yet visible on the index"),
        "only the files this run uploaded are confirmed:\n{}",
        run.stdout
    );
    assert!(run.stdout.contains("confirmed:"), "{}", run.stdout);
}
