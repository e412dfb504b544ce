//! One id type per entity, so an `OrderId` cannot stand where a `UserId` is
//! expected. Ids are opaque strings; generating them is the app's job.

use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! id_type {
    ($($name:ident),* $(,)?) => {$(
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub fn new(s: impl Into<String>) -> Self { Self(s.into()) }
            pub fn as_str(&self) -> &str { &self.0 }
            /// `None` for a string that cannot be one of our ids
            /// ([`is_plausible_id`]): it is refused before any store is asked.
            pub fn plausible(s: impl Into<String>) -> Option<Self> {
                let s = s.into();
                is_plausible_id(&s).then_some(Self(s))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { f.write_str(&self.0) }
        }
    )*};
}

/// The longest id accepted from outside. Ours are at most 36 characters
/// (a `prefix_` plus 26 from `new_id`, or a Cognito `sub`, a UUID); far
/// above that, and far below DynamoDB's 2,048-byte key limit.
pub const ID_MAX: usize = 128;

/// Whether `s` could be an id the product issued: 1 to [`ID_MAX`] ASCII
/// letters, digits, `-` or `_`. Anything else is "not found" (or a bad
/// query value) without asking a store, so that no stranger's string
/// reaches a key expression.
pub fn is_plausible_id(s: &str) -> bool {
    (1..=ID_MAX).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

id_type!(
    UserId,
    ServiceId,
    OrderId,
    MessageId,
    RequestId,
    OfferId,
    WithdrawalId,
    TopupId,
    PostingId,
    OutboxId,
    FileId
);

impl OrderId {
    /// The platform revenue account is sharded so that every completed order
    /// does not write the same DynamoDB partition (1,000 WCU per partition).
    pub fn platform_shard(&self, shards: u8) -> u8 {
        // FNV-1a: stable across builds and platforms, unlike `DefaultHasher`.
        let mut h: u32 = 0x811c_9dc5;
        for b in self.0.bytes() {
            h ^= u32::from(b);
            h = h.wrapping_mul(0x0100_0193);
        }
        (h % u32::from(shards.max(1))) as u8
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_we_issue_are_plausible_and_long_or_odd_strings_are_not() {
        for ok in [
            "svc_01hx3m9k2c7f0q8r5t6v7w8x9y",
            "3f2b9c1e-7a44-4d0b-9c55-0e1f2a3b4c5d",
            "seller",
        ] {
            assert!(is_plausible_id(ok), "{ok}");
        }
        let long = "a".repeat(ID_MAX + 1);
        for bad in ["", long.as_str(), "a/b", "a b", "ملف", "a\u{0}"] {
            assert!(!is_plausible_id(bad), "{bad:?}");
        }
        assert_eq!(
            ServiceId::plausible("a".repeat(ID_MAX)).map(|s| s.as_str().len()),
            Some(ID_MAX)
        );
        assert_eq!(OrderId::plausible(long), None);
    }
}
