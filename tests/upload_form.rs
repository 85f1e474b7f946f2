//! What the upload form carries, seen on the wire: the real binary uploads to the PyPI-strict
//! test index (pypiserver behind it) through a recorder that keeps every form field. Only known core metadata fields
//! the declared Metadata-Version allows are sent, never a METADATA header posing as a protocol
//! field (issue 12 finding 8). And `PyPI`'s 14-day window: a release older than that gets no
//! new files, checked through the JSON API before anything is sent.
#![expect(
    clippy::unwrap_used,
    reason = "test code (and the shared support module): a failed unwrap is a failed test"
)]

mod support;

use std::time::{SystemTime, UNIX_EPOCH};

use support::fault_proxy::{Fault, FaultProxy, Match, When};
use support::sigstore_fake::{RecordedUpload, RecordingIndex};
use support::{PypiServer, RunOutput, Workspace, pip_install, repo_root, sha256_file};

const WHEEL: &str = "demo_hatch-1.0.0-py3-none-any.whl";

fn workspace_with(case: &str) -> Workspace {
    let workspace = Workspace::new();
    let dist = workspace.path().join("dist");
    std::fs::create_dir_all(&dist).unwrap();
    let from = repo_root().join("tests/fixtures/dists").join(case);
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, dist.join(path.file_name().unwrap())).unwrap();
    }
    workspace
}

fn upload_through_recorder(case: &str) -> (RunOutput, Vec<RecordedUpload>, Workspace, PypiServer) {
    let server = PypiServer::start();
    let index = RecordingIndex::start(&server.upload_url());
    let workspace = workspace_with(case);
    let simple = server.simple_url();
    let run = workspace.run(&[
        ("INPUT_REPOSITORY-URL", index.url.as_str()),
        ("INPUT_CHECK-URL", simple.as_str()),
        ("INPUT_PASSWORD", server.token.as_str()),
        ("INPUT_ATTESTATIONS", "false"),
        ("INPUT_RELEASE", "false"),
    ]);
    let uploads = index.uploads();
    (run, uploads, workspace, server)
}

/// The files the PyPI-strict index accepted, in order.
fn accepted(server: &PypiServer) -> Vec<String> {
    server
        .verdicts()
        .into_iter()
        .filter(|(_, status, _, _)| *status == 200)
        .map(|(file, _, _, _)| file)
        .collect()
}

fn names(upload: &RecordedUpload) -> Vec<&str> {
    upload
        .fields
        .iter()
        .map(|(name, _)| name.as_str())
        .collect()
}

fn value<'a>(upload: &'a RecordedUpload, name: &str) -> Vec<&'a str> {
    upload
        .fields
        .iter()
        .filter(|(field, _)| field == name)
        .map(|(_, value)| value.as_str())
        .collect()
}

#[test]
fn metadata_headers_named_like_protocol_fields_never_reach_the_form() {
    // METADATA carries Sha256-Digest (zeros), Filetype: sdist, Protocol-Version: 2,
    // Attestations: [], Pyversion, Md5-Digest and Comment headers.
    let (run, uploads, workspace, server) = upload_through_recorder("accepted-smuggled-headers");
    assert_eq!(run.code, Some(0), "{}\n{}", run.stdout, run.stderr);
    assert_eq!(uploads.len(), 1, "{uploads:?}");
    let upload = &uploads[0];
    assert_eq!(
        names(upload),
        [
            ":action",
            "protocol_version",
            "metadata_version",
            "name",
            "version",
            "summary",
            "project_urls",
            "author_email",
            "license_expression",
            "license_file",
            "requires_python",
            "description_content_type",
            "description",
            "filetype",
            "pyversion",
            "sha256_digest",
            "blake2_256_digest",
        ]
    );
    let local = sha256_file(&workspace.path().join("dist").join(WHEEL));
    assert_eq!(value(upload, "sha256_digest"), [local.as_str()]);
    assert_eq!(accepted(&server), [WHEEL], "{}", server.log());
    assert_eq!(upload.sha256, local);
    assert_eq!(value(upload, "filetype"), ["bdist_wheel"]);
    assert_eq!(value(upload, "protocol_version"), ["1"]);
    assert_eq!(value(upload, "pyversion"), ["py3"]);
    assert!(
        run.stdout.contains(
            "left out of the upload form (the file itself is sent unchanged): Sha256-Digest, Filetype, Protocol-Version, Attestations, Pyversion, Md5-Digest, Comment: not core metadata fields"
        ),
        "{}",
        run.stdout
    );
}

