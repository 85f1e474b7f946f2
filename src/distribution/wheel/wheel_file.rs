//! The wheel's `WHEEL` file (<https://packaging.python.org/specifications/binary-distribution-format/>):
//! its Wheel-Version, Root-Is-Purelib, Tag and Build lines against the file name, and the
//! expansion of compressed tag sets.

use std::collections::BTreeSet;

use crate::distribution::archive::{Finding, shorten};
use crate::distribution::{CoreMetadata, DistFilename, Inspection};

/// `WHEEL`: `Wheel-Version` 1.x (an error: installers refuse others); `Root-Is-Purelib`, tags
/// and build equal to the file name's (warnings: `PyPI` and installers tolerate them).
pub(super) fn check_wheel_file(
    text: &str,
    member: &str,
    filename: &DistFilename,
    inspection: &mut Inspection,
) {
    let Ok(wheel) = CoreMetadata::parse(text) else {
        inspection.push(Finding::error(
            Some(member),
            "is not a `Key: value` file; rebuild the wheel",
        ));
        return;
    };
    let version_parts: Option<Vec<u32>> = wheel
        .get("Wheel-Version")
        .map(|version| version.split('.').map(|part| part.parse().ok()).collect())
        .unwrap_or_default();
    match (wheel.get("Wheel-Version"), version_parts.as_deref()) {
        (None, _) => inspection.push(Finding::error(
            Some(member),
            "has no Wheel-Version: installers refuse the wheel. Rebuild it with a current build backend",
        )),
        (Some(_), Some([1, ..])) => {}
        (Some(version), _) => inspection.push(Finding::error(
            Some(member),
            format!(
                "Wheel-Version is `{}`, expected 1.x: installers refuse other versions. Rebuild the wheel with a current build backend",
                shorten(version)
            ),
        )),
    }
    // pip and uv read a missing or odd Root-Is-Purelib as false; PyPI does not look.
    match wheel.get("Root-Is-Purelib") {
        None => inspection.push(Finding::warning(
            Some(member),
            "has no Root-Is-Purelib; installers take it as false (platlib). Rebuild the wheel with a current build backend",
        )),
        Some(value) if !matches!(value.to_ascii_lowercase().as_str(), "true" | "false") => {
            inspection.push(Finding::warning(
                Some(member),
                format!(
                    "Root-Is-Purelib is `{}`, expected true or false; installers take it as false",
                    shorten(value)
                ),
            ));
        }
        Some(_) => {}
    }
    let lines: Vec<&str> = wheel.get_all("Tag").collect();
    let line_tags: usize = lines
        .iter()
        .map(|tag| {
            let (python, abi, platform) = tag_fields(tag);
            expanded_count(python, abi, platform)
        })
        .fold(0, usize::saturating_add);
    let name_tags = expanded_count(
        filename.python_tag.as_deref().unwrap_or_default(),
        filename.abi_tag.as_deref().unwrap_or_default(),
        filename.platform_tag.as_deref().unwrap_or_default(),
    );
    if line_tags.max(name_tags) > MAX_EXPANDED_TAGS {
        let (what, count) = if line_tags > MAX_EXPANDED_TAGS {
            ("its Tag lines expand", line_tags)
        } else {
            ("the file name's compressed tag set expands", name_tags)
        };
        inspection.push(Finding::warning(
            Some(member),
            format!(
                "{what} to {count} tags (each `.`-separated part of the python, abi and platform tag multiplies them), more than the {MAX_EXPANDED_TAGS} we compare; real wheels have a handful. The Tag lines were not compared with the file name; rebuild the wheel, or retag it with `wheel tags`"
            ),
        ));
    } else {
        let expected = expand_tags(filename);
        // Expanded on both sides: some builders (maturin) write compressed sets in Tag lines too.
        let found: BTreeSet<String> = lines
            .iter()
            .flat_map(|tag| {
                let (python, abi, platform) = tag_fields(tag);
                expand(python, abi, platform)
            })
            .collect();
        // PyPI and installers go by the file name's tags; a renamed wheel installs as named.
        if found != expected {
            inspection.push(Finding::warning(
                Some(member),
                format!(
                    "its Tag lines ({}) differ from the file name's tags ({}): the wheel was renamed after the build. PyPI and installers go by the file name; retag with `wheel tags` to keep WHEEL in step",
                    shorten(&list_or_none(&found)),
                    shorten(&list_or_none(&expected))
                ),
            ));
        }
    }
    match (wheel.get("Build"), filename.build_tag.as_deref()) {
        (Some(inside), Some(outside)) if inside != outside => inspection.push(Finding::warning(
            Some(member),
            format!(
                "Build is `{}` but the file name's build tag is `{outside}`: the wheel was renamed after the build; PyPI and installers go by the file name",
                shorten(inside)
            ),
        )),
        (Some(inside), None) => inspection.push(Finding::warning(
            Some(member),
            format!(
                "Build is `{}` but the file name has no build tag: the wheel was renamed after the build; PyPI and installers go by the file name",
                shorten(inside)
            ),
        )),
        _ => {}
    }
}

/// The most tags a message lists; the rest are counted.
const SHOWN_TAGS: usize = 8;

fn list_or_none(tags: &BTreeSet<String>) -> String {
    if tags.is_empty() {
        return "none".to_owned();
    }
    let mut shown: Vec<String> = tags.iter().take(SHOWN_TAGS).cloned().collect();
    if tags.len() > SHOWN_TAGS {
        shown.push(format!("and {} more", tags.len() - SHOWN_TAGS));
    }
    shown.join(", ")
}

