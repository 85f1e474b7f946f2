//! Deep verification end to end: the real binary against the fixture corpus
//! (tests/fixtures/dists, made by generate.py there). Every broken case fails with the right
//! message (snapshot) and not one connection reaches the index, a loopback listener that counts
//! every connection. Valid real-world dists pass.
#![expect(
    clippy::unwrap_used,
    reason = "test code (and the shared support module): a failed unwrap is a failed test"
)]

mod support;

use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use proptest::prelude::*;
use pypi_oidc_publish::distribution::DistFilename;
use pypi_oidc_publish::distribution::verify::tag_version;
use support::{RunOutput, Workspace, repo_root};

/// A stand-in index on 127.0.0.1 that counts every connection and answers 500. Stopped on drop.
struct Recorder {
    port: u16,
    connections: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Recorder {
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let connections = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (count, stopping) = (Arc::clone(&connections), Arc::clone(&stop));
        let thread = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stopping.load(Ordering::SeqCst) {
                    break;
                }
                count.fetch_add(1, Ordering::SeqCst);
                if let Ok(mut stream) = stream {
                    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
                    let mut buffer = [0_u8; 4096];
                    let _ = stream.read(&mut buffer);
                    let _ = stream.write_all(
                        b"HTTP/1.1 500 Internal Server Error\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                    );
                }
            }
        });
        Self {
            port,
            connections,
            stop,
            thread: Some(thread),
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/legacy/", self.port)
    }

    fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

const TOKEN: &str = "pypi-verify-test-token-0123456789abcdef";

fn fixture(case: &str) -> PathBuf {
    repo_root().join("tests/fixtures/dists").join(case)
}

/// Copy one fixture folder into a workspace's `dist/` and run the binary for real (no dry run)
/// against the recorder.
fn publish(case: &str, extra: &[(&str, &str)]) -> (RunOutput, usize) {
    let workspace = Workspace::new();
    copy_dir(&fixture(case), &workspace.path().join("dist"));
    let recorder = Recorder::start();
    let url = recorder.url();
    let mut env = vec![
        ("INPUT_REPOSITORY-URL", url.as_str()),
        ("INPUT_PASSWORD", TOKEN),
        ("INPUT_ATTESTATIONS", "false"),
        ("INPUT_RELEASE", "false"),
    ];
    env.extend_from_slice(extra);
    let run = workspace.run(&env);
    run.assert_no_secrets(&[TOKEN]);
    let connections = recorder.connections();
    (run, connections)
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, to.join(path.file_name().unwrap())).unwrap();
    }
}

/// The `::error::` annotation's message, unescaped, as the user reads it.
fn error_text(run: &RunOutput) -> String {
    let line = run
        .stdout
        .lines()
        .find(|line| line.starts_with("::error"))
        .unwrap_or_else(|| panic!("no ::error:: line:\n{}\n{}", run.stdout, run.stderr));
    let message = line.splitn(3, "::").nth(2).unwrap();
    message
        .replace("%0A", "\n")
        .replace("%0D", "\r")
        .replace("%25", "%")
}

fn warnings(run: &RunOutput) -> Vec<String> {
    run.stdout
        .lines()
        .filter(|line| line.starts_with("::warning"))
        .map(|line| line.splitn(3, "::").nth(2).unwrap().to_owned())
        .collect()
}

/// Every broken case: exit 1, the exact message, nothing sent.
fn assert_rejected(case: &str, extra: &[(&str, &str)]) -> String {
    let (run, connections) = publish(case, extra);
    assert_eq!(run.code, Some(1), "{case}:\n{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout
            .contains("::error title=Verification failed (nothing uploaded)::"),
        "{case}:\n{}",
        run.stdout
    );
    assert_eq!(
        connections, 0,
        "{case}: the index was contacted although verification failed"
    );
    error_text(&run)
}

macro_rules! rejected {
    ($($test:ident: $case:literal $(, $key:literal = $value:literal)*;)*) => {$(
        #[test]
        fn $test() {
            let text = assert_rejected($case, &[$(($key, $value)),*]);
            insta::assert_snapshot!(stringify!($test), text);
        }
    )*};
}

