//! Items in and out: entities as attribute maps (`serde_dynamo`), money as
//! exact decimal text, cursors as opaque tokens, expression placeholders.

use super::error::DynamoError;
use super::keys::{Gsi, Key, PK, SK};
use aws_sdk_dynamodb::types::AttributeValue;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use khamsa_app::ports::StoreError;
use rust_decimal::Decimal;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::HashMap;
use std::str::FromStr;

pub type Item = HashMap<String, AttributeValue>;

pub fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

/// A number attribute from exact decimal text (`Decimal`'s `Display` never
/// uses an exponent), never through a float.
pub fn n_dec(d: Decimal) -> AttributeValue {
    AttributeValue::N(d.to_string())
}

pub fn n_u64(v: u64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

pub fn n_i64(v: i64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

pub fn key_item(key: &Key) -> Item {
    HashMap::from([
        (PK.to_owned(), s(key.0.clone())),
        (SK.to_owned(), s(key.1.clone())),
    ])
}

/// `pk|sk` of an item, for error messages.
pub fn describe(item: &Item) -> String {
    let part = |name| match item.get(name) {
        Some(AttributeValue::S(v)) => v.as_str(),
        _ => "?",
    };
    format!("{}|{}", part(PK), part(SK))
}

/// An entity as an attribute map, keyed and typed.
pub fn entity_item<T: Serialize>(
    what: &'static str,
    value: &T,
    key: &Key,
) -> Result<Item, DynamoError> {
    let mut item: Item =
        serde_dynamo::aws_sdk_dynamodb_1::to_item(value).map_err(|e| DynamoError::Encode {
            what,
            reason: e.to_string(),
        })?;
    item.insert(PK.to_owned(), s(key.0.clone()));
    item.insert(SK.to_owned(), s(key.1.clone()));
    item.insert(super::keys::TY.to_owned(), s(what));
    Ok(item)
}

pub fn index_attrs(item: &mut Item, entries: &[(Gsi, String, String)]) {
    for (g, p, k) in entries {
        item.insert(g.pk.to_owned(), s(p.clone()));
        item.insert(g.sk.to_owned(), s(k.clone()));
    }
}

/// An entity back from its item; the extra attributes (keys, indexes,
/// counters) are ignored. A malformed item is an error, never a panic.
pub fn decode<T: DeserializeOwned>(item: Item) -> Result<T, DynamoError> {
    let name = describe(&item);
    serde_dynamo::aws_sdk_dynamodb_1::from_item(item).map_err(|e| DynamoError::malformed(name, e))
}

pub fn encode_value<T: Serialize>(
    what: &'static str,
    value: &T,
) -> Result<AttributeValue, DynamoError> {
    serde_dynamo::aws_sdk_dynamodb_1::to_attribute_value(value).map_err(|e| DynamoError::Encode {
        what,
        reason: e.to_string(),
    })
}

pub fn decode_value<T: DeserializeOwned>(item: &Item, name: &str) -> Result<T, DynamoError> {
    let v = item
        .get(name)
        .cloned()
        .ok_or_else(|| DynamoError::malformed(describe(item), format!("no {name}")))?;
    serde_dynamo::aws_sdk_dynamodb_1::from_attribute_value(v)
        .map_err(|e| DynamoError::malformed(describe(item), format!("{name}: {e}")))
}

/// Decimal text as DynamoDB returns it (it normalises: "10.60" may come
/// back as "10.6"); compared as `Decimal`, never as text.
pub fn parse_decimal(text: &str) -> Option<Decimal> {
    Decimal::from_str_exact(text)
        .or_else(|_| Decimal::from_str(text))
        .or_else(|_| Decimal::from_scientific(text))
        .ok()
}

/// A number attribute as a `Decimal`; `None` when absent.
pub fn get_decimal(item: &Item, name: &str) -> Result<Option<Decimal>, DynamoError> {
    match item.get(name) {
        None | Some(AttributeValue::Null(_)) => Ok(None),
        Some(AttributeValue::N(t)) => parse_decimal(t)
            .map(Some)
            .ok_or_else(|| DynamoError::malformed(describe(item), format!("{name} = {t:?}"))),
        Some(other) => Err(DynamoError::malformed(
            describe(item),
            format!("{name} is {other:?}, not a number"),
        )),
    }
}

/// A counter; absent means zero.
pub fn get_u64(item: &Item, name: &str) -> Result<u64, DynamoError> {
    match item.get(name) {
        None | Some(AttributeValue::Null(_)) => Ok(0),
        Some(AttributeValue::N(t)) => t
            .parse()
            .map_err(|_| DynamoError::malformed(describe(item), format!("{name} = {t:?}"))),
        Some(other) => Err(DynamoError::malformed(
            describe(item),
            format!("{name} is {other:?}, not a number"),
        )),
    }
}

pub fn get_s<'a>(item: &'a Item, name: &str) -> Result<&'a str, DynamoError> {
    match item.get(name) {
        Some(AttributeValue::S(v)) => Ok(v),
        _ => Err(DynamoError::malformed(
            describe(item),
            format!("no text {name}"),
        )),
    }
}

// ---- cursors ----

