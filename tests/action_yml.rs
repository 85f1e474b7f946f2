//! action.yml is the action's public interface: every input and output in it must be one the
//! binary reads or writes (the INPUTS/OUTPUTS tables of src/inputs/spec.rs), with the same default and
//! description, and the other way round. The README table and the example workflows are held to
//! the same names.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stderr,
    reason = "helpers outside #[test] fns (and tests/support) fail loudly; skips and sizes are reported on stderr"
)]

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use pypi_oidc_publish::inputs::{INPUTS, InputKind, InputSpec, OUTPUTS, deprecation_message};
use serde::Deserialize;
use support::{Workspace, repo_root};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ActionYml {
    name: String,
    description: String,
    author: Option<String>,
    branding: Branding,
    inputs: BTreeMap<String, Input>,
    outputs: BTreeMap<String, Output>,
    runs: Runs,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Branding {
    icon: String,
    color: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(rename_all = "camelCase")]
struct Input {
    description: String,
    required: bool,
    default: Option<String>,
    deprecation_message: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Output {
    description: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Runs {
    using: String,
    image: String,
}

fn action() -> ActionYml {
    let text = std::fs::read_to_string(repo_root().join("action.yml")).unwrap();
    serde_norway::from_str(&text).unwrap()
}

#[test]
fn every_input_of_the_binary_is_in_action_yml_with_the_same_default_and_description() {
    let action = action();
    for spec in INPUTS {
        let input = action.inputs.get(spec.name).unwrap_or_else(|| {
            panic!(
                "input `{}` is read by the binary but missing from action.yml",
                spec.name
            )
        });
        assert_eq!(
            input.description, spec.description,
            "description of `{}`",
            spec.name
        );
        assert!(
            !input.required,
            "`{}`: every input has a default, none is required",
            spec.name
        );
        assert!(input.deprecation_message.is_none(), "`{}`", spec.name);
        let Some(alias) = spec.alias else {
            assert_eq!(
                input.default.as_deref(),
                Some(spec.default),
                "default of `{}`",
                spec.name
            );
            continue;
        };
        // The runner passes every declared input with its default: a default on either
        // spelling would hide the other, so the binary applies it (and the description says it).
        assert_eq!(
            input.default, None,
            "`{}` has the deprecated alias `{alias}`: its default lives in the binary",
            spec.name
        );
        assert!(
            spec.description
                .ends_with(&format!("Default: `{}`.", spec.default)),
            "the description of `{}` must name its default",
            spec.name
        );
        let declared = action
            .inputs
            .get(alias)
            .unwrap_or_else(|| panic!("`{alias}` (pypa's spelling of `{}`) is missing", spec.name));
        assert_eq!(declared.default, None, "`{alias}` must have no default");
        assert!(!declared.required);
        assert_eq!(
            declared.deprecation_message.as_deref(),
            Some(deprecation_message(spec.name).as_str()),
            "`{alias}`: the deprecation message pypa gives it"
        );
        assert!(declared.description.starts_with("[DEPRECATED] "), "{alias}");
    }
}

/// The spec an action.yml input name belongs to (an alias belongs to its canonical input).
fn spec_of(name: &str) -> Option<&'static InputSpec> {
    INPUTS
        .iter()
        .find(|spec| spec.name == name || spec.alias == Some(name))
}

#[test]
fn every_input_in_action_yml_is_read_by_the_binary() {
    let extra: Vec<String> = action()
        .inputs
        .into_keys()
        .filter(|name| spec_of(name).is_none())
        .collect();
    assert!(
        extra.is_empty(),
        "action.yml declares inputs the binary never reads: {extra:?}"
    );
}

#[test]
fn outputs_match_both_ways() {
    let action = action();
    let declared: BTreeMap<&str, &str> = action
        .outputs
        .iter()
        .map(|(name, output)| (name.as_str(), output.description.as_str()))
        .collect();
    let written: BTreeMap<&str, &str> = OUTPUTS.iter().copied().collect();
    assert_eq!(declared, written, "action.yml outputs vs OUTPUTS");
}

#[test]
fn the_binary_writes_exactly_the_declared_outputs() {
    let workspace = Workspace::new().with_sample_dists();
    let run = workspace.run(&[("INPUT_DRY-RUN", "true")]);
    assert_eq!(run.code, Some(0), "{}\n{}", run.stdout, run.stderr);
    let mut written = BTreeSet::new();
    let mut lines = run.github_output.lines();
    while let Some(line) = lines.next() {
        if let Some((name, delimiter)) = line.split_once("<<") {
            written.insert(name.to_owned());
            for next in lines.by_ref() {
                if next == delimiter {
                    break;
                }
            }
        } else if let Some((name, _)) = line.split_once('=') {
            written.insert(name.to_owned());
        }
    }
    let declared: BTreeSet<String> = action().outputs.into_keys().collect();
    assert_eq!(written, declared, "outputs written by a dry run");
}

/// Each input, given a value the binary must refuse, makes it fail naming that input: proof that
/// the binary really reads the name action.yml passes (`INPUT_<NAME>`, hyphens kept).
#[test]
fn the_binary_reads_every_input_under_its_action_yml_name() {
    let refused: BTreeMap<&str, &str> = [
        ("repository-url", "not a url"),
        ("packages-dir", "no-such-folder"),
        ("verify-metadata", "maybe"),
        ("check-url", "ftp://example.com/"),
        ("skip-existing", "maybe"),
        ("verbose", "maybe"),
        ("print-hash", "maybe"),
        ("attestations", "maybe"),
        ("release", "maybe"),
        ("tag", "v1 2"),
        ("changelog", "no-such-changelog.md"),
        ("prerelease", "maybe"),
        ("draft", "maybe"),
        ("release-assets", "maybe"),
        ("make-latest", "maybe"),
        ("check-version", "maybe"),
        ("dry-run", "maybe"),
        ("upload-concurrency", "0"),
        ("file-size-limit", "big"),
        ("fulcio-url", "not a url"),
        ("rekor-url", "not a url"),
    ]
    .into_iter()
    .collect();
    // Free text without a refusable value, checked through the flag table instead.
    let unrefusable = ["user", "password", "github-token"];
    let workspace = Workspace::new().with_sample_dists();
    for name in action().inputs.keys() {
        if unrefusable.contains(&name.as_str()) {
            continue;
        }
        // A deprecated alias is refused under its canonical name.
        let canonical = spec_of(name).map_or(name.as_str(), |spec| spec.name);
        let value = refused
            .get(canonical)
            .unwrap_or_else(|| panic!("add a refused value for the new input `{name}`"));
        // The variable the runner sets: upper case, hyphens kept.
        let variable = format!("INPUT_{}", name.to_ascii_uppercase());
        let run = workspace.run(&[(variable.as_str(), value), ("INPUT_DRY-RUN", "true")]);
        if name == "dry-run" {
            // The override above is the value under test here.
            let run = workspace.run(&[(variable.as_str(), value)]);
            assert_eq!(run.code, Some(2), "{name}: {}", run.stdout);
            assert!(run.stdout.contains(&format!("input `{name}`")), "{name}");
            continue;
        }
        assert_eq!(run.code, Some(2), "`{name}={value}` must be refused");
        assert!(
            run.stdout.contains(&format!("input `{canonical}`")),
            "the error must name `{canonical}`:\n{}",
            run.stdout
        );
    }
    let help = std::process::Command::new(support::BINARY)
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    for spec in INPUTS {
        let flag = format!("--{}", spec.name);
        match spec.kind {
            InputKind::Secret => assert!(!help.contains(&flag), "secret `{}` as a flag", spec.name),
            InputKind::Text | InputKind::Boolean => {
                assert!(help.contains(&flag), "`{flag}` missing from --help");
            }
        }
    }
}

#[test]
fn runs_a_prebuilt_image_of_this_version() {
    let action = action();
    assert_eq!(action.runs.using, "docker");
    let prefix = format!(
        "docker://ghcr.io/owner/pypi-oidc-publish:v{}",
        env!("CARGO_PKG_VERSION")
    );
    let rest = action.runs.image.strip_prefix(&prefix).unwrap_or_else(|| {
        panic!(
            "runs.image must be {prefix} (a prebuilt image, never a Dockerfile): {}",
            action.runs.image
        )
    });
    if !rest.is_empty() {
        let digest = rest.strip_prefix("@sha256:").unwrap_or_default();
        assert!(
            digest.len() == 64 && digest.bytes().all(|b| b.is_ascii_hexdigit()),
            "only a digest may follow the tag: {rest}"
        );
    }
    assert!(!action.name.is_empty() && !action.description.is_empty());
    assert!(action.description.len() <= 125, "Marketplace limit");
    assert!(!action.branding.icon.is_empty() && !action.branding.color.is_empty());
    assert!(action.author.is_some());
}

/// The README's inputs table lists the same inputs, with the same literal defaults.
#[test]
fn readme_inputs_table_agrees_with_action_yml() {
    let readme = std::fs::read_to_string(repo_root().join("README.md")).unwrap();
    let section = readme
        .split("\n## Inputs\n")
        .nth(1)
        .expect("README has an `## Inputs` section")
        .split("\n## ")
        .next()
        .unwrap();
    let mut rows = BTreeMap::new();
    for line in section.lines() {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        if cells.len() < 4 {
            continue;
        }
        if let Some(name) = cells[1]
            .strip_prefix('`')
            .and_then(|cell| cell.strip_suffix('`'))
        {
            rows.insert(name.to_owned(), cells[2].to_owned());
        }
    }
    let action = action();
    let names: BTreeSet<&String> = action
        .inputs
        .keys()
        .filter(|name| spec_of(name).is_some_and(|spec| spec.name == name.as_str()))
        .collect();
    assert_eq!(
        rows.keys().collect::<BTreeSet<_>>(),
        names,
        "README inputs table vs action.yml (deprecated aliases are listed below the table)"
    );
    for name in names {
        let spec = spec_of(name).unwrap();
        let cell = &rows[name];
        if spec.default.is_empty() {
            assert!(
                !cell.starts_with('`'),
                "`{name}` has no literal default; README says {cell}"
            );
        } else {
            assert_eq!(
                cell,
                &format!("`{}`", spec.default),
                "README default of `{name}`"
            );
        }
        if let Some(alias) = spec.alias {
            assert!(
                section.contains(&format!("`{alias}`")),
                "README's Inputs section does not mention the deprecated `{alias}`"
            );
        }
    }
    let outputs = readme
        .split("\n## Outputs\n")
        .nth(1)
        .expect("README has an `## Outputs` section");
    for name in action.outputs.keys() {
        assert!(
            outputs.contains(&format!("`{name}`")),
            "README does not list output `{name}`"
        );
    }
}

/// Every `with:` key given to this action in the example workflows (and this repository's own
/// workflows) is a declared input: a typo there would be ignored by the runner with a warning.
#[test]
fn workflows_pass_only_declared_inputs() {
    let action = action();
    let mut checked = 0;
    for folder in ["examples/workflows", ".github/workflows"] {
        let Ok(entries) = std::fs::read_dir(repo_root().join(folder)) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|ext| ext == "yml") {
                checked += check_workflow(&path, &action);
            }
        }
    }
    assert!(
        checked >= 4,
        "expected the example workflows to use the action ({checked} uses)"
    );
}

