//! Hostile input against the real binary (issue 12): a hostile peer on 127.0.0.1 plays the
//! index, GitHub's OIDC token endpoint and the GitHub API; crafted dists, changelogs and URLs
//! come from the workspace. Each attack's outcome is asserted on the job log a reader would see,
//! as GitHub's runner turns stdout and stderr into it (`support::runner_log`, written from
//! actions/runner): no secret readable, no injected workflow command in effect; memory (the
//! kernel's peak RSS of the binary) and time bounded where the attack is about them.
#![expect(
    clippy::unwrap_used,
    reason = "test code (and the shared support module): a failed unwrap is a failed test"
)]

mod support;

use std::io::Write as _;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::json;
use support::hostile::{Hostile, Play};
use support::oidc_fake::GithubOidc;
use support::runner_log::JobLogs;
use support::{Limits, Measured, RunOutput, Workspace, repo_root};

const WHEEL: &str = "oidc_publish_demo-0.3.0-py3-none-any.whl";

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn minted(token: &str) -> Play {
    Play::json(
        200,
        &json!({"success": true, "token": token, "expires": unix_now() + 900}),
    )
}

/// A hostile index that does Trusted Publishing honestly enough: audience `pypi` (a loopback
/// index may ask for it), the given tokens minted in turn, no project page, uploads accepted.
fn trusted_index(tokens: &[&str]) -> Hostile {
    let index = Hostile::start();
    index
        .on(
            "GET",
            "/_/oidc/audience",
            vec![Play::json(200, &json!({"audience": "pypi"}))],
        )
        .on(
            "POST",
            "/_/oidc/mint-token",
            tokens.iter().map(|token| minted(token)).collect(),
        )
        .on(
            "GET",
            "/simple/",
            vec![Play::text(404, "text/plain", "no such project")],
        );
    index
}

fn env_refs<'a>(pairs: &'a [(&'a str, String)]) -> Vec<(&'a str, &'a str)> {
    pairs
        .iter()
        .map(|(key, value)| (*key, value.as_str()))
        .collect()
}

/// The sample wheel with its METADATA replaced by `edit(METADATA)`, RECORD updated to match.
fn write_wheel(dist: &Path, edit: impl Fn(&str) -> String) {
    use base64::Engine as _;
    use sha2::Digest as _;
    use std::io::Read as _;
    let source = repo_root().join("examples/dist").join(WHEEL);
    let mut archive = zip::ZipArchive::new(std::fs::File::open(source).unwrap()).unwrap();
    let mut members: Vec<(String, Vec<u8>)> = Vec::new();
    for index in 0..archive.len() {
        let mut file = archive.by_index(index).unwrap();
        let mut data = Vec::new();
        file.read_to_end(&mut data).unwrap();
        members.push((file.name().to_owned(), data));
    }
    let metadata_name = "oidc_publish_demo-0.3.0.dist-info/METADATA";
    let record_name = "oidc_publish_demo-0.3.0.dist-info/RECORD";
    for (name, data) in &mut members {
        if name == metadata_name {
            *data = edit(&String::from_utf8_lossy(data)).into_bytes();
        }
    }
    let mut record = String::new();
    for (name, data) in members.iter().filter(|(name, _)| name != record_name) {
        let digest =
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(data));
        record.push_str(&format!("{name},sha256={digest},{}\n", data.len()));
    }
    record.push_str(&format!("{record_name},,\n"));
    std::fs::create_dir_all(dist).unwrap();
    let mut writer = zip::ZipWriter::new(std::fs::File::create(dist.join(WHEEL)).unwrap());
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, data) in &members {
        writer.start_file(name.as_str(), options).unwrap();
        if name == record_name {
            writer.write_all(record.as_bytes()).unwrap();
        } else {
            writer.write_all(data).unwrap();
        }
    }
    writer.finish().unwrap();
}

/// Run, then read the job log as the runner would show it.
fn attack(workspace: &Workspace, env: &[(&str, String)]) -> (RunOutput, JobLogs) {
    let (run, _) = attack_measured(workspace, env, Limits::default());
    let logs = JobLogs::of(&run.stdout, &run.stderr);
    (run, logs)
}

fn attack_measured(
    workspace: &Workspace,
    env: &[(&str, String)],
    limits: Limits,
) -> (RunOutput, Measured) {
    workspace.run_measured(&env_refs(env), limits)
}

// ---------------------------------------------------------------------------------------------
// Finding 1: untrusted text cannot become workflow commands, so tokens cannot leak.

