//! The Python Packaging User Guide's workflow (`pypa/packaging.python.org`,
//! `source/guides/github-actions-ci-cd-sample/publish-to-pypi.yml`) with one line changed:
//! `uses: pypa/gh-action-pypi-publish@release/v1` -> this action. Its publish jobs have
//! `permissions: id-token: write` only (so the token may not write contents), no checkout (the
//! workspace holds nothing but the downloaded dists), and no `with:` but the TestPyPI job's
//! `repository-url`. The PyPI job runs on tag pushes, the TestPyPI job on every push.
//!
//! Each job is run as the runner runs a Docker action (actions/runner `ActionRunner.cs`,
//! `Handler.cs`, `ContainerActionHandler.cs`, `GitHubContext.cs`): every input action.yml
//! declares, read from action.yml itself, as `INPUT_<NAME>` with the workflow's value or else
//! its default (`''` when it has none; `${{ github.token }}` resolved to the job's token); the
//! `GITHUB_*` context with the container's `/github/...` paths, `RUNNER_*`, `HOME`, `CI`, the
//! runtime and OIDC variables, and a push event payload for the tag. The container layout
//! lives under a temporary root because the binary runs on this host, not in a container.
//! Only the production hosts are replaced by loopback peers: the index (Warehouse's OIDC
//! endpoints in front of a real pypiserver) for `repository-url`, the Sigstore fakes for
//! `fulcio-url`/`rekor-url` (PyPI and TestPyPI get attestations), and `GITHUB_API_URL`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::doc_markdown,
    reason = "test code: a failed setup should panic with its cause; PyPI and TestPyPI are names, not code"
)]

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::json;
use support::github_fake::GitHubFake;
use support::oidc_fake::{GithubOidc, PypiConfig, PypiOidc};
use support::sigstore_fake::SigstoreFake;
use support::{BINARY, PypiServer, RunOutput, repo_root, sha256_file};

const SHA: &str = "0123456789abcdef0123456789abcdef01234567";
const TAG: &str = "v0.3.0";
const FILES: [&str; 2] = [
    "oidc_publish_demo-0.3.0-py3-none-any.whl",
    "oidc_publish_demo-0.3.0.tar.gz",
];

/// One publish job of the guide's workflow.
struct Job {
    id: &'static str,
    /// The job's `with:` for this action, as the guide writes it.
    with: &'static [(&'static str, &'static str)],
    /// `environment: name:` (the OIDC token's `environment` claim).
    environment: &'static str,
}

const PYPI_JOB: Job = Job {
    id: "publish-to-pypi",
    with: &[],
    environment: "pypi",
};

const TESTPYPI_JOB: Job = Job {
    id: "publish-to-testpypi",
    with: &[("repository-url", "https://test.pypi.org/legacy/")],
    environment: "testpypi",
};

/// The inputs exactly as the runner passes them: every input action.yml declares, with the
/// workflow's value or its default (`''` without one), `${{ github.token }}` evaluated.
fn runner_inputs(with: &[(&str, &str)], github_token: &str) -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(repo_root().join("action.yml")).unwrap();
    let action: serde_norway::Value = serde_norway::from_str(&text).unwrap();
    let mut inputs = BTreeMap::new();
    for (name, input) in action["inputs"].as_mapping().unwrap() {
        let name = name.as_str().unwrap();
        let value = with
            .iter()
            .find(|(given, _)| *given == name)
            .map(|(_, value)| (*value).to_owned())
            .or_else(|| input["default"].as_str().map(str::to_owned))
            .unwrap_or_default();
        assert!(
            !value.contains("${{") || value == "${{ github.token }}",
            "`{name}`: teach this test to evaluate {value}"
        );
        let value = value.replace("${{ github.token }}", github_token);
        inputs.insert(
            format!("INPUT_{}", name.replace(' ', "_").to_ascii_uppercase()),
            value,
        );
    }
    inputs
}

