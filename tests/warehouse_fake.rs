//! The PyPI-strict test index itself (`tests/warehouse/`): hand-built upload forms are refused
//! with `PyPI`'s status and message (in the status line and, for `Accept: application/json`, in
//! `PyPI`'s JSON body), nothing refused reaches pypiserver, a good upload does and `pip install`
//! works, and the JSON API and the 14-day rule behave as `PyPI`'s.

#![expect(
    clippy::unwrap_used,
    reason = "test helpers: a failed setup step is a test failure"
)]

mod support;

use std::io::{Read as _, Write as _};
use std::time::Duration;

use sha2::Digest as _;
use support::{PypiServer, pip_install, repo_root};

const WHEEL: &str = "oidc_publish_demo-0.3.0-py3-none-any.whl";
const SDIST: &str = "oidc_publish_demo-0.3.0.tar.gz";
const CORE_METADATA: &str =
    "See https://packaging.python.org/specifications/core-metadata for more information.";

fn sample(name: &str) -> Vec<u8> {
    std::fs::read(repo_root().join("examples/dist").join(name)).unwrap()
}

/// A correct form for one of the sample dists (Metadata-Version 2.4, as in the files).
fn good_form(file: &str, bytes: &[u8]) -> Vec<(String, String)> {
    form_for("oidc-publish-demo", "0.3.0", file, bytes)
}

