//! Loopback fakes of the Sigstore services: a Fulcio that checks the job's OIDC token (signed
//! by [`super::oidc_fake::GithubOidc`], audience `sigstore`) and issues real X.509 leaves with
//! the Fulcio extensions and an embedded SCT from its own CA, and a Rekor v1 that checks the DSSE signature, stores a real
//! `dsse` body and answers with a signed entry timestamp and an inclusion proof (RFC 6962
//! tree of every entry so far) with a signed checkpoint. `trusted_root_json()` describes them
//! for sigstore-python. [`RecordingIndex`] records what the binary uploads.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test support: a fake that cannot start or sign should panic with its cause"
)]

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use der::{Decode as _, Encode as _};
use p256::ecdsa::signature::{Signer as _, Verifier as _};
use p256::ecdsa::{DerSignature, SigningKey, VerifyingKey};
use p256::pkcs8::EncodePublicKey as _;
use sha2::{Digest as _, Sha256};
use x509_cert::builder::{Builder as _, CertificateBuilder, Profile};
use x509_cert::ext::Extension;
use x509_cert::name::Name;

pub const ISSUER: &str = "https://token.actions.githubusercontent.com";
pub const CHECKPOINT_ORIGIN: &str = "rekor.fake - 2605736670972794746";

/// The log: leaf hashes in order, and the entries by UUID.
type Log = (Vec<[u8; 32]>, BTreeMap<String, serde_json::Value>);

struct Inner {
    base: String,
    ca_key: SigningKey,
    ca_der: Vec<u8>,
    ca_name: Name,
    ct_key: SigningKey,
    rekor_key: SigningKey,
    leaves: Mutex<Log>,
    pub fulcio_requests: AtomicUsize,
    pub rekor_requests: AtomicUsize,
    fail_fulcio: AtomicUsize,
    fail_rekor: AtomicUsize,
    lose_rekor: AtomicUsize,
    corrupt_rekor: std::sync::atomic::AtomicBool,
}

/// Fulcio at `{url}/fulcio`, Rekor at `{url}/rekor`. Stopped on drop.
pub struct SigstoreFake {
    pub url: String,
    inner: Arc<Inner>,
    _server: super::background::BackgroundServer,
}