/// The push event GitHub writes to `GITHUB_EVENT_PATH` for a pushed tag (or branch).
fn push_event(git_ref: &str) -> serde_json::Value {
    let repository = json!({
        "id": 987_654, "node_id": "R_kgDOdemo", "name": "demo", "full_name": "octo-org/demo",
        "private": false, "owner": {"login": "octo-org", "id": 4242, "type": "Organization"},
        "html_url": "https://github.com/octo-org/demo", "default_branch": "main",
        "visibility": "public", "fork": false,
    });
    json!({
        "ref": git_ref,
        "before": "0000000000000000000000000000000000000000",
        "after": SHA,
        "base_ref": if git_ref.starts_with("refs/tags/") { json!("refs/heads/main") } else { json!(null) },
        "created": true,
        "deleted": false,
        "forced": false,
        "compare": format!("https://github.com/octo-org/demo/compare/{git_ref}"),
        "commits": [],
        "head_commit": {
            "id": SHA, "tree_id": SHA, "distinct": true, "message": "Release 0.3.0",
            "timestamp": "2026-11-20T10:00:00Z",
            "url": format!("https://github.com/octo-org/demo/commit/{SHA}"),
            "author": {"name": "Octo Cat", "email": "octo@example.com", "username": "octocat"},
            "committer": {"name": "Octo Cat", "email": "octo@example.com", "username": "octocat"},
            "added": [], "removed": [], "modified": [],
        },
        "pusher": {"name": "octocat", "email": "octo@example.com"},
        "repository": repository,
        "sender": {"login": "octocat", "id": 583_231, "type": "User"},
    })
}

/// Loopback stand-ins for everything outside the runner.
struct Peers {
    server: PypiServer,
    index: PypiOidc,
    oidc: GithubOidc,
    sigstore: SigstoreFake,
}

impl Peers {
    fn start(job: &Job, git_ref: &str) -> Self {
        let server = PypiServer::start();
        let workflow_ref = format!("octo-org/demo/.github/workflows/publish-to-pypi.yml@{git_ref}");
        let oidc = GithubOidc::start_with(&json!({
            "sub": format!("repo:octo-org/demo:environment:{}", job.environment),
            "environment": job.environment,
            "ref": git_ref,
            "ref_type": if git_ref.starts_with("refs/tags/") { "tag" } else { "branch" },
            "workflow": "Publish Python 🐍 distribution 📦 to PyPI and TestPyPI",
            "workflow_ref": workflow_ref,
            "job_workflow_ref": workflow_ref,
        }));
        let audience = if job.environment == "testpypi" {
            "testpypi"
        } else {
            "pypi"
        };
        let index = PypiOidc::start(PypiConfig {
            audience: audience.into(),
            verified_audience: audience.into(),
            minted_token: server.token.clone(),
            upstream: Some(format!("http://127.0.0.1:{}", server.port)),
            ..PypiConfig::default()
        });
        Self {
            server,
            index,
            oidc,
            sigstore: SigstoreFake::start(),
        }
    }

    fn secrets(&self) -> Vec<String> {
        let mut secrets = self.oidc.secrets();
        secrets.push(self.index.minted_token.clone());
        secrets.push(self.server.token.clone());
        secrets
    }
}

/// A runner's view of one job: the container paths under `root`, the dists downloaded into
/// `dist/` of an otherwise empty workspace.
struct JobRun {
    root: tempfile::TempDir,
}

impl JobRun {
    fn new() -> Self {
        Self::with_dists_in("dist")
    }

    /// The dists downloaded into `folder` of the workspace.
    fn with_dists_in(folder: &str) -> Self {
        let root = tempfile::tempdir().unwrap();
        let dists = format!("github/workspace/{folder}");
        for folder in [
            dists.as_str(),
            "github/file_commands",
            "github/workflow",
            "github/home",
            "github/runner_temp",
        ] {
            std::fs::create_dir_all(root.path().join(folder)).unwrap();
        }
        for name in FILES {
            std::fs::copy(
                repo_root().join("examples/dist").join(name),
                root.path().join(&dists).join(name),
            )
            .unwrap();
        }
        Self { root }
    }

    /// `/github/...` inside the container.
    fn path(&self, container_path: &str) -> PathBuf {
        self.root
            .path()
            .join(container_path.trim_start_matches('/'))
    }

    fn workspace(&self) -> PathBuf {
        self.path("/github/workspace")
    }