/// A correct Metadata-Version 2.4 form for `file` of project `name`.
fn form_for(name: &str, version: &str, file: &str, bytes: &[u8]) -> Vec<(String, String)> {
    let (filetype, pyversion) = if file.to_ascii_lowercase().ends_with(".whl") {
        ("bdist_wheel", "py3")
    } else {
        ("sdist", "source")
    };
    [
        (":action", "file_upload"),
        ("protocol_version", "1"),
        ("metadata_version", "2.4"),
        ("name", name),
        ("version", version),
        ("summary", "A tiny sample project."),
        ("license_expression", "MIT"),
        ("license_file", "LICENSE"),
        ("classifiers", "Programming Language :: Python :: 3"),
        ("requires_python", ">=3.9"),
        ("description_content_type", "text/markdown"),
        ("description", "# oidc-publish-demo\n\nA *tiny* sample.\n"),
        ("filetype", filetype),
        ("pyversion", pyversion),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .chain([
        (
            "sha256_digest".to_owned(),
            hex::encode(sha2::Sha256::digest(bytes)),
        ),
        ("blake2_256_digest".to_owned(), blake2_256(bytes)),
    ])
    .collect()
}

fn blake2_256(bytes: &[u8]) -> String {
    use blake2::Digest as _;
    hex::encode(blake2::Blake2b::<blake2::digest::consts::U32>::digest(
        bytes,
    ))
}

/// Replace (or, with `None`, remove) every value of a field; add it when missing.
fn set(form: &mut Vec<(String, String)>, key: &str, value: Option<&str>) {
    form.retain(|(k, _)| k != key);
    if let Some(value) = value {
        form.push((key.to_owned(), value.to_owned()));
    }
}

struct Answer {
    status: u16,
    reason: String,
    content_type: String,
    body: String,
}

/// POST a hand-built multipart form (the file last, as `content`) with basic auth.
/// An upload of `bytes` as `file` with the form a correct client sends and the project's token.
fn upload_good(server: &PypiServer, file: &str, bytes: &[u8]) -> Answer {
    upload(server, &good_form(file, bytes), file, bytes, &server.token)
}

fn upload(
    server: &PypiServer,
    form: &[(String, String)],
    file: &str,
    bytes: &[u8],
    token: &str,
) -> Answer {
    use base64::Engine as _;
    let boundary = "----warehouse-fake-test-boundary";
    let mut body = Vec::new();
    for (key, value) in form {
        write!(
            body,
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{key}\"\r\n\r\n{value}\r\n"
        )
        .unwrap();
    }
    write!(
        body,
        "--{boundary}\r\nContent-Disposition: form-data; name=\"content\"; filename=\"{file}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
    )
    .unwrap();
    body.extend_from_slice(bytes);
    write!(body, "\r\n--{boundary}--\r\n").unwrap();
    let credentials =
        base64::engine::general_purpose::STANDARD.encode(format!("__token__:{token}"));
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    write!(
        stream,
        "POST /legacy/ HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Basic {credentials}\r\nAccept: application/json\r\nContent-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .unwrap();
    stream.write_all(&body).unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).unwrap();
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let (head, body) = answer.split_once("\r\n\r\n").unwrap();
    let status_line = head.lines().next().unwrap();
    let mut parts = status_line.splitn(3, ' ');
    parts.next();
    let status = parts.next().unwrap().parse().unwrap();
    let reason = parts.next().unwrap_or_default().to_owned();
    let content_type = head
        .lines()
        .find_map(|line| {
            line.to_ascii_lowercase()
                .strip_prefix("content-type:")
                .map(|v| v.trim().to_owned())
        })
        .unwrap_or_default();
    Answer {
        status,
        reason,
        content_type,
        body: body.to_owned(),
    }
}

#[test]
fn a_good_upload_is_stored_by_pypiserver_and_pip_installs_it() {
    let server = PypiServer::start();
    for file in [WHEEL, SDIST] {
        let bytes = sample(file);
        let answer = upload_good(&server, file, &bytes);
        assert_eq!(
            answer.status,
            200,
            "{file}: {} {}",
            answer.reason,
            server.log()
        );
    }
    assert_eq!(server.stored().len(), 2, "{}", server.log());
    let (installed, log) = pip_install(&server.simple_url(), "oidc-publish-demo==0.3.0");
    assert!(installed, "pip could not install what was uploaded:\n{log}");

    // The same file again is a no-op success; other bytes under the name are refused.
    let bytes = sample(WHEEL);
    let again = upload_good(&server, WHEEL, &bytes);
    assert_eq!(again.status, 200);
    let mut other = bytes.clone();
    other.extend_from_slice(b"trailing");
    let conflict = upload_good(&server, WHEEL, &other);
    assert_eq!(conflict.status, 400);
    assert!(
        conflict.reason.starts_with(&format!(
            "File already exists ('{WHEEL}', with blake2_256 hash '{}').",
            blake2_256(&other)
        )),
        "{}",
        conflict.reason
    );
    let rules: Vec<String> = server.verdicts().into_iter().map(|v| v.2).collect();
    assert_eq!(rules, ["accept", "accept", "duplicate", "file-exists"]);
}

#[test]
fn bad_forms_are_refused_with_pypis_status_and_message_and_nothing_is_stored() {
    type Mutation = fn(&mut Vec<(String, String)>);
    let cases: Vec<(&str, Mutation, u16, String)> = vec![
        (
            "License-File with Metadata-Version 2.1",
            |form| {
                set(form, "metadata_version", Some("2.1"));
                set(form, "license_expression", None);
                set(form, "license", Some("MIT"));
            },
            400,
            format!("license-file introduced in metadata version 2.4, not 2.1. {CORE_METADATA}"),
        ),
        (
            "Metadata-Version 2.0",
            |form| set(form, "metadata_version", Some("2.0")),
            400,
            format!("'2.0' is not a valid metadata version. {CORE_METADATA}"),
        ),
        (
            "an unknown classifier",
            |form| set(form, "classifiers", Some("Framework :: Nonexistent")),
            400,
            format!("'Framework :: Nonexistent' is not a valid classifier. {CORE_METADATA}"),
        ),
        (
            "a deprecated classifier",
            |form| set(form, "classifiers", Some("Natural Language :: Ukranian")),
            400,
            format!(
                "The classifier 'Natural Language :: Ukranian' has been deprecated, use one of ['Natural Language :: Ukrainian'] instead. {CORE_METADATA}"
            ),
        ),
        (
            "an e-mail address on a special-use domain",
            |form| set(form, "author_email", Some("dev@example.local")),
            400,
            "'dev@example.local' is not a valid email address: The part after the @-sign is a special-use or reserved name that cannot be used with email. See https://packaging.python.org/specifications/core-metadata for more information.".to_owned(),
        ),
        (
            "a description that is not valid reStructuredText",
            |form| {
                set(form, "description_content_type", None);
                set(form, "description", Some("Title\n=====\n\n`unclosed\n\n.. bogus-directive::\n"));
            },
            400,
            "The description failed to render in the default format of reStructuredText. See https://pypi.org/help/#description-content-type for more information.".to_owned(),
        ),
        (
            "protocol_version 2",
            |form| set(form, "protocol_version", Some("2")),
            400,
            "Unknown protocol version.".to_owned(),
        ),
        (
            "a sha256 that does not match",
            |form| set(form, "sha256_digest", Some(&"0".repeat(64))),
            400,
            "The digest supplied does not match a digest calculated from the uploaded file."
                .to_owned(),
        ),
        (
            "no digest",
            |form| {
                set(form, "sha256_digest", None);
                set(form, "blake2_256_digest", None);
            },
            400,
            "Error: Include at least one message digest.".to_owned(),
        ),
    ];
    let server = PypiServer::start();
    let bytes = sample(WHEEL);
    let mut failures = Vec::new();
    for (case, mutate, status, message) in &cases {
        let mut form = good_form(WHEEL, &bytes);
        mutate(&mut form);
        let answer = upload(&server, &form, WHEEL, &bytes, &server.token);
        if answer.status != *status || answer.reason != *message {
            failures.push(format!(
                "{case}: got {} {}\n  want {status} {message}",
                answer.status, answer.reason
            ));
            continue;
        }
        let json: serde_json::Value = serde_json::from_str(&answer.body).unwrap();
        assert_eq!(answer.content_type, "application/json", "{case}");
        assert_eq!(json["code"], format!("{status} {message}"), "{case}");
        assert_eq!(json["title"], "Bad Request", "{case}");
        assert!(
            json["message"].as_str().unwrap().contains(message.as_str()),
            "{case}: {json}"
        );
    }
    let answer = upload(
        &server,
        &good_form(WHEEL, &bytes),
        WHEEL,
        &bytes,
        "pypi-wrong",
    );
    if (answer.status, answer.reason.as_str())
        != (
            403,
            "Invalid or non-existent authentication information. See https://pypi.org/help/#invalid-auth for more information.",
        )
    {
        failures.push(format!(
            "a wrong token: got {} {}",
            answer.status, answer.reason
        ));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(server.stored().is_empty(), "a refused upload was stored");
}

#[test]
fn unknown_placeholders_are_dropped_as_pypi_does() {
    // distutils wrote `UNKNOWN` for missing values; PyPI drops such fields before validating,
    // so an `UNKNOWN` description (which would not be reStructuredText) is accepted.
    let server = PypiServer::start();
    let bytes = sample(WHEEL);
    let mut form = good_form(WHEEL, &bytes);
    set(&mut form, "description_content_type", Some("UNKNOWN"));
    set(&mut form, "description", Some("UNKNOWN"));
    set(&mut form, "home_page", Some("UNKNOWN"));
    let answer = upload(&server, &form, WHEEL, &bytes, &server.token);
    assert_eq!(answer.status, 200, "{}", answer.reason);
}

#[test]
fn the_json_api_and_the_14_day_rule_behave_as_pypis() {
    let server = PypiServer::start();
    let (status, body) =
        support::http_request(server.port, "GET", "/pypi/oidc-publish-demo/0.3.0/json");
    assert_eq!((status, body.trim()), (404, r#"{"message": "Not Found"}"#));

    let bytes = sample(WHEEL);
    let answer = upload_good(&server, WHEEL, &bytes);
    assert_eq!(answer.status, 200, "{}", answer.reason);
    let (status, body) =
        support::http_request(server.port, "GET", "/pypi/oidc-publish-demo/0.3.0/json");
    assert_eq!(status, 200, "{body}");
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(json["info"]["name"], "oidc-publish-demo");
    assert_eq!(json["info"]["version"], "0.3.0");
    assert_eq!(json["urls"][0]["filename"], WHEEL);
    assert_eq!(
        json["urls"][0]["digests"]["sha256"],
        hex::encode(sha2::Sha256::digest(&bytes))
    );
    let fresh = json["urls"][0]["upload_time_iso_8601"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(fresh.ends_with('Z'), "{fresh}");

    // Twenty days later the release accepts no new file.
    server.age_release("oidc-publish-demo", "0.3.0", 20);
    let (_, body) = support::http_request(server.port, "GET", "/pypi/oidc-publish-demo/0.3.0/json");
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    let aged = json["urls"][0]["upload_time_iso_8601"].as_str().unwrap();
    assert!(
        aged < fresh.as_str(),
        "{aged} must be 20 days before {fresh}"
    );
    let sdist = sample(SDIST);
    let answer = upload_good(&server, SDIST, &sdist);
    assert_eq!(
        (answer.status, answer.reason.as_str()),
        (
            400,
            "Uploading new files to releases older than 14 days is not allowed."
        )
    );
    // Re-sending a file the old release has is still a no-op success.
    let again = upload_good(&server, WHEEL, &bytes);
    assert_eq!(again.status, 200, "{}", again.reason);
}

#[test]
fn the_file_size_limit_is_configurable_and_named_as_pypi_names_it() {
    let server = PypiServer::start();
    server.set_file_size_limit(1024);
    let bytes = sample(WHEEL);
    assert!(bytes.len() > 1024);
    let answer = upload_good(&server, WHEEL, &bytes);
    assert_eq!(answer.status, 400);
    assert_eq!(
        answer.reason,
        "File too large. Limit for project 'oidc-publish-demo' is 0 MB. See https://docs.pypi.org/project-management/storage-limits#requesting-a-file-size-limit-increase for more information."
    );
}

#[test]
fn file_and_archive_rules_are_pypis() {
    let server = PypiServer::start();
    let fixture =
        |path: &str| std::fs::read(repo_root().join("tests/fixtures/dists").join(path)).unwrap();
    let mut trailing = sample(WHEEL);
    trailing.extend_from_slice(b"appended after the end of the archive");
    let zip_sdist = fixture("sdist-zip/demo_hatch-1.0.0.zip");
    let linux = fixture("wheel-linux-platform/demo_setuptools-1.0.0-cp312-cp312-linux_x86_64.whl");
    let wheel = sample(WHEEL);
    let cases: Vec<(&str, &str, &str, Vec<u8>, &str)> = vec![
        (
            "oidc-publish-demo",
            "0.3.0",
            WHEEL,
            trailing,
            "Invalid distribution file. ZIP archive not accepted: Trailing data. See https://docs.pypi.org/archives for more information",
        ),
        (
            "demo-hatch",
            "1.0.0",
            "demo_hatch-1.0.0.zip",
            zip_sdist,
            "Filename 'demo_hatch-1.0.0.zip' is invalid, should be 'demo_hatch-1.0.0.tar.gz'.",
        ),
        (
            "demo-setuptools",
            "1.0.0",
            "demo_setuptools-1.0.0-cp312-cp312-linux_x86_64.whl",
            linux,
            "Binary wheel 'demo_setuptools-1.0.0-cp312-cp312-linux_x86_64.whl' has an unsupported platform tag 'linux_x86_64'.",
        ),
        (
            "oidc-publish-demo",
            "0.3.0",
            "oidc_publish_demo-0.3.0-py3-none-any.WHL",
            wheel.clone(),
            "Invalid file extension: Extension .WHL is invalid for filetype bdist_wheel. See https://www.python.org/dev/peps/pep-0527 for more information.",
        ),
        (
            "oidc-publish-demo",
            "0.3.0",
            "Oidc_Publish_Demo-0.3.0-py3-none-any.whl",
            wheel.clone(),
            // Renamed after the build: PyPI looks for the WHEEL file under the file's name.
            "Invalid distribution file. WHEEL not found at Oidc_Publish_Demo-0.3.0.dist-info/WHEEL",
        ),
    ];
    let mut failures = Vec::new();
    for (name, version, file, bytes, message) in &cases {
        let answer = upload(
            &server,
            &form_for(name, version, file, bytes),
            file,
            bytes,
            &server.token,
        );
        if (answer.status, answer.reason.as_str()) != (400, *message) {
            failures.push(format!(
                "{file}: got {} {}\n  want 400 {message}",
                answer.status, answer.reason
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(server.stored().is_empty(), "a refused upload was stored");

    // A Pyodide wheel (PEP 783 platform tag) is accepted.
    let pyodide = "oidc_publish_demo-0.3.0-cp313-cp313-pyemscripten_2026_0_wasm32.whl";
    let answer = upload_good(&server, pyodide, &wheel);
    assert_eq!(answer.status, 200, "{}", answer.reason);
}
