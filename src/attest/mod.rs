//! PEP 740 publish attestations (DESIGN §5): in-toto statement, DSSE signature, Fulcio
//! certificate, Rekor entry, all in memory: nothing is written beside the dists.

pub mod check;
pub mod fulcio;
pub mod rekor;
pub mod statement;

use std::collections::BTreeMap;

use anyhow::Context as _;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use futures_util::StreamExt as _;
use url::Url;

use crate::actions::{Console, Runner};
use crate::auth::Authenticator;
use crate::distribution::Dist;
use crate::http::RetryPolicy;
use crate::inputs::Settings;

/// At most this many files are signed and logged at once: 50+ wheels finish well inside the
/// certificate's 10 minutes without flooding Rekor.
pub const SIGNING_CONCURRENCY: usize = 8;

/// The OIDC audience Fulcio accepts.
pub const SIGSTORE_AUDIENCE: &str = "sigstore";

/// Sign a PEP 740 attestation for each dist to upload: file name -> the `attestations` form
/// field value (a JSON array), plus the status line for the summary. Empty when attestations
/// do not apply (with a notice saying why).
pub async fn attest(
    settings: &Settings,
    runner: &Runner,
    client: &reqwest::Client,
    authenticator: &Authenticator,
    dists: &[&Dist],
) -> anyhow::Result<(BTreeMap<String, String>, Option<String>)> {
    if !settings.attestations {
        return Ok((
            BTreeMap::new(),
            Some("off (`attestations: false`)".to_owned()),
        ));
    }
    let trusted_publishing = matches!(authenticator, Authenticator::TrustedPublishing(_));
    if let Some(reason) = not_applicable(settings, trusted_publishing) {
        Console::notice("Attestations off", &reason);
        return Ok((BTreeMap::new(), Some(format!("off: {reason}"))));
    }
    if dists.is_empty() {
        return Ok((
            BTreeMap::new(),
            Some("none needed: every file is already on the index".to_owned()),
        ));
    }
    // Sign only once the index accepted our identity: a failed exchange must not leave
    // entries in the public transparency log for files that are never published.
    authenticator
        .credentials()
        .await
        .context("the Trusted Publishing token exchange failed, so nothing was signed")?;
    let sigstore = Sigstore {
        client,
        fulcio_url: &settings.fulcio_url,
        rekor_url: &settings.rekor_url,
        policy: RetryPolicy::from_env(),
    };
    let subjects: Vec<Subject> = dists
        .iter()
        .map(|dist| Subject {
            name: dist.file_name().to_owned(),
            sha256: dist.digests.sha256.clone(),
        })
        .collect();
    let signed = sigstore
        .sign_all(runner, &subjects)
        .await
        .context(AttestFailed)?;
    let status = status_line(&signed);
    Ok((signed.forms, Some(status)))
}

/// The summary's line: how many, for which identity, where in the log.
fn status_line(signed: &Signed) -> String {
    let entries = match signed.log_indexes.as_slice() {
        [] => String::new(),
        [one] => format!("; Rekor log entry {one}"),
        few @ ([_, _, _] | [_, _]) => format!("; Rekor log entries {}", few.join(", ")),
        [first, .., last] => format!("; Rekor log entries {first} ... {last}"),
    };
    format!(
        "{} signed (PEP 740) for {}{entries}",
        signed.forms.len(),
        signed
            .identity
            .as_deref()
            .unwrap_or("the workflow identity")
    )
}

/// What a run with these settings would do about attestations (for the dry-run plan).
#[must_use]
pub fn plan(settings: &Settings) -> String {
    if !settings.attestations {
        return "off (`attestations: false`)".to_owned();
    }
    match not_applicable(settings, settings.trusted_publishing()) {
        Some(reason) => format!("off: {reason}"),
        None => format!(
            "PEP 740, one per file: certificate from Fulcio {}, entries in Rekor {}",
            crate::http::display_url(&settings.fulcio_url),
            crate::http::display_url(&settings.rekor_url)
        ),
    }
}

/// Why attestations are off although requested, if they are.
fn not_applicable(settings: &Settings, trusted_publishing: bool) -> Option<String> {
    if !trusted_publishing {
        return Some(
            "PEP 740 attestations need Trusted Publishing (the index accepts them only from a Trusted Publisher); remove `password` to use it, or set `attestations: false` to silence this notice".to_owned(),
        );
    }
    let host = settings.repository_url.host_str().unwrap_or_default();
    let pypi = matches!(host, "upload.pypi.org" | "pypi.org" | "test.pypi.org");
    if !pypi && !settings.sigstore_overridden {
        return Some(format!(
            "{host} is not PyPI or TestPyPI, the indexes that accept PEP 740 attestations; set `attestations: false` to silence this notice"
        ));
    }
    None
}

/// The Sigstore services one run talks to.
#[derive(Debug, Clone, Copy)]
pub struct Sigstore<'a> {
    pub client: &'a reqwest::Client,
    pub fulcio_url: &'a Url,
    pub rekor_url: &'a Url,
    pub policy: RetryPolicy,
}

