//! Hostile dists against the real binary (issue 12, findings 2 and 10): a ~1 MB sdist whose GNU
//! long-name or PAX record unpacks to 1 GiB, an overlong member name, a FIFO and a symlink to
//! /dev/zero named like wheels. Each run is measured by the OS: the child's peak RSS comes
//! from `wait4` (Python's `os.wait4` in the test venv), and a deadline kills a run that hangs.
//! The bounds are generous (a broken build is off by orders of magnitude), never tight timings.
#![expect(
    clippy::unwrap_used,
    reason = "test code (and the shared support module): a failed unwrap is a failed test"
)]

mod support;

use std::io::Write as _;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use support::wheels::edited_wheel;
use support::{BINARY, Workspace, repo_root, venv_bin};

/// Peak RSS no run may reach (the fixed build stays near 10 MiB; the broken one took gigabytes).
const MAX_RSS_KIB: u64 = 64 * 1024;
/// Wall time no run may reach (the fixed build needs well under a second; the broken one
/// hung forever or ran for minutes).
const DEADLINE: Duration = Duration::from_secs(60);

/// One run of the binary as measured by the OS.
struct Measured {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    max_rss_kib: u64,
    wall: Duration,
    timed_out: bool,
}

/// `os.wait4` gives the child's own resource usage; the deadline kills a run that hangs.
const WAIT4: &str = r#"
import json, os, subprocess, sys, time
deadline, out, err = float(sys.argv[1]), sys.argv[2], sys.argv[3]
start = time.monotonic()
with open(out, "wb") as o, open(err, "wb") as e:
    child = subprocess.Popen(sys.argv[4:], stdout=o, stderr=e)
    timed_out = False
    while True:
        pid, status, usage = os.wait4(child.pid, os.WNOHANG)
        if pid:
            break
        if time.monotonic() - start > deadline:
            timed_out = True
            child.kill()
            pid, status, usage = os.wait4(child.pid, 0)
            break
        time.sleep(0.005)
code = os.waitstatus_to_exitcode(status)
print(json.dumps({"code": code, "max_rss_kib": usage.ru_maxrss,
                  "wall": time.monotonic() - start, "timed_out": timed_out}))
"#;

/// Run the binary as the runner would (dry run, packages-dir `dist`) under `wait4`.
#[expect(
    clippy::print_stdout,
    reason = "the measured numbers are printed for the record (`cargo test -- --nocapture`)"
)]
fn run_measured(workspace: &Workspace, extra: &[(&str, &str)]) -> Measured {
    let files = tempfile::tempdir().unwrap();
    let (out, err) = (files.path().join("out"), files.path().join("err"));
    let mut command = Command::new(venv_bin("python"));
    command
        .args(["-c", WAIT4])
        .arg(DEADLINE.as_secs().to_string())
        .arg(&out)
        .arg(&err)
        .arg(BINARY)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_WORKSPACE", workspace.path())
        .env("GITHUB_OUTPUT", files.path().join("output"))
        .env("GITHUB_STEP_SUMMARY", files.path().join("summary"))
        .env("GITHUB_REPOSITORY", "octo-org/demo")
        .env("INPUT_DRY-RUN", "true")
        .current_dir(workspace.path());
    for (key, value) in extra {
        command.env(key, value);
    }
    let output = command.output().unwrap();
    assert!(
        output.status.success(),
        "the wait4 helper failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let measured = Measured {
        code: report["code"]
            .as_i64()
            .map(|code| i32::try_from(code).unwrap()),
        stdout: std::fs::read_to_string(&out).unwrap_or_default(),
        stderr: std::fs::read_to_string(&err).unwrap_or_default(),
        max_rss_kib: report["max_rss_kib"].as_u64().unwrap(),
        wall: Duration::from_secs_f64(report["wall"].as_f64().unwrap()),
        timed_out: report["timed_out"].as_bool().unwrap(),
    };
    // Printed for the record (`cargo test -- --nocapture`): the numbers behind the bounds.
    println!(
        "peak RSS {} KiB, wall {:.2?}, exit {:?}",
        measured.max_rss_kib, measured.wall, measured.code
    );
    measured
}

