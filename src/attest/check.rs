//! Check an attestation before it is uploaded (and a production one offline): the statement
//! names the file with its sha256, the DSSE signature verifies with the certificate's key, the
//! Rekor entry body records this very signature, payload and certificate, and the inclusion
//! proof leads to the checkpoint's root. With the log's public key, the signed entry
//! timestamp and the checkpoint signature are checked too. The certificate chain and identity
//! are the index's business (and the independent verifier's in the tests).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use p256::ecdsa::signature::Verifier as _;
use sha2::{Digest as _, Sha256};

use super::statement::{Attestation, PAYLOAD_TYPE, PUBLISH_PREDICATE, STATEMENT_TYPE, pae};

/// Why an attestation does not hold.
#[derive(Debug, thiserror::Error)]
#[error("the attestation for {file} does not verify: {problem}")]
pub struct CheckError {
    pub file: String,
    pub problem: String,
}

/// What a successful check established.
#[derive(Debug, Clone)]
pub struct Checked {
    pub log_index: String,
    pub inclusion_proof_checked: bool,
}

/// Check `attestation` against the dist it is for.
pub fn check(
    attestation: &Attestation,
    file_name: &str,
    sha256_hex: &str,
) -> Result<Checked, CheckError> {
    let fail = |problem: String| CheckError {
        file: file_name.to_owned(),
        problem,
    };
    if attestation.version != 1 {
        return Err(fail(format!(
            "unknown attestation version {}",
            attestation.version
        )));
    }
    let statement = decode(&attestation.envelope.statement, "envelope.statement").map_err(fail)?;
    check_statement(&statement, file_name, sha256_hex).map_err(fail)?;
    let signature = decode(&attestation.envelope.signature, "envelope.signature").map_err(fail)?;
    let certificate = decode(
        &attestation.verification_material.certificate,
        "verification_material.certificate",
    )
    .map_err(fail)?;
    let key =
        super::fulcio::certified_key(&certificate).map_err(|error| fail(error.to_string()))?;
    let parsed = p256::ecdsa::Signature::from_der(&signature)
        .map_err(|_| fail("the signature is not a DER ECDSA signature".to_owned()))?;
    key.verify(&pae(PAYLOAD_TYPE, &statement), &parsed)
        .map_err(|_| fail("the signature does not verify with the certificate's key".to_owned()))?;

    let [entry] = attestation
        .verification_material
        .transparency_entries
        .as_slice()
    else {
        return Err(fail(format!(
            "expected one transparency entry, found {}",
            attestation.verification_material.transparency_entries.len()
        )));
    };
    let body = decode(&entry.canonicalized_body, "canonicalizedBody").map_err(fail)?;
    check_entry_body(&body, &statement, &signature, &certificate).map_err(fail)?;
    let inclusion_proof_checked = match &entry.inclusion_proof {
        Some(proof) => {
            check_inclusion(proof, &body).map_err(fail)?;
            true
        }
        None => false,
    };
    Ok(Checked {
        log_index: entry.log_index.clone(),
        inclusion_proof_checked,
    })
}

fn decode(text: &str, field: &str) -> Result<Vec<u8>, String> {
    STANDARD
        .decode(text)
        .map_err(|error| format!("{field} is not base64 ({error})"))
}

fn check_statement(statement: &[u8], file_name: &str, sha256_hex: &str) -> Result<(), String> {
    let json: serde_json::Value = serde_json::from_slice(statement)
        .map_err(|error| format!("the statement is not JSON ({error})"))?;
    let text = |key: &str| json.get(key).and_then(serde_json::Value::as_str);
    if text("_type") != Some(STATEMENT_TYPE) {
        return Err(format!("the statement's _type is not {STATEMENT_TYPE}"));
    }
    if text("predicateType") != Some(PUBLISH_PREDICATE) {
        return Err(format!(
            "the statement's predicateType is not {PUBLISH_PREDICATE}"
        ));
    }
    let subjects = json
        .get("subject")
        .and_then(serde_json::Value::as_array)
        .ok_or("the statement has no subject")?;
    let [subject] = subjects.as_slice() else {
        return Err(format!(
            "the statement has {} subjects, expected one",
            subjects.len()
        ));
    };
    let name = subject.get("name").and_then(serde_json::Value::as_str);
    if name != Some(file_name) {
        return Err(format!(
            "the statement names {}, not this file",
            name.unwrap_or("nothing")
        ));
    }
    let digest = subject
        .pointer("/digest/sha256")
        .and_then(serde_json::Value::as_str);
    if !digest.is_some_and(|digest| digest.eq_ignore_ascii_case(sha256_hex)) {
        return Err(format!(
            "the statement's sha256 {} is not the file's {sha256_hex}",
            digest.unwrap_or("(none)")
        ));
    }
    Ok(())
}