    /// Run the action as the runner would for `job` on a push of `git_ref`.
    fn run(
        &self,
        job: &Job,
        git_ref: &str,
        peers: &Peers,
        github: &GitHubFake,
        github_token: &str,
    ) -> RunOutput {
        std::fs::write(
            self.path("/github/workflow/event.json"),
            push_event(git_ref).to_string(),
        )
        .unwrap();
        let suffix = "b5e3c2a0-7d7e-4b8e-9c1e-0f2d5a6b7c8d";
        let output = self.path(&format!("/github/file_commands/set_output_{suffix}"));
        let summary = self.path(&format!("/github/file_commands/step_summary_{suffix}"));
        for file in [&output, &summary] {
            std::fs::write(file, "").unwrap();
        }
        let container = |path: &str| self.path(path).display().to_string();
        let ref_name = git_ref.rsplit('/').next().unwrap();
        let ref_type = if git_ref.starts_with("refs/tags/") {
            "tag"
        } else {
            "branch"
        };
        let runtime_token = peers.oidc.request_token.clone();
        let mut env: BTreeMap<String, String> = [
            ("CI", "true".to_owned()),
            ("GITHUB_ACTIONS", "true".to_owned()),
            ("GITHUB_ACTION", "__OWNER_pypi-oidc-publish".to_owned()),
            ("GITHUB_ACTION_REF", "v1".to_owned()),
            (
                "GITHUB_ACTION_REPOSITORY",
                "OWNER/pypi-oidc-publish".to_owned(),
            ),
            ("GITHUB_ACTOR", "octocat".to_owned()),
            ("GITHUB_ACTOR_ID", "583231".to_owned()),
            ("GITHUB_API_URL", github.api_url()),
            ("GITHUB_BASE_REF", String::new()),
            (
                "GITHUB_ENV",
                container(&format!("/github/file_commands/set_env_{suffix}")),
            ),
            ("GITHUB_EVENT_NAME", "push".to_owned()),
            (
                "GITHUB_EVENT_PATH",
                container("/github/workflow/event.json"),
            ),
            (
                "GITHUB_GRAPHQL_URL",
                "https://api.github.com/graphql".to_owned(),
            ),
            ("GITHUB_HEAD_REF", String::new()),
            ("GITHUB_JOB", job.id.to_owned()),
            ("GITHUB_OUTPUT", output.display().to_string()),
            (
                "GITHUB_PATH",
                container(&format!("/github/file_commands/add_path_{suffix}")),
            ),
            ("GITHUB_REF", git_ref.to_owned()),
            ("GITHUB_REF_NAME", ref_name.to_owned()),
            ("GITHUB_REF_PROTECTED", "false".to_owned()),
            ("GITHUB_REF_TYPE", ref_type.to_owned()),
            ("GITHUB_REPOSITORY", "octo-org/demo".to_owned()),
            ("GITHUB_REPOSITORY_ID", "987654".to_owned()),
            ("GITHUB_REPOSITORY_OWNER", "octo-org".to_owned()),
            ("GITHUB_REPOSITORY_OWNER_ID", "4242".to_owned()),
            ("GITHUB_RETENTION_DAYS", "90".to_owned()),
            ("GITHUB_RUN_ATTEMPT", "1".to_owned()),
            ("GITHUB_RUN_ID", "12345678901".to_owned()),
            ("GITHUB_RUN_NUMBER", "42".to_owned()),
            ("GITHUB_SERVER_URL", "https://github.com".to_owned()),
            ("GITHUB_SHA", SHA.to_owned()),
            (
                "GITHUB_STATE",
                container(&format!("/github/file_commands/save_state_{suffix}")),
            ),
            ("GITHUB_STEP_SUMMARY", summary.display().to_string()),
            ("GITHUB_TRIGGERING_ACTOR", "octocat".to_owned()),
            (
                "GITHUB_WORKFLOW",
                "Publish Python 🐍 distribution 📦 to PyPI and TestPyPI".to_owned(),
            ),
            (
                "GITHUB_WORKFLOW_REF",
                format!("octo-org/demo/.github/workflows/publish-to-pypi.yml@{git_ref}"),
            ),
            ("GITHUB_WORKFLOW_SHA", SHA.to_owned()),
            ("GITHUB_WORKSPACE", container("/github/workspace")),
            ("HOME", container("/github/home")),
            ("RUNNER_ARCH", "X64".to_owned()),
            ("RUNNER_ENVIRONMENT", "github-hosted".to_owned()),
            ("RUNNER_NAME", "GitHub Actions 1000000001".to_owned()),
            ("RUNNER_OS", "Linux".to_owned()),
            ("RUNNER_TEMP", container("/github/runner_temp")),
            ("RUNNER_TOOL_CACHE", "/opt/hostedtoolcache".to_owned()),
            ("RUNNER_WORKSPACE", "/home/runner/work/demo".to_owned()),
            (
                "ACTIONS_RUNTIME_URL",
                "https://pipelines.actions.githubusercontent.com/abc/".to_owned(),
            ),
            ("ACTIONS_RUNTIME_TOKEN", runtime_token.clone()),
            (
                "ACTIONS_RESULTS_URL",
                "https://results-receiver.actions.githubusercontent.com/".to_owned(),
            ),
            ("ACTIONS_ID_TOKEN_REQUEST_URL", peers.oidc.request_url()),
            // The runner hands out the runtime token as the OIDC request token.
            ("ACTIONS_ID_TOKEN_REQUEST_TOKEN", runtime_token),
        ]
        .into_iter()
        .map(|(key, value)| (key.to_owned(), value))
        .collect();
        env.extend(runner_inputs(job.with, github_token));
        // The production hosts, replaced by their loopback stand-ins.
        env.insert("INPUT_REPOSITORY-URL".to_owned(), peers.index.url());
        env.insert("INPUT_FULCIO-URL".to_owned(), peers.sigstore.fulcio_url());
        env.insert("INPUT_REKOR-URL".to_owned(), peers.sigstore.rekor_url());
        env.insert(
            "PYPI_OIDC_PUBLISH_RETRY_BASE_MS".to_owned(),
            "20".to_owned(),
        );

        let result = Command::new(BINARY)
            .env_clear()
            .envs(&env)
            .current_dir(self.workspace())
            .output()
            .unwrap();
        let run = RunOutput {
            code: result.status.code(),
            stdout: String::from_utf8_lossy(&result.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&result.stderr).into_owned(),
            github_output: std::fs::read_to_string(&output).unwrap(),
            summary: std::fs::read_to_string(&summary).unwrap(),
        };
        let mut secrets = peers.secrets();
        secrets.push(github_token.to_owned());
        run.assert_no_secrets(&secrets.iter().map(String::as_str).collect::<Vec<_>>());
        run
    }
}

