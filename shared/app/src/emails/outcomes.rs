//! The words of the emails that close an order: completed, cancelled, and the
//! review that may follow. `t` names the order (its service title).

use super::{Block, Lang, Words, p, tr, usd};
use khamsa_domain::dispute::DisputeOutcome;
use khamsa_domain::money::Money;
use khamsa_domain::order::Actor;

/// Both: the order is complete; the seller's amount is their net, the
/// buyer's the total.
pub(super) fn completed(lang: Lang, t: &str, amount: Money, by: Actor) -> Words {
    let (m, by) = (usd(amount), by_phrase(by, lang));
    (
        tr!(lang, "اكتمل الطلب", "Order completed"),
        vec![
            p!(
                lang,
                "تم إكمال الطلب «{t}» {by}.",
                "The order “{t}” was completed {by}."
            ),
            p!(lang, "المبلغ: {m}", "Amount: {m}"),
            p!(lang, "شكرًا لتعاملك مع خمسة.", "Thank you for using Khamsa."),
        ],
    )
}

/// Both: the order was cancelled; only the buyer's copy has a refund.
pub(super) fn cancelled(
    lang: Lang,
    t: &str,
    by: Actor,
    refunded: Option<Money>,
    to_earnings: Money,
    reason: Option<&str>,
) -> Words {
    let by = by_phrase(by, lang);
    let mut b = vec![p!(
        lang,
        "تم إلغاء الطلب «{t}» {by}.",
        "The order “{t}” was cancelled {by}."
    )];
    if let Some(r) = reason.filter(|r| !r.is_empty()) {
        b.push(p!(lang, "سبب الإلغاء:", "Reason given:"));
        b.push(Block::Quote(r.to_owned()));
    }
    // Each part goes back where it came from: say where, so the buyer finds it.
    if let Some(total) = refunded {
        let to_balance = total.checked_sub(to_earnings).unwrap_or(Money::ZERO);
        if !to_balance.is_zero() {
            let m = usd(to_balance);
            b.push(p!(
                lang,
                "أُعيد مبلغ {m} إلى رصيدك في الموقع، ويمكنك استخدامه في طلبك القادم.",
                "{m} has been returned to your Khamsa balance, ready for your next order."
            ));
        }
        if !to_earnings.is_zero() {
            let m = usd(to_earnings);
            b.push(p!(
                lang,
                "وأُعيد مبلغ {m} إلى أرباحك المتاحة، التي دفعت منها جزءًا من الطلب.",
                "{m} has been returned to your available earnings, which paid part of the order."
            ));
        }
    }
    (tr!(lang, "تم إلغاء الطلب", "Order cancelled"), b)
}

/// Seller: a buyer rated your work.
pub(super) fn review(lang: Lang, t: &str, rating: u8, text: &str) -> Words {
    let r = rating.min(5);
    let stars = format!(
        "{}{} ({r}/5)",
        "★".repeat(r.into()),
        "☆".repeat((5 - r).into())
    );
    let mut b = vec![
        p!(
            lang,
            "قيّم أحد المشترين خدمتك «{t}»:",
            "A buyer rated your service “{t}”:"
        ),
        Block::P(stars),
    ];
    if !text.is_empty() {
        b.push(Block::Quote(text.to_owned()));
    }
    b.push(p!(
        lang,
        "يمكنك الرد على التقييم من صفحة الطلب.",
        "You can reply to the review from the order page."
    ));
    (
        tr!(lang, "تقييم جديد لخدمتك", "New review of your service"),
        b,
    )
}

/// The other party: a dispute was opened; the team will decide.
pub(super) fn dispute_opened(lang: Lang, t: &str, by: Actor, reason: &str) -> Words {
    let by = by_phrase(by, lang);
    (
        tr!(lang, "فُتح نزاع على الطلب", "A dispute was opened"),
        vec![
            p!(
                lang,
                "فُتح نزاع على الطلب «{t}» {by}:",
                "A dispute was opened on the order “{t}” {by}:"
            ),
            Block::Quote(reason.to_owned()),
            p!(
                lang,
                "سيراجع فريق خمسة الطلب ويقرر. حتى ذلك الحين لا يُلغى الطلب ولا يكتمل تلقائيًا، ويمكنكما مواصلة المراسلة.",
                "The Khamsa team will review the order and decide. Until then it is neither cancelled nor completed automatically, and you can both keep messaging."
            ),
        ],
    )
}

/// Both: an operator ended the dispute, with their reason.
pub(super) fn dispute_resolved(
    lang: Lang,
    t: &str,
    outcome: DisputeOutcome,
    reason: &str,
) -> Words {
    let decided = match outcome {
        DisputeOutcome::Cancel => p!(
            lang,
            "قرر فريق خمسة إلغاء الطلب «{t}» وإعادة المبلغ إلى المشتري.",
            "The Khamsa team cancelled the order “{t}”; the payment went back to the buyer."
        ),
        DisputeOutcome::Complete => p!(
            lang,
            "قرر فريق خمسة إكمال الطلب «{t}» وتحويل المبلغ إلى البائع.",
            "The Khamsa team completed the order “{t}”; the payment was released to the seller."
        ),
    };
    (
        tr!(lang, "انتهى النزاع", "Dispute resolved"),
        vec![
            decided,
            p!(lang, "السبب:", "Reason:"),
            Block::Quote(reason.to_owned()),
        ],
    )
}

fn by_phrase(by: Actor, lang: Lang) -> &'static str {
    match (lang, by) {
        (Lang::Ar, Actor::Buyer) => "من قِبل المشتري",
        (Lang::Ar, Actor::Seller) => "من قِبل البائع",
        (Lang::Ar, Actor::System) => "تلقائيًا",
        (Lang::Ar, Actor::Operator) => "من قِبل إدارة الموقع",
        (Lang::En, Actor::Buyer) => "by the buyer",
        (Lang::En, Actor::Seller) => "by the seller",
        (Lang::En, Actor::System) => "automatically",
        (Lang::En, Actor::Operator) => "by the Khamsa team",
    }
}
