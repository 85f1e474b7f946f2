//! Version specifiers and dependency specifiers (PEP 440, PEP 508) exactly as `packaging`
//! accepts them, since `PyPI` validates `Requires-Python`, `Requires-Dist`, `Provides-Dist` and
//! `Obsoletes-Dist` with it: its token grammar (`packaging/_tokenizer.py`, `_parser.py`,
//! `specifiers.py`), including what it tolerates (`>=3.8,`, `===foo`, `extras` markers).

use std::sync::LazyLock;

use regex::Regex;

/// One version specifier as `packaging.specifiers.Specifier` matches it (case-insensitive).
const SPECIFIER: &str = r"(?ix)
    (?:
        ===\s*[^\s;)]*
      | (?:==|!=)\s*v?(?:[0-9]+!)?[0-9]+(?:\.[0-9]+)*
        (?:
            \.\*
          | (?:[-_.]?(?:alpha|beta|preview|pre|a|b|c|rc)[-_.]?[0-9]*)?
            (?:-[0-9]+|[-_.]?(?:post|rev|r)[-_.]?[0-9]*)?
            (?:[-_.]?dev[-_.]?[0-9]*)?
            (?:\+[a-z0-9]+(?:[-_.][a-z0-9]+)*)?
        )?
      | ~=\s*v?(?:[0-9]+!)?[0-9]+(?:\.[0-9]+)+
        (?:[-_.]?(?:alpha|beta|preview|pre|a|b|c|rc)[-_.]?[0-9]*)?
        (?:-[0-9]+|[-_.]?(?:post|rev|r)[-_.]?[0-9]*)?
        (?:[-_.]?dev[-_.]?[0-9]*)?
      | (?:<=|>=|<|>)\s*v?(?:[0-9]+!)?[0-9]+(?:\.[0-9]+)*
        (?:[-_.]?(?:alpha|beta|preview|pre|a|b|c|rc)[-_.]?[0-9]*)?
        (?:-[0-9]+|[-_.]?(?:post|rev|r)[-_.]?[0-9]*)?
        (?:[-_.]?dev[-_.]?[0-9]*)?
    )";

fn anchored(pattern: &str) -> Regex {
    // The patterns are constants of this module, checked by its tests.
    Regex::new(&format!("^(?:{pattern})")).unwrap_or_else(|_| unreachable!("{pattern}"))
}

static SPECIFIER_TOKEN: LazyLock<Regex> = LazyLock::new(|| anchored(SPECIFIER));
static SPECIFIER_WHOLE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(r"^\s*{SPECIFIER}\s*\z")).unwrap_or_else(|_| unreachable!())
});

/// Whether a comma-separated list of version specifiers parses as `packaging`'s
/// `SpecifierSet` (empty items are skipped, so `>=3.8,` is accepted); `Err` holds the first
/// bad item.
pub fn check_specifiers(text: &str) -> Result<(), &str> {
    match text
        .split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .find(|item| !SPECIFIER_WHOLE.is_match(item))
    {
        Some(bad) => Err(bad),
        None => Ok(()),
    }
}

/// The tokens of `packaging`'s dependency specifier grammar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token {
    LeftParenthesis,
    RightParenthesis,
    LeftBracket,
    RightBracket,
    Semicolon,
    Comma,
    QuotedString,
    Op,
    BoolOp,
    In,
    Not,
    Variable,
    Specifier,
    At,
    Url,
    Identifier,
    VersionPrefixTrail,
    VersionLocalLabelTrail,
    Whitespace,
    End,
}

