//! The description check against readme_renderer (PyPI's renderer, pinned as Warehouse pins
//! it): every real description of `target/readmes/` and of the real-world corpus
//! `target/corpus/` (both fetched by `scripts/test.sh --setup`),
//! the same descriptions with one failure of each class added, and standalone cases. The hard
//! requirement: no description readme_renderer renders is refused. The numbers (how many
//! failures are caught, warned about or missed) are printed and written to
//! `target/description-differential.txt`.
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::doc_markdown,
    reason = "test code; the docs name PyPI and readme_renderer often"
)]

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use pypi_oidc_publish::distribution::CoreMetadata;
use pypi_oidc_publish::distribution::description::{self, Verdict};
use pypi_oidc_publish::distribution::rst::{docutils, pygments};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn python() -> PathBuf {
    std::env::var_os("PYPI_OIDC_PUBLISH_TEST_VENV")
        .map_or_else(|| root().join("target/test-env/venv"), PathBuf::from)
        .join("bin/python")
}

#[derive(Debug)]
struct Oracle {
    renders: bool,
    message: Option<String>,
}

/// readme_renderer's verdict for every case, from one Python process.
fn oracle(cases: &[(String, String)]) -> BTreeMap<String, Oracle> {
    let mut child = Command::new(python())
        .arg(root().join("tests/render_descriptions.py"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect(
            "run tests/render_descriptions.py (scripts/test.sh --setup installs readme-renderer)",
        );
    let mut stdin = child.stdin.take().unwrap();
    let input: String = cases
        .iter()
        .map(|(id, text)| serde_json::json!({"id": id, "text": text}).to_string() + "\n")
        .collect();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()).unwrap());
    let output = child.wait_with_output().unwrap();
    writer.join().unwrap();
    assert!(output.status.success(), "the oracle failed");
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|line| {
            let value: serde_json::Value = serde_json::from_str(line).unwrap();
            (
                value["id"].as_str().unwrap().to_owned(),
                Oracle {
                    renders: value["renders"].as_bool().unwrap(),
                    message: value["message"].as_str().map(str::to_owned),
                },
            )
        })
        .collect()
}

/// The real descriptions PyPI would render as reStructuredText, as we would send them.
fn real_descriptions() -> Vec<(String, String)> {
    let dir = root().join("target/readmes");
    let mut out = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|_| panic!("{} is missing: run scripts/test.sh --setup", dir.display()))
        .map(|entry| entry.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        let bytes = std::fs::read(&path).unwrap();
        let Ok(metadata) = CoreMetadata::parse(&String::from_utf8_lossy(&bytes)) else {
            continue;
        };
        if !description::renders_as_rst(metadata.get("Description-Content-Type")) {
            continue;
        }
        if let Some(text) = description::rendered_text(&metadata) {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            out.push((name, text));
        }
    }
    out
}

/// The reStructuredText descriptions of every dist in the real-world corpus (`target/corpus/`,
/// fetched by `scripts/test.sh --setup`), read by the same code that builds the upload form.
/// Identical descriptions (a release's wheels share one) count once. Files our verification
/// cannot open at all (a `.zip` sdist) have no description we would send.
fn corpus_descriptions() -> Vec<(String, String)> {
    let dir = root().join("target/corpus");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|_| panic!("{} is missing: run scripts/test.sh --setup", dir.display()))
        .flat_map(|release| std::fs::read_dir(release.unwrap().path()).unwrap())
        .map(|file| file.unwrap().path())
        .collect();
    paths.sort();
    let mut seen = std::collections::BTreeSet::new();
    let mut out = Vec::new();
    for path in paths {
        let Ok(dist) = pypi_oidc_publish::distribution::load(&path) else {
            continue;
        };
        if !description::renders_as_rst(dist.metadata.get("Description-Content-Type")) {
            continue;
        }
        if let Some(text) = description::rendered_text(&dist.metadata) {
            if seen.insert(text.clone()) {
                out.push((format!("corpus/{}", dist.file_name()), text));
            }
        }
    }
    out
}

