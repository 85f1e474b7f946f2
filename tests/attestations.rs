//! PEP 740 attestations (DESIGN §5): signed by our code against loopback fakes of the GitHub
//! token endpoint, Fulcio and Rekor, then verified by an independent verifier
//! (sigstore-python + pypi-attestations, `tests/verify_attestation.py`) with a trusted root for
//! the fakes; and a real production attestation checked offline.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code, support included: a failed setup should panic with its cause"
)]

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use p256::pkcs8::DecodePublicKey as _;
use pypi_oidc_publish::actions::Runner;
use pypi_oidc_publish::attest::statement::Attestation;
use pypi_oidc_publish::attest::{Sigstore, Subject, check};
use pypi_oidc_publish::http::RetryPolicy;
use serde_json::json;
use support::oidc_fake::{GithubOidc, PypiConfig, PypiOidc};
use support::sigstore_fake::{RecordingIndex, SigstoreFake};
use support::{repo_root, sha256_file, venv_bin};

const GOLDEN: &str =
    "tests/fixtures/attestations/pypi_attestations-0.0.19.tar.gz.publish.attestation";
const GOLDEN_NAME: &str = "pypi_attestations-0.0.19.tar.gz";
const GOLDEN_SHA256: &str = "9bb1add04b1b4e182be6b0b80931593f7a291eb49d69b4fd728a5d4cbcdc4bd3";

fn golden() -> Attestation {
    serde_json::from_str(&std::fs::read_to_string(repo_root().join(GOLDEN)).unwrap()).unwrap()
}

fn production_rekor_key() -> p256::ecdsa::VerifyingKey {
    let pem = std::fs::read_to_string(
        repo_root().join("tests/fixtures/attestations/rekor.sigstore.dev.pub"),
    )
    .unwrap();
    p256::ecdsa::VerifyingKey::from_public_key_pem(&pem).unwrap()
}

#[test]
fn a_production_attestation_verifies_offline_with_our_checker() {
    let attestation = golden();
    let checked = check::check(&attestation, GOLDEN_NAME, GOLDEN_SHA256).unwrap();
    assert_eq!(checked.log_index, "598461431");
    assert!(checked.inclusion_proof_checked);
    let entry = &attestation.verification_material.transparency_entries[0];
    check::check_log_signatures(entry, &production_rekor_key()).unwrap();

    // Each part is load-bearing: a different file, a tampered signature or body, another
    // log's key are all caught.
    let error = check::check(&attestation, GOLDEN_NAME, &"0".repeat(64)).unwrap_err();
    assert!(error.to_string().contains("sha256"), "{error}");
    let error = check::check(&attestation, "other-0.0.19.tar.gz", GOLDEN_SHA256).unwrap_err();
    assert!(error.to_string().contains("names"), "{error}");

    let mut tampered = attestation.clone();
    let mut signature = STANDARD.decode(&tampered.envelope.signature).unwrap();
    let last = signature.len() - 1;
    signature[last] ^= 1;
    tampered.envelope.signature = STANDARD.encode(signature);
    let error = check::check(&tampered, GOLDEN_NAME, GOLDEN_SHA256).unwrap_err();
    assert!(error.to_string().contains("signature"), "{error}");

    let mut tampered = attestation.clone();
    let proof = tampered.verification_material.transparency_entries[0]
        .inclusion_proof
        .as_mut()
        .unwrap();
    proof.hashes.swap(0, 1);
    let error = check::check(&tampered, GOLDEN_NAME, GOLDEN_SHA256).unwrap_err();
    assert!(error.to_string().contains("inclusion proof"), "{error}");

    let other_log = p256::ecdsa::SigningKey::random(&mut rand_core::OsRng);
    let error = check::check_log_signatures(entry, other_log.verifying_key()).unwrap_err();
    assert!(error.contains("signed entry timestamp"), "{error}");
}

fn python_verifier(args: &[&str]) -> (bool, String) {
    let output = Command::new(venv_bin("python"))
        .arg(repo_root().join("tests/verify_attestation.py"))
        .args(args)
        .output()
        .unwrap();
    support::success_and_output(&output)
}

