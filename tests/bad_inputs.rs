//! The bad-input corpus (issue 8, issue 2): every input with an invalid value and every error
//! case of DESIGN.md gives one clear `::error` annotation naming the input, file or URL and
//! the fix, exit code 2 for usage errors and 1 otherwise, and sends nothing. Requests are
//! counted at a loopback proxy in front of a real pypiserver.

mod support;

use pypi_oidc_publish::inputs::{INPUTS, InputKind};
use support::fault_proxy::{Fault, FaultProxy, Match, When};
use support::{PypiServer, RunOutput, Workspace};

const WHEEL: &str = "oidc_publish_demo-0.3.0-py3-none-any.whl";
const SDIST: &str = "oidc_publish_demo-0.3.0.tar.gz";

struct Index {
    server: PypiServer,
    proxy: FaultProxy,
}

impl Index {
    fn start() -> Self {
        let server = PypiServer::start();
        let proxy = FaultProxy::start(server.port);
        Self { server, proxy }
    }

    /// Run with the index behind the proxy, debug logging on, and `extra` on top.
    fn run(&self, workspace: &Workspace, extra: &[(&str, &str)]) -> RunOutput {
        let url = self.proxy.url();
        let mut env = vec![
            ("INPUT_REPOSITORY-URL", url.as_str()),
            ("INPUT_PASSWORD", self.server.token.as_str()),
            ("INPUT_VERBOSE", "true"),
            ("RUNNER_DEBUG", "1"),
        ];
        env.extend_from_slice(extra);
        workspace.run(&env)
    }

    fn assert_nothing_sent(&self, case: &str) {
        let uploads: Vec<_> = self
            .proxy
            .seen()
            .into_iter()
            .filter(|seen| seen.method == "POST")
            .collect();
        assert!(
            uploads.is_empty(),
            "{case}: something was sent: {uploads:#?}"
        );
        assert!(
            self.server.stored().is_empty(),
            "{case}: {:?}",
            self.server.stored()
        );
    }
}

/// One `::error` line, with the given title and every expected text in it.
fn assert_one_error(case: &str, run: &RunOutput, code: i32, title: &str, expected: &[&str]) {
    assert_eq!(
        run.code,
        Some(code),
        "{case}: exit code\n{}\n{}",
        run.stdout,
        run.stderr
    );
    let errors: Vec<&str> = run
        .stdout
        .lines()
        .filter(|line| line.starts_with("::error"))
        .collect();
    assert_eq!(
        errors.len(),
        1,
        "{case}: one ::error expected:\n{}",
        run.stdout
    );
    assert!(
        errors[0].starts_with(&format!("::error title={title}::")),
        "{case}: title `{title}` expected: {}",
        errors[0]
    );
    for text in expected {
        assert!(
            errors[0].contains(text),
            "{case}: `{text}` expected in the error: {}",
            errors[0]
        );
    }
}

#[test]
fn every_invalid_input_value_is_a_usage_error_naming_the_input_and_nothing_is_sent() {
    let index = Index::start();
    let workspace = Workspace::new().with_sample_dists();
    std::fs::write(workspace.path().join("not-a-dir"), "x").unwrap();

    // Every boolean input of the INPUTS table (new ones are covered as they are added).
    let mut cases: Vec<(String, String, String)> = INPUTS
        .iter()
        .filter(|spec| spec.kind == InputKind::Boolean)
        .map(|spec| {
            (
                spec.name.to_owned(),
                "maybe".to_owned(),
                "is not a boolean".to_owned(),
            )
        })
        .collect();
    assert!(cases.len() >= 8, "the boolean inputs: {cases:?}");
    let text_cases: &[(&str, &str, &str)] = &[
        ("repository-url", "not a url", "is not a URL"),
        ("repository-url", "http://pypi.example.com/legacy/", "http"),
        ("repository-url", "ftp://127.0.0.1/legacy/", "ftp"),
        ("check-url", "not a url", "is not a URL"),
        ("check-url", "http://pypi.example.com/simple/", "http"),
        ("fulcio-url", "http://fulcio.example.com", "http"),
        ("rekor-url", "nope", "is not a URL"),
        ("packages-dir", "no-such-dir", "does not exist"),
        ("packages-dir", "not-a-dir", "is not a directory"),
        ("upload-concurrency", "0", "from 1 to 16"),
        ("upload-concurrency", "17", "from 1 to 16"),
        ("upload-concurrency", "four", "from 1 to 16"),
        ("prerelease", "sometimes", "sometimes"),
        ("make-latest", "sometimes", "sometimes"),
        ("tag", "v1 .0", "white space"),
        ("changelog", "NO-SUCH-CHANGELOG.md", "does not exist"),
    ];
    for (input, value, expected) in text_cases {
        cases.push((
            (*input).to_owned(),
            (*value).to_owned(),
            (*expected).to_owned(),
        ));
    }

    for (input, value, expected) in &cases {
        let case = format!("{input}={value}");
        let key = format!("INPUT_{}", input.to_ascii_uppercase());
        let run = index.run(&workspace, &[(key.as_str(), value.as_str())]);
        assert_one_error(
            &case,
            &run,
            2,
            "Invalid input",
            &[&format!("input `{input}`"), expected],
        );
        index.assert_nothing_sent(&case);
    }
}