fn check_workflow(path: &Path, action: &ActionYml) -> usize {
    let text = std::fs::read_to_string(path).unwrap();
    let workflow: serde_norway::Value = serde_norway::from_str(&text).unwrap();
    let mut uses = 0;
    let jobs = workflow["jobs"].as_mapping().unwrap();
    for (job_name, job) in jobs {
        let Some(steps) = job["steps"].as_sequence() else {
            continue;
        };
        for step in steps {
            let Some(target) = step["uses"].as_str() else {
                continue;
            };
            if !(target.starts_with("OWNER/pypi-oidc-publish@") || target == "./") {
                continue;
            }
            uses += 1;
            if let Some(with) = step["with"].as_mapping() {
                for key in with.keys() {
                    let key = key.as_str().unwrap();
                    assert!(
                        action.inputs.contains_key(key),
                        "{}: job {job_name:?} passes unknown input `{key}`",
                        path.display()
                    );
                }
            }
        }
    }
    uses
}

/// The titles of the `::error`/`::warning` annotations the program prints: the string literal
/// first argument of every `Console::error`/`Console::warning` call, and `error_title`'s answers.
fn printed_titles() -> BTreeSet<String> {
    let mut titles = BTreeSet::new();
    let mut files = vec![repo_root().join("src")];
    while let Some(path) = files.pop() {
        if path.is_dir() {
            files.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
            continue;
        }
        if path.extension().is_none_or(|ext| ext != "rs") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        for call in ["Console::error(", "Console::warning("] {
            for (at, _) in text.match_indices(call) {
                let rest = text[at + call.len()..].trim_start();
                if let Some(literal) = rest.strip_prefix('"') {
                    titles.insert(literal[..literal.find('"').unwrap()].to_owned());
                }
            }
        }
        if let Some(at) = text.find("pub fn error_title(") {
            let body = &text[at..];
            let body = &body[..body.find("\n}").unwrap_or(body.len())];
            for piece in body.split('"').skip(1).step_by(2) {
                titles.insert(piece.to_owned());
            }
        }
    }
    titles
}

