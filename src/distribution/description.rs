//! The description check of Warehouse's upload (`forklift/legacy.py` ~:903-931 with
//! `utils/readme.py`): without `Description-Content-Type`, or with `text/x-rst`, `PyPI` renders
//! the description as `reStructuredText` with `readme_renderer` and refuses the upload when that
//! fails; `text/markdown` and `text/plain` always render. See [`super::rst`] for what is
//! recognised, and how surely.

use super::CoreMetadata;
use super::rst::{self, Problem};

/// How many problems one message lists.
const SHOWN: usize = 3;

/// What `PyPI` would do with a dist's description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Nothing to render, Markdown or plain text, or `reStructuredText` we find no fault in.
    Renders,
    /// docutils certainly stops: `PyPI` refuses the upload.
    Refused(String),
    /// docutils probably stops, or the scanner could not follow the structure there.
    Doubtful(String),
}

/// The text `PyPI` renders: the description as sent, `None` when `PyPI` renders nothing (no
/// description, or one Warehouse drops: empty or the `UNKNOWN` placeholder).
#[must_use]
pub fn rendered_text(metadata: &CoreMetadata) -> Option<String> {
    let text = metadata.description()?;
    if text.is_empty() || text.trim() == "UNKNOWN" {
        return None;
    }
    // Warehouse escapes NUL before validating the form.
    Some(text.replace('\0', "\\x00"))
}

/// Whether `PyPI` renders the description as `reStructuredText`: no content type (or the
/// `UNKNOWN` placeholder Warehouse drops), or `text/x-rst` with any parameters.
#[must_use]
pub fn renders_as_rst(content_type: Option<&str>) -> bool {
    match content_type.map(str::trim) {
        None | Some("" | "UNKNOWN") => true,
        Some(value) => value
            .split(';')
            .next()
            .is_some_and(|media| media.trim().eq_ignore_ascii_case("text/x-rst")),
    }
}

/// The verdict for one dist's metadata.
#[must_use]
pub fn check(metadata: &CoreMetadata) -> Verdict {
    let content_type = metadata.get("Description-Content-Type");
    if !renders_as_rst(content_type) {
        return Verdict::Renders;
    }
    let Some(text) = rendered_text(metadata) else {
        return Verdict::Renders;
    };
    let problems = rst::check(&text);
    let declared =
        content_type.is_some_and(|value| !value.trim().is_empty() && value.trim() != "UNKNOWN");
    let certain: Vec<&Problem> = problems.iter().filter(|p| p.certain).collect();
    if !certain.is_empty() {
        let quoted = if declared {
            "The description failed to render for 'text/x-rst'."
        } else {
            "The description failed to render in the default format of reStructuredText."
        };
        let advice = if declared {
            "fix the reStructuredText"
        } else {
            "fix the reStructuredText, or if the README is Markdown declare it (`readme = \"README.md\"` in pyproject.toml, or `long_description_content_type=\"text/markdown\"`)"
        };
        return Verdict::Refused(format!(
            "the description does not render as reStructuredText{}, so PyPI refuses the upload (\"{quoted}\"): {}; {advice} and rebuild. Check locally with `python -m twine check dist/*`",
            if declared {
                ""
            } else {
                " (no Description-Content-Type, so PyPI assumes it)"
            },
            list(&certain)
        ));
    }
    let doubtful: Vec<&Problem> = problems.iter().collect();
    if doubtful.is_empty() {
        return Verdict::Renders;
    }
    Verdict::Doubtful(format!(
        "the description may not render as reStructuredText{}, and PyPI refuses an upload whose description does not render: {}; check it with `python -m twine check dist/*` (or `python -m readme_renderer README.rst`) before publishing",
        if declared {
            ""
        } else {
            " (no Description-Content-Type, so PyPI assumes it)"
        },
        list(&doubtful)
    ))
}

fn list(problems: &[&Problem]) -> String {
    let mut shown: Vec<String> = problems
        .iter()
        .take(SHOWN)
        .map(|problem| format!("line {}: {}", problem.line, problem.message))
        .collect();
    if problems.len() > SHOWN {
        shown.push(format!("and {} more", problems.len() - SHOWN));
    }
    shown.join("; ")
}
