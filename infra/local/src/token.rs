//! Development tokens: HS256 JWTs the local server signs and verifies
//! itself, carrying the same claims Cognito puts in an access token. They
//! are never accepted by a deployed API (its authorizer trusts Cognito).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use std::collections::HashMap;

const LIFETIME_S: i64 = 7 * 86_400;

pub struct TokenKey(Vec<u8>);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("malformed token")]
    Malformed,
    #[error("bad signature")]
    Signature,
    #[error("token expired")]
    Expired,
}

impl TokenKey {
    pub fn new(secret: &[u8]) -> Self {
        TokenKey(secret.to_vec())
    }

    /// A fresh random key: tokens die with the process, like its data.
    pub fn random() -> Self {
        use rand::RngCore;
        let mut k = vec![0u8; 32];
        rand::rng().fill_bytes(&mut k);
        TokenKey(k)
    }

    fn mac(&self, data: &[u8]) -> Vec<u8> {
        let mut m = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes any key length");
        m.update(data);
        m.finalize().into_bytes().to_vec()
    }

    pub fn sign(&self, sub: &str, email: &str, operator: bool, now_s: i64) -> String {
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
        let mut claims =
            json!({ "sub": sub, "email": email, "iat": now_s, "exp": now_s + LIFETIME_S });
        if operator {
            claims["cognito:groups"] = json!(["operators"]);
        }
        let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
        let signing_input = format!("{header}.{payload}");
        let sig = URL_SAFE_NO_PAD.encode(self.mac(signing_input.as_bytes()));
        format!("{signing_input}.{sig}")
    }

    /// Verifies a token and returns its claims flattened the way API
    /// Gateway's JWT authorizer flattens them (lists become `[a b]`).
    pub fn verify(&self, token: &str, now_s: i64) -> Result<HashMap<String, String>, TokenError> {
        let mut parts = token.split('.');
        let (Some(h), Some(p), Some(s), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(TokenError::Malformed);
        };
        let sig = URL_SAFE_NO_PAD
            .decode(s)
            .map_err(|_| TokenError::Malformed)?;
        let expected = self.mac(format!("{h}.{p}").as_bytes());
        // Constant-time comparison: the verifier must not leak the MAC.
        if sig.len() != expected.len()
            || sig
                .iter()
                .zip(&expected)
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                != 0
        {
            return Err(TokenError::Signature);
        }
        let header: Value = serde_json::from_slice(
            &URL_SAFE_NO_PAD
                .decode(h)
                .map_err(|_| TokenError::Malformed)?,
        )
        .map_err(|_| TokenError::Malformed)?;
        if header["alg"] != "HS256" {
            return Err(TokenError::Malformed);
        }
        let claims: Value = serde_json::from_slice(
            &URL_SAFE_NO_PAD
                .decode(p)
                .map_err(|_| TokenError::Malformed)?,
        )
        .map_err(|_| TokenError::Malformed)?;
        let Value::Object(map) = claims else {
            return Err(TokenError::Malformed);
        };
        if map
            .get("exp")
            .and_then(Value::as_i64)
            .is_none_or(|exp| exp <= now_s)
        {
            return Err(TokenError::Expired);
        }
        Ok(map
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

    #[test]
    fn round_trip_and_tamper() {
        let k = TokenKey::new(b"secret");
        let t = k.sign("ali", "ali@example.com", true, 1000);
        let c = k.verify(&t, 1001).unwrap();
        assert_eq!(c["sub"], "ali");
        assert_eq!(c["cognito:groups"], "[operators]");
        assert_eq!(
            TokenKey::new(b"other").verify(&t, 1001),
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
