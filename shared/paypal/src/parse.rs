//! PayPal's JSON into the port's types. Amounts are decimal strings
//! (`"10.00"`), parsed into `Money`; anything unexpected is a permanent
//! error, never a guess.

use khamsa_app::ports::payments::{
    Capture, CaptureId, CaptureStatus, Checkout, CheckoutState, CheckoutStatus, PaymentError,
    PaymentResult, Payout, PayoutBatchId, PayoutItem, PayoutItemId, PayoutStatus, ProviderEventId,
    ProviderOrderId, WebhookEvent, WebhookKind,
};
use khamsa_domain::Money;
use khamsa_domain::ids::WithdrawalId;
use serde_json::Value;

fn bad(what: &str) -> PaymentError {
    PaymentError::Permanent(format!("paypal answer: {what}"))
}

fn text<'a>(v: &'a Value, what: &str) -> PaymentResult<&'a str> {
    v.as_str()
        .filter(|s| !s.is_empty())
        .ok_or_else(|| bad(what))
}

/// An id that goes into a URL path: PayPal's ids are letters, digits and
/// dashes; anything else is refused rather than escaped.
pub fn path_segment(id: &str) -> PaymentResult<&str> {
    let ok = !id.is_empty()
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(id)
    } else {
        Err(PaymentError::Permanent(format!("bad id {id:?}")))
    }
}

/// PayPal money: `{"currency_code"|"currency": "USD", "value": "10.00"}`.
fn money(v: &Value, what: &str) -> PaymentResult<Money> {
    let currency = v["currency_code"]
        .as_str()
        .or_else(|| v["currency"].as_str());
    if currency != Some("USD") {
        return Err(bad(&format!("{what}: not USD")));
    }
    let value = text(&v["value"], what)?;
    Money::parse("amount", value).map_err(|e| bad(&format!("{what}: {e}")))
}

pub fn checkout(v: &Value) -> PaymentResult<Checkout> {
    let id = text(&v["id"], "order id")?;
    // `approve` for the classic flow, `payer-action` when the order was
    // created with `payment_source.paypal.experience_context`.
    let approve_url = v["links"]
        .as_array()
        .and_then(|l| {
            l.iter()
                .find(|l| l["rel"] == "approve" || l["rel"] == "payer-action")
        })
        .and_then(|l| l["href"].as_str())
        .ok_or_else(|| bad("no approve link"))?;
    Ok(Checkout {
        id: ProviderOrderId::new(id),
        approve_url: approve_url.to_owned(),
    })
}

fn capture_status(s: &str) -> PaymentResult<CaptureStatus> {
    Ok(match s {
        "COMPLETED" => CaptureStatus::Completed,
        "PENDING" => CaptureStatus::Pending,
        "DECLINED" => CaptureStatus::Declined,
        "REFUNDED" => CaptureStatus::Refunded,
        "PARTIALLY_REFUNDED" => CaptureStatus::PartiallyRefunded,
        "FAILED" => CaptureStatus::Failed,
        other => return Err(bad(&format!("capture status {other}"))),
    })
}

/// A capture (Orders v2 `definitions/capture`); the fee is
/// `seller_receivable_breakdown.paypal_fee`, absent while pending.
pub fn capture(v: &Value) -> PaymentResult<Capture> {
    let gross = money(&v["amount"], "capture amount")?;
    let breakdown = &v["seller_receivable_breakdown"];
    let fee = if breakdown["paypal_fee"].is_object() {
        money(&breakdown["paypal_fee"], "paypal_fee")?
    } else {
        Money::ZERO
    };
    Ok(Capture {
        id: CaptureId::new(text(&v["id"], "capture id")?),
        status: capture_status(text(&v["status"], "capture status")?)?,
        gross,
        fee,
        reference: v["custom_id"].as_str().map(str::to_owned),
    })
}

pub fn checkout_state(v: &Value) -> PaymentResult<CheckoutState> {
    let status = match text(&v["status"], "order status")? {
        "CREATED" | "SAVED" | "PAYER_ACTION_REQUIRED" => CheckoutStatus::AwaitingBuyer,
        "APPROVED" => CheckoutStatus::Approved,
        "COMPLETED" => CheckoutStatus::Completed,
        "VOIDED" => CheckoutStatus::Voided,
        other => return Err(bad(&format!("order status {other}"))),
    };
    let unit = &v["purchase_units"][0];
    let capture = match &unit["payments"]["captures"][0] {
        Value::Null => None,
        c => Some(capture(c)?),
    };
    Ok(CheckoutState {
        id: ProviderOrderId::new(text(&v["id"], "order id")?),
        status,
        amount: money(&unit["amount"], "order amount")?,
        capture,
    })
}

fn payout_status(s: &str) -> PaymentResult<PayoutStatus> {
    Ok(match s {
        "PENDING" | "NEW" => PayoutStatus::Pending,
        "SUCCESS" => PayoutStatus::Success,
        "FAILED" => PayoutStatus::Failed,
        "UNCLAIMED" => PayoutStatus::Unclaimed,
        "RETURNED" => PayoutStatus::Returned,
        "ONHOLD" => PayoutStatus::OnHold,
        "BLOCKED" => PayoutStatus::Blocked,
        "REFUNDED" => PayoutStatus::Refunded,
        "REVERSED" => PayoutStatus::Reversed,
        "CANCELED" => PayoutStatus::Canceled,
        "DENIED" => PayoutStatus::Denied,
        other => return Err(bad(&format!("payout status {other}"))),
    })
}

