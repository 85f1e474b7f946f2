//! What docutils 0.23 (the version `PyPI` renders descriptions with) knows: its directives with
//! their argument and option rules, and its interpreted-text roles. The differential test
//! (`tests/description.rs`) compares these tables with the installed docutils and fails when
//! they are stale.

/// A directive's shape: how many arguments, whether content is allowed, which options.
#[derive(Debug, Clone, Copy)]
pub struct DirectiveSpec {
    pub name: &'static str,
    pub required_arguments: usize,
    pub optional_arguments: usize,
    pub final_argument_whitespace: bool,
    pub has_content: bool,
    /// `None`: docutils permits no options at all.
    pub options: Option<&'static [&'static str]>,
    /// The content is parsed as `reStructuredText` body elements (admonitions and the like).
    pub parsed_content: bool,
}

const fn spec(
    name: &'static str,
    (required_arguments, optional_arguments, final_argument_whitespace): (usize, usize, bool),
    has_content: bool,
    options: Option<&'static [&'static str]>,
    parsed_content: bool,
) -> DirectiveSpec {
    DirectiveSpec {
        name,
        required_arguments,
        optional_arguments,
        final_argument_whitespace,
        has_content,
        options,
        parsed_content,
    }
}

const CLASS_NAME: &[&str] = &["class", "name"];
const CODE: &[&str] = &["class", "name", "number-lines"];
const IMAGE: &[&str] = &[
    "align", "alt", "class", "height", "loading", "name", "scale", "target", "width",
];
const FIGURE: &[&str] = &[
    "align", "alt", "class", "figclass", "figname", "figwidth", "height", "loading", "name",
    "scale", "target", "width",
];
const CSV_TABLE: &[&str] = &[
    "align",
    "class",
    "delim",
    "encoding",
    "escape",
    "file",
    "header",
    "header-rows",
    "keepspace",
    "name",
    "quote",
    "stub-columns",
    "url",
    "width",
    "widths",
];
const INCLUDE: &[&str] = &[
    "class",
    "code",
    "encoding",
    "end-before",
    "end-line",
    "literal",
    "name",
    "number-lines",
    "parser",
    "start-after",
    "start-line",
    "tab-width",
];
const LIST_TABLE: &[&str] = &[
    "align",
    "class",
    "header-rows",
    "name",
    "stub-columns",
    "width",
    "widths",
];
const SECTNUM: &[&str] = &["depth", "prefix", "start", "suffix"];

