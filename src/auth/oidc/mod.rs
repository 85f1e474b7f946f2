//! The job's GitHub OIDC token: requested from the runner (`ACTIONS_ID_TOKEN_REQUEST_URL`) for
//! an audience, for Trusted Publishing and for Sigstore's signing certificate; its claims decoded
//! only to explain errors; and what can go wrong, each case with the fix.

mod claims;
mod error;
mod id_token;
mod identity;

pub use claims::{SHOWN_CLAIMS, claim_text, decode_claims, workflow_file_name};
pub use error::{MintErrorItem, OidcError, Rejection};
pub(crate) use error::{short, unexpected_answer};
pub use id_token::{check_token_available, fetch_id_token, request_id_token};
pub use identity::Identity;