#[test]
fn readme_troubleshooting_explains_every_title_the_program_prints() {
    let readme = std::fs::read_to_string(repo_root().join("README.md")).unwrap();
    let section = readme
        .split("\n## Troubleshooting\n")
        .nth(1)
        .expect("README has a `## Troubleshooting` section")
        .split("\n## ")
        .next()
        .unwrap();
    let titles = printed_titles();
    assert!(titles.len() >= 5, "title scan found too little: {titles:?}");
    let missing: Vec<&String> = titles
        .iter()
        .filter(|title| !section.contains(&format!("**{title}**")))
        .collect();
    assert!(
        missing.is_empty(),
        "README's Troubleshooting has no entry (as **Title**) for: {missing:?}"
    );
}

/// The README's quick start is the example workflow, verbatim.
#[test]
fn readme_quick_start_is_the_example_workflow() {
    let readme = std::fs::read_to_string(repo_root().join("README.md")).unwrap();
    let example =
        std::fs::read_to_string(repo_root().join("examples/workflows/publish.yml")).unwrap();
    assert!(
        readme.contains(&format!("```yaml\n{example}```")),
        "README's `Use in a workflow` block differs from examples/workflows/publish.yml"
    );
}

/// The workflows follow the hardening the project asks of itself and shows its users: every
/// action pinned by a full commit SHA (this action itself in the examples excepted), checkouts
/// without persisted credentials, and least-privilege `permissions:` on every job under an
/// empty workflow default.
#[test]
fn workflows_pin_actions_by_sha_and_grant_least_privilege() {
    let mut problems = Vec::new();
    let mut files = 0;
    for folder in ["examples/workflows", ".github/workflows"] {
        for entry in std::fs::read_dir(repo_root().join(folder)).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|ext| ext != "yml") {
                continue;
            }
            files += 1;
            let name = format!("{folder}/{}", path.file_name().unwrap().to_string_lossy());
            let workflow: serde_norway::Value =
                serde_norway::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            if workflow["permissions"]
                .as_mapping()
                .is_none_or(|map| !map.is_empty())
            {
                problems.push(format!("{name}: top-level `permissions: {{}}` expected"));
            }
            for (job_name, job) in workflow["jobs"].as_mapping().unwrap() {
                let job_name = job_name.as_str().unwrap();
                if job["permissions"].as_mapping().is_none() {
                    problems.push(format!("{name}: job `{job_name}` has no `permissions:`"));
                }
                for step in job["steps"].as_sequence().into_iter().flatten() {
                    let Some(target) = step["uses"].as_str() else {
                        continue;
                    };
                    if target == "./" || target.starts_with("OWNER/pypi-oidc-publish@") {
                        continue;
                    }
                    let pinned = target.split_once('@').is_some_and(|(_, version)| {
                        version.len() == 40 && version.bytes().all(|b| b.is_ascii_hexdigit())
                    });
                    if !pinned {
                        problems.push(format!("{name}: `{target}` is not pinned by commit SHA"));
                    }
                    if target.starts_with("actions/checkout@")
                        && step["with"]["persist-credentials"].as_bool() != Some(false)
                    {
                        problems.push(format!(
                            "{name}: job `{job_name}` checks out with persisted credentials"
                        ));
                    }
                }
            }
        }
    }
    assert!(
        files >= 6,
        "expected ci, release and four examples, found {files}"
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