impl SigstoreFake {
    pub fn start() -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let ca_key = SigningKey::random(&mut rand_core::OsRng);
        let ca_name: Name = "O=sigstore.fake,CN=sigstore-fake-root".parse().unwrap();
        let ca_der = self_signed_ca(&ca_key, &ca_name);
        let inner = Arc::new(Inner {
            base: base.clone(),
            ca_key,
            ca_der,
            ca_name,
            ct_key: SigningKey::random(&mut rand_core::OsRng),
            rekor_key: SigningKey::random(&mut rand_core::OsRng),
            leaves: Mutex::new((Vec::new(), BTreeMap::new())),
            fulcio_requests: AtomicUsize::new(0),
            rekor_requests: AtomicUsize::new(0),
            fail_fulcio: AtomicUsize::new(0),
            fail_rekor: AtomicUsize::new(0),
            lose_rekor: AtomicUsize::new(0),
            corrupt_rekor: std::sync::atomic::AtomicBool::new(false),
        });
        let app = axum::Router::new()
            .route(
                "/fulcio/api/v2/signingCert",
                axum::routing::post(signing_cert),
            )
            .route("/rekor/api/v1/log/entries", axum::routing::post(log_entry))
            .route(
                "/rekor/api/v1/log/entries/{uuid}",
                axum::routing::get(get_entry),
            )
            .with_state(inner.clone());
        let server = super::background::BackgroundServer::spawn(listener, app);
        Self {
            url: base,
            inner,
            _server: server,
        }
    }

    pub fn fulcio_url(&self) -> String {
        format!("{}/fulcio", self.url)
    }

    pub fn rekor_url(&self) -> String {
        format!("{}/rekor", self.url)
    }

    pub fn fulcio_requests(&self) -> usize {
        self.inner.fulcio_requests.load(Ordering::SeqCst)
    }

    pub fn rekor_requests(&self) -> usize {
        self.inner.rekor_requests.load(Ordering::SeqCst)
    }

    /// Answer the next `count` Fulcio requests with 503.
    pub fn fail_fulcio(&self, count: usize) {
        self.inner.fail_fulcio.store(count, Ordering::SeqCst);
    }

    /// Answer the next `count` Rekor requests with 503.
    pub fn fail_rekor(&self, count: usize) {
        self.inner.fail_rekor.store(count, Ordering::SeqCst);
    }

    /// Log the next `count` entries but answer 502, as when the answer is lost on the way.
    pub fn lose_rekor_answers(&self, count: usize) {
        self.inner.lose_rekor.store(count, Ordering::SeqCst);
    }

    /// Record a wrong payload hash in every entry body from now on (a misbehaving log).
    pub fn corrupt_rekor_bodies(&self) {
        self.inner.corrupt_rekor.store(true, Ordering::SeqCst);
    }

    /// How many entries the log holds.
    pub fn rekor_entries(&self) -> usize {
        self.inner.leaves.lock().unwrap().0.len()
    }

    /// The Rekor public key (for our own checker).
    pub fn rekor_key(&self) -> VerifyingKey {
        *self.inner.rekor_key.verifying_key()
    }

    /// A sigstore `TrustedRoot` (JSON) for these fakes.
    pub fn trusted_root_json(&self) -> String {
        let start = serde_json::json!({"start": "2020-01-01T00:00:00Z"});
        let log = |key: &SigningKey, url: String| {
            let spki = key.verifying_key().to_public_key_der().unwrap();
            serde_json::json!({
                "baseUrl": url,
                "hashAlgorithm": "SHA2_256",
                "publicKey": {
                    "rawBytes": STANDARD.encode(spki.as_bytes()),
                    "keyDetails": "PKIX_ECDSA_P256_SHA_256",
                    "validFor": start,
                },
                "logId": {"keyId": STANDARD.encode(Sha256::digest(spki.as_bytes()))},
            })
        };
        serde_json::json!({
            "mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
            "tlogs": [log(&self.inner.rekor_key, self.rekor_url())],
            "certificateAuthorities": [{
                "subject": {"organization": "sigstore.fake", "commonName": "sigstore-fake-root"},
                "uri": self.fulcio_url(),
                "certChain": {"certificates": [{"rawBytes": STANDARD.encode(&self.inner.ca_der)}]},
                "validFor": start,
            }],
            "ctlogs": [log(&self.inner.ct_key, format!("{}/ct", self.url))],
            "timestampAuthorities": [],
        })
        .to_string()
    }
}

fn self_signed_ca(key: &SigningKey, name: &Name) -> Vec<u8> {
    let spki = x509_cert::spki::SubjectPublicKeyInfoOwned::from_key(*key.verifying_key()).unwrap();
    let builder = CertificateBuilder::new(
        Profile::Root,
        x509_cert::serial_number::SerialNumber::new(&[1]).unwrap(),
        x509_cert::time::Validity::from_now(Duration::from_secs(86_400)).unwrap(),
        name.clone(),
        spki,
        key,
    )
    .unwrap();
    builder.build::<DerSignature>().unwrap().to_der().unwrap()
}

fn error(status: StatusCode, message: &str) -> Response {
    (
        status,
        Json(serde_json::json!({"code": status.as_u16(), "message": message})),
    )
        .into_response()
}

fn unavailable(counter: &AtomicUsize) -> bool {
    counter
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| {
            left.checked_sub(1)
        })
        .is_ok()
}

/// The token's claims, when its signature, issuer, expiry and audience (`sigstore`) verify.
fn claims_of(headers: &HeaderMap) -> Result<serde_json::Value, String> {
    let token = headers
        .get("authorization")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .ok_or("no bearer token")?;
    super::oidc_fake::verify_jwt(token, "sigstore").map(serde_json::Value::Object)
}

fn utf8_extension(oid: &str, value: &str) -> Extension {
    let encoded = der::asn1::Utf8StringRef::new(value)
        .unwrap()
        .to_der()
        .unwrap();
    Extension {
        extn_id: der::oid::ObjectIdentifier::new_unwrap(oid),
        critical: false,
        extn_value: der::asn1::OctetString::new(encoded).unwrap(),
    }
}

