//! Shared test support: real peers started on loopback (pypiserver), running the real binary
//! with a runner-like environment, and the secret scan applied to everything it wrote.
#![allow(
    dead_code,
    reason = "each test binary uses a different part of the support module"
)]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::doc_markdown,
    reason = "test support fails loudly: clippy's allow-unwrap-in-tests covers only #[test] functions"
)]
#![allow(
    clippy::disallowed_methods,
    reason = "the test peers read their own loopback upstreams' answers whole; the caps of src/http/body.rs guard the binary, not them"
)]

pub mod background;
pub mod fault_proxy;
pub mod github_fake;
pub mod hostile;
pub mod oidc_fake;
pub mod runner_log;
pub mod sigstore_fake;
pub mod wheels;

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const BINARY: &str = env!("CARGO_BIN_EXE_pypi-oidc-publish");

/// The repository root (for examples/ and fixtures).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The virtualenv scripts/test.sh made (pypiserver, pip, ...).
pub fn venv() -> PathBuf {
    std::env::var_os("PYPI_OIDC_PUBLISH_TEST_VENV")
        .map_or_else(|| repo_root().join("target/test-env/venv"), PathBuf::from)
}

pub fn venv_bin(name: &str) -> PathBuf {
    let path = venv().join("bin").join(name);
    assert!(
        path.exists(),
        "{} is missing: run scripts/test.sh (it installs the test peers)",
        path.display()
    );
    path
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The PyPI-strict test index (`tests/warehouse/`, the Warehouse fake) on 127.0.0.1 with a real
/// pypiserver behind it, both in one Python process: every upload is judged by PyPI's rules and
/// answered with PyPI's status and message; accepted files are stored by pypiserver (so `pip
/// install` works). User `__token__`, the token as password. Stopped on drop.
pub struct PypiServer {
    child: Child,
    /// The PyPI-strict index every test talks to (uploads, `/simple/`, the JSON API).
    pub port: u16,
    /// pypiserver itself, behind the fake (for tests about a non-PyPI index's behaviour).
    pub storage_port: u16,
    pub packages: tempfile::TempDir,
    state: tempfile::TempDir,
    pub token: String,
    /// Held open: the index exits when it is closed (also if this process dies).
    _stdin: std::process::ChildStdin,
}

/// How long the index may take to start (it answers in well under a second when idle).
const START_TIMEOUT: Duration = Duration::from_secs(30);

impl PypiServer {
    pub fn start() -> Self {
        let packages = tempfile::tempdir().unwrap();
        let state = tempfile::tempdir().unwrap();
        let token = format!("pypi-test{:032x}", rand_u128());
        let log = std::fs::File::create(state.path().join("server.log")).unwrap();
        let mut child = Command::new(venv_bin("python"))
            .args([
                "-m",
                "warehouse",
                "serve",
                "--exit-with-stdin",
                "--packages",
            ])
            .arg(packages.path())
            .arg("--state")
            .arg(state.path())
            .env("PYTHONPATH", repo_root().join("tests"))
            .env("WAREHOUSE_FAKE_TOKEN", &token)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut line);
            let _ = sender.send(line);
        });
        let Ok(line) = receiver.recv_timeout(START_TIMEOUT) else {
            let _ = child.kill();
            panic!(
                "the PyPI-strict index did not start within {START_TIMEOUT:?}; its log:\n{}",
                std::fs::read_to_string(state.path().join("server.log")).unwrap_or_default()
            );
        };
        let ready: serde_json::Value = serde_json::from_str(&line).unwrap_or_else(|_| {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "the PyPI-strict index did not start (printed {line:?}); its log:\n{}",
                std::fs::read_to_string(state.path().join("server.log")).unwrap_or_default()
            )
        });
        let port = |key: &str| u16::try_from(ready[key].as_u64().unwrap()).unwrap();
        Self {
            port: port("port"),
            storage_port: port("storage_port"),
            child,
            packages,
            state,
            token,
            _stdin: stdin,
        }
    }

    /// The upload URL (the index also takes uploads at PyPI's `/legacy/`; `/legacy` answers
    /// 308 as PyPI does).
    pub fn upload_url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }

    /// pypiserver's own upload URL, bypassing PyPI's rules: for tests of how the binary meets a
    /// non-PyPI index (pypiserver answers a re-sent file with 409, PyPI with 200).
    pub fn storage_url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.storage_port)
    }

    pub fn simple_url(&self) -> String {
        format!("http://127.0.0.1:{}/simple/", self.port)
    }

    /// The index's base URL (`/pypi/{name}/{version}/json` lives below it).
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }

    /// What the index printed (one line per upload verdict), for failure messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.state.path().join("server.log")).unwrap_or_default()
    }

    /// Every upload the index judged, in order: `(file name, status, rule, message)`.
    pub fn verdicts(&self) -> Vec<(String, u16, String, String)> {
        let body = self.test_request("GET", "_test/log");
        let entries: Vec<serde_json::Value> = serde_json::from_str(&body).unwrap();
        entries
            .iter()
            .map(|entry| {
                (
                    entry["filename"].as_str().unwrap_or_default().to_owned(),
                    u16::try_from(entry["status"].as_u64().unwrap()).unwrap(),
                    entry["rule"].as_str().unwrap().to_owned(),
                    entry["message"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    }

    /// Move a release `days` into the past (PyPI refuses new files for releases older than
    /// 14 days).
    pub fn age_release(&self, project: &str, version: &str, days: u32) {
        self.test_request(
            "POST",
            &format!("_test/age?project={project}&version={version}&days={days}"),
        );
    }

    /// Set the per-file size limit (PyPI's default is 100 MiB).
    pub fn set_file_size_limit(&self, bytes: u64) {
        self.test_request("POST", &format!("_test/config?file_size_limit={bytes}"));
    }

    fn test_request(&self, method: &str, path: &str) -> String {
        let (status, body) = http_request(self.port, method, &format!("/{path}"));
        assert_eq!(status, 200, "{method} /{path} answered {status}: {body}");
        body
    }

    /// Files stored by the server: name -> sha256.
    pub fn stored(&self) -> BTreeMap<String, String> {
        let mut files = BTreeMap::new();
        for entry in std::fs::read_dir(self.packages.path()).unwrap() {
            let path = entry.unwrap().path();
            if path.is_file() {
                files.insert(
                    path.file_name().unwrap().to_string_lossy().into_owned(),
                    sha256_file(&path),
                );
            }
        }
        files
    }
}

impl Drop for PypiServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One plain HTTP/1.1 request to 127.0.0.1 (no body, `Connection: close`): status and body.
pub fn http_request(port: u16, method: &str, path: &str) -> (u16, String) {
    use std::io::{Read as _, Write as _};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    (status, body.to_owned())
}

fn rand_u128() -> u128 {
    use std::hash::{BuildHasher, Hasher};
    let state = std::collections::hash_map::RandomState::new();
    let mut hasher = state.build_hasher();
    hasher.write_u128(Instant::now().elapsed().as_nanos() ^ u128::from(std::process::id()));
    let high = hasher.finish();
    let mut hasher = state.build_hasher();
    hasher.write_u64(high);
    (u128::from(high) << 64) | u128::from(hasher.finish())
}

pub fn sha256_file(path: &Path) -> String {
    use sha2::Digest as _;
    let bytes = std::fs::read(path).unwrap();
    hex::encode(sha2::Sha256::digest(&bytes))
}

/// Everything one run of the binary wrote.
#[derive(Debug)]
pub struct RunOutput {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub github_output: String,
    pub summary: String,
}

impl RunOutput {
    /// All text the run produced, for scanning.
    /// `::add-mask::` lines are consumed by the runner and never shown, so they are left out.
    pub fn all_text(&self) -> String {
        let stdout: Vec<&str> = self
            .stdout
            .lines()
            .filter(|line| !line.starts_with("::add-mask::"))
            .collect();
        format!(
            "{}\n{}\n{}\n{}",
            stdout.join("\n"),
            self.stderr,
            self.github_output,
            self.summary
        )
    }

    /// The value of one `$GITHUB_OUTPUT` output (single-line or heredoc form).
    pub fn output(&self, name: &str) -> Option<String> {
        let mut lines = self.github_output.lines();
        while let Some(line) = lines.next() {
            if let Some(value) = line.strip_prefix(&format!("{name}=")) {
                return Some(value.to_owned());
            }
            if let Some(delimiter) = line.strip_prefix(&format!("{name}<<")) {
                let mut value = Vec::new();
                for next in lines.by_ref() {
                    if next == delimiter {
                        break;
                    }
                    value.push(next);
                }
                return Some(value.join("\n"));
            }
        }
        None
    }

    /// Fail when any secret appears anywhere the run wrote (stdout without the runner's
    /// `::add-mask::` lines, stderr with the debug log, `$GITHUB_OUTPUT`, the step summary):
    /// each given secret in full or base64-encoded at any alignment (as a basic-auth header
    /// carries `user:secret`), any JWT-shaped string (OIDC tokens), any `Authorization` header.
    pub fn assert_no_secrets(&self, secrets: &[&str]) {
        assert_no_secrets_in(&self.all_text(), secrets);
    }
}

/// The secret scan of [`RunOutput::assert_no_secrets`] over any text (an emulated job log).
pub fn assert_no_secrets_in(text: &str, secrets: &[&str]) {
    {
        let text = text.to_owned();
        for secret in secrets.iter().filter(|s| s.len() >= 8) {
            assert!(
                !text.contains(secret),
                "a secret leaked into the output:\n{text}"
            );
            for encoded in base64_forms(secret) {
                assert!(
                    !text.contains(&encoded),
                    "a base64-encoded secret (basic-auth header?) leaked into the output:\n{text}"
                );
            }
        }
        if let Some(jwt) = find_jwt(&text) {
            panic!("a JWT leaked into the output ({jwt}):\n{text}");
        }
        let lower = text.to_ascii_lowercase();
        for scheme in ["basic ", "bearer ", "token "] {
            for header in ["authorization: ", "authorization=", "\"authorization\": \""] {
                assert!(
                    !lower.contains(&format!("{header}{scheme}")),
                    "an Authorization header leaked into the output:\n{text}"
                );
            }
        }
    }
}

/// The base64 text that encodes `secret` wherever it sits in an encoded stream: one form per
/// byte alignment, without the partial groups at either end.
fn base64_forms(secret: &str) -> Vec<String> {
    use base64::Engine as _;
    let bytes = secret.as_bytes();
    (0..3)
        .filter_map(|skip| {
            let usable = (bytes.len().saturating_sub(skip) / 3) * 3;
            (usable >= 6).then(|| {
                base64::engine::general_purpose::STANDARD.encode(&bytes[skip..skip + usable])
            })
        })
        .collect()
}

/// A `header.payload.` JWT (both parts base64url JSON objects, so both start with `eyJ`).
fn find_jwt(text: &str) -> Option<&str> {
    let is_b64url = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    let mut rest = text;
    while let Some(start) = rest.find("eyJ") {
        let candidate = &rest[start..];
        let header_len = candidate
            .find(|c: char| !is_b64url(c))
            .unwrap_or(candidate.len());
        if header_len >= 10 && candidate[header_len..].starts_with(".eyJ") {
            let payload = &candidate[header_len + 1..];
            let payload_len = payload
                .find(|c: char| !is_b64url(c))
                .unwrap_or(payload.len());
            if payload_len >= 10 && payload[payload_len..].starts_with('.') {
                return Some(&candidate[..header_len + 1 + payload_len]);
            }
        }
        rest = &rest[start + 3..];
    }
    None
}

/// Secret values among a run's variables: passwords, tokens, the OIDC request token.
pub fn secrets_in_env(env: &[(&str, &str)]) -> Vec<String> {
    env.iter()
        .filter(|(key, value)| {
            let key = key.to_ascii_uppercase();
            value.len() >= 8
                && (key.contains("PASSWORD") || key.contains("TOKEN") || key.contains("SECRET"))
        })
        .map(|(_, value)| (*value).to_owned())
        .collect()
}

/// A runner-like workspace: `GITHUB_OUTPUT` and `GITHUB_STEP_SUMMARY` files, a workspace folder.
pub struct Workspace {
    pub dir: tempfile::TempDir,
}

impl Workspace {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Copy the sample dists into `{workspace}/dist`.
    pub fn with_sample_dists(self) -> Self {
        let dist = self.path().join("dist");
        std::fs::create_dir_all(&dist).unwrap();
        for entry in std::fs::read_dir(repo_root().join("examples/dist")).unwrap() {
            let path = entry.unwrap().path();
            std::fs::copy(&path, dist.join(path.file_name().unwrap())).unwrap();
        }
        self
    }

    /// Run the binary as the runner would: `INPUT_*` variables, GITHUB_* context, files for
    /// outputs and summary. `extra` adds or overrides variables.
    pub fn run(&self, extra: &[(&str, &str)]) -> RunOutput {
        self.run_with_args(&[], extra)
    }

    pub fn run_with_args(&self, args: &[&str], extra: &[(&str, &str)]) -> RunOutput {
        let (run, _) = self.execute(args, extra, None);
        // The secret scan, applied to every end-to-end run: every password or token the run
        // was given, plus JWT-shaped strings and Authorization headers.
        let secrets = secrets_in_env(extra);
        run.assert_no_secrets(&secrets.iter().map(String::as_str).collect::<Vec<_>>());
        run
    }

    /// Run as [`Workspace::run`] under `tests/support/measure.py`: the kernel's peak RSS and the
    /// wall time of the binary, its address space capped (an attack that makes it allocate
    /// without bound kills the binary, not the test machine) and killed after `limits.kill_after`
    /// (a hang fails the test rather than hanging it). No secret scan: the
    /// caller asserts on the emulated job log ([`runner_log::JobLogs`]).
    pub fn run_measured(&self, extra: &[(&str, &str)], limits: Limits) -> (RunOutput, Measured) {
        let (run, measured) = self.execute(&[], extra, Some(limits));
        (run, measured.unwrap())
    }

    fn execute(
        &self,
        args: &[&str],
        extra: &[(&str, &str)],
        measure: Option<Limits>,
    ) -> (RunOutput, Option<Measured>) {
        let files = tempfile::tempdir().unwrap();
        let output_file = files.path().join("output");
        let summary_file = files.path().join("summary");
        let report_file = files.path().join("measured.json");
        let mut command = match measure {
            None => Command::new(BINARY),
            Some(limits) => {
                let mut command = Command::new(venv_bin("python"));
                command
                    .arg(repo_root().join("tests/support/measure.py"))
                    .arg(limits.address_space.to_string())
                    .arg(limits.kill_after.as_secs_f64().to_string())
                    .arg(&report_file)
                    .arg(BINARY);
                command
            }
        };
        command
            .args(args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("GITHUB_ACTIONS", "true")
            .env("GITHUB_WORKSPACE", self.path())
            .env("GITHUB_OUTPUT", &output_file)
            .env("GITHUB_STEP_SUMMARY", &summary_file)
            .env("GITHUB_REPOSITORY", "octo-org/demo")
            .env("GITHUB_SHA", "0123456789abcdef0123456789abcdef01234567")
            .env("PYPI_OIDC_PUBLISH_RETRY_BASE_MS", "20")
            .current_dir(self.path());
        for (key, value) in extra {
            command.env(key, value);
        }
        let output = command.output().unwrap();
        let measured = measure.map(|_| {
            let report: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(&report_file).unwrap()).unwrap();
            Measured {
                exit_code: report["exit_code"].as_i64().unwrap(),
                peak_rss_kib: report["peak_rss_kib"].as_u64().unwrap(),
                wall: Duration::from_secs_f64(report["wall_seconds"].as_f64().unwrap()),
            }
        });
        let run = RunOutput {
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            github_output: std::fs::read_to_string(&output_file).unwrap_or_default(),
            summary: std::fs::read_to_string(&summary_file).unwrap_or_default(),
        };
        (run, measured)
    }
}

/// Bounds for a measured run.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// RLIMIT_AS of the binary, in bytes.
    pub address_space: u64,
    pub kill_after: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            address_space: 3 << 30,
            kill_after: Duration::from_secs(120),
        }
    }
}

