//! End-to-end Trusted Publishing: the real binary against a fake GitHub token endpoint, fake
//! Warehouse OIDC endpoints and, behind them, a real pypiserver that accepts the minted token.
//! Every run is scanned for the JWTs, the request token and the minted token.
#![allow(
    clippy::unwrap_used,
    reason = "test helpers: a failed step is a test failure"
)]

mod support;

use std::time::Duration;

use serde_json::json;
use support::oidc_fake::{GithubOidc, PypiConfig, PypiOidc, Scripted};
use support::{PypiServer, RunOutput, Workspace, sha256_file};

const WHEEL: &str = "oidc_publish_demo-0.3.0-py3-none-any.whl";
const SDIST: &str = "oidc_publish_demo-0.3.0.tar.gz";

/// Fakes plus (optionally) a real index behind them.
struct Setup {
    github: GithubOidc,
    pypi: PypiOidc,
    server: Option<PypiServer>,
    workspace: Workspace,
}

impl Setup {
    /// With a real pypiserver behind the fake index: the minted token is its password.
    fn with_index(claims: &serde_json::Value, config: PypiConfig) -> Self {
        let server = PypiServer::start();
        let config = PypiConfig {
            minted_token: server.token.clone(),
            upstream: Some(format!("http://127.0.0.1:{}", server.port)),
            ..config
        };
        Self {
            github: GithubOidc::start_with(claims),
            pypi: PypiOidc::start(config),
            server: Some(server),
            workspace: Workspace::new().with_sample_dists(),
        }
    }

    /// Without an index: for failures before the first upload.
    fn without_index(claims: &serde_json::Value, config: PypiConfig) -> Self {
        Self {
            github: GithubOidc::start_with(claims),
            pypi: PypiOidc::start(config),
            server: None,
            workspace: Workspace::new().with_sample_dists(),
        }
    }

    fn run(&self, extra: &[(&str, String)]) -> RunOutput {
        let mut env: Vec<(&str, String)> = vec![("INPUT_REPOSITORY-URL", self.pypi.url())];
        env.extend(self.github.env());
        env.extend(extra.iter().cloned());
        let refs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let run = self.workspace.run(&refs);
        let mut secrets = self.github.secrets();
        secrets.push(self.pypi.minted_token.clone());
        run.assert_no_secrets(&secrets.iter().map(String::as_str).collect::<Vec<_>>());
        run
    }

    fn stored(&self) -> std::collections::BTreeMap<String, String> {
        self.server.as_ref().unwrap().stored()
    }

    fn assert_both_files_stored(&self) {
        let stored = self.stored();
        for name in [WHEEL, SDIST] {
            let local = sha256_file(&self.workspace.path().join("dist").join(name));
            assert_eq!(stored.get(name), Some(&local), "{name}: {stored:?}");
        }
    }
}

/// The run's `::error` annotation and the step summary, readable and without ports.
fn error_report(run: &RunOutput) -> String {
    let annotation = run
        .stdout
        .lines()
        .find(|line| line.starts_with("::error"))
        .unwrap_or_else(|| panic!("no ::error annotation:\n{}", run.stdout));
    let start = run
        .summary
        .find("## Trusted Publishing failed")
        .unwrap_or_else(|| {
            panic!(
                "no Trusted Publishing section in the summary:\n{}",
                run.summary
            )
        });
    let summary = &run.summary[start..];
    normalize(&format!(
        "{}\n\n--- step summary ---\n{}",
        unescape(annotation),
        summary
    ))
}

/// The run's `::error` annotation and the summary's "Trusted Publishing failed" section alone
/// (without the dists table that follows it).
fn diagnosis(run: &RunOutput) -> String {
    let report = error_report(run);
    let start = report.find("## Trusted Publishing failed").unwrap();
    match report[start..].find("\n## ") {
        Some(end) => report[..start + end].to_owned(),
        None => report,
    }
}

fn unescape(text: &str) -> String {
    text.replace("%0A", "\n")
        .replace("%0D", "\r")
        .replace("%3A", ":")
        .replace("%2C", ",")
        .replace("%25", "%")
}

