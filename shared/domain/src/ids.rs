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
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { f.write_str(&self.0) }
        }
    )*};
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
    OutboxId
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