/// Failures of each class, as text added to a description that renders.
const MUTATIONS: &[(&str, &str)] = &[
    (
        "unknown-directive",
        ".. toctree::\n   :maxdepth: 2\n\n   usage\n",
    ),
    (
        "unknown-directive-nested",
        "* Docs\n\n  .. automodule:: demo\n",
    ),
    ("unknown-role", "Call :func:`demo.main` to start.\n"),
    (
        "unknown-role-list",
        "* See :ref:`usage` and :class:`Demo`.\n",
    ),
    ("disabled-include", ".. include:: CHANGES.rst\n"),
    (
        "disabled-raw",
        ".. raw:: html\n\n   <p align=\"center\">logo</p>\n",
    ),
    (
        "directive-option",
        ".. code-block:: python\n   :linenos:\n\n   print(1)\n",
    ),
    (
        "directive-option-caption",
        ".. code-block:: python\n   :caption: example.py\n\n   print(1)\n",
    ),
    ("directive-no-content", ".. note::\n"),
    (
        "directive-content-not-allowed",
        ".. image:: https://example.org/a.png\n\n   caption text\n",
    ),
    ("emphasis", "Pass *args to the function.\n"),
    ("strong", "This is **important.\n"),
    ("literal", "Run ``pip install demo to install.\n"),
    ("interpreted", "The `quote is not closed.\n"),
    (
        "unknown-target",
        "Configure it with the snake_case_ option.\n",
    ),
    ("unknown-target-phrase", "Read the `user guide`_ first.\n"),
    (
        "substitution",
        "| Name | Value |\n|------|-------|\n| a    | 1     |\n",
    ),
    ("undefined-substitution", "The |version| is shown.\n"),
    ("anonymous-mismatch", "See `this page`__ for more.\n"),
    ("title-underline-short", "Usage\n====\n\ntext\n"),
    (
        "unexpected-indentation",
        "Features:\nfast and small\n    really\n",
    ),
    ("literal-expected", "Install it::\n\npip install demo\n"),
    ("literal-expected-eof", "Example::\n"),
    ("bullet-unindent", "* one\n* two\nafter the list\n"),
    ("enumerated-unindent", "1. one\n2. two\nafter the list\n"),
    (
        "explicit-unindent",
        ".. image:: https://example.org/badge.svg\n   :target: https://example.org\nBadges above.\n",
    ),
    (
        "block-quote-unindent",
        "Quote:\n\n    quoted text\nnot quoted\n",
    ),
    ("definition-unindent", "term\n    definition\nafter\n"),
    ("field-unindent", ":Author: someone\nafter\n"),
    ("nested-title", "* item\n\n  Nested\n  ======\n\n  text\n"),
    ("nested-transition", "* item\n\n  ----------\n\n  text\n"),
    ("overline-mismatch", "=======\n Title\n-------\n\ntext\n"),
    (
        "duplicate-target",
        ".. _home: https://example.org\n.. _home: https://example.com\n",
    ),
    ("transition-end", "----------\n"),
    (
        "line-block-unindent",
        "| line one\n| line two\nnot a line\n",
    ),
    (
        "code-role-language",
        ".. role:: shell(code)\n   :language: nosuchlang\n\nRun :shell:`demo --all` first.\n",
    ),
];