/// What the kernel measured of one run of the binary.
#[derive(Debug, Clone, Copy)]
pub struct Measured {
    /// 128 + signal when the binary was killed (by the kernel at the address-space cap, or
    /// after `kill_after`).
    pub exit_code: i64,
    pub peak_rss_kib: u64,
    pub wall: Duration,
}

/// `pip install` a project from the index into a fresh target folder; returns pip's success.
pub fn pip_install(simple_url: &str, requirement: &str) -> (bool, String) {
    let target = tempfile::tempdir().unwrap();
    let output = Command::new(venv_bin("python"))
        .args([
            "-m",
            "pip",
            "install",
            "--no-cache-dir",
            "--disable-pip-version-check",
            "--no-deps",
            "--index-url",
            simple_url,
            "--target",
        ])
        .arg(target.path())
        .arg(requirement)
        .output()
        .unwrap();
    success_and_output(&output)
}

/// A finished command's success and everything it printed (stdout, then stderr).
pub fn success_and_output(output: &std::process::Output) -> (bool, String) {
    (
        output.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ),
    )
}

/// Where a loopback reverse proxy sends a request: the same path and query on `upstream`,
/// with a client that follows no redirects (the binary under test must see them).
pub fn upstream_target(upstream: &str, uri: &axum::http::Uri) -> (reqwest::Client, String) {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let path = uri
        .path_and_query()
        .map_or("/", axum::http::uri::PathAndQuery::as_str);
    (
        client,
        format!("{}{}", upstream.trim_end_matches('/'), path),
    )
}
