//! Rekor v1, Sigstore's transparency log: `POST /api/v1/log/entries` with a `dsse` 0.0.1
//! entry; the answer becomes the bundle's transparency entry
//! (<https://github.com/sigstore/rekor/blob/main/openapi.yaml>).

use std::collections::BTreeMap;

use anyhow::Context as _;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use url::Url;

use super::send_with_retry;
use super::statement::{
    Checkpoint, InclusionPromise, InclusionProof, KindVersion, LogId, TransparencyEntry,
};
use crate::http::RetryPolicy;

/// One entry as Rekor v1 returns it.
#[derive(Debug, Clone, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LogEntry {
    /// base64 of the canonicalized entry body.
    pub body: String,
    pub integrated_time: i64,
    /// hex of the log's key id (sha256 of its public key).
    #[serde(rename = "logID")]
    pub log_id: String,
    pub log_index: i64,
    pub verification: Option<Verification>,
}

#[derive(Debug, Clone, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Verification {
    pub signed_entry_timestamp: Option<String>,
    pub inclusion_proof: Option<RekorInclusionProof>,
}

#[derive(Debug, Clone, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RekorInclusionProof {
    pub checkpoint: String,
    /// hex
    #[serde(default)]
    pub hashes: Vec<String>,
    pub log_index: i64,
    /// hex
    pub root_hash: String,
    pub tree_size: i64,
}

/// The request body for a `dsse` 0.0.1 entry.
#[must_use]
pub fn proposed_entry(envelope_json: &str, leaf_pem: &str) -> serde_json::Value {
    serde_json::json!({
        "apiVersion": "0.0.1",
        "kind": "dsse",
        "spec": {
            "proposedContent": {
                "envelope": envelope_json,
                "verifiers": [STANDARD.encode(leaf_pem)],
            }
        }
    })
}

/// Log a DSSE envelope; returns Rekor's entry (with its inclusion proof and promise).
pub async fn log_dsse(
    client: &reqwest::Client,
    rekor_url: &Url,
    envelope_json: &str,
    leaf_pem: &str,
    policy: RetryPolicy,
) -> anyhow::Result<LogEntry> {
    let url = crate::inputs::with_trailing_slash(rekor_url.clone())
        .join("api/v1/log/entries")
        .context("invalid rekor-url")?;
    let body = proposed_entry(envelope_json, leaf_pem);
    let context = || {
        format!(
            "Rekor ({}) did not log the attestation; check rekor-url, or set `attestations: false` to publish without attestations",
            crate::http::display_url(rekor_url)
        )
    };
    let response = send_with_retry(policy, "POST", &url, || {
        client
            .post(url.clone())
            .header(reqwest::header::ACCEPT, "application/json")
            .json(&body)
    })
    .await;
    let response = match response {
        Ok(response) => response,
        // A retried POST that the log had already stored answers 409 with the entry's place.
        Err(error) => match conflict_location(&error, &url) {
            Some(location) => send_with_retry(policy, "GET", &location, || {
                client
                    .get(location.clone())
                    .header(reqwest::header::ACCEPT, "application/json")
            })
            .await
            .with_context(context)?,
            None => return Err(error).with_context(context),
        },
    };
    let entries: BTreeMap<String, LogEntry> =
        crate::http::read_json(response, crate::http::BodyKind::SigstoreAnswer)
            .await
            .with_context(|| format!("Rekor's answer is not a log entry ({url})"))?;
    entries
        .into_values()
        .next()
        .with_context(|| format!("Rekor's answer has no log entry ({url})"))
}

/// Where the entry a 409 names is: on the same log, by the redirect rule.
fn conflict_location(error: &anyhow::Error, url: &Url) -> Option<Url> {
    let http = error.downcast_ref::<super::ConflictError>()?;
    url.join(&http.location)
        .ok()
        .filter(|location| crate::http::redirect::check(url, location).is_ok())
}

/// Rekor's answer in the bundle's form: integers as strings, hex as base64.
pub fn transparency_entry(entry: &LogEntry) -> anyhow::Result<TransparencyEntry> {
    let body = STANDARD
        .decode(&entry.body)
        .context("Rekor's entry body is not base64")?;
    let kind: serde_json::Value =
        serde_json::from_slice(&body).context("Rekor's entry body is not JSON")?;
    let verification = entry
        .verification
        .as_ref()
        .context("Rekor's entry has no verification (inclusion promise and proof)")?;
    let inclusion_proof = match &verification.inclusion_proof {
        Some(proof) => Some(InclusionProof {
            log_index: proof.log_index.to_string(),
            root_hash: hex_to_base64(&proof.root_hash)?,
            tree_size: proof.tree_size.to_string(),
            hashes: proof
                .hashes
                .iter()
                .map(|hash| hex_to_base64(hash))
                .collect::<anyhow::Result<_>>()?,
            checkpoint: Checkpoint {
                envelope: proof.checkpoint.clone(),
            },
        }),
        None => None,
    };
    Ok(TransparencyEntry {
        log_index: entry.log_index.to_string(),
        log_id: LogId {
            key_id: hex_to_base64(&entry.log_id)?,
        },
        kind_version: KindVersion {
            kind: kind
                .get("kind")
                .and_then(serde_json::Value::as_str)
                .unwrap_or("dsse")
                .to_owned(),
            version: kind
                .get("apiVersion")
                .and_then(serde_json::Value::as_str)
                .unwrap_or("0.0.1")
                .to_owned(),
        },
        integrated_time: entry.integrated_time.to_string(),
        inclusion_promise: verification.signed_entry_timestamp.as_ref().map(|set| {
            InclusionPromise {
                signed_entry_timestamp: set.clone(),
            }
        }),
        inclusion_proof,
        canonicalized_body: entry.body.clone(),
    })
}

fn hex_to_base64(text: &str) -> anyhow::Result<String> {
    let bytes =
        hex::decode(text).with_context(|| format!("Rekor sent `{text}` where hex was expected"))?;
    Ok(STANDARD.encode(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rekor_answer_becomes_a_bundle_entry() {
        let entry = LogEntry {
            body: STANDARD.encode(r#"{"apiVersion":"0.0.1","kind":"dsse","spec":{}}"#),
            integrated_time: 1_700_000_000,
            log_id: "c0d23d6a".into(),
            log_index: 42,
            verification: Some(Verification {
                signed_entry_timestamp: Some("U0VU".into()),
                inclusion_proof: Some(RekorInclusionProof {
                    checkpoint: "origin\n1\nroot\n".into(),
                    hashes: vec!["00ff".into()],
                    log_index: 7,
                    root_hash: "ff00".into(),
                    tree_size: 8,
                }),
            }),
        };
        let converted = transparency_entry(&entry).unwrap();
        let json = serde_json::to_value(&converted).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "logIndex": "42",
                "logId": {"keyId": "wNI9ag=="},
                "kindVersion": {"kind": "dsse", "version": "0.0.1"},
                "integratedTime": "1700000000",
                "inclusionPromise": {"signedEntryTimestamp": "U0VU"},
                "inclusionProof": {
                    "logIndex": "7",
                    "rootHash": "/wA=",
                    "treeSize": "8",
                    "hashes": ["AP8="],
                    "checkpoint": {"envelope": "origin\n1\nroot\n"}
                },
                "canonicalizedBody": entry.body,
            })
        );
    }
}