rejected! {
    truncated_wheel: "wheel-truncated";
    one_byte_changed_in_a_module: "wheel-record-mismatch";
    flipped_compressed_byte: "wheel-tampered-bytes";
    member_missing_from_record: "wheel-member-not-in-record";
    record_row_for_a_missing_member: "wheel-record-row-without-member";
    two_dist_info_folders: "wheel-two-dist-info";
    metadata_name_and_version_differ_from_file_name: "wheel-metadata-name-version-differ";
    sdist_name_breaks_pep_625: "sdist-bad-pep625-name";
    sdist_member_climbing_out: "sdist-parent-member";
    sdist_symlink_to_etc_passwd: "sdist-symlink-outside";
    sdist_without_pkg_info: "sdist-no-pkg-info";
    metadata_version_9_9: "metadata-version-9.9";
    invalid_spdx_expression: "metadata-invalid-spdx";
    license_and_license_expression: "metadata-license-and-expression";
    two_sdists: "two-sdists";
    mixed_versions: "mixed-versions";
    zip_bomb: "wheel-zip-bomb";
    duplicate_member_names: "wheel-duplicate-member";
    tar_bomb: "sdist-tar-bomb";
    every_problem_of_every_file_together: "many-problems";
    tag_does_not_match_version: "valid-hatchling-2.4", "GITHUB_REF" = "refs/tags/v1.0.1";
    tag_without_a_version: "valid-hatchling-2.4", "INPUT_TAG" = "nightly";
    structure_checks_run_without_verify_metadata: "wheel-record-mismatch", "INPUT_VERIFY-METADATA" = "false";
    // PyPI's archive rules (Warehouse `forklift/legacy.py`, `utils/zipfiles.py`), one per rule.
    zip_trailing_data: "wheel-zip-trailing-data";
    zip_member_comment: "wheel-zip-member-comment";
    zip_data_descriptors: "wheel-zip-data-descriptor";
    zip_local_header_disagrees_with_central_directory: "wheel-zip-local-header-mismatch";
    zip_member_only_in_local_headers: "wheel-zip-local-only-member";
    zip_bzip2_member: "wheel-zip-bzip2-member";
    upper_case_wheel_extension: "wheel-uppercase-extension";
    zip_sdist: "sdist-zip";
    invalid_entry_points: "wheel-entry-points-invalid";
    pyarmor_in_a_wheel: "wheel-pyarmor";
    pyarmor_in_an_sdist: "sdist-pyarmor";
    sdist_members_under_dot_slash: "sdist-dot-slash-members";
    sdist_sparse_member: "sdist-sparse-member";
    sdist_that_is_also_a_zip: "sdist-zip-polyglot";
    sdist_duplicate_members: "sdist-duplicate-members";
    sdist_version_written_unlike_the_metadata: "sdist-version-unlike-metadata";
    license_file_missing_from_a_wheel: "wheel-license-file-missing";
    license_file_missing_from_an_sdist: "sdist-license-file-missing";
    wheel_without_wheel_file: "wheel-no-wheel-file";
    // One rule of PyPI's upload form at a time (tests/fixtures/dists/metadata_cases.py).
    metadata_version_2_0: "metadata-version-2.0";
    metadata_version_2_0_even_without_verify_metadata: "metadata-version-2.0", "INPUT_VERIFY-METADATA" = "false";
    field_newer_than_the_declared_version: "metadata-field-newer-than-version";
    single_use_field_twice: "metadata-single-use-field-twice";
    folded_summary: "metadata-summary-folded";
    summary_too_long: "metadata-summary-too-long";
    content_type_charset_spelled_lowercase: "metadata-content-type-charset";
    unknown_classifier: "metadata-classifier-unknown";
    deprecated_classifier_names_its_replacement: "metadata-classifier-deprecated";
    private_classifier: "metadata-classifier-private";
    requires_dist_not_pep_508: "metadata-requires-dist-invalid";
    requires_python_not_a_specifier: "metadata-requires-python-invalid";
    provides_extra_not_a_name: "metadata-provides-extra-invalid";
    provides_dist_with_a_url: "metadata-provides-dist-url";
    import_name_not_an_identifier: "metadata-import-name-invalid";
    email_on_a_special_use_domain: "metadata-email-special-use";
    email_without_an_address: "metadata-email-invalid";
    home_page_without_a_scheme: "metadata-home-page-invalid";
    project_url_label_too_long: "metadata-project-url-label-too-long";
    project_url_label_twice: "metadata-project-url-label-twice";
    project_url_not_http: "metadata-project-url-not-http";
    license_file_missing_from_the_wheel: "metadata-license-file-missing";
    license_file_climbing_out: "metadata-license-file-parent";
    license_expression_without_an_operator: "metadata-license-expression-syntax";
    dynamic_name: "metadata-dynamic-name";
}

