//! Fulcio, Sigstore's certificate authority: `POST /api/v2/signingCert` turns the job's OIDC
//! token and a CSR signed by our ephemeral key into a short-lived certificate for the
//! workflow identity (<https://github.com/sigstore/fulcio/blob/main/fulcio.proto>).

use anyhow::Context as _;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use der::{Decode as _, Encode as _};
use secrecy::{ExposeSecret as _, SecretString};
use url::Url;
use x509_cert::builder::{Builder as _, RequestBuilder};

use super::send_with_retry;
use crate::http::RetryPolicy;

/// The certificate chain Fulcio issued, leaf first, as DER.
#[derive(Debug, Clone)]
pub struct CertificateChain {
    pub leaf: Vec<u8>,
    pub rest: Vec<Vec<u8>>,
}

impl CertificateChain {
    /// The leaf as PEM (what Rekor's `verifiers` carry, base64 once more).
    #[must_use]
    pub fn leaf_pem(&self) -> String {
        pem_rfc7468::encode_string("CERTIFICATE", pem_rfc7468::LineEnding::LF, &self.leaf)
            .unwrap_or_default()
    }
}

/// A PEM certificate signing request with an empty subject, signed by `key` (proof of
/// possession). Fulcio takes the identity from the token, not from the CSR.
pub fn csr_pem(key: &p256::ecdsa::SigningKey) -> anyhow::Result<String> {
    let mut builder = RequestBuilder::new(x509_cert::name::Name::default(), key)
        .context("failed to start the certificate signing request")?;
    builder
        .add_extension(&x509_cert::ext::pkix::BasicConstraints {
            ca: false,
            path_len_constraint: None,
        })
        .context("failed to add basic constraints to the certificate signing request")?;
    let request = builder
        .build::<p256::ecdsa::DerSignature>()
        .context("failed to sign the certificate signing request")?;
    let der = request
        .to_der()
        .context("failed to encode the certificate signing request")?;
    pem_rfc7468::encode_string("CERTIFICATE REQUEST", pem_rfc7468::LineEnding::LF, &der)
        .map_err(|error| anyhow::anyhow!("failed to encode the CSR as PEM: {error}"))
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct SigningCertificateAnswer {
    signed_certificate_embedded_sct: Option<ChainHolder>,
    signed_certificate_detached_sct: Option<ChainHolder>,
}

#[derive(serde::Deserialize)]
struct ChainHolder {
    chain: Chain,
}

#[derive(serde::Deserialize)]
struct Chain {
    certificates: Vec<String>,
}

/// Ask Fulcio for a certificate binding `key` to the identity in `token`.
pub async fn signing_certificate(
    client: &reqwest::Client,
    fulcio_url: &Url,
    token: &SecretString,
    key: &p256::ecdsa::SigningKey,
    policy: RetryPolicy,
) -> anyhow::Result<CertificateChain> {
    let url = crate::inputs::with_trailing_slash(fulcio_url.clone())
        .join("api/v2/signingCert")
        .context("invalid fulcio-url")?;
    let body = serde_json::json!({
        "certificateSigningRequest": STANDARD.encode(csr_pem(key)?),
    });
    // Never sent empty, never echoed: a token that cannot be a header value is an error.
    let mut authorization =
        reqwest::header::HeaderValue::try_from(format!("Bearer {}", token.expose_secret()))
            .map_err(|_| {
                anyhow::anyhow!(
                    "the Sigstore identity token (the OIDC token for the `sigstore` audience) contains characters that cannot be sent in an HTTP header (a trailing newline or carriage return?); nothing was sent to Fulcio"
                )
            })?;
    authorization.set_sensitive(true);
    let response = send_with_retry(policy, "POST", &url, || {
        client
            .post(url.clone())
            .header(reqwest::header::AUTHORIZATION, authorization.clone())
            .header(reqwest::header::ACCEPT, "application/json")
            .json(&body)
    })
    .await
    .with_context(|| {
        format!(
            "Fulcio ({}) did not issue a signing certificate; check fulcio-url, or set `attestations: false` to publish without attestations",
            crate::http::display_url(fulcio_url)
        )
    })?;
    let answer: SigningCertificateAnswer =
        crate::http::read_json(response, crate::http::BodyKind::SigstoreAnswer)
            .await
            .with_context(|| {
                format!(
                    "Fulcio ({}) answered with something other than a certificate chain",
                    crate::http::display_url(&url)
                )
            })?;
    let chain = answer
        .signed_certificate_embedded_sct
        .or(answer.signed_certificate_detached_sct)
        .context("Fulcio's answer has no certificate chain")?
        .chain;
    parse_chain(&chain.certificates)
}

/// PEM certificates, leaf first -> DER, checked to be certificates.
pub fn parse_chain(pems: &[String]) -> anyhow::Result<CertificateChain> {
    let mut ders = Vec::new();
    for pem in pems {
        let (label, der) = pem_rfc7468::decode_vec(pem.trim().as_bytes()).map_err(|error| {
            anyhow::anyhow!("Fulcio sent a certificate that is not PEM: {error}")
        })?;
        anyhow::ensure!(
            label == "CERTIFICATE",
            "Fulcio sent a PEM block `{label}` where a certificate was expected"
        );
        x509_cert::Certificate::from_der(&der)
            .context("Fulcio sent a certificate that does not parse")?;
        ders.push(der);
    }
    let mut ders = ders.into_iter();
    let leaf = ders
        .next()
        .context("Fulcio sent an empty certificate chain")?;
    Ok(CertificateChain {
        leaf,
        rest: ders.collect(),
    })
}

/// The P-256 public key a certificate certifies.
pub fn certified_key(certificate_der: &[u8]) -> anyhow::Result<p256::ecdsa::VerifyingKey> {
    let certificate = x509_cert::Certificate::from_der(certificate_der)
        .context("the signing certificate does not parse")?;
    let spki = &certificate.tbs_certificate.subject_public_key_info;
    p256::ecdsa::VerifyingKey::from_sec1_bytes(spki.subject_public_key.raw_bytes())
        .map_err(|_| anyhow::anyhow!("the signing certificate does not carry a P-256 key"))
}

const SUBJECT_ALT_NAME: der::oid::ObjectIdentifier =
    der::oid::ObjectIdentifier::new_unwrap("2.5.29.17");

/// The identity a certificate was issued to (first URI or e-mail of its subject alternative
/// name), for the log.
#[must_use]
pub fn identity(certificate_der: &[u8]) -> Option<String> {
    use x509_cert::ext::pkix::SubjectAltName;
    use x509_cert::ext::pkix::name::GeneralName;
    let certificate = x509_cert::Certificate::from_der(certificate_der).ok()?;
    let extensions = certificate.tbs_certificate.extensions.as_ref()?;
    let extension = extensions
        .iter()
        .find(|extension| extension.extn_id == SUBJECT_ALT_NAME)?;
    let names = SubjectAltName::from_der(extension.extn_value.as_bytes()).ok()?;
    names.0.iter().find_map(|name| match name {
        GeneralName::UniformResourceIdentifier(uri) => Some(uri.to_string()),
        GeneralName::Rfc822Name(mail) => Some(mail.to_string()),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_csr_is_self_signed_by_the_key_with_an_empty_subject() {
        use p256::ecdsa::signature::Verifier as _;
        let key = p256::ecdsa::SigningKey::random(&mut rand_core::OsRng);
        let pem = csr_pem(&key).unwrap();
        let (label, der) = pem_rfc7468::decode_vec(pem.as_bytes()).unwrap();
        assert_eq!(label, "CERTIFICATE REQUEST");
        let request = x509_cert::request::CertReq::from_der(&der).unwrap();
        assert!(request.info.subject.0.is_empty());
        let info = request.info.to_der().unwrap();
        let signature = p256::ecdsa::DerSignature::try_from(request.signature.raw_bytes()).unwrap();
        assert!(key.verifying_key().verify(&info, &signature).is_ok());
        let spki = request.info.public_key.subject_public_key.raw_bytes();
        assert_eq!(
            p256::ecdsa::VerifyingKey::from_sec1_bytes(spki).unwrap(),
            *key.verifying_key()
        );
    }

    #[test]
    fn a_token_that_cannot_be_a_header_is_an_error_and_nothing_is_sent() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let fulcio = Url::parse(&format!("http://{}/", listener.local_addr().unwrap())).unwrap();
        let client = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(2))
            .build()
            .unwrap();
        let key = p256::ecdsa::SigningKey::random(&mut rand_core::OsRng);
        let token = SecretString::from("eyJhbGciOi.eyJzdWIi\r.c2lnbmF0dXJl".to_owned());
        let policy = RetryPolicy {
            attempts: 1,
            ..RetryPolicy::default()
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let error = runtime
            .block_on(signing_certificate(&client, &fulcio, &token, &key, policy))
            .unwrap_err();
        let message = format!("{error:#}");
        assert!(
            message.contains("cannot be sent in an HTTP header"),
            "{message}"
        );
        assert!(!message.contains("eyJ"), "{message}");
        // No connection was made: the token never left.
        assert_eq!(
            listener.accept().map(|_| ()).unwrap_err().kind(),
            std::io::ErrorKind::WouldBlock
        );
    }
}