fn raw_extension(oid: &str, critical: bool, value: Vec<u8>) -> Extension {
    Extension {
        extn_id: der::oid::ObjectIdentifier::new_unwrap(oid),
        critical,
        extn_value: der::asn1::OctetString::new(value).unwrap(),
    }
}

async fn signing_cert(
    State(inner): State<Arc<Inner>>,
    headers: HeaderMap,
    Json(request): Json<serde_json::Value>,
) -> Response {
    inner.fulcio_requests.fetch_add(1, Ordering::SeqCst);
    if unavailable(&inner.fail_fulcio) {
        return error(StatusCode::SERVICE_UNAVAILABLE, "fulcio is resting");
    }
    let claims = match claims_of(&headers) {
        Ok(claims) => claims,
        Err(problem) => {
            return error(
                StatusCode::UNAUTHORIZED,
                &format!("the OIDC token does not verify: {problem}"),
            );
        }
    };
    let Some(csr_pem) = request["certificateSigningRequest"]
        .as_str()
        .and_then(|text| STANDARD.decode(text).ok())
    else {
        return error(
            StatusCode::BAD_REQUEST,
            "certificateSigningRequest is not base64",
        );
    };
    let Ok((_, csr_der)) = pem_rfc7468::decode_vec(&csr_pem) else {
        return error(StatusCode::BAD_REQUEST, "the CSR is not PEM");
    };
    let Ok(csr) = x509_cert::request::CertReq::from_der(&csr_der) else {
        return error(StatusCode::BAD_REQUEST, "the CSR does not parse");
    };
    let Ok(key) = VerifyingKey::from_sec1_bytes(csr.info.public_key.subject_public_key.raw_bytes())
    else {
        return error(StatusCode::BAD_REQUEST, "the CSR key is not P-256");
    };
    let proof = DerSignature::try_from(csr.signature.raw_bytes())
        .ok()
        .filter(|signature| key.verify(&csr.info.to_der().unwrap(), signature).is_ok());
    if proof.is_none() {
        return error(StatusCode::BAD_REQUEST, "the CSR signature does not verify");
    }
    let leaf = issue_leaf(&inner, &key, &claims);
    let pem = |der: &[u8]| {
        pem_rfc7468::encode_string("CERTIFICATE", pem_rfc7468::LineEnding::LF, der).unwrap()
    };
    (
        StatusCode::CREATED,
        Json(serde_json::json!({
            "signedCertificateEmbeddedSct": {
                "chain": {"certificates": [pem(&leaf), pem(&inner.ca_der)]}
            }
        })),
    )
        .into_response()
}