/// Ports as `[PORT]`, the summary's phase times as `[T]`.
fn normalize(text: &str) -> String {
    let text = text
        .lines()
        .map(|line| {
            if line.starts_with("| |") && line.ends_with(" s |") {
                let cells = line.matches(" s |").count();
                format!("| |{}", " [T] |".repeat(cells))
            } else {
                line.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    let mut out = String::new();
    let mut rest = text.as_str();
    while let Some(start) = rest.find("127.0.0.1:") {
        let (head, tail) = rest.split_at(start + "127.0.0.1:".len());
        out.push_str(head);
        let digits = tail.chars().take_while(char::is_ascii_digit).count();
        out.push_str("[PORT]");
        rest = &tail[digits..];
    }
    out.push_str(rest);
    out
}

fn annotations(run: &RunOutput, level: &str) -> Vec<String> {
    run.stdout
        .lines()
        .filter(|line| line.starts_with(&format!("::{level}")))
        .map(|line| normalize(&unescape(line)))
        .collect()
}

fn position(stdout: &str, needle: &str) -> usize {
    stdout
        .find(needle)
        .unwrap_or_else(|| panic!("`{needle}` not in the output:\n{stdout}"))
}

#[test]
fn publishes_with_one_oidc_request_and_one_mint() {
    let setup = Setup::with_index(&json!({}), PypiConfig::default());
    // Debug logging on: the secrets must not reach the debug log either.
    let run = setup.run(&[("RUNNER_DEBUG", "1".to_owned())]);
    assert_eq!(run.code, Some(0), "{}\n{}", run.stdout, run.stderr);
    setup.assert_both_files_stored();
    assert_eq!(
        setup.pypi.events(),
        [
            "audience",
            "mint ok",
            &format!("upload {WHEEL}"),
            &format!("upload {SDIST}")
        ],
    );
    let issued = setup.github.issued();
    assert_eq!(issued.len(), 1, "{issued:?}");
    assert_eq!(issued[0].audience, "pypi");
    assert_eq!(setup.pypi.mint_jtis(), [issued[0].jti.clone()]);
    // Both secrets are masked before anything is uploaded.
    let first_upload = position(&run.stdout, "uploaded");
    assert!(position(&run.stdout, &format!("::add-mask::{}", issued[0].token)) < first_upload);
    assert!(
        position(
            &run.stdout,
            &format!("::add-mask::{}", setup.pypi.minted_token)
        ) < first_upload
    );
    assert!(
        run.stdout.contains("authenticated with Trusted Publishing"),
        "{}",
        run.stdout
    );
    assert!(annotations(&run, "warning").is_empty(), "{}", run.stdout);
}

#[test]
fn a_password_means_token_mode_without_any_oidc_call() {
    let setup = Setup::with_index(&json!({}), PypiConfig::default());
    let password = setup.server.as_ref().unwrap().token.clone();
    let run = setup.run(&[("INPUT_PASSWORD", password)]);
    assert_eq!(run.code, Some(0), "{}\n{}", run.stdout, run.stderr);
    setup.assert_both_files_stored();
    assert!(setup.github.issued().is_empty());
    assert_eq!(setup.pypi.count("audience"), 0);
    assert_eq!(setup.pypi.count("mint"), 0);
    insta::assert_snapshot!("token_mode_notice", annotations(&run, "notice").join("\n"));
}

#[test]
fn a_publisher_mismatch_lists_the_errors_and_the_claims() {
    let config = PypiConfig {
        publisher_repository: "octo-org/other-repo".into(),
        ..PypiConfig::default()
    };
    let setup = Setup::without_index(&json!({}), config);
    let run = setup.run(&[]);
    assert_eq!(run.code, Some(1), "{}\n{}", run.stdout, run.stderr);
    // 422 is final: one token, one mint.
    assert_eq!(
        setup.pypi.events(),
        ["audience", "mint 422 invalid-publisher"]
    );
    assert_eq!(setup.github.issued().len(), 1);
    insta::assert_snapshot!("publisher_mismatch", error_report(&run));
}

#[test]
fn every_mint_error_code_is_explained() {
    for code in [
        "invalid-payload",
        "invalid-token",
        "invalid-reuse-token",
        "not-enabled",
    ] {
        let config = if code == "invalid-token" {
            // The index verifies another audience than it advertises: a real verification failure.
            PypiConfig {
                verified_audience: "testpypi".into(),
                ..PypiConfig::default()
            }
        } else {
            PypiConfig {
                scripted: vec![Scripted::Error(code)],
                ..PypiConfig::default()
            }
        };
        let setup = Setup::without_index(&json!({"environment": "pypi"}), config);
        let run = setup.run(&[]);
        assert_eq!(run.code, Some(1), "{code}: {}\n{}", run.stdout, run.stderr);
        assert_eq!(
            setup.pypi.events(),
            ["audience", &format!("mint 422 {code}")]
        );
        insta::assert_snapshot!(format!("mint_error_{code}"), error_report(&run));
    }
}

#[test]
fn a_missing_id_token_permission_shows_the_yaml() {
    let setup = Setup::without_index(&json!({}), PypiConfig::default());
    let run = setup
        .workspace
        .run(&[("INPUT_REPOSITORY-URL", &setup.pypi.url())]);
    assert_eq!(run.code, Some(1), "{}\n{}", run.stdout, run.stderr);
    assert!(
        setup.pypi.events().is_empty(),
        "no network call without a token"
    );
    insta::assert_snapshot!("missing_permission", error_report(&run));
}

#[test]
fn a_pull_request_from_a_fork_is_told_that_forks_get_no_token() {
    let setup = Setup::without_index(&json!({}), PypiConfig::default());
    let event = setup.workspace.path().join("event.json");
    std::fs::write(
        &event,
        json!({"pull_request": {
            "head": {"repo": {"full_name": "forker/demo", "fork": true}},
            "base": {"repo": {"full_name": "octo-org/demo", "fork": false}},
        }})
        .to_string(),
    )
    .unwrap();
    let run = setup.workspace.run(&[
        ("INPUT_REPOSITORY-URL", &setup.pypi.url()),
        ("GITHUB_EVENT_NAME", "pull_request"),
        ("GITHUB_EVENT_PATH", event.to_str().unwrap()),
    ]);
    assert_eq!(run.code, Some(1), "{}\n{}", run.stdout, run.stderr);
    assert!(setup.pypi.events().is_empty());
    insta::assert_snapshot!("fork_pull_request", error_report(&run));
}

#[test]
fn a_refused_id_token_request_is_explained() {
    let setup = Setup::without_index(&json!({}), PypiConfig::default());
    let wrong = "ghs-wrong-request-token-0123456789";
    let run = setup.run(&[("ACTIONS_ID_TOKEN_REQUEST_TOKEN", wrong.to_owned())]);
    assert_eq!(run.code, Some(1), "{}\n{}", run.stdout, run.stderr);
    run.assert_no_secrets(&[wrong]);
    assert!(setup.github.issued().is_empty());
    assert_eq!(
        setup.pypi.events(),
        ["audience"],
        "401 is final, nothing is minted"
    );
    insta::assert_snapshot!("id_token_refused", error_report(&run));
}

#[test]
fn an_index_without_trusted_publishing_answers_404() {
    // The real pypiserver has no /_/oidc/audience.
    let server = PypiServer::start();
    let github = GithubOidc::start();
    let workspace = Workspace::new().with_sample_dists();
    let mut env = vec![("INPUT_REPOSITORY-URL", server.upload_url())];
    env.extend(github.env());
    let refs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let run = workspace.run(&refs);
    assert_eq!(run.code, Some(1), "{}\n{}", run.stdout, run.stderr);
    run.assert_no_secrets(&[&github.request_token]);
    assert!(
        github.issued().is_empty(),
        "no token is requested for an index without OIDC"
    );
    assert!(server.stored().is_empty());
    insta::assert_snapshot!("audience_404", error_report(&run));
}

#[test]
fn a_disabled_or_odd_audience_endpoint_is_explained() {
    for status in [403_u16, 401] {
        let config = PypiConfig {
            audience_status: status,
            ..PypiConfig::default()
        };
        let setup = Setup::without_index(&json!({}), config);
        let run = setup.run(&[]);
        assert_eq!(run.code, Some(1), "{}\n{}", run.stdout, run.stderr);
        assert_eq!(setup.pypi.events(), ["audience"], "4xx is not retried");
        insta::assert_snapshot!(format!("audience_{status}"), error_report(&run));
    }
}

#[test]
fn a_mint_503_is_retried_with_a_fresh_oidc_token() {
    let config = PypiConfig {
        scripted: vec![Scripted::Status(503)],
        ..PypiConfig::default()
    };
    let setup = Setup::with_index(&json!({}), config);
    let run = setup.run(&[]);
    assert_eq!(run.code, Some(0), "{}\n{}", run.stdout, run.stderr);
    setup.assert_both_files_stored();
    assert_eq!(
        setup.pypi.events(),
        [
            "audience",
            "mint 503",
            "mint ok",
            &format!("upload {WHEEL}"),
            &format!("upload {SDIST}")
        ],
    );
    // The fake counts the first token as used: re-sending it would have been refused.
    let jtis = setup.pypi.mint_jtis();
    assert_eq!(jtis.len(), 2);
    assert_ne!(jtis[0], jtis[1], "the retry must use a fresh OIDC token");
    assert_eq!(setup.github.issued().len(), 2);
}

#[test]
fn a_mint_that_keeps_failing_points_at_an_outage() {
    let config = PypiConfig {
        scripted: vec![Scripted::Status(503); 5],
        ..PypiConfig::default()
    };
    let setup = Setup::without_index(&json!({}), config);
    let run = setup.run(&[]);
    assert_eq!(run.code, Some(1), "{}\n{}", run.stdout, run.stderr);
    assert_eq!(setup.pypi.count("mint 503"), 5);
    let jtis = setup.pypi.mint_jtis();
    let unique: std::collections::HashSet<_> = jtis.iter().collect();
    assert_eq!(
        unique.len(),
        5,
        "every attempt with a fresh token: {jtis:?}"
    );
    insta::assert_snapshot!("mint_503_outage", error_report(&run));
}

#[test]
fn a_mint_answer_that_is_not_json_points_at_an_outage() {
    let config = PypiConfig {
        scripted: vec![Scripted::NotJson],
        ..PypiConfig::default()
    };
    let setup = Setup::without_index(&json!({}), config);
    let run = setup.run(&[]);
    assert_eq!(run.code, Some(1), "{}\n{}", run.stdout, run.stderr);
    insta::assert_snapshot!("mint_not_json", error_report(&run));
}

#[test]
fn a_token_near_expiry_is_minted_again_before_the_next_file() {
    // The first token has 65 s left: enough for the first file (the margin is 60 s). The
    // first upload is slow (6 s), so before the second file the token is within the margin
    // and a second one is minted; the fake refuses uploads with an expired token.
    let config = PypiConfig {
        lifetimes: vec![65, 900],
        first_upload_delay: Duration::from_secs(6),
        ..PypiConfig::default()
    };
    let setup = Setup::with_index(&json!({}), config);
    let run = setup.run(&[("INPUT_UPLOAD-CONCURRENCY", "1".to_owned())]);
    assert_eq!(run.code, Some(0), "{}\n{}", run.stdout, run.stderr);
    setup.assert_both_files_stored();
    assert_eq!(
        setup.pypi.events(),
        [
            "audience",
            "mint ok",
            &format!("upload {WHEEL}"),
            "mint ok",
            &format!("upload {SDIST}"),
        ],
    );
    assert_eq!(setup.github.issued().len(), 2);
    assert!(
        run.stdout
            .contains("minting a fresh one before the next file"),
        "{}",
        run.stdout
    );
}

#[test]
fn an_index_clock_an_hour_off_neither_renews_before_every_file_nor_keeps_an_expired_token() {
    // The token's lifetime is `expires` less the index's `Date`, not less this machine's
    // clock: an index an hour behind would otherwise look like one whose tokens have expired
    // (a mint before every file), an index an hour ahead like one whose tokens never expire.
    for offset in [-3600, 3600] {
        let config = PypiConfig {
            clock_offset: offset,
            ..PypiConfig::default()
        };
        let setup = Setup::with_index(&json!({}), config);
        let run = setup.run(&[("INPUT_UPLOAD-CONCURRENCY", "1".to_owned())]);
        assert_eq!(
            run.code,
            Some(0),
            "{offset}: {}\n{}",
            run.stdout,
            run.stderr
        );
        setup.assert_both_files_stored();
        assert_eq!(
            setup.pypi.events(),
            [
                "audience",
                "mint ok",
                &format!("upload {WHEEL}"),
                &format!("upload {SDIST}"),
            ],
            "{offset}: one mint for the whole run"
        );
    }
    // A short token on an index whose clock is ahead is still renewed in time.
    let config = PypiConfig {
        clock_offset: 3600,
        lifetimes: vec![65, 900],
        first_upload_delay: Duration::from_secs(6),
        ..PypiConfig::default()
    };
    let setup = Setup::with_index(&json!({}), config);
    let run = setup.run(&[("INPUT_UPLOAD-CONCURRENCY", "1".to_owned())]);
    assert_eq!(run.code, Some(0), "{}\n{}", run.stdout, run.stderr);
    assert_eq!(
        setup.pypi.events(),
        [
            "audience",
            "mint ok",
            &format!("upload {WHEEL}"),
            "mint ok",
            &format!("upload {SDIST}"),
        ],
    );
}

#[test]
fn a_reusable_workflow_is_warned_about() {
    let claims = json!({
        "job_workflow_ref": "octo-org/shared/.github/workflows/pypi.yml@refs/heads/main",
    });
    let setup = Setup::with_index(&claims, PypiConfig::default());
    let run = setup.run(&[]);
    assert_eq!(run.code, Some(0), "{}\n{}", run.stdout, run.stderr);
    setup.assert_both_files_stored();
    insta::assert_snapshot!(
        "reusable_workflow_warning",
        annotations(&run, "warning").join("\n")
    );
}

#[test]
fn a_mint_answered_with_a_redirect_is_not_followed() {
    for status in [301, 302, 303] {
        let config = PypiConfig {
            scripted: vec![Scripted::Redirect(status)],
            ..PypiConfig::default()
        };
        let setup = Setup::with_index(&json!({}), config);
        let run = setup.run(&[]);
        assert_eq!(
            run.code,
            Some(1),
            "{status}: {}\n{}",
            run.stdout,
            run.stderr
        );
        assert_eq!(
            setup.pypi.events(),
            ["audience", &format!("mint {status}")],
            "{status}: the redirect must not be followed as a GET"
        );
        assert!(setup.stored().is_empty());
    }
}

#[test]
fn a_token_that_expires_during_an_upload_is_minted_again_and_the_file_resent_once() {
    // The token used for the first file lives 2 s; its body takes 4 s to arrive, so the
    // index refuses it (403) after receiving it. The file is sent again with a fresh token.
    let config = PypiConfig {
        lifetimes: vec![2, 2, 900],
        first_upload_delay: Duration::from_secs(4),
        ..PypiConfig::default()
    };
    let setup = Setup::with_index(&json!({}), config);
    let run = setup.run(&[("INPUT_UPLOAD-CONCURRENCY", "1".to_owned())]);
    assert_eq!(run.code, Some(0), "{}\n{}", run.stdout, run.stderr);
    setup.assert_both_files_stored();
    assert_eq!(
        setup.pypi.events(),
        [
            "audience",
            "mint ok",
            "mint ok",
            "upload refused: token expired",
            "mint ok",
            &format!("upload {WHEEL}"),
            &format!("upload {SDIST}"),
        ],
    );
}

#[test]
fn a_renewal_that_fails_is_reported_once_and_not_repeated_by_every_upload() {
    // The first token is about to expire, so both uploads need a fresh one; minting it keeps
    // failing. One mint retry cycle, one summary section, both files fail with that error.
    let mut scripted = vec![Scripted::Mint];
    scripted.extend(vec![Scripted::Status(503); 10]);
    let config = PypiConfig {
        lifetimes: vec![2],
        scripted,
        ..PypiConfig::default()
    };
    let setup = Setup::with_index(&json!({}), config);
    let run = setup.run(&[("INPUT_UPLOAD-CONCURRENCY", "2".to_owned())]);
    assert_eq!(run.code, Some(1), "{}\n{}", run.stdout, run.stderr);
    assert_eq!(setup.pypi.count("mint ok"), 1, "{:?}", setup.pypi.events());
    assert_eq!(setup.pypi.count("mint 503"), 5, "{:?}", setup.pypi.events());
    assert_eq!(
        run.summary.matches("## Trusted Publishing failed").count(),
        1,
        "{}",
        run.summary
    );
    assert!(setup.stored().is_empty());
}

#[test]
fn a_dry_run_with_an_oidc_token_mints_once_uploads_nothing_and_names_the_publisher() {
    let setup = Setup::with_index(&json!({"environment": "pypi"}), PypiConfig::default());
    let run = setup.run(&[("INPUT_DRY-RUN", "true".to_owned())]);
    assert_eq!(run.code, Some(0), "{}\n{}", run.stdout, run.stderr);
    // One OIDC token, one mint, no upload: the index holds nothing.
    assert_eq!(setup.pypi.events(), ["audience", "mint ok"]);
    assert_eq!(setup.github.issued().len(), 1);
    assert!(setup.stored().is_empty(), "{:?}", setup.stored());
    let proof = format!(
        "Trusted Publishing works: the index at {} accepted this job as publisher (repository octo-org/demo, workflow release.yml (octo-org/demo/.github/workflows/release.yml@refs/tags/v0.3.0), environment pypi); the token it minted was discarded, and nothing was uploaded",
        setup.pypi.url()
    );
    assert!(run.stdout.contains(&proof), "{}", run.stdout);
    // The minted token was masked the moment it arrived, before anything else was printed.
    assert!(
        position(
            &run.stdout,
            &format!("::add-mask::{}", setup.pypi.minted_token)
        ) < position(&run.stdout, "Trusted Publishing works")
    );
    assert!(
        run.summary
            .contains("Trusted Publishing works: the index at"),
        "{}",
        run.summary
    );
    assert!(run.summary.contains("(dry run)"), "{}", run.summary);
}

#[test]
fn a_dry_run_whose_publisher_is_refused_fails_with_the_real_runs_diagnosis() {
    let config = PypiConfig {
        publisher_repository: "octo-org/other-repo".into(),
        ..PypiConfig::default()
    };
    let setup = Setup::without_index(&json!({}), config.clone());
    let dry = setup.run(&[("INPUT_DRY-RUN", "true".to_owned())]);
    assert_eq!(dry.code, Some(1), "{}\n{}", dry.stdout, dry.stderr);
    assert_eq!(
        setup.pypi.events(),
        ["audience", "mint 422 invalid-publisher"]
    );
    // Word for word what a real run says.
    let real_setup = Setup::without_index(&json!({}), config);
    let real = real_setup.run(&[]);
    assert_eq!(real.code, Some(1), "{}\n{}", real.stdout, real.stderr);
    assert_eq!(diagnosis(&dry), diagnosis(&real));
    assert!(
        diagnosis(&dry).contains("invalid-publisher"),
        "{}",
        diagnosis(&dry)
    );
}

#[test]
fn a_dry_run_without_an_oidc_token_stays_offline() {
    let setup = Setup::with_index(&json!({}), PypiConfig::default());
    // The runner's environment without ACTIONS_ID_TOKEN_REQUEST_*.
    let run = setup.workspace.run(&[
        ("INPUT_REPOSITORY-URL", setup.pypi.url().as_str()),
        ("INPUT_DRY-RUN", "true"),
    ]);
    assert_eq!(run.code, Some(0), "{}\n{}", run.stdout, run.stderr);
    assert!(setup.pypi.events().is_empty(), "{:?}", setup.pypi.events());
    assert!(setup.github.issued().is_empty());
    assert!(
        run.stdout
            .contains("Trusted Publishing not checked: this job has no OIDC token"),
        "{}",
        run.stdout
    );
}
