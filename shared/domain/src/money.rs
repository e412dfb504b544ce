//! Money: exact USD amounts on `rust_decimal`, never floats.
//!
//! A `Money` is made once at the edge from decimal text and is always
//! non-negative with exactly two decimal places: no public constructor can
//! make a negative one. Signed movements are ledger legs, not `Money`.

use crate::error::{DomainError, DomainResult};
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::ops::{Add, Sub};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Money(Decimal);

impl Money {
    pub const ZERO: Money = Money(Decimal::ZERO);

    /// Parses decimal text such as `"20"`, `"20.5"` or `"20.50"`.
    ///
    /// Text that is not a plain decimal (exponents, `NaN`, signs other than a
    /// leading minus, spaces) is malformed; a negative amount or one with more
    /// than two decimals is well-formed but invalid.
    pub fn parse(field: &'static str, text: &str) -> DomainResult<Money> {
        let digits = text.strip_prefix('-').unwrap_or(text);
        let (int, frac) = match digits.split_once('.') {
            Some((i, f)) => (i, Some(f)),
            None => (digits, None),
        };
        let plain = !int.is_empty()
            && int.len() <= 12
            && int.bytes().all(|b| b.is_ascii_digit())
            && frac.is_none_or(|f| !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()));
        if !plain {
            return Err(DomainError::AmountFormat(format!("{field} {text:?}")));
        }
        if text.starts_with('-') {
            return Err(DomainError::invalid(field, "must not be negative"));
        }
        if frac.is_some_and(|f| f.len() > 2) {
            return Err(DomainError::invalid(field, "at most two decimals"));
        }
        let value: Decimal = text
            .parse()
            .map_err(|_| DomainError::AmountFormat(format!("{field} {text:?}")))?;
        Ok(Money::rounded(value))
    }

    /// As `parse`, for what a person typed: Arabic-Indic (٠-٩) and
    /// Eastern Arabic (۰-۹) digits and the Arabic decimal separator (٫)
    /// read as their Western forms, so `"٢٠٫٥٠"` is `20.50`. Stored values
    /// and provider answers keep the strict `parse`.
    pub fn parse_typed(field: &'static str, text: &str) -> DomainResult<Money> {
        if text.is_ascii() {
            return Money::parse(field, text);
        }
        let western: String = text
            .chars()
            .map(|c| match c {
                '\u{0660}'..='\u{0669}' => western_digit(c, '\u{0660}'),
                '\u{06F0}'..='\u{06F9}' => western_digit(c, '\u{06F0}'),
                '\u{066B}' => '.',
                other => other,
            })
            .collect();
        Money::parse(field, &western).map_err(|e| match e {
            // Name what was sent, not our rewrite of it.
            DomainError::AmountFormat(_) => DomainError::AmountFormat(format!("{field} {text:?}")),
            other => other,
        })
    }

    /// Builds from a stored decimal, rounded to the cent; `None` when it is
    /// negative, which no `Money` may be.
    pub fn from_decimal(d: Decimal) -> Option<Money> {
        (d >= Decimal::ZERO).then(|| Money::rounded(d))
    }

    pub fn from_cents(cents: u64) -> Money {
        Money::rounded(Decimal::from_i128_with_scale(i128::from(cents), 2))
    }

    pub fn dollars(d: u64) -> Money {
        Money::rounded(Decimal::from(d))
    }

    /// Only for values already known to be non-negative.
    fn rounded(d: Decimal) -> Money {
        debug_assert!(d >= Decimal::ZERO, "negative money {d}");
        let mut d = d.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
        d.rescale(2);
        // `-0` compares equal to zero but would print as "-0.00".
        d.set_sign_positive(true);
        Money(d)
    }

    pub fn amount(self) -> Decimal {
        self.0
    }

    pub fn is_zero(self) -> bool {
        self.0.is_zero()
    }

    pub fn checked_sub(self, other: Money) -> Option<Money> {
        (self.0 >= other.0).then(|| Money::rounded(self.0 - other.0))
    }

    pub fn times(self, n: u32) -> Money {
        Money::rounded(self.0 * Decimal::from(n))
    }

    pub fn min(self, other: Money) -> Money {
        if self <= other { self } else { other }
    }

    /// True when the amount is a whole multiple of `step`.
    pub fn is_multiple_of(self, step: Money) -> bool {
        step.is_zero() || (self.0 % step.0).is_zero()
    }

    /// Checks `min <= self <= max` and, when given, that it is on `step`.
    pub fn check_range(
        self,
        field: &'static str,
        min: Money,
        max: Money,
        step: Option<Money>,
    ) -> DomainResult<Money> {
        if self < min || self > max {
            return Err(DomainError::invalid(
                field,
                format!("must be from {min} to {max}"),
            ));
        }
        if let Some(step) = step
            && !self.is_multiple_of(step)
        {
            return Err(DomainError::invalid(
                field,
                format!("must be in steps of {step}"),
            ));
        }
        Ok(self)
    }
}