fn notices(run: &RunOutput) -> Vec<String> {
    run.stdout
        .lines()
        .filter(|line| line.starts_with("::notice"))
        .map(|line| line.splitn(3, "::").nth(2).unwrap().to_owned())
        .collect()
}

#[test]
fn what_pypi_accepts_passes_and_the_notice_says_what_the_form_leaves_out() {
    for case in [
        "accepted-2.1-license-file",
        "accepted-2.2-license-file",
        "accepted-2.3-license-file",
        "accepted-license-expression-lowercase",
        "accepted-requires-python-trailing-comma",
        "accepted-content-type-unknown",
        "accepted-author-email-list",
        "accepted-smuggled-headers",
    ] {
        let run = assert_passes(case, &[]);
        assert_eq!(warnings(&run), Vec::<String>::new(), "{case}");
        let form_notices: Vec<String> = notices(&run)
            .into_iter()
            .filter(|notice| notice.contains("left out of the upload form"))
            .collect();
        match case {
            "accepted-2.1-license-file"
            | "accepted-smuggled-headers"
            | "accepted-content-type-unknown" => {
                assert_eq!(form_notices.len(), 1, "{case}: {form_notices:?}");
                insta::assert_snapshot!(format!("form_notice_{case}"), form_notices[0]);
            }
            "accepted-2.2-license-file" | "accepted-2.3-license-file" => {
                assert_eq!(form_notices.len(), 1, "{case}: {form_notices:?}");
                assert!(
                    form_notices[0].contains("License-File: introduced in Metadata-Version 2.4"),
                    "{case}: {form_notices:?}"
                );
            }
            _ => assert_eq!(form_notices, Vec::<String>::new(), "{case}"),
        }
    }
}

#[test]
fn verify_metadata_false_skips_the_content_rules_for_other_indexes() {
    for case in [
        "metadata-classifier-unknown",
        "metadata-email-special-use",
        "metadata-requires-dist-invalid",
        "metadata-field-newer-than-version",
    ] {
        assert_passes(case, &[("INPUT_VERIFY-METADATA", "false")]);
    }
}

#[test]
fn for_pypi_a_form_it_refuses_is_never_sent_even_with_verify_metadata_false() {
    for case in [
        "metadata-email-special-use",
        "metadata-requires-dist-invalid",
        "metadata-classifier-deprecated",
        "metadata-summary-too-long",
    ] {
        let run = dry_run_to_pypi(case, &[("INPUT_VERIFY-METADATA", "false")]);
        assert_eq!(run.code, Some(1), "{case}:\n{}\n{}", run.stdout, run.stderr);
        assert!(
            run.stdout
                .contains("::error title=Verification failed (nothing uploaded)::"),
            "{case}: {}",
            run.stdout
        );
    }
    // A classifier missing from the embedded list may be newer than it: the way out. A field
    // newer than the declared version is left out of the form (and said so).
    let run = dry_run_to_pypi(
        "metadata-classifier-unknown",
        &[("INPUT_VERIFY-METADATA", "false")],
    );
    assert_eq!(run.code, Some(0), "{}\n{}", run.stdout, run.stderr);
    let run = dry_run_to_pypi(
        "metadata-field-newer-than-version",
        &[("INPUT_VERIFY-METADATA", "false")],
    );
    assert_eq!(run.code, Some(0), "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains(
            "License-Expression: introduced in Metadata-Version 2.4, but the file declares 2.3"
        ),
        "{}",
        run.stdout
    );
    let run = dry_run_to_pypi("metadata-classifier-unknown", &[]);
    assert_eq!(run.code, Some(1), "{}\n{}", run.stdout, run.stderr);
}

#[test]
fn the_recorder_counts_a_real_attempt() {
    // The control for every `connections == 0` above: valid dists do reach the recorder.
    let (run, connections) = publish("valid-hatchling-2.4", &[]);
    assert_eq!(run.code, Some(1), "{}\n{}", run.stdout, run.stderr);
    assert!(connections > 0, "{}", run.stdout);
}