/// Text that looks risky but renders: the scanner must stay silent on these.
const SAFE: &[(&str, &str)] = &[
    ("escaped-emphasis", "Pass \\*args to the function.\n"),
    ("literal-args", "Pass ``*args`` to the function.\n"),
    (
        "escaped-target",
        "Configure it with the snake_case\\_ option.\n",
    ),
    (
        "embedded-link",
        "Read the `user guide <https://example.org/guide>`_ first.\n",
    ),
    ("indented-literal", "Install it::\n\n    pip install demo\n"),
    ("code-block", ".. code-block:: python\n\n   print(1)\n"),
    (
        "image-options",
        ".. image:: https://example.org/a.png\n   :alt: logo\n   :width: 100px\n   :target: https://example.org\n\ntext\n",
    ),
    ("note", ".. note::\n\n   Indented note.\n"),
    ("markdown-fence", "```python\nprint(1)\n```\n"),
    ("quoted-star", "Use '*' as a wildcard and (*) too.\n"),
    ("short-underline-text", "Title\n===\n"),
    ("list-then-blank", "* one\n* two\n\nafter the list\n"),
    ("definition-list", "term\n    definition\n\nafter\n"),
    ("math-role", "The :math:`x^2` term.\n"),
    (
        "code-block-unknown-language",
        ".. code-block:: nosuchlang\n\n   demo --all\n",
    ),
    ("code-role", "Call :code:`demo()` to start.\n"),
    (
        "code-role-known-language",
        ".. role:: python(code)\n   :language: python\n\nCall :python:`demo()` to start.\n",
    ),
];

/// A standalone description for a mutation: a title and a paragraph around it.
fn standalone(text: &str) -> String {
    format!("Demo\n====\n\nA paragraph first.\n\n{text}\nA paragraph last.\n")
}

fn verdict(text: &str) -> Verdict {
    let metadata = CoreMetadata {
        fields: vec![("Metadata-Version".to_owned(), "2.1".to_owned())],
        body: Some(text.to_owned()),
    };
    description::check(&metadata)
}

#[derive(Default, Debug)]
struct Tally {
    total: usize,
    renders: usize,
    fails: usize,
    refused: usize,
    warned: usize,
    missed: usize,
    false_refusals: Vec<String>,
    warned_but_renders: usize,
    missed_messages: BTreeMap<String, usize>,
}

impl Tally {
    fn add(&mut self, id: &str, text: &str, oracle: &Oracle) {
        self.total += 1;
        let ours = verdict(text);
        if oracle.renders {
            self.renders += 1;
            match ours {
                Verdict::Refused(message) => self.false_refusals.push(format!("{id}: {message}")),
                Verdict::Doubtful(_) => self.warned_but_renders += 1,
                Verdict::Renders => {}
            }
        } else {
            self.fails += 1;
            match ours {
                Verdict::Refused(_) => self.refused += 1,
                Verdict::Doubtful(_) => self.warned += 1,
                Verdict::Renders => {
                    self.missed += 1;
                    let message = oracle.message.clone().unwrap_or_default();
                    let class = message
                        .split(") ")
                        .nth(1)
                        .unwrap_or(&message)
                        .split(':')
                        .next()
                        .unwrap_or_default()
                        .to_owned();
                    *self.missed_messages.entry(class).or_default() += 1;
                }
            }
        }
    }

    fn summary(&self, name: &str) -> String {
        format!(
            "{name}: {} descriptions, {} render ({} of them warned about, {} refused), {} fail: {} refused, {} warned, {} missed{}\n",
            self.total,
            self.renders,
            self.warned_but_renders,
            self.false_refusals.len(),
            self.fails,
            self.refused,
            self.warned,
            self.missed,
            if self.missed_messages.is_empty() {
                String::new()
            } else {
                format!(" (missed: {:?})", self.missed_messages)
            }
        )
    }
}

/// Nesting as deep as docutils' recursion allows renders (a warning past 100 levels, where
/// Warehouse's deeper stack may already fail); far deeper, docutils fails with a
/// `RecursionError` and we refuse, naming the nesting, without exhausting our own stack (the
/// scanner once recursed once a level: 15 000 levels aborted the process).
#[test]
fn deep_nesting_is_judged_as_docutils_judges_it() {
    let bullets = |depth: usize| format!("{}x\n", "- ".repeat(depth));
    let quotes = |depth: usize| {
        (0..depth)
            .map(|level| format!("{}x", " ".repeat(2 * level)))
            .collect::<Vec<_>>()
            .join("\n\n")
            + "\n"
    };
    let cases: Vec<(String, String)> = vec![
        ("bullets-20".to_owned(), bullets(20)),
        ("quotes-90".to_owned(), quotes(90)),
        ("bullets-250".to_owned(), bullets(250)),
        ("quotes-250".to_owned(), quotes(250)),
    ];
    let verdicts = oracle(&cases);
    for (id, text) in &cases {
        let renders = verdicts[id].renders;
        match verdict(text) {
            Verdict::Refused(message) => {
                assert!(!renders, "{id}: docutils renders it, we refuse: {message}");
                assert!(message.contains("nested too deeply"), "{id}: {message}");
            }
            other => assert!(
                renders,
                "{id}: docutils fails ({:?}), we say {other:?}",
                verdicts[id].message
            ),
        }
    }
    // Far past any recursion limit: refused at once, on a small stack.
    let text = bullets(15_000);
    let verdict = std::thread::Builder::new()
        .stack_size(512 * 1024)
        .spawn(move || verdict(&text))
        .unwrap()
        .join()
        .unwrap();
    assert!(
        matches!(&verdict, Verdict::Refused(message) if message.contains("nested too deeply")),
        "{verdict:?}"
    );
}

