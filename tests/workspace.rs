//! Several projects in one packages-dir (a workspace built with `uv build --all-packages`, a
//! hatch/pdm monorepo, `foo` with `foo-stubs` and a plugin): real projects built at test time
//! with hatchling (its PEP 517 hooks called directly: no isolation, no network), published in
//! one run through Trusted Publishing to a real pypiserver, installed back with pip, and
//! released as one GitHub release with every dist attached.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a failed setup should panic with its cause"
)]

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use support::github_fake::{GitHubFake, openapi};
use support::oidc_fake::{GithubOidc, PypiConfig, PypiOidc};
use support::{PypiServer, RunOutput, Workspace, pip_install, sha256_file, venv_bin};

/// Write a hatchling project `name` `version` under `root/packages/{name}`; `stubs`: a
/// `*-stubs` package (PEP 561) instead of a module.
fn project(root: &Path, name: &str, version: &str) -> PathBuf {
    let dir = root.join("packages").join(name);
    let module = name.replace('-', "_");
    let (package, file, packages) = if let Some(base) = name.strip_suffix("-stubs") {
        let package = format!("{}-stubs", base.replace('-', "_"));
        (
            package.clone(),
            "__init__.pyi",
            format!("\n[tool.hatch.build.targets.wheel]\npackages = [\"{package}\"]\n"),
        )
    } else {
        (module.clone(), "__init__.py", String::new())
    };
    std::fs::create_dir_all(dir.join(&package)).unwrap();
    std::fs::write(
        dir.join(&package).join(file),
        format!("__version__: str = \"{version}\"\n"),
    )
    .unwrap();
    std::fs::write(
        dir.join("pyproject.toml"),
        format!(
            "[build-system]\nrequires = [\"hatchling\"]\nbuild-backend = \"hatchling.build\"\n\n[project]\nname = \"{name}\"\nversion = \"{version}\"\ndescription = \"{name}, a project of the workspace test\"\nrequires-python = \">=3.8\"\nlicense = \"MIT\"\n{packages}"
        ),
    )
    .unwrap();
    dir
}

/// Build the sdist and the wheel of a project into `out` with hatchling's PEP 517 hooks.
fn build(project: &Path, out: &Path) {
    std::fs::create_dir_all(out).unwrap();
    let output = Command::new(venv_bin("python"))
        .args([
            "-c",
            "import os, sys\nfrom hatchling.build import build_sdist, build_wheel\nos.chdir(sys.argv[1])\nbuild_sdist(sys.argv[2])\nbuild_wheel(sys.argv[2])",
        ])
        .arg(project)
        .arg(out)
        .output()
        .unwrap();
    let (ok, log) = support::success_and_output(&output);
    assert!(ok, "hatchling failed for {}: {log}", project.display());
}

fn file_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// A workspace of three projects released in lock step at 1.2.0, built into `dist/`, with a
/// per-project changelog for the main one.
fn lock_step_workspace() -> Workspace {
    let workspace = Workspace::new();
    let root = workspace.path();
    for name in ["ws-demo", "ws-demo-stubs", "ws-demo-plugin"] {
        let dir = project(root, name, "1.2.0");
        build(&dir, &root.join("dist"));
    }
    std::fs::write(
        root.join("packages/ws-demo/CHANGELOG.md"),
        "# Changelog\n\n## 1.2.0 - 2026-11-30\n\n- The plugin and the stubs ship with the core.\n\n## 1.1.0\n\n- Older.\n",
    )
    .unwrap();
    workspace
}