#[test]
fn a_metadata_version_cannot_stop_commands_and_leak_the_minted_token() {
    let workspace = Workspace::new();
    write_wheel(&workspace.path().join("dist"), |metadata| {
        metadata.replacen(
            "Metadata-Version: 2.4",
            "Metadata-Version: 2.4\r::stop-commands::pwned-by-metadata",
            1,
        )
    });
    let token = format!("pypi-minted-{:032x}", rand_u128());
    let index = trusted_index(&[&token]);
    index.on("POST", "/legacy/", vec![Play::text(200, "text/plain", "")]);
    let github = GithubOidc::start();
    let mut env = vec![
        ("INPUT_REPOSITORY-URL", format!("{}legacy/", index.url())),
        ("INPUT_VERIFY-METADATA", "false".to_owned()),
        ("INPUT_ATTESTATIONS", "false".to_owned()),
    ];
    env.extend(github.env());
    let (run, logs) = attack(&workspace, &env);
    // A Metadata-Version PyPI does not accept is refused before anything is sent, even with
    // verify-metadata: false (the form depends on it): no token is ever minted, and the
    // hostile text reaches the log only inside the verification error, as text.
    assert_eq!(run.code, Some(1), "{}{}", run.stdout, run.stderr);
    assert!(
        index.received().is_empty(),
        "nothing may be sent: {:?}",
        index.received()
    );
    let mut secrets = github.secrets();
    secrets.push(token);
    logs.assert_no_secrets(&secrets.iter().map(String::as_str).collect::<Vec<_>>());
    logs.assert_no_injected_command("pwned");
    assert!(
        logs.text().contains("stop-commands") && logs.text().contains("pwned-by-metadata"),
        "the hostile text is shown as text:\n{}",
        logs.text()
    );
}

#[test]
fn an_index_message_cannot_stop_commands_before_the_token_is_minted_again() {
    let workspace = Workspace::new().with_sample_dists();
    let (first, second) = (
        format!("pypi-first-{:032x}", rand_u128()),
        format!("pypi-second-{:032x}", rand_u128()),
    );
    let index = trusted_index(&[&first, &second]);
    let message = "Invalid or non-existent authentication information.\n::stop-commands::pwned-by-index\r##[set-output name=pwned]x";
    index.on(
        "POST",
        "/legacy/",
        vec![
            Play::json(403, &json!({ "message": message })),
            Play::text(200, "text/plain", ""),
        ],
    );
    let github = GithubOidc::start();
    let mut env = vec![
        ("INPUT_REPOSITORY-URL", format!("{}legacy/", index.url())),
        ("INPUT_ATTESTATIONS", "false".to_owned()),
        ("INPUT_UPLOAD-CONCURRENCY", "1".to_owned()),
    ];
    env.extend(github.env());
    let (run, logs) = attack(&workspace, &env);
    let mints = index
        .received()
        .iter()
        .filter(|r| r.path == "/_/oidc/mint-token")
        .count();
    assert_eq!(
        mints, 2,
        "the refused token must be minted again:\n{}{}",
        run.stdout, run.stderr
    );
    let mut secrets = github.secrets();
    secrets.extend([first, second]);
    logs.assert_no_secrets(&secrets.iter().map(String::as_str).collect::<Vec<_>>());
    logs.assert_no_injected_command("pwned");
}