#[test]
fn command_line_usage_errors_exit_2_and_send_nothing() {
    let workspace = Workspace::new().with_sample_dists();
    let unknown = workspace.run_with_args(&["--no-such-flag"], &[]);
    assert_eq!(
        unknown.code,
        Some(2),
        "{}\n{}",
        unknown.stdout,
        unknown.stderr
    );
    assert!(
        unknown.stderr.contains("--no-such-flag"),
        "{}",
        unknown.stderr
    );

    let bad_bool = workspace.run_with_args(&["--dry-run=perhaps"], &[]);
    assert_one_error(
        "--dry-run=perhaps",
        &bad_bool,
        2,
        "Invalid input",
        &["input `dry-run`", "perhaps"],
    );
}

#[test]
fn a_password_in_a_url_that_does_not_parse_is_neither_shown_nor_left_unmasked() {
    let workspace = Workspace::new().with_sample_dists();
    let cases = [
        (
            "repository-url",
            "https://__token__:pypi-SECRETTOKEN123@upload.pypi.org:99999/legacy/",
            "`https://***@upload.pypi.org:99999/legacy/`",
            "invalid port number",
            vec!["pypi-SECRETTOKEN123"],
        ),
        (
            "check-url",
            "https://reader-alice:hunter2-pw%21@pkgs.example.com:0x/simple/",
            "`https://***@pkgs.example.com:0x/simple/`",
            "invalid port number",
            vec!["reader-alice", "hunter2-pw%21", "hunter2-pw!"],
        ),
        (
            "check-url",
            "reader-bob:hunter3-pw@pkgs.example.com/simple/",
            "`***@pkgs.example.com/simple/`",
            "has scheme",
            vec!["reader-bob", "hunter3-pw"],
        ),
    ];
    for (input, value, shown, problem, secrets) in cases {
        let key = format!("INPUT_{}", input.to_ascii_uppercase());
        let run = workspace.run(&[(key.as_str(), value)]);
        assert_one_error(
            input,
            &run,
            2,
            "Invalid input",
            &[&format!("input `{input}`"), shown, problem],
        );
        for secret in &secrets {
            assert!(
                !run.all_text().contains(secret),
                "{input}: `{secret}` shown:\n{}",
                run.all_text()
            );
            // Masked for the runner too, before anything else was printed.
            assert!(
                run.stdout
                    .lines()
                    .next()
                    .is_some_and(|line| line.starts_with("::add-mask::"))
                    && run
                        .stdout
                        .lines()
                        .any(|line| line == format!("::add-mask::{}", secret.replace('%', "%25"))),
                "{input}: `{secret}` not masked:\n{}",
                run.stdout
            );
        }
    }
}

/// Set up one broken packages-dir; returns what the error must mention.
type Breakage = fn(&std::path::Path) -> Vec<String>;

#[test]
fn every_dist_problem_is_one_error_naming_the_file_and_nothing_is_sent() {
    let index = Index::start();
    let cases: &[(&str, Breakage)] = &[
        ("empty packages-dir", |dist| {
            for entry in std::fs::read_dir(dist).unwrap() {
                std::fs::remove_file(entry.unwrap().path()).unwrap();
            }
            vec!["no dists".into(), "it is empty".into()]
        }),
        ("only non-dist files", |dist| {
            std::fs::remove_file(dist.join(WHEEL)).unwrap();
            std::fs::remove_file(dist.join(SDIST)).unwrap();
            std::fs::write(dist.join("README.txt"), "x").unwrap();
            vec!["only other files (README.txt)".into()]
        }),
        ("unreadable file (dangling link)", |dist| {
            let name = "oidc_publish_demo-0.3.0-cp312-cp312-manylinux_2_17_x86_64.whl";
            std::os::unix::fs::symlink(dist.join("gone.whl"), dist.join(name)).unwrap();
            vec![name.into(), "cannot read".into()]
        }),
        ("corrupt zip", |dist| {
            let bytes = std::fs::read(dist.join(WHEEL)).unwrap();
            std::fs::write(dist.join(WHEEL), &bytes[..bytes.len() / 3]).unwrap();
            vec![WHEEL.into(), "not a valid zip".into()]
        }),
        ("corrupt tar.gz", |dist| {
            let bytes = std::fs::read(dist.join(SDIST)).unwrap();
            std::fs::write(dist.join(SDIST), &bytes[..bytes.len() / 2]).unwrap();
            vec![SDIST.into()]
        }),
        ("not a zip at all", |dist| {
            std::fs::write(dist.join(WHEEL), b"this is text, not a wheel").unwrap();
            vec![WHEEL.into()]
        }),
        ("a second sdist", |dist| {
            std::fs::copy(
                dist.join(SDIST),
                dist.join("oidc-publish-demo-0.3.0.tar.gz"),
            )
            .unwrap();
            vec!["more than one sdist".into()]
        }),
    ];
    for (case, break_it) in cases {
        let workspace = Workspace::new().with_sample_dists();
        let expected = break_it(&workspace.path().join("dist"));
        let run = index.run(&workspace, &[]);
        let expected: Vec<&str> = expected.iter().map(String::as_str).collect();
        assert_eq!(run.code, Some(1), "{case}:\n{}\n{}", run.stdout, run.stderr);
        let errors = run.stdout.matches("::error").count();
        assert_eq!(errors, 1, "{case}: one ::error expected:\n{}", run.stdout);
        for text in &expected {
            assert!(
                run.stdout.contains(text),
                "{case}: `{text}` expected:\n{}",
                run.stdout
            );
        }
        index.assert_nothing_sent(case);
    }
}