/// The bounds every hostile run must keep, and the one error line it must print.
fn assert_refused_in_bounds(run: &Measured, expected: &str) {
    assert!(
        !run.timed_out,
        "the run hung past {DEADLINE:?}:\n{}\n{}",
        run.stdout, run.stderr
    );
    assert!(
        run.max_rss_kib < MAX_RSS_KIB,
        "peak RSS {} KiB, bound {MAX_RSS_KIB} KiB",
        run.max_rss_kib
    );
    assert_eq!(run.code, Some(1), "{}\n{}", run.stdout, run.stderr);
    let error = run
        .stdout
        .lines()
        .find(|line| line.starts_with("::error"))
        .unwrap_or_else(|| panic!("no ::error:: line:\n{}\n{}", run.stdout, run.stderr));
    assert!(error.contains(expected), "{expected:?} not in {error}");
    // No line of the log carries a hostile name whole.
    for line in run.stdout.lines().chain(run.stderr.lines()) {
        assert!(line.len() < 4096, "a {}-byte log line", line.len());
    }
}

/// A gzip stream of `prefix`, `repeat` copies of `fill`, then `suffix`, made in well under a
/// second however large `repeat` is: deflate output for one 1 MiB chunk of `fill` is the same
/// for every chunk after the first two (the window holds only `fill`), so it is copied.
fn gzip_of_repeats(prefix: &[u8], fill: u8, repeat: u64, suffix: &[u8]) -> Vec<u8> {
    const CHUNK: usize = 1024 * 1024;
    let chunk = vec![fill; CHUNK];
    let mut deflate = flate2::Compress::new(flate2::Compression::best(), false);
    let mut compress = |input: &[u8], flush: flate2::FlushCompress| -> Vec<u8> {
        let mut out = Vec::with_capacity(input.len() / 100 + 1024);
        let mut consumed = 0;
        loop {
            let before_in = deflate.total_in();
            out.reserve(64 * 1024);
            deflate
                .compress_vec(&input[consumed..], &mut out, flush)
                .unwrap();
            consumed += usize::try_from(deflate.total_in() - before_in).unwrap();
            if consumed == input.len() && out.len() < out.capacity() {
                return out;
            }
        }
    };
    assert!(repeat >= 3, "at least three chunks");
    let mut crc = flate2::Crc::new();
    let mut chunk_crc = flate2::Crc::new();
    chunk_crc.update(&chunk);
    let mut gzip = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 2, 255];
    // The prefix and the first chunk of fill, then two whole chunks whose output must agree.
    let mut first = prefix.to_vec();
    first.extend_from_slice(&chunk);
    gzip.extend(compress(&first, flate2::FlushCompress::Sync));
    crc.update(&first);
    let second = compress(&chunk, flate2::FlushCompress::Sync);
    let third = compress(&chunk, flate2::FlushCompress::Sync);
    assert_eq!(second, third, "deflate output of a repeated chunk changed");
    gzip.extend_from_slice(&second);
    gzip.extend_from_slice(&third);
    crc.combine(&chunk_crc);
    crc.combine(&chunk_crc);
    for _ in 3..repeat {
        gzip.extend_from_slice(&third);
        crc.combine(&chunk_crc);
    }
    gzip.extend(compress(suffix, flate2::FlushCompress::Finish));
    crc.update(suffix);
    gzip.extend_from_slice(&crc.sum().to_le_bytes());
    gzip.extend_from_slice(&crc.amount().to_le_bytes());
    gzip
}

/// A 512-byte GNU or ustar header of `kind` for `name` with `size` bytes of data.
fn header(kind: tar::EntryType, name: &str, size: u64) -> Vec<u8> {
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(kind);
    header.set_mode(0o644);
    header.set_size(size);
    header.as_gnu_mut().unwrap().name[..name.len()].copy_from_slice(name.as_bytes());
    header.set_cksum();
    header.as_bytes().to_vec()
}

