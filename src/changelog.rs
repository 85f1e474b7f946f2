//! Release notes from a changelog: `(text, version) -> section` (DESIGN §7).
