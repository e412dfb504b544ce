//! Reading request bodies. Bodies are read after the caller is known to
//! see the resource and to have the role (api.md's order of checks), so
//! use cases call these rather than the HTTP edge.

use crate::error::{AppError, AppResult};
use khamsa_domain::{DomainError, Money};
use serde_json::{Map, Value};

/// A JSON object body; an empty body reads as `{}` because a POST whose
/// fields are all optional accepts one.
pub struct Fields(Map<String, Value>);

pub fn fields(body: &[u8]) -> AppResult<Fields> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Fields(Map::new()));
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Ok(Fields(m)),
        Ok(_) => Err(AppError::bad_request(
            "malformed_body",
            "the body must be a JSON object",
        )),
        Err(e) => Err(AppError::bad_request(
            "malformed_body",
            format!("the body is not valid JSON: {e}"),
        )),
    }
}

fn wrong_type(field: &str, want: &str) -> AppError {
    AppError::bad_request("malformed_body", format!("{field} must be {want}"))
}

impl Fields {
    /// Absent and `null` both read as `None`.
    pub fn opt_str(&self, field: &'static str) -> AppResult<Option<String>> {
        match self.0.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(wrong_type(field, "a string")),
        }
    }

    pub fn str(&self, field: &'static str) -> AppResult<String> {
        self.opt_str(field)?
            .ok_or_else(|| AppError::Domain(DomainError::invalid(field, "is required")))
    }

    /// Distinguishes absent (`None`) from `null` (`Some(None)`), for edits
    /// that may clear a field.
    pub fn nullable_str(&self, field: &'static str) -> AppResult<Option<Option<String>>> {
        match self.0.get(field) {
            None => Ok(None),
            Some(Value::Null) => Ok(Some(None)),
            Some(Value::String(s)) => Ok(Some(Some(s.clone()))),
            Some(_) => Err(wrong_type(field, "a string or null")),
        }
    }

    pub fn opt_int(&self, field: &'static str) -> AppResult<Option<i64>> {
        match self.0.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => n
                .as_i64()
                .map(Some)
                .ok_or_else(|| wrong_type(field, "a whole number")),
            Some(_) => Err(wrong_type(field, "a whole number")),
        }
    }

    /// Money travels as a decimal string; a JSON number is malformed.
    pub fn opt_money(&self, field: &'static str) -> AppResult<Option<Money>> {
        match self.0.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(Money::parse(field, s)?)),
            Some(_) => Err(wrong_type(field, "a decimal string such as \"20.00\"")),
        }
    }

    pub fn money(&self, field: &'static str) -> AppResult<Money> {
        self.opt_money(field)?
            .ok_or_else(|| AppError::Domain(DomainError::invalid(field, "is required")))
    }

    pub fn opt_array(&self, field: &'static str) -> AppResult<Option<Vec<Value>>> {
        match self.0.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Array(a)) => Ok(Some(a.clone())),
            Some(_) => Err(wrong_type(field, "an array")),
        }
    }

    pub fn opt_bool(&self, field: &'static str) -> AppResult<Option<bool>> {
        match self.0.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(wrong_type(field, "true or false")),
        }
    }

    /// Each element of an array field as its own `Fields`.
    pub fn objects(&self, field: &'static str) -> AppResult<Option<Vec<Fields>>> {
        self.opt_array(field)?
            .map(|items| {
                items
                    .into_iter()
                    .map(|v| match v {
                        Value::Object(m) => Ok(Fields(m)),
                        _ => Err(wrong_type(field, "an array of objects")),
                    })
                    .collect()
            })
            .transpose()
    }
}
