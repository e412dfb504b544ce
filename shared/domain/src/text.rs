//! Bounded user text, parsed once at the edge.

use crate::contact::find_contact_details;
use crate::error::{DomainError, DomainResult};
use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;

/// The embedding and isolate controls (U+202A–U+202E, U+2066–U+2069): they
/// reorder what is shown, so a title or an email subject can read as
/// something else. The marks U+200E/U+200F and U+061C only nudge neutral
/// characters and are allowed (product.md lists exactly these two ranges).
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Characters that show nothing: whitespace, format characters (zero-width
/// spaces and joiners, marks, the BOM, tags), fillers and variation
/// selectors. A text made only of these is empty.
pub fn is_invisible(c: char) -> bool {
    c.is_whitespace()
        || c.is_control()
        || matches!(
            c,
            '\u{00AD}'
                | '\u{034F}'
                | '\u{061C}'
                | '\u{115F}'
                | '\u{1160}'
                | '\u{17B4}'
                | '\u{17B5}'
                | '\u{180B}'..='\u{180F}'
                | '\u{200B}'..='\u{200F}'
                | '\u{202A}'..='\u{202E}'
                | '\u{2060}'..='\u{206F}'
                | '\u{2800}'
                | '\u{3164}'
                | '\u{FE00}'..='\u{FE0F}'
                | '\u{FEFF}'
                | '\u{FFA0}'
                | '\u{FFF0}'..='\u{FFF8}'
                | '\u{1D159}'
                | '\u{1D173}'..='\u{1D17A}'
                | '\u{E0000}'..='\u{E007F}'
                | '\u{E0100}'..='\u{E01EF}'
        )
}

/// True when `raw` shows nothing: optional texts treat it as absent. A bidi
/// control is not blank: it is refused, even alone.
pub fn is_blank(raw: &str) -> bool {
    raw.chars().all(|c| is_invisible(c) && !is_bidi_control(c))
}

/// Text a user wrote: NFC, trimmed, visibly non-empty, at most `max`
/// characters, no bidi controls (product.md "Text and numbers").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Text(String);

impl Text {
    pub fn parse(field: &'static str, raw: &str, max: usize) -> DomainResult<Text> {
        // One stored form: the same words typed on two keyboards compare
        // and count alike.
        let nfc: String = raw.nfc().collect();
        if nfc.chars().any(is_bidi_control) {
            return Err(DomainError::BidiControl { field });
        }
        // Before trimming: a control character at either end is refused,
        // not quietly dropped.
        if nfc
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
        {
            return Err(DomainError::invalid(
                field,
                "control characters are not allowed",
            ));
        }
        let t = nfc.trim_matches(is_invisible);
        if t.is_empty() {
            return Err(DomainError::invalid(field, "must not be empty"));
        }
        let n = t.chars().count();
        if n > max {
            return Err(DomainError::invalid(
                field,
                format!("at most {max} characters, got {n}"),
            ));
        }
        Ok(Text(t.to_owned()))
    }

    /// As `parse`, and refuses contact details: the conversation stays on
    /// the site (product rule, enforced on every text the other party reads).
    pub fn parse_no_contact(field: &'static str, raw: &str, max: usize) -> DomainResult<Text> {
        let t = Text::parse(field, raw, max)?;
        if find_contact_details(&t.0).is_some() {
            return Err(DomainError::ContactDetails { field });
        }
        Ok(t)
    }

    /// A single line (names, titles): CR and LF are refused because such
    /// values may end up in email headers.
    pub fn parse_line(field: &'static str, raw: &str, max: usize) -> DomainResult<Text> {
        let t = Text::parse(field, raw, max)?;
        if t.0.contains(['\r', '\n']) {
            return Err(DomainError::invalid(field, "must be a single line"));
        }
        Ok(t)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// For storing: entities keep `String` fields, so their stored format
    /// does not depend on this type.
    pub fn into_string(self) -> String {
        self.0
    }
}

/// An email address, good enough to send to and safe in a header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct EmailAddress(String);

impl EmailAddress {
    pub fn parse(field: &'static str, raw: &str) -> DomainResult<EmailAddress> {
        let t = raw.trim();
        let bad = || DomainError::invalid(field, "not an email address");
        if t.len() > 254 || t.chars().any(|c| is_invisible(c) || is_bidi_control(c)) {
            return Err(bad());
        }
        let (local, domain) = t.split_once('@').ok_or_else(bad)?;
        if local.is_empty()
            || domain.contains('@')
            || !domain.contains('.')
            || domain.starts_with('.')
            || domain.ends_with('.')
            || t.contains(['<', '>', ',', ';', '"'])
        {
            return Err(bad());
        }
        Ok(EmailAddress(t.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// What comes before the `@`: a new user's first display name
    /// (product.md), never empty by construction.
    pub fn local_part(&self) -> &str {
        self.0.split_once('@').map_or(self.0.as_str(), |(l, _)| l)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_trimmed_and_bounded() {
        assert_eq!(Text::parse("t", "  hi ", 5).unwrap().as_str(), "hi");
        assert!(Text::parse("t", "   ", 5).is_err());
        assert!(Text::parse("t", "abcdef", 5).is_err());
        // Characters, not bytes: five Arabic letters fit in five.
        assert!(Text::parse("t", "مرحبا", 5).is_ok());
    }

    #[test]
    fn text_is_nfc() {
        // "é" as e + combining acute is stored as the single code point.
        let t = Text::parse("t", "cafe\u{0301}", 10).unwrap();
        assert_eq!(t.as_str(), "caf\u{00E9}");
        assert_eq!(t.as_str().chars().count(), 4);
    }

    #[test]
    fn invisible_only_text_is_empty() {
        for blank in [
            "\u{200B}",
            " \u{200B}\u{200C}\u{200D} ",
            "\u{FEFF}\u{2060}",
            "\u{3164}",
            "\u{2800}\u{00A0}",
            "\u{E0041}\u{E007F}",
            "\u{200E}",
        ] {
            let e = Text::parse("t", blank, 50).unwrap_err();
            assert_eq!(e.code(), "validation_failed", "{blank:?}");
            assert!(is_blank(blank), "{blank:?}");
        }
        // Invisible edges go, the joiner inside an emoji stays.
        let t = Text::parse("t", "\u{200B}a\u{200D}b\u{FEFF}", 50).unwrap();
        assert_eq!(t.as_str(), "a\u{200D}b");
    }

    #[test]
    fn bidi_controls_are_refused() {
        for c in [
            '\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}', '\u{202E}', '\u{2066}', '\u{2067}',
            '\u{2068}', '\u{2069}',
        ] {
            let e = Text::parse("title", &format!("{c}gpj.exe"), 50).unwrap_err();
            assert_eq!(e, DomainError::BidiControl { field: "title" });
            assert_eq!(e.code(), "bidi_control");
        }
        // The marks are not controls: they fix punctuation in mixed text.
        assert!(Text::parse("t", "شعار\u{200F} logo", 50).is_ok());
    }

    #[test]
    fn control_characters_are_refused_even_at_the_ends() {
        for bad in ["\u{1B}[31mred", "red\u{7}", "a\u{0}b", "\u{7F}"] {
            let e = Text::parse("t", bad, 50).unwrap_err();
            assert_eq!(e.to_string(), "t: control characters are not allowed");
        }
    }

    #[test]
    fn lines_refuse_cr_lf() {
        assert!(Text::parse_line("t", "a\r\nBcc: x@y.z", 50).is_err());
        assert!(Text::parse_line("t", "a\nb", 50).is_err());
    }

    #[test]
    fn email_addresses() {
        assert!(EmailAddress::parse("e", "ali@example.com").is_ok());
        for bad in [
            "ali",
            "ali@",
            "@x.com",
            "a@b",
            "a b@c.com",
            "a@b.com\r\nBcc: x@y.z",
            "a@@b.com",
            "a\u{202E}@b.com",
            "a\u{200B}@b.com",
        ] {
            assert!(EmailAddress::parse("e", bad).is_err(), "{bad:?}");
        }
    }
}