/// Highlighted code as docutils 0.23 with Pygments 2.20 judges it under readme_renderer's
/// settings: the `code` directive (and its aliases) with a language Pygments has no lexer for
/// renders without highlighting (`report_level` 5 silences the warning); a custom role based
/// on `code` whose `:language:` names no lexer warns, which halts the render, each time it is
/// used. Lexers are looked up by alias after lower-casing; `text`, `none` and no language
/// highlight nothing. Each case's verdict is readme_renderer's.
#[test]
fn code_languages_are_judged_as_docutils_judges_them() {
    let role =
        |name: &str, options: &str, usage: &str| format!(".. role:: {name}\n{options}\n{usage}\n");
    let cases: Vec<(&str, String, bool)> = vec![
        // (id, text, whether readme_renderer renders it)
        (
            "code-block-unknown",
            ".. code-block:: nosuchlang\n\n   x\n".into(),
            true,
        ),
        (
            "code-unknown",
            ".. code:: nosuchlang\n\n   x\n".into(),
            true,
        ),
        (
            "sourcecode-unknown",
            ".. sourcecode:: nosuchlang\n\n   x\n".into(),
            true,
        ),
        (
            "code-unknown-number-lines",
            ".. code:: nosuchlang\n   :number-lines: 3\n\n   x\n".into(),
            true,
        ),
        (
            "code-alias-case",
            ".. code-block:: PY3\n\n   x\n".into(),
            true,
        ),
        (
            "code-display-name",
            ".. code-block:: Python\n\n   x\n".into(),
            true,
        ),
        (
            "code-shell-session",
            ".. code-block:: shell-session\n\n   $ demo\n".into(),
            true,
        ),
        ("code-text", ".. code:: text\n\n   x\n".into(), true),
        ("code-no-language", ".. code::\n\n   x\n".into(), true),
        ("code-role", "Call :code:`demo()` now.\n".into(), true),
        (
            "role-no-language",
            role("nosuchlang(code)", "", "Run :nosuchlang:`x` now."),
            true,
        ),
        (
            "role-known-upper",
            role("py(code)", "   :language: PY3\n", "Run :py:`x` now."),
            true,
        ),
        (
            "role-shell-session",
            role(
                "sh(code)",
                "   :language: shell-session\n",
                "Run :sh:`$ x` now.",
            ),
            true,
        ),
        (
            "role-text",
            role("t(code)", "   :language: text\n", "Run :t:`x` now."),
            true,
        ),
        (
            "role-none",
            role("n(code)", "   :language: None\n", "Run :n:`x` now."),
            true,
        ),
        (
            "role-empty",
            role("e(code)", "   :language:\n", "Run :e:`x` now."),
            true,
        ),
        (
            "role-unknown-unused",
            role("u(code)", "   :language: nosuchlang\n", "No use of it."),
            true,
        ),
        (
            "role-redefined",
            role(
                "r(code)",
                "   :language: nosuchlang\n.. role:: r(code)\n   :language: console\n",
                "Run :r:`$ x` now.",
            ),
            true,
        ),
        (
            "role-chain-fixed",
            role(
                "a(code)",
                "   :language: nosuchlang\n.. role:: b(a)\n   :language: python\n",
                "Run :b:`x` now.",
            ),
            true,
        ),
        (
            "role-unknown",
            role("u(code)", "   :language: nosuchlang\n", "Run :u:`x` now."),
            false,
        ),
        (
            "role-unknown-base-case",
            role("u(CODE)", "   :language: nosuchlang\n", "Run :U:`x` now."),
            false,
        ),
        (
            "role-unknown-suffix",
            role("u(code)", "   :language: nosuchlang\n", "Run `x`:u: now."),
            false,
        ),
        (
            "role-display-name",
            role("u(code)", "   :language: Python 3\n", "Run :u:`x` now."),
            false,
        ),
        (
            "role-chain",
            role(
                "a(code)",
                "   :language: nosuchlang\n.. role:: b(a)\n",
                "Run :b:`x` now.",
            ),
            false,
        ),
        (
            "role-in-list",
            role("u(code)", "   :language: nosuchlang\n", "* Run :u:`x` now."),
            false,
        ),
    ];
    let texts: Vec<(String, String)> = cases
        .iter()
        .map(|(id, text, _)| ((*id).to_owned(), standalone(text)))
        .collect();
    let verdicts = oracle(&texts);
    let mut refusals = Vec::new();
    for ((id, text), (_, _, expected)) in texts.iter().zip(&cases) {
        let theirs = &verdicts[id];
        assert_eq!(theirs.renders, *expected, "{id}: {:?}", theirs.message);
        match verdict(text) {
            Verdict::Refused(message) if !theirs.renders => {
                assert!(
                    message.contains("No Pygments lexer found"),
                    "{id}: {message}"
                );
                refusals.push(format!("{id}: {message}"));
            }
            Verdict::Renders if theirs.renders => {}
            other => panic!("{id}: readme_renderer says {theirs:?}, we say {other:?}"),
        }
    }
    insta::assert_snapshot!("code_language_refusals", refusals.join("\n"));
}

