//! Bounded user text, parsed once at the edge.

use crate::contact::find_contact_details;
use crate::error::{DomainError, DomainResult};
use serde::{Deserialize, Serialize};

/// Text a user wrote: trimmed, non-empty, at most `max` characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Text(String);

impl Text {
    pub fn parse(field: &'static str, raw: &str, max: usize) -> DomainResult<Text> {
        let t = raw.trim();
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
        if t.chars()
            .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
        {
            return Err(DomainError::invalid(
                field,
                "control characters are not allowed",
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
        if t.len() > 254 || t.chars().any(|c| c.is_whitespace() || c.is_control()) {
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
        ] {
            assert!(EmailAddress::parse("e", bad).is_err(), "{bad:?}");
        }
    }
}
