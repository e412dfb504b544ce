//! The words of the emails an open order sends: placing it, starting the
//! work, asking for changes, delivering, and the auto-complete reminder.
//! `t` names the order (its service title).

use super::{Block, Lang, Words, format_utc, p, tr, usd};
use khamsa_domain::money::Money;
use khamsa_domain::time::Timestamp;

/// Seller: someone bought your service.
pub(super) fn new_order(lang: Lang, t: &str, total: Money, net: Money, quantity: u32) -> Words {
    let (total, net) = (usd(total), usd(net));
    let mut b = vec![p!(
        lang,
        "مبروك! اشترى أحد المشترين خدمتك «{t}».",
        "Good news! A buyer has ordered your service “{t}”."
    )];
    if quantity > 1 {
        b.push(p!(lang, "الكمية: {quantity}", "Quantity: {quantity}"));
    }
    b.extend([
        p!(lang, "إجمالي الطلب: {total}", "Order total: {total}"),
        p!(
            lang,
            "صافي ربحك بعد عمولة الموقع: {net}",
            "Your earnings after the site fee: {net}"
        ),
        p!(
            lang,
            "راجع تفاصيل الطلب وتعليمات المشتري من صفحة الطلب، وتواصل معه عبر رسائل الموقع.",
            "Open the order to see its details and the buyer's instructions, and talk to the buyer through the site's messages."
        ),
    ]);
    (
        tr!(lang, "طلب جديد على خدمتك", "New order for your service"),
        b,
    )
}

/// Buyer: the receipt.
pub(super) fn placed(lang: Lang, t: &str, total: Money, balance: Money, earnings: Money) -> Words {
    let total = usd(total);
    let mut b = vec![
        p!(
            lang,
            "شكرًا لك! تم تأكيد طلبك لخدمة «{t}».",
            "Thank you! Your order for “{t}” is confirmed."
        ),
        p!(lang, "المبلغ الإجمالي: {total}", "Total: {total}"),
    ];
    // Only the sources actually used, so the receipt reads naturally.
    if !balance.is_zero() {
        let m = usd(balance);
        b.push(p!(lang, "دُفع من رصيدك: {m}", "Paid from your balance: {m}"));
    }
    if !earnings.is_zero() {
        let m = usd(earnings);
        b.push(p!(
            lang,
            "دُفع من أرباحك: {m}",
            "Paid from your earnings: {m}"
        ));
    }
    b.push(p!(
        lang,
        "يحتفظ الموقع بالمبلغ حتى تستلم العمل. إن كانت الخدمة تحتاج إلى تعليمات، أرسلها إلى البائع من صفحة الطلب ليبدأ العمل.",
        "Khamsa holds the payment until you receive the work. If the service needs instructions, send them to the seller from the order page so the work can start."
    ));
    (tr!(lang, "تم تأكيد طلبك", "Your order is confirmed"), b)
}

/// Seller: the buyer sent what you need to start.
pub(super) fn instructions(lang: Lang, t: &str, text: &str) -> Words {
    (
        tr!(
            lang,
            "أرسل المشتري تعليمات الطلب",
            "The buyer sent instructions"
        ),
        vec![
            p!(
                lang,
                "أرسل المشتري تعليماته لطلب «{t}»، وبدأت مدة التنفيذ:",
                "The buyer sent instructions for “{t}”, and the delivery time has started:"
            ),
            Block::Quote(text.to_owned()),
            p!(
                lang,
                "يمكنك البدء بالعمل الآن. بالتوفيق!",
                "You can start working now. Good luck!"
            ),
        ],
    )
}

/// Seller: the buyer wants changes.
pub(super) fn changes(lang: Lang, t: &str, text: &str) -> Words {
    (
        tr!(lang, "طلب المشتري تعديلات", "The buyer asked for changes"),
        vec![
            p!(
                lang,
                "طلب المشتري تعديلات على ما سلّمته في طلب «{t}»:",
                "The buyer asked for changes to your delivery for “{t}”:"
            ),
            Block::Quote(text.to_owned()),
            p!(
                lang,
                "عاد الطلب إلى قيد التنفيذ. يُرجى تسليم النسخة المعدّلة قبل انتهاء المدة.",
                "The order is back in progress. Please deliver the revised work before the deadline."
            ),
        ],
    )
}

/// Buyer: the seller delivered.
pub(super) fn delivered(lang: Lang, t: &str, text: Option<&str>, at: Timestamp) -> Words {
    let when = format_utc(at);
    let mut b = vec![p!(
        lang,
        "سلّم البائع طلبك «{t}».",
        "The seller has delivered your order “{t}”."
    )];
    b.extend(
        text.filter(|s| !s.is_empty())
            .map(|s| Block::Quote(s.to_owned())),
    );
    b.push(p!(
        lang,
        "يُرجى مراجعة العمل واستلامه، أو طلب تعديلات إن احتجت. إن لم تفعل شيئًا، سيكتمل الطلب تلقائيًا في {when}.",
        "Please review the work and accept it, or ask for changes if needed. If you take no action, the order will complete automatically on {when}."
    ));
    (tr!(lang, "تم تسليم طلبك", "Your order was delivered"), b)
}

/// Buyer: the order completes by itself soon.
pub(super) fn reminder(lang: Lang, t: &str, at: Timestamp) -> Words {
    let when = format_utc(at);
    (
        tr!(
            lang,
            "تذكير: سيكتمل طلبك تلقائيًا قريبًا",
            "Reminder: your order will complete automatically soon"
        ),
        vec![
            p!(
                lang,
                "سلّم البائع طلبك «{t}» وهو بانتظار استلامك.",
                "The seller delivered your order “{t}” and it is waiting for you."
            ),
            p!(
                lang,
                "إن لم تستلمه أو تطلب تعديلات، سيكتمل الطلب تلقائيًا في {when}.",
                "If you neither accept it nor ask for changes, the order will complete by itself on {when}."
            ),
        ],
    )
}

/// The other party: a new message waits on the site. The text is not in
/// the email: one email stands for every message of the next 15 minutes.
pub(super) fn new_message(lang: Lang, t: &str) -> Words {
    (
        tr!(lang, "رسالة جديدة في طلبك", "A new message on your order"),
        vec![p!(
            lang,
            "وصلتك رسالة جديدة في الطلب «{t}». اقرأها وردّ عليها من صفحة الطلب.",
            "You have a new message on the order “{t}”. Read and answer it on the order page."
        )],
    )
}
