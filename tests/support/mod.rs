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

pub mod background;
pub mod fault_proxy;
pub mod github_fake;
pub mod oidc_fake;
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

/// A real pypiserver on 127.0.0.1 with an htpasswd file: user `__token__`, the token as
/// password. Stopped on drop.
pub struct PypiServer {
    child: Child,
    pub port: u16,
    pub packages: tempfile::TempDir,
    _auth: tempfile::TempDir,
    pub token: String,
}

impl PypiServer {
    pub fn start() -> Self {
        let packages = tempfile::tempdir().unwrap();
        let auth = tempfile::tempdir().unwrap();
        let token = format!("pypi-test{:032x}", rand_u128());
        let htpasswd = auth.path().join("htpasswd");
        let status = Command::new(venv_bin("python"))
            .args(["-c", "import sys; from passlib.apache import HtpasswdFile as H; h=H(sys.argv[1], new=True); h.set_password('__token__', sys.argv[2]); h.save()"])
            .arg(&htpasswd)
            .arg(&token)
            .status()
            .unwrap();
        assert!(status.success(), "could not write the htpasswd file");
        let port = free_port();
        let log = std::fs::File::create(auth.path().join("server.log")).unwrap();
        let child = Command::new(venv_bin("pypi-server"))
            .args([
                "run",
                "-i",
                "127.0.0.1",
                "-p",
                &port.to_string(),
                "-a",
                "update",
                "-P",
            ])
            .arg(&htpasswd)
            .args(["--disable-fallback", "--hash-algo", "sha256"])
            .arg(packages.path())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        let server = Self {
            child,
            port,
            packages,
            _auth: auth,
            token,
        };
        server.wait_ready();
        server
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("pypiserver did not start on port {} within 20 s", self.port);
    }

    pub fn upload_url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }

    pub fn simple_url(&self) -> String {
        format!("http://127.0.0.1:{}/simple/", self.port)
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
        let text = self.all_text();
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
        let files = tempfile::tempdir().unwrap();
        let output_file = files.path().join("output");
        let summary_file = files.path().join("summary");
        let mut command = Command::new(BINARY);
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
        let run = RunOutput {
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            github_output: std::fs::read_to_string(&output_file).unwrap_or_default(),
            summary: std::fs::read_to_string(&summary_file).unwrap_or_default(),
        };
        // The secret scan, applied to every end-to-end run: every password or token the run
        // was given, plus JWT-shaped strings and Authorization headers.
        let secrets = secrets_in_env(extra);
        run.assert_no_secrets(&secrets.iter().map(String::as_str).collect::<Vec<_>>());
        run
    }
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