fn assert_passes(case: &str, extra: &[(&str, &str)]) -> RunOutput {
    let mut env = vec![("INPUT_DRY-RUN", "true")];
    env.extend_from_slice(extra);
    let (run, connections) = publish(case, &env);
    assert_eq!(run.code, Some(0), "{case}:\n{}\n{}", run.stdout, run.stderr);
    assert_eq!(connections, 0, "{case}: a dry run must send nothing");
    run
}

#[test]
fn valid_real_world_dists_pass_without_warnings() {
    for case in [
        "valid-hatchling-2.4",
        "valid-setuptools",
        "valid-platform-build-tag",
        "valid-metadata-2.5",
        "valid-pyemscripten",
        "valid-record-backslashes",
    ] {
        let run = assert_passes(case, &[]);
        assert_eq!(warnings(&run), Vec::<String>::new(), "{case}");
    }
}

#[test]
fn the_sample_dists_pass() {
    let workspace = Workspace::new().with_sample_dists();
    let run = workspace.run(&[("INPUT_DRY-RUN", "true")]);
    assert_eq!(run.code, Some(0), "{}\n{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("2 dist(s) verified"), "{}", run.stdout);
}

#[test]
fn matching_tags_pass_in_every_spelling() {
    for tag in ["v1.0.0", "1.0.0", "demo-hatch-v1.0.0", "demo_hatch-1.0.0"] {
        let run = assert_passes("valid-hatchling-2.4", &[("INPUT_TAG", tag)]);
        assert!(
            !run.stdout.contains("check-version"),
            "{tag}: {}",
            run.stdout
        );
    }
    // check-version: false lets any tag through.
    assert_passes(
        "valid-hatchling-2.4",
        &[("INPUT_TAG", "v9.9.9"), ("INPUT_CHECK-VERSION", "false")],
    );
}

#[test]
fn verify_metadata_false_skips_only_the_content_rules() {
    assert_passes(
        "metadata-invalid-spdx",
        &[("INPUT_VERIFY-METADATA", "false")],
    );
    assert_passes(
        "metadata-license-and-expression",
        &[("INPUT_VERIFY-METADATA", "false")],
    );
}

#[test]
fn pypi_refuses_unrepaired_linux_wheels_other_indexes_do_not() {
    let workspace = Workspace::new();
    copy_dir(
        &fixture("wheel-linux-platform"),
        &workspace.path().join("dist"),
    );
    // Default repository-url: upload.pypi.org. A dry run, so nothing could be sent anyway.
    let run = workspace.run(&[("INPUT_DRY-RUN", "true")]);
    assert_eq!(run.code, Some(1), "{}\n{}", run.stdout, run.stderr);
    insta::assert_snapshot!("linux_platform_tag_on_pypi", error_text(&run));
    // A private index takes it.
    assert_passes("wheel-linux-platform", &[]);
}

/// Run the binary over a fixture as a dry run to `PyPI` (the default repository): the rules that
/// only `PyPI` applies are on. A dry run sends nothing.
fn dry_run_to_pypi(case: &str, extra: &[(&str, &str)]) -> RunOutput {
    let workspace = Workspace::new();
    copy_dir(&fixture(case), &workspace.path().join("dist"));
    let mut env = vec![("INPUT_DRY-RUN", "true")];
    env.extend_from_slice(extra);
    workspace.run(&env)
}

#[test]
fn pypi_refuses_wheel_names_over_246_bytes() {
    let run = dry_run_to_pypi("wheel-name-too-long", &[]);
    assert_eq!(run.code, Some(1), "{}\n{}", run.stdout, run.stderr);
    insta::assert_snapshot!("wheel_name_too_long_for_pypi", error_text(&run));
    // Another index stores no `.metadata` file beside it.
    assert_passes("wheel-name-too-long", &[]);
}

#[test]
fn what_pypi_accepts_passes_without_warnings() {
    // A Pyodide wheel (PEP 783 platform tag) and a RECORD written with `\` on Windows.
    for case in ["valid-pyemscripten", "valid-record-backslashes"] {
        let run = dry_run_to_pypi(case, &[]);
        assert_eq!(run.code, Some(0), "{case}:\n{}\n{}", run.stdout, run.stderr);
        assert_eq!(warnings(&run), Vec::<String>::new(), "{case}");
    }
}

#[test]
fn what_pypi_and_installers_tolerate_is_a_warning() {
    // Renamed after the build (Tag lines differ from the file name), and no Root-Is-Purelib.
    for (case, snapshot) in [
        ("valid-renamed-tags", "renamed_wheel_tags_warning"),
        (
            "valid-no-root-is-purelib",
            "missing_root_is_purelib_warning",
        ),
    ] {
        let run = dry_run_to_pypi(case, &[]);
        assert_eq!(run.code, Some(0), "{case}:\n{}\n{}", run.stdout, run.stderr);
        let warnings = warnings(&run);
        assert_eq!(warnings.len(), 1, "{case}: {warnings:#?}");
        insta::assert_snapshot!(snapshot, warnings[0]);
    }
}

/// A copy of the hatchling wheel with a stored member of `size` pseudo-random bytes and a
/// RECORD that matches, in `dir`.
fn wheel_with_payload(dir: &Path, size: usize) {
    use base64::Engine as _;
    use sha2::Digest as _;
    let source = fixture("valid-hatchling-2.4").join("demo_hatch-1.0.0-py3-none-any.whl");
    let mut archive = zip::ZipArchive::new(std::fs::File::open(source).unwrap()).unwrap();
    let record_name = "demo_hatch-1.0.0.dist-info/RECORD";
    let mut members: Vec<(String, Vec<u8>)> = Vec::new();
    for index in 0..archive.len() {
        let mut entry = archive.by_index(index).unwrap();
        let mut data = Vec::new();
        entry.read_to_end(&mut data).unwrap();
        if entry.name() != record_name {
            members.push((entry.name().to_owned(), data));
        }
    }
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let payload: Vec<u8> = (0..size)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state.to_le_bytes()[0]
        })
        .collect();
    members.push(("demo_hatch/payload.bin".to_owned(), payload));
    let mut record = String::new();
    for (name, data) in &members {
        let digest =
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(data));
        record.push_str(&format!("{name},sha256={digest},{}\n", data.len()));
    }
    record.push_str(&format!("{record_name},,\n"));
    members.push((record_name.to_owned(), record.into_bytes()));
    let path = dir.join("demo_hatch-1.0.0-py3-none-any.whl");
    let mut writer = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    let options =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for (name, data) in members {
        writer.start_file(name, options).unwrap();
        writer.write_all(&data).unwrap();
    }
    writer.finish().unwrap();
}

