//! The shipped image, proven without a Docker engine: the Dockerfile is built with podman from
//! the static binary, and the container runs as the GitHub runner runs a Docker action (workspace
//! at `/github/workspace`, `INPUT_*` variables, `GITHUB_OUTPUT` under `/github/file_commands`,
//! host network) and uploads the sample dists to a real pypiserver on 127.0.0.1.
//!
//! Needs root and the static binary from `scripts/build-static.sh`, named by
//! `PYPI_OIDC_PUBLISH_STATIC_BIN` (`.ci/run` and `scripts/container-test.sh` set it). Where podman
//! cannot run, the test says so and runs the binary in a chroot holding nothing but the binary
//! and the workspace: the same proof that the binary needs no file of the host.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stderr,
    reason = "helpers outside #[test] fns (and tests/support) fail loudly; skips and sizes are reported on stderr"
)]

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use pypi_oidc_publish::inputs::INPUTS;
use support::{PypiServer, RunOutput, Workspace, repo_root, sha256_file};

/// Docker's name of the host architecture (the `TARGETARCH` build argument).
fn target_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    }
}

/// The static binary, or `None` (with the reason printed) when this machine cannot run the test.
/// `.ci/run` always builds the binary and, running as root, always runs the test (and checks that
/// it did); GitHub's CI proves the image with docker in the `image` job instead.
fn static_binary() -> Option<PathBuf> {
    let Some(path) = std::env::var_os("PYPI_OIDC_PUBLISH_STATIC_BIN").map(PathBuf::from) else {
        eprintln!(
            "SKIPPED: PYPI_OIDC_PUBLISH_STATIC_BIN is not set; run scripts/container-test.sh to build the static binary and run this test"
        );
        return None;
    };
    assert!(path.is_file(), "{} does not exist", path.display());
    if !is_root() {
        eprintln!("SKIPPED: the container test needs root (rootful podman, chroot)");
        return None;
    }
    Some(path)
}

/// What the test found (path taken, image size), on stderr and in
/// `target/tmp/container-test.txt`, which `.ci/run` prints after the tests.
fn report(line: &str) {
    use std::io::Write as _;
    eprintln!("{line}");
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(report_path())
        .unwrap();
    writeln!(file, "{line}").unwrap();
}

fn report_path() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("container-test.txt")
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|output| String::from_utf8_lossy(&output.stdout).trim() == "0")
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// What GitHub's runner and this test give every container: runc refuses the host's default
/// limits in some sandboxes ("error setting rlimits").
const RUN_FLAGS: &[&str] = &[
    "run",
    "--rm",
    "--runtime",
    "runc",
    "--ulimit",
    "nofile=1024:1024",
    "--ulimit",
    "nproc=1024:1024",
];

/// Flags that let podman run on hosts without systemd or overlay support; harmless elsewhere.
const PODMAN_GLOBAL: &[&str] = &["--cgroup-manager", "cgroupfs", "--events-backend", "file"];

fn podman(args: &[&str]) -> Command {
    let mut command = Command::new("podman");
    command.args(PODMAN_GLOBAL).args(args);
    command
}

/// A built image, removed on drop.
struct Image {
    tag: String,
}