/// The rest of a small valid sdist after the hostile record: its PKG-INFO and the end blocks.
fn pkg_info_and_end(top: &str) -> Vec<u8> {
    let pkg_info = b"Metadata-Version: 2.4\nName: demo\nVersion: 1.0\n";
    let mut rest = header(
        tar::EntryType::Regular,
        &format!("{top}/PKG-INFO"),
        pkg_info.len() as u64,
    );
    rest.extend_from_slice(pkg_info);
    rest.resize(rest.len().next_multiple_of(512) + 1024, 0);
    rest
}

/// `dist/demo-1.0.tar.gz` in a fresh workspace.
fn workspace_with_sdist(bytes: &[u8]) -> Workspace {
    let workspace = Workspace::new();
    let dist = workspace.path().join("dist");
    std::fs::create_dir_all(&dist).unwrap();
    std::fs::File::create(dist.join("demo-1.0.tar.gz"))
        .unwrap()
        .write_all(bytes)
        .unwrap();
    workspace
}

const GIB_IN_MIB: u64 = 1024;

#[test]
fn a_gnu_long_name_of_a_gibibyte_is_refused_in_bounded_memory() {
    // `L` header declaring 1 GiB, 1 GiB of name, then the member it names.
    let size = GIB_IN_MIB * 1024 * 1024;
    let prefix = header(tar::EntryType::GNULongName, "././@LongLink", size);
    let sdist = gzip_of_repeats(&prefix, b'a', GIB_IN_MIB, &pkg_info_and_end("demo-1.0"));
    assert!(sdist.len() < 2 * 1024 * 1024, "{} bytes", sdist.len());
    let run = run_measured(&workspace_with_sdist(&sdist), &[]);
    assert_refused_in_bounds(
        &run,
        "demo-1.0.tar.gz: a tar header record (a GNU long name or link, or a PAX header) is larger than 1 MiB",
    );
}

#[test]
fn a_pax_header_of_a_gibibyte_is_refused_in_bounded_memory() {
    // `x` header whose one record is `path=` and a name of a GiB.
    let size = GIB_IN_MIB * 1024 * 1024;
    let mut prefix = header(tar::EntryType::XHeader, "PaxHeaders/x", size);
    prefix.extend_from_slice(format!("{size} path=").as_bytes());
    let record_start = format!("{size} path=").len() as u64;
    // Fill up to the record's end (its length counts the prefix and the final newline).
    let fill = size - record_start - 1;
    let chunks = fill / (1024 * 1024);
    let tail = fill % (1024 * 1024);
    let mut suffix = vec![b'a'; usize::try_from(tail).unwrap()];
    suffix.push(b'\n');
    suffix.extend(pkg_info_and_end("demo-1.0"));
    let sdist = gzip_of_repeats(&prefix, b'a', chunks, &suffix);
    let run = run_measured(&workspace_with_sdist(&sdist), &[]);
    assert_refused_in_bounds(&run, "is larger than 1 MiB");
}

#[test]
fn an_overlong_member_name_is_refused_and_never_printed_whole() {
    // Under the header-record budget, over the name cap: refused, shown shortened.
    let name = format!("demo-1.0/{}", "n".repeat(900 * 1024));
    let mut tar = header(
        tar::EntryType::GNULongName,
        "././@LongLink",
        name.len() as u64,
    );
    tar.extend_from_slice(name.as_bytes());
    tar.resize(tar.len().next_multiple_of(512), 0);
    tar.extend(header(tar::EntryType::Regular, "x", 0));
    tar.extend(pkg_info_and_end("demo-1.0"));
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(&tar).unwrap();
    let run = run_measured(&workspace_with_sdist(&encoder.finish().unwrap()), &[]);
    assert_refused_in_bounds(
        &run,
        "a member name is 921609 bytes long, more than the 4096 a file system can unpack",
    );
}

/// A valid wheel and sdist in `dist/`, plus `entry` made by `make` beside them.
fn workspace_with_valid_dists() -> Workspace {
    let workspace = Workspace::new();
    let dist = workspace.path().join("dist");
    std::fs::create_dir_all(&dist).unwrap();
    for entry in
        std::fs::read_dir(repo_root().join("tests/fixtures/dists/valid-hatchling-2.4")).unwrap()
    {
        let path = entry.unwrap().path();
        std::fs::copy(&path, dist.join(path.file_name().unwrap())).unwrap();
    }
    workspace
}