#[test]
fn an_audience_shown_in_the_debug_log_cannot_inject_commands() {
    let workspace = Workspace::new().with_sample_dists();
    let index = Hostile::start();
    index.on(
        "GET",
        "/_/oidc/audience",
        vec![Play::json(
            200,
            &json!({"audience": "custom-index\r::stop-commands::pwned-by-audience"}),
        )],
    );
    let github = GithubOidc::start();
    let mut env = vec![
        ("INPUT_REPOSITORY-URL", format!("{}legacy/", index.url())),
        ("RUNNER_DEBUG", "1".to_owned()),
    ];
    env.extend(github.env());
    let (_, logs) = attack(&workspace, &env);
    logs.assert_no_secrets(
        &github
            .secrets()
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
    logs.assert_no_injected_command("pwned");
}

#[test]
fn changelog_text_in_the_dry_run_cannot_inject_commands() {
    let workspace = Workspace::new().with_sample_dists();
    std::fs::write(
        workspace.path().join("CHANGELOG.md"),
        "# Changelog\n\n## 0.3.0\n\n- fixed\n##[set-output name=pwned]yes\n::warning::pwned-by-changelog\n\u{ad}::error::pwned-soft-hyphen\n",
    )
    .unwrap();
    let env = vec![
        ("INPUT_DRY-RUN", "true".to_owned()),
        ("INPUT_TAG", "v0.3.0".to_owned()),
    ];
    let (run, logs) = attack(&workspace, &env);
    assert_eq!(run.code, Some(0), "{}{}", run.stdout, run.stderr);
    logs.assert_no_injected_command("pwned");
    assert!(
        logs.text().contains("pwned-by-changelog"),
        "{}",
        logs.text()
    );
}

/// A token-mode publish of tag v0.3.0 whose index and GitHub API are both `peer`.
fn release_env(peer: &Hostile) -> Vec<(&'static str, String)> {
    vec![
        ("INPUT_REPOSITORY-URL", format!("{}legacy/", peer.url())),
        (
            "INPUT_PASSWORD",
            "pypi-static-password-0123456789".to_owned(),
        ),
        ("INPUT_TAG", "v0.3.0".to_owned()),
        ("GITHUB_TOKEN", "ghs_static0123456789abcdef".to_owned()),
        (
            "GITHUB_API_URL",
            peer.url().trim_end_matches('/').to_owned(),
        ),
    ]
}

/// The hostile peer as the GitHub API of `octo-org/demo`, with `html_url` and asset `state`
/// carrying commands. `upload` is where the release's `upload_url` points. The answers have
/// every field GitHub's release and asset objects always have (the client reads them into
/// octocrab's models), the hostile strings in the ones shown.
fn hostile_github(api: &Hostile, upload: &str, html_url: &str) {
    let repo = format!("{}repos/octo-org/demo", api.url());
    let release = json!({
        "url": format!("{repo}/releases/7"), "assets_url": format!("{repo}/releases/7/assets"),
        "id": 7, "node_id": "RE_7", "tag_name": "v0.3.0", "target_commitish": "main",
        "name": "v0.3.0", "body": "notes", "draft": true, "prerelease": false,
        "html_url": html_url, "created_at": "2026-11-20T10:00:00Z", "published_at": null,
        "author": null, "assets": [],
        "upload_url": format!("{upload}repos/octo-org/demo/releases/7/assets{{?name,label}}"),
    });
    let mut published = release.clone();
    published["draft"] = json!(false);
    let asset = |name: &str, state: &str| {
        json!({"id": 9, "node_id": "RA_9", "name": name, "label": null, "size": 1,
               "state": state, "content_type": "application/octet-stream",
               "download_count": 0, "created_at": "2026-11-20T10:00:00Z",
               "updated_at": "2026-11-20T10:00:00Z", "uploader": null,
               "browser_download_url": format!("{}download/9", api.url()),
               "url": format!("{repo}/releases/assets/9")})
    };
    api.on(
        "GET",
        "/repos/octo-org/demo/releases/tags/",
        vec![Play::text(404, "application/json", "{}")],
    )
    .on(
        "GET",
        "/repos/octo-org/demo/releases?",
        vec![Play::json(200, &json!([]))],
    )
    .on(
        "GET",
        "/repos/octo-org/demo/git/ref/",
        vec![Play::text(404, "application/json", "{}")],
    )
    .on(
        "POST",
        "/repos/octo-org/demo/releases/generate-notes",
        vec![Play::json(
            200,
            &json!({"name": "v0.3.0", "body": "generated"}),
        )],
    )
    .on(
        "GET",
        "/repos/octo-org/demo/releases/7/assets",
        vec![Play::json(
            200,
            &json!([asset(
                WHEEL,
                "starter\r##[set-output name=pwned]by-asset-state"
            )]),
        )],
    )
    .on(
        "DELETE",
        "/repos/octo-org/demo/releases/assets/",
        vec![Play::text(204, "text/plain", "")],
    )
    .on(
        "POST",
        "/repos/octo-org/demo/releases/7/assets",
        vec![Play::json(201, &asset(WHEEL, "uploaded"))],
    )
    .on(
        "POST",
        "/repos/octo-org/demo/releases",
        vec![Play::json(201, &release)],
    )
    .on(
        "PATCH",
        "/repos/octo-org/demo/releases/7",
        vec![Play::json(200, &published)],
    );
}

/// An index that takes every upload (token mode).
fn accepting_index(peer: &Hostile) {
    peer.on(
        "GET",
        "/simple/",
        vec![Play::text(404, "text/plain", "no such project")],
    )
    .on("POST", "/legacy/", vec![Play::text(200, "text/plain", "")]);
}

#[test]
fn github_api_strings_cannot_inject_commands() {
    let workspace = Workspace::new();
    write_wheel(&workspace.path().join("dist"), str::to_owned);
    let peer = Hostile::start();
    accepting_index(&peer);
    hostile_github(
        &peer,
        &peer.url(),
        "https://github.com/octo-org/demo/releases/tag/v0.3.0\r::stop-commands::pwned-by-html-url",
    );
    let env = release_env(&peer);
    let (run, logs) = attack(&workspace, &env);
    assert!(
        peer.received().iter().any(|r| r.method == "PATCH"),
        "the release was not finished, so the attack proves nothing:\n{}{}",
        run.stdout,
        run.stderr
    );
    logs.assert_no_secrets(&[
        "pypi-static-password-0123456789",
        "ghs_static0123456789abcdef",
    ]);
    logs.assert_no_injected_command("pwned");
}

fn rand_u128() -> u128 {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    nanos ^ (u128::from(std::process::id()) << 64)
}

#[test]
fn secrets_are_masked_before_anything_else_is_printed() {
    // A password with a `%` sequence: the runner unescapes `::add-mask::` data, so the value
    // must be escaped for the mask to be the password itself.
    let workspace = Workspace::new().with_sample_dists();
    let password = "pypi-%25%25-0123456789abcdef";
    let env = vec![
        ("INPUT_PASSWORD", password.to_owned()),
        ("INPUT_DRY-RUN", "true".to_owned()),
    ];
    let (run, logs) = attack(&workspace, &env);
    let first = run.stdout.lines().next().unwrap_or_default();
    assert!(first.starts_with("::add-mask::"), "first line: {first}");
    logs.assert_no_secrets(&[password]);
    let log =
        support::runner_log::emulate(&[
            format!("{}\nthe password is {password}\n", run.stdout).as_bytes()
        ]);
    assert!(
        !log.text().contains(password),
        "the runner's mask is not the password:\n{}",
        log.text()
    );
}

// ---------------------------------------------------------------------------------------------
// Finding 3 (and the lookup deadline): every body has a size cap and a deadline.

/// Bounds generous enough never to flake, tight enough to catch an unbounded read: the cap of
/// the largest body (64 MiB) plus the program itself is far below them, an unbounded read far
/// above (3.6 GiB in 6 s before the fix).
const MEMORY_BOUND_KIB: u64 = 400 * 1024;
const TIME_BOUND: std::time::Duration = std::time::Duration::from_secs(45);

fn bounded() -> Limits {
    Limits {
        address_space: 3 << 30,
        kill_after: std::time::Duration::from_secs(90),
    }
}

fn token_mode(peer: &Hostile) -> Vec<(&'static str, String)> {
    vec![
        ("INPUT_REPOSITORY-URL", format!("{}legacy/", peer.url())),
        (
            "INPUT_PASSWORD",
            "pypi-static-password-0123456789".to_owned(),
        ),
        ("PYPI_OIDC_PUBLISH_READ_TIMEOUT_MS", "2000".to_owned()),
    ]
}

/// Print what was measured (the report's numbers: `-- --nocapture`); `SHOW_RUNS=1` shows the
/// run's output too.
#[expect(
    clippy::print_stderr,
    reason = "the numbers measured are the report (`-- --nocapture`)"
)]
fn report(what: &str, run: &RunOutput, measured: Measured) {
    if std::env::var_os("SHOW_RUNS").is_some() {
        eprintln!("--- {what}\n{}{}", run.stdout, run.stderr);
    }
    eprintln!(
        "{what}: peak RSS {} KiB, wall {:.1}s, exit {}",
        measured.peak_rss_kib,
        measured.wall.as_secs_f64(),
        measured.exit_code
    );
}