#[test]
fn a_file_the_process_cannot_read_is_named_and_nothing_is_sent() {
    use std::os::unix::fs::PermissionsExt as _;
    let index = Index::start();
    let workspace = Workspace::new().with_sample_dists();
    let wheel = workspace.path().join("dist").join(WHEEL);
    std::fs::set_permissions(&wheel, std::fs::Permissions::from_mode(0o000)).unwrap();
    if std::fs::read(&wheel).is_ok() {
        // Running as root: permissions do not stop reads; a link to nowhere cannot be read.
        std::fs::remove_file(&wheel).unwrap();
        std::os::unix::fs::symlink(workspace.path().join("gone"), &wheel).unwrap();
    }
    let run = index.run(&workspace, &[]);
    assert_eq!(run.code, Some(1), "{}\n{}", run.stdout, run.stderr);
    assert_eq!(run.stdout.matches("::error").count(), 1, "{}", run.stdout);
    assert!(run.stdout.contains(WHEEL), "{}", run.stdout);
    index.assert_nothing_sent("unreadable file");
}

#[test]
fn a_user_without_a_password_is_told_what_to_give() {
    let index = Index::start();
    let workspace = Workspace::new().with_sample_dists();
    let run = workspace.run(&[
        ("INPUT_REPOSITORY-URL", index.proxy.url().as_str()),
        ("INPUT_USER", "alice"),
    ]);
    assert_one_error(
        "user without password",
        &run,
        1,
        "Publishing failed",
        &["input `password` is empty but `user` is `alice`"],
    );
    index.assert_nothing_sent("user without password");
}

#[test]
fn a_file_over_the_size_limit_shows_the_index_answer_and_a_hint() {
    let cases: &[(u16, &str, &str)] = &[
        (
            413,
            "Request Entity Too Large: the upload is over 100 MB",
            "larger than the index allows",
        ),
        (
            400,
            "File too large. Limit for project 'oidc-publish-demo' is 100 MB. See https://pypi.org/help#file-size-limit for more information.",
            "over the index's size limit",
        ),
    ];
    for (status, text, hint) in cases {
        let index = Index::start();
        index.proxy.on(
            Match::post(),
            When::Always,
            Fault::status_with(*status, &[], text),
        );
        let workspace = Workspace::new().with_sample_dists();
        let run = index.run(&workspace, &[]);
        let case = format!("{status} {text}");
        assert_one_error(
            &case,
            &run,
            1,
            "Upload failed",
            &[WHEEL, &status.to_string(), text, hint, &index.proxy.url()],
        );
        assert!(
            index.server.stored().is_empty(),
            "{case}: {:?}",
            index.server.stored()
        );
        // A final answer: each file was tried once, not retried.
        let posts = index
            .proxy
            .seen()
            .iter()
            .filter(|seen| seen.method == "POST")
            .count();
        assert_eq!(posts, 2, "{case}: {:#?}", index.proxy.seen());
    }
}

#[test]
fn an_upload_url_that_is_not_an_upload_endpoint_gets_a_hint() {
    let index = Index::start();
    index.proxy.on(
        Match::post(),
        When::Always,
        Fault::status_with(405, &[("Allow", "GET, HEAD")], "Method Not Allowed"),
    );
    let workspace = Workspace::new().with_sample_dists();
    let run = index.run(&workspace, &[]);
    assert_one_error(
        "405",
        &run,
        1,
        "Upload failed",
        &["405", "repository-url must be the upload endpoint"],
    );
    assert!(index.server.stored().is_empty());
}
