//! Development tokens: HS256 JWTs the local server signs and verifies
//! itself, carrying the same claims Cognito puts in an access token. They
//! are never accepted by a deployed API (its authorizer trusts Cognito).

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::Serialize;
use serde_json::{Map, Value};
use std::collections::HashMap;

const LIFETIME_S: i64 = 7 * 86_400;

pub struct TokenKey {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("malformed token")]
    Malformed,
    #[error("bad signature")]
    Signature,
    #[error("token expired")]
    Expired,
    #[error("cannot sign the token: {0}")]
    Sign(String),
    #[error("the signing key is empty")]
    EmptyKey,
}

#[derive(Serialize)]
struct Claims<'a> {
    sub: &'a str,
    email: &'a str,
    /// A JSON boolean, as in Cognito's ID token.
    email_verified: bool,
    iat: i64,
    exp: i64,
    #[serde(rename = "cognito:groups", skip_serializing_if = "<[_]>::is_empty")]
    groups: &'a [&'a str],
}

impl TokenKey {
    pub fn new(secret: &[u8]) -> Result<Self, TokenError> {
        let mut validation = Validation::new(Algorithm::HS256);
        // Expiry is checked in `verify`, against the caller's clock and
        // without the crate's leeway; nothing else is required.
        validation.required_spec_claims.clear();
        validation.validate_exp = false;
        validation.validate_aud = false;
        Ok(TokenKey {
            encoding: EncodingKey::from_secret(secret).map_err(|_| TokenError::EmptyKey)?,
            decoding: DecodingKey::from_secret(secret).map_err(|_| TokenError::EmptyKey)?,
            validation,
        })
    }

    /// A fresh random key: tokens die with the process, like its data.
    pub fn random() -> Self {
        use rand::RngCore;
        let mut k = [0u8; 32];
        rand::rng().fill_bytes(&mut k);
        TokenKey::new(&k).expect("a 32-byte key is not empty")
    }

    /// A token for a user whose email is verified, as Cognito's is after
    /// sign-up.
    pub fn sign(
        &self,
        sub: &str,
        email: &str,
        operator: bool,
        now_s: i64,
    ) -> Result<String, TokenError> {
        self.sign_email(sub, email, true, operator, now_s)
    }

    /// As `sign`, saying whether the email is verified (a changed address
    /// is not, until the user confirms it).
    pub fn sign_email(
        &self,
        sub: &str,
        email: &str,
        email_verified: bool,
        operator: bool,
        now_s: i64,
    ) -> Result<String, TokenError> {
        let claims = Claims {
            sub,
            email,
            email_verified,
            iat: now_s,
            exp: now_s + LIFETIME_S,
            groups: if operator { &["operators"] } else { &[] },
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| TokenError::Sign(e.to_string()))
    }

    /// Verifies a token and returns its claims flattened the way API
    /// Gateway's JWT authorizer flattens them (lists become `[a b]`).
    pub fn verify(&self, token: &str, now_s: i64) -> Result<HashMap<String, String>, TokenError> {
        let claims =
            jsonwebtoken::decode::<Map<String, Value>>(token, &self.decoding, &self.validation)
                .map_err(|e| match e.kind() {
                    ErrorKind::InvalidSignature => TokenError::Signature,
                    _ => TokenError::Malformed,
                })?
                .claims;
        if claims
            .get("exp")
            .and_then(Value::as_i64)
            .is_none_or(|exp| exp <= now_s)
        {
            return Err(TokenError::Expired);
        }
        Ok(claims
            .into_iter()
            .map(|(k, v)| {
                let flat = match v {
                    Value::String(s) => s,
                    Value::Array(items) => format!(
                        "[{}]",
                        items
                            .iter()
                            .map(|i| i
                                .as_str()
                                .map(str::to_owned)
                                .unwrap_or_else(|| i.to_string()))
                            .collect::<Vec<_>>()
                            .join(" ")
                    ),
                    other => other.to_string(),
                };
                (k, flat)
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    #[test]
    fn round_trip_and_tamper() {
        let k = TokenKey::new(b"secret").unwrap();
        let t = k.sign("ali", "ali@example.com", true, 1000).unwrap();
        let c = k.verify(&t, 1001).unwrap();
        assert_eq!(c["sub"], "ali");
        assert_eq!(c["cognito:groups"], "[operators]");
        assert_eq!(c["email_verified"], "true");
        let u = k
            .sign_email("ali", "x@example.com", false, false, 1000)
            .unwrap();
        assert_eq!(k.verify(&u, 1001).unwrap()["email_verified"], "false");
        assert_eq!(
            TokenKey::new(b"other").unwrap().verify(&t, 1001),
            Err(TokenError::Signature)
        );
        assert_eq!(k.verify(&t, 1000 + LIFETIME_S), Err(TokenError::Expired));
        let mut parts: Vec<&str> = t.split('.').collect();
        let forged = URL_SAFE_NO_PAD.encode(r#"{"sub":"admin","exp":99999999999}"#);
        parts[1] = &forged;
        assert_eq!(k.verify(&parts.join("."), 1001), Err(TokenError::Signature));
        assert_eq!(k.verify("nope", 1), Err(TokenError::Malformed));
    }
}
