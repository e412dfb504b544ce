//! Business metrics as CloudWatch Embedded Metric Format (EMF) lines: one
//! JSON object per event on stdout, which CloudWatch Logs turns into
//! metrics in the `Khamsa` namespace. No SDK call, no added latency, and
//! nothing to grant beyond writing logs. Emitted only after a commit
//! succeeded (or an email was handed to SES), so a metric is a fact.
//!
//! Every metric has the dimension `Stack`; cancellations also come by
//! `CancelledBy` (buyer, seller, system, operator).

use crate::ports::UnitOfWork;
use khamsa_domain::ledger::{Account, PostingKind};
use khamsa_domain::order::Actor;
use rust_decimal::Decimal;
use std::sync::LazyLock;

pub const NAMESPACE: &str = "Khamsa";

/// One business event and what it measures. Amounts are USD.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// `gmv`: the order's total, moved into escrow.
    OrderPlaced {
        gmv: Decimal,
    },
    /// `fee`: the platform's share, earned at completion.
    OrderCompleted {
        fee: Decimal,
    },
    OrderCancelled {
        by: Actor,
    },
    Topup {
        amount: Decimal,
    },
    Payout {
        amount: Decimal,
    },
    /// What a payment provider charged, on a top-up or a payout.
    PaymentFee {
        amount: Decimal,
    },
    /// A settled top-up refunded or charged back.
    TopupReversed {
        amount: Decimal,
    },
    EmailSent,
    /// An outbox row failed for good (permanent refusal or too many tries).
    EmailFailed,
    /// A timer parked after too many failed firings.
    TimerParked,
    /// The daily reconciliation ran; `violations` is how many invariants
    /// failed (0 on a good day, so the metric always has data).
    LedgerChecked {
        violations: Decimal,
    },
}

/// (name, value, unit) of each metric of an event.
fn values(e: &Event) -> Vec<(&'static str, Decimal, &'static str)> {
    let one = Decimal::ONE;
    match *e {
        Event::OrderPlaced { gmv } => vec![("OrdersPlaced", one, "Count"), ("Gmv", gmv, "None")],
        Event::OrderCompleted { fee } => {
            vec![("OrdersCompleted", one, "Count"), ("Fees", fee, "None")]
        }
        Event::OrderCancelled { .. } => vec![("OrdersCancelled", one, "Count")],
        Event::Topup { amount } => vec![("Topups", one, "Count"), ("TopupAmount", amount, "None")],
        Event::Payout { amount } => {
            vec![("Payouts", one, "Count"), ("PayoutAmount", amount, "None")]
        }
        Event::PaymentFee { amount } => vec![("PaymentFees", amount, "None")],
        Event::TopupReversed { amount } => vec![
            ("TopupsReversed", one, "Count"),
            ("ReversedAmount", amount, "None"),
        ],
        Event::EmailSent => vec![("EmailsSent", one, "Count")],
        Event::EmailFailed => vec![("EmailsFailed", one, "Count")],
        Event::TimerParked => vec![("TimersParked", one, "Count")],
        Event::LedgerChecked { violations } => vec![("LedgerViolations", violations, "Count")],
    }
}

fn actor(a: Actor) -> &'static str {
    match a {
        Actor::Buyer => "buyer",
        Actor::Seller => "seller",
        Actor::System => "system",
        Actor::Operator => "operator",
    }
}

fn quoted(s: &str) -> String {
    serde_json::Value::from(s).to_string()
}

