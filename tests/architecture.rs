//! The layout rules of docs/architecture.md, checked on the source: the dependencies between the
//! top-level modules of `src/` run one way (no import cycle), and no source file carries more
//! than `MAX_LINES` lines of non-test code (STYLE.md: one concept per module, ~400 lines).
//!
//! A top-level module is `src/NAME.rs` or the folder `src/NAME/`; it uses another when any of its
//! files names `crate::OTHER` (in a `use`, a `use crate::{...}` group or a path). `lib.rs` (the
//! pipeline, which uses every step) and `main.rs` (the binary) sit above the modules and are not
//! part of the graph.

#![cfg(test)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// STYLE.md's guide: when a file passes ~400 lines of code, it is usually two concepts.
const MAX_LINES: usize = 400;

fn source_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every `.rs` file under `dir`, sorted.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|extension| extension == "rs") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// The source without comments and string literals, so that `crate::` in a doc comment or a
/// message is not taken for a dependency.
fn code_only(source: &str) -> String {
    let mut code = String::with_capacity(source.len());
    let mut chars = source.chars().peekable();
    while let Some(character) = chars.next() {
        match character {
            '/' if chars.peek() == Some(&'/') => {
                for next in chars.by_ref() {
                    if next == '\n' {
                        code.push('\n');
                        break;
                    }
                }
            }
            '/' if chars.peek() == Some(&'*') => {
                let mut previous = ' ';
                for next in chars.by_ref() {
                    if previous == '*' && next == '/' {
                        break;
                    }
                    previous = next;
                }
            }
            '"' => {
                let mut escaped = false;
                for next in chars.by_ref() {
                    if next == '"' && !escaped {
                        break;
                    }
                    escaped = next == '\\' && !escaped;
                }
                code.push_str("\"\"");
            }
            // A char literal ('"', '\'') must not open a string; a lifetime ('a) is left alone.
            '\'' => {
                let mut lookahead = chars.clone();
                let literal = matches!(
                    (lookahead.next(), lookahead.next()),
                    (Some('\\'), _) | (Some(_), Some('\''))
                );
                if literal {
                    let mut escaped = false;
                    for next in chars.by_ref() {
                        if next == '\'' && !escaped {
                            break;
                        }
                        escaped = next == '\\' && !escaped;
                    }
                    code.push_str("' '");
                } else {
                    code.push('\'');
                }
            }
            _ => code.push(character),
        }
    }
    code
}

fn identifier_at(text: &str) -> &str {
    let end = text
        .find(|character: char| !(character.is_alphanumeric() || character == '_'))
        .unwrap_or(text.len());
    &text[..end]
}

/// The top-level modules a piece of code names through `crate::`.
fn crate_references(code: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut rest = code;
    while let Some(position) = rest.find("crate::") {
        let before = rest[..position].chars().next_back();
        rest = &rest[position + "crate::".len()..];
        // `$crate::` in a macro, or `some_crate::`: not this crate's path.
        if before.is_some_and(|character| {
            character == '$' || character.is_alphanumeric() || character == '_'
        }) {
            continue;
        }
        let after = rest.trim_start();
        if let Some(group) = after.strip_prefix('{') {
            // `crate::{a, b::{c, d}, e}`: the first name of every entry at the outer level.
            let mut depth = 1;
            let mut entry_start = true;
            let mut index = 0;
            let bytes = group.as_bytes();
            while index < bytes.len() && depth > 0 {
                let character = bytes[index] as char;
                match character {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    ',' if depth == 1 => entry_start = true,
                    _ if character.is_whitespace() => {}
                    _ if entry_start && depth == 1 => {
                        let name = identifier_at(&group[index..]);
                        if !name.is_empty() {
                            names.insert(name.to_owned());
                            index += name.len();
                            entry_start = false;
                            continue;
                        }
                        entry_start = false;
                    }
                    _ => {}
                }
                index += 1;
            }
        } else {
            let name = identifier_at(after);
            if !name.is_empty() {
                names.insert(name.to_owned());
            }
        }
    }
    names
}

/// The top-level module a file belongs to: `src/auth/mod.rs` and `src/auth.rs` -> `auth`.
fn top_level_module(root: &Path, file: &Path) -> String {
    let relative = file.strip_prefix(root).unwrap();
    let first = relative.components().next().unwrap();
    let first = Path::new(first.as_os_str());
    first.file_stem().unwrap().to_string_lossy().into_owned()
}

/// Module -> (used module -> the first file that uses it).
fn dependency_graph(root: &Path) -> BTreeMap<String, BTreeMap<String, PathBuf>> {
    let modules: BTreeSet<String> = rust_files(root)
        .iter()
        .map(|file| top_level_module(root, file))
        .filter(|module| module != "lib" && module != "main")
        .collect();
    let mut graph: BTreeMap<String, BTreeMap<String, PathBuf>> = BTreeMap::new();
    for file in rust_files(root) {
        let module = top_level_module(root, &file);
        if !modules.contains(&module) {
            continue;
        }
        let code = code_only(&std::fs::read_to_string(&file).unwrap());
        let uses = graph.entry(module.clone()).or_default();
        for used in crate_references(&code) {
            if used != module && modules.contains(&used) {
                uses.entry(used).or_insert_with(|| file.clone());
            }
        }
    }
    graph
}

