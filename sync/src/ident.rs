//! Identifiers chosen by clients (tenant and subject ids, consent text
//! versions): one canonical form, and nothing that displays as something
//! else. Ids are compared byte for byte, so two spellings of one name (NFC
//! and NFD) would be two subjects; and an id with a bidi override or a
//! zero-width character reads as another id in a log or a console.

use unicode_normalization::UnicodeNormalization;

/// Characters that change how text around them displays, or do not display
/// at all: bidi embeddings, overrides, isolates and marks; zero-width
/// spaces and joiners; the word joiner and invisible operators; the byte
/// order mark; interlinear annotation controls; tag characters.
fn is_invisible_or_bidi(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{061C}'
            | '\u{180E}'
            | '\u{200B}'..='\u{200F}'
            | '\u{2028}'..='\u{202E}'
            | '\u{2060}'..='\u{206F}'
            | '\u{FEFF}'
            | '\u{FFF9}'..='\u{FFFB}'
            | '\u{E0000}'..='\u{E007F}'
    )
}

/// The canonical (NFC) form of `raw` if it is an acceptable identifier: at
/// most `max_chars` characters as sent (the bound a JSON Schema
/// `maxLength` states) and at most `max_bytes` bytes of UTF-8 once
/// canonical, not empty, no white space at its ends, no control, bidi or
/// invisible character, and not `.` or `..` (which mean something else in
/// a path).
pub fn canonical(raw: &str, max_chars: usize, max_bytes: usize) -> Option<String> {
    if raw.chars().count() > max_chars {
        return None;
    }
    let id: String = raw.nfc().collect();
    let acceptable = !id.is_empty()
        && id.len() <= max_bytes
        && id.trim() == id
        && id != "."
        && id != ".."
        && !id
            .chars()
            .any(|c| c.is_control() || is_invisible_or_bidi(c));
    acceptable.then_some(id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn spellings_of_one_name_become_one_id() {
        let nfd = "Zoe\u{0301}";
        let nfc = "Zo\u{00E9}";
        assert_eq!(canonical(nfd, 64, 256).as_deref(), Some(nfc));
        assert_eq!(canonical(nfc, 64, 256).as_deref(), Some(nfc));
    }

    #[test]
    fn deceptive_and_path_like_ids_are_refused() {
        for bad in [
            "",
            ".",
            "..",
            " alice",
            "alice ",
            "al\u{0000}ice",
            "al\u{001B}ice",
            "alice\u{202E}ecila",
            "ali\u{200B}ce",
            "ali\u{200D}ce",
            "\u{FEFF}alice",
            "alice\u{2066}",
            "alice\u{E0041}",
            "a\u{0085}b",
        ] {
            assert_eq!(canonical(bad, 64, 256), None, "{bad:?}");
        }
        assert_eq!(canonical(&"x".repeat(65), 64, 256), None);
        assert_eq!(
            canonical(&"x".repeat(64), 64, 256).map(|s| s.len()),
            Some(64)
        );
        // Characters as sent, bytes once canonical.
        assert_eq!(
            canonical(&"\u{00E9}".repeat(64), 64, 256).map(|s| s.len()),
            Some(128)
        );
        assert_eq!(canonical(&"\u{00E9}".repeat(64), 64, 100), None);
        assert_eq!(canonical("a.b", 64, 256).as_deref(), Some("a.b"));
        assert_eq!(canonical("...", 64, 256).as_deref(), Some("..."));
    }

    proptest! {
        #[test]
        fn accepted_ids_are_canonical_and_stable(s in "\\PC{0,40}") {
            if let Some(id) = canonical(&s, 64, 256) {
                prop_assert_eq!(canonical(&id, 64, 256), Some(id.clone()));
                prop_assert!(id.len() <= 256);
            }
        }
    }
}
