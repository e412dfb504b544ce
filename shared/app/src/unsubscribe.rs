//! One-click unsubscribe links (RFC 8058) for the optional emails. The
//! link carries a token naming the user and the email topic, signed with
//! HMAC-SHA256 under a secret key: whoever holds the link may turn that one
//! topic off for that one user, and nothing else. No expiry: a link in an
//! old email must still work (RFC 8058 asks that it keep working).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use hmac::{Hmac, Mac};
use khamsa_domain::ids::UserId;
use khamsa_domain::notice::EmailTopic;
use rand::RngCore;
use sha2::Sha256;

/// The signing key and where the one-click route is served.
#[derive(Clone)]
pub struct Unsubscribe {
    key: Vec<u8>,
    api_url: String,
}

/// Never prints the key.
impl std::fmt::Debug for Unsubscribe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Unsubscribe")
            .field("api_url", &self.api_url)
            .finish_non_exhaustive()
    }
}

/// What separates the token's fields: never in base64url nor a topic name.
const SEP: char = '.';
/// Binds the MAC to this use and version of the key.
const DOMAIN: &str = "khamsa-unsubscribe-v1";

impl Unsubscribe {
    /// `api_url` is the API's base URL (`POST {api_url}/unsubscribe`).
    pub fn new(key: impl Into<Vec<u8>>, api_url: &str) -> Self {
        Unsubscribe {
            key: key.into(),
            api_url: api_url.trim_end_matches('/').to_owned(),
        }
    }

    /// A fresh random key: the local server and tests. Links die with the
    /// process, which is fine there; in AWS the key is a stack secret.
    pub fn generated(api_url: &str) -> Self {
        let mut key = vec![0u8; 32];
        rand::rng().fill_bytes(&mut key);
        Unsubscribe::new(key, api_url)
    }

    fn mac(&self, user_b64: &str, topic: &str) -> Hmac<Sha256> {
        // Any key length is accepted by HMAC.
        let mut m = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes any key");
        for part in [DOMAIN, user_b64, topic] {
            m.update(part.as_bytes());
            m.update(b"\n");
        }
        m
    }

    /// `{base64url(user)}.{topic}.{base64url(mac)}`: URL-safe as it is.
    pub fn token(&self, user: &UserId, topic: EmailTopic) -> String {
        let user_b64 = B64.encode(user.as_str());
        let topic = topic_name(topic);
        let sig = B64.encode(self.mac(&user_b64, topic).finalize().into_bytes());
        format!("{user_b64}{SEP}{topic}{SEP}{sig}")
    }

    /// The one-click URL for `List-Unsubscribe`.
    pub fn url(&self, user: &UserId, topic: EmailTopic) -> String {
        format!(
            "{}/unsubscribe?token={}",
            self.api_url,
            self.token(user, topic)
        )
    }

    /// The user and topic a token names, if it is one we signed (compared
    /// in constant time); `None` for anything forged, altered or malformed.
    pub fn verify(&self, token: &str) -> Option<(UserId, EmailTopic)> {
        let mut parts = token.split(SEP);
        let (user_b64, topic, sig) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        let sig = B64.decode(sig).ok()?;
        self.mac(user_b64, topic).verify_slice(&sig).ok()?;
        let user = String::from_utf8(B64.decode(user_b64).ok()?).ok()?;
        Some((UserId::new(user), parse_topic(topic)?))
    }
}

pub fn topic_name(t: EmailTopic) -> &'static str {
    match t {
        EmailTopic::Moderation => "moderation",
        EmailTopic::Offers => "offers",
        EmailTopic::Reviews => "reviews",
        EmailTopic::Messages => "messages",
    }
}

fn parse_topic(s: &str) -> Option<EmailTopic> {
    [
        EmailTopic::Moderation,
        EmailTopic::Offers,
        EmailTopic::Reviews,
        EmailTopic::Messages,
    ]
    .into_iter()
    .find(|t| topic_name(*t) == s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u() -> Unsubscribe {
        Unsubscribe::new(b"k".repeat(32), "https://api.example/")
    }

    #[test]
    fn a_token_names_its_user_and_topic() {
        let user = UserId::new("3f2a-..user_1");
        let t = u().token(&user, EmailTopic::Offers);
        assert_eq!(u().verify(&t), Some((user.clone(), EmailTopic::Offers)));
        let url = u().url(&user, EmailTopic::Offers);
        assert_eq!(url, format!("https://api.example/unsubscribe?token={t}"));
        assert!(
            t.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        );
    }

    #[test]
    fn an_altered_or_foreign_token_is_refused() {
        let user = UserId::new("user_1");
        let t = u().token(&user, EmailTopic::Messages);
        // Another topic or user under the same signature.
        let other_topic = t.replace(".messages.", ".offers.");
        assert_ne!(other_topic, t);
        assert_eq!(u().verify(&other_topic), None);
        let other_user = format!("{}{}", B64.encode("user_2"), &t[t.find('.').unwrap()..]);
        assert_eq!(u().verify(&other_user), None);
        // A flipped signature character, a truncated one, junk.
        let mut flipped = t.clone().into_bytes();
        let last = flipped.len() - 2;
        flipped[last] = if flipped[last] == b'A' { b'B' } else { b'A' };
        assert_eq!(u().verify(&String::from_utf8(flipped).unwrap()), None);
        assert_eq!(u().verify(&t[..t.len() - 3]), None);
        for junk in ["", ".", "..", "a.b.c", "a.messages.b.c"] {
            assert_eq!(u().verify(junk), None, "{junk}");
        }
        // Signed under another key.
        let other = Unsubscribe::new(b"x".repeat(32), "https://api.example");
        assert_eq!(other.verify(&t), None);
        assert!(
            !format!("{:?}", u()).contains("kkkk"),
            "the key is never printed"
        );
    }
}