/// A Fulcio-like leaf: empty subject, SAN URI = the workflow, the Fulcio OIDC extensions, code
/// signing, and an embedded SCT signed by the fake CT log over the precertificate.
fn issue_leaf(inner: &Inner, key: &VerifyingKey, claims: &serde_json::Value) -> Vec<u8> {
    let text = |name: &str| claims[name].as_str().unwrap_or_default().to_owned();
    let workflow_uri = format!("https://github.com/{}", text("job_workflow_ref"));
    let repository_uri = format!("https://github.com/{}", text("repository"));
    let mut serial = rand::random::<[u8; 16]>();
    serial[0] &= 0x7f;
    serial[0] |= 0x01;
    let builder = CertificateBuilder::new(
        Profile::Leaf {
            issuer: inner.ca_name.clone(),
            enable_key_agreement: false,
            enable_key_encipherment: false,
        },
        x509_cert::serial_number::SerialNumber::new(&serial).unwrap(),
        x509_cert::time::Validity::from_now(Duration::from_secs(600)).unwrap(),
        Name::default(),
        x509_cert::spki::SubjectPublicKeyInfoOwned::from_key(*key).unwrap(),
        &inner.ca_key,
    )
    .unwrap();
    let mut tbs = builder.build::<DerSignature>().unwrap().tbs_certificate;
    let extensions = tbs.extensions.get_or_insert_with(Vec::new);
    let san = x509_cert::ext::pkix::SubjectAltName(vec![
        x509_cert::ext::pkix::name::GeneralName::UniformResourceIdentifier(
            der::asn1::Ia5String::new(&workflow_uri).unwrap(),
        ),
    ]);
    extensions.push(raw_extension("2.5.29.17", true, san.to_der().unwrap()));
    let code_signing =
        x509_cert::ext::pkix::ExtendedKeyUsage(vec![der::oid::ObjectIdentifier::new_unwrap(
            "1.3.6.1.5.5.7.3.3",
        )]);
    extensions.push(raw_extension(
        "2.5.29.37",
        false,
        code_signing.to_der().unwrap(),
    ));
    extensions.push(raw_extension(
        "1.3.6.1.4.1.57264.1.1",
        false,
        ISSUER.as_bytes().to_vec(),
    ));
    for (oid, value) in [
        ("1.3.6.1.4.1.57264.1.8", ISSUER.to_owned()),
        ("1.3.6.1.4.1.57264.1.9", workflow_uri.clone()),
        ("1.3.6.1.4.1.57264.1.12", repository_uri),
        ("1.3.6.1.4.1.57264.1.13", text("sha")),
        ("1.3.6.1.4.1.57264.1.14", text("ref")),
        ("1.3.6.1.4.1.57264.1.18", workflow_uri),
    ] {
        extensions.push(utf8_extension(oid, &value));
    }
    let precertificate = tbs.to_der().unwrap();
    let sct_list = signed_certificate_timestamp(inner, &precertificate);
    let sct_value = der::asn1::OctetString::new(sct_list)
        .unwrap()
        .to_der()
        .unwrap();
    tbs.extensions
        .get_or_insert_with(Vec::new)
        .push(raw_extension("1.3.6.1.4.1.11129.2.4.2", false, sct_value));
    let signature: DerSignature = inner.ca_key.sign(&tbs.to_der().unwrap());
    let certificate = x509_cert::Certificate {
        signature_algorithm: tbs.signature.clone(),
        tbs_certificate: tbs,
        signature: der::asn1::BitString::from_bytes(signature.as_bytes()).unwrap(),
    };
    certificate.to_der().unwrap()
}

/// RFC 6962 §3.2: a v1 SCT over the precertificate entry, as a TLS-encoded SCT list.
fn signed_certificate_timestamp(inner: &Inner, precertificate_tbs: &[u8]) -> Vec<u8> {
    let ca_spki =
        x509_cert::spki::SubjectPublicKeyInfoOwned::from_key(*inner.ca_key.verifying_key())
            .unwrap()
            .to_der()
            .unwrap();
    let log_spki = inner.ct_key.verifying_key().to_public_key_der().unwrap();
    let log_id = Sha256::digest(log_spki.as_bytes());
    let timestamp = u64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap();
    let length = u32::try_from(precertificate_tbs.len())
        .unwrap()
        .to_be_bytes();
    let mut signed = vec![0_u8, 0];
    signed.extend_from_slice(&timestamp.to_be_bytes());
    signed.extend_from_slice(&1_u16.to_be_bytes());
    signed.extend_from_slice(&Sha256::digest(&ca_spki));
    signed.extend_from_slice(&length[1..]);
    signed.extend_from_slice(precertificate_tbs);
    signed.extend_from_slice(&0_u16.to_be_bytes());
    let signature: DerSignature = inner.ct_key.sign(&signed);
    let mut sct = vec![0_u8];
    sct.extend_from_slice(&log_id);
    sct.extend_from_slice(&timestamp.to_be_bytes());
    sct.extend_from_slice(&0_u16.to_be_bytes());
    sct.extend_from_slice(&[4, 3]);
    sct.extend_from_slice(
        &u16::try_from(signature.as_bytes().len())
            .unwrap()
            .to_be_bytes(),
    );
    sct.extend_from_slice(signature.as_bytes());
    let mut list = u16::try_from(sct.len() + 2).unwrap().to_be_bytes().to_vec();
    list.extend_from_slice(&u16::try_from(sct.len()).unwrap().to_be_bytes());
    list.extend_from_slice(&sct);
    list
}