fn assert_bounded(what: &str, run: &RunOutput, measured: Measured) {
    report(what, run, measured);
    assert!(
        measured.exit_code < 128,
        "{what}: the binary was killed (exit {}; peak RSS {} KiB, {:?}):\n{}{}",
        measured.exit_code,
        measured.peak_rss_kib,
        measured.wall,
        run.stdout,
        run.stderr
    );
    assert!(
        measured.peak_rss_kib < MEMORY_BOUND_KIB,
        "{what}: peak RSS {} KiB",
        measured.peak_rss_kib
    );
    assert!(
        measured.wall < TIME_BOUND,
        "{what}: took {:?}",
        measured.wall
    );
}

#[test]
fn an_endless_simple_page_costs_bounded_memory_and_the_upload_goes_on() {
    let workspace = Workspace::new().with_sample_dists();
    let peer = Hostile::start();
    peer.on(
        "GET",
        "/simple/",
        vec![Play::endless(
            200,
            "text/html",
            "<html><body><a href=\"x.whl\">",
        )],
    )
    .on("POST", "/legacy/", vec![Play::text(200, "text/plain", "")]);
    let (run, measured) = attack_measured(&workspace, &token_mode(&peer), bounded());
    assert_bounded("endless simple page", &run, measured);
    assert_eq!(run.code, Some(0), "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("stopped reading it"), "{}", run.stdout);
}

#[test]
fn endless_answers_are_cut_at_their_cap() {
    let github = GithubOidc::start();
    let oidc = |peer: &Hostile| {
        let mut env = vec![
            ("INPUT_REPOSITORY-URL", format!("{}legacy/", peer.url())),
            ("PYPI_OIDC_PUBLISH_READ_TIMEOUT_MS", "2000".to_owned()),
        ];
        env.extend(github.env());
        env
    };
    let endless = || vec![Play::endless(200, "application/json", "{\"audience\": \"")];
    // The audience answer.
    let peer = Hostile::start();
    peer.on("GET", "/_/oidc/audience", endless());
    let workspace = Workspace::new().with_sample_dists();
    let (run, measured) = attack_measured(&workspace, &oidc(&peer), bounded());
    assert_bounded("endless audience answer", &run, measured);
    // The mint answer.
    let peer = Hostile::start();
    peer.on(
        "GET",
        "/_/oidc/audience",
        vec![Play::json(200, &json!({"audience": "pypi"}))],
    )
    .on("POST", "/_/oidc/mint-token", endless());
    let (run, measured) = attack_measured(&workspace, &oidc(&peer), bounded());
    assert_bounded("endless mint answer", &run, measured);
    // The upload's success answer: the file is stored, the answer's warnings are lost.
    let peer = trusted_index(&["pypi-minted-0123456789abcdef"]);
    peer.on("POST", "/legacy/", endless());
    let mut env = oidc(&peer);
    env.push(("INPUT_ATTESTATIONS", "false".to_owned()));
    let (run, measured) = attack_measured(&workspace, &env, bounded());
    assert_bounded("endless upload answer", &run, measured);
    assert_eq!(run.code, Some(0), "{}{}", run.stdout, run.stderr);
    // Fulcio's certificate answer.
    let peer = trusted_index(&["pypi-minted-0123456789abcdef"]);
    peer.on("POST", "/api/v2/signingCert", endless());
    let mut env = oidc(&peer);
    env.push(("INPUT_FULCIO-URL", peer.url()));
    let (run, measured) = attack_measured(&workspace, &env, bounded());
    assert_bounded("endless Fulcio answer", &run, measured);
}

#[test]
fn dripping_answers_are_given_up_on_in_bounded_time() {
    let drip = || {
        vec![Play::drip(
            200,
            "application/json",
            std::time::Duration::from_millis(200),
        )]
    };
    // GitHub's OIDC token endpoint.
    let peer = trusted_index(&["pypi-minted-0123456789abcdef"]);
    peer.on("GET", "/_apis/token", drip());
    let workspace = Workspace::new().with_sample_dists();
    let env = vec![
        ("INPUT_REPOSITORY-URL", format!("{}legacy/", peer.url())),
        ("PYPI_OIDC_PUBLISH_READ_TIMEOUT_MS", "1000".to_owned()),
        (
            "ACTIONS_ID_TOKEN_REQUEST_URL",
            format!("{}_apis/token?api-version=2.0", peer.url()),
        ),
        (
            "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
            "ghs-request-0123456789".to_owned(),
        ),
    ];
    let (run, measured) = attack_measured(&workspace, &env, bounded());
    assert_bounded("dripping OIDC token answer", &run, measured);
    assert_eq!(run.code, Some(1), "{}{}", run.stdout, run.stderr);
    // The GitHub API.
    let peer = Hostile::start();
    accepting_index(&peer);
    peer.on("GET", "/repos/", drip());
    let mut env = token_mode(&peer);
    env.extend([
        ("PYPI_OIDC_PUBLISH_READ_TIMEOUT_MS", "1000".to_owned()),
        ("INPUT_TAG", "v0.3.0".to_owned()),
        ("GITHUB_TOKEN", "ghs_static0123456789abcdef".to_owned()),
        (
            "GITHUB_API_URL",
            peer.url().trim_end_matches('/').to_owned(),
        ),
    ]);
    let (run, measured) = attack_measured(&workspace, &env, bounded());
    assert_bounded("dripping GitHub API answer", &run, measured);
    assert_eq!(run.code, Some(1), "{}{}", run.stdout, run.stderr);
}

#[test]
fn index_headers_that_trickle_cost_one_deadline_per_lookup() {
    let workspace = Workspace::new().with_sample_dists();
    let peer = Hostile::start();
    peer.on(
        "GET",
        "/simple/",
        vec![Play::TrickleHead {
            interval: std::time::Duration::from_millis(100),
        }],
    )
    .on("POST", "/legacy/", vec![Play::text(200, "text/plain", "")]);
    let mut env = token_mode(&peer);
    env.push(("PYPI_OIDC_PUBLISH_READ_TIMEOUT_MS", "1000".to_owned()));
    let (run, measured) = attack_measured(&workspace, &env, bounded());
    assert_bounded("trickling index headers", &run, measured);
    assert_eq!(run.code, Some(0), "{}{}", run.stdout, run.stderr);
    let lookups = peer
        .received()
        .iter()
        .filter(|request| request.path.starts_with("/simple/"))
        .count();
    assert_eq!(
        lookups, 2,
        "one lookup before, one to confirm: a slow index is not asked again"
    );
}

// ---------------------------------------------------------------------------------------------
// Finding 5: the GitHub token goes only to the API's upload host.

#[test]
fn the_github_token_is_sent_to_no_upload_url_but_the_api_upload_host() {
    let workspace = Workspace::new();
    write_wheel(&workspace.path().join("dist"), str::to_owned);
    let peer = Hostile::start();
    accepting_index(&peer);
    let elsewhere = Hostile::start();
    elsewhere.on("", "/", vec![Play::json(201, &json!({}))]);
    hostile_github(
        &peer,
        &elsewhere.url(),
        "https://github.com/octo-org/demo/releases/tag/v0.3.0",
    );
    let env = release_env(&peer);
    let (run, logs) = attack(&workspace, &env);
    assert!(
        elsewhere.received().is_empty(),
        "the token went to another origin: {:?}",
        elsewhere.received()
    );
    assert_eq!(run.code, Some(1), "{}{}", run.stdout, run.stderr);
    assert!(
        logs.text().contains("refusing to send the token there"),
        "{}",
        logs.text()
    );
}

// ---------------------------------------------------------------------------------------------
// Finding 6 and "never two Authorization headers": user info in URLs.

#[test]
fn a_token_written_as_a_url_user_name_is_never_shown() {
    let workspace = Workspace::new().with_sample_dists();
    let peer = Hostile::start();
    accepting_index(&peer);
    let closed = support::free_port();
    let mut env = token_mode(&peer);
    env.push((
        "INPUT_CHECK-URL",
        format!("http://FURYTOKEN0123456789abc@127.0.0.1:{closed}/simple/"),
    ));
    let (run, logs) = attack(&workspace, &env);
    assert_eq!(run.code, Some(0), "{}{}", run.stdout, run.stderr);
    assert!(
        logs.text()
            .contains(&format!("http://127.0.0.1:{closed}/simple/")),
        "the lookup's URL is named, without its user info:\n{}",
        logs.text()
    );
    logs.assert_no_secrets(&["FURYTOKEN0123456789abc", "pypi-static-password-0123456789"]);
    assert!(!run.summary.contains("FURYTOKEN"), "{}", run.summary);
}

/// Every 8-character piece of `secret` found in `text`, Markdown's backslash escapes removed
/// (`pypi-Ag\_x` is the escaped `pypi-Ag_x`): a secret shown in part or escaped is still shown.
fn pieces_of(secret: &str, text: &str) -> Vec<String> {
    let plain = text.replace('\\', "");
    let chars: Vec<char> = secret.chars().collect();
    chars
        .windows(8)
        .map(|piece| piece.iter().collect::<String>())
        .filter(|piece| plain.contains(piece.as_str()))
        .collect()
}

#[test]
fn an_index_echoing_the_password_shows_no_part_of_it_in_the_log_or_the_summary() {
    // The index says back the password it refused: escaped for the summary (`_` -> `\_`) it
    // no longer matched the secret; cut at the error body's 4096 bytes, half of it did not.
    let password = format!("pypi-AgEI_echoed_secret_{:032x}", rand_u128());
    let echoes = [
        Play::json(
            400,
            &json!({"message": format!("Invalid or non-existent authentication information: {password} is not a token of this index.")}),
        ),
        Play::text(
            400,
            "text/plain",
            &format!("{}{password} was refused", "x".repeat(4096 - 20)),
        ),
    ];
    for echo in echoes {
        let workspace = Workspace::new().with_sample_dists();
        let peer = Hostile::start();
        peer.on(
            "GET",
            "/simple/",
            vec![Play::text(404, "text/plain", "no such project")],
        )
        .on("POST", "/legacy/", vec![echo]);
        let env = vec![
            ("INPUT_REPOSITORY-URL", format!("{}legacy/", peer.url())),
            ("INPUT_PASSWORD", password.clone()),
            ("INPUT_VERBOSE", "true".to_owned()),
        ];
        let (run, logs) = attack(&workspace, &env);
        assert_eq!(run.code, Some(1), "{}{}", run.stdout, run.stderr);
        assert!(
            run.summary.replace('\\', "").contains("***") && logs.text().contains("***"),
            "the echoed password is shown redacted:\n{}\n{}",
            logs.text(),
            run.summary
        );
        logs.assert_no_secrets(&[&password]);
        for (what, text) in [("summary", &run.summary), ("log", &logs.text())] {
            let shown = pieces_of(&password, text);
            assert!(shown.is_empty(), "the {what} shows {shown:?}:\n{text}");
        }
    }
}

fn basic(user: &str, password: &str) -> String {
    use base64::Engine as _;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

#[test]
fn an_upload_carries_one_authorization_header_and_password_wins_over_url_user_info() {
    let workspace = Workspace::new().with_sample_dists();
    let peer = Hostile::start();
    accepting_index(&peer);
    let repository = format!(
        "http://olduser:old-password-42@127.0.0.1:{}/legacy/",
        peer.port
    );
    let env = vec![
        ("INPUT_REPOSITORY-URL", repository.clone()),
        (
            "INPUT_PASSWORD",
            "pypi-static-password-0123456789".to_owned(),
        ),
    ];
    let (run, logs) = attack(&workspace, &env);
    assert_eq!(run.code, Some(0), "{}{}", run.stdout, run.stderr);
    let uploads: Vec<_> = peer
        .received()
        .into_iter()
        .filter(|request| request.method == "POST")
        .collect();
    assert_eq!(uploads.len(), 2);
    for upload in &uploads {
        assert_eq!(
            upload.all("authorization"),
            vec![basic("__token__", "pypi-static-password-0123456789").as_str()],
            "exactly one Authorization header, from `password`"
        );
    }
    assert!(
        logs.text()
            .contains("Credentials in repository-url ignored"),
        "{}",
        logs.text()
    );
    logs.assert_no_secrets(&["old-password-42", "pypi-static-password-0123456789"]);

    // Without `password`, the URL's user info is the credentials (token mode), still one
    // header; a 2-character password is not shown either.
    let short = format!("http://__token__:ab@127.0.0.1:{}/legacy/", peer.port);
    let (run, logs) = attack(&workspace, &[("INPUT_REPOSITORY-URL", short)]);
    assert_eq!(run.code, Some(0), "{}{}", run.stdout, run.stderr);
    let last = peer
        .received()
        .into_iter()
        .rev()
        .find(|r| r.method == "POST")
        .unwrap();
    assert_eq!(
        last.all("authorization"),
        vec![basic("__token__", "ab").as_str()]
    );
    assert!(!logs.text().contains(":ab@"), "{}", logs.text());
}

// ---------------------------------------------------------------------------------------------
// Finding 7: the index does not choose the OIDC audience blindly.

#[test]
fn an_index_asking_for_another_service_s_audience_gets_no_token() {
    let workspace = Workspace::new().with_sample_dists();
    let github = GithubOidc::start();
    for audience in [
        "sigstore",
        "sts.amazonaws.com",
        "api://AzureADTokenExchange",
        "https://github.com/octo-org",
    ] {
        let index = Hostile::start();
        index.on(
            "GET",
            "/_/oidc/audience",
            vec![Play::json(200, &json!({ "audience": audience }))],
        );
        let mut env = vec![("INPUT_REPOSITORY-URL", format!("{}legacy/", index.url()))];
        env.extend(github.env());
        let (run, logs) = attack(&workspace, &env);
        assert_eq!(
            run.code,
            Some(1),
            "{audience}: {}{}",
            run.stdout,
            run.stderr
        );
        assert!(
            logs.text()
                .contains("the index asks for another service's audience"),
            "{audience}: {}",
            logs.text()
        );
        assert!(
            !index
                .received()
                .iter()
                .any(|r| r.path.contains("mint-token")),
            "{audience}: nothing is minted"
        );
    }
    assert!(
        github.issued().is_empty(),
        "GitHub was asked for tokens: {:?}",
        github
            .issued()
            .iter()
            .map(|issued| issued.audience.clone())
            .collect::<Vec<_>>()
    );
}

// ---------------------------------------------------------------------------------------------
// Finding 9: hostile strings in the step summary stay text.

/// The summary as GitHub renders it: cmark-gfm with its extensions, raw HTML let through (so
/// that any HTML of ours shows; GitHub's sanitiser would hide only part of it).
fn render_gfm(markdown: &str) -> String {
    let output = std::process::Command::new(support::venv_bin("python"))
        .args([
            "-c",
            "import sys, cmarkgfm; from cmarkgfm.cmark import Options; \
             sys.stdout.write(cmarkgfm.github_flavored_markdown_to_html(sys.stdin.read(), options=Options.CMARK_OPT_UNSAFE))",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            child
                .stdin
                .take()
                .unwrap()
                .write_all(markdown.as_bytes())?;
            child.wait_with_output()
        })
        .unwrap();
    assert!(output.status.success(), "cmarkgfm failed");
    String::from_utf8(output.stdout).unwrap()
}

const HOSTILE: &str = "<img src=x onerror=alert(1)> [click](https://evil.example/) **pwned** www.evil.example `x` | y\n# z";

fn assert_stays_text(what: &str, summary: &str) {
    let html = render_gfm(summary);
    for forbidden in [
        "<img",
        "<script",
        "href=\"https://evil.example",
        "href=\"http://www.evil.example",
        "<strong>pwned",
        "href=\"javascript",
        "<h1>z",
    ] {
        assert!(
            !html.contains(forbidden),
            "{what}: `{forbidden}` rendered from a hostile string:\n{summary}\n--- html ---\n{html}"
        );
    }
}

#[test]
fn hostile_strings_in_the_step_summary_stay_text() {
    let workspace = Workspace::new().with_sample_dists();
    // A server message for a failed upload.
    let peer = Hostile::start();
    peer.on("GET", "/simple/", vec![Play::text(404, "text/plain", "")])
        .on(
            "POST",
            "/legacy/",
            vec![Play::json(400, &json!({ "message": HOSTILE }))],
        );
    let (run, _) = attack(&workspace, &token_mode(&peer));
    assert_eq!(run.code, Some(1), "{}{}", run.stdout, run.stderr);
    assert!(run.summary.contains("evil"), "{}", run.summary);
    assert_stays_text("upload failure", &run.summary);

    // A mint rejection: message, error codes and descriptions from the index.
    let index = Hostile::start();
    index
        .on("GET", "/_/oidc/audience", vec![Play::json(200, &json!({"audience": "pypi"}))])
        .on(
            "POST",
            "/_/oidc/mint-token",
            vec![Play::json(
                422,
                &json!({"message": HOSTILE, "errors": [{"code": format!("invalid-publisher`{HOSTILE}"), "description": HOSTILE}]}),
            )],
        );
    let github = GithubOidc::start();
    let mut env = vec![("INPUT_REPOSITORY-URL", format!("{}legacy/", index.url()))];
    env.extend(github.env());
    let (run, _) = attack(&workspace, &env);
    assert!(
        run.summary.contains("Trusted Publishing failed"),
        "{}",
        run.summary
    );
    assert_stays_text("mint rejection", &run.summary);

    // The release URL GitHub's API answers with.
    for html_url in [
        "https://evil.example/\"><img src=x onerror=alert(1)>",
        "javascript:alert(1)",
    ] {
        let workspace = Workspace::new();
        write_wheel(&workspace.path().join("dist"), str::to_owned);
        let peer = Hostile::start();
        accepting_index(&peer);
        hostile_github(&peer, &peer.url(), html_url);
        let mut env = token_mode(&peer);
        env.extend([
            ("INPUT_TAG", "v0.3.0".to_owned()),
            ("GITHUB_TOKEN", "ghs_static0123456789abcdef".to_owned()),
            (
                "GITHUB_API_URL",
                peer.url().trim_end_matches('/').to_owned(),
            ),
        ]);
        let (run, _) = attack(&workspace, &env);
        assert_eq!(run.code, Some(0), "{}{}", run.stdout, run.stderr);
        assert!(run.summary.contains("GitHub release"), "{}", run.summary);
        assert_stays_text(html_url, &run.summary);
    }
}

// ---------------------------------------------------------------------------------------------
// Finding 11 and packages-dir: files are read only from inside the workspace.

#[test]
fn files_outside_the_workspace_are_not_read() {
    let outside = tempfile::tempdir().unwrap();
    let secret_notes = outside.path().join("notes.md");
    std::fs::write(&secret_notes, "## 0.3.0\n\nOUTSIDE-CONTENT-0123456789\n").unwrap();
    let dry_run = |workspace: &Workspace, extra: &[(&str, String)]| {
        let mut env = vec![
            ("INPUT_DRY-RUN", "true".to_owned()),
            ("INPUT_TAG", "v0.3.0".to_owned()),
        ];
        env.extend(extra.iter().cloned());
        attack(workspace, &env)
    };

    // `changelog: ../outside/notes.md` (relative) and an absolute path elsewhere.
    let workspace = Workspace::new().with_sample_dists();
    let relative = pathdiff(&secret_notes, workspace.path());
    for value in [relative, secret_notes.display().to_string()] {
        let (run, logs) = dry_run(&workspace, &[("INPUT_CHANGELOG", value.clone())]);
        assert_eq!(run.code, Some(2), "{value}: {}{}", run.stdout, run.stderr);
        assert!(
            logs.text().contains("input `changelog`")
                && logs.text().contains("outside the workspace"),
            "{value}: {}",
            logs.text()
        );
        assert!(!logs.text().contains("OUTSIDE-CONTENT"), "{}", logs.text());
    }

    // A committed CHANGELOG.md that is a link pointing out: not read, said so.
    std::os::unix::fs::symlink(&secret_notes, workspace.path().join("CHANGELOG.md")).unwrap();
    let (run, logs) = dry_run(&workspace, &[]);
    assert_eq!(run.code, Some(0), "{}{}", run.stdout, run.stderr);
    assert!(!logs.text().contains("OUTSIDE-CONTENT"), "{}", logs.text());
    assert!(
        logs.text().contains("Changelog not read"),
        "{}",
        logs.text()
    );

    // packages-dir outside the workspace, in Actions.
    let dists = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(repo_root().join("examples/dist")).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, dists.path().join(path.file_name().unwrap())).unwrap();
    }
    let workspace = Workspace::new();
    let (run, logs) = dry_run(
        &workspace,
        &[("INPUT_PACKAGES-DIR", dists.path().display().to_string())],
    );
    assert_eq!(run.code, Some(2), "{}{}", run.stdout, run.stderr);
    assert!(
        logs.text().contains("input `packages-dir`")
            && logs.text().contains("outside the workspace"),
        "{}",
        logs.text()
    );
}