#[test]
fn no_description_readme_renderer_renders_is_refused() {
    let real = real_descriptions();
    assert!(real.len() >= 200, "only {} real descriptions", real.len());
    let corpus = corpus_descriptions();
    assert!(
        corpus.len() >= 100,
        "only {} corpus descriptions",
        corpus.len()
    );
    let mut first: Vec<(String, String)> = real.clone();
    first.extend(corpus.iter().cloned());
    for (name, text) in MUTATIONS {
        first.push((format!("standalone/{name}"), standalone(text)));
    }
    for (name, text) in SAFE {
        first.push((format!("safe/{name}"), standalone(text)));
    }
    let verdicts = oracle(&first);
    for (name, _) in SAFE {
        assert!(
            verdicts[&format!("safe/{name}")].renders,
            "safe case {name} does not render"
        );
    }
    // Each failure added to real descriptions that render (short ones, to keep the test fast).
    let bases: Vec<&(String, String)> = real
        .iter()
        .filter(|(id, text)| verdicts[id].renders && text.len() < 4000)
        .step_by(4)
        .take(12)
        .collect();
    let mut mutated = Vec::new();
    for (base_id, base) in &bases {
        for (name, text) in MUTATIONS.iter().chain(SAFE) {
            mutated.push((
                format!("{base_id}+{name}"),
                format!("{}\n\n{text}", base.trim_end()),
            ));
        }
    }
    let mutated_verdicts = oracle(&mutated);

    let mut real_tally = Tally::default();
    for (id, text) in &real {
        real_tally.add(id, text, &verdicts[id]);
    }
    let mut corpus_tally = Tally::default();
    for (id, text) in &corpus {
        corpus_tally.add(id, text, &verdicts[id]);
    }
    let mut standalone_tally = Tally::default();
    for (id, text) in first.iter().skip(real.len() + corpus.len()) {
        standalone_tally.add(id, text, &verdicts[id]);
    }
    let mut mutated_tally = Tally::default();
    for (id, text) in &mutated {
        mutated_tally.add(id, text, &mutated_verdicts[id]);
    }
    let report = real_tally.summary("real descriptions")
        + &corpus_tally.summary("real-world corpus descriptions")
        + &standalone_tally.summary("standalone cases")
        + &mutated_tally.summary("real descriptions with one failure added");
    print!("{report}");
    std::fs::write(root().join("target/description-differential.txt"), &report).unwrap();

    let false_refusals: Vec<&String> = real_tally
        .false_refusals
        .iter()
        .chain(&corpus_tally.false_refusals)
        .chain(&standalone_tally.false_refusals)
        .chain(&mutated_tally.false_refusals)
        .collect();
    assert!(
        false_refusals.is_empty(),
        "refused although readme_renderer renders them:\n{false_refusals:#?}"
    );
    // Every standalone failure class is recognised with certainty.
    assert_eq!(
        standalone_tally.refused,
        standalone_tally.fails,
        "{}",
        standalone_tally.summary("standalone")
    );
}