#[test]
fn license_file_in_metadata_2_1_stays_out_of_the_form_and_the_file_goes_up_unchanged() {
    let (run, uploads, workspace, server) = upload_through_recorder("accepted-2.1-license-file");
    assert_eq!(run.code, Some(0), "{}\n{}", run.stdout, run.stderr);
    let upload = &uploads[0];
    assert_eq!(value(upload, "metadata_version"), ["2.1"]);
    assert_eq!(value(upload, "license"), ["MIT"]);
    assert!(
        value(upload, "license_file").is_empty(),
        "{:?}",
        upload.fields
    );
    let path = workspace.path().join("dist").join(WHEEL);
    assert_eq!(server.stored().get(WHEEL), Some(&sha256_file(&path)));
    // The PyPI-strict index judged the form (it refuses `license_file` with Metadata 2.1).
    assert_eq!(accepted(&server), [WHEEL], "{}", server.log());
    assert!(
        run.stdout.contains(
            "License-File: introduced in Metadata-Version 2.4, but the file declares 2.1"
        ),
        "{}",
        run.stdout
    );
    let (installed, log) = pip_install(&server.simple_url(), "demo-hatch==1.0.0");
    assert!(installed, "{log}");
}

#[test]
fn license_file_in_metadata_2_4_is_sent() {
    let (run, uploads, _workspace, _server) = upload_through_recorder("valid-hatchling-2.4");
    assert_eq!(run.code, Some(0), "{}\n{}", run.stdout, run.stderr);
    let wheel = uploads
        .iter()
        .find(|upload| upload.file_name == WHEEL)
        .unwrap();
    assert_eq!(value(wheel, "license_file"), ["LICENSE"]);
    assert!(
        !run.stdout.contains("left out of the upload form"),
        "{}",
        run.stdout
    );
}

