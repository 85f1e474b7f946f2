//! The secrets this program knows: announced to the runner with `::add-mask::` the moment they
//! are learned, and replaced by `***` in every line printed afterwards.

use std::sync::{PoisonError, RwLock};

use secrecy::{ExposeSecret as _, SecretString};

use super::{Command, Stream, escape_data, in_actions, write};

static SECRETS: RwLock<Vec<String>> = RwLock::new(Vec::new());

/// Secrets shorter than this are not redacted on their own: replacing every `ab` in the log
/// would garble it and protect nothing (see [`mask_exact`] for URL user info).
const SHORTEST_SECRET: usize = 4;

/// Register a secret: masked by the runner (`::add-mask::`) and redacted from everything this
/// program prints from now on. Call it the moment the value is learned.
pub fn mask(secret: &SecretString) {
    mask_str(secret.expose_secret());
}

/// Wrap a secret just learned (a minted token, an OIDC token), masking it at once: the one way
/// to hold a secret that came from the network.
#[must_use]
pub fn learned(value: String) -> SecretString {
    mask_str(&value);
    SecretString::from(value)
}

/// As [`mask`], for a value not (yet) wrapped. Values shorter than 4 characters are ignored.
pub fn mask_str(value: &str) {
    let value = value.trim();
    if value.chars().count() >= SHORTEST_SECRET {
        register(value);
    }
}

/// Register a value whatever its length: for the forms a URL carries its user info in
/// (`user:password@`), which are distinctive even when the password is short.
pub fn mask_exact(value: &str) {
    if !value.trim().is_empty() {
        register(value);
    }
}

/// Register the user info of a URL (`https://user:password@host/`), raw and percent-decoded:
/// the password, the user name unless it is `__token__` (Gemfury-style indexes put the token
/// there), and the `user:password@` / `user@` forms whatever their length, as a URL carries
/// them (a 2-character password is still masked where it appears in a URL; alone it is not,
/// since masking every `ab` would garble the log and protect nothing).
pub fn mask_user_info(url: &url::Url) {
    if url.username().is_empty() && url.password().is_none() {
        return;
    }
    let decode = |text: &str| {
        percent_encoding::percent_decode_str(text)
            .decode_utf8_lossy()
            .into_owned()
    };
    let raw = (url.username().to_owned(), url.password().map(str::to_owned));
    let decoded = (decode(&raw.0), raw.1.as_deref().map(decode));
    for (user, password) in [raw, decoded] {
        if user != "__token__" {
            mask_str(&user);
        }
        match password {
            Some(password) => {
                mask_str(&password);
                mask_exact(&format!("{user}:{password}@"));
            }
            None => mask_exact(&format!("{user}@")),
        }
    }
}

fn register(value: &str) {
    {
        let mut secrets = SECRETS.write().unwrap_or_else(PoisonError::into_inner);
        if secrets.iter().any(|known| known == value) {
            return;
        }
        secrets.push(value.to_owned());
        // Each line of a multi-line value too, since it may be printed a line at a time
        // (the runner splits at CR and LF the same way).
        for piece in value
            .split(['\r', '\n'])
            .map(str::trim)
            .filter(|piece| piece.chars().count() >= SHORTEST_SECRET && *piece != value)
        {
            if !secrets.iter().any(|known| known == piece) {
                secrets.push(piece.to_owned());
            }
        }
        // Longest first, so that a secret containing another is replaced whole.
        secrets.sort_by_key(|known| std::cmp::Reverse(known.len()));
    }
    if in_actions() {
        // One command: the runner masks the whole value and each of its lines itself. The data
        // is escaped because the runner unescapes it (`%25` would mask `%`, not `%25`).
        write(
            Stream::Stdout,
            &[Command::AddMask.line(&[], &escape_data(value))],
        );
    }
}

/// Replace every registered secret in `text` by `***`.
#[must_use]
pub fn redact(text: &str) -> String {
    let secrets = SECRETS.read().unwrap_or_else(PoisonError::into_inner);
    let mut text = text.to_owned();
    for secret in secrets.iter() {
        if text.contains(secret.as_str()) {
            text = text.replace(secret.as_str(), "***");
        }
    }
    text
}