/// A payout item (`GET /v1/payments/payouts-item/{id}`, or one of a batch's
/// `items`).
pub fn payout_item(v: &Value) -> PaymentResult<PayoutItem> {
    let fee = match &v["payout_item_fee"] {
        Value::Null => None,
        f => Some(money(f, "payout_item_fee")?),
    };
    Ok(PayoutItem {
        id: PayoutItemId::new(text(&v["payout_item_id"], "payout_item_id")?),
        batch: PayoutBatchId::new(text(&v["payout_batch_id"], "payout_batch_id")?),
        status: payout_status(text(&v["transaction_status"], "transaction_status")?)?,
        amount: money(&v["payout_item"]["amount"], "payout amount")?,
        fee,
        withdrawal: v["sender_batch_id"].as_str().map(WithdrawalId::new),
    })
}

/// The one item of the batch sent for `withdrawal`.
pub fn payout_from_batch(v: &Value, withdrawal: &str) -> PaymentResult<Payout> {
    let batch = text(&v["batch_header"]["payout_batch_id"], "payout_batch_id")?;
    let sent_for = v["batch_header"]["sender_batch_header"]["sender_batch_id"].as_str();
    if sent_for.is_some_and(|s| s != withdrawal) {
        return Err(bad("the batch belongs to another withdrawal"));
    }
    let Some(item) = v["items"].as_array().and_then(|i| i.first()) else {
        // Items appear once PayPal has split the batch; ask again later.
        return Err(PaymentError::Transient(
            "paypal: batch has no items yet".into(),
        ));
    };
    let status = payout_status(text(&item["transaction_status"], "transaction_status")?)?;
    Ok(Payout {
        batch: PayoutBatchId::new(batch),
        item: PayoutItemId::new(text(&item["payout_item_id"], "payout_item_id")?),
        status,
    })
}

/// The capture a refund belongs to: its `up` link ends in the capture id.
fn up_capture(resource: &Value) -> Option<CaptureId> {
    resource["links"]
        .as_array()?
        .iter()
        .find(|l| l["rel"] == "up")?
        .get("href")?
        .as_str()?
        .rsplit('/')
        .next()
        .filter(|s| !s.is_empty())
        .map(CaptureId::new)
}

/// A verified event (https://developer.paypal.com/api/rest/webhooks/event-names/).
pub fn event(v: &Value) -> PaymentResult<WebhookEvent> {
    let id = ProviderEventId::new(text(&v["id"], "event id")?);
    let event_type = text(&v["event_type"], "event_type")?;
    let r = &v["resource"];
    let kind = match event_type {
        "CHECKOUT.ORDER.APPROVED" => WebhookKind::CheckoutApproved {
            checkout: ProviderOrderId::new(text(&r["id"], "order id")?),
        },
        "PAYMENT.CAPTURE.COMPLETED" | "PAYMENT.CAPTURE.PENDING" | "PAYMENT.CAPTURE.DENIED" => {
            WebhookKind::Capture(capture(r)?)
        }
        // The resource is the reversed capture itself.
        "PAYMENT.CAPTURE.REVERSED" => WebhookKind::CaptureReversed {
            capture: CaptureId::new(text(&r["id"], "capture id")?),
            amount: money(&r["amount"], "reversed amount")?,
        },
        // The resource is the refund; its `up` link names the capture.
        "PAYMENT.CAPTURE.REFUNDED" => WebhookKind::CaptureRefunded {
            capture: up_capture(r).ok_or_else(|| bad("refund without its capture"))?,
            amount: money(&r["amount"], "refund amount")?,
        },
        t if t.starts_with("PAYMENT.PAYOUTS-ITEM.") => WebhookKind::PayoutItem(payout_item(r)?),
        other => WebhookKind::Other {
            event_type: other.to_owned(),
        },
    };
    Ok(WebhookEvent { id, kind })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn amounts_are_exact_usd_decimals() {
        let m = |v| money(&v, "x");
        assert_eq!(
            m(json!({"currency_code": "USD", "value": "10.10"})),
            Money::parse("a", "10.10").map_err(|_| bad("t"))
        );
        assert_eq!(
            m(json!({"currency": "USD", "value": "7"})).map(|m| m.to_string()),
            Ok("7.00".into())
        );
        assert!(m(json!({"currency_code": "USD", "value": "10.001"})).is_err());
        assert!(m(json!({"currency_code": "USD", "value": 10.5})).is_err());
        assert!(m(json!({"currency_code": "EUR", "value": "10.00"})).is_err());
        assert!(m(json!({"currency_code": "USD", "value": "-1.00"})).is_err());
    }

    #[test]
    fn payer_action_link_is_an_approve_url() {
        let c = checkout(&json!({
            "id": "5O190127TN364715T",
            "status": "PAYER_ACTION_REQUIRED",
            "links": [{"href": "https://www.sandbox.paypal.com/checkoutnow?token=5O190127TN364715T", "rel": "payer-action", "method": "GET"}]
        }))
        .expect("checkout");
        assert!(c.approve_url.ends_with("token=5O190127TN364715T"));
        assert!(checkout(&json!({"id": "X", "links": []})).is_err());
    }

    #[test]
    fn ids_in_paths_are_plain() {
        assert!(path_segment("5O190127TN364715T").is_ok());
        assert!(path_segment("../v1/oauth2/token").is_err());
        assert!(path_segment("").is_err());
    }

    #[test]
    fn unknown_event_types_are_other() {
        let e =
            event(&json!({"id": "WH-1", "event_type": "CUSTOMER.DISPUTE.CREATED", "resource": {}}))
                .expect("event");
        assert_eq!(
            e.kind,
            WebhookKind::Other {
                event_type: "CUSTOMER.DISPUTE.CREATED".into()
            }
        );
    }
}