impl Add for Money {
    type Output = Money;
    fn add(self, rhs: Money) -> Money {
        Money::rounded(self.0 + rhs.0)
    }
}

/// Saturating at zero would hide bugs; callers use `checked_sub` where the
/// result may go negative. This panics only on a programming error.
impl Sub for Money {
    type Output = Money;
    fn sub(self, rhs: Money) -> Money {
        self.checked_sub(rhs)
            .expect("Money subtraction went negative")
    }
}

impl std::iter::Sum for Money {
    fn sum<I: Iterator<Item = Money>>(iter: I) -> Money {
        iter.fold(Money::ZERO, |a, b| a + b)
    }
}

/// Always two decimals, whatever scale the value was built with
/// (`Money::ZERO` and `Default` have none).
impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.2}", self.0)
    }
}

impl Serialize for Money {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Money {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Money, D::Error> {
        let text = String::deserialize(d)?;
        Money::parse("amount", &text).map_err(serde::de::Error::custom)
    }
}

/// The Western digit for `c`, a digit of the script whose zero is `zero`.
fn western_digit(c: char, zero: char) -> char {
    char::from_u32(u32::from('0') + (u32::from(c) - u32::from(zero))).unwrap_or(c)
}

/// The platform's cut of an order and what the seller keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeeSplit {
    pub fee: Money,
    pub seller_net: Money,
}

/// Splits `total` so that `fee + seller_net == total` to the cent: the fee is
/// rounded half up and the seller gets the rest, so no cent is lost.
/// `fee_rate` is from 0 to below 1 (the settings refuse any other).
pub fn split_fee(total: Money, fee_rate: Decimal) -> FeeSplit {
    let fee = Money::rounded(total.amount() * fee_rate);
    FeeSplit {
        fee,
        seller_net: total - fee,
    }
}

