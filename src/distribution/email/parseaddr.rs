//! Python's `email.utils.parseaddr(value)` as Python 3.13+ runs it (`strict=True`, what
//! Warehouse on Python 3.14 calls): one address, or none when the value holds several, has
//! unbalanced parentheses or a domain literal. The RFC 822 address-list parser of
//! `email._parseaddr`, reduced to what decides the address it yields.

/// The deepest comments (`(a (b (c)))`) and groups (`a: b: c@d;;`) we parse.
/// `email._parseaddr` reads both by recursion (`getcomment` <-> `getdelimited`, `getaddress`),
/// so Python's recursion limit (1000 frames) makes `parseaddr` fail with a `RecursionError`
/// (`PyPI` fails the upload) at about 450 nested comments or 990 nested groups when run bare,
/// earlier in Warehouse's deeper stack; real values nest none. The bound also keeps our own
/// stack safe.
pub const MAX_NESTING: usize = 200;

/// A value whose comments or groups nest deeper than [`MAX_NESTING`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NestedTooDeeply;

/// The address `PyPI` validates in a field value, if any (`email.utils.parseaddr(value)` on
/// Python 3.13+, where `strict=True`); an error when its comments nest too deeply for Python.
pub fn address_pypi_checks(value: &str) -> Result<Option<String>, NestedTooDeeply> {
    if !parentheses_balanced(value) {
        return Ok(None);
    }
    let field: Vec<char> = value.chars().collect();
    let mut parser = AddressList {
        field: &field,
        position: 0,
        depth: 0,
        too_deep: false,
    };
    let addresses = parser.addresses();
    if parser.too_deep {
        return Err(NestedTooDeeply);
    }
    match addresses.as_slice() {
        [address] if !address.contains('[') && !address.is_empty() => Ok(Some(address.clone())),
        _ => Ok(None),
    }
}

/// Text between unescaped double quotes removed (parseaddr's `_strip_quoted_realnames`).
fn strip_quoted(value: &str) -> String {
    let mut result = String::new();
    let mut opened_at: Option<usize> = None;
    let mut escaped = false;
    for (index, character) in value.char_indices() {
        if escaped {
            escaped = false;
        } else if character == '\\' {
            escaped = true;
        } else if character == '"' {
            opened_at = match opened_at {
                Some(_) => None,
                None => Some(index),
            };
            continue;
        }
        if opened_at.is_none() {
            result.push(character);
        }
    }
    // An unclosed quote keeps its text, as parseaddr does.
    if let Some(open) = opened_at {
        result.push_str(&value[open + 1..]);
    }
    result
}

fn parentheses_balanced(value: &str) -> bool {
    let mut open = 0_i64;
    let mut escaped = false;
    for character in strip_quoted(value).chars() {
        if escaped {
            escaped = false;
            continue;
        }
        match character {
            '\\' => escaped = true,
            '(' => open += 1,
            ')' => {
                open -= 1;
                if open < 0 {
                    return false;
                }
            }
            _ => {}
        }
    }
    open == 0
}

const SPECIALS: &str = "()<>@,:;.\"[]";
const WHITESPACE: &str = " \t";

fn is_atom_end(character: char) -> bool {
    SPECIALS.contains(character) || WHITESPACE.contains(character) || "\r\n".contains(character)
}

fn is_phrase_end(character: char) -> bool {
    character != '.' && is_atom_end(character)
}

/// The RFC 822 address list parser of Python's `email._parseaddr`, reduced to what decides
/// the addresses it yields (display names and comments are skipped).
struct AddressList<'a> {
    field: &'a [char],
    position: usize,
    /// Comments or groups open around the current position.
    depth: usize,
    /// A comment or group nested deeper than [`MAX_NESTING`] was met (and skipped unread).
    too_deep: bool,
}

