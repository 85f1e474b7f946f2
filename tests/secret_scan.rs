//! The secret scan that every end-to-end run goes through (`Workspace::run`) must catch each
//! form a secret leaks in, and pass clean output.

mod support;

use support::RunOutput;

fn output(stdout: &str, stderr: &str) -> RunOutput {
    RunOutput {
        code: Some(0),
        stdout: stdout.to_owned(),
        stderr: stderr.to_owned(),
        github_output: String::new(),
        summary: String::new(),
    }
}

fn leaks(run: &RunOutput, secrets: &[&str]) -> bool {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        run.assert_no_secrets(secrets);
    }))
    .is_err()
}

#[test]
fn the_scan_catches_every_form_of_a_leak() {
    use base64::Engine as _;
    let token = "pypi-AgEIcHlwaS5vcmcCJDExxyz0123456789";
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("__token__:{token}"));
    let other_user = base64::engine::general_purpose::STANDARD.encode(format!("alice:{token}"));
    let jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJyZXBvOm9jdG8vZGVtbyJ9.c2lnbmF0dXJl";
    let leaking = [
        output(&format!("token is {token}"), ""),
        output("", &format!("DEBUG sending header {basic}")),
        output("", &format!("Authorization: Basic {other_user}")),
        output(&format!("minted from {jwt}"), ""),
        output("", "authorization: bearer abc"),
        output("", "{\"Authorization\": \"token ghs_abc\"}"),
    ];
    for run in &leaking {
        assert!(leaks(run, &[token]), "not caught: {run:?}");
    }
    let clean = output(
        &format!("::add-mask::{token}\nuploaded x.whl\nsha256 abc"),
        "DEBUG POST http://127.0.0.1/ (basic auth for user `__token__`)",
    );
    assert!(!leaks(&clean, &[token]), "a clean run was flagged");
}
