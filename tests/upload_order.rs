//! The upload order for a real index (issue 14), observed at a proxy that holds every upload
//! 300 ms as a remote index would and records when each request started and was answered:
//! a release the index does not have yet gets its first file alone (`PyPI` creates the release
//! with it; concurrent first uploads race on creating it), then the other files go together,
//! wheels before the sdist. A release that already exists gets every file at once. With two
//! new projects, each project's first file goes alone within its project.

#![expect(
    clippy::unwrap_used,
    reason = "test helpers: a failed setup step is a test failure"
)]

mod support;

use std::time::{Duration, Instant};

use support::fault_proxy::{Fault, FaultProxy, Match, Seen, When};
use support::wheels::{WHEEL, platform_wheel};
use support::{PypiServer, RunOutput, Workspace, repo_root};

const SDIST: &str = "oidc_publish_demo-0.3.0.tar.gz";
const HOLD: Duration = Duration::from_millis(300);
const TAGS: [&str; 5] = [
    "cp312-cp312-manylinux_2_17_x86_64",
    "cp312-cp312-manylinux_2_17_aarch64",
    "cp312-cp312-musllinux_1_2_x86_64",
    "cp312-cp312-macosx_11_0_arm64",
    "cp312-cp312-win_amd64",
];

/// The sample project with five more platform wheels: six wheels and the sdist.
fn is_wheel(name: &str) -> bool {
    std::path::Path::new(name)
        .extension()
        .is_some_and(|extension| extension == "whl")
}

fn workspace_with_wheels() -> Workspace {
    let workspace = Workspace::new().with_sample_dists();
    for tag in TAGS {
        platform_wheel(&workspace.path().join("dist"), tag);
    }
    workspace
}

fn holding_proxy(server: &PypiServer) -> FaultProxy {
    let proxy = FaultProxy::start(server.port);
    proxy.on(Match::post(), When::Always, Fault::Hold(HOLD));
    proxy
}

/// Publish through `proxy` with the default `upload-concurrency`.
fn publish(workspace: &Workspace, server: &PypiServer, proxy: &FaultProxy) -> RunOutput {
    let simple = server.simple_url();
    let proxy_url = proxy.url();
    let run = workspace.run(&[
        ("INPUT_REPOSITORY-URL", proxy_url.as_str()),
        ("INPUT_CHECK-URL", simple.as_str()),
        ("INPUT_PASSWORD", server.token.as_str()),
    ]);
    assert_eq!(run.code, Some(0), "{}\n{}", run.stdout, run.stderr);
    run
}

/// The uploads the proxy saw, by start time: (file name, started, answered).
fn uploads(proxy: &FaultProxy) -> Vec<(String, Instant, Instant)> {
    let mut uploads: Vec<(String, Instant, Instant)> = proxy
        .seen()
        .into_iter()
        .filter(|seen| seen.method == "POST")
        .map(
            |Seen {
                 file_name,
                 started,
                 answered,
                 ..
             }| (file_name.unwrap(), started, answered.unwrap()),
        )
        .collect();
    uploads.sort_by_key(|(_, started, _)| *started);
    uploads
}

/// The most uploads open at one moment among `uploads`.
fn most_at_once(uploads: &[&(String, Instant, Instant)]) -> usize {
    uploads
        .iter()
        .map(|(_, started, _)| {
            uploads
                .iter()
                .filter(|(_, other_start, other_end)| other_start <= started && started < other_end)
                .count()
        })
        .max()
        .unwrap_or(0)
}

