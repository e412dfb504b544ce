//! The words of the email a paid withdrawal sends.

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
