//! The words of the emails a paid or failed withdrawal sends.

use super::{Lang, Words, p, tr, usd};
use khamsa_domain::money::Money;

/// Seller: a withdrawal was paid out.
pub(super) fn paid(lang: Lang, amount: Money, paypal_email: &str) -> Words {
    let m = usd(amount);
    (
        tr!(lang, "تم تحويل أرباحك", "Your withdrawal has been paid"),
        vec![
            p!(
                lang,
                "تم تحويل {m} إلى حسابك في PayPal: {paypal_email}",
                "We have sent {m} to your PayPal account: {paypal_email}"
            ),
            p!(
                lang,
                "شكرًا لعملك مع خمسة.",
                "Thank you for working with Khamsa."
            ),
        ],
    )
}

/// Seller: a payout failed and the money is back in their earnings.
pub(super) fn failed(lang: Lang, amount: Money, reason: &str) -> Words {
    let m = usd(amount);
    (
        tr!(
            lang,
            "تعذّر تحويل أرباحك",
            "Your withdrawal could not be paid"
        ),
        vec![
            p!(
                lang,
                "لم يكتمل تحويل {m} إلى PayPal: {reason}",
                "Your payout of {m} to PayPal did not go through: {reason}"
            ),
            p!(
                lang,
                "أعدنا المبلغ إلى أرباحك المتاحة؛ تحقق من عنوان PayPal ثم اطلب السحب من جديد.",
                "The money is back in your available earnings; check your PayPal address and request the withdrawal again."
            ),
        ],
    )
}