static RULES: LazyLock<[(Token, Regex); 19]> = LazyLock::new(|| {
    [
        (Token::LeftParenthesis, anchored(r"\(")),
        (Token::RightParenthesis, anchored(r"\)")),
        (Token::LeftBracket, anchored(r"\[")),
        (Token::RightBracket, anchored(r"\]")),
        (Token::Semicolon, anchored(";")),
        (Token::Comma, anchored(",")),
        (Token::QuotedString, anchored(r#"'[^']*'|"[^"]*""#)),
        (Token::Op, anchored("===|==|~=|!=|<=|>=|<|>")),
        (Token::BoolOp, anchored(r"\b(?:or|and)\b")),
        (Token::In, anchored(r"\bin\b")),
        (Token::Not, anchored(r"\bnot\b")),
        (
            Token::Variable,
            anchored(
                r"\b(?:python_version|python_full_version|os[._]name|sys[._]platform|platform_(?:release|system)|platform[._](?:version|machine|python_implementation)|python_implementation|implementation_(?:name|version)|extras?|dependency_groups)\b",
            ),
        ),
        (Token::Specifier, anchored(SPECIFIER)),
        (Token::At, anchored("@")),
        (Token::Url, anchored(r"[^ \t]+")),
        (
            Token::Identifier,
            anchored(r"\b[a-zA-Z0-9][a-zA-Z0-9._-]*\b"),
        ),
        (Token::VersionPrefixTrail, anchored(r"\.\*")),
        (
            Token::VersionLocalLabelTrail,
            anchored(r"\+[a-z0-9]+(?:[-_.][a-z0-9]+)*"),
        ),
        (Token::Whitespace, anchored("[ \t]+")),
    ]
});

/// The deepest parentheses in a marker we parse. `packaging` parses a marker by recursive
/// descent, so Python's recursion limit (1000 frames) makes it fail with a `RecursionError`
/// (`PyPI` fails the upload) at about 450 levels when run bare, earlier in Warehouse's deeper
/// stack; real markers nest two or three. The bound also keeps our own stack safe.
pub const MAX_MARKER_DEPTH: usize = 200;

/// A parsed requirement: what the upload rules need of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirement {
    pub name: String,
    /// `name @ URL`: a direct reference.
    pub url: Option<String>,
}

/// Parse a dependency specifier as `packaging.requirements.Requirement` does; the error is
/// `packaging`'s message.
pub fn parse_requirement(source: &str) -> Result<Requirement, String> {
    let mut parser = Parser {
        source,
        position: 0,
        depth: 0,
    };
    parser.requirement()
}

struct Parser<'a> {
    source: &'a str,
    position: usize,
    /// Parentheses open around the marker being parsed.
    depth: usize,
}

impl<'a> Parser<'a> {
    /// The length of `token` at the current position.
    fn peek(&self, token: Token) -> Option<usize> {
        let rest = &self.source[self.position..];
        if token == Token::End {
            return (rest.is_empty() || rest == "\n").then_some(0);
        }
        if token == Token::Specifier {
            return SPECIFIER_TOKEN.find(rest).map(|found| found.end());
        }
        RULES
            .iter()
            .find(|(name, _)| *name == token)
            .and_then(|(_, rule)| rule.find(rest))
            .map(|found| found.end())
    }

    fn check(&self, token: Token) -> bool {
        self.peek(token).is_some()
    }