fn timeline(uploads: &[(String, Instant, Instant)]) -> String {
    let zero = uploads.first().map(|(_, started, _)| *started);
    uploads
        .iter()
        .map(|(name, started, answered)| {
            let since = |at: &Instant| zero.map_or(0, |zero| at.duration_since(zero).as_millis());
            format!(
                "{:>5} ms .. {:>5} ms  {name}",
                since(started),
                since(answered)
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn a_new_release_gets_its_first_file_alone_then_the_other_wheels_together_then_the_sdist() {
    let server = PypiServer::start();
    let proxy = holding_proxy(&server);
    let workspace = workspace_with_wheels();

    let run = publish(&workspace, &server, &proxy);
    let uploads = uploads(&proxy);
    let shown = timeline(&uploads);
    assert_eq!(uploads.len(), 7, "{shown}");

    let (first, _, first_answered) = &uploads[0];
    assert!(is_wheel(first), "a wheel opens the release:\n{shown}");
    for (name, started, _) in &uploads[1..] {
        assert!(
            started >= first_answered,
            "{name} started before the first file was answered:\n{shown}"
        );
    }
    let wheels: Vec<_> = uploads[1..]
        .iter()
        .filter(|(name, ..)| is_wheel(name))
        .collect();
    assert_eq!(wheels.len(), 5, "{shown}");
    assert_eq!(
        most_at_once(&wheels),
        5,
        "the other wheels go together:\n{shown}"
    );
    let (sdist, sdist_started, _) = uploads.last().unwrap();
    assert_eq!(sdist, SDIST, "{shown}");
    for (name, _, answered) in &wheels {
        assert!(
            sdist_started >= answered,
            "the sdist started before {name} was answered:\n{shown}"
        );
    }
    assert!(
        run.stdout.contains(&format!(
            "oidc-publish-demo 0.3.0 is new on the index: {first} goes first, alone"
        )),
        "{}",
        run.stdout
    );
    assert_eq!(server.stored().len(), 7);

    // The step summary says where the time went: the upload phase held the three rounds of
    // 300 ms (the first file, the other wheels, the sdist).
    let table: Vec<&str> = run
        .summary
        .lines()
        .skip_while(|line| !line.starts_with("| wall time |"))
        .take(3)
        .collect();
    assert_eq!(
        table.first().copied(),
        Some("| wall time | verify | authenticate | attest | upload | confirm | release | total |"),
        "{}",
        run.summary
    );
    let seconds: Vec<f64> = table[2]
        .split('|')
        .filter_map(|cell| cell.trim().strip_suffix(" s")?.parse().ok())
        .collect();
    assert_eq!(seconds.len(), 7, "{}", run.summary);
    assert!(
        seconds[3] >= 3.0 * HOLD.as_secs_f64(),
        "upload: {}\n{}",
        seconds[3],
        run.summary
    );
}

#[test]
fn a_release_already_on_the_index_gets_every_wheel_at_once() {
    let server = PypiServer::start();
    // The sdist is there from an earlier run: the release exists.
    std::fs::copy(
        repo_root().join("examples/dist").join(SDIST),
        server.packages.path().join(SDIST),
    )
    .unwrap();
    let proxy = holding_proxy(&server);
    let workspace = workspace_with_wheels();

    let run = publish(&workspace, &server, &proxy);
    let uploads = uploads(&proxy);
    let shown = timeline(&uploads);
    assert_eq!(uploads.len(), 6, "only the wheels are sent:\n{shown}");
    let all: Vec<_> = uploads.iter().collect();
    assert_eq!(most_at_once(&all), 6, "no file waits for another:\n{shown}");
    assert!(
        !run.stdout.contains("is new on the index"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains(&format!(
            "{SDIST}: already on the index with the same sha256"
        )),
        "{}",
        run.stdout
    );
}

#[test]
fn two_new_projects_each_open_their_release_with_one_file_and_the_openers_go_together() {
    let server = PypiServer::start();
    let proxy = holding_proxy(&server);
    let workspace = workspace_with_wheels();
    // A second project: demo-hatch 1.0.0, a wheel and an sdist.
    for entry in
        std::fs::read_dir(repo_root().join("tests/fixtures/dists/valid-hatchling-2.4")).unwrap()
    {
        let path = entry.unwrap().path();
        if path
            .extension()
            .is_some_and(|ext| ext == "whl" || ext == "gz")
        {
            std::fs::copy(
                &path,
                workspace
                    .path()
                    .join("dist")
                    .join(path.file_name().unwrap()),
            )
            .unwrap();
        }
    }

    publish(&workspace, &server, &proxy);
    let uploads = uploads(&proxy);
    let shown = timeline(&uploads);
    assert_eq!(uploads.len(), 9, "{shown}");
    let project = |name: &str| {
        if name.starts_with("demo_hatch") {
            "demo-hatch"
        } else {
            "oidc-publish-demo"
        }
    };
    let openers = &uploads[..2];
    assert_ne!(
        project(&openers[0].0),
        project(&openers[1].0),
        "one opener per project:\n{shown}"
    );
    assert!(
        openers[1].1 < openers[0].2,
        "the two openers (different releases) go together:\n{shown}"
    );
    for opener in openers {
        for (name, started, _) in &uploads[2..] {
            if project(name) == project(&opener.0) {
                assert!(
                    *started >= opener.2,
                    "{name} started before its release was opened by {}:\n{shown}",
                    opener.0
                );
            }
        }
    }
    assert!(
        uploads.iter().any(|(name, ..)| name == WHEEL),
        "the sample wheel was sent:\n{shown}"
    );
}