/// `target` relative to `base` (both absolute), with `..` as needed.
fn pathdiff(target: &Path, base: &Path) -> String {
    let target: Vec<_> = target.components().collect();
    let base: Vec<_> = base.components().collect();
    let common = target.iter().zip(&base).take_while(|(a, b)| a == b).count();
    let mut parts: Vec<String> = vec!["..".to_owned(); base.len() - common];
    parts.extend(
        target[common..]
            .iter()
            .map(|c| c.as_os_str().to_string_lossy().into_owned()),
    );
    parts.join("/")
}

#[test]
fn the_oidc_request_url_follows_the_url_rules() {
    let workspace = Workspace::new().with_sample_dists();
    let index = trusted_index(&["pypi-minted-0123456789abcdef"]);
    let env = vec![
        ("INPUT_REPOSITORY-URL", format!("{}legacy/", index.url())),
        (
            "ACTIONS_ID_TOKEN_REQUEST_URL",
            format!("ftp://127.0.0.1:{}/token", index.port),
        ),
        (
            "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
            "ghs-request-0123456789".to_owned(),
        ),
    ];
    let (run, logs) = attack(&workspace, &env);
    assert_eq!(run.code, Some(1), "{}{}", run.stdout, run.stderr);
    assert!(
        logs.text().contains("ACTIONS_ID_TOKEN_REQUEST_URL")
            && logs.text().contains("use https://"),
        "{}",
        logs.text()
    );
}

