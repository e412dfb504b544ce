//! What every view shares: times, signed amounts, pages and ratings as
//! api.md spells them. Each resource's own views sit in its module.

use khamsa_app::ports::Page;
use khamsa_domain::Timestamp;
use khamsa_domain::money::rating_average;
use khamsa_domain::service::ServiceStats;
use rust_decimal::Decimal;
use serde::{Serialize, Serializer};
use time::OffsetDateTime;
use time::format_description::BorrowedFormatItem;
use time::macros::format_description;

/// RFC 3339 in UTC with exactly three fractional digits, so that times
/// compare as strings too.
const RFC3339_MILLIS: &[BorrowedFormatItem<'_>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");

pub fn ts(t: Timestamp) -> String {
    let dt = OffsetDateTime::from_unix_timestamp_nanos(i128::from(t.millis()) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    dt.format(RFC3339_MILLIS).unwrap_or_default()
}

/// A time in a view.
#[derive(Debug, Clone, Copy)]
pub struct Time(pub Timestamp);

impl Serialize for Time {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&ts(self.0))
    }
}

pub fn time(t: Option<Timestamp>) -> Option<Time> {
    t.map(Time)
}

/// A signed amount (a ledger line, a total) with exactly two decimals.
#[derive(Debug, Clone, Copy)]
pub struct Signed(pub Decimal);

impl Serialize for Signed {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut d = self.0.round_dp(2);
        d.rescale(2);
        s.collect_str(&d)
    }
}

#[derive(Serialize)]
pub struct PageView<V> {
    pub items: Vec<V>,
    pub next_cursor: Option<String>,
}

pub fn page<'a, T, V>(p: &'a Page<T>, f: impl Fn(&'a T) -> V) -> PageView<V> {
    PageView {
        items: p.items.iter().map(f).collect(),
        next_cursor: p.next_cursor.clone(),
    }
}

#[derive(Serialize)]
pub struct RatingView {
    pub count: u64,
    pub average: String,
}

pub fn rating(stats: &ServiceStats) -> RatingView {
    RatingView {
        count: stats.rating_count,
        average: rating_average(stats.rating_sum, stats.rating_count),
    }
}
