//! The words of the email a pay-with-PayPal order that could not be
//! placed sends (issue 8).

use super::{Lang, Words, p, tr, usd};
use khamsa_domain::money::Money;
use khamsa_domain::notice::NotPlacedReason;

/// Buyer: the payment arrived, the order was not placed, the money is in
/// the balance.
pub(super) fn not_placed(lang: Lang, amount: Money, reason: NotPlacedReason) -> Words {
    let m = usd(amount);
    let why = match reason {
        NotPlacedReason::ServiceUnavailable => p!(
            lang,
            "لم تعد الخدمة متاحة للطلب.",
            "The service is no longer available to order."
        ),
        NotPlacedReason::PriceChanged => p!(
            lang,
            "تغيّر سعر الخدمة منذ أن بدأت الدفع.",
            "The service's price changed since you started paying."
        ),
        NotPlacedReason::NotEnoughFunds => p!(
            lang,
            "لم يعد رصيدك يغطي الطلب.",
            "Your balance no longer covers the order."
        ),
        NotPlacedReason::PaymentHold => p!(
            lang,
            "حسابك موقوف مؤقتًا عن الطلب بسبب دفعة مستردة.",
            "Your account is on hold after a reversed payment."
        ),
    };
    (
        tr!(lang, "لم يتم تنفيذ طلبك", "Your order was not placed"),
        vec![
            p!(
                lang,
                "وصلتنا دفعتك بقيمة {m} عبر PayPal، لكن لم نتمكن من تنفيذ الطلب:",
                "We received your PayPal payment of {m}, but could not place the order:"
            ),
            why,
            p!(
                lang,
                "المبلغ في رصيدك في خمسة، ويمكنك استخدامه في أي طلب.",
                "The money is in your Khamsa balance, ready for any order."
            ),
        ],
    )
}