/// Every directive docutils registers under an English name (names are case-insensitive).
pub const DIRECTIVES: &[DirectiveSpec] = &[
    spec("admonition", (1, 0, true), true, Some(CLASS_NAME), true),
    spec("attention", (0, 0, true), true, Some(CLASS_NAME), true),
    spec("caution", (0, 0, true), true, Some(CLASS_NAME), true),
    spec("class", (1, 0, true), true, None, false),
    spec("code", (0, 1, false), true, Some(CODE), false),
    spec("code-block", (0, 1, false), true, Some(CODE), false),
    spec("compound", (0, 0, false), true, Some(CLASS_NAME), true),
    spec("container", (0, 1, true), true, Some(&["name"]), true),
    spec(
        "contents",
        (0, 1, true),
        false,
        Some(&["backlinks", "class", "depth", "local"]),
        false,
    ),
    spec("csv-table", (0, 1, true), true, Some(CSV_TABLE), false),
    spec("danger", (0, 0, true), true, Some(CLASS_NAME), true),
    spec("date", (0, 0, false), true, None, false),
    spec("default-role", (0, 1, false), false, None, false),
    spec("epigraph", (0, 0, false), true, None, true),
    spec("error", (0, 0, true), true, Some(CLASS_NAME), true),
    spec("figure", (1, 0, true), true, Some(FIGURE), false),
    spec("footer", (0, 0, false), true, None, false),
    spec("header", (0, 0, false), true, None, false),
    spec("highlights", (0, 0, false), true, None, true),
    spec("hint", (0, 0, true), true, Some(CLASS_NAME), true),
    spec("image", (1, 0, true), false, Some(IMAGE), false),
    spec("important", (0, 0, true), true, Some(CLASS_NAME), true),
    spec("include", (1, 0, true), false, Some(INCLUDE), false),
    spec("line-block", (0, 0, false), true, Some(CLASS_NAME), false),
    spec("list-table", (0, 1, true), true, Some(LIST_TABLE), false),
    spec("math", (0, 0, false), true, Some(CLASS_NAME), false),
    spec("meta", (0, 0, false), true, None, false),
    spec("note", (0, 0, true), true, Some(CLASS_NAME), true),
    spec(
        "parsed-literal",
        (0, 0, false),
        true,
        Some(CLASS_NAME),
        false,
    ),
    spec("pull-quote", (0, 0, false), true, None, true),
    spec(
        "raw",
        (1, 0, true),
        true,
        Some(&["class", "encoding", "file", "url"]),
        false,
    ),
    spec("replace", (0, 0, false), true, None, false),
    spec(
        "restructuredtext-test-directive",
        (0, 1, true),
        true,
        Some(&["option"]),
        false,
    ),
    spec("role", (0, 0, false), true, None, false),
    spec("rst-class", (1, 0, true), true, None, false),
    spec("rubric", (1, 0, true), false, Some(CLASS_NAME), false),
    spec(
        "section-numbering",
        (0, 0, false),
        false,
        Some(SECTNUM),
        false,
    ),
    spec("sectnum", (0, 0, false), false, Some(SECTNUM), false),
    spec(
        "sidebar",
        (0, 1, true),
        true,
        Some(&["class", "name", "subtitle"]),
        true,
    ),
    spec("sourcecode", (0, 1, false), true, Some(CODE), false),
    spec(
        "table",
        (0, 1, true),
        true,
        Some(&["align", "class", "name", "width", "widths"]),
        false,
    ),
    spec(
        "target-notes",
        (0, 0, false),
        false,
        Some(&["class"]),
        false,
    ),
    spec("tip", (0, 0, true), true, Some(CLASS_NAME), true),
    spec("title", (1, 0, true), false, None, false),
    spec("topic", (1, 0, true), true, Some(CLASS_NAME), true),
    spec(
        "unicode",
        (1, 0, true),
        false,
        Some(&["ltrim", "rtrim", "trim"]),
        false,
    ),
    spec("warning", (0, 0, true), true, Some(CLASS_NAME), true),
];

/// Directives `PyPI`'s settings disable (`file_insertion_enabled` and `raw_enabled` are off):
/// docutils answers them with a warning, which halts the render.
pub const DISABLED_DIRECTIVES: &[&str] = &["include", "raw"];

/// Roles that render (English names and canonical names, case-insensitive; `pep` and `rfc`
/// only with a number, which is not checked).
pub const ROLES: &[&str] = &[
    "ab",
    "abbreviation",
    "ac",
    "acronym",
    "code",
    "emphasis",
    "literal",
    "math",
    "pep",
    "pep-reference",
    "rfc",
    "rfc-reference",
    "strong",
    "sub",
    "subscript",
    "sup",
    "superscript",
    "t",
    "title",
    "title-reference",
];

/// Roles docutils knows but answers with an error (`i`, `uri` and `url` are aliases of the
/// unimplemented `index` and `uri-reference`) or, for `raw`, a warning (disabled).
pub const FAILING_ROLES: &[&str] = &[
    "anonymous-reference",
    "citation-reference",
    "footnote-reference",
    "i",
    "index",
    "named-reference",
    "raw",
    "restructuredtext-unimplemented-role",
    "substitution-reference",
    "target",
    "uri",
    "uri-reference",
    "url",
];

#[must_use]
pub fn directive(name: &str) -> Option<&'static DirectiveSpec> {
    DIRECTIVES
        .iter()
        .find(|spec| spec.name.eq_ignore_ascii_case(name))
}

/// Whether a role renders; `None` when docutils does not know it at all.
#[must_use]
pub fn role_renders(name: &str) -> Option<bool> {
    if ROLES.iter().any(|role| role.eq_ignore_ascii_case(name)) {
        Some(true)
    } else if FAILING_ROLES
        .iter()
        .any(|role| role.eq_ignore_ascii_case(name))
    {
        Some(false)
    } else {
        None
    }
}
