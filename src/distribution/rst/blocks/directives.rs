//! Directives (`.. name::`) as docutils' `run_directive` checks them: known and enabled on
//! `PyPI`, their arguments, options and content, as far as a failure is certain.

use super::Scanner;
use super::indentation::Block;
use super::lists::field_marker;
use crate::distribution::rst::docutils::{self, DirectiveSpec};
use crate::distribution::rst::{Line, normalize_name};

impl Scanner<'_> {
    pub(super) fn directive(&mut self, name: &str, block: &Block<'_>, number: usize) {
        let Some(spec) = docutils::directive(name) else {
            self.report(number, format!("Unknown directive type \"{name}\" (docutils has no such directive; Sphinx directives such as toctree, automodule, versionadded or literalinclude do not render on PyPI)"));
            return;
        };
        if docutils::DISABLED_DIRECTIVES
            .iter()
            .any(|d| d.eq_ignore_ascii_case(name))
        {
            self.report(number, format!("\"{name}\" directive disabled (PyPI renders with file insertion and raw HTML turned off)"));
            return;
        }
        if spec.name.eq_ignore_ascii_case("role") || spec.name.eq_ignore_ascii_case("default-role")
        {
            self.document.custom_roles = true;
        }
        if spec.name.eq_ignore_ascii_case("role") {
            self.role_definition(&block.lines);
        }
        self.directive_block(spec, &block.lines, number);
    }

    /// `parse_directive_block`: arguments, options, content, as far as a failure is certain.
    fn directive_block(&mut self, spec: &DirectiveSpec, block: &[Line<'_>], number: usize) {
        let mut lines: Vec<Line<'_>> = block.to_vec();
        if lines.first().is_some_and(Line::is_blank) {
            lines.remove(0);
        }
        while lines.last().is_some_and(Line::is_blank) {
            lines.pop();
        }
        let takes_arguments = spec.required_arguments + spec.optional_arguments > 0;
        let split = if !lines.is_empty() && (takes_arguments || spec.options.is_some()) {
            lines.iter().position(Line::is_blank).unwrap_or(lines.len())
        } else {
            0
        };
        let head = &lines[..split];
        let option_start = head
            .iter()
            .position(|line| line.indent == 0 && field_marker(line.text).is_some())
            .filter(|_| spec.options.is_some());
        if let (Some(start), Some(options)) = (option_start, spec.options) {
            for line in head[start..].iter().filter(|line| line.indent == 0) {
                let Some((name_end, body_start)) = field_marker(line.text) else {
                    return self.lost();
                };
                let option = &line.text[1..name_end - 1];
                if option.contains('\\') {
                    return self.lost();
                }
                if option == "name" {
                    self.document
                        .targets
                        .insert(normalize_name(&line.text[body_start..]));
                }
                if option == "target" && line.text.ends_with('_') {
                    self.lost();
                }
                if !options.contains(&option) {
                    self.report(line.number, format!("Error in \"{}\" directive: unknown option: \"{option}\" (docutils' {} takes {}; options such as :linenos: or :caption: are Sphinx's)", spec.name, spec.name, options.join(", ")));
                }
            }
        }
        let argument_lines = &head[..option_start.unwrap_or(head.len())];
        let content: Vec<Line<'_>> = if split == 0 {
            lines.clone()
        } else if !takes_arguments {
            argument_lines
                .iter()
                .chain(&lines[split..])
                .copied()
                .collect()
        } else {
            lines.get(split + 1..).unwrap_or_default().to_vec()
        };
        if takes_arguments {
            let arguments: usize = argument_lines
                .iter()
                .map(|l| l.text.split_whitespace().count())
                .sum();
            if arguments < spec.required_arguments {
                self.report(
                    number,
                    format!(
                        "Error in \"{}\" directive: {} argument(s) required, {arguments} supplied",
                        spec.name, spec.required_arguments
                    ),
                );
                return;
            }
            if arguments > spec.required_arguments + spec.optional_arguments
                && !spec.final_argument_whitespace
            {
                self.report(number, format!("Error in \"{}\" directive: maximum {} argument(s) allowed, {arguments} supplied", spec.name, spec.required_arguments + spec.optional_arguments));
                return;
            }
        }
        self.certain_content(spec, &content, number);
    }

    fn certain_content(&mut self, spec: &DirectiveSpec, content: &[Line<'_>], number: usize) {
        let content: Vec<Line<'_>> = content
            .iter()
            .skip_while(|l| l.is_blank())
            .copied()
            .collect();
        if !content.is_empty() && !spec.has_content {
            self.report(number, format!("Error in \"{}\" directive: no content permitted (indent only its options, then leave a blank line)", spec.name));
            return;
        }
        if spec.parsed_content {
            if content.is_empty() && spec.name != "container" && spec.name != "compound" {
                self.report(
                    number,
                    format!(
                        "Content block expected for the \"{}\" directive; none found",
                        spec.name
                    ),
                );
                return;
            }
            self.nested(&content);
        } else if !matches!(
            spec.name,
            "code"
                | "code-block"
                | "sourcecode"
                | "math"
                | "image"
                | "contents"
                | "sectnum"
                | "section-numbering"
                | "class"
                | "rst-class"
                | "rubric"
                | "title"
                | "unicode"
                | "date"
                | "replace"
                | "target-notes"
        ) {
            // Content we do not parse (tables, figures, ...) may define or reference names.
            self.document.skipped = true;
        }
    }
}