/// What one attestation is about: a dist's file name and sha256 (hex).
#[derive(Debug, Clone)]
pub struct Subject {
    pub name: String,
    pub sha256: String,
}

/// What [`Sigstore::sign_all`] produced.
#[derive(Debug, Default)]
pub struct Signed {
    /// file name -> `attestations` form value (a JSON array with one attestation)
    pub forms: BTreeMap<String, String>,
    /// Rekor log indexes, in the order of the dists.
    pub log_indexes: Vec<String>,
    /// The identity the certificate was issued to.
    pub identity: Option<String>,
}

impl Sigstore<'_> {
    /// One OIDC token, one key, one certificate; then every dist signed, logged and checked,
    /// a few at a time.
    pub async fn sign_all(&self, runner: &Runner, subjects: &[Subject]) -> anyhow::Result<Signed> {
        let token = crate::auth::oidc::request_id_token(self.client, runner, SIGSTORE_AUDIENCE)
            .await
            .context("failed to get an OIDC token with audience `sigstore` for signing")?;
        warn_about_reusable_workflows(&token);
        let key = p256::ecdsa::SigningKey::random(&mut rand_core::OsRng);
        let chain =
            fulcio::signing_certificate(self.client, self.fulcio_url, &token, &key, self.policy)
                .await?;
        anyhow::ensure!(
            fulcio::certified_key(&chain.leaf)? == *key.verifying_key(),
            "Fulcio ({}) issued a certificate for another key",
            crate::http::display_url(self.fulcio_url)
        );
        let identity = fulcio::identity(&chain.leaf);
        Console::line(&format!(
            "attestations: Sigstore certificate for {}",
            identity
                .as_deref()
                .unwrap_or("(no identity in the certificate)")
        ));
        let leaf_pem = chain.leaf_pem();
        let results: Vec<(String, anyhow::Result<(String, String)>)> =
            futures_util::stream::iter(subjects)
                .map(|subject| {
                    let (key, chain, leaf_pem) = (&key, &chain, leaf_pem.as_str());
                    async move {
                        let result = self
                            .sign_one(key, chain, leaf_pem, &subject.name, &subject.sha256)
                            .await;
                        (subject.name.clone(), result)
                    }
                })
                .buffered(SIGNING_CONCURRENCY)
                .collect()
                .await;
        let mut signed = Signed {
            identity,
            ..Signed::default()
        };
        let mut errors = Vec::new();
        for (name, result) in results {
            match result {
                Ok((form, log_index)) => {
                    signed.forms.insert(name, form);
                    signed.log_indexes.push(log_index);
                }
                Err(error) => errors.push(format!("{name}: {error:#}")),
            }
        }
        if !errors.is_empty() {
            anyhow::bail!("{}", errors.join("\n"));
        }
        Ok(signed)
    }

    /// Statement -> DSSE signature -> Rekor entry -> attestation, checked; returns the form
    /// value and the log index.
    async fn sign_one(
        &self,
        key: &p256::ecdsa::SigningKey,
        chain: &fulcio::CertificateChain,
        leaf_pem: &str,
        file_name: &str,
        sha256_hex: &str,
    ) -> anyhow::Result<(String, String)> {
        let statement = statement::publish_statement(file_name, sha256_hex);
        let signature = statement::sign_statement(key, &statement);
        let envelope = statement::envelope_json(&statement, &signature);
        let entry = rekor::log_dsse(
            self.client,
            self.rekor_url,
            &envelope,
            leaf_pem,
            self.policy,
        )
        .await?;
        let attestation = statement::Attestation {
            version: 1,
            verification_material: statement::VerificationMaterial {
                certificate: STANDARD.encode(&chain.leaf),
                transparency_entries: vec![rekor::transparency_entry(&entry)?],
            },
            envelope: statement::Envelope {
                statement: STANDARD.encode(&statement),
                signature: STANDARD.encode(&signature),
            },
        };
        let checked = check::check(&attestation, file_name, sha256_hex)?;
        let form = serde_json::to_string(&[&attestation])?;
        Ok((form, checked.log_index))
    }
}

/// `PyPI` checks the certificate's Build Config URI (`job_workflow_ref`) against the Trusted
/// Publisher; in a reusable workflow that is the called workflow, not the caller.
fn warn_about_reusable_workflows(token: &secrecy::SecretString) {
    use secrecy::ExposeSecret as _;
    let Some(claims) = crate::auth::oidc::decode_claims(token.expose_secret()) else {
        return;
    };
    let text = |key: &str| claims.get(key).and_then(serde_json::Value::as_str);
    if let (Some(workflow), Some(job_workflow)) = (text("workflow_ref"), text("job_workflow_ref"))
        && workflow != job_workflow
    {
        Console::warning(
            "Attestation identity from a reusable workflow",
            &format!(
                "the signing certificate names the reusable workflow `{job_workflow}` (called from `{workflow}`); PyPI does not support reusable workflows as Trusted Publishers and will reject the attestation's identity"
            ),
        );
    }
}