    /// Read `token` if it is next; its text.
    fn take(&mut self, token: Token) -> Option<&'a str> {
        let length = self.peek(token)?;
        let text = &self.source[self.position..self.position + length];
        self.position += length;
        Some(text)
    }

    fn expect(&mut self, token: Token, expected: &str) -> Result<&'a str, String> {
        self.take(token)
            .ok_or_else(|| format!("Expected {expected}"))
    }

    fn skip_whitespace(&mut self) {
        self.take(Token::Whitespace);
    }

    /// `requirement = WS? IDENTIFIER WS? extras WS? requirement_details END`
    fn requirement(&mut self) -> Result<Requirement, String> {
        self.skip_whitespace();
        let name = self
            .expect(
                Token::Identifier,
                "package name at the start of dependency specifier",
            )?
            .to_owned();
        self.skip_whitespace();
        self.extras()?;
        self.skip_whitespace();
        let url = self.details()?;
        self.expect(Token::End, "end of dependency specifier")?;
        Ok(Requirement { name, url })
    }

    /// `AT URL (WS marker?)? | specifier WS? marker?`; the URL if any.
    fn details(&mut self) -> Result<Option<String>, String> {
        if self.take(Token::At).is_some() {
            self.skip_whitespace();
            let url = self.expect(Token::Url, "URL after @")?.to_owned();
            if self.check(Token::End) {
                return Ok(Some(url));
            }
            self.expect(Token::Whitespace, "whitespace after URL")?;
            if self.check(Token::End) {
                return Ok(Some(url));
            }
            self.requirement_marker("semicolon (after URL and whitespace)")?;
            return Ok(Some(url));
        }
        let specified = self.specifier()?;
        self.skip_whitespace();
        if self.check(Token::End) {
            return Ok(None);
        }
        self.requirement_marker(if specified {
            "comma (within version specifier), semicolon (after version specifier)"
        } else {
            "semicolon (after name with no version specifier)"
        })?;
        Ok(None)
    }

    fn requirement_marker(&mut self, expected: &str) -> Result<(), String> {
        if self.take(Token::Semicolon).is_none() {
            return Err(format!("Expected {expected} or end"));
        }
        self.marker()?;
        self.skip_whitespace();
        Ok(())
    }

    /// `(LEFT_BRACKET WS? extras_list? WS? RIGHT_BRACKET)?`
    fn extras(&mut self) -> Result<(), String> {
        if self.take(Token::LeftBracket).is_none() {
            return Ok(());
        }
        self.skip_whitespace();
        if self.take(Token::Identifier).is_some() {
            loop {
                self.skip_whitespace();
                if self.check(Token::Identifier) {
                    return Err("Expected comma between extra names".to_owned());
                }
                if self.take(Token::Comma).is_none() {
                    break;
                }
                self.skip_whitespace();
                self.expect(Token::Identifier, "extra name after comma")?;
            }
        }
        self.skip_whitespace();
        self.expect(
            Token::RightBracket,
            "matching RIGHT_BRACKET for LEFT_BRACKET, after extras",
        )
        .map(|_| ())
    }

    /// `LEFT_PARENTHESIS WS? version_many WS? RIGHT_PARENTHESIS | WS? version_many WS?`;
    /// whether any specifier was given.
    fn specifier(&mut self) -> Result<bool, String> {
        let parenthesised = self.take(Token::LeftParenthesis).is_some();
        self.skip_whitespace();
        let mut any = false;
        while self.take(Token::Specifier).is_some() {
            any = true;
            if self.check(Token::VersionPrefixTrail) {
                return Err(".* suffix can only be used with `==` or `!=` operators".to_owned());
            }
            if self.check(Token::VersionLocalLabelTrail) {
                return Err(
                    "Local version label can only be used with `==` or `!=` operators".to_owned(),
                );
            }
            self.skip_whitespace();
            if self.take(Token::Comma).is_none() {
                break;
            }
            self.skip_whitespace();
        }
        self.skip_whitespace();
        if parenthesised {
            self.expect(
                Token::RightParenthesis,
                "matching RIGHT_PARENTHESIS for LEFT_PARENTHESIS, after version specifier",
            )?;
        }
        Ok(any)
    }

    /// `marker_atom (BOOLOP marker_atom)*`
    fn marker(&mut self) -> Result<(), String> {
        self.marker_atom()?;
        while self.take(Token::BoolOp).is_some() {
            self.marker_atom()?;
        }
        Ok(())
    }

    /// `WS? ( LEFT_PARENTHESIS WS? marker WS? RIGHT_PARENTHESIS | marker_item ) WS?`
    fn marker_atom(&mut self) -> Result<(), String> {
        self.skip_whitespace();
        if self.take(Token::LeftParenthesis).is_some() {
            if self.depth == MAX_MARKER_DEPTH {
                return Err(format!(
                    "the marker nests parentheses more than {MAX_MARKER_DEPTH} levels deep; packaging fails on such nesting (Python's recursion limit)"
                ));
            }
            self.depth += 1;
            self.skip_whitespace();
            self.marker()?;
            self.depth -= 1;
            self.skip_whitespace();
            self.expect(
                Token::RightParenthesis,
                "matching RIGHT_PARENTHESIS for LEFT_PARENTHESIS, after marker expression",
            )?;
        } else {
            self.skip_whitespace();
            self.marker_variable()?;
            self.skip_whitespace();
            self.marker_operator()?;
            self.skip_whitespace();
            self.marker_variable()?;
        }
        self.skip_whitespace();
        Ok(())
    }

    fn marker_variable(&mut self) -> Result<(), String> {
        if self.take(Token::Variable).is_some() || self.take(Token::QuotedString).is_some() {
            return Ok(());
        }
        Err("Expected a marker variable or quoted string".to_owned())
    }

    fn marker_operator(&mut self) -> Result<(), String> {
        if self.take(Token::In).is_some() || self.take(Token::Op).is_some() {
            return Ok(());
        }
        if self.take(Token::Not).is_some() {
            self.expect(Token::Whitespace, "whitespace after 'not'")?;
            self.expect(Token::In, "'in' after 'not'")?;
            return Ok(());
        }
        Err("Expected marker operator, one of <=, <, !=, ==, >=, >, ~=, ===, in, not in".to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// packaging parses 200 nested parentheses; far deeper it fails (`RecursionError`) and so
    /// do we, with a message, on a small stack (the parser once recursed without bound).
    #[test]
    fn marker_nesting_is_bounded() {
        let nested = |depth: usize| {
            format!(
                "x; {}os_name == 'nt'{}",
                "(".repeat(depth),
                ")".repeat(depth)
            )
        };
        assert!(parse_requirement(&nested(MAX_MARKER_DEPTH)).is_ok());
        let deeper = parse_requirement(&nested(MAX_MARKER_DEPTH + 1)).unwrap_err();
        assert!(deeper.contains("more than 200 levels deep"), "{deeper}");
        let hostile = format!("x; {}", "(".repeat(20_000));
        let result = std::thread::Builder::new()
            .stack_size(256 * 1024)
            .spawn(move || parse_requirement(&hostile))
            .unwrap()
            .join()
            .unwrap();
        assert!(result.unwrap_err().contains("levels deep"));
    }

    /// Verdicts of packaging 26.2 (`Requirement(text)`), run once in the test venv.
    const REQUIREMENTS: &[(&str, bool)] = &[
        ("requests", true),
        ("requests >=2.0, <3", true),
        ("requests (>=2.0,<3)", true),
        (
            r#"requests[security, socks] >= 2.0 ; python_version >= "3.8""#,
            true,
        ),
        ("requests>=2.0,", true),
        ("requests>=2.0,,<3", false),
        ("requests>=2.0.*", false),
        ("requests==2.*", true),
        ("requests~=2", false),
        ("requests<=2.0+local", false),
        ("requests==2.0+local", true),
        (
            r#"requests; python_version < "3.8" and (sys_platform == "win32" or os_name == "nt")"#,
            true,
        ),
        (
            r#"requests; platform.python_implementation == "CPython""#,
            true,
        ),
        (r#"requests; "a" in extras"#, true),
        (r#"requests; dependency_groups == "x""#, true),
        ("requests; python_version >= 3.8", false),
        (r#"requests; python_version >= "3.8" and"#, false),
        (r#"requests; python_version === "3.8""#, true),
        (r#"requests; sys_platform not in "win32 cygwin""#, true),
        (r#"requests; sys_platform notin "win32""#, false),
        (r#"requests; unknown_var == "x""#, false),
        ("requests @ https://example.org/r.whl", true),
        (
            r#"requests @ https://example.org/r.whl ; python_version >= "3.8""#,
            true,
        ),
        (
            r#"requests @ https://example.org/r.whl; python_version >= "3.8""#,
            false,
        ),
        ("requests @ ./local", true),
        ("requests@https://example.org/r.whl", true),
        ("requests[]", true),
        ("requests[a,]", false),
        ("requests[a b]", false),
        ("-requests", false),
        ("requests-", false),
        ("requests_", true),
        ("requests>=v2.0", true),
        ("requests===foo", true),
        ("requests>=2.0 <3", false),
        ("requests>=2.0 ,<3", true),
        ("requests( >=2.0 )", true),
        ("requests; python_version > '3.8' ;", false),
        ("requests>=2.0;", false),
        ("requests==", false),
        ("requests>=2.0_post1", true),
        ("requests>=2.0 ; python_version >= '3' # comment", false),
        ("requests\t>=2.0", true),
        ("zope.interface>=5", true),
    ];

    #[test]
    fn requirements_as_packaging_judges_them() {
        for (text, valid) in REQUIREMENTS {
            assert_eq!(
                parse_requirement(text).is_ok(),
                *valid,
                "{text}: {:?}",
                parse_requirement(text)
            );
        }
        assert_eq!(
            parse_requirement("requests~=2").unwrap_err(),
            "Expected semicolon (after name with no version specifier) or end"
        );
        assert_eq!(
            parse_requirement("demo @ https://example.org/d.whl")
                .unwrap()
                .url
                .as_deref(),
            Some("https://example.org/d.whl")
        );
        assert_eq!(parse_requirement("demo; extra == 'a@b'").unwrap().url, None);
    }

    #[test]
    fn specifier_sets_as_packaging_judges_them() {
        for (text, valid) in [
            (">=3.8,", true),
            (",>=3.8", true),
            (">=3.8,,<4", true),
            ("", true),
            (">= 3.8", true),
            (">=3.8.*", false),
            ("==3.*", true),
            ("~=3", false),
            (">3.8 <4", false),
            ("3.8", false),
            ("=>3.8", false),
            (">=3.8, !=3.9.*", true),
            (">=v3.8", true),
            (">=3.8.0-dev", true),
            ("<=3.8+local", false),
            ("==3.8+local", true),
        ] {
            assert_eq!(check_specifiers(text).is_ok(), valid, "{text}");
        }
    }
}