#[test]
fn the_independent_verifier_accepts_the_production_attestation_and_rejects_a_wrong_digest() {
    let path = repo_root().join(GOLDEN);
    let path = path.to_str().unwrap();
    let base = ["--production", "--attestation", path, "--name", GOLDEN_NAME];
    let (ok, log) = python_verifier(&[&base[..], &["--sha256", GOLDEN_SHA256]].concat());
    assert!(ok, "{log}");
    assert!(log.contains(r#""verified": true"#), "{log}");
    let (ok, log) = python_verifier(&[&base[..], &["--sha256", &"0".repeat(64)]].concat());
    assert!(!ok, "{log}");
    assert!(
        log.contains("subject does not match distribution digest"),
        "{log}"
    );
}

fn runner_for(github: &GithubOidc) -> Runner {
    Runner {
        id_token_request_url: Some(github.request_url()),
        id_token_request_token: Some(github.request_token.clone().into()),
        ..Runner::default()
    }
}

/// Run async test code on a runtime of its own (the fakes run their own runtimes, which
/// cannot be started or dropped inside another one).
fn block_on<T>(future: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(future)
}

fn audiences(github: &GithubOidc) -> Vec<String> {
    github
        .issued()
        .into_iter()
        .map(|issued| issued.audience)
        .collect()
}

fn sample_dists() -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(repo_root().join("examples/dist"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    paths.sort();
    paths
}

fn subject_of(path: &Path) -> Subject {
    Subject {
        name: path.file_name().unwrap().to_string_lossy().into_owned(),
        sha256: sha256_file(path),
    }
}

async fn sign(
    github: &GithubOidc,
    fake: &SigstoreFake,
    subjects: &[Subject],
) -> anyhow::Result<pypi_oidc_publish::attest::Signed> {
    let client = pypi_oidc_publish::http::client().unwrap();
    let fulcio = url::Url::parse(&fake.fulcio_url()).unwrap();
    let rekor = url::Url::parse(&fake.rekor_url()).unwrap();
    let sigstore = Sigstore {
        client: &client,
        fulcio_url: &fulcio,
        rekor_url: &rekor,
        policy: RetryPolicy {
            attempts: 4,
            base_delay: std::time::Duration::from_millis(10),
            max_delay: std::time::Duration::from_millis(50),
        },
    };
    sigstore.sign_all(&runner_for(github), subjects).await
}

/// Run the independent verifier on one `attestations` form value for one dist.
fn verify_with_python(
    fake: &SigstoreFake,
    form: &str,
    dist: &Path,
    repository: &str,
    workflow: &str,
) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("trusted_root.json");
    std::fs::write(&root, fake.trusted_root_json()).unwrap();
    let attestations = dir.path().join("attestations.json");
    std::fs::write(&attestations, form).unwrap();
    python_verifier(&[
        "--trusted-root",
        root.to_str().unwrap(),
        "--attestations",
        attestations.to_str().unwrap(),
        "--dist",
        dist.to_str().unwrap(),
        "--repository",
        repository,
        "--workflow",
        workflow,
    ])
}

#[test]
fn every_dist_is_signed_under_one_certificate_and_the_independent_verifier_accepts_it() {
    let github = GithubOidc::start();
    let fake = SigstoreFake::start();
    block_on(async {
        let dists = sample_dists();
        let subjects: Vec<Subject> = dists.iter().map(|path| subject_of(path)).collect();
        let signed = sign(&github, &fake, &subjects).await.unwrap();

        assert_eq!(audiences(&github), ["sigstore"]);
        assert_eq!(fake.fulcio_requests(), 1, "one certificate for all files");
        assert_eq!(fake.rekor_requests(), dists.len());
        assert_eq!(
            signed.identity.as_deref(),
            Some("https://github.com/octo-org/demo/.github/workflows/release.yml@refs/tags/v0.3.0")
        );
        assert_eq!(signed.forms.len(), dists.len());
        for (path, subject) in dists.iter().zip(&subjects) {
            let form = &signed.forms[&subject.name];
            let attestations: Vec<Attestation> = serde_json::from_str(form).unwrap();
            assert_eq!(attestations.len(), 1);
            let entry = &attestations[0].verification_material.transparency_entries[0];
            check::check(&attestations[0], &subject.name, &subject.sha256).unwrap();
            check::check_log_signatures(entry, &fake.rekor_key()).unwrap();

            let (ok, log) = verify_with_python(&fake, form, path, "octo-org/demo", "release.yml");
            assert!(ok, "{}: {log}", subject.name);
            assert!(
                log.contains(
                    r#""predicate_type": "https://docs.pypi.org/attestations/publish/v1""#
                ),
                "{log}"
            );
        }

        // The verifier is not a rubber stamp: another file, another workflow or another
        // repository is refused.
        let wheel_form = &signed.forms[&subjects[0].name];
        let (ok, log) =
            verify_with_python(&fake, wheel_form, &dists[1], "octo-org/demo", "release.yml");
        assert!(!ok, "{log}");
        let (ok, log) = verify_with_python(&fake, wheel_form, &dists[0], "octo-org/demo", "ci.yml");
        assert!(!ok, "{log}");
        assert!(log.contains("Build Config URI"), "{log}");
        let (ok, log) = verify_with_python(
            &fake,
            wheel_form,
            &dists[0],
            "octo-org/other",
            "release.yml",
        );
        assert!(!ok, "{log}");
    });
}

#[test]
fn sixty_wheels_share_one_certificate_and_each_gets_its_own_log_entry() {
    let github = GithubOidc::start();
    let fake = SigstoreFake::start();
    block_on(async {
        let subjects: Vec<Subject> = (0..60)
            .map(|n| Subject {
                name: format!("demo-1.0-cp3{n}-cp3{n}-manylinux_2_28_x86_64.whl"),
                sha256: format!("{n:064x}"),
            })
            .collect();
        let signed = sign(&github, &fake, &subjects).await.unwrap();
        assert_eq!(fake.fulcio_requests(), 1);
        assert_eq!(fake.rekor_requests(), 60);
        assert_eq!(signed.forms.len(), 60);
        let mut indexes = signed.log_indexes.clone();
        indexes.sort();
        indexes.dedup();
        assert_eq!(indexes.len(), 60, "one log entry per file");
        let certificates: std::collections::BTreeSet<String> = signed
            .forms
            .values()
            .map(|form| {
                let attestations: Vec<Attestation> = serde_json::from_str(form).unwrap();
                attestations[0].verification_material.certificate.clone()
            })
            .collect();
        assert_eq!(certificates.len(), 1);
    });
}

#[test]
fn fulcio_and_rekor_outages_are_retried() {
    let github = GithubOidc::start();
    let fake = SigstoreFake::start();
    block_on(async {
        fake.fail_fulcio(2);
        fake.fail_rekor(2);
        let dists = sample_dists();
        let subjects: Vec<Subject> = dists.iter().map(|path| subject_of(path)).collect();
        let signed = sign(&github, &fake, &subjects).await.unwrap();
        assert_eq!(signed.forms.len(), 2);
        assert_eq!(fake.fulcio_requests(), 3);
        assert_eq!(fake.rekor_requests(), 4);
        let form = &signed.forms[&subjects[0].name];
        let (ok, log) = verify_with_python(&fake, form, &dists[0], "octo-org/demo", "release.yml");
        assert!(ok, "{log}");
    });
}

#[test]
fn a_lasting_rekor_outage_is_a_clear_error_naming_the_log_and_the_way_out() {
    let github = GithubOidc::start();
    let fake = SigstoreFake::start();
    block_on(async {
        fake.fail_rekor(1000);
        let subjects = vec![subject_of(&sample_dists()[0])];
        let error = sign(&github, &fake, &subjects).await.unwrap_err();
        let message = format!("{error:#}");
        assert!(message.contains(&subjects[0].name), "{message}");
        assert!(
            message.contains(&format!("Rekor ({})", fake.rekor_url())),
            "{message}"
        );
        assert!(message.contains("503"), "{message}");
        assert!(message.contains("attestations: false"), "{message}");
        assert_eq!(fake.rekor_requests(), 4, "bounded retries");
    });
}

#[test]
fn a_fulcio_refusal_is_not_retried_and_is_explained() {
    let github = GithubOidc::start();
    let fake = SigstoreFake::start();
    block_on(async {
        // The token endpoint hands out a token for another audience: Fulcio refuses it (401).
        let client = pypi_oidc_publish::http::client().unwrap();
        let fulcio = url::Url::parse(&fake.fulcio_url()).unwrap();
        let key = p256::ecdsa::SigningKey::random(&mut rand_core::OsRng);
        let token =
            pypi_oidc_publish::auth::oidc::request_id_token(&client, &runner_for(&github), "pypi")
                .await
                .unwrap();
        let error = pypi_oidc_publish::attest::fulcio::signing_certificate(
            &client,
            &fulcio,
            &token,
            &key,
            RetryPolicy::default(),
        )
        .await
        .unwrap_err();
        let message = format!("{error:#}");
        assert!(message.contains("Fulcio"), "{message}");
        assert!(message.contains("401"), "{message}");
        assert!(
            message.contains("the OIDC token does not verify"),
            "{message}"
        );
        assert!(message.contains("InvalidAudience"), "{message}");
        assert_eq!(fake.fulcio_requests(), 1);
    });
}

#[test]
fn the_fake_identity_follows_the_token() {
    // Guard for the fixtures above: a different job_workflow_ref changes the certified
    // identity (so the verifier's workflow check is about our data, not a constant).
    let github = GithubOidc::start_with(&json!({
        "job_workflow_ref": "octo-org/demo/.github/workflows/publish.yml@refs/heads/main",
        "workflow_ref": "octo-org/demo/.github/workflows/publish.yml@refs/heads/main",
        "ref": "refs/heads/main",
    }));
    let fake = SigstoreFake::start();
    let dists = sample_dists();
    let subjects = vec![subject_of(&dists[0])];
    let signed = block_on(sign(&github, &fake, &subjects)).unwrap();
    assert_eq!(
        signed.identity.as_deref(),
        Some("https://github.com/octo-org/demo/.github/workflows/publish.yml@refs/heads/main")
    );
    let form = &signed.forms[&subjects[0].name];
    let (ok, log) = verify_with_python(&fake, form, &dists[0], "octo-org/demo", "publish.yml");
    assert!(ok, "{log}");
    let (ok, log) = verify_with_python(&fake, form, &dists[0], "octo-org/demo", "release.yml");
    assert!(!ok, "{log}");
}

#[test]
fn with_a_password_attestations_are_off_with_a_notice_and_nothing_is_signed() {
    let server = support::PypiServer::start();
    let index = RecordingIndex::start(&server.upload_url());
    let github = GithubOidc::start();
    let fake = SigstoreFake::start();
    let workspace = support::Workspace::new().with_sample_dists();
    let run = workspace.run(&[
        ("INPUT_REPOSITORY-URL", &index.url),
        ("INPUT_CHECK-URL", &server.simple_url()),
        ("INPUT_PASSWORD", &server.token),
        ("INPUT_FULCIO-URL", &fake.fulcio_url()),
        ("INPUT_REKOR-URL", &fake.rekor_url()),
        ("ACTIONS_ID_TOKEN_REQUEST_URL", &github.request_url()),
        ("ACTIONS_ID_TOKEN_REQUEST_TOKEN", &github.request_token),
    ]);
    assert_eq!(run.code, Some(0), "{}\n{}", run.stdout, run.stderr);
    run.assert_no_secrets(&[&server.token, &github.request_token]);
    assert!(
        run.stdout.contains(
            "::notice title=Attestations off::PEP 740 attestations need Trusted Publishing"
        ),
        "{}",
        run.stdout
    );
    assert!(
        run.summary
            .contains("Attestations: off: PEP 740 attestations need Trusted Publishing"),
        "{}",
        run.summary
    );
    let uploads = index.uploads();
    assert_eq!(uploads.len(), 2, "{uploads:?}");
    assert!(uploads.iter().all(|upload| upload.attestations.is_none()));
    assert!(audiences(&github).is_empty(), "no OIDC token was asked for");
    assert_eq!(fake.fulcio_requests() + fake.rekor_requests(), 0);
}

/// The files in a folder (to show that nothing was written beside the dists).
fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn trusted_publishing_uploads_each_dist_with_one_verified_attestation_and_a_second_publish_works() {
    let server = support::PypiServer::start();
    let index = RecordingIndex::start(&server.upload_url());
    let github = GithubOidc::start();
    let pypi = PypiOidc::start(PypiConfig {
        minted_token: server.token.clone(),
        upstream: Some(index.url.trim_end_matches('/').to_owned()),
        ..PypiConfig::default()
    });
    let sigstore = SigstoreFake::start();
    let workspace = support::Workspace::new().with_sample_dists();
    let dist_dir = workspace.path().join("dist");
    let before = listing(&dist_dir);
    let env = [
        ("INPUT_REPOSITORY-URL", pypi.url()),
        ("INPUT_FULCIO-URL", sigstore.fulcio_url()),
        ("INPUT_REKOR-URL", sigstore.rekor_url()),
        ("ACTIONS_ID_TOKEN_REQUEST_URL", github.request_url()),
        (
            "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
            github.request_token.clone(),
        ),
    ];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let run = workspace.run(&env);
    assert_eq!(run.code, Some(0), "{}\n{}", run.stdout, run.stderr);
    let mut secrets = github.secrets();
    secrets.push(pypi.minted_token.clone());
    run.assert_no_secrets(&secrets.iter().map(String::as_str).collect::<Vec<_>>());

    // The PyPI token first (sign only after the exchange succeeded), then one sigstore token,
    // one certificate and one log entry per dist.
    assert_eq!(audiences(&github), ["pypi", "sigstore"]);
    assert_eq!(sigstore.fulcio_requests(), 1);
    assert_eq!(sigstore.rekor_requests(), 2);
    let uploads = index.uploads();
    assert_eq!(uploads.len(), 2, "{uploads:?}");
    for upload in &uploads {
        let path = dist_dir.join(&upload.file_name);
        assert_eq!(upload.sha256, sha256_file(&path));
        let form = upload
            .attestations
            .as_deref()
            .unwrap_or_else(|| panic!("{} was uploaded without attestations", upload.file_name));
        let (ok, log) = verify_with_python(&sigstore, form, &path, "octo-org/demo", "release.yml");
        assert!(ok, "{}: {log}", upload.file_name);
    }
    assert_eq!(server.stored().len(), 2, "both dists are on the real index");
    assert!(
        // Escaped for Markdown (src/markdown.rs): the workflow ref is the token's claim.
        run.summary.contains(r"Attestations: 2 signed (PEP 740) for https\://github.com/octo-org/demo/.github/workflows/release.yml\@refs/tags/v0.3.0; Rekor log entries 100"),
        "{}",
        run.summary
    );
    assert_eq!(
        listing(&dist_dir),
        before,
        "nothing written beside the dists"
    );
    assert!(
        !run.stdout.contains("::warning"),
        "no warning expected:\n{}",
        run.stdout
    );

    // A second publish in the same workspace: the files are there, nothing to sign.
    let rerun = workspace.run(&env);
    assert_eq!(rerun.code, Some(0), "{}\n{}", rerun.stdout, rerun.stderr);
    assert!(
        rerun.summary.contains("Attestations: none needed"),
        "{}",
        rerun.summary
    );
    assert_eq!(
        sigstore.fulcio_requests(),
        1,
        "nothing signed the second time"
    );
    assert_eq!(listing(&dist_dir), before);
}

#[test]
fn a_reusable_workflow_is_warned_about_for_the_attestation_identity() {
    let server = support::PypiServer::start();
    let github = GithubOidc::start_with(&json!({
        "job_workflow_ref": "octo-org/shared/.github/workflows/publish.yml@refs/heads/main",
    }));
    let pypi = PypiOidc::start(PypiConfig {
        minted_token: server.token.clone(),
        upstream: Some(format!("http://127.0.0.1:{}", server.port)),
        ..PypiConfig::default()
    });
    let sigstore = SigstoreFake::start();
    let workspace = support::Workspace::new().with_sample_dists();
    let env = [
        ("INPUT_REPOSITORY-URL", pypi.url()),
        ("INPUT_FULCIO-URL", sigstore.fulcio_url()),
        ("INPUT_REKOR-URL", sigstore.rekor_url()),
        ("ACTIONS_ID_TOKEN_REQUEST_URL", github.request_url()),
        (
            "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
            github.request_token.clone(),
        ),
    ];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let run = workspace.run(&env);
    assert_eq!(run.code, Some(0), "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("::warning title=Attestation identity from a reusable workflow::the signing certificate names the reusable workflow `octo-org/shared/.github/workflows/publish.yml@refs/heads/main`"),
        "{}",
        run.stdout
    );
}

#[test]
fn a_lasting_fulcio_outage_stops_the_run_before_any_upload() {
    let server = support::PypiServer::start();
    let github = GithubOidc::start();
    let pypi = PypiOidc::start(PypiConfig {
        minted_token: server.token.clone(),
        upstream: Some(format!("http://127.0.0.1:{}", server.port)),
        ..PypiConfig::default()
    });
    let sigstore = SigstoreFake::start();
    sigstore.fail_fulcio(1000);
    let workspace = support::Workspace::new().with_sample_dists();
    let env = [
        ("INPUT_REPOSITORY-URL", pypi.url()),
        ("INPUT_FULCIO-URL", sigstore.fulcio_url()),
        ("INPUT_REKOR-URL", sigstore.rekor_url()),
        ("ACTIONS_ID_TOKEN_REQUEST_URL", github.request_url()),
        (
            "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
            github.request_token.clone(),
        ),
    ];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let run = workspace.run(&env);
    assert_eq!(run.code, Some(1), "{}\n{}", run.stdout, run.stderr);
    assert!(server.stored().is_empty(), "nothing uploaded");
    assert_eq!(sigstore.fulcio_requests(), 5, "bounded retries");
    assert!(
        run.stdout.contains("Fulcio (") && run.stdout.contains("attestations: false"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("::error title=Attestation failed (nothing uploaded)::signing the PEP 740 attestations failed, so nothing was uploaded: Fulcio ("),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("gave up after 5 attempts: POST "),
        "{}",
        run.stdout
    );
    assert!(
        run.summary
            .contains("Attestations: failed, so nothing was uploaded"),
        "{}",
        run.summary
    );
}

#[test]
fn a_lost_rekor_answer_is_recovered_from_the_log_without_a_second_entry() {
    let github = GithubOidc::start();
    let fake = SigstoreFake::start();
    fake.lose_rekor_answers(1);
    let dists = sample_dists();
    let subjects = vec![subject_of(&dists[0])];
    let signed = block_on(sign(&github, &fake, &subjects)).unwrap();
    // POST (stored, answer lost), POST again (409 with the entry's place), then a GET.
    assert_eq!(fake.rekor_requests(), 2);
    assert_eq!(fake.rekor_entries(), 1, "logged once");
    let form = &signed.forms[&subjects[0].name];
    let (ok, log) = verify_with_python(&fake, form, &dists[0], "octo-org/demo", "release.yml");
    assert!(ok, "{log}");
}

#[test]
fn an_entry_that_does_not_match_what_we_signed_is_an_error_before_any_upload() {
    let github = GithubOidc::start();
    let fake = SigstoreFake::start();
    fake.corrupt_rekor_bodies();
    let subjects = vec![subject_of(&sample_dists()[0])];
    let error = block_on(sign(&github, &fake, &subjects)).unwrap_err();
    let message = format!("{error:#}");
    assert!(
        message.contains(&format!(
            "the attestation for {} does not verify: the log entry's payloadHash is not the statement's sha256",
            subjects[0].name
        )),
        "{message}"
    );
}