fn leaf_hash(leaf: &[u8]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update([0]);
    hasher.update(leaf);
    hasher.finalize().into()
}

fn node_hash(left: &[u8; 32], right: &[u8; 32]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update([1]);
    hasher.update(left);
    hasher.update(right);
    hasher.finalize().into()
}

fn tree_root(leaves: &[[u8; 32]]) -> [u8; 32] {
    if leaves.len() == 1 {
        return leaves[0];
    }
    let split = leaves.len().next_power_of_two() / 2;
    node_hash(&tree_root(&leaves[..split]), &tree_root(&leaves[split..]))
}

fn inclusion_path(leaves: &[[u8; 32]], index: usize) -> Vec<[u8; 32]> {
    if leaves.len() == 1 {
        return Vec::new();
    }
    let split = leaves.len().next_power_of_two() / 2;
    if index < split {
        let mut path = inclusion_path(&leaves[..split], index);
        path.push(tree_root(&leaves[split..]));
        path
    } else {
        let mut path = inclusion_path(&leaves[split..], index - split);
        path.push(tree_root(&leaves[..split]));
        path
    }
}

async fn log_entry(
    State(inner): State<Arc<Inner>>,
    Json(request): Json<serde_json::Value>,
) -> Response {
    inner.rekor_requests.fetch_add(1, Ordering::SeqCst);
    if unavailable(&inner.fail_rekor) {
        return error(StatusCode::SERVICE_UNAVAILABLE, "rekor is resting");
    }
    if request["kind"] != "dsse" || request["apiVersion"] != "0.0.1" {
        return error(StatusCode::BAD_REQUEST, "only dsse 0.0.1 entries");
    }
    let content = &request["spec"]["proposedContent"];
    let Some(envelope) = content["envelope"]
        .as_str()
        .and_then(|text| serde_json::from_str::<serde_json::Value>(text).ok())
    else {
        return error(StatusCode::BAD_REQUEST, "envelope is not a JSON string");
    };
    let Some(verifier_der) = content["verifiers"][0]
        .as_str()
        .and_then(|text| STANDARD.decode(text).ok())
        .and_then(|pem| pem_rfc7468::decode_vec(&pem).ok().map(|(_, der)| der))
    else {
        return error(StatusCode::BAD_REQUEST, "verifiers[0] is not a base64 PEM");
    };
    let payload = STANDARD
        .decode(envelope["payload"].as_str().unwrap_or_default())
        .unwrap_or_default();
    let payload_type = envelope["payloadType"].as_str().unwrap_or_default();
    let signature = STANDARD
        .decode(
            envelope["signatures"][0]["sig"]
                .as_str()
                .unwrap_or_default(),
        )
        .unwrap_or_default();
    let Ok(certificate) = x509_cert::Certificate::from_der(&verifier_der) else {
        return error(StatusCode::BAD_REQUEST, "the verifier is not a certificate");
    };
    let key = VerifyingKey::from_sec1_bytes(
        certificate
            .tbs_certificate
            .subject_public_key_info
            .subject_public_key
            .raw_bytes(),
    );
    let mut pae = format!(
        "DSSEv1 {} {payload_type} {} ",
        payload_type.len(),
        payload.len()
    )
    .into_bytes();
    pae.extend_from_slice(&payload);
    let verified = key.ok().is_some_and(|key| {
        DerSignature::try_from(signature.as_slice())
            .is_ok_and(|signature| key.verify(&pae, &signature).is_ok())
    });
    if !verified {
        return error(
            StatusCode::BAD_REQUEST,
            "the DSSE signature does not verify",
        );
    }
    let payload_hash = if inner.corrupt_rekor.load(Ordering::SeqCst) {
        "0".repeat(64)
    } else {
        hex::encode(Sha256::digest(&payload))
    };
    // Rekor stores the verifier canonicalized (Go's pem.Encode of the DER).
    let canonical_pem =
        pem_rfc7468::encode_string("CERTIFICATE", pem_rfc7468::LineEnding::LF, &verifier_der)
            .unwrap();
    let body = serde_json::json!({
        "apiVersion": "0.0.1",
        "kind": "dsse",
        "spec": {
            "envelopeHash": {"algorithm": "sha256", "value": hex::encode(Sha256::digest(envelope.to_string()))},
            "payloadHash": {"algorithm": "sha256", "value": payload_hash},
            "signatures": [{
                "signature": STANDARD.encode(&signature),
                "verifier": STANDARD.encode(canonical_pem),
            }],
        },
    })
    .to_string();
    let uuid = hex::encode(leaf_hash(body.as_bytes()));
    let location = format!("{}/rekor/api/v1/log/entries/{uuid}", inner.base);
    let mut log = inner.leaves.lock().unwrap();
    if log.1.contains_key(&uuid) {
        let mut response = error(
            StatusCode::CONFLICT,
            &format!("an equivalent entry already exists in the transparency log with UUID {uuid}"),
        );
        response
            .headers_mut()
            .insert("location", location.parse().unwrap());
        return response;
    }
    log.0.push(leaf_hash(body.as_bytes()));
    let index = log.0.len() - 1;
    let (size, root, path) = (
        log.0.len(),
        tree_root(&log.0),
        inclusion_path(&log.0, index),
    );
    let rekor_spki = inner.rekor_key.verifying_key().to_public_key_der().unwrap();
    let log_id = Sha256::digest(rekor_spki.as_bytes());
    let integrated_time = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let body_base64 = STANDARD.encode(&body);
    let log_index = 1000 + index;
    let set_payload = serde_json::json!({
        "body": body_base64,
        "integratedTime": integrated_time,
        "logID": hex::encode(log_id),
        "logIndex": log_index,
    })
    .to_string();
    let set: DerSignature = inner.rekor_key.sign(set_payload.as_bytes());
    let note = format!("{CHECKPOINT_ORIGIN}\n{size}\n{}\n", STANDARD.encode(root));
    let note_signature: DerSignature = inner.rekor_key.sign(note.as_bytes());
    let mut hint_and_signature = log_id[..4].to_vec();
    hint_and_signature.extend_from_slice(note_signature.as_bytes());
    let checkpoint = format!(
        "{note}\n\u{2014} rekor.fake {}\n",
        STANDARD.encode(hint_and_signature)
    );
    let entry = serde_json::json!({
        "body": body_base64,
        "integratedTime": integrated_time,
        "logID": hex::encode(log_id),
        "logIndex": log_index,
        "verification": {
            "signedEntryTimestamp": STANDARD.encode(set.as_bytes()),
            "inclusionProof": {
                "checkpoint": checkpoint,
                "hashes": path.iter().map(hex::encode).collect::<Vec<_>>(),
                "logIndex": index,
                "rootHash": hex::encode(root),
                "treeSize": size,
            },
        },
    });
    log.1.insert(uuid.clone(), entry.clone());
    drop(log);
    if unavailable(&inner.lose_rekor) {
        return error(StatusCode::BAD_GATEWAY, "the answer was lost on the way");
    }
    let mut response = (
        StatusCode::CREATED,
        Json(serde_json::json!({ uuid: entry })),
    )
        .into_response();
    response
        .headers_mut()
        .insert("location", location.parse().unwrap());
    response
}

