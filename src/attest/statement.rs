//! The PEP 740 attestation object and what it signs: the in-toto v1 Statement
//! (<https://github.com/in-toto/attestation/blob/main/spec/v1/statement.md>), the DSSE
//! pre-authentication encoding (<https://github.com/secure-systems-lab/dsse/blob/master/protocol.md>)
//! and the transparency entry in the Sigstore bundle's JSON form.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use p256::ecdsa::signature::Signer as _;
use serde::{Deserialize, Serialize};

/// The in-toto payload type that DSSE signs for PEP 740.
pub const PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";
pub const STATEMENT_TYPE: &str = "https://in-toto.io/Statement/v1";
pub const PUBLISH_PREDICATE: &str = "https://docs.pypi.org/attestations/publish/v1";

/// The statement bytes for one dist (kept verbatim: the signature covers these exact bytes).
#[must_use]
pub fn publish_statement(file_name: &str, sha256_hex: &str) -> Vec<u8> {
    // Written by hand: serde_json sorts object keys (no `preserve_order`), and the documented
    // statement has its fields in this order.
    let name = serde_json::Value::String(file_name.to_owned()).to_string();
    let digest = serde_json::Value::String(sha256_hex.to_owned()).to_string();
    format!(
        r#"{{"_type":"{STATEMENT_TYPE}","subject":[{{"name":{name},"digest":{{"sha256":{digest}}}}}],"predicateType":"{PUBLISH_PREDICATE}","predicate":null}}"#
    )
    .into_bytes()
}

/// DSSE v1 pre-authentication encoding: `DSSEv1 <len> <type> <len> <body>`.
#[must_use]
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut encoded = format!(
        "DSSEv1 {} {payload_type} {} ",
        payload_type.len(),
        payload.len()
    )
    .into_bytes();
    encoded.extend_from_slice(payload);
    encoded
}

/// Sign a statement as DSSE: ECDSA P-256 with SHA-256 over the PAE, DER-encoded.
#[must_use]
pub fn sign_statement(key: &p256::ecdsa::SigningKey, statement: &[u8]) -> Vec<u8> {
    let signature: p256::ecdsa::DerSignature = key.sign(&pae(PAYLOAD_TYPE, statement));
    signature.as_bytes().to_vec()
}

/// The DSSE envelope JSON as Rekor's `dsse` kind takes it (`payload` and `sig` base64).
#[must_use]
pub fn envelope_json(statement: &[u8], signature: &[u8]) -> String {
    serde_json::json!({
        "payload": STANDARD.encode(statement),
        "payloadType": PAYLOAD_TYPE,
        "signatures": [{"sig": STANDARD.encode(signature)}],
    })
    .to_string()
}

/// A PEP 740 attestation object (pypi-attestations' `Attestation`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Attestation {
    pub version: u32,
    pub verification_material: VerificationMaterial,
    pub envelope: Envelope,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct VerificationMaterial {
    /// base64 of the DER leaf certificate.
    pub certificate: String,
    pub transparency_entries: Vec<TransparencyEntry>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Envelope {
    /// base64 of the statement bytes.
    pub statement: String,
    /// base64 of the DER signature.
    pub signature: String,
}

/// A Rekor entry in the Sigstore bundle's JSON form (protobuf JSON: integers as strings,
/// bytes as base64).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct TransparencyEntry {
    pub log_index: String,
    pub log_id: LogId,
    pub kind_version: KindVersion,
    pub integrated_time: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inclusion_promise: Option<InclusionPromise>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inclusion_proof: Option<InclusionProof>,
    pub canonicalized_body: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct LogId {
    pub key_id: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct KindVersion {
    pub kind: String,
    pub version: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct InclusionPromise {
    pub signed_entry_timestamp: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct InclusionProof {
    pub log_index: String,
    pub root_hash: String,
    pub tree_size: String,
    #[serde(default)]
    pub hashes: Vec<String>,
    pub checkpoint: Checkpoint,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Checkpoint {
    pub envelope: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statement_bytes_are_the_documented_ones() {
        let statement = publish_statement("demo-1.0-py3-none-any.whl", "ab01");
        assert_eq!(
            String::from_utf8(statement).unwrap(),
            r#"{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"demo-1.0-py3-none-any.whl","digest":{"sha256":"ab01"}}],"predicateType":"https://docs.pypi.org/attestations/publish/v1","predicate":null}"#
        );
    }

    #[test]
    fn pae_counts_bytes() {
        assert_eq!(
            pae(PAYLOAD_TYPE, b"{}"),
            b"DSSEv1 28 application/vnd.in-toto+json 2 {}".to_vec()
        );
    }

    #[test]
    fn a_signature_verifies_over_the_pae_only() {
        use p256::ecdsa::signature::Verifier as _;
        let key = p256::ecdsa::SigningKey::random(&mut rand_core::OsRng);
        let statement = publish_statement("a.whl", "00");
        let signature = sign_statement(&key, &statement);
        let parsed = p256::ecdsa::Signature::from_der(&signature).unwrap();
        let verifying = key.verifying_key();
        assert!(
            verifying
                .verify(&pae(PAYLOAD_TYPE, &statement), &parsed)
                .is_ok()
        );
        assert!(verifying.verify(&statement, &parsed).is_err());
    }
}