fn mkfifo(path: &Path) {
    let status = Command::new(venv_bin("python"))
        .args(["-c", "import os, sys; os.mkfifo(sys.argv[1])"])
        .arg(path)
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn a_fifo_named_like_a_wheel_is_refused_without_blocking() {
    let workspace = workspace_with_valid_dists();
    let fifo = workspace
        .path()
        .join("dist/demo_hatch-1.0.0-cp312-cp312-win_amd64.whl");
    mkfifo(&fifo);
    let run = run_measured(&workspace, &[]);
    assert_refused_in_bounds(
        &run,
        "demo_hatch-1.0.0-cp312-cp312-win_amd64.whl: is a named pipe (FIFO), not a regular file: only regular files are published",
    );
}

#[test]
fn a_symlink_to_dev_zero_is_refused_without_reading_it() {
    let workspace = workspace_with_valid_dists();
    let link = workspace
        .path()
        .join("dist/demo_hatch-1.0.0-cp312-cp312-win_amd64.whl");
    std::os::unix::fs::symlink("/dev/zero", &link).unwrap();
    let run = run_measured(&workspace, &[]);
    assert_refused_in_bounds(
        &run,
        "demo_hatch-1.0.0-cp312-cp312-win_amd64.whl: is a symlink to `/dev/zero`, outside packages-dir",
    );
}

#[test]
fn symlinks_are_followed_only_to_regular_files_inside_packages_dir() {
    // Outside packages-dir: refused, even to a valid wheel.
    let workspace = Workspace::new();
    let dist = workspace.path().join("dist");
    std::fs::create_dir_all(&dist).unwrap();
    let valid = repo_root().join("tests/fixtures/dists/valid-hatchling-2.4");
    let wheel = valid.join("demo_hatch-1.0.0-py3-none-any.whl");
    std::os::unix::fs::symlink(&wheel, dist.join("demo_hatch-1.0.0-py3-none-any.whl")).unwrap();
    let run = run_measured(&workspace, &[]);
    assert_refused_in_bounds(&run, "is a symlink to `");
    assert!(
        run.stdout.contains("outside packages-dir"),
        "{}",
        run.stdout
    );

    // Inside packages-dir (a build that links its outputs): followed.
    let workspace = Workspace::new();
    let store = workspace.path().join("dist/store");
    std::fs::create_dir_all(&store).unwrap();
    std::fs::copy(&wheel, store.join("built.bin")).unwrap();
    std::os::unix::fs::symlink(
        "store/built.bin",
        workspace
            .path()
            .join("dist/demo_hatch-1.0.0-py3-none-any.whl"),
    )
    .unwrap();
    let run = run_measured(&workspace, &[]);
    assert!(!run.timed_out);
    assert_eq!(run.code, Some(0), "{}\n{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("1 dist(s) verified"), "{}", run.stdout);
}

/// A change to a METADATA text.
type Edit = Box<dyn Fn(&str) -> String>;

/// A workspace whose `dist/` holds the sample wheel with `edit` applied to its METADATA text.
fn workspace_with_metadata(edit: impl Fn(&str) -> String) -> (Workspace, String) {
    let workspace = Workspace::new();
    let dist = workspace.path().join("dist");
    std::fs::create_dir_all(&dist).unwrap();
    let file_name = edited_wheel(&dist, "py3-none-any", |name, data| {
        if name.ends_with(".dist-info/METADATA") {
            edit(std::str::from_utf8(&data).unwrap()).into_bytes()
        } else {
            data
        }
    });
    (workspace, file_name)
}

/// Crafted metadata nested far deeper than Python's parsers (docutils, packaging, email)
/// survive: each was a stack overflow that aborted the run (exit 134, no `::error`, no
/// outputs). Now a refusal naming the file and the field, in bounds.
#[test]
fn deeply_nested_metadata_is_refused_naming_the_field() {
    let replace_header = |text: &str, header: &str, value: &str| -> String {
        text.lines()
            .filter(|line| !line.starts_with(&format!("{header}:")))
            .map(|line| {
                if line.starts_with("Metadata-Version:") {
                    format!("{line}\n{header}: {value}")
                } else {
                    line.to_owned()
                }
            })
            .collect::<Vec<_>>()
            .join("\n")
            + "\n"
    };
    let cases: Vec<(&str, Edit, &str)> = vec![
        (
            "description",
            Box::new(|text: &str| {
                let headers = text.split("\n\n").next().unwrap();
                let headers: Vec<&str> = headers
                    .lines()
                    .filter(|line| !line.starts_with("Description-Content-Type:"))
                    .collect();
                format!("{}\n\n{}x\n", headers.join("\n"), "- ".repeat(15_000))
            }),
            "nested too deeply",
        ),
        (
            "Requires-Dist",
            Box::new(move |text: &str| {
                replace_header(text, "Requires-Dist", &format!("x; {}", "(".repeat(20_000)))
            }),
            "Requires-Dist `x; (((",
        ),
        (
            "Author-email comments",
            Box::new(move |text: &str| {
                let value = format!(
                    "a@example.org {}c{}",
                    "(".repeat(20_000),
                    ")".repeat(20_000)
                );
                replace_header(text, "Author-email", &value)
            }),
            "Author-email `a@example.org (((",
        ),
        (
            "Author-email groups",
            Box::new(move |text: &str| {
                replace_header(
                    text,
                    "Author-email",
                    &format!("{}a@example.org", "x:".repeat(20_000)),
                )
            }),
            "Author-email `x:x:",
        ),
        (
            "License-Expression",
            Box::new(move |text: &str| {
                let value = format!("{}MIT{}", "(".repeat(100_000), ")".repeat(100_000));
                replace_header(text, "License-Expression", &value)
            }),
            "License-Expression `(((",
        ),
    ];
    for (case, edit, expected) in cases {
        let (workspace, file_name) = workspace_with_metadata(edit);
        let run = run_measured(&workspace, &[]);
        assert!(
            !run.stderr.contains("stack overflow"),
            "{case}: {}",
            run.stderr
        );
        assert_refused_in_bounds(&run, expected);
        let error = run
            .stdout
            .lines()
            .find(|line| line.starts_with("::error") && line.contains(expected))
            .unwrap();
        assert!(error.contains(&file_name), "{case}: {error}");
    }
}

/// A 2 KB wheel whose WHEEL Tag line has 150 `.`-separated parts in each field: expanded, it
/// made 3.4 million tags (430 MB peak, a 46 MB warning line; 400 parts exhausted memory). Now
/// a short warning, in bounds, and the dry run goes on.
#[test]
fn a_huge_compressed_tag_set_in_wheel_is_a_short_warning_in_bounded_memory() {
    let parts = |prefix: &str| {
        (0..150)
            .map(|n| format!("{prefix}{n}"))
            .collect::<Vec<_>>()
            .join(".")
    };
    let tag = format!("{}-{}-{}", parts("cp3"), parts("abi"), parts("linux_"));
    let workspace = Workspace::new();
    let dist = workspace.path().join("dist");
    std::fs::create_dir_all(&dist).unwrap();
    edited_wheel(&dist, "py3-none-any", |name, data| {
        if name.ends_with(".dist-info/WHEEL") {
            format!("Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: {tag}\n").into_bytes()
        } else {
            data
        }
    });
    let run = run_measured(&workspace, &[]);
    assert!(!run.timed_out, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.max_rss_kib < MAX_RSS_KIB,
        "peak RSS {} KiB, bound {MAX_RSS_KIB} KiB",
        run.max_rss_kib
    );
    assert_eq!(run.code, Some(0), "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout
            .lines()
            .any(|line| line.starts_with("::warning") && line.contains("expand to 3375000 tags")),
        "{}",
        run.stdout
    );
    for line in run.stdout.lines().chain(run.stderr.lines()) {
        assert!(line.len() < 4096, "a {}-byte log line", line.len());
    }
}
