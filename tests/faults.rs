//! The upload fault matrix (issue 8): the real binary uploads through a fault-injecting proxy
//! to a real pypiserver. Every case ends with every file on the index exactly once (sha256
//! compared on disk, and counted at the proxy: one accepted POST per file), or with a clear
//! error and a re-run that completes the job. Runs with debug logging on, and every run's
//! output is scanned for the token.

#![expect(
    clippy::unwrap_used,
    reason = "test helpers: a failed setup step is a test failure"
)]

mod support;

use std::path::Path;
use std::time::Duration;

use support::fault_proxy::{Fault, FaultProxy, Match, When};
use support::wheels::{platform_wheel, platform_wheel_with_payload};
use support::{PypiServer, RunOutput, Workspace, free_port, sha256_file};

const WHEEL: &str = "oidc_publish_demo-0.3.0-py3-none-any.whl";
const SDIST: &str = "oidc_publish_demo-0.3.0.tar.gz";

/// Run the binary against `repository_url` (the check URL goes to the index directly unless
/// given), with debug logging on (both switches) and short retry waits.
fn publish(
    workspace: &Workspace,
    server: &PypiServer,
    repository_url: &str,
    extra: &[(&str, &str)],
) -> RunOutput {
    let simple = server.simple_url();
    let mut env = vec![
        ("INPUT_REPOSITORY-URL", repository_url),
        ("INPUT_CHECK-URL", simple.as_str()),
        ("INPUT_PASSWORD", server.token.as_str()),
        ("INPUT_VERBOSE", "true"),
        ("RUNNER_DEBUG", "1"),
    ];
    env.extend_from_slice(extra);
    let run = workspace.run(&env);
    run.assert_no_secrets(&[&server.token]);
    run
}

/// Every local dist is on the index with the same sha256, and nothing else is.
fn assert_all_stored(workspace: &Workspace, server: &PypiServer) {
    let stored = server.stored();
    let mut local = std::collections::BTreeMap::new();
    for entry in std::fs::read_dir(workspace.path().join("dist")).unwrap() {
        let path = entry.unwrap().path();
        local.insert(
            path.file_name().unwrap().to_string_lossy().into_owned(),
            sha256_file(&path),
        );
    }
    assert_eq!(stored, local, "the index must hold exactly the local dists");
}

/// Each file was accepted by the index exactly once (never stored twice, never re-sent after
/// it was stored).
fn assert_each_accepted_once(proxy: &FaultProxy, files: &[&str]) {
    let counts = proxy.stored_counts();
    for file in files {
        assert_eq!(
            counts.get(*file),
            Some(&1),
            "{file} must reach the index exactly once: {counts:?}\n{:#?}",
            proxy.seen()
        );
    }
    let conflicts: Vec<_> = proxy
        .seen()
        .into_iter()
        .filter(|seen| seen.upstream_status == Some(409))
        .collect();
    assert!(
        conflicts.is_empty(),
        "a stored file was sent again: {conflicts:#?}"
    );
}

fn ok(run: &RunOutput) {
    assert_eq!(run.code, Some(0), "{}\n{}", run.stdout, run.stderr);
}

