//! Upload progress (issue 14): the real binary uploads a large wheel through a proxy that
//! reads the body slowly, to a real pypiserver.
//! - In Actions (stdout and stderr are pipes), the log gets one line at 25, 50 and 75% of a
//!   large file, with the rate, and never a secret.
//! - In a terminal (a pseudo-terminal, rendered with the `vt100` crate), a bar is drawn while
//!   the slow upload runs and is gone from the final screen, which holds only the log lines.

#![expect(
    clippy::unwrap_used,
    reason = "test helpers: a failed setup step is a test failure"
)]

mod support;

use std::io::Read as _;
use std::time::Duration;

use support::fault_proxy::{Fault, FaultProxy, Match, When};
use support::wheels::{WHEEL, platform_wheel_with_payload};
use support::{PypiServer, Workspace};

const SDIST: &str = "oidc_publish_demo-0.3.0.tar.gz";

/// The sample dists with the wheel replaced by a 32 MiB platform wheel; its name. Large
/// enough that a quarter of it (8 MiB) is more than the loopback socket buffers swallow at
/// once, so the quarters are passed one at a time.
fn workspace_with_big_wheel() -> (Workspace, String) {
    let workspace = Workspace::new().with_sample_dists();
    let dist = workspace.path().join("dist");
    let big = platform_wheel_with_payload(&dist, "cp312-cp312-manylinux_2_17_x86_64", 32 << 20);
    std::fs::remove_file(dist.join(WHEEL)).unwrap();
    (workspace, big)
}

/// The first upload (the big wheel: wheels go before sdists) is read 1 MiB at a time with a
/// pause of 100 ms after each piece: about 3.2 s in all.
fn slow_proxy(server: &PypiServer) -> FaultProxy {
    let proxy = FaultProxy::start(server.port);
    proxy.on(
        Match::post(),
        When::Nth(vec![1]),
        Fault::SlowBody {
            step: 1 << 20,
            pause: Duration::from_millis(100),
            pauses: 32,
        },
    );
    proxy
}

#[test]
fn in_actions_a_slow_large_upload_prints_a_line_at_each_quarter_with_the_rate() {
    let server = PypiServer::start();
    let proxy = slow_proxy(&server);
    let (workspace, big) = workspace_with_big_wheel();
    let simple = server.simple_url();
    let proxy_url = proxy.url();
    let run = workspace.run(&[
        ("INPUT_REPOSITORY-URL", proxy_url.as_str()),
        ("INPUT_CHECK-URL", simple.as_str()),
        ("INPUT_PASSWORD", server.token.as_str()),
        ("INPUT_VERBOSE", "true"),
    ]);
    assert_eq!(run.code, Some(0), "{}\n{}", run.stdout, run.stderr);
    run.assert_no_secrets(&[&server.token]);

    let lines: Vec<&str> = run.stdout.lines().collect();
    let position = |wanted: &str| {
        lines
            .iter()
            .position(|line| line.starts_with(wanted))
            .unwrap_or_else(|| panic!("no line starting with `{wanted}`:\n{}", run.stdout))
    };
    let quarters: Vec<usize> = [25, 50, 75]
        .iter()
        .map(|percent| position(&format!("{big}: {percent}% sent (")))
        .collect();
    let uploaded = position(&format!("{big}: uploaded"));
    assert!(
        quarters.windows(2).all(|pair| pair[0] < pair[1]) && quarters[2] < uploaded,
        "the quarters come in order, before the result:\n{}",
        run.stdout
    );
    for &line in &quarters {
        let text = lines[line];
        assert!(
            text.contains(" of 32.0 MiB, ") && text.ends_with(" MiB/s)"),
            "the line says how much of how much, and the rate: {text}"
        );
    }
    assert_eq!(
        run.stdout.matches("% sent (").count(),
        3,
        "one line per quarter, none for the small sdist:\n{}",
        run.stdout
    );
    assert!(
        !run.stdout.contains(&format!("{SDIST}: 25%")),
        "{}",
        run.stdout
    );
}

#[test]
fn in_a_terminal_a_bar_follows_the_slow_upload_and_is_gone_from_the_final_screen() {
    use portable_pty::{CommandBuilder, PtySize, native_pty_system};

    let server = PypiServer::start();
    let proxy = slow_proxy(&server);
    let (workspace, big) = workspace_with_big_wheel();
    let (rows, cols) = (60, 120);

    let pty = native_pty_system()
        .openpty(PtySize {
            rows,
            cols,
            pixel_width: 0,
            pixel_height: 0,
        })
        .unwrap();
    let mut command = CommandBuilder::new(support::BINARY);
    command.args([
        "--repository-url",
        &proxy.url(),
        "--check-url",
        &server.simple_url(),
        "--packages-dir",
        "dist",
        "--release=false",
    ]);
    command.env_clear();
    command.env("PATH", std::env::var_os("PATH").unwrap_or_default());
    command.env("TERM", "xterm-256color");
    command.env("PYPI_TOKEN", &server.token);
    command.cwd(workspace.path());
    let mut child = pty.slave.spawn_command(command).unwrap();
    drop(pty.slave);
    let mut reader = pty.master.try_clone_reader().unwrap();
    let collector = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let mut buffer = [0_u8; 8192];
        // Ends at EOF, or EIO once the child has exited and closed the terminal.
        while let Ok(read) = reader.read(&mut buffer) {
            if read == 0 {
                break;
            }
            bytes.extend_from_slice(&buffer[..read]);
        }
        bytes
    });
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the run did not finish"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    drop(pty.master);
    let raw = collector.join().unwrap();
    let text = String::from_utf8_lossy(&raw);
    assert!(status.success(), "{text}");
    assert!(
        !text.contains(&server.token),
        "the token reached the terminal"
    );

    // The bar was drawn while the big wheel was on its way (and never for the small sdist,
    // whose upload takes less than a second).
    // (The name is cut at the terminal's edge.)
    assert!(
        text.contains(" left  oidc_publish_demo-0.3.0-cp312-cp312-manylinux"),
        "no progress bar for the slow upload of {big}:\n{text}"
    );
    assert!(!text.contains(&format!(" left  {SDIST}")), "{text}");

    // The final screen: the log lines, and nothing left of the bar.
    let mut parser = vt100::Parser::new(
        std::num::NonZero::new(rows).unwrap(),
        std::num::NonZero::new(cols).unwrap(),
        0,
    );
    parser.process(&raw);
    let screen = parser.screen().contents();
    assert!(screen.contains(&format!("{big}: uploaded")), "{screen}");
    assert!(screen.contains(&format!("{SDIST}: uploaded")), "{screen}");
    assert!(screen.contains("confirmed: the index"), "{screen}");
    assert!(
        !screen.contains(" left ") && !screen.contains("[==="),
        "a bar was left on the screen:\n{screen}"
    );
    // Every line on the final screen is one of the run's own lines, not a torn mix of a bar
    // and a log line.
    for line in screen.lines() {
        assert!(!line.contains("/s "), "torn line: {line}\n{screen}");
    }
}