#[test]
fn files_over_the_project_limit_are_refused() {
    // PyPI's limit is 100 MiB unless raised on request; the input states a raised (here: a
    // smaller, to keep the test small) limit. The default is covered by a unit test. The rule
    // is PyPI's, so the repository is PyPI and the run a dry run (which sends nothing).
    let workspace = Workspace::new();
    let dist = workspace.path().join("dist");
    std::fs::create_dir_all(&dist).unwrap();
    wheel_with_payload(&dist, 1024 * 1024 + 4096);
    let run = workspace.run(&[
        ("INPUT_DRY-RUN", "true"),
        ("INPUT_FILE-SIZE-LIMIT", "1 MiB"),
    ]);
    assert_eq!(run.code, Some(1), "{}\n{}", run.stdout, run.stderr);
    insta::assert_snapshot!("file_over_the_size_limit", error_text(&run));
    let raised = workspace.run(&[
        ("INPUT_DRY-RUN", "true"),
        ("INPUT_FILE-SIZE-LIMIT", "2 MiB"),
    ]);
    assert_eq!(raised.code, Some(0), "{}\n{}", raised.stdout, raised.stderr);
}

proptest! {
    #[test]
    fn wheel_names_round_trip(
        name in "[a-z][a-z0-9]{0,8}(_[a-z0-9]{1,5}){0,2}",
        version in "[0-9]{1,3}(\\.[0-9]{1,3}){0,3}(rc[0-9]|\\.post[0-9]|\\.dev[0-9])?",
        build in proptest::option::of("[0-9]{1,3}[a-z]{0,2}"),
        python in "(py3|cp3[0-9]{1,2})(\\.py2)?",
        abi in "(none|abi3|cp3[0-9]{1,2})",
        platform in "(any|manylinux_2_[0-9]{2}_x86_64|win_amd64|macosx_11_0_arm64)",
    ) {
        let build_part = build.as_ref().map(|b| format!("-{b}")).unwrap_or_default();
        let file_name = format!("{name}-{version}{build_part}-{python}-{abi}-{platform}.whl");
        let parsed = DistFilename::parse(&file_name).unwrap();
        prop_assert_eq!(&parsed.name, &name);
        prop_assert_eq!(&parsed.version, &version);
        prop_assert_eq!(parsed.build_tag.as_ref(), build.as_ref());
        prop_assert_eq!(parsed.python_tag.as_deref(), Some(python.as_str()));
        prop_assert_eq!(parsed.platform_tag.as_deref(), Some(platform.as_str()));
        prop_assert!(parsed.parsed_version().is_some());
        prop_assert_eq!(parsed.check(), vec![]);
    }

    #[test]
    fn sdist_names_round_trip(
        name in "[a-z][a-z0-9]{0,8}(_[a-z0-9]{1,5}){0,2}",
        version in "[1-9][0-9]{0,2}(\\.[0-9]){0,3}(rc[1-9]|\\.post[1-9])?",
    ) {
        let file_name = format!("{name}-{version}.tar.gz");
        let parsed = DistFilename::parse(&file_name).unwrap();
        prop_assert_eq!(&parsed.name, &name);
        prop_assert_eq!(&parsed.version, &version);
        prop_assert_eq!(parsed.check(), vec![]);
    }

    #[test]
    fn unnormalised_sdist_names_are_always_caught(
        name in "[A-Z][a-z]{1,6}[.-][A-Za-z]{1,6}",
        version in "[1-9](\\.[0-9]){0,2}",
    ) {
        let parsed = DistFilename::parse(&format!("{name}-{version}.tar.gz")).unwrap();
        prop_assert!(parsed.check().iter().any(|f| f.message.contains("PEP 625")));
    }

    #[test]
    fn parsers_never_panic(file_name in "\\PC{0,40}(\\.whl|\\.tar\\.gz|\\.zip)?", tag in "\\PC{0,30}") {
        if let Ok(parsed) = DistFilename::parse(&file_name) {
            let _ = parsed.check();
        }
        let _ = tag_version(&tag, "demo");
    }

    #[test]
    fn tags_match_their_version(
        release in "[0-9]{1,3}(\\.[0-9]{1,3}){0,2}",
        pre in proptest::option::of(("(rc|a|b)", 0_u8..20)),
        prefix in "(|v|demo-v|demo-|demo_hatch-)",
    ) {
        let (tag_pre, dist_pre) = match &pre {
            Some((kind, number)) => {
                let long = match kind.as_str() { "a" => "alpha", "b" => "beta", other => other };
                (format!("-{long}.{number}"), format!("{kind}{number}"))
            }
            None => (String::new(), String::new()),
        };
        let project = if prefix.starts_with("demo_hatch") { "demo-hatch" } else { "demo" };
        let tagged = tag_version(&format!("{prefix}{release}{tag_pre}"), project);
        let expected: pep440_rs::Version = format!("{release}{dist_pre}").parse().unwrap();
        prop_assert_eq!(tagged, Some(expected));
    }
}