async fn get_entry(
    State(inner): State<Arc<Inner>>,
    axum::extract::Path(uuid): axum::extract::Path<String>,
) -> Response {
    match inner.leaves.lock().unwrap().1.get(&uuid) {
        Some(entry) => Json(serde_json::json!({ uuid: entry })).into_response(),
        None => error(StatusCode::NOT_FOUND, "no such entry"),
    }
}

/// One upload seen by [`RecordingIndex`]: the dist's file name and sha256, the
/// `attestations` form field, if any, and every text field.
#[derive(Debug, Clone)]
pub struct RecordedUpload {
    pub file_name: String,
    pub sha256: String,
    pub attestations: Option<String>,
    /// Every form field but the file, in the order sent.
    pub fields: Vec<(String, String)>,
}

/// A recording reverse proxy in front of a real index: every request is forwarded as is, and
/// each multipart upload's `attestations` field is kept. Stopped on drop.
pub struct RecordingIndex {
    pub url: String,
    uploads: Arc<Mutex<Vec<RecordedUpload>>>,
    _server: super::background::BackgroundServer,
}

impl RecordingIndex {
    pub fn start(upstream: &str) -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        let uploads = Arc::new(Mutex::new(Vec::new()));
        let state = (upstream.trim_end_matches('/').to_owned(), uploads.clone());
        let app = axum::Router::new()
            .fallback(forward)
            .with_state(Arc::new(state));
        let server = super::background::BackgroundServer::spawn(listener, app);
        Self {
            url,
            uploads,
            _server: server,
        }
    }

    pub fn uploads(&self) -> Vec<RecordedUpload> {
        self.uploads.lock().unwrap().clone()
    }
}

