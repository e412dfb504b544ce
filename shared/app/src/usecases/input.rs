//! Request bodies, read once at the edge into each use case's typed input:
//! first their JSON shape with serde (a `400 malformed_body` that names the
//! field), then their newtypes (`Money`, `Text`, `Rating`...: `400` or `422`
//! as the domain says).
//!
//! A body that fails is not refused at once: the use case gets it as an
//! [`Input`] and surfaces the error only after its own 404 and 403 checks,
//! which is api.md's order of checks.

use crate::error::AppError;
use khamsa_domain::text::{self, Text};
use khamsa_domain::{Config, DomainError, DomainResult, Money};
use serde::Deserialize;
use serde::de::{self, DeserializeOwned, Deserializer, Visitor};
use serde_json::{Map, Value};
use std::fmt;

/// A body read at the edge: the typed input, or why it cannot be one.
pub type Input<T> = Result<T, BodyError>;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BodyError {
    /// Not a JSON object, or a field of the wrong JSON type.
    #[error("{0}")]
    Malformed(String),
    /// Well-formed, but a value the domain refuses.
    #[error(transparent)]
    Refused(#[from] DomainError),
}

impl From<BodyError> for AppError {
    fn from(e: BodyError) -> Self {
        match e {
            BodyError::Malformed(detail) => AppError::bad_request("malformed_body", detail),
            BodyError::Refused(d) => AppError::Domain(d),
        }
    }
}

/// A use case's input, read from a JSON body.
pub trait Body: Sized {
    /// The body's JSON shape: every field optional, so that a missing one
    /// is a `422` naming it rather than serde's `400`.
    type Json: DeserializeOwned;
    /// Whether a field the body does not read is refused (the default, for
    /// every body that creates or edits something: no mass assignment).
    /// The bodies of actions that carry at most a note let them through.
    const UNKNOWN_FIELDS_REFUSED: bool = true;
    /// Makes the newtypes; `cfg` holds the limits (text lengths, ranges).
    fn check(json: Self::Json, cfg: &Config) -> DomainResult<Self>;
}

/// Reads a body into `T`; an empty body reads as `{}` because a POST whose
/// fields are all optional accepts one.
pub fn read<T: Body>(body: &[u8], cfg: &Config) -> Input<T> {
    Ok(T::check(shape(body, T::UNKNOWN_FIELDS_REFUSED)?, cfg)?)
}

fn shape<J: DeserializeOwned>(body: &[u8], strict: bool) -> Result<J, BodyError> {
    let value = if body.iter().all(u8::is_ascii_whitespace) {
        Value::Object(Map::new())
    } else {
        // serde_json's own nesting limit (128) refuses deep bodies here.
        match serde_json::from_slice::<Unique>(body) {
            Ok(Unique(v @ Value::Object(_))) => v,
            Ok(_) => {
                return Err(BodyError::Malformed(
                    "the body must be a JSON object".into(),
                ));
            }
            Err(e) => {
                return Err(BodyError::Malformed(format!(
                    "the body is not valid JSON: {e}"
                )));
            }
        }
    };
    let mut unknown = vec![];
    let mut note = |path: serde_ignored::Path<'_>| unknown.push(path.to_string());
    let json = serde_path_to_error::deserialize(serde_ignored::Deserializer::new(value, &mut note))
        .map_err(|e| BodyError::Malformed(format!("{}: {}", e.path(), e.inner())))?;
    match unknown.first().filter(|_| strict) {
        // A field we do not read is refused, not ignored: a client must not
        // believe it set `status`, `price` or `seller_id` (mass assignment).
        Some(field) => Err(BodyError::Malformed(format!(
            "{field}: unknown field; this body has no such field"
        ))),
        None => Ok(json),
    }
}

/// A JSON value that refuses a key twice in one object. serde_json keeps
/// the last one, so `{"amount": "5", "amount": "500"}` could read one way
/// to a proxy or a log line and another way to us.
struct Unique(Value);

impl<'de> Deserialize<'de> for Unique {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Unique, D::Error> {
        d.deserialize_any(UniqueVisitor)
    }
}

struct UniqueVisitor;

impl<'de> Visitor<'de> for UniqueVisitor {
    type Value = Unique;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Unique, E> {
        Ok(Unique(Value::Bool(v)))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Unique, E> {
        Ok(Unique(Value::from(v)))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Unique, E> {
        Ok(Unique(Value::from(v)))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Unique, E> {
        Ok(Unique(Value::from(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Unique, E> {
        Ok(Unique(Value::String(v.to_owned())))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Unique, E> {
        Ok(Unique(Value::String(v)))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Unique, E> {
        Ok(Unique(Value::Null))
    }
    fn visit_none<E: de::Error>(self) -> Result<Unique, E> {
        Ok(Unique(Value::Null))
    }
    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Unique, A::Error> {
        let mut items = vec![];
        while let Some(Unique(v)) = seq.next_element()? {
            items.push(v);
        }
        Ok(Unique(Value::Array(items)))
    }
    fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Unique, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let Unique(v) = map.next_value()?;
            if out.contains_key(&key) {
                return Err(de::Error::custom(format!("duplicate field `{key}`")));
            }
            out.insert(key, v);
        }
        Ok(Unique(Value::Object(out)))
    }
}

pub fn required<T>(field: &'static str, v: Option<T>) -> DomainResult<T> {
    v.ok_or_else(|| DomainError::invalid(field, "is required"))
}

/// For edits that may clear a field: absent is `None`, `null` is
/// `Some(None)` (use with `#[serde(default, deserialize_with = ...)]`).
pub fn nullable<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// An amount as it travels: a decimal string; a JSON number is malformed.
/// `Money::parse` then says whether the string is an amount.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Amount(String);

impl Amount {
    pub fn money(&self, field: &'static str) -> DomainResult<Money> {
        Money::parse_typed(field, &self.0)
    }
}

impl<'de> Deserialize<'de> for Amount {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Amount, D::Error> {
        struct AmountVisitor;
        impl Visitor<'_> for AmountVisitor {
            type Value = Amount;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a decimal string such as \"20.00\"")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Amount, E> {
                Ok(Amount(s.to_owned()))
            }
        }
        d.deserialize_str(AmountVisitor)
    }
}

/// A body whose fields are ignored: it must still be a JSON object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoFields;

#[derive(Deserialize)]
pub struct Empty {}

impl Body for NoFields {
    type Json = Empty;
    const UNKNOWN_FIELDS_REFUSED: bool = false;
    fn check(_: Empty, _: &Config) -> DomainResult<NoFields> {
        Ok(NoFields)
    }
}

#[derive(Deserialize)]
pub struct TextJson {
    text: Option<String>,
}

#[derive(Deserialize)]
pub struct ReasonJson {
    reason: Option<String>,
}

/// `{text}`: a message the other party reads (no contact details).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageText(pub Text);

impl Body for MessageText {
    type Json = TextJson;
    fn check(j: TextJson, cfg: &Config) -> DomainResult<Self> {
        let text = required("text", j.text)?;
        Ok(MessageText(Text::parse_no_contact(
            "text",
            &text,
            cfg.message_max,
        )?))
    }
}

/// `{text}` of a review's reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyText(pub Text);

impl Body for ReplyText {
    type Json = TextJson;
    fn check(j: TextJson, cfg: &Config) -> DomainResult<Self> {
        let text = required("text", j.text)?;
        Ok(ReplyText(Text::parse_no_contact(
            "text",
            &text,
            cfg.review_text_max,
        )?))
    }
}

/// `{text?}` of a delivery; a blank text is no text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery(pub Option<Text>);

impl Body for Delivery {
    type Json = TextJson;
    const UNKNOWN_FIELDS_REFUSED: bool = false;
    fn check(j: TextJson, cfg: &Config) -> DomainResult<Self> {
        Ok(Delivery(
            non_blank(j.text)
                .map(|t| Text::parse_no_contact("text", &t, cfg.message_max))
                .transpose()?,
        ))
    }
}

/// `{reason?}` of a cancellation, which the other party reads; a blank
/// reason is no reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CancelReason(pub Option<Text>);

impl Body for CancelReason {
    type Json = ReasonJson;
    const UNKNOWN_FIELDS_REFUSED: bool = false;
    fn check(j: ReasonJson, cfg: &Config) -> DomainResult<Self> {
        Ok(CancelReason(
            non_blank(j.reason)
                .map(|r| Text::parse_no_contact("reason", &r, cfg.review_text_max))
                .transpose()?,
        ))
    }
}

/// `{reason}` an operator gives; required or not is the use case's call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperatorReason(pub Option<Text>);

impl OperatorReason {
    pub fn required(self) -> DomainResult<Text> {
        required("reason", self.0)
    }
}

impl Body for OperatorReason {
    type Json = ReasonJson;
    const UNKNOWN_FIELDS_REFUSED: bool = false;
    fn check(j: ReasonJson, cfg: &Config) -> DomainResult<Self> {
        Ok(OperatorReason(
            j.reason
                .map(|r| Text::parse("reason", &r, cfg.review_text_max))
                .transpose()?,
        ))
    }
}

/// Blank includes invisible-only (product.md "Text and numbers").
fn non_blank(s: Option<String>) -> Option<String> {
    s.filter(|s| !text::is_blank(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> Config {
        Config::default()
    }

    #[test]
    fn an_empty_body_reads_as_an_empty_object() {
        assert_eq!(read::<Delivery>(b"  ", &cfg()), Ok(Delivery(None)));
        assert_eq!(read::<NoFields>(b"", &cfg()), Ok(NoFields));
    }

    #[test]
    fn a_wrong_type_is_malformed_and_names_its_field() {
        let Err(BodyError::Malformed(detail)) = read::<MessageText>(br#"{"text": 5}"#, &cfg())
        else {
            panic!("a number is not a text");
        };
        assert!(detail.starts_with("text: "), "{detail}");
        assert!(matches!(
            read::<NoFields>(b"[]", &cfg()),
            Err(BodyError::Malformed(_))
        ));
        assert!(matches!(
            read::<NoFields>(b"{", &cfg()),
            Err(BodyError::Malformed(_))
        ));
    }

    #[test]
    fn duplicate_unknown_and_deep_bodies_are_malformed() {
        for body in [
            &br#"{"text": "a", "text": "b"}"#[..],
            br#"{"text": "a", "status": "completed"}"#,
            br#"{"text": "a", "nested": {"x": 1, "x": 2}}"#,
        ] {
            let r = read::<MessageText>(body, &cfg());
            assert!(matches!(r, Err(BodyError::Malformed(_))), "{r:?}");
        }
        let Err(BodyError::Malformed(detail)) =
            read::<MessageText>(br#"{"text": "a", "seller_id": "me"}"#, &cfg())
        else {
            panic!("an unknown field is refused");
        };
        assert!(detail.starts_with("seller_id: unknown field"), "{detail}");
        let deep = format!("{}{}", "[".repeat(1000), "]".repeat(1000));
        assert!(matches!(
            read::<NoFields>(deep.as_bytes(), &cfg()),
            Err(BodyError::Malformed(_))
        ));
        let deep = format!(
            r#"{{"text": {}1{}}}"#,
            r#"{"a":"#.repeat(1000),
            "}".repeat(1000)
        );
        assert!(matches!(
            read::<MessageText>(deep.as_bytes(), &cfg()),
            Err(BodyError::Malformed(_))
        ));
    }

    #[test]
    fn a_missing_field_is_refused_by_name() {
        let Err(BodyError::Refused(e)) = read::<MessageText>(b"{}", &cfg()) else {
            panic!("text is required");
        };
        assert_eq!(e.to_string(), "text: is required");
    }
}
