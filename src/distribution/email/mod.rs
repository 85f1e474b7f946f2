//! `Author-email` and `Maintainer-email` as `PyPI` judges them (Warehouse
//! `forklift/metadata.py`): the value goes through Python 3.14's strict
//! `email.utils.parseaddr`, which yields one address or none (a list of several yields none,
//! so `PyPI` checks nothing then), and that address through `email_validator` with its
//! defaults and `check_deliverability=False`. No crate reproduces either (parseaddr's
//! RFC 822 quirks, email-validator's special-use domains and messages), so both are written
//! here from their sources: exact for ASCII addresses; internationalised ones go through the
//! `idna` crate's UTS 46 mapping, where the messages (not the verdicts of common cases) may
//! differ.

mod parseaddr;

use icu_properties::CodePointMapData;
use icu_properties::props::GeneralCategory;

pub use parseaddr::{MAX_NESTING, NestedTooDeeply, address_pypi_checks};

/// email-validator's IANA special-use domains (`SPECIAL_USE_DOMAIN_NAMES`): no address under
/// them is valid.
const SPECIAL_USE_DOMAINS: [&str; 6] = ["arpa", "invalid", "local", "localhost", "onion", "test"];
const ATEXT_SYMBOLS: &str = "_!#$%&'*+-/=?^`{|}~";
const MAX_ADDRESS: usize = 254;
const MAX_DOMAIN: usize = 253;
const MAX_LABEL: usize = 63;

/// `email_validator.validate_email(address, check_deliverability=False)`: `Err` with its
/// message when it refuses the address.
pub fn validate(address: &str) -> Result<(), String> {
    let (local_raw, right) = split_at_special(address, &['@', '<'])?;
    if right.starts_with('<') {
        return Err(
            "A display name and angle brackets around the email address are not permitted here."
                .to_owned(),
        );
    }
    let domain = right.strip_prefix('@').unwrap_or(right);
    let (local, quoted) = unquote(local_raw)?;
    validate_local(&local, quoted)?;
    if quoted {
        return Err("Quoting the part before the @-sign is not allowed here.".to_owned());
    }
    if domain.is_empty() {
        return Err("There must be something after the @-sign.".to_owned());
    }
    if domain.starts_with('[') && domain.ends_with(']') {
        return Err("A bracketed IP address after the @-sign is not allowed here.".to_owned());
    }
    validate_domain(domain)?;
    let length = local_raw.len() + 1 + domain.len();
    if length > MAX_ADDRESS {
        let over = length - MAX_ADDRESS;
        return Err(format!(
            "The email address is too long ({over} character{} too many).",
            plural(over)
        ));
    }
    Ok(())
}

fn plural(count: usize) -> &'static str {
    if count > 1 { "s" } else { "" }
}

/// The text before the first unquoted special character, and the rest from it.
fn split_at_special<'a>(text: &'a str, specials: &[char]) -> Result<(&'a str, &'a str), String> {
    let (mut quoted, mut escaped) = (false, false);
    for (index, character) in text.char_indices() {
        if quoted {
            if character == '\\' && !escaped {
                escaped = true;
            } else {
                if character == '"' && !escaped {
                    quoted = false;
                }
                escaped = false;
            }
        } else if character == '"' {
            quoted = true;
        } else if specials.contains(&character) {
            return Ok((&text[..index], &text[index..]));
        }
    }
    if text.contains('\u{ff20}') {
        return Err("The email address has the \"full-width\" at-sign (@) character instead of a regular at-sign.".to_owned());
    }
    if text.contains('\u{fe6b}') {
        return Err("The email address has the \"small commercial at\" character instead of a regular at-sign.".to_owned());
    }
    Err("An email address must have an @-sign.".to_owned())
}

fn unquote(text: &str) -> Result<(String, bool), String> {
    if !text.starts_with('"') {
        return Ok((text.to_owned(), false));
    }
    let mut value = String::new();
    let mut escaped = false;
    for (index, character) in text.char_indices().skip(1) {
        if escaped {
            value.push(character);
            escaped = false;
        } else if character == '\\' {
            escaped = true;
        } else if character == '"' {
            let rest = &text[index + 1..];
            if !rest.is_empty() {
                let shown: Vec<String> = rest.chars().map(display).collect();
                return Err(format!(
                    "Extra character(s) found after close quote: {}",
                    shown.join(", ")
                ));
            }
            break;
        } else {
            value.push(character);
        }
    }
    Ok((value, true))
}

fn is_atext(character: char) -> bool {
    character.is_ascii_alphanumeric() || ATEXT_SYMBOLS.contains(character)
}