/// The directive and role tables equal what the installed docutils (PyPI's version) knows.
#[test]
fn docutils_tables_are_current() {
    let output = Command::new(python())
        .arg(root().join("tests/render_descriptions.py"))
        .arg("--tables")
        .output()
        .unwrap();
    assert!(output.status.success());
    let tables: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let installed = tables["directives"].as_object().unwrap();
    let ours: Vec<&str> = docutils::DIRECTIVES.iter().map(|spec| spec.name).collect();
    assert_eq!(
        ours,
        installed.keys().map(String::as_str).collect::<Vec<_>>(),
        "directive names changed: update src/distribution/rst/docutils.rs"
    );
    for spec in docutils::DIRECTIVES {
        let theirs = &installed[spec.name];
        assert_eq!(
            theirs["required_arguments"], spec.required_arguments,
            "{}",
            spec.name
        );
        assert_eq!(
            theirs["optional_arguments"], spec.optional_arguments,
            "{}",
            spec.name
        );
        assert_eq!(
            theirs["final_argument_whitespace"], spec.final_argument_whitespace,
            "{}",
            spec.name
        );
        assert_eq!(theirs["has_content"], spec.has_content, "{}", spec.name);
        let options: Option<Vec<&str>> = theirs["options"]
            .as_array()
            .map(|list| list.iter().map(|o| o.as_str().unwrap()).collect());
        assert_eq!(options.as_deref(), spec.options, "{}", spec.name);
    }
    let mut ours: Vec<&str> = docutils::ROLES
        .iter()
        .chain(docutils::FAILING_ROLES)
        .copied()
        .collect();
    ours.sort_unstable();
    let theirs: Vec<&str> = tables["roles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    assert_eq!(
        ours, theirs,
        "role names changed: update src/distribution/rst/docutils.rs"
    );
}

/// The embedded lexer names equal what the pinned Pygments (PyPI's version) looks up.
#[test]
fn the_embedded_pygments_lexer_names_are_current() {
    let output = Command::new(python())
        .arg(root().join("scripts/update-pygments-lexers.py"))
        .arg("--print")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        String::from_utf8(output.stdout).unwrap() == pygments::embedded_list(),
        "src/distribution/rst/pygments-lexers.txt is not the lexer list of the pinned pygments (tests/requirements-warehouse.txt): run `target/test-env/venv/bin/python scripts/update-pygments-lexers.py` and commit the file"
    );
}

/// Debugging aid: `DESCRIPTION=path cargo test --test description show -- --ignored --nocapture`
/// prints what the scanner finds in a file (raw metadata or a README).
#[test]
#[ignore = "a tool, not a test"]
fn show() {
    let path = std::env::var("DESCRIPTION").unwrap();
    let text = std::fs::read_to_string(path).unwrap();
    let text = CoreMetadata::parse(&text)
        .ok()
        .and_then(|m| description::rendered_text(&m))
        .filter(|_| text.starts_with("Metadata-Version"))
        .unwrap_or(text);
    for problem in pypi_oidc_publish::distribution::rst::check(&text) {
        println!("{problem:?}");
    }
}