/// The Rekor `dsse` 0.0.1 body must record our payload hash, signature and certificate.
fn check_entry_body(
    body: &[u8],
    statement: &[u8],
    signature: &[u8],
    certificate: &[u8],
) -> Result<(), String> {
    let json: serde_json::Value = serde_json::from_slice(body)
        .map_err(|error| format!("the log entry body is not JSON ({error})"))?;
    let kind = json.get("kind").and_then(serde_json::Value::as_str);
    if kind != Some("dsse") {
        return Err(format!(
            "the log entry is of kind {}, expected dsse",
            kind.unwrap_or("(none)")
        ));
    }
    let payload_hash = json
        .pointer("/spec/payloadHash/value")
        .and_then(serde_json::Value::as_str);
    if payload_hash != Some(hex::encode(Sha256::digest(statement)).as_str()) {
        return Err("the log entry's payloadHash is not the statement's sha256".to_owned());
    }
    let signatures = json
        .pointer("/spec/signatures")
        .and_then(serde_json::Value::as_array)
        .ok_or("the log entry records no signature")?;
    let matching = signatures.iter().any(|entry| {
        let same_signature = entry
            .get("signature")
            .and_then(serde_json::Value::as_str)
            .and_then(|text| STANDARD.decode(text).ok())
            .is_some_and(|bytes| bytes == signature);
        let same_verifier = entry
            .get("verifier")
            .and_then(serde_json::Value::as_str)
            .and_then(|text| STANDARD.decode(text).ok())
            .and_then(|pem| pem_rfc7468::decode_vec(&pem).ok().map(|(_, der)| der))
            .is_some_and(|der| der == certificate);
        same_signature && same_verifier
    });
    if !matching {
        return Err(
            "the log entry does not record this signature with this certificate".to_owned(),
        );
    }
    Ok(())
}

/// RFC 6962 leaf hash.
#[must_use]
pub fn leaf_hash(leaf: &[u8]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update([0]);
    hasher.update(leaf);
    hasher.finalize().into()
}

fn node_hash(left: &[u8], right: &[u8]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update([1]);
    hasher.update(left);
    hasher.update(right);
    hasher.finalize().into()
}

/// RFC 9162 §2.1.3.2: the root an inclusion proof leads to.
pub fn root_from_inclusion_proof(
    index: u64,
    size: u64,
    leaf: [u8; 32],
    path: &[[u8; 32]],
) -> Result<[u8; 32], String> {
    if index >= size {
        return Err(format!(
            "inclusion proof index {index} is not below tree size {size}"
        ));
    }
    let (mut first, mut last, mut root) = (index, size - 1, leaf);
    for sibling in path {
        if last == 0 {
            return Err("the inclusion proof is longer than the tree is deep".to_owned());
        }
        if first & 1 == 1 || first == last {
            root = node_hash(sibling, &root);
            if first & 1 == 0 {
                while first & 1 == 0 && first != 0 {
                    first >>= 1;
                    last >>= 1;
                }
            }
        } else {
            root = node_hash(&root, sibling);
        }
        first >>= 1;
        last >>= 1;
    }
    if last != 0 {
        return Err("the inclusion proof is shorter than the tree is deep".to_owned());
    }
    Ok(root)
}

fn check_inclusion(proof: &super::statement::InclusionProof, body: &[u8]) -> Result<(), String> {
    let number = |text: &str, field: &str| {
        text.parse::<u64>()
            .map_err(|_| format!("inclusionProof.{field} `{text}` is not a number"))
    };
    let hash = |text: &str| -> Result<[u8; 32], String> {
        STANDARD
            .decode(text)
            .ok()
            .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
            .ok_or_else(|| format!("`{text}` is not a base64 sha256 hash"))
    };
    let path = proof
        .hashes
        .iter()
        .map(|text| hash(text))
        .collect::<Result<Vec<_>, _>>()?;
    let root = root_from_inclusion_proof(
        number(&proof.log_index, "logIndex")?,
        number(&proof.tree_size, "treeSize")?,
        leaf_hash(body),
        &path,
    )?;
    if root != hash(&proof.root_hash)? {
        return Err("the inclusion proof does not lead to its root hash".to_owned());
    }
    let note = parse_checkpoint(&proof.checkpoint.envelope)?;
    if note.size != proof.tree_size || note.root_hash != proof.root_hash {
        return Err("the checkpoint is not for the proof's tree size and root".to_owned());
    }
    Ok(())
}

/// A signed note checkpoint: `origin\nsize\nroot\n[other lines]\n\n— name sig\n...`.
#[derive(Debug)]
pub struct CheckpointNote {
    pub text: String,
    pub origin: String,
    pub size: String,
    pub root_hash: String,
    /// (signer name, key hint + signature bytes)
    pub signatures: Vec<(String, Vec<u8>)>,
}

