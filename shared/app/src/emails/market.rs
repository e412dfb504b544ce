//! The words of the emails outside an order's own life: moderation of a
//! service, an offer on a request, earnings that cleared, and a withdrawal
//! an operator rejected. `t` names the service where there is one.

use super::{Block, Lang, Words, p, tr, usd};
use khamsa_domain::money::Money;

/// Seller: the service (or an edit of it) is live.
pub(super) fn service_approved(lang: Lang, t: &str, revision: bool) -> Words {
    let body = if revision {
        p!(
            lang,
            "وافق فريق خمسة على تعديلك لخدمة «{t}»، وصار ظاهرًا للمشترين.",
            "The Khamsa team approved your edit of “{t}”; buyers now see it."
        )
    } else {
        p!(
            lang,
            "وافق فريق خمسة على خدمتك «{t}»، وصارت ظاهرة للمشترين ويمكن طلبها.",
            "The Khamsa team approved your service “{t}”; buyers can now find and order it."
        )
    };
    (
        tr!(lang, "تمت الموافقة على خدمتك", "Your service is approved"),
        vec![body],
    )
}

/// Seller: the service (or an edit of it) was turned down, with why.
pub(super) fn service_rejected(lang: Lang, t: &str, revision: bool, reason: Option<&str>) -> Words {
    let mut b = vec![if revision {
        p!(
            lang,
            "لم يوافق فريق خمسة على تعديلك لخدمة «{t}»؛ تبقى النسخة السابقة ظاهرة.",
            "The Khamsa team did not approve your edit of “{t}”; the earlier version stays live."
        )
    } else {
        p!(
            lang,
            "لم يوافق فريق خمسة على خدمتك «{t}».",
            "The Khamsa team did not approve your service “{t}”."
        )
    }];
    if let Some(r) = reason.filter(|r| !r.is_empty()) {
        b.push(p!(lang, "السبب:", "The reason given:"));
        b.push(Block::Quote(r.to_owned()));
    }
    b.push(p!(
        lang,
        "يمكنك تعديل الخدمة وإرسالها للمراجعة من جديد.",
        "You can edit the service and send it for review again."
    ));
    (
        tr!(
            lang,
            "لم تتم الموافقة على خدمتك",
            "Your service was not approved"
        ),
        b,
    )
}

/// The request's author: a seller offered to do it.
pub(super) fn new_offer(lang: Lang, title: &str, text: &str) -> Words {
    (
        tr!(lang, "عرض جديد على طلبك", "A new offer on your request"),
        vec![
            p!(
                lang,
                "قدّم أحد البائعين عرضًا على طلبك «{title}»:",
                "A seller made an offer on your request “{title}”:"
            ),
            Block::Quote(text.to_owned()),
        ],
    )
}

/// Seller: the order's earnings are now available to withdraw. The button
/// leads to the order, so two orders that clear alike are two emails.
pub(super) fn earnings_cleared(lang: Lang, t: &str, amount: Money) -> Words {
    let m = usd(amount);
    (
        tr!(lang, "أرباحك متاحة للسحب", "Your earnings are available"),
        vec![p!(
            lang,
            "صار مبلغ {m} من الطلب «{t}» متاحًا في أرباحك، ويمكنك سحبه إلى PayPal.",
            "{m} from the order “{t}” is now in your available earnings, ready to withdraw to PayPal."
        )],
    )
}

/// Seller: an operator rejected a withdrawal; the money is back.
pub(super) fn withdrawal_rejected(lang: Lang, amount: Money, reason: Option<&str>) -> Words {
    let m = usd(amount);
    let mut b = vec![p!(
        lang,
        "رفض فريق خمسة طلب سحب {m}، وأعدنا المبلغ إلى أرباحك المتاحة.",
        "The Khamsa team rejected your withdrawal of {m}; the money is back in your available earnings."
    )];
    if let Some(r) = reason.filter(|r| !r.is_empty()) {
        b.push(p!(lang, "السبب:", "The reason given:"));
        b.push(Block::Quote(r.to_owned()));
    }
    (
        tr!(lang, "رُفض طلب السحب", "Your withdrawal was rejected"),
        b,
    )
}