/// The production deadline, measured: a GitHub OIDC token answer dripping one byte a second,
/// with the default timeouts (idle 120 s, request deadline 240 s). Takes about four minutes, so
/// it is run on demand: `cargo test --test attacks -- --ignored --nocapture`.
#[test]
#[ignore = "takes the production deadline (about 4 minutes); run on demand for the numbers"]
fn a_one_byte_a_second_answer_ends_at_the_production_deadline() {
    let peer = trusted_index(&["pypi-minted-0123456789abcdef"]);
    peer.on(
        "GET",
        "/_apis/token",
        vec![Play::drip(
            200,
            "application/json",
            std::time::Duration::from_secs(1),
        )],
    );
    let workspace = Workspace::new().with_sample_dists();
    let env = vec![
        ("INPUT_REPOSITORY-URL", format!("{}legacy/", peer.url())),
        (
            "ACTIONS_ID_TOKEN_REQUEST_URL",
            format!("{}_apis/token?api-version=2.0", peer.url()),
        ),
        (
            "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
            "ghs-request-0123456789".to_owned(),
        ),
    ];
    let limits = Limits {
        address_space: 3 << 30,
        kill_after: std::time::Duration::from_secs(600),
    };
    let (run, measured) = attack_measured(&workspace, &env, limits);
    report("1 byte/s OIDC answer, production deadline", &run, measured);
    assert!(
        measured.exit_code < 128,
        "killed: {measured:?}\n{}{}",
        run.stdout,
        run.stderr
    );
    assert!(
        measured.wall < std::time::Duration::from_secs(300),
        "{measured:?}"
    );
    assert!(measured.peak_rss_kib < MEMORY_BOUND_KIB, "{measured:?}");
}