pub fn parse_checkpoint(envelope: &str) -> Result<CheckpointNote, String> {
    let (text, signatures) = envelope
        .split_once("\n\n")
        .ok_or("the checkpoint has no signature block")?;
    let mut lines = text.lines();
    let mut next = || {
        lines
            .next()
            .map(str::to_owned)
            .ok_or("the checkpoint is cut short")
    };
    let (origin, size, root_hash) = (next()?, next()?, next()?);
    let signatures = signatures
        .lines()
        .filter_map(|line| {
            let rest = line.strip_prefix("\u{2014} ")?;
            let (name, signature) = rest.rsplit_once(' ')?;
            Some((name.to_owned(), STANDARD.decode(signature).ok()?))
        })
        .collect();
    Ok(CheckpointNote {
        text: format!("{text}\n"),
        origin,
        size,
        root_hash,
        signatures,
    })
}

/// With the log's public key: the signed entry timestamp (over the canonical JSON of body,
/// integratedTime, logID, logIndex) and the checkpoint's signature.
pub fn check_log_signatures(
    entry: &super::statement::TransparencyEntry,
    log_key: &p256::ecdsa::VerifyingKey,
) -> Result<(), String> {
    let log_id = STANDARD
        .decode(&entry.log_id.key_id)
        .map_err(|_| "logId.keyId is not base64".to_owned())?;
    let promise = entry
        .inclusion_promise
        .as_ref()
        .ok_or("the entry has no inclusion promise")?;
    let integrated_time: i64 = entry
        .integrated_time
        .parse()
        .map_err(|_| "integratedTime is not a number".to_owned())?;
    let log_index: i64 = entry
        .log_index
        .parse()
        .map_err(|_| "logIndex is not a number".to_owned())?;
    // serde_json sorts keys and writes no whitespace: the canonical form Rekor signs.
    let signed = serde_json::json!({
        "body": entry.canonicalized_body,
        "integratedTime": integrated_time,
        "logID": hex::encode(&log_id),
        "logIndex": log_index,
    })
    .to_string();
    let set = STANDARD
        .decode(&promise.signed_entry_timestamp)
        .ok()
        .and_then(|bytes| p256::ecdsa::Signature::from_der(&bytes).ok())
        .ok_or("the signed entry timestamp is not a DER signature")?;
    log_key
        .verify(signed.as_bytes(), &set)
        .map_err(|_| "the signed entry timestamp does not verify with the log's key".to_owned())?;
    if let Some(proof) = &entry.inclusion_proof {
        let note = parse_checkpoint(&proof.checkpoint.envelope)?;
        let verified = note.signatures.iter().any(|(_, bytes)| {
            bytes.len() > 4
                && bytes[..4] == log_id[..4.min(log_id.len())]
                && p256::ecdsa::Signature::from_der(&bytes[4..])
                    .is_ok_and(|signature| log_key.verify(note.text.as_bytes(), &signature).is_ok())
        });
        if !verified {
            return Err("the checkpoint is not signed by the log's key".to_owned());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree_root(leaves: &[[u8; 32]]) -> [u8; 32] {
        if leaves.len() == 1 {
            return leaves[0];
        }
        let split = leaves.len().next_power_of_two() / 2;
        node_hash(&tree_root(&leaves[..split]), &tree_root(&leaves[split..]))
    }

    fn proof(leaves: &[[u8; 32]], index: usize) -> Vec<[u8; 32]> {
        if leaves.len() == 1 {
            return Vec::new();
        }
        let split = leaves.len().next_power_of_two() / 2;
        if index < split {
            let mut path = proof(&leaves[..split], index);
            path.push(tree_root(&leaves[split..]));
            path
        } else {
            let mut path = proof(&leaves[split..], index - split);
            path.push(tree_root(&leaves[..split]));
            path
        }
    }

    #[test]
    fn inclusion_proofs_of_every_leaf_of_odd_trees_verify() {
        for size in 1..=13_usize {
            let leaves: Vec<[u8; 32]> = (0..size).map(|n| leaf_hash(&n.to_be_bytes())).collect();
            let root = tree_root(&leaves);
            for index in 0..size {
                let path = proof(&leaves, index);
                assert_eq!(
                    root_from_inclusion_proof(index as u64, size as u64, leaves[index], &path),
                    Ok(root),
                    "size {size} index {index}"
                );
                if size > 1 {
                    let wrong = (index + 1) % size;
                    assert_ne!(
                        root_from_inclusion_proof(index as u64, size as u64, leaves[wrong], &path),
                        Ok(root)
                    );
                }
            }
        }
    }
}