fn assert_every_file_on_the_index_once(peers: &Peers, workspace: &Path) {
    let stored = peers.server.stored();
    let expected: BTreeMap<String, String> = FILES
        .iter()
        .map(|name| {
            (
                (*name).to_owned(),
                sha256_file(&workspace.join("dist").join(name)),
            )
        })
        .collect();
    assert_eq!(stored, expected, "every file on the index, with our bytes");
    let uploads = peers
        .index
        .events()
        .into_iter()
        .filter(|event| event.starts_with("upload"))
        .count();
    assert_eq!(
        uploads,
        2,
        "each file sent once: {:?}",
        peers.index.events()
    );
}

fn ok(run: &RunOutput) {
    assert_eq!(run.code, Some(0), "{}\n{}", run.stdout, run.stderr);
    for line in run.stdout.lines() {
        assert!(
            !line.starts_with("::error") && !line.starts_with("::warning"),
            "no error or warning expected: {line}\n{}",
            run.stdout
        );
    }
}

/// The guide's PyPI job on a tag push: Trusted Publishing with attestations, every file on the
/// index once, and (the token may not write contents) no release but a notice saying how to
/// get one. A re-run (re-run failed jobs) changes nothing.
#[test]
fn the_guides_pypi_job_publishes_on_a_tag_and_explains_the_release() {
    let git_ref = format!("refs/tags/{TAG}");
    let peers = Peers::start(&PYPI_JOB, &git_ref);
    let github = GitHubFake::start();
    let token = github.read_only_token();
    let job = JobRun::new();
    let run = job.run(&PYPI_JOB, &git_ref, &peers, &github, &token);
    ok(&run);
    assert_every_file_on_the_index_once(&peers, &job.workspace());
    assert!(
        run.summary.contains("Attestations: 2 signed (PEP 740)"),
        "{}",
        run.summary
    );
    assert_eq!(peers.sigstore.rekor_requests(), 2);
    let notice = run
        .stdout
        .lines()
        .find(|line| line.starts_with("::notice title=No GitHub release::"))
        .unwrap_or_else(|| panic!("no release notice:\n{}", run.stdout));
    assert!(
        notice.contains("contents: write") && notice.contains("`release: false`"),
        "{notice}"
    );
    assert!(github.with_state(|state| state.releases.is_empty()));
    assert_eq!(run.output("name").as_deref(), Some("oidc-publish-demo"));
    assert_eq!(run.output("version").as_deref(), Some("0.3.0"));
    assert_eq!(run.output("release-url").as_deref(), Some(""));
    // Nothing but the dists in the workspace, before and after.
    let listing: Vec<String> = std::fs::read_dir(job.workspace())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(listing, ["dist"]);

    let rerun = job.run(&PYPI_JOB, &git_ref, &peers, &github, &token);
    ok(&rerun);
    assert_every_file_on_the_index_once(&peers, &job.workspace());
    assert_eq!(rerun.output("uploaded").as_deref(), Some("[]"));
}