#[test]
fn server_errors_500_502_503_are_retried_and_the_attempts_reported() {
    let server = PypiServer::start();
    let proxy = FaultProxy::start(server.port);
    proxy
        .on(Match::post(), When::Nth(vec![1]), Fault::status(500))
        .on(Match::post(), When::Nth(vec![2]), Fault::status(502))
        .on(Match::post(), When::Nth(vec![3]), Fault::status(503));
    let workspace = Workspace::new().with_sample_dists();

    let run = publish(&workspace, &server, &proxy.url(), &[]);
    ok(&run);
    assert_all_stored(&workspace, &server);
    assert_each_accepted_once(&proxy, &[WHEEL, SDIST]);
    proxy.assert_uploads_had_content_length();
    assert!(
        run.stdout
            .contains(&format!("{WHEEL}: uploaded after 4 attempts")),
        "{}",
        run.stdout
    );
    assert!(
        run.stderr.contains("the index answered 503"),
        "the retry log names the answer:\n{}",
        run.stderr
    );
    assert!(
        run.summary.contains("uploaded (4 attempts)"),
        "{}",
        run.summary
    );
    assert_eq!(
        run.output("uploaded").as_deref(),
        Some(format!(r#"["{WHEEL}","{SDIST}"]"#).as_str())
    );
}

#[test]
fn rate_limits_429_with_and_without_retry_after_are_waited_out() {
    let server = PypiServer::start();
    let proxy = FaultProxy::start(server.port);
    proxy
        .on(
            Match::post(),
            When::Nth(vec![1]),
            Fault::status_with(429, &[("Retry-After", "1")], "slow down"),
        )
        .on(Match::post(), When::Nth(vec![2]), Fault::status(429));
    let workspace = Workspace::new().with_sample_dists();

    let run = publish(&workspace, &server, &proxy.url(), &[]);
    ok(&run);
    assert_all_stored(&workspace, &server);
    assert_each_accepted_once(&proxy, &[WHEEL, SDIST]);
    assert!(
        run.stderr.contains("retrying in 1.0s (attempt 1/5)"),
        "Retry-After: 1 must set the wait:\n{}",
        run.stderr
    );
    assert!(
        run.stdout
            .contains(&format!("{WHEEL}: uploaded after 3 attempts")),
        "{}",
        run.stdout
    );
}

#[test]
fn a_connection_reset_mid_body_is_retried_and_the_file_lands_once() {
    let server = PypiServer::start();
    let proxy = FaultProxy::start(server.port);
    proxy.on(
        Match::post(),
        When::Nth(vec![1, 3]),
        Fault::ResetMidBody { after: 1500 },
    );
    let workspace = Workspace::new().with_sample_dists();

    let run = publish(&workspace, &server, &proxy.url(), &[]);
    ok(&run);
    assert_all_stored(&workspace, &server);
    assert_each_accepted_once(&proxy, &[WHEEL, SDIST]);
    proxy.assert_uploads_had_content_length();
    assert!(
        run.stdout
            .contains(&format!("{WHEEL}: uploaded after 2 attempts"))
            && run
                .stdout
                .contains(&format!("{SDIST}: uploaded after 2 attempts")),
        "{}",
        run.stdout
    );
}

#[test]
fn a_response_lost_after_the_file_was_stored_counts_as_uploaded_without_resending() {
    let server = PypiServer::start();
    let proxy = FaultProxy::start(server.port);
    proxy.on(Match::post(), When::Nth(vec![1]), Fault::DropAfterForward);
    let workspace = Workspace::new().with_sample_dists();

    let run = publish(&workspace, &server, &proxy.url(), &[]);
    ok(&run);
    assert_all_stored(&workspace, &server);
    assert_each_accepted_once(&proxy, &[WHEEL, SDIST]);
    let wheel_posts = proxy
        .seen()
        .iter()
        .filter(|seen| seen.file_name.as_deref() == Some(WHEEL))
        .count();
    assert_eq!(
        wheel_posts, 1,
        "the index had the file: it must not be sent again"
    );
    assert!(
        run.stderr
            .contains("the connection broke, but the index has the file"),
        "{}",
        run.stderr
    );
    assert_eq!(
        run.output("uploaded").as_deref(),
        Some(format!(r#"["{WHEEL}","{SDIST}"]"#).as_str()),
        "this run stored it, so it is reported as uploaded"
    );
}

#[test]
fn a_server_that_stalls_beyond_the_timeout_is_given_up_on_and_retried() {
    let server = PypiServer::start();
    let proxy = FaultProxy::start(server.port);
    proxy.on(
        Match::post(),
        When::Nth(vec![1]),
        Fault::Stall(Duration::from_secs(60)),
    );
    let workspace = Workspace::new().with_sample_dists();

    let run = publish(
        &workspace,
        &server,
        &proxy.url(),
        &[("PYPI_OIDC_PUBLISH_READ_TIMEOUT_MS", "3000")],
    );
    ok(&run);
    assert_all_stored(&workspace, &server);
    assert_each_accepted_once(&proxy, &[WHEEL, SDIST]);
    assert!(
        run.stderr.contains("no answer from the index for 3s"),
        "{}",
        run.stderr
    );
    assert!(
        run.stdout
            .contains(&format!("{WHEEL}: uploaded after 2 attempts")),
        "{}",
        run.stdout
    );
}

/// The sample sdist and a platform wheel of `mebibytes` MiB (in place of the sample wheel),
/// whose first upload `proxy` reads 1 MiB every 0.8 s for the first `pauses` MiB.
fn big_wheel_read_slowly(
    proxy: &FaultProxy,
    pauses: usize,
    mebibytes: usize,
) -> (Workspace, String) {
    proxy.on(
        Match::post(),
        When::Nth(vec![1]),
        Fault::SlowBody {
            step: 1 << 20,
            pause: Duration::from_millis(800),
            pauses,
        },
    );
    let workspace = Workspace::new().with_sample_dists();
    let big = platform_wheel_with_payload(
        &workspace.path().join("dist"),
        "cp312-cp312-manylinux_2_17_x86_64",
        mebibytes << 20,
    );
    std::fs::remove_file(workspace.path().join("dist").join(WHEEL)).unwrap();
    (workspace, big)
}

#[test]
fn a_slow_but_moving_upload_is_not_cut_off_by_the_timeout() {
    let server = PypiServer::start();
    let proxy = FaultProxy::start(server.port);
    // 5 pauses of 0.8 s while the first 5 MiB arrive: the upload takes longer than the 3 s
    // timeout in total, but never goes 3 s without progress.
    let (workspace, big) = big_wheel_read_slowly(&proxy, 5, 12);

    let run = publish(
        &workspace,
        &server,
        &proxy.url(),
        &[("PYPI_OIDC_PUBLISH_READ_TIMEOUT_MS", "3000")],
    );
    ok(&run);
    assert_all_stored(&workspace, &server);
    assert_each_accepted_once(&proxy, &[big.as_str(), SDIST]);
    proxy.assert_uploads_had_content_length();
    assert!(
        run.stdout.contains(&format!("{big}: uploaded\n")),
        "one attempt, no timeout:\n{}\n{}",
        run.stdout,
        run.stderr
    );
}

/// A peer that keeps reading, but too slowly, never trips the idle timeout: the attempt's total
/// deadline (request deadline plus the size at a floor rate, both shortened for the test) ends
/// it, the index is looked at, and the file is sent again and lands once.
#[test]
fn an_upload_read_too_slowly_ends_at_its_total_deadline_and_is_retried() {
    let server = PypiServer::start();
    let proxy = FaultProxy::start(server.port);
    // 1 MiB every 0.8 s for the first 20 MiB of 24 MiB (never idle for the 3 s timeout): the
    // client is still writing (about 4 MiB ahead in the socket buffers) when the deadline of
    // 6 s + 24 MiB at 16 MiB/s = 7.5 s ends the attempt, so the proxy never gets the whole
    // body and never forwards the first attempt. (With the whole body already in the kernel's
    // buffers, the first attempt would still reach the index, racing the re-check.)
    let (workspace, big) = big_wheel_read_slowly(&proxy, 20, 24);

    let run = publish(
        &workspace,
        &server,
        &proxy.url(),
        &[
            ("PYPI_OIDC_PUBLISH_READ_TIMEOUT_MS", "3000"),
            ("PYPI_OIDC_PUBLISH_UPLOAD_FLOOR_BPS", "16777216"),
        ],
    );
    ok(&run);
    let text = run.all_text();
    assert!(
        text.contains("the upload was still running after") && text.contains("reads it too slowly"),
        "the deadline is named:\n{text}"
    );
    assert!(
        run.stdout
            .contains(&format!("{big}: uploaded after 2 attempts\n")),
        "{}",
        run.stdout
    );
    assert_all_stored(&workspace, &server);
    assert_each_accepted_once(&proxy, &[big.as_str(), SDIST]);
}

#[test]
fn connection_refused_is_a_clear_error_and_a_rerun_completes() {
    let server = PypiServer::start();
    let workspace = Workspace::new().with_sample_dists();
    let dead = format!("http://127.0.0.1:{}/", free_port());

    let failed = publish(&workspace, &server, &dead, &[]);
    assert_eq!(failed.code, Some(1), "{}\n{}", failed.stdout, failed.stderr);
    assert_eq!(
        failed.stdout.matches("::error").count(),
        1,
        "{}",
        failed.stdout
    );
    assert!(
        failed.stdout.contains("::error title=Upload failed::")
            && failed
                .stdout
                .contains("gave up after 5 attempts: cannot connect")
            && failed.stdout.contains(&dead)
            && failed.stdout.contains("check repository-url")
            && failed.stdout.contains("re-run the job"),
        "{}",
        failed.stdout
    );
    assert!(server.stored().is_empty());

    let rerun = publish(&workspace, &server, &server.upload_url(), &[]);
    ok(&rerun);
    assert_all_stored(&workspace, &server);
}

#[test]
fn a_secret_in_the_query_of_a_url_nothing_answers_at_is_never_shown() {
    // reqwest's errors name the whole URL they were sending to, query included.
    let workspace = Workspace::new().with_sample_dists();
    let dead = format!("http://127.0.0.1:{}/legacy/", free_port());
    let check = format!("http://127.0.0.1:{}/simple/", free_port());
    let repository_url = format!("{dead}?token=QUERYSECRET-upload-0123");
    let check_url = format!("{check}?token=QUERYSECRET-check-4567");
    let run = workspace.run(&[
        ("INPUT_REPOSITORY-URL", repository_url.as_str()),
        ("INPUT_CHECK-URL", check_url.as_str()),
        ("INPUT_PASSWORD", "pypi-static-password-0123456789"),
        ("INPUT_VERBOSE", "true"),
        ("RUNNER_DEBUG", "1"),
    ]);
    assert_eq!(run.code, Some(1), "{}\n{}", run.stdout, run.stderr);
    let text = run.all_text();
    assert!(
        !text.contains("QUERYSECRET"),
        "a URL's query was shown:\n{text}"
    );
    // Still a clear error: the URL without its query, and what went wrong.
    assert!(
        run.stdout.contains("::error title=Upload failed::")
            && run.stdout.contains(&dead)
            && run.stdout.contains("Connection refused"),
        "{}",
        run.stdout
    );
}

#[test]
fn an_index_that_keeps_failing_ends_in_a_clear_error_and_a_rerun_completes() {
    let server = PypiServer::start();
    let proxy = FaultProxy::start(server.port);
    // The wheel is tried 5 times and fails every time; the sdist (6th POST) goes through.
    proxy.on(
        Match::post(),
        When::Nth((1..=5).collect()),
        Fault::status(503),
    );
    let workspace = Workspace::new().with_sample_dists();

    let failed = publish(&workspace, &server, &proxy.url(), &[]);
    assert_eq!(failed.code, Some(1), "{}\n{}", failed.stdout, failed.stderr);
    assert_eq!(
        failed.stdout.matches("::error").count(),
        1,
        "{}",
        failed.stdout
    );
    assert!(
        failed.stdout.contains(&format!("{WHEEL}: upload to"))
            && failed.stdout.contains("gave up after 5 attempts")
            && failed.stdout.contains("503")
            && failed.stdout.contains("Re-run the job"),
        "{}",
        failed.stdout
    );
    assert_eq!(
        server.stored().keys().collect::<Vec<_>>(),
        vec![SDIST],
        "every file is tried even when one fails"
    );

    let rerun = publish(&workspace, &server, &proxy.url(), &[]);
    ok(&rerun);
    assert_all_stored(&workspace, &server);
    assert_each_accepted_once(&proxy, &[WHEEL, SDIST]);
    assert_eq!(
        rerun.output("uploaded").as_deref(),
        Some(format!(r#"["{WHEEL}"]"#).as_str())
    );
    assert_eq!(
        rerun.output("skipped").as_deref(),
        Some(format!(r#"["{SDIST}"]"#).as_str())
    );
}

#[test]
fn same_host_redirects_307_and_308_are_followed_with_the_body() {
    for status in [307, 308] {
        let server = PypiServer::start();
        let proxy = FaultProxy::start(server.port);
        // PyPI answers `/legacy` with a redirect to `/legacy/`; here `/legacy` -> `/`.
        proxy.on(
            Match::new("POST", "/legacy"),
            When::Always,
            Fault::redirect(status, "/"),
        );
        let workspace = Workspace::new().with_sample_dists();
        let url = format!("{}legacy", proxy.url());

        let run = publish(&workspace, &server, &url, &[]);
        ok(&run);
        assert_all_stored(&workspace, &server);
        assert_each_accepted_once(&proxy, &[WHEEL, SDIST]);
        proxy.assert_uploads_had_content_length();
        let redirected = proxy
            .seen()
            .iter()
            .filter(|seen| seen.path == "/legacy")
            .count();
        assert!(redirected >= 1, "{status}: {:#?}", proxy.seen());
    }
}

#[test]
fn a_redirect_to_another_host_is_refused_and_no_credentials_follow_it() {
    let server = PypiServer::start();
    let elsewhere = FaultProxy::start(server.port);
    let proxy = FaultProxy::start(server.port);
    let location = format!("http://localhost:{}/", elsewhere.port);
    proxy.on(Match::post(), When::Always, Fault::redirect(307, &location));
    let workspace = Workspace::new().with_sample_dists();

    let run = publish(&workspace, &server, &proxy.url(), &[]);
    assert_eq!(run.code, Some(1), "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("redirects to another host")
            && run.stdout.contains("refusing to send credentials there"),
        "{}",
        run.stdout
    );
    assert!(
        elsewhere.seen().is_empty(),
        "nothing may reach the other host: {:#?}",
        elsewhere.seen()
    );
    assert!(server.stored().is_empty());
}

#[test]
fn concurrent_uploads_under_mixed_faults_keep_the_output_in_order() {
    let server = PypiServer::start();
    let proxy = FaultProxy::start(server.port);
    proxy
        .on(
            Match::post(),
            When::Nth(vec![2]),
            Fault::ResetMidBody { after: 800 },
        )
        .on(Match::post(), When::Nth(vec![3]), Fault::status(503))
        .on(Match::post(), When::Nth(vec![5]), Fault::DropAfterForward)
        .on(
            Match::post(),
            When::Nth(vec![7]),
            Fault::status_with(429, &[("Retry-After", "0")], ""),
        );
    let workspace = Workspace::new().with_sample_dists();
    let tags = [
        "cp311-cp311-manylinux_2_17_x86_64",
        "cp311-cp311-musllinux_1_2_x86_64",
        "cp312-cp312-manylinux_2_17_x86_64",
        "cp312-cp312-macosx_11_0_arm64",
        "cp312-cp312-win_amd64",
        "cp313-cp313-manylinux_2_17_aarch64",
        "cp313-cp313-win_amd64",
    ];
    for tag in tags {
        platform_wheel(&workspace.path().join("dist"), tag);
    }
    let mut files: Vec<String> = std::fs::read_dir(workspace.path().join("dist"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    // Wheels first in name order, then the sdist: the order of the output.
    files.sort_by_key(|name| {
        (
            !Path::new(name)
                .extension()
                .is_some_and(|ext| ext.eq_ignore_ascii_case("whl")),
            name.clone(),
        )
    });

    let run = publish(
        &workspace,
        &server,
        &proxy.url(),
        &[("INPUT_UPLOAD-CONCURRENCY", "4")],
    );
    ok(&run);
    assert_all_stored(&workspace, &server);
    let names: Vec<&str> = files.iter().map(String::as_str).collect();
    assert_each_accepted_once(&proxy, &names);
    proxy.assert_uploads_had_content_length();
    let reported: Vec<&str> = run
        .stdout
        .lines()
        .filter_map(|line| line.split_once(": uploaded").map(|(name, _)| name))
        .collect();
    assert_eq!(
        reported, names,
        "one line per file, in order:\n{}",
        run.stdout
    );
    let retried = run.stdout.matches(" attempts").count();
    assert!(
        retried >= 2,
        "the faulted files report their attempts:\n{}",
        run.stdout
    );
}

#[test]
fn a_301_302_303_on_the_upload_is_a_clear_error_never_a_success() {
    // reqwest would follow these as a GET without the body; a 2xx to that GET is not an
    // upload (pypi/warehouse#8104).
    for status in [301, 302, 303] {
        let server = PypiServer::start();
        let proxy = FaultProxy::start(server.port);
        proxy.on(
            Match::new("POST", "/legacy"),
            When::Always,
            Fault::redirect(status, "/"),
        );
        let workspace = Workspace::new().with_sample_dists();
        let url = format!("{}legacy", proxy.url());

        let run = publish(&workspace, &server, &url, &[]);
        assert_eq!(
            run.code,
            Some(1),
            "{status}: {}\n{}",
            run.stdout,
            run.stderr
        );
        assert!(
            run.stdout.contains(&format!("answered {status}"))
                && run.stdout.contains("repository-url"),
            "{status}: {}",
            run.stdout
        );
        assert!(
            !proxy
                .seen()
                .iter()
                .any(|seen| seen.method == "GET" && seen.path == "/"),
            "{status}: the redirect must not be followed: {:#?}",
            proxy.seen()
        );
        assert!(server.stored().is_empty());
        assert!(
            !run.stdout.contains(&format!("{WHEEL}: uploaded")),
            "{}",
            run.stdout
        );
    }
}

#[test]
fn an_existing_file_whose_content_cannot_be_compared_is_not_called_different() {
    // The first run stores both files. On the re-run the simple page is unreadable (500) or
    // lists the files without a sha256, and the upload answers 409: the content is unknown,
    // so the error must say so, not tell the user to bump the version. (409 is what pypiserver
    // and devpi answer, so the re-run goes to pypiserver itself: PyPI answers an identical
    // file with 200.)
    let listing = format!(
        r#"<html><body><a href="/packages/{WHEEL}">{WHEEL}</a><a href="/packages/{SDIST}">{SDIST}</a></body></html>"#
    );
    let faults = [
        ("cannot query", Fault::status(500)),
        (
            "no sha256",
            Fault::status_with(200, &[("Content-Type", "text/html")], &listing),
        ),
    ];
    for (case, fault) in faults {
        let server = PypiServer::start();
        let workspace = Workspace::new().with_sample_dists();
        ok(&publish(&workspace, &server, &server.upload_url(), &[]));
        let proxy = FaultProxy::start(server.port);
        proxy.on(Match::new("GET", "/simple/"), When::Always, fault);
        let check = format!("{}simple/", proxy.url());

        let run = publish(
            &workspace,
            &server,
            &server.storage_url(),
            &[("INPUT_CHECK-URL", check.as_str())],
        );
        assert_eq!(run.code, Some(1), "{case}: {}\n{}", run.stdout, run.stderr);
        assert!(
            run.stdout.contains("its content could not be compared")
                && run.stdout.contains("skip-existing"),
            "{case}: {}",
            run.stdout
        );
        assert!(
            !run.stdout.contains("different content") && !run.stdout.contains("bump the version"),
            "{case}: identical files must not be called different:\n{}",
            run.stdout
        );
    }
}

#[test]
fn a_final_4xx_whose_body_stalls_is_not_sent_again() {
    let server = PypiServer::start();
    let proxy = FaultProxy::start(server.port);
    proxy.on(
        Match::post(),
        When::Always,
        Fault::StallBody {
            status: 403,
            duration: Duration::from_secs(30),
        },
    );
    let workspace = Workspace::new().with_sample_dists();

    let run = publish(
        &workspace,
        &server,
        &proxy.url(),
        &[("PYPI_OIDC_PUBLISH_READ_TIMEOUT_MS", "1500")],
    );
    assert_eq!(run.code, Some(1), "{}\n{}", run.stdout, run.stderr);
    let posts = proxy
        .seen()
        .iter()
        .filter(|seen| seen.method == "POST")
        .count();
    assert_eq!(
        posts,
        2,
        "one POST per file, none re-sent: {:#?}",
        proxy.seen()
    );
    assert!(run.stdout.contains("403"), "{}", run.stdout);
    assert!(server.stored().is_empty());
}

#[test]
fn a_simple_page_that_drips_forever_is_given_up_on() {
    // One byte every 100 ms never trips a read timeout; the page read has a total deadline.
    let server = PypiServer::start();
    let proxy = FaultProxy::start(server.port);
    proxy.on(
        Match::new("GET", "/simple/"),
        When::Always,
        Fault::DripBody {
            status: 200,
            interval: Duration::from_millis(100),
            total: Duration::from_secs(40),
        },
    );
    let workspace = Workspace::new().with_sample_dists();
    let check = format!("{}simple/", proxy.url());

    let run = publish(
        &workspace,
        &server,
        &server.upload_url(),
        &[
            ("INPUT_CHECK-URL", check.as_str()),
            ("PYPI_OIDC_PUBLISH_READ_TIMEOUT_MS", "1500"),
        ],
    );
    ok(&run);
    assert_all_stored(&workspace, &server);
    assert!(
        run.stdout.contains("did not send the project page within"),
        "{}",
        run.stdout
    );
}

#[test]
fn confirmation_names_files_a_404_hides_and_says_when_only_names_are_listed() {
    // The first simple-page GET (before the upload) passes; the confirmation's GETs get a
    // 404 (a new project's page not yet visible), or a page listing the files without hashes.
    let listing = format!(
        r#"<html><body><a href="/packages/{WHEEL}">{WHEEL}</a><a href="/packages/{SDIST}">{SDIST}</a></body></html>"#
    );
    let later: Vec<usize> = (2..40).collect();
    let cases = [
        ("404", Fault::status(404)),
        (
            "no sha256",
            Fault::status_with(200, &[("Content-Type", "text/html")], &listing),
        ),
    ];
    for (case, fault) in cases {
        let server = PypiServer::start();
        let proxy = FaultProxy::start(server.port);
        proxy.on(
            Match::new("GET", "/simple/"),
            When::Nth(later.clone()),
            fault,
        );
        let workspace = Workspace::new().with_sample_dists();
        let check = format!("{}simple/", proxy.url());

        let run = publish(
            &workspace,
            &server,
            &server.upload_url(),
            &[("INPUT_CHECK-URL", check.as_str())],
        );
        ok(&run);
        assert_all_stored(&workspace, &server);
        assert!(
            !run.stdout.contains("could not be queried to confirm"),
            "{case}: {}",
            run.stdout
        );
        // Simple-page reads only (the release's JSON API is read once before the uploads).
        let gets = proxy
            .seen()
            .iter()
            .filter(|seen| seen.method == "GET" && seen.path.starts_with("/simple/"))
            .count();
        if case == "404" {
            assert!(
                run.stdout.contains("Not yet visible on the index")
                    && run.stdout.contains(WHEEL)
                    && run.stdout.contains(SDIST),
                "{case}: {}",
                run.stdout
            );
            assert!(gets <= 6, "{case}: the retry is bounded: {gets}");
            assert!(
                run.summary.contains("Not yet confirmed: ") && run.summary.contains(WHEEL),
                "{case}: {}",
                run.summary
            );
        } else {
            assert!(
                run.stdout
                    .contains("listed, but the index publishes no sha256 (confirmed by name only)"),
                "{case}: {}",
                run.stdout
            );
            assert!(
                !run.stdout.contains("lists every file with its sha256"),
                "{}",
                run.stdout
            );
            assert_eq!(gets, 2, "{case}: no retry for a listing without hashes");
            assert!(
                run.summary.contains("Confirmed by name: the index lists every uploaded file, but publishes no sha256"),
                "{case}: {}",
                run.summary
            );
        }
    }
}