/// Signing failed: the run stops before the first upload.
#[derive(Debug, thiserror::Error)]
#[error("signing the PEP 740 attestations failed, so nothing was uploaded")]
pub struct AttestFailed;

/// A 409 answer with the place of the existing resource (Rekor, for an entry already logged).
#[derive(Debug, thiserror::Error)]
#[error("{url} answered 409 Conflict: already exists at {location}")]
pub struct ConflictError {
    pub url: String,
    pub location: String,
}

/// Send a request built by `request`, retrying connection errors, 429 and 5xx with backoff.
async fn send_with_retry(
    policy: RetryPolicy,
    method: &str,
    url: &Url,
    request: impl Fn() -> reqwest::RequestBuilder,
) -> anyhow::Result<reqwest::Response> {
    let mut attempt = 1;
    loop {
        let failure: anyhow::Error = match request().send().await {
            Ok(response) if response.status().is_success() => return Ok(response),
            Ok(response) => {
                let status = response.status();
                let location = response
                    .headers()
                    .get(reqwest::header::LOCATION)
                    .and_then(|value| value.to_str().ok())
                    .map(str::to_owned);
                if status == reqwest::StatusCode::CONFLICT
                    && let Some(location) = location
                {
                    return Err(ConflictError {
                        url: crate::http::display_url(url),
                        location,
                    }
                    .into());
                }
                let error = crate::http::http_error(response, method).await;
                if !crate::http::is_retryable(status) {
                    return Err(error.into());
                }
                if attempt >= policy.attempts {
                    return Err(anyhow::Error::new(error)
                        .context(format!("gave up after {attempt} attempts")));
                }
                let wait = policy.delay(attempt, error.retry_after);
                tracing::debug!("{error}; retrying in {wait:?}");
                tokio::time::sleep(wait).await;
                attempt += 1;
                continue;
            }
            Err(error) => anyhow::Error::new(error.without_url())
                .context(format!("{method} {} failed", crate::http::display_url(url))),
        };
        if attempt >= policy.attempts {
            return Err(failure.context(format!("gave up after {attempt} attempts")));
        }
        tokio::time::sleep(policy.delay(attempt, None)).await;
        attempt += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(pairs: &[(&str, &str)]) -> Settings {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("dist")).unwrap();
        let raw = crate::inputs::RawInputs {
            env: pairs
                .iter()
                .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
                .collect(),
            ..Default::default()
        };
        Settings::parse(&raw, dir.path()).unwrap()
    }

    #[test]
    fn attestations_apply_to_trusted_publishing_on_pypi_and_testpypi_only() {
        for url in [
            "https://upload.pypi.org/legacy/",
            "https://test.pypi.org/legacy/",
        ] {
            let settings = settings(&[("INPUT_REPOSITORY-URL", url)]);
            assert_eq!(not_applicable(&settings, true), None, "{url}");
        }
        let other = settings(&[("INPUT_REPOSITORY-URL", "https://pypi.example.com/legacy/")]);
        let reason = not_applicable(&other, true).unwrap();
        assert!(
            reason.starts_with("pypi.example.com is not PyPI or TestPyPI"),
            "{reason}"
        );

        let password = settings(&[("INPUT_PASSWORD", "pypi-secret-token")]);
        let reason = not_applicable(&password, false).unwrap();
        assert!(reason.contains("need Trusted Publishing"), "{reason}");
    }

    #[test]
    fn the_status_line_names_the_identity_and_the_log_entries() {
        let mut signed = Signed {
            identity: Some(
                "https://github.com/o/r/.github/workflows/release.yml@refs/tags/v1".into(),
            ),
            ..Signed::default()
        };
        signed.forms.insert("a.whl".into(), "[]".into());
        signed.log_indexes = vec!["7".into()];
        assert_eq!(
            status_line(&signed),
            "1 signed (PEP 740) for https://github.com/o/r/.github/workflows/release.yml@refs/tags/v1; Rekor log entry 7"
        );
        signed.log_indexes = (1..=60).map(|n| n.to_string()).collect();
        assert!(status_line(&signed).ends_with("; Rekor log entries 1 ... 60"));
    }

    #[test]
    fn the_plan_says_what_a_run_would_do() {
        assert_eq!(
            plan(&settings(&[])),
            "PEP 740, one per file: certificate from Fulcio https://fulcio.sigstore.dev/, entries in Rekor https://rekor.sigstore.dev/"
        );
        assert_eq!(
            plan(&settings(&[("INPUT_ATTESTATIONS", "false")])),
            "off (`attestations: false`)"
        );
        assert!(
            plan(&settings(&[("INPUT_PASSWORD", "pypi-abcdefgh")]))
                .starts_with("off: PEP 740 attestations need Trusted Publishing")
        );
    }

    #[test]
    fn explicit_sigstore_urls_allow_any_index() {
        let settings = settings(&[
            ("INPUT_REPOSITORY-URL", "http://127.0.0.1:9/"),
            ("INPUT_REKOR-URL", "http://127.0.0.1:8/rekor"),
        ]);
        assert!(settings.sigstore_overridden);
        assert_eq!(not_applicable(&settings, true), None);
    }
}