/// The guide's TestPyPI job runs on every push: on a branch push it publishes and makes no
/// release (the run is not for a tag), without any notice to silence.
#[test]
fn the_guides_testpypi_job_publishes_on_a_branch_push_without_a_release() {
    let git_ref = "refs/heads/main";
    let peers = Peers::start(&TESTPYPI_JOB, git_ref);
    let github = GitHubFake::start();
    let token = github.read_only_token();
    let job = JobRun::new();
    let run = job.run(&TESTPYPI_JOB, git_ref, &peers, &github, &token);
    ok(&run);
    assert!(
        !run.stdout.contains("::notice title=No GitHub release"),
        "{}",
        run.stdout
    );
    assert_every_file_on_the_index_once(&peers, &job.workspace());
    assert!(
        github.exchanges().is_empty(),
        "no tag, no GitHub call at all"
    );
    assert_eq!(peers.index.count("audience"), 1);
    assert!(
        run.stdout
            .contains("skipped because the run is not for a tag"),
        "{}",
        run.stdout
    );
}

/// On a tag push the guide runs both jobs at once, each against its index; neither may write
/// contents, so both publish and neither fails on the release.
#[test]
fn the_guides_two_jobs_on_a_tag_push_both_succeed() {
    let git_ref = format!("refs/tags/{TAG}");
    let github = GitHubFake::start();
    let token = github.read_only_token();
    std::thread::scope(|scope| {
        let jobs = [&PYPI_JOB, &TESTPYPI_JOB].map(|job_spec| {
            let git_ref = &git_ref;
            let github = &github;
            let token = &token;
            scope.spawn(move || {
                let peers = Peers::start(job_spec, git_ref);
                let job = JobRun::new();
                let run = job.run(job_spec, git_ref, &peers, github, token);
                ok(&run);
                assert_every_file_on_the_index_once(&peers, &job.workspace());
                assert!(run.stdout.contains("::notice title=No GitHub release::"));
            })
        });
        for job in jobs {
            job.join().unwrap();
        }
    });
    assert!(github.with_state(|state| state.releases.is_empty()));
}

/// A workflow written for pypa's action with its deprecated snake_case inputs keeps working:
/// the runner passes `INPUT_PACKAGES_DIR` etc. next to the empty kebab-case inputs, and the
/// values take effect.
#[test]
fn pypas_deprecated_input_spellings_still_work() {
    const OLD_STYLE: Job = Job {
        id: "publish-to-testpypi",
        // (The loopback index reaches the binary as `INPUT_REPOSITORY-URL`, as in every test
        // here; the canonical name wins over `repository_url`.)
        with: &[
            ("repository_url", "https://test.pypi.org/legacy/"),
            ("packages_dir", "wheelhouse/"),
            ("print_hash", "false"),
            ("skip_existing", "true"),
        ],
        environment: "testpypi",
    };
    let git_ref = "refs/heads/main";
    let peers = Peers::start(&OLD_STYLE, git_ref);
    let github = GitHubFake::start();
    let token = github.read_only_token();
    let job = JobRun::with_dists_in("wheelhouse");
    let inputs = runner_inputs(OLD_STYLE.with, &token);
    assert_eq!(
        inputs["INPUT_PACKAGES-DIR"], "",
        "no default on the canonical input"
    );
    assert_eq!(inputs["INPUT_PACKAGES_DIR"], "wheelhouse/");
    let run = job.run(&OLD_STYLE, git_ref, &peers, &github, &token);
    ok(&run);
    assert!(
        run.stdout.contains("verified in") && run.stdout.contains("wheelhouse"),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("sha256      "), "print_hash: false");
    let stored = peers.server.stored();
    assert_eq!(stored.len(), 2, "{stored:?}");
}

/// As pypa's action: a user name and password for pypi.org (which refuses them since 2FA
/// became mandatory) is an error before anything is sent, pointing to Trusted Publishing.
#[test]
fn a_user_name_and_password_for_pypi_org_is_refused_before_anything_is_sent() {
    let workspace = support::Workspace::new().with_sample_dists();
    let run = workspace.run(&[
        ("INPUT_USER", "octocat"),
        ("INPUT_PASSWORD", "correct-horse-battery-staple"),
        (
            "GITHUB_WORKFLOW_REF",
            "octo-org/demo/.github/workflows/publish.yml@refs/heads/main",
        ),
    ]);
    assert_eq!(run.code, Some(1), "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("PyPI refuses uploads with a user name and password")
            && run.stdout.contains(
                "https://pypi.org/manage/project/oidc-publish-demo/settings/publishing/?provider=github&owner=octo-org&repository=demo&workflow_filename=publish.yml"
            ),
        "{}",
        run.stdout
    );
}