/// The `::error` annotations of a run, unescaped, with temporary paths removed.
fn errors(run: &RunOutput, root: &Path) -> String {
    run.stdout
        .lines()
        .filter(|line| line.starts_with("::error"))
        .map(|line| {
            line.replace("%0A", "\n")
                .replace("%3A", ":")
                .replace("%2C", ",")
                .replace("%25", "%")
                .replace(&root.display().to_string(), "[WORKSPACE]")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn a_workspace_of_three_projects_is_published_installed_and_released_in_one_run() {
    let workspace = lock_step_workspace();
    let dist = workspace.path().join("dist");
    let files = file_names(&dist);
    assert_eq!(files.len(), 6, "{files:?}");

    let server = PypiServer::start();
    let index = PypiOidc::start(PypiConfig {
        minted_token: server.token.clone(),
        upstream: Some(format!("http://127.0.0.1:{}", server.port)),
        ..PypiConfig::default()
    });
    let oidc = GithubOidc::start_with(&serde_json::json!({"ref": "refs/tags/v1.2.0"}));
    let github = GitHubFake::start();
    let token = github.token();
    let (repository_url, api) = (index.url(), github.api_url());
    let mut env: Vec<(&str, String)> = vec![
        ("INPUT_REPOSITORY-URL", repository_url),
        (
            "INPUT_CHANGELOG",
            "packages/ws-demo/CHANGELOG.md".to_owned(),
        ),
        ("GITHUB_REF", "refs/tags/v1.2.0".to_owned()),
        ("GITHUB_API_URL", api),
        ("GITHUB_SERVER_URL", "https://github.com".to_owned()),
        ("INPUT_GITHUB-TOKEN", token.clone()),
    ];
    env.extend(oidc.env());
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mut secrets = oidc.secrets();
    secrets.extend([index.minted_token.clone(), token.clone()]);
    let run = workspace.run(&env);
    run.assert_no_secrets(&secrets.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(run.code, Some(0), "{}\n{}", run.stdout, run.stderr);

    // Every file on the index once, with our bytes; each project installs from it.
    let expected: BTreeMap<String, String> = files
        .iter()
        .map(|name| (name.clone(), sha256_file(&dist.join(name))))
        .collect();
    assert_eq!(server.stored(), expected);
    assert_eq!(index.count("upload"), 6, "{:?}", index.events());
    for requirement in [
        "ws-demo==1.2.0",
        "ws-demo-stubs==1.2.0",
        "ws-demo-plugin==1.2.0",
    ] {
        let (ok, log) = pip_install(&server.simple_url(), requirement);
        assert!(ok, "pip install {requirement}: {log}");
    }

    // One release for the tag with every dist, notes from the project's own changelog.
    let releases = github.with_state(|state| state.releases_with_tag("v1.2.0"));
    assert_eq!(releases.len(), 1, "{releases:#?}");
    let release = &releases[0];
    assert!(!release.draft);
    let assets: BTreeMap<String, String> = release
        .assets
        .iter()
        .map(|asset| (asset.name.clone(), asset.sha256()))
        .collect();
    assert_eq!(assets, expected);
    let body = release.body.clone().unwrap();
    assert!(
        body.contains("- The plugin and the stubs ship with the core.") && !body.contains("Older"),
        "{body}"
    );
    assert!(
        body.contains(
            "[packages/ws-demo/CHANGELOG.md](https://github.com/octo-org/demo/blob/v1.2.0/packages/ws-demo/CHANGELOG.md)"
        ),
        "{body}"
    );
    let (problems, _) = openapi::check(&github.exchanges());
    assert!(problems.is_empty(), "{}", problems.join("\n"));

    // Outputs: `name`/`version` of one project (none is named by the bare tag, none like the
    // repository: the first by name), `projects` all three.
    assert_eq!(run.output("name").as_deref(), Some("ws-demo"));
    assert_eq!(run.output("version").as_deref(), Some("1.2.0"));
    let projects: serde_json::Value =
        serde_json::from_str(&run.output("projects").unwrap()).unwrap();
    let listed: Vec<(String, String, usize)> = projects
        .as_array()
        .unwrap()
        .iter()
        .map(|project| {
            (
                project["name"].as_str().unwrap().to_owned(),
                project["version"].as_str().unwrap().to_owned(),
                project["files"].as_array().unwrap().len(),
            )
        })
        .collect();
    assert_eq!(
        listed,
        [
            ("ws-demo".to_owned(), "1.2.0".to_owned(), 2),
            ("ws-demo-plugin".to_owned(), "1.2.0".to_owned(), 2),
            ("ws-demo-stubs".to_owned(), "1.2.0".to_owned(), 2),
        ]
    );
    let uploaded: Vec<String> = serde_json::from_str(&run.output("uploaded").unwrap()).unwrap();
    assert_eq!(uploaded.len(), 6);
    // The summary: one table per project.
    assert!(
        run.summary.starts_with("## 3 projects\n"),
        "{}",
        run.summary
    );
    for heading in [
        "### ws-demo 1.2.0",
        "### ws-demo-plugin 1.2.0",
        "### ws-demo-stubs 1.2.0",
    ] {
        assert!(run.summary.contains(heading), "{}", run.summary);
    }

    // A re-run changes nothing: every file is on the index, the release complete.
    let before: Vec<(u64, Vec<u64>)> = github.with_state(|state| {
        state
            .releases
            .iter()
            .map(|r| (r.id, r.assets.iter().map(|a| a.id).collect()))
            .collect()
    });
    let rerun = workspace.run(&env);
    assert_eq!(rerun.code, Some(0), "{}\n{}", rerun.stdout, rerun.stderr);
    assert_eq!(rerun.output("uploaded").as_deref(), Some("[]"));
    assert_eq!(server.stored(), expected);
    assert_eq!(index.count("upload"), 6, "nothing sent again");
    let after: Vec<(u64, Vec<u64>)> = github.with_state(|state| {
        state
            .releases
            .iter()
            .map(|r| (r.id, r.assets.iter().map(|a| a.id).collect()))
            .collect()
    });
    assert_eq!(after, before);
    assert_eq!(
        github.with_state(|state| state.calls("repos/create-release")),
        1
    );
}

/// On pypi.org the release's footer links every project's page (seen in the dry run's plan,
/// which sends nothing).
#[test]
fn the_release_footer_links_every_projects_page() {
    let workspace = lock_step_workspace();
    let run = workspace.run(&[
        ("GITHUB_REF", "refs/tags/v1.2.0"),
        ("INPUT_DRY-RUN", "true"),
    ]);
    assert_eq!(run.code, Some(0), "{}\n{}", run.stdout, run.stderr);
    for name in ["ws-demo", "ws-demo-plugin", "ws-demo-stubs"] {
        let link =
            format!("- Package: [{name} 1.2.0 on PyPI](https://pypi.org/project/{name}/1.2.0/)");
        assert!(run.stdout.contains(&link), "{link}\n{}", run.stdout);
    }
    for name in ["ws-demo", "ws-demo-plugin", "ws-demo-stubs"] {
        assert!(
            run.stdout
                .contains(&format!("asset        {}", name.replace('-', "_"))),
            "{}",
            run.stdout
        );
    }
}

/// Projects at different versions: a `name-v1.2.3` tag checks the project it names; a bare tag
/// must be every project's version; a tag naming neither, or two versions of one project in
/// the folder (a stale dist/), is an error that says which project has which version.
#[test]
fn check_version_follows_the_tag_and_stale_dists_are_refused() {
    let workspace = Workspace::new();
    let root = workspace.path();
    build(&project(root, "ws-demo", "1.2.0"), &root.join("dist"));
    build(&project(root, "ws-other", "0.9.0"), &root.join("dist"));
    let dry_run = |tag: &str| {
        workspace.run(&[
            ("GITHUB_REF", &format!("refs/tags/{tag}")),
            ("INPUT_DRY-RUN", "true"),
        ])
    };

    let run = dry_run("ws-other-v0.9.0");
    assert_eq!(run.code, Some(0), "{}", run.stdout);
    assert_eq!(run.output("name").as_deref(), Some("ws-other"));
    assert_eq!(run.output("version").as_deref(), Some("0.9.0"));
    let run = dry_run("ws-demo-1.2.0");
    assert_eq!(run.code, Some(0), "{}", run.stdout);
    assert_eq!(run.output("name").as_deref(), Some("ws-demo"));

    let mut report = String::new();
    for tag in ["v1.2.0", "release-7", "ws-other-v1.2.0"] {
        let run = dry_run(tag);
        assert_eq!(run.code, Some(1), "{tag}: {}", run.stdout);
        report.push_str(&format!("--- tag {tag}\n{}\n", errors(&run, root)));
    }
    // A stale build of ws-demo beside the new one.
    let stale = root.join("stale");
    build(&project(&stale, "ws-demo", "1.1.0"), &root.join("dist"));
    let run = dry_run("ws-other-v0.9.0");
    assert_eq!(run.code, Some(1), "{}", run.stdout);
    report.push_str(&format!(
        "--- two versions of ws-demo\n{}\n",
        errors(&run, root)
    ));
    insta::assert_snapshot!(report);
}
