//! Tables, which are not modelled: how far a simple table reaches, so the scan resumes after it
//! (and what follows is uncertain: names defined in a table are unknown to us).

use super::Scanner;
use crate::distribution::rst::Line;

impl Scanner<'_> {
    pub(super) fn simple_table(&mut self, lines: &[Line<'_>], i: usize) -> usize {
        self.document.skipped = true;
        self.visible();
        let width = lines[i].text.len();
        let mut found = 0;
        for (j, line) in lines.iter().enumerate().skip(i + 1) {
            if line.indent == 0
                && !line.is_blank()
                && line.text.chars().all(|c| c == '=' || c == ' ')
            {
                if line.text.len() != width {
                    break;
                }
                found += 1;
                if found == 2 || lines.get(j + 1).is_none_or(Line::is_blank) {
                    return j + 1;
                }
            }
        }
        self.skip(lines, i)
    }
}