impl Drop for Image {
    fn drop(&mut self) {
        let _ = podman(&["rmi", "--force", &self.tag])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// Build the Dockerfile's image from the static binary, in a context laid out as CI lays it out.
fn build_image(binary: &Path) -> Result<Image, String> {
    let context = tempfile::tempdir().unwrap();
    let staged = context
        .path()
        .join("target/image")
        .join(target_arch())
        .join("pypi-oidc-publish");
    std::fs::create_dir_all(staged.parent().unwrap()).unwrap();
    std::fs::copy(binary, &staged).unwrap();
    for file in ["Dockerfile", ".dockerignore"] {
        std::fs::copy(repo_root().join(file), context.path().join(file)).unwrap();
    }
    let tag = format!("localhost/pypi-oidc-publish:test-{}", std::process::id());
    let output = podman(&["build", "--quiet", "--layers=false", "--build-arg"])
        .arg(format!("TARGETARCH={}", target_arch()))
        .args(["--tag", &tag])
        .arg(context.path())
        .output()
        .map_err(|error| format!("cannot start podman: {error}"))?;
    let image = Image { tag };
    if !output.status.success() {
        return Err(format!("podman build failed:\n{}", text(&output)));
    }
    Ok(image)
}

fn image_size(image: &Image) -> u64 {
    let output = podman(&["image", "inspect", "--format", "{{.Size}}", &image.tag])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", text(&output));
    String::from_utf8_lossy(&output.stdout)
        .trim()
        .parse()
        .unwrap()
}

/// The files the runner mounts at `/github/file_commands`.
struct FileCommands {
    dir: tempfile::TempDir,
}

impl FileCommands {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        for file in ["output", "summary"] {
            std::fs::write(dir.path().join(file), "").unwrap();
        }
        Self { dir }
    }

    fn read(&self, code: Option<i32>, output: &Output) -> RunOutput {
        RunOutput {
            code,
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            github_output: std::fs::read_to_string(self.dir.path().join("output")).unwrap(),
            summary: std::fs::read_to_string(self.dir.path().join("summary")).unwrap(),
        }
    }
}

/// The environment of a Docker action step, as the runner passes it (paths inside the
/// container, every input with its action.yml default unless the step sets it). Secrets go to
/// podman by name only (`--env NAME`), so they never show in `ps`.
fn action_env(server: &PypiServer) -> Vec<(String, String)> {
    // An input with a deprecated alias has no default in action.yml (the binary applies it),
    // so the runner passes it, and its alias, empty.
    let mut env: BTreeMap<String, String> = INPUTS
        .iter()
        .flat_map(|spec| {
            let default = if spec.alias.is_some() {
                ""
            } else {
                spec.default
            };
            std::iter::once(spec.name)
                .chain(spec.alias)
                .map(move |name| {
                    (
                        format!("INPUT_{}", name.to_ascii_uppercase()),
                        default.to_owned(),
                    )
                })
        })
        .collect();
    let step = [
        ("GITHUB_ACTIONS", "true".to_owned()),
        ("GITHUB_WORKSPACE", "/github/workspace".to_owned()),
        ("GITHUB_OUTPUT", "/github/file_commands/output".to_owned()),
        (
            "GITHUB_STEP_SUMMARY",
            "/github/file_commands/summary".to_owned(),
        ),
        ("GITHUB_REPOSITORY", "octo-org/demo".to_owned()),
        ("GITHUB_REF", "refs/heads/main".to_owned()),
        ("HOME", "/github/home".to_owned()),
        ("INPUT_GITHUB-TOKEN", GITHUB_TOKEN.to_owned()),
        ("INPUT_REPOSITORY-URL", server.upload_url()),
        ("INPUT_PASSWORD", server.token.clone()),
    ];
    for (name, value) in step {
        env.insert(name.to_owned(), value);
    }
    env.into_iter().collect()
}

/// A made-up token the runner would pass as `github-token` (never used: no tag, no release).
const GITHUB_TOKEN: &str = "ghs_containerTestToken0123456789abcdef";

fn run_in_podman(
    image: &Image,
    workspace: &Path,
    server: &PypiServer,
) -> Result<RunOutput, String> {
    let files = FileCommands::new();
    let mut command = podman(RUN_FLAGS);
    command
        .args(["--network", "host", "--workdir", "/github/workspace"])
        .arg("--volume")
        .arg(format!("{}:/github/workspace", workspace.display()))
        .arg("--volume")
        .arg(format!(
            "{}:/github/file_commands",
            files.dir.path().display()
        ));
    for (name, value) in action_env(server) {
        command.arg("--env").arg(&name).env(&name, value);
    }
    let output = command
        .arg(&image.tag)
        .output()
        .map_err(|error| format!("cannot start podman: {error}"))?;
    let run = files.read(output.status.code(), &output);
    // 125-127: podman itself failed (runtime, storage, cgroups), not the action.
    if matches!(run.code, Some(125..=127)) {
        return Err(format!("podman run failed:\n{}", text(&output)));
    }
    Ok(run)
}

/// The fallback: a root directory holding only the binary and the runner's mounts.
fn run_in_chroot(binary: &Path, workspace: &Path, server: &PypiServer) -> RunOutput {
    let root = tempfile::tempdir().unwrap();
    std::fs::copy(binary, root.path().join("pypi-oidc-publish")).unwrap();
    let inside = root.path().join("github/workspace");
    std::fs::create_dir_all(&inside).unwrap();
    copy_tree(workspace, &inside);
    let files = root.path().join("github/file_commands");
    std::fs::create_dir_all(&files).unwrap();
    // Absolute: the child's environment is cleared, PATH included.
    let chroot = ["/usr/sbin/chroot", "/usr/bin/chroot"]
        .into_iter()
        .find(|path| Path::new(path).exists())
        .expect("chroot (coreutils) is installed");
    let output = Command::new(chroot)
        .arg(root.path())
        .arg("/pypi-oidc-publish")
        .env_clear()
        .envs(action_env(server))
        .current_dir(&inside)
        .output()
        .unwrap();
    RunOutput {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        github_output: std::fs::read_to_string(files.join("output")).unwrap_or_default(),
        summary: std::fs::read_to_string(files.join("summary")).unwrap_or_default(),
    }
}

fn copy_tree(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let target = to.join(path.file_name().unwrap());
        if path.is_dir() {
            std::fs::create_dir_all(&target).unwrap();
            copy_tree(&path, &target);
        } else {
            std::fs::copy(&path, &target).unwrap();
        }
    }
}