/// RFC 5322 dot-atom; with `international`, every character from U+0080 counts as atext.
fn dot_atom(text: &str, international: bool) -> bool {
    text.split('.').all(|part| {
        !part.is_empty()
            && part
                .chars()
                .all(|c| is_atext(c) || (international && u32::from(c) >= 0x80))
    })
}

fn validate_local(local: &str, quoted: bool) -> Result<(), String> {
    if local.is_empty() {
        return Err("There must be something before the @-sign.".to_owned());
    }
    if dot_atom(local, false) {
        return Ok(());
    }
    if dot_atom(local, true) {
        return unsafe_characters(local, false);
    }
    if quoted {
        let bad = displays(local.chars().filter(|c| {
            let code = u32::from(*c);
            !((0x20..=0x7e).contains(&code) || code >= 0x80)
        }));
        if !bad.is_empty() {
            return Err(format!(
                "The email address contains invalid characters in quotes before the @-sign: {bad}."
            ));
        }
        return unsafe_characters(local, true);
    }
    let bad = displays(
        local
            .chars()
            .filter(|c| !(is_atext(*c) || *c == '.' || u32::from(*c) >= 0x80)),
    );
    if !bad.is_empty() {
        return Err(format!(
            "The email address contains invalid characters before the @-sign: {bad}."
        ));
    }
    if local.ends_with('.') {
        return Err(
            "An email address cannot have a period immediately before the @-sign.".to_owned(),
        );
    }
    if local.starts_with('.') {
        return Err("An email address cannot start with a period.".to_owned());
    }
    if local.contains("..") {
        return Err("An email address cannot have two periods in a row.".to_owned());
    }
    Err("The email address contains invalid characters before the @-sign.".to_owned())
}

fn is_hostname_character(character: char) -> bool {
    character.is_ascii_alphanumeric()
        || matches!(character, '-' | '.')
        || u32::from(character) >= 0x80
}

fn validate_domain(domain: &str) -> Result<(), String> {
    let bad = displays(domain.chars().filter(|c| !is_hostname_character(*c)));
    if !bad.is_empty() {
        return Err(format!(
            "The part after the @-sign contains invalid characters: {bad}."
        ));
    }
    unsafe_characters(domain, false)?;
    let mapped = if domain.is_ascii() {
        domain.to_ascii_lowercase()
    } else {
        // UTS 46 mapping (case folding, NFC, full-width dots), then the A-labels.
        idna::domain_to_ascii(domain).map_err(|error| {
            format!("The part after the @-sign contains invalid characters ({error}).")
        })?
    };
    if mapped.ends_with('.') {
        return Err("An email address cannot end with a period.".to_owned());
    }
    if mapped.starts_with('.') {
        return Err(
            "An email address cannot have a period immediately after the @-sign.".to_owned(),
        );
    }
    if mapped.contains("..") {
        return Err("An email address cannot have two periods in a row.".to_owned());
    }
    if mapped.ends_with('-') {
        return Err("An email address cannot end with a hyphen.".to_owned());
    }
    if mapped.starts_with('-') {
        return Err(
            "An email address cannot have a hyphen immediately after the @-sign.".to_owned(),
        );
    }
    if mapped.contains(".-") || mapped.contains("-.") {
        return Err(
            "An email address cannot have a period and a hyphen next to each other.".to_owned(),
        );
    }
    for label in mapped.split('.') {
        if label.len() >= 4 && &label[2..4] == "--" && !label[..2].eq_ignore_ascii_case("xn") {
            return Err("An email address cannot have two letters followed by two dashes immediately after the @-sign or after a period, except Punycode.".to_owned());
        }
    }
    if mapped.len() > MAX_DOMAIN {
        let over = mapped.len() - MAX_DOMAIN;
        return Err(format!(
            "The email address is too long after the @-sign ({over} character{} too many).",
            plural(over)
        ));
    }
    if let Some(label) = mapped.split('.').find(|label| label.len() > MAX_LABEL) {
        let over = label.len() - MAX_LABEL;
        return Err(format!(
            "After the @-sign, periods cannot be separated by so many characters ({over} character{} too many).",
            plural(over)
        ));
    }
    if !mapped.contains('.') {
        return Err("The part after the @-sign is not valid. It should have a period.".to_owned());
    }
    if !mapped.ends_with(|c: char| c.is_ascii_alphabetic()) {
        return Err(
            "The part after the @-sign is not valid. It is not within a valid top-level domain."
                .to_owned(),
        );
    }
    if SPECIAL_USE_DOMAINS
        .iter()
        .any(|special| mapped == *special || mapped.ends_with(&format!(".{special}")))
    {
        return Err("The part after the @-sign is a special-use or reserved name that cannot be used with email.".to_owned());
    }
    if mapped.split('.').any(|label| label.starts_with("xn--")) {
        // The `idna` package names most such failures "Invalid A-label"; its other messages
        // (a disallowed code point inside the label) are not reproduced.
        let (_, result) = idna::domain_to_unicode(&mapped);
        if result.is_err() {
            return Err(
                "The part after the @-sign is not valid IDNA (Invalid A-label).".to_owned(),
            );
        }
    }
    Ok(())
}