impl AddressList<'_> {
    fn at(&self) -> Option<char> {
        self.field.get(self.position).copied()
    }

    fn addresses(&mut self) -> Vec<String> {
        let mut result = Vec::new();
        while self.position < self.field.len() {
            let start = self.position;
            let found = self.address();
            if found.is_empty() {
                result.push(String::new());
            } else {
                result.extend(found);
            }
            if self.position == start {
                self.position += 1; // never loop on one character
            }
        }
        result
    }

    /// Skip white space and comments; the white space skipped (folding breaks excluded).
    fn skip(&mut self) -> String {
        let mut skipped = String::new();
        while let Some(character) = self.at() {
            if WHITESPACE.contains(character) {
                skipped.push(character);
                self.position += 1;
            } else if character == '\r' || character == '\n' {
                self.position += 1;
            } else if character == '(' {
                self.delimited('(', ")\r", true);
            } else {
                break;
            }
        }
        skipped
    }

    fn address(&mut self) -> Vec<String> {
        self.skip();
        let start = self.position;
        let phrase = self.phrase();
        self.skip();
        let mut found = Vec::new();
        match self.at() {
            None => found.extend(phrase.into_iter().next()),
            Some('.' | '@') => {
                self.position = start;
                found.push(self.addr_spec());
            }
            Some(':') => {
                self.position += 1;
                if self.depth == MAX_NESTING {
                    // Python fails here: nothing after this point matters.
                    self.too_deep = true;
                    self.position = self.field.len();
                    return found;
                }
                self.depth += 1;
                while self.position < self.field.len() {
                    self.skip();
                    if self.at() == Some(';') {
                        self.position += 1;
                        break;
                    }
                    let before = self.position;
                    found.extend(self.address());
                    if self.position == before {
                        self.position += 1;
                    }
                }
                self.depth -= 1;
            }
            Some('<') => found.push(self.route_addr()),
            Some(character) => {
                if let Some(first) = phrase.into_iter().next() {
                    found.push(first);
                } else if SPECIALS.contains(character) {
                    self.position += 1;
                }
            }
        }
        self.skip();
        if self.at() == Some(',') {
            self.position += 1;
        }
        found
    }

    fn route_addr(&mut self) -> String {
        let mut expect_route = false;
        self.position += 1;
        self.skip();
        let mut address = String::new();
        while let Some(character) = self.at() {
            if expect_route {
                self.domain();
                expect_route = false;
            } else if character == '>' {
                self.position += 1;
                break;
            } else if character == '@' {
                self.position += 1;
                expect_route = true;
            } else if character == ':' {
                self.position += 1;
            } else {
                address = self.addr_spec();
                self.position += 1;
                break;
            }
            self.skip();
        }
        address
    }

    fn addr_spec(&mut self) -> String {
        let mut parts: Vec<String> = Vec::new();
        self.skip();
        while let Some(character) = self.at() {
            let mut keep_space = true;
            if character == '.' {
                if parts.last().is_some_and(|last| last.trim().is_empty()) {
                    parts.pop();
                }
                parts.push(".".to_owned());
                self.position += 1;
                keep_space = false;
            } else if character == '"' {
                let quoted = self.delimited('"', "\"\r", false);
                parts.push(format!(
                    "\"{}\"",
                    quoted.replace('\\', "\\\\").replace('"', "\\\"")
                ));
            } else if is_atom_end(character) {
                if parts.last().is_some_and(|last| last.trim().is_empty()) {
                    parts.pop();
                }
                break;
            } else {
                parts.push(self.atom(is_atom_end));
            }
            let space = self.skip();
            if keep_space && !space.is_empty() {
                parts.push(space);
            }
        }
        let local = parts.concat();
        if self.at() != Some('@') {
            return local;
        }
        self.position += 1;
        self.skip();
        let domain = self.domain();
        if domain.is_empty() {
            return String::new();
        }
        format!("{local}@{domain}")
    }

    fn domain(&mut self) -> String {
        let mut domain = String::new();
        while let Some(character) = self.at() {
            if WHITESPACE.contains(character) {
                self.position += 1;
            } else if character == '(' {
                self.delimited('(', ")\r", true);
            } else if character == '[' {
                let literal = self.delimited('[', "]\r", false);
                domain.push_str(&format!("[{literal}]"));
            } else if character == '.' {
                self.position += 1;
                domain.push('.');
            } else if character == '@' {
                return String::new();
            } else if is_atom_end(character) {
                break;
            } else {
                domain.push_str(&self.atom(is_atom_end));
            }
        }
        domain
    }

    fn delimited(&mut self, begin: char, ends: &str, comments: bool) -> String {
        if self.at() != Some(begin) {
            return String::new();
        }
        if comments {
            if self.depth == MAX_NESTING {
                // Python fails here: nothing after this point matters.
                self.too_deep = true;
                self.position = self.field.len();
                return String::new();
            }
            self.depth += 1;
        }
        let mut text = String::new();
        let mut escaped = false;
        self.position += 1;
        while let Some(character) = self.at() {
            if escaped {
                text.push(character);
                escaped = false;
            } else if ends.contains(character) {
                self.position += 1;
                break;
            } else if comments && character == '(' {
                text.push_str(&self.delimited('(', ")\r", true));
                continue;
            } else if character == '\\' {
                escaped = true;
            } else {
                text.push(character);
            }
            self.position += 1;
        }
        if comments {
            self.depth -= 1;
        }
        text
    }

    fn atom(&mut self, ends: fn(char) -> bool) -> String {
        let mut atom = String::new();
        while let Some(character) = self.at().filter(|c| !ends(*c)) {
            atom.push(character);
            self.position += 1;
        }
        atom
    }

    fn phrase(&mut self) -> Vec<String> {
        let mut words = Vec::new();
        while let Some(character) = self.at() {
            if " \t\r\n".contains(character) {
                self.position += 1;
            } else if character == '"' {
                words.push(self.delimited('"', "\"\r", false));
            } else if character == '(' {
                self.delimited('(', ")\r", true);
            } else if is_phrase_end(character) {
                break;
            } else {
                words.push(self.atom(is_phrase_end));
            }
        }
        words
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Python parses 200 nested comments or groups; far deeper it fails (`RecursionError`) and
    /// we say so, on a small stack (the parser once recursed without bound).
    #[test]
    fn comment_and_group_nesting_is_bounded() {
        let comments =
            |depth: usize| format!("a@example.org {}c{}", "(".repeat(depth), ")".repeat(depth));
        assert_eq!(
            address_pypi_checks(&comments(MAX_NESTING)),
            Ok(Some("a@example.org".to_owned()))
        );
        assert_eq!(
            address_pypi_checks(&comments(MAX_NESTING + 1)),
            Err(NestedTooDeeply)
        );
        let groups = |depth: usize| format!("{}a@example.org", "x:".repeat(depth));
        assert_eq!(
            address_pypi_checks(&groups(MAX_NESTING)),
            Ok(Some("a@example.org".to_owned()))
        );
        assert_eq!(
            address_pypi_checks(&groups(MAX_NESTING + 1)),
            Err(NestedTooDeeply)
        );
        let result = std::thread::Builder::new()
            .stack_size(256 * 1024)
            .spawn(move || {
                [
                    address_pypi_checks(&comments(20_000)),
                    address_pypi_checks(&groups(20_000)),
                ]
            })
            .unwrap()
            .join()
            .unwrap();
        assert_eq!(result, [Err(NestedTooDeeply), Err(NestedTooDeeply)]);
    }

    #[test]
    fn parseaddr_yields_one_address_or_none() {
        let address = |value: &str| address_pypi_checks(value).unwrap();
        assert_eq!(
            address("Jane <jane@example.org>").as_deref(),
            Some("jane@example.org")
        );
        assert_eq!(
            address("jane@example.org").as_deref(),
            Some("jane@example.org")
        );
        assert_eq!(address("A <a@x.org>, B <b@y.org>"), None);
        assert_eq!(address("\"Doe, J\" <j@example.org>, x@example.com"), None);
        assert_eq!(
            address("\"Doe, J\" <j@example.org>").as_deref(),
            Some("j@example.org")
        );
        assert_eq!(address("not-an-address").as_deref(), Some("not-an-address"));
        assert_eq!(address("A B").as_deref(), Some("A"));
        assert_eq!(address("a@b.c d").as_deref(), Some("a@b.cd"));
        assert_eq!(
            address("jane@example.org,").as_deref(),
            Some("jane@example.org")
        );
        assert_eq!(
            address("Jane Doe <jane@example.org> (x)").as_deref(),
            Some("jane@example.org")
        );
        assert_eq!(address("Jane (unbalanced <jane@example.org>"), None);
        assert_eq!(address("x@[127.0.0.1]"), None);
        assert_eq!(address(" "), None);
    }
}