fn assert_uploaded(run: &RunOutput, server: &PypiServer, workspace: &Path) {
    assert_eq!(run.code, Some(0), "{}\n{}", run.stdout, run.stderr);
    run.assert_no_secrets(&[&server.token, GITHUB_TOKEN]);
    let stored = server.stored();
    let mut expected = 0;
    for entry in std::fs::read_dir(workspace.join("dist")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        assert_eq!(
            stored.get(&name),
            Some(&sha256_file(&path)),
            "{name} is not on the index intact: {stored:?}"
        );
        expected += 1;
    }
    assert_eq!(stored.len(), expected, "{stored:?}");
    assert_eq!(
        run.output("uploaded").as_deref(),
        Some(r#"["oidc_publish_demo-0.3.0-py3-none-any.whl","oidc_publish_demo-0.3.0.tar.gz"]"#),
        "{}",
        run.github_output
    );
    assert!(
        run.summary.contains("| `oidc_publish_demo-0.3.0.tar.gz` |"),
        "{}",
        run.summary
    );
}

#[test]
fn the_image_uploads_the_sample_dists_like_a_docker_action() {
    let _ = std::fs::remove_file(report_path());
    let Some(binary) = static_binary() else {
        return;
    };
    let server = PypiServer::start();
    let workspace = Workspace::new().with_sample_dists();

    let podman_run = build_image(&binary).and_then(|image| {
        let size = image_size(&image);
        report(&format!(
            "image size: {size} bytes ({}.{:02} MB)",
            size / 1_000_000,
            size % 1_000_000 / 10_000
        ));
        assert!(
            size < 10_000_000,
            "the image must stay under 10 MB: {size} bytes"
        );

        let version = podman(RUN_FLAGS)
            .args([&image.tag, "--version"])
            .output()
            .map_err(|error| format!("cannot start podman: {error}"))?;
        if !version.status.success() {
            return Err(format!("podman run --version failed:\n{}", text(&version)));
        }
        assert_eq!(
            String::from_utf8_lossy(&version.stdout).trim(),
            format!("pypi-oidc-publish {}", env!("CARGO_PKG_VERSION"))
        );
        run_in_podman(&image, workspace.path(), &server)
    });
    let run = match podman_run {
        Ok(run) => {
            report("container path: podman (runc, host network): uploaded the sample dists");
            run
        }
        Err(reason) => {
            report(&format!(
                "container path: chroot fallback, because podman cannot run here: {reason}"
            ));
            run_in_chroot(&binary, workspace.path(), &server)
        }
    };
    assert_uploaded(&run, &server, workspace.path());
}

/// The static binary alone (no libc, no CA bundle, no /etc) does the whole upload.
#[test]
fn the_static_binary_alone_in_an_empty_root_uploads_the_sample_dists() {
    let Some(binary) = static_binary() else {
        return;
    };
    let server = PypiServer::start();
    let workspace = Workspace::new().with_sample_dists();
    let run = run_in_chroot(&binary, workspace.path(), &server);
    assert_uploaded(&run, &server, workspace.path());
}

/// ELF program header type of the dynamic loader request.
const PT_INTERP: u32 = 3;

/// What makes the scratch image work: no program interpreter (nothing to load from the image's
/// empty /lib) and the TLS roots inside the binary (the image has no CA bundle).
#[test]
fn the_static_binary_needs_no_loader_and_carries_its_tls_roots() {
    let Some(binary) = static_binary() else {
        return;
    };
    let bytes = std::fs::read(&binary).unwrap();
    assert_eq!(&bytes[..5], b"\x7fELF\x02", "a 64-bit ELF file");
    let read_u16 = |at: usize| usize::from(u16::from_le_bytes([bytes[at], bytes[at + 1]]));
    let program_headers =
        usize::try_from(u64::from_le_bytes(bytes[0x20..0x28].try_into().unwrap())).unwrap();
    let (entry_size, count) = (read_u16(0x36), read_u16(0x38));
    for index in 0..count {
        let at = program_headers + index * entry_size;
        let kind = u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap());
        assert_ne!(kind, PT_INTERP, "the binary asks for a dynamic loader");
    }
    for root in [&b"ISRG Root X1"[..], b"DigiCert Global Root G2"] {
        assert!(
            bytes.windows(root.len()).any(|window| window == root),
            "TLS root {} is not compiled in (reqwest must use webpki-roots)",
            String::from_utf8_lossy(root)
        );
    }
}