/// The most tags the file name's compressed set, or all Tag lines together, may expand to
/// before we stop comparing them: each field's `.`-separated parts multiply, so a 1.7 KB
/// wheel with 150 parts per field expanded to 3.4 million tags (430 MB). The largest real sets
/// (manylinux wheels of the corpus) expand to 4; a wheel for many `CPython` versions to a few
/// dozen. `PyPI` expands the file name's set without a limit (`packaging.utils.
/// parse_wheel_filename`) and never reads the Tag lines, so past the limit it is a warning.
const MAX_EXPANDED_TAGS: usize = 10_000;

/// The python, abi and platform fields of one `Tag:` value.
fn tag_fields(tag: &str) -> (&str, &str, &str) {
    let mut parts = tag.splitn(3, '-');
    (
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
    )
}

/// How many tags a compressed set expands to, at most (duplicates counted), without
/// expanding it.
fn expanded_count(python: &str, abi: &str, platform: &str) -> usize {
    [python, abi, platform]
        .iter()
        .map(|field| field.split('.').count())
        .fold(1, usize::saturating_mul)
}

/// The file name's compressed tag sets expanded: `py2.py3-none-any` -> py2-none-any, py3-none-any.
/// Callers bound the size first ([`MAX_EXPANDED_TAGS`]): a file name of 246 bytes may expand
/// to some 60 000 tags.
#[must_use]
pub fn expand_tags(filename: &DistFilename) -> BTreeSet<String> {
    expand(
        filename.python_tag.as_deref().unwrap_or_default(),
        filename.abi_tag.as_deref().unwrap_or_default(),
        filename.platform_tag.as_deref().unwrap_or_default(),
    )
}

fn expand(python: &str, abi: &str, platform: &str) -> BTreeSet<String> {
    let mut tags = BTreeSet::new();
    for python in python.split('.') {
        for abi in abi.split('.') {
            for platform in platform.split('.') {
                tags.insert(format!("{python}-{abi}-{platform}"));
            }
        }
    }
    tags
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::distribution::archive::Severity;

    #[test]
    fn wheel_file_tags_compare_expanded() {
        let filename = DistFilename::parse(
            "demo-1.0-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
        )
        .unwrap();
        let check = |text: &str| {
            let mut inspection = Inspection::default();
            check_wheel_file(text, "demo-1.0.dist-info/WHEEL", &filename, &mut inspection);
            inspection.findings
        };
        // maturin writes the compressed set in one Tag line; setuptools one line per tag.
        let compressed = "Wheel-Version: 1.0\nRoot-Is-Purelib: false\nTag: cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64\n";
        assert_eq!(check(compressed), vec![]);
        let expanded = "Wheel-Version: 1.0\nRoot-Is-Purelib: false\nTag: cp311-cp311-manylinux_2_17_x86_64\nTag: cp311-cp311-manylinux2014_x86_64\n";
        assert_eq!(check(expanded), vec![]);
        let renamed = "Wheel-Version: 2.0\nTag: py3-none-any\n";
        let found: Vec<(Severity, String)> = check(renamed)
            .into_iter()
            .map(|f| (f.severity, f.message))
            .collect();
        assert_eq!(found.len(), 3, "{found:#?}");
        assert_eq!(found[0].0, Severity::Error);
        assert!(found[0].1.contains("Wheel-Version is `2.0`"));
        // What PyPI and installers tolerate is advice.
        assert_eq!(found[1].0, Severity::Warning);
        assert!(found[1].1.contains("no Root-Is-Purelib"));
        assert_eq!(found[2].0, Severity::Warning);
        assert!(found[2].1.contains("(py3-none-any) differ from"));
        let odd_version = "Wheel-Version: 1.x\nRoot-Is-Purelib: true\nTag: cp311-cp311-manylinux_2_17_x86_64\nTag: cp311-cp311-manylinux2014_x86_64\n";
        assert_eq!(check(odd_version).len(), 1);
    }

    /// A Tag line of 150 parts per field expanded to 3.4 million tags (430 MB, a 46 MB
    /// message); past the bound it is a warning, nothing is expanded, and lists are short.
    /// The one finding `check_wheel_file` makes of the WHEEL file `text`.
    fn only_finding(text: &str, filename: &DistFilename) -> Finding {
        let mut inspection = Inspection::default();
        check_wheel_file(text, "demo-1.0.dist-info/WHEEL", filename, &mut inspection);
        let [finding] = inspection.findings.as_slice() else {
            panic!("{:#?}", inspection.findings);
        };
        finding.clone()
    }

    #[test]
    fn huge_compressed_tag_sets_are_not_expanded() {
        let filename = DistFilename::parse("demo-1.0-py3-none-any.whl").unwrap();
        let parts = |prefix: &str| {
            (0..150)
                .map(|n| format!("{prefix}{n}"))
                .collect::<Vec<_>>()
                .join(".")
        };
        let text = format!(
            "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: {}-{}-{}\n",
            parts("cp3"),
            parts("abi"),
            parts("linux_")
        );
        let finding = only_finding(&text, &filename);
        assert_eq!(finding.severity, Severity::Warning);
        assert!(
            finding
                .message
                .starts_with("its Tag lines expand to 3375000 tags"),
            "{}",
            finding.message
        );
        // Under the bound, the difference is listed, shortened.
        let text = format!(
            "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: {}-none-any\n",
            parts("cp3")
        );
        let finding = only_finding(&text, &filename);
        assert!(
            finding.message.contains("and 142 more"),
            "{}",
            finding.message
        );
        assert!(finding.message.len() < 600, "{}", finding.message);
    }

    #[test]
    fn tags_expand() {
        let filename = DistFilename::parse("demo-1.0-py2.py3-none-any.whl").unwrap();
        assert_eq!(
            expand_tags(&filename).into_iter().collect::<Vec<_>>(),
            ["py2-none-any", "py3-none-any"]
        );
    }
}
