//! Where a request may be redirected. Credentials travel with a followed redirect (reqwest keeps
//! `Authorization` on the same host), so a redirect is followed only to the same host and port,
//! never from `https` to anything else (a `307` from `https://index` to `http://index` would
//! send the token in clear text), and plain `http` only to a loopback host, the rule the URL
//! inputs follow. One rule for reqwest's redirect policy and every redirect followed by hand.

use url::Url;

/// Why a redirect is not followed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error(
        "{from} redirects to {to}, away from https; refusing to send credentials in clear text"
    )]
    LeavesHttps { from: String, to: String },
    #[error("the redirect to {to} uses plain http:// on a host that is not loopback; refusing it")]
    PlainHttp { to: String },
    #[error("the redirect to {to} uses the scheme `{scheme}`; only https is followed")]
    Scheme { to: String, scheme: String },
    #[error("{from} redirects to another host ({to}); refusing to send credentials there")]
    OtherHost { from: String, to: String },
}

/// The scheme rule alone, for a target fetched without credentials (an asset's storage host):
/// https, or http to loopback, and never away from https.
pub fn check_scheme(from: &Url, to: &Url) -> Result<(), Refused> {
    let shown = || super::display_url(to);
    match to.scheme() {
        "https" => Ok(()),
        "http" if from.scheme() == "https" => Err(Refused::LeavesHttps {
            from: super::display_url(from),
            to: shown(),
        }),
        "http" if crate::http::is_loopback_host(to) => Ok(()),
        "http" => Err(Refused::PlainHttp { to: shown() }),
        scheme => Err(Refused::Scheme {
            to: shown(),
            scheme: scheme.to_owned(),
        }),
    }
}

/// Whether a request with credentials may follow a redirect from `from` to `to`.
pub fn check(from: &Url, to: &Url) -> Result<(), Refused> {
    check_scheme(from, to)?;
    if from.host_str() == to.host_str()
        && from.port_or_known_default() == to.port_or_known_default()
    {
        Ok(())
    } else {
        Err(Refused::OtherHost {
            from: super::display_url(from),
            to: super::display_url(to),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> Url {
        Url::parse(text).unwrap()
    }

    #[test]
    fn never_away_from_https_even_on_the_same_host_and_port() {
        let from = url("https://index.example:8443/legacy/");
        assert!(check(&from, &url("https://index.example:8443/upload/")).is_ok());
        assert!(matches!(
            check(&from, &url("http://index.example:8443/legacy/")),
            Err(Refused::LeavesHttps { .. })
        ));
        assert!(matches!(
            check(&url("https://127.0.0.1:9/"), &url("http://127.0.0.1:9/")),
            Err(Refused::LeavesHttps { .. })
        ));
    }

    #[test]
    fn plain_http_only_between_loopback_addresses_and_only_on_the_same_host() {
        assert!(check(&url("http://127.0.0.1:9/a"), &url("http://127.0.0.1:9/b")).is_ok());
        assert!(matches!(
            check(&url("http://127.0.0.1:9/"), &url("http://127.0.0.2:9/")),
            Err(Refused::OtherHost { .. })
        ));
        assert!(matches!(
            check_scheme(&url("http://127.0.0.1:9/"), &url("http://files.example/")),
            Err(Refused::PlainHttp { .. })
        ));
        assert!(matches!(
            check(&url("https://a.example/"), &url("ftp://a.example/")),
            Err(Refused::Scheme { .. })
        ));
        assert!(matches!(
            check(&url("https://a.example/"), &url("https://b.example/")),
            Err(Refused::OtherHost { .. })
        ));
        // Without credentials, another https host is fine (an asset's storage host).
        assert!(
            check_scheme(
                &url("https://api.github.com/"),
                &url("https://objects.example/")
            )
            .is_ok()
        );
    }

    #[test]
    fn user_info_never_shows_in_the_refusal() {
        let refused = check(
            &url("https://index.example/"),
            &url("http://user:secret-pass@index.example/"),
        )
        .unwrap_err();
        assert!(!refused.to_string().contains("secret-pass"), "{refused}");
    }
}
