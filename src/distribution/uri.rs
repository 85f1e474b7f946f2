//! URLs in `Home-page`, `Download-URL` and `Project-URL` as `PyPI` judges them (Warehouse
//! `utils/http.py` `is_valid_uri(url, require_authority=False)` with `rfc3986` 2.0). That
//! library percent-encodes every component before validating it, so spaces, non-ASCII and
//! stray `%` pass; what it refuses is a missing or non-`http(s)` scheme, a port above 65535,
//! and `[` or `]` in the path or query.

use std::sync::LazyLock;

use regex::Regex;

/// RFC 3986 appendix B: scheme, authority, path, query (the fragment is not validated).
static PARTS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:([a-zA-Z][a-zA-Z0-9+.-]*):)?(?://([^\\/?#]*))?([^?#]*)(?:\?([^#]*))?")
        .unwrap_or_else(|_| unreachable!())
});

/// A port of one to five digits (what `rfc3986` reads as a port) above 65535.
fn port_out_of_range(authority: &str) -> bool {
    let Some((_, port)) = authority.rsplit_once(':') else {
        return false;
    };
    (1..=5).contains(&port.len())
        && port.bytes().all(|b| b.is_ascii_digit())
        && port.parse::<u32>().is_ok_and(|n| n > 65_535)
}

/// Whether `PyPI` accepts the URL.
#[must_use]
pub fn valid_url(url: &str) -> bool {
    let Some(parts) = PARTS.captures(url) else {
        return false;
    };
    let scheme = parts.get(1).map(|m| m.as_str().to_ascii_lowercase());
    if !matches!(scheme.as_deref(), Some("http" | "https")) {
        return false;
    }
    if parts
        .get(2)
        .is_some_and(|authority| port_out_of_range(authority.as_str()))
    {
        return false;
    }
    let brackets =
        |part: Option<regex::Match<'_>>| part.is_some_and(|m| m.as_str().contains(['[', ']']));
    !brackets(parts.get(3)) && !brackets(parts.get(4))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn as_rfc3986_judges_them() {
        for (url, valid) in [
            ("https://example.org/project", true),
            ("http://example.org:8080/a?b=c#d e", true),
            ("HTTPS://Example.org", true),
            ("https://", true),
            ("https:relative", true),
            ("https://example.org/a b", true),
            ("https://example.org/caf\u{e9}", true),
            ("https://example.org:123456/", true),
            ("www.example.org", false),
            ("//example.org/path", false),
            ("ftp://example.org", false),
            ("git+https://example.org/repo.git", false),
            ("https://example.org:65536/", false),
            ("https://example.org/a[1]", false),
            ("https://example.org/?a[1]=b", false),
            ("mailto:jane@example.org", false),
        ] {
            assert_eq!(valid_url(url), valid, "{url}");
        }
    }
}