#[test]
fn pypi_refuses_a_description_that_does_not_render_even_without_verify_metadata() {
    for extra in [&[][..], &[("INPUT_VERIFY-METADATA", "false")][..]] {
        let workspace = Workspace::new();
        copy_dir(
            &fixture("description-sphinx-role"),
            &workspace.path().join("dist"),
        );
        // Default repository-url: upload.pypi.org; a dry run stops before any network use.
        let mut env = vec![("INPUT_DRY-RUN", "true")];
        env.extend_from_slice(extra);
        let run = workspace.run(&env);
        assert_eq!(run.code, Some(1), "{}\n{}", run.stdout, run.stderr);
        insta::assert_snapshot!("description_sphinx_role_on_pypi", error_text(&run));
    }
    // The same description to another index (the recorder): a warning, never contacted by
    // verification, and the upload is attempted.
    let (run, _) = publish("description-sphinx-role", &[]);
    let warned = warnings(&run);
    assert!(
        warned.iter().any(|w| w.contains("PyPI would refuse this")),
        "{warned:?}\n{}",
        run.stdout
    );
}

#[test]
fn a_description_that_renders_passes() {
    let run = assert_passes("valid-description-rst", &[]);
    assert!(warnings(&run).is_empty(), "{}", run.stdout);
}
