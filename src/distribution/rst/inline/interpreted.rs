//! Interpreted text (`` `text` `` with an optional `:role:` prefix or suffix): where it ends,
//! whether it is a phrase reference instead, and whether `PyPI`'s docutils knows the role.

use super::{Fit, Inline};
use crate::distribution::rst::docutils;

impl Inline<'_> {
    /// Interpreted text (with a role) or a phrase reference.
    pub(super) fn interpreted(
        &mut self,
        start: usize,
        backquote: usize,
        prefix_role: Option<String>,
    ) -> usize {
        let content = backquote + 1;
        if prefix_role.is_none() && self.quoted(start, content) {
            return content;
        }
        let Some((end, after, suffix_role, underscores)) = self.interpreted_end(content) else {
            self.report(start, "Inline interpreted text or phrase reference start-string without end-string (an unmatched `` ` ``; use ``double backquotes`` for code)");
            return content;
        };
        let text: String = self.text[content..end].iter().collect();
        if prefix_role.is_some() && suffix_role.is_some() {
            self.report(start, "Multiple roles in interpreted text (both prefix and suffix present; only one allowed)");
            return after;
        }
        let role = prefix_role.or(suffix_role);
        if underscores > 0 {
            if role.is_some() {
                self.report(
                    start,
                    "Mismatch: both interpreted text role and reference suffix",
                );
                return after;
            }
            self.phrase_reference(start, &text, underscores == 2);
            return after;
        }
        if let Some(role) = role {
            self.check_role(start, &role);
        }
        after
    }

    fn interpreted_end(&mut self, from: usize) -> Option<(usize, usize, Option<String>, usize)> {
        for position in from..self.text.len() {
            if self.text[position] != '`' {
                continue;
            }
            if position > from {
                let before = self.text[position - 1];
                let escaped_before = position >= from + 2 && self.text[position - 2] == '\0';
                if (before.is_whitespace() || before == '\0') && !escaped_before {
                    continue;
                }
            }
            // `:role:` suffix, then `_` or `__`, each optional, longest first.
            let mut options: Vec<(usize, Option<String>)> = Vec::new();
            if self.at(position + 1) == Some(':') {
                if let Some(end) = self
                    .simplename(position + 2)
                    .filter(|end| self.at(*end) == Some(':'))
                {
                    options.push((end + 1, Some(self.text[position + 2..end].iter().collect())));
                }
            }
            options.push((position + 1, None));
            for (after_role, role) in options {
                for underscores in [2, 1, 0] {
                    let end = after_role + underscores;
                    if underscores > 0
                        && !self
                            .text
                            .get(after_role..end)
                            .is_some_and(|s| s.iter().all(|c| *c == '_'))
                    {
                        continue;
                    }
                    match self.suffix_fits(end) {
                        Fit::Yes => {
                            if position == from {
                                return None;
                            }
                            return Some((position, end, role, underscores));
                        }
                        Fit::Unknown => self.certain = false,
                        Fit::No => {}
                    }
                }
            }
        }
        None
    }

    fn check_role(&mut self, start: usize, role: &str) {
        if let Some(status) = self.document.code_roles.get(&role.to_lowercase()) {
            if let Some(unknown) = status.clone() {
                let language = unknown.language.replace('\n', " ");
                self.report_if(start, unknown.certain, format!("Cannot analyze code. No Pygments lexer found for \"{language}\" (the role \"{role}\" highlights its text as the `:language: {language}` given on line {}; use a Pygments name such as python, console or text, or `none` for no highlighting)", unknown.line));
            }
            return;
        }
        if self.document.custom_roles {
            return;
        }
        match docutils::role_renders(role) {
            Some(true) => {}
            Some(false) => self.report(start, format!("Interpreted text role \"{role}\" is not available on PyPI (docutils does not implement it, or PyPI disables it)")),
            None => self.report(start, format!("Unknown interpreted text role \"{role}\" (a Sphinx role, like :func: or :ref:, is unknown to docutils, which PyPI renders with; write the text as a ``literal`` instead)")),
        }
    }
}