/// A cycle in the graph, as the path of modules that closes it (`a -> b -> a`), if any.
fn find_cycle(graph: &BTreeMap<String, BTreeMap<String, PathBuf>>) -> Option<Vec<String>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        Unvisited,
        OnPath,
        Done,
    }
    fn visit(
        module: &str,
        graph: &BTreeMap<String, BTreeMap<String, PathBuf>>,
        marks: &mut BTreeMap<String, Mark>,
        path: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        marks.insert(module.to_owned(), Mark::OnPath);
        path.push(module.to_owned());
        for used in graph.get(module).into_iter().flat_map(BTreeMap::keys) {
            match marks.get(used).copied().unwrap_or(Mark::Unvisited) {
                Mark::OnPath => {
                    let start = path.iter().position(|name| name == used).unwrap();
                    let mut cycle = path[start..].to_vec();
                    cycle.push(used.clone());
                    return Some(cycle);
                }
                Mark::Unvisited => {
                    if let Some(cycle) = visit(used, graph, marks, path) {
                        return Some(cycle);
                    }
                }
                Mark::Done => {}
            }
        }
        path.pop();
        marks.insert(module.to_owned(), Mark::Done);
        None
    }
    let mut marks = BTreeMap::new();
    for module in graph.keys() {
        if marks.get(module).copied().unwrap_or(Mark::Unvisited) == Mark::Unvisited {
            if let Some(cycle) = visit(module, graph, &mut marks, &mut Vec::new()) {
                return Some(cycle);
            }
        }
    }
    None
}

#[test]
fn the_top_level_modules_depend_on_each_other_one_way() {
    let root = source_root();
    let graph = dependency_graph(&root);
    if let Some(cycle) = find_cycle(&graph) {
        let evidence: Vec<String> = cycle
            .windows(2)
            .map(|pair| {
                let file = &graph[&pair[0]][&pair[1]];
                format!(
                    "  {} uses {} (first in {})",
                    pair[0],
                    pair[1],
                    file.strip_prefix(root.parent().unwrap()).unwrap().display()
                )
            })
            .collect();
        panic!(
            "import cycle between top-level modules of src/: {}\n{}\nmove what both need into the lower module (docs/architecture.md, \"Dependencies run one way\")",
            cycle.join(" -> "),
            evidence.join("\n")
        );
    }
}

/// The files that are test modules of another file (`#[cfg(test)] mod tests;`): all test code.
fn out_of_line_test_modules(root: &Path) -> BTreeSet<PathBuf> {
    let mut test_files = BTreeSet::new();
    for file in rust_files(root) {
        let source = std::fs::read_to_string(&file).unwrap();
        let lines: Vec<&str> = source.lines().map(str::trim).collect();
        for pair in lines.windows(2) {
            if pair[0] != "#[cfg(test)]" {
                continue;
            }
            let Some(name) = pair[1]
                .strip_prefix("mod ")
                .and_then(|rest| rest.strip_suffix(';'))
            else {
                continue;
            };
            // `a/mod.rs` and `a.rs` keep their submodules in `a/`.
            let stem = file.file_stem().unwrap();
            let dir = if stem == "mod" || stem == "lib" {
                file.parent().unwrap().to_path_buf()
            } else {
                file.with_extension("")
            };
            test_files.insert(dir.join(format!("{name}.rs")));
            test_files.insert(dir.join(name).join("mod.rs"));
        }
    }
    test_files
}

/// Lines before the first `#[cfg(test)]` that opens a test module written in the file.
fn non_test_lines(source: &str) -> usize {
    let lines: Vec<&str> = source.lines().collect();
    let mut count = 0;
    for (index, line) in lines.iter().enumerate() {
        if line.trim() == "#[cfg(test)]" {
            let next = lines.get(index + 1).map_or("", |next| next.trim());
            let declared_elsewhere = next.starts_with("mod ") && next.ends_with(';');
            if !declared_elsewhere {
                break;
            }
        }
        count += 1;
    }
    count
}

#[test]
fn no_source_file_carries_more_than_400_lines_of_code() {
    let root = source_root();
    let test_files = out_of_line_test_modules(&root);
    let too_long: Vec<String> = rust_files(&root)
        .into_iter()
        .filter(|file| !test_files.contains(file))
        .filter_map(|file| {
            let lines = non_test_lines(&std::fs::read_to_string(&file).unwrap());
            (lines > MAX_LINES).then(|| {
                format!(
                    "  {}: {lines} lines of non-test code",
                    file.strip_prefix(root.parent().unwrap()).unwrap().display()
                )
            })
        })
        .collect();
    assert!(
        too_long.is_empty(),
        "source files over {MAX_LINES} lines of non-test code (STYLE.md: one concept per module; split by concept, tests move with the code):\n{}",
        too_long.join("\n")
    );
}

#[test]
fn the_reference_parser_reads_groups_paths_and_skips_comments_and_strings() {
    let code = code_only(
        "use crate::{auth::{self, Credentials}, http, report::Report};\n\
         // crate::commented\n\
         let text = \"crate::quoted\";\n\
         let quote = '\"';\n\
         crate::progress::start();\n\
         $crate::macro_path();\n\
         other_crate::thing();\n",
    );
    let names: Vec<String> = crate_references(&code).into_iter().collect();
    assert_eq!(names, ["auth", "http", "progress", "report"]);
}

#[test]
fn a_cycle_is_found_with_its_path() {
    let mut graph: BTreeMap<String, BTreeMap<String, PathBuf>> = BTreeMap::new();
    for (from, to) in [("a", "b"), ("b", "c"), ("c", "b"), ("d", "a")] {
        graph
            .entry(from.to_owned())
            .or_default()
            .insert(to.to_owned(), PathBuf::from(format!("src/{from}.rs")));
    }
    assert_eq!(find_cycle(&graph).unwrap(), ["b", "c", "b"]);
    graph.get_mut("c").unwrap().clear();
    assert_eq!(find_cycle(&graph), None);
}

#[test]
fn test_code_is_not_counted() {
    let source = "fn a() {}\n#[cfg(test)]\nmod tests;\nfn b() {}\n#[cfg(test)]\nmod tests {\n}\n";
    assert_eq!(non_test_lines(source), 4);
}
