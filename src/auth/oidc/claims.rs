//! The claims of the job's OIDC token, decoded for display only: the ones shown when the index
//! refuses a token, and the workflow file named in them.

/// The claims shown when the index refuses a token, in this order.
pub const SHOWN_CLAIMS: [&str; 8] = [
    "sub",
    "repository",
    "repository_owner",
    "repository_owner_id",
    "workflow_ref",
    "job_workflow_ref",
    "ref",
    "environment",
];

/// The claims of a JWT, decoded for display only.
///
/// Nothing is validated, on purpose (jsonwebtoken's `dangerous::insecure_decode`: no signature,
/// no `exp`, no `aud`). That is safe here: the token comes straight from the runner's token
/// service over TLS, and this program is not its relying party: `PyPI` (and Fulcio) verify it
/// when it is presented. The claims are only shown, to explain a refused token or a reusable
/// workflow; nothing is granted or sent on their word, so a forged token gains nothing.
#[must_use]
pub fn decode_claims(jwt: &str) -> Option<serde_json::Map<String, serde_json::Value>> {
    jsonwebtoken::dangerous::insecure_decode(jwt)
        .ok()
        .map(|token| token.claims)
}

pub fn claim_text(claims: &serde_json::Map<String, serde_json::Value>, name: &str) -> String {
    match claims.get(name) {
        None | Some(serde_json::Value::Null) => "MISSING".to_owned(),
        Some(serde_json::Value::String(text)) => text.clone(),
        Some(other) => other.to_string(),
    }
}

/// `owner/repo/.github/workflows/release.yml@refs/tags/v1` -> `release.yml`.
pub fn workflow_file_name(workflow_ref: &str) -> Option<String> {
    let path = workflow_ref.split('@').next()?;
    let file = path.rsplit('/').next()?;
    (!file.is_empty()).then(|| file.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(claims: &serde_json::Value) -> String {
        use base64::Engine as _;
        let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        format!(
            "{}.{}.c2lnbmF0dXJl",
            engine.encode(br#"{"alg":"RS256","typ":"JWT"}"#),
            engine.encode(claims.to_string())
        )
    }

    #[test]
    fn claims_are_decoded_for_display_with_missing_ones_marked() {
        let token = jwt(&serde_json::json!({
            "sub": "repo:octo-org/demo:ref:refs/tags/v1",
            "repository_owner_id": 42,
            "environment": null,
        }));
        let claims = decode_claims(&token).unwrap();
        assert_eq!(
            claim_text(&claims, "sub"),
            "repo:octo-org/demo:ref:refs/tags/v1"
        );
        assert_eq!(claim_text(&claims, "repository_owner_id"), "42");
        assert_eq!(claim_text(&claims, "environment"), "MISSING");
        assert_eq!(claim_text(&claims, "ref"), "MISSING");
        assert!(decode_claims("not-a-jwt").is_none());
    }

    #[test]
    fn claims_are_shown_whatever_the_signature_expiry_and_audience() {
        // Expired, for another audience, signed with a key nobody checks: still decoded,
        // since the claims are only shown (the index verifies the token, not this program).
        let claims = serde_json::json!({
            "sub": "repo:octo-org/demo:environment:pypi",
            "aud": "sigstore",
            "exp": 1_000_000_000,
            "job_workflow_ref": "octo-org/demo/.github/workflows/release.yml@refs/tags/v1",
        });
        let token = jsonwebtoken::encode(
            &jsonwebtoken::Header::default(),
            &claims,
            &jsonwebtoken::EncodingKey::from_secret(b"not the issuer's key"),
        )
        .unwrap();
        let decoded = decode_claims(&token).unwrap();
        assert_eq!(serde_json::Value::Object(decoded), claims);
        // A token whose signature part is garbage: the same.
        let (signed, _) = token.rsplit_once('.').unwrap();
        assert!(decode_claims(&format!("{signed}.garbage")).is_some());
        // Claims that are not an object are no claims.
        assert!(decode_claims(&jwt(&serde_json::json!(["sub"]))).is_none());
    }

    #[test]
    fn workflow_file_comes_from_the_ref() {
        assert_eq!(
            workflow_file_name("octo-org/demo/.github/workflows/release.yml@refs/tags/v1")
                .as_deref(),
            Some("release.yml")
        );
    }
}
