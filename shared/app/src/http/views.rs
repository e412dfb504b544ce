//! JSON views of entities, exactly as api.md spells them. Amounts are
//! two-decimal strings; times RFC 3339 UTC.

use crate::caller::Caller;
use crate::ports::{Balances, LedgerLine, Message, Page, Profile};
use crate::usecases::ledger_check::LedgerCheck;
use khamsa_domain::Timestamp;
use khamsa_domain::money::rating_average;
use khamsa_domain::order::{Order, Party};
use khamsa_domain::request::{Offer, Request};
use khamsa_domain::review::Review;
use khamsa_domain::service::{Service, ServiceDraft, ServiceStats};
use khamsa_domain::withdrawal::{Topup, TopupStatus, Withdrawal};
use rust_decimal::Decimal;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::BorrowedFormatItem;
use time::macros::format_description;

/// RFC 3339 in UTC with exactly three fractional digits, so that times
/// compare as strings too.
const RFC3339_MILLIS: &[BorrowedFormatItem<'_>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");

pub fn ts(t: Timestamp) -> Value {
    let dt = OffsetDateTime::from_unix_timestamp_nanos(i128::from(t.millis()) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    Value::String(dt.format(RFC3339_MILLIS).unwrap_or_default())
}

fn opt_ts(t: Option<Timestamp>) -> Value {
    t.map(ts).unwrap_or(Value::Null)
}

/// A signed amount with exactly two decimals.
pub fn signed(d: Decimal) -> String {
    let mut d = d.round_dp(2);
    d.rescale(2);
    d.to_string()
}

pub fn page<T>(p: &Page<T>, f: impl Fn(&T) -> Value) -> Value {
    json!({ "items": p.items.iter().map(f).collect::<Vec<_>>(), "next_cursor": p.next_cursor })
}

pub fn profile(p: &Profile, b: &Balances) -> Value {
    json!({
        "id": p.id,
        "email": p.email.as_str(),
        "display_name": p.display_name,
        "locale": p.locale,
        "paypal_email": p.paypal_email.as_ref().map(|e| e.as_str()),
        "balance": b.balance,
        "earnings_pending": b.earnings_pending,
        "earnings_available": b.earnings_available,
        "withdrawals_in_flight": b.withdrawals_in_flight,
    })
}

pub fn ledger_line(l: &LedgerLine) -> Value {
    json!({
        "at": ts(l.at),
        "account": l.account,
        "amount": signed(l.amount),
        "balance_after": signed(l.balance_after),
        "kind": l.kind,
        "order_id": l.order_id,
        "withdrawal_id": l.withdrawal_id,
    })
}

pub fn topup(t: &Topup) -> Value {
    json!({
        "id": t.id,
        "amount": t.amount,
        "method": t.method,
        "status": match t.status { TopupStatus::Pending => "pending", TopupStatus::Settled => "settled" },
        "created_at": ts(t.created_at),
    })
}

fn draft(d: &ServiceDraft) -> Value {
    json!({
        "title": d.title,
        "description": d.description,
        "category": d.category,
        "price": d.price,
        "delivery_days": d.delivery_days,
        "instructions": d.instructions,
        "upgrades": d.upgrades.iter().enumerate().map(|(i, u)| json!({
            "index": i, "title": u.title, "price": u.price, "extra_days": u.extra_days,
        })).collect::<Vec<_>>(),
    })
}

/// `viewer` decides whether the pending revision and rejection reason show:
/// they are the seller's and operators' business.
pub fn service(s: &Service, stats: &ServiceStats, viewer: Option<&Caller>) -> Value {
    let mut v = draft(&s.draft);
    let m = v.as_object_mut().expect("draft is an object");
    m.insert("id".into(), json!(s.id));
    m.insert("seller_id".into(), json!(s.seller_id));
    m.insert("status".into(), json!(s.status));
    m.insert("rating".into(), json!({ "count": stats.rating_count, "average": rating_average(stats.rating_sum, stats.rating_count) }));
    m.insert("orders_completed".into(), json!(stats.orders_completed));
    m.insert("created_at".into(), ts(s.created_at));
    if viewer.is_some_and(|c| c.operator || c.id == s.seller_id) {
        m.insert(
            "pending_revision".into(),
            s.pending_revision
                .as_ref()
                .map(draft)
                .unwrap_or(Value::Null),
        );
        m.insert("rejection_reason".into(), json!(s.rejection_reason));
    }
    v
}

pub fn order(o: &Order, caller: &Caller, now: Timestamp) -> Value {
    let party: Option<Party> = o.party(&caller.id, caller.operator);
    json!({
        "id": o.id,
        "service_id": o.service_id,
        "service_title": o.service_title,
        "buyer_id": o.buyer_id,
        "seller_id": o.seller_id,
        "upgrades": o.upgrades,
        "quantity": o.quantity,
        "delivery_days": o.delivery_days,
        "total": o.total,
        "fee": o.fee,
        "seller_net": o.seller_net,
        "status": o.status,
        "instructions": o.instructions,
        "delivery_text": o.delivery_text,
        "placed_at": ts(o.placed_at),
        "due_at": opt_ts(o.due_at),
        "delivered_at": opt_ts(o.delivered_at),
        "completed_at": opt_ts(o.completed_at),
        "completed_by": o.completed_by,
        "cancelled_at": opt_ts(o.cancelled_at),
        "cancelled_by": o.cancelled_by,
        "cancel_reason": o.cancel_reason,
        "can_cancel": o.can_cancel(party, now),
    })
}

pub fn message(m: &Message) -> Value {
    json!({ "id": m.id, "sender_id": m.sender_id, "text": m.text, "at": ts(m.at) })
}

pub fn review(r: &Review) -> Value {
    json!({
        "id": r.order_id,
        "order_id": r.order_id,
        "service_id": r.service_id,
        "buyer_id": r.buyer_id,
        "seller_id": r.seller_id,
        "rating": r.rating.stars(),
        "text": r.text,
        "created_at": ts(r.created_at),
        "reply": r.reply.as_ref().map(|x| json!({ "text": x.text, "at": ts(x.at) })),
    })
}

pub fn offer(o: &Offer) -> Value {
    json!({ "id": o.id, "seller_id": o.seller_id, "text": o.text, "service_id": o.service_id, "at": ts(o.at) })
}

pub fn request(r: &Request, offers: Option<&[Offer]>) -> Value {
    let mut v = json!({
        "id": r.id,
        "author_id": r.author_id,
        "title": r.title,
        "description": r.description,
        "budget": r.budget,
        "status": r.status,
        "created_at": ts(r.created_at),
    });
    if let Some(offers) = offers {
        v["offers"] = offers.iter().map(offer).collect();
    }
    v
}

pub fn withdrawal(w: &Withdrawal) -> Value {
    json!({
        "id": w.id,
        "user_id": w.user_id,
        "amount": w.amount,
        "paypal_email": w.paypal_email.as_str(),
        "status": w.status,
        "reason": w.reason,
        "created_at": ts(w.created_at),
        "updated_at": ts(w.updated_at),
    })
}

pub fn public_user(p: &Profile, stats: &ServiceStats, services: Vec<Value>) -> Value {
    json!({
        "id": p.id,
        "display_name": p.display_name,
        "rating": { "count": stats.rating_count, "average": rating_average(stats.rating_sum, stats.rating_count) },
        "orders_completed": stats.orders_completed,
        "services": services,
    })
}

pub fn ledger_check(c: &LedgerCheck) -> Value {
    json!({
        "ok": c.violations.is_empty(),
        "accounts_total": signed(c.accounts_total),
        "violations": c.violations.iter().map(|v| if v.is_order {
            json!({ "order_id": v.subject, "problem": v.problem })
        } else {
            json!({ "account": v.subject, "problem": v.problem })
        }).collect::<Vec<_>>(),
    })
}