type ProxyState = Arc<(String, Arc<Mutex<Vec<RecordedUpload>>>)>;

async fn forward(State(state): State<ProxyState>, request: axum::extract::Request) -> Response {
    let (upstream, uploads) = (&state.0, &state.1);
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, 512 * 1024 * 1024).await.unwrap();
    let content_type = parts
        .headers
        .get("content-type")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    if let Some(boundary) = content_type
        .strip_prefix("multipart/form-data; boundary=")
        .map(|boundary| boundary.trim_matches('"').to_owned())
    {
        let fields = multipart_fields(&body, &boundary);
        if let Some((file_name, content)) = fields
            .iter()
            .find_map(|(name, file, value)| (name == "content").then(|| (file.clone(), value)))
        {
            let attestations = fields
                .iter()
                .find(|(name, _, _)| name == "attestations")
                .map(|(_, _, value)| String::from_utf8_lossy(value).into_owned());
            let text_fields = fields
                .iter()
                .filter(|(name, _, _)| name != "content")
                .map(|(name, _, value)| (name.clone(), String::from_utf8_lossy(value).into_owned()))
                .collect();
            uploads.lock().unwrap().push(RecordedUpload {
                file_name: file_name.unwrap_or_default(),
                sha256: hex::encode(Sha256::digest(content)),
                attestations,
                fields: text_fields,
            });
        }
    }
    let (client, url) = super::upstream_target(upstream, &parts.uri);
    let mut request = client.request(parts.method.clone(), url).body(body);
    for (name, value) in &parts.headers {
        if name != "host" && name != "content-length" {
            request = request.header(name, value);
        }
    }
    match request.send().await {
        Ok(answer) => {
            let status = answer.status();
            let headers = answer.headers().clone();
            let bytes = answer.bytes().await.unwrap_or_default();
            let mut response = (status, bytes).into_response();
            for (name, value) in &headers {
                if name != "content-length" && name != "transfer-encoding" {
                    response.headers_mut().insert(name, value.clone());
                }
            }
            response
        }
        Err(error) => (StatusCode::BAD_GATEWAY, error.to_string()).into_response(),
    }
}

/// (field name, file name, value) of each part of a multipart/form-data body.
fn multipart_fields(body: &[u8], boundary: &str) -> Vec<(String, Option<String>, Vec<u8>)> {
    let delimiter = format!("--{boundary}");
    let mut fields = Vec::new();
    let mut rest = body;
    while let Some(start) = find(rest, delimiter.as_bytes()) {
        rest = &rest[start + delimiter.len()..];
        if rest.starts_with(b"--") {
            break;
        }
        let Some(header_end) = find(rest, b"\r\n\r\n") else {
            break;
        };
        let headers = String::from_utf8_lossy(&rest[..header_end]).into_owned();
        let content = &rest[header_end + 4..];
        let Some(end) = find(content, format!("\r\n{delimiter}").as_bytes()) else {
            break;
        };
        let attribute = |key: &str| {
            let marker = format!(" {key}=\"");
            let start = headers.find(&marker)? + marker.len();
            let end = headers[start..].find('"')? + start;
            Some(headers[start..end].to_owned())
        };
        if let Some(name) = attribute("name") {
            fields.push((name, attribute("filename"), content[..end].to_vec()));
        }
        rest = &content[end + 2..];
    }
    fields
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}
