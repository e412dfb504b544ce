//! Time as milliseconds since the Unix epoch. The domain never reads a clock:
//! every rule takes `now` as an argument.

use serde::{Deserialize, Serialize};

pub const SECOND_MS: i64 = 1_000;
/// A day is 86,400 seconds (product.md), whatever the calendar says.
pub const DAY_MS: i64 = 86_400 * SECOND_MS;
pub const HOUR_MS: i64 = 3_600 * SECOND_MS;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Timestamp(pub i64);

impl Timestamp {
    pub fn millis(self) -> i64 {
        self.0
    }
    pub fn plus_ms(self, ms: i64) -> Self {
        Timestamp(self.0.saturating_add(ms))
    }
    pub fn plus_days(self, days: u32) -> Self {
        self.plus_ms(i64::from(days) * DAY_MS)
    }
}