/// The EMF line of an event. Amounts are written as exact decimal text
/// (a JSON number), never through a float.
pub fn line(e: &Event, stack: &str, at_ms: i64) -> String {
    let vals = values(e);
    let mut dims = vec![("Stack", stack)];
    if let Event::OrderCancelled { by } = e {
        dims.push(("CancelledBy", actor(*by)));
    }
    let dim_names: Vec<String> = dims.iter().map(|(k, _)| quoted(k)).collect();
    let defs: Vec<String> = vals
        .iter()
        .map(|(name, _, unit)| format!(r#"{{"Name":"{name}","Unit":"{unit}"}}"#))
        .collect();
    let mut out = format!(
        r#"{{"_aws":{{"Timestamp":{at_ms},"CloudWatchMetrics":[{{"Namespace":"{NAMESPACE}","Dimensions":[[{}]],"Metrics":[{}]}}]}}"#,
        dim_names.join(","),
        defs.join(",")
    );
    for (k, v) in &dims {
        out.push_str(&format!(",{}:{}", quoted(k), quoted(v)));
    }
    for (name, value, _) in &vals {
        out.push_str(&format!(r#","{name}":{}"#, value.normalize()));
    }
    out.push('}');
    out
}

/// The stack a function runs in, from the log group the template gives it
/// (`/khamsa/<stack>/<function>`); `local` elsewhere.
static STACK: LazyLock<String> = LazyLock::new(|| {
    std::env::var("AWS_LAMBDA_LOG_GROUP_NAME")
        .ok()
        .and_then(|g| g.split('/').nth(2).map(str::to_owned))
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "local".into())
});

/// Writes the event's line to stdout, where Lambda's log capture reads it.
pub fn emit(e: &Event, at_ms: i64) {
    println!("{}", line(e, &STACK, at_ms));
}

/// The events a unit of work makes true once committed, read from its
/// postings (the money) and its order writes (who cancelled).
pub fn of_commit(uow: &UnitOfWork) -> Vec<Event> {
    use crate::ports::Write;
    let cancelled_by = uow.writes.iter().find_map(|w| match w {
        Write::Order(o) => o.cancelled_by,
        Write::Profile(_)
        | Write::Service(_)
        | Write::Review(_)
        | Write::Request(_)
        | Write::Withdrawal(_)
        | Write::Message(_)
        | Write::Offer(_)
        | Write::File(_)
        | Write::Topup(_) => None,
    });
    let mut out = Vec::new();
    for p in &uow.postings {
        // A posting's size: what its legs credit (each transfer credits once).
        let moved: Decimal = p
            .legs()
            .iter()
            .map(|l| l.amount())
            .filter(|a| a.is_sign_positive())
            .sum();
        let to_platform: Decimal = p
            .legs()
            .iter()
            .filter(|l| matches!(l.account(), Account::Platform { .. }))
            .map(|l| l.amount())
            .sum();
        match p.kind() {
            PostingKind::OrderPlaced => out.push(Event::OrderPlaced { gmv: moved }),
            PostingKind::OrderCompleted => out.push(Event::OrderCompleted { fee: to_platform }),
            PostingKind::OrderRefunded => out.push(Event::OrderCancelled {
                by: cancelled_by.unwrap_or(Actor::System),
            }),
            PostingKind::Topup => out.push(Event::Topup { amount: moved }),
            PostingKind::WithdrawalPaid => out.push(Event::Payout { amount: moved }),
            PostingKind::PaymentFee => out.push(Event::PaymentFee { amount: moved }),
            // The whole amount reversed: what came back from the user plus
            // what went to `payment_losses`.
            PostingKind::TopupReversed => out.push(Event::TopupReversed { amount: moved }),
            PostingKind::EarningsCleared
            | PostingKind::WithdrawalRequested
            | PostingKind::WithdrawalReturned => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::dec;
    use serde_json::Value;

    #[test]
    fn an_emf_line_declares_its_metrics_and_carries_their_values() {
        let l = line(
            &Event::OrderPlaced { gmv: dec!(25.50) },
            "khamsa-dev",
            1700000000123,
        );
        assert!(!l.contains('\n'), "one line per event");
        let v: Value = serde_json::from_str(&l).unwrap();
        let aws = &v["_aws"];
        assert_eq!(aws["Timestamp"], 1700000000123i64);
        let m = &aws["CloudWatchMetrics"][0];
        assert_eq!(m["Namespace"], "Khamsa");
        assert_eq!(m["Dimensions"], serde_json::json!([["Stack"]]));
        assert_eq!(
            m["Metrics"],
            serde_json::json!([
                {"Name": "OrdersPlaced", "Unit": "Count"},
                {"Name": "Gmv", "Unit": "None"}
            ])
        );
        assert_eq!(v["Stack"], "khamsa-dev");
        assert_eq!(v["OrdersPlaced"], 1);
        // Exact decimal text, not a float's rendering.
        assert!(l.contains(r#""Gmv":25.5"#), "{l}");
        // Every declared metric and dimension has its value at the top.
        for d in m["Metrics"].as_array().unwrap() {
            assert!(v[d["Name"].as_str().unwrap()].is_number());
        }
    }

    #[test]
    fn cancellations_carry_who_cancelled() {
        let l = line(&Event::OrderCancelled { by: Actor::Seller }, "s", 0);
        let v: Value = serde_json::from_str(&l).unwrap();
        assert_eq!(
            v["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            serde_json::json!([["Stack", "CancelledBy"]])
        );
        assert_eq!(v["CancelledBy"], "seller");
        assert_eq!(v["OrdersCancelled"], 1);
    }
}
