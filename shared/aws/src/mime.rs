//! The raw MIME message `SendRawEmail` takes: SES v1's `SendEmail` sets no
//! custom headers, and the optional emails need `List-Unsubscribe`.
//!
//! Hand-written, as small as what we send: one `multipart/alternative`
//! with a UTF-8 text and an HTML part, each base64 (no line is ever too
//! long, and no body byte can look like the boundary, which holds `_`, a
//! character base64 never uses), the subject and any display name RFC 2047
//! encoded when not plain ASCII. A CR or LF in any header value is refused,
//! never stripped: it is a bug or a header-injection attempt.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use khamsa_app::ports::{Email, MailError};

/// Never in a base64 body (`_` is not base64).
const BOUNDARY: &str = "=_khamsa_alt_0";
const CRLF: &str = "\r\n";

fn refuse(what: &str) -> MailError {
    MailError::Refused(format!("header value contains CR or LF: {what}"))
}

fn check_value(name: &str, value: &str) -> Result<(), MailError> {
    if value.contains(['\r', '\n']) {
        return Err(refuse(name));
    }
    Ok(())
}

/// RFC 5322 field names: printable ASCII but `:` (and no space).
fn check_name(name: &str) -> Result<(), MailError> {
    if name.is_empty() || !name.bytes().all(|b| (33..=126).contains(&b) && b != b':') {
        return Err(MailError::Refused(format!("bad header name: {name:?}")));
    }
    Ok(())
}

/// `text` as RFC 2047 `B` encoded words of at most 75 characters each,
/// split on character boundaries, joined by folding white space. Plain
/// ASCII without `=?` is kept as it is.
pub fn encode_words(text: &str) -> String {
    let plain = text.bytes().all(|b| (32..=126).contains(&b)) && !text.contains("=?");
    if plain {
        return text.to_owned();
    }
    // "=?UTF-8?B?" + 56 base64 characters + "?=" = 68: within 75, and
    // "Subject: " and the first word within a 78-character line.
    const MAX_BYTES: usize = 42;
    let mut words = Vec::new();
    let mut start = 0;
    let mut end = 0;
    for (i, c) in text.char_indices() {
        if i + c.len_utf8() - start > MAX_BYTES {
            words.push(&text[start..end]);
            start = i;
        }
        end = i + c.len_utf8();
    }
    words.push(&text[start..end]);
    words
        .iter()
        .map(|w| format!("=?UTF-8?B?{}?=", B64.encode(w)))
        .collect::<Vec<_>>()
        .join("\r\n ")
}

/// A mailbox as written in `From`/`To`: a bare address as it is;
/// `Name <addr>` with the name encoded (or quoted) as needed.
pub fn mailbox(s: &str) -> String {
    let s = s.trim();
    match (s.rfind('<'), s.ends_with('>')) {
        (Some(open), true) if open > 0 => {
            let name = s[..open].trim().trim_matches('"');
            let addr = &s[open..];
            let plain = name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b" !#$%&'*+-/=?^_`{|}~".contains(&b));
            if plain {
                format!("{name} {addr}")
            } else if name.is_ascii() && !name.contains(['"', '\\']) {
                format!("\"{name}\" {addr}")
            } else {
                format!("{} {addr}", encode_words(name))
            }
        }
        _ => s.to_owned(),
    }
}

/// Base64 in lines of 76 characters (RFC 2045).
fn base64_lines(data: &str) -> String {
    let b = B64.encode(data.as_bytes());
    b.as_bytes()
        .chunks(76)
        .map(|c| std::str::from_utf8(c).unwrap_or_default())
        .collect::<Vec<_>>()
        .join(CRLF)
}