/// The key attributes of `item` for a query on `index`, as an opaque
/// token: base64 of a JSON object of strings.
pub fn encode_cursor(item: &Item, index: Option<Gsi>) -> Result<String, DynamoError> {
    let mut map = serde_json::Map::new();
    for name in key_names(index) {
        let v = get_s(item, name)?;
        map.insert(name.to_owned(), serde_json::Value::String(v.to_owned()));
    }
    Ok(URL_SAFE_NO_PAD.encode(serde_json::Value::Object(map).to_string()))
}

fn key_names(index: Option<Gsi>) -> Vec<&'static str> {
    match index {
        None => vec![PK, SK],
        Some(g) => vec![PK, SK, g.pk, g.sk],
    }
}

/// The `ExclusiveStartKey` a cursor stands for, after checking that it is
/// one this query could have given out: exactly the key attributes, all
/// non-empty strings, on the queried partition and within its sort range.
/// Anything else is `BadCursor`, never a DynamoDB validation error.
pub fn decode_cursor(
    cursor: &str,
    index: Option<Gsi>,
    partition: &str,
    sort_prefix: Option<&str>,
) -> Result<Item, StoreError> {
    let raw = URL_SAFE_NO_PAD
        .decode(cursor)
        .map_err(|_| StoreError::BadCursor)?;
    let value: serde_json::Value =
        serde_json::from_slice(&raw).map_err(|_| StoreError::BadCursor)?;
    let serde_json::Value::Object(map) = value else {
        return Err(StoreError::BadCursor);
    };
    let names = key_names(index);
    if map.len() != names.len() {
        return Err(StoreError::BadCursor);
    }
    let mut out = Item::new();
    for name in names {
        let Some(serde_json::Value::String(v)) = map.get(name) else {
            return Err(StoreError::BadCursor);
        };
        // Key attributes: non-empty, at most 2,048 bytes (DynamoDB's limit
        // for a partition key; 1,024 for a sort key).
        if v.is_empty() || v.len() > 1024 {
            return Err(StoreError::BadCursor);
        }
        out.insert(name.to_owned(), s(v.clone()));
    }
    let (p_attr, s_attr) = match index {
        None => (PK, SK),
        Some(g) => (g.pk, g.sk),
    };
    let on_partition = matches!(out.get(p_attr), Some(AttributeValue::S(p)) if p == partition);
    let in_range = match (sort_prefix, out.get(s_attr)) {
        (None, _) => true,
        (Some(pre), Some(AttributeValue::S(v))) => v.starts_with(pre),
        _ => false,
    };
    if !on_partition || !in_range {
        return Err(StoreError::BadCursor);
    }
    Ok(out)
}

// ---- expressions ----

/// `ExpressionAttributeNames` and `ExpressionAttributeValues`.
pub type Placeholders = (
    Option<HashMap<String, String>>,
    Option<HashMap<String, AttributeValue>>,
);

/// Placeholders for one expression: `#n0`.. for names (so reserved words
/// such as `status` need no thought), `:v0`.. for values.
#[derive(Debug, Default)]
pub struct Expr {
    names: HashMap<String, String>,
    values: HashMap<String, AttributeValue>,
}

impl Expr {
    pub fn name(&mut self, attr: &str) -> String {
        if let Some((k, _)) = self.names.iter().find(|(_, v)| v.as_str() == attr) {
            return k.clone();
        }
        let k = format!("#n{}", self.names.len());
        self.names.insert(k.clone(), attr.to_owned());
        k
    }

    pub fn value(&mut self, v: AttributeValue) -> String {
        let k = format!(":v{}", self.values.len());
        self.values.insert(k.clone(), v);
        k
    }

    /// DynamoDB refuses empty placeholder maps: absent instead.
    pub fn into_parts(self) -> Placeholders {
        (
            (!self.names.is_empty()).then_some(self.names),
            (!self.values.is_empty()).then_some(self.values),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::super::keys::G1;
    use super::*;

    #[test]
    fn decimals_compare_by_value() {
        assert_eq!(parse_decimal("10.6"), parse_decimal("10.60"));
        assert_eq!(parse_decimal("1E+2"), Some(Decimal::from(100)));
        assert_eq!(parse_decimal("-0.07"), Some(Decimal::new(-7, 2)));
        assert_eq!(parse_decimal("abc"), None);
    }

    #[test]
    fn cursors_round_trip_and_refuse_tampering() {
        let mut item = key_item(&("A".into(), "B".into()));
        item.insert("g1pk".into(), s("P"));
        item.insert("g1sk".into(), s("S#1"));
        let c = encode_cursor(&item, Some(G1)).unwrap();
        let back = decode_cursor(&c, Some(G1), "P", Some("S#")).unwrap();
        assert_eq!(back.len(), 4);
        assert_eq!(
            decode_cursor(&c, Some(G1), "Q", None),
            Err(StoreError::BadCursor)
        );
        assert_eq!(
            decode_cursor(&c, None, "A", None),
            Err(StoreError::BadCursor)
        );
        for bad in ["", "!!", "e30", "bnVsbA", &format!("{c}x")] {
            assert_eq!(
                decode_cursor(bad, Some(G1), "P", None),
                Err(StoreError::BadCursor),
                "{bad}"
            );
        }
    }
}