/// email-validator's `check_unsafe_chars`: letters, numbers, punctuation and symbols only
/// (combining marks not first; spaces only inside quotes).
fn unsafe_characters(text: &str, allow_space: bool) -> Result<(), String> {
    let categories = CodePointMapData::<GeneralCategory>::new();
    let mut bad: Vec<char> = text
        .chars()
        .enumerate()
        .filter(|(index, character)| match categories.get(*character) {
            GeneralCategory::NonspacingMark
            | GeneralCategory::SpacingMark
            | GeneralCategory::EnclosingMark => *index == 0,
            GeneralCategory::SpaceSeparator => !allow_space,
            GeneralCategory::LineSeparator
            | GeneralCategory::ParagraphSeparator
            | GeneralCategory::Control
            | GeneralCategory::Format
            | GeneralCategory::Surrogate
            | GeneralCategory::PrivateUse
            | GeneralCategory::Unassigned => true,
            _ => false,
        })
        .map(|(_, character)| character)
        .collect();
    if bad.is_empty() {
        return Ok(());
    }
    bad.sort_unstable();
    bad.dedup();
    let shown: Vec<String> = bad.into_iter().map(display).collect();
    Err(format!(
        "The email address contains unsafe characters: {}.",
        shown.join(", ")
    ))
}

/// email-validator's `safe_character_display`, sorted and de-duplicated as it lists them.
fn displays(characters: impl Iterator<Item = char>) -> String {
    let mut shown: Vec<String> = characters.map(display).collect();
    shown.sort();
    shown.dedup();
    shown.join(", ")
}

fn display(character: char) -> String {
    match character {
        '\\' => "\"\\\"".to_owned(),
        '\'' => "\"'\"".to_owned(),
        ' ' => "SPACE".to_owned(),
        c if c.is_ascii_graphic() => format!("'{c}'"),
        c if c.is_alphanumeric() => format!("'{c}'"),
        c => format!("U+{:04X}", u32::from(c)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_validator_verdicts() {
        for (address, verdict) in [
            ("jane@example.org", Ok(())),
            ("jane.doe+tag@sub.example.co.uk", Ok(())),
            ("JANE@EXAMPLE.ORG", Ok(())),
            (
                "not-an-address",
                Err("An email address must have an @-sign."),
            ),
            (
                "a@b",
                Err("The part after the @-sign is not valid. It should have a period."),
            ),
            (
                "x@localhost",
                Err("The part after the @-sign is not valid. It should have a period."),
            ),
            (
                "x@box.local",
                Err(
                    "The part after the @-sign is a special-use or reserved name that cannot be used with email.",
                ),
            ),
            (
                "x@example.test",
                Err(
                    "The part after the @-sign is a special-use or reserved name that cannot be used with email.",
                ),
            ),
            ("x@example.com", Ok(())),
            (
                "x@example.123",
                Err(
                    "The part after the @-sign is not valid. It is not within a valid top-level domain.",
                ),
            ),
            (
                ".x@example.org",
                Err("An email address cannot start with a period."),
            ),
            (
                "x.@example.org",
                Err("An email address cannot have a period immediately before the @-sign."),
            ),
            (
                "x..y@example.org",
                Err("An email address cannot have two periods in a row."),
            ),
            (
                "x@-example.org",
                Err("An email address cannot have a hyphen immediately after the @-sign."),
            ),
            (
                "x@ab--cd.org",
                Err(
                    "An email address cannot have two letters followed by two dashes immediately after the @-sign or after a period, except Punycode.",
                ),
            ),
            (
                "x@exa_mple.org",
                Err("The part after the @-sign contains invalid characters: '_'."),
            ),
            (
                "\"x y\"@example.org",
                Err("Quoting the part before the @-sign is not allowed here."),
            ),
            ("x@", Err("There must be something after the @-sign.")),
            (
                "@example.org",
                Err("There must be something before the @-sign."),
            ),
            ("jos\u{e9}@example.org", Ok(())),
        ] {
            assert_eq!(
                validate(address),
                verdict.map_err(str::to_owned),
                "{address}"
            );
        }
    }
}