/// The whole message, CRLF line ends, ready for `SendRawEmail`.
pub fn build(from: &str, email: &Email) -> Result<String, MailError> {
    check_value("to", &email.to)?;
    check_value("source", from)?;
    check_value("subject", &email.subject)?;
    for (name, value) in &email.headers {
        check_name(name)?;
        check_value(name, value)?;
    }
    let mut m = String::new();
    let mut header = |name: &str, value: &str| {
        m.push_str(name);
        m.push_str(": ");
        m.push_str(value);
        m.push_str(CRLF);
    };
    header("From", &mailbox(from));
    header("To", &mailbox(&email.to));
    header("Subject", &encode_words(&email.subject));
    header("MIME-Version", "1.0");
    for (name, value) in &email.headers {
        header(name, value);
    }
    header(
        "Content-Type",
        &format!("multipart/alternative; boundary=\"{BOUNDARY}\""),
    );
    m.push_str(CRLF);
    for (kind, body) in [("plain", &email.text), ("html", &email.html)] {
        m.push_str(&format!(
            "--{BOUNDARY}{CRLF}Content-Type: text/{kind}; charset=UTF-8{CRLF}\
             Content-Transfer-Encoding: base64{CRLF}{CRLF}{}{CRLF}",
            base64_lines(body)
        ));
    }
    m.push_str(&format!("--{BOUNDARY}--{CRLF}"));
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use khamsa_domain::Timestamp;

    fn email() -> Email {
        Email {
            to: "omar@example.com".into(),
            subject: "اكتمل طلبك: شعار احترافي لمشروعك ومعه ملفات المصدر".into(),
            html: "<p dir=\"rtl\">مرحبًا</p>".into(),
            text: "مرحبًا\nline two".into(),
            at: Timestamp(0),
            headers: Email::one_click_headers("https://api.example/unsubscribe?token=a.b.c"),
        }
    }

    fn decode_words(s: &str) -> String {
        s.split("\r\n ")
            .map(|w| {
                let b = w
                    .strip_prefix("=?UTF-8?B?")
                    .and_then(|w| w.strip_suffix("?="))
                    .expect("an encoded word");
                String::from_utf8(B64.decode(b).unwrap()).unwrap()
            })
            .collect()
    }

    #[test]
    fn an_arabic_subject_is_encoded_in_short_words_that_decode_back() {
        let e = email();
        let enc = encode_words(&e.subject);
        assert!(enc.is_ascii());
        assert!(enc.split("\r\n ").count() > 1, "long: folded: {enc}");
        assert!(enc.split("\r\n ").all(|w| w.len() <= 75), "{enc}");
        assert_eq!(decode_words(&enc), e.subject);
        assert_eq!(encode_words("Order completed"), "Order completed");
        assert_eq!(decode_words(&encode_words("a =?x?= b")), "a =?x?= b");
    }

    #[test]
    fn the_message_has_both_parts_and_the_extra_headers() {
        let raw = build("Khamsa <no-reply@khamsa.example>", &email()).unwrap();
        assert!(raw.is_ascii());
        let (head, body) = raw.split_once("\r\n\r\n").unwrap();
        let lines: Vec<_> = head.split("\r\n").collect();
        assert!(lines.contains(&"From: Khamsa <no-reply@khamsa.example>"));
        assert!(lines.contains(&"To: omar@example.com"));
        assert!(lines.contains(&"List-Unsubscribe: <https://api.example/unsubscribe?token=a.b.c>"));
        assert!(lines.contains(&"List-Unsubscribe-Post: List-Unsubscribe=One-Click"));
        // The unsubscribe URL cannot be folded; every other line is short.
        assert!(
            raw.lines()
                .all(|l| l.len() <= 78 || l.starts_with("List-Unsubscribe:"))
        );
        let parts: Vec<_> = body.split(&format!("--{BOUNDARY}")).collect();
        assert_eq!(parts.len(), 4, "preamble, text, html, end: {body}");
        let decoded = |p: &str| {
            let b64: String = p
                .split_once("\r\n\r\n")
                .unwrap()
                .1
                .split_whitespace()
                .collect();
            String::from_utf8(B64.decode(b64).unwrap()).unwrap()
        };
        assert!(parts[1].contains("text/plain; charset=UTF-8"));
        assert_eq!(decoded(parts[1]), email().text);
        assert!(parts[2].contains("text/html; charset=UTF-8"));
        assert_eq!(decoded(parts[2]), email().html);
        assert_eq!(parts[3], "--\r\n");
    }

    #[test]
    fn a_transactional_email_has_no_unsubscribe_header() {
        let e = Email {
            headers: vec![],
            ..email()
        };
        let raw = build("no-reply@khamsa.example", &e).unwrap();
        assert!(!raw.to_ascii_lowercase().contains("list-unsubscribe"));
    }

    #[test]
    fn display_names_are_encoded_or_quoted() {
        assert_eq!(mailbox("a@b.c"), "a@b.c");
        let enc = mailbox("خمسة <no-reply@khamsa.example>");
        assert!(enc.ends_with(" <no-reply@khamsa.example>") && enc.starts_with("=?UTF-8?B?"));
        assert_eq!(
            decode_words(enc.strip_suffix(" <no-reply@khamsa.example>").unwrap()),
            "خمسة"
        );
        assert_eq!(mailbox("Khamsa, Inc. <x@y.z>"), "\"Khamsa, Inc.\" <x@y.z>");
    }

    #[test]
    fn a_line_break_in_any_header_is_refused() {
        let e = email();
        for bad in [
            Email {
                to: "a@example.com\r\nBcc: x@evil.test".into(),
                ..e.clone()
            },
            Email {
                subject: "Hi\nBcc: x@evil.test".into(),
                ..e.clone()
            },
            Email {
                headers: vec![("List-Unsubscribe".into(), "<u>\r\nBcc: x".into())],
                ..e.clone()
            },
            Email {
                headers: vec![("Bad Name".into(), "v".into())],
                ..e.clone()
            },
        ] {
            assert!(
                matches!(build("a@b.c", &bad), Err(MailError::Refused(_))),
                "{bad:?}"
            );
        }
        assert!(build("a@b.c\rBcc: x", &e).is_err());
    }
}