/// Average of `sum / count` as a two-decimal string, `"0.00"` when empty.
pub fn rating_average(sum: u64, count: u64) -> String {
    if count == 0 {
        return "0.00".into();
    }
    let mut avg = (Decimal::from(sum) / Decimal::from(count))
        .round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
    avg.rescale(2);
    avg.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::dec;

    #[test]
    fn parses_plain_decimals_to_two_places() {
        assert_eq!(Money::parse("a", "20").unwrap().to_string(), "20.00");
        assert_eq!(Money::parse("a", "20.5").unwrap().to_string(), "20.50");
        assert_eq!(Money::parse("a", "0.07").unwrap().to_string(), "0.07");
    }

    #[test]
    fn typed_amounts_accept_arabic_digits() {
        for (typed, want) in [
            ("٢٠٫٥٠", "20.50"),
            ("٥٠", "50.00"),
            ("۱۵", "15.00"),
            ("۲۰.۵", "20.50"),
            ("20", "20.00"),
            ("٠٫٠٧", "0.07"),
        ] {
            assert_eq!(Money::parse_typed("a", typed).unwrap().to_string(), want);
        }
        assert_eq!(
            Money::parse_typed("a", "-٥").unwrap_err().code(),
            "validation_failed"
        );
        assert_eq!(
            Money::parse_typed("a", "٥٫٠٠١").unwrap_err().code(),
            "validation_failed"
        );
        for bad in ["٥e٣", "٥٬٠٠٠", "٥,٠٠", "NaN", "١٢٣٤٥٦٧٨٩٠١٢٣", "٥ "] {
            assert_eq!(
                Money::parse_typed("a", bad).unwrap_err().code(),
                "invalid_amount_format",
                "{bad:?}"
            );
        }
        // The strict parse stays strict.
        assert!(Money::parse("a", "٥٠").is_err());
    }

    #[test]
    fn zero_prints_two_decimals() {
        assert_eq!(Money::ZERO.to_string(), "0.00");
        assert_eq!(Money::default().to_string(), "0.00");
    }

    #[test]
    fn refuses_non_decimal_text_as_malformed() {
        for bad in [
            "", "abc", "NaN", "1e3", "1E3", "+5", " 5", "5 ", "5.", ".5", "1,000", "0x10", "inf",
        ] {
            let err = Money::parse("a", bad).unwrap_err();
            assert_eq!(err.code(), "invalid_amount_format", "{bad:?}");
        }
    }

    #[test]
    fn refuses_negative_and_sub_cent_as_invalid() {
        assert_eq!(
            Money::parse("a", "-5").unwrap_err().code(),
            "validation_failed"
        );
        assert_eq!(
            Money::parse("a", "5.001").unwrap_err().code(),
            "validation_failed"
        );
    }

    #[test]
    fn a_negative_decimal_is_no_money() {
        assert_eq!(Money::from_decimal(dec!(-0.01)), None);
        assert_eq!(Money::from_decimal(dec!(0.005)), Some(Money::from_cents(1)));
        assert_eq!(
            Money::from_decimal(-Decimal::ZERO).unwrap().to_string(),
            "0.00"
        );
        assert_eq!(Money::from_cents(1050).to_string(), "10.50");
        assert_eq!(Money::dollars(7).to_string(), "7.00");
    }

    #[test]
    fn range_and_step() {
        let five = Money::dollars(5);
        let m = Money::dollars(15);
        assert!(
            m.check_range("p", five, Money::dollars(25), Some(five))
                .is_ok()
        );
        assert!(
            Money::dollars(30)
                .check_range("p", five, Money::dollars(25), Some(five))
                .is_err()
        );
        assert!(
            Money::from_cents(1250)
                .check_range("p", five, Money::dollars(25), Some(five))
                .is_err()
        );
    }

    #[test]
    fn fee_is_twenty_percent_and_seller_keeps_four_of_five() {
        let s = split_fee(Money::dollars(5), dec!(0.20));
        assert_eq!(
            (s.fee.to_string(), s.seller_net.to_string()),
            ("1.00".into(), "4.00".into())
        );
    }

    #[test]
    fn fee_rounds_half_up() {
        // 0.20 * 0.03 = 0.006 -> 0.01; 0.20 * 0.02 = 0.004 -> 0.00
        assert_eq!(
            split_fee(Money::from_cents(3), dec!(0.20)).fee,
            Money::from_cents(1)
        );
        assert_eq!(split_fee(Money::from_cents(2), dec!(0.20)).fee, Money::ZERO);
        // 0.20 * 0.0025 is not reachable in cents, but 0.15 * 0.10 = 0.015 -> 0.02
        assert_eq!(
            split_fee(Money::from_cents(10), dec!(0.15)).fee,
            Money::from_cents(2)
        );
    }

    #[test]
    fn fee_split_is_exact_for_every_cent_from_5_to_2500_dollars() {
        let rate = dec!(0.20);
        for cents in 500..=250_000u64 {
            let total = Money::from_cents(cents);
            let s = split_fee(total, rate);
            assert_eq!(s.fee + s.seller_net, total, "total {total}");
            let exact = Decimal::from(cents) / dec!(100) * rate;
            let diff = (s.fee.amount() - exact).abs();
            assert!(diff <= dec!(0.005), "fee {} for {total}", s.fee);
            assert_eq!(s.fee.amount().scale(), 2);
        }
    }

    #[test]
    fn rating_average_two_decimals() {
        assert_eq!(rating_average(0, 0), "0.00");
        assert_eq!(rating_average(14, 3), "4.67");
        assert_eq!(rating_average(5, 1), "5.00");
    }
}