/// `YYYY-MM-DDTHH:MM:SS` (UTC) of a moment `days_ago` days before now.
fn days_ago(days: u64) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let seconds = now - days * 86_400;
    let (mut days, rest) = (seconds / 86_400, seconds % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    days += 719_468;
    let era = days / 146_097;
    let day_of_era = days % 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

/// pypiserver behind a proxy that answers the JSON API for demo-hatch 1.0.0 with `answer`.
fn publish_with_json_api(answer: Fault) -> (RunOutput, FaultProxy, PypiServer, Workspace) {
    let server = PypiServer::start();
    let proxy = FaultProxy::start(server.port);
    proxy.on(
        Match::new("GET", "/pypi/demo-hatch/1.0.0/json"),
        When::Always,
        answer,
    );
    let workspace = workspace_with("valid-hatchling-2.4");
    let check = format!("{}simple/", proxy.url());
    let run = workspace.run(&[
        ("INPUT_REPOSITORY-URL", proxy.url().as_str()),
        ("INPUT_CHECK-URL", check.as_str()),
        ("INPUT_PASSWORD", server.token.as_str()),
        ("INPUT_ATTESTATIONS", "false"),
        ("INPUT_RELEASE", "false"),
        ("PYPI_OIDC_PUBLISH_READ_TIMEOUT_MS", "2000"),
    ]);
    (run, proxy, server, workspace)
}

fn release_json(first_upload: &str) -> String {
    format!(
        r#"{{"info":{{"name":"demo-hatch","version":"1.0.0"}},"urls":[{{"filename":"demo_hatch-1.0.0-cp312-cp312-win_amd64.whl","upload_time":"{first_upload}","upload_time_iso_8601":"{first_upload}.000000Z"}}]}}"#
    )
}

fn error_line(run: &RunOutput) -> String {
    run.stdout
        .lines()
        .find(|line| line.starts_with("::error"))
        .unwrap_or_else(|| panic!("no ::error:: line:\n{}\n{}", run.stdout, run.stderr))
        .to_owned()
}

#[test]
fn a_release_older_than_14_days_gets_no_new_files_and_nothing_is_sent() {
    let json = release_json(&days_ago(30));
    let (run, proxy, server, _workspace) = publish_with_json_api(Fault::status_with(
        200,
        &[("Content-Type", "application/json")],
        &json,
    ));
    assert_eq!(run.code, Some(1), "{}\n{}", run.stdout, run.stderr);
    let posts = proxy
        .seen()
        .iter()
        .filter(|seen| seen.method == "POST")
        .count();
    assert_eq!(posts, 0, "nothing may be uploaded: {:#?}", proxy.seen());
    assert!(server.stored().is_empty());
    let message = error_line(&run);
    let date = regex::Regex::new(r"on \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000000Z \((\d+) days ago\)")
        .unwrap();
    let days: u64 = date.captures(&message).unwrap()[1].parse().unwrap();
    assert!((29..=31).contains(&days), "{message}");
    let message = date.replace(&message, "on [DATE] (30 days ago)");
    insta::assert_snapshot!(
        "release_older_than_14_days",
        message.replace("127.0.0.1", "[HOST]")
    );
}

#[test]
fn a_young_release_or_an_unreadable_json_api_lets_the_upload_go_ahead() {
    let json = release_json(&days_ago(3));
    let (run, _proxy, server, _workspace) = publish_with_json_api(Fault::status_with(
        200,
        &[("Content-Type", "application/json")],
        &json,
    ));
    assert_eq!(run.code, Some(0), "{}\n{}", run.stdout, run.stderr);
    assert_eq!(server.stored().len(), 2);
    assert!(
        !run.stdout.contains("Release age unknown"),
        "{}",
        run.stdout
    );

    let (run, _proxy, server, _workspace) = publish_with_json_api(Fault::status(503));
    assert_eq!(run.code, Some(0), "{}\n{}", run.stdout, run.stderr);
    assert_eq!(server.stored().len(), 2);
    assert!(
        run.stdout
            .contains("::notice title=Release age unknown::could not read http://127.0.0.1:")
            && run
                .stdout
                .contains("so the age of demo-hatch 1.0.0 is unknown"),
        "{}",
        run.stdout
    );

    // An index of another kind that answers the path with a page of its own has no JSON API.
    let (run, _proxy, server, _workspace) = publish_with_json_api(Fault::status_with(
        200,
        &[("Content-Type", "text/html")],
        "<html><body>not found</body></html>",
    ));
    assert_eq!(run.code, Some(0), "{}\n{}", run.stdout, run.stderr);
    assert_eq!(server.stored().len(), 2);
    assert!(
        !run.stdout.contains("Release age unknown"),
        "{}",
        run.stdout
    );

    let (run, _proxy, server, _workspace) =
        publish_with_json_api(Fault::Stall(std::time::Duration::from_secs(30)));
    assert_eq!(run.code, Some(0), "{}\n{}", run.stdout, run.stderr);
    assert_eq!(server.stored().len(), 2);
    assert!(run.stdout.contains("Release age unknown"), "{}", run.stdout);
}

/// Publish `files` of the hatchling fixture to the PyPI-strict index (its JSON API included).
fn publish_to_strict_index(server: &PypiServer, files: &[&str]) -> RunOutput {
    let workspace = Workspace::new();
    let dist = workspace.path().join("dist");
    std::fs::create_dir_all(&dist).unwrap();
    for file in files {
        std::fs::copy(
            repo_root()
                .join("tests/fixtures/dists/valid-hatchling-2.4")
                .join(file),
            dist.join(file),
        )
        .unwrap();
    }
    let upload = server.upload_url();
    let simple = server.simple_url();
    workspace.run(&[
        ("INPUT_REPOSITORY-URL", upload.as_str()),
        ("INPUT_CHECK-URL", simple.as_str()),
        ("INPUT_PASSWORD", server.token.as_str()),
        ("INPUT_ATTESTATIONS", "false"),
        ("INPUT_RELEASE", "false"),
    ])
}

const SDIST: &str = "demo_hatch-1.0.0.tar.gz";

#[test]
fn a_release_the_strict_index_aged_past_14_days_gets_no_new_files() {
    let server = PypiServer::start();
    let first = publish_to_strict_index(&server, &[WHEEL]);
    assert_eq!(first.code, Some(0), "{}\n{}", first.stdout, first.stderr);
    server.age_release("demo-hatch", "1.0.0", 30);
    let judged = server.verdicts().len();

    // The sdist is new: PyPI would refuse it, so nothing is sent.
    let run = publish_to_strict_index(&server, &[WHEEL, SDIST]);
    assert_eq!(run.code, Some(1), "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains(
            "::error title=Release closed to new files (nothing uploaded)::demo-hatch 1.0.0 was first uploaded to 127.0.0.1 on "
        ) && run.stdout.contains("(30 days ago)")
            && run.stdout.contains("so demo_hatch-1.0.0.tar.gz would be refused"),
        "{}",
        run.stdout
    );
    assert_eq!(
        server.verdicts().len(),
        judged,
        "an upload reached the index"
    );
    assert_eq!(server.stored().len(), 1);

    // A re-run that sends nothing new is not refused.
    let rerun = publish_to_strict_index(&server, &[WHEEL]);
    assert_eq!(rerun.code, Some(0), "{}\n{}", rerun.stdout, rerun.stderr);
    assert!(
        rerun
            .stdout
            .contains("already on the index with the same sha256; skipped"),
        "{}",
        rerun.stdout
    );
}

#[test]
fn a_release_younger_than_14_days_takes_new_files_on_the_strict_index() {
    let server = PypiServer::start();
    let first = publish_to_strict_index(&server, &[WHEEL]);
    assert_eq!(first.code, Some(0), "{}\n{}", first.stdout, first.stderr);
    server.age_release("demo-hatch", "1.0.0", 13);
    let run = publish_to_strict_index(&server, &[WHEEL, SDIST]);
    assert_eq!(run.code, Some(0), "{}\n{}", run.stdout, run.stderr);
    assert_eq!(accepted(&server), [WHEEL, SDIST], "{}", server.log());
}
