//! Renders a domain `Notice` into an email (subject, HTML and plain text) in
//! the recipient's language: Arabic by default (right-to-left), or English.
//!
//! Each variant only supplies words (a subject and a few blocks per
//! language); one HTML layout and one text layout wrap them. The HTML layout
//! escapes every block, so user text cannot slip through unescaped.

use khamsa_domain::money::Money;
use khamsa_domain::notice::{Notice, NoticeKind};
use khamsa_domain::order::Actor;
use khamsa_domain::time::Timestamp;
use std::fmt::Write as _;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Ar,
    En,
}

pub struct Recipient<'a> {
    pub email: &'a str,
    pub display_name: &'a str,
    pub lang: Lang,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub to: String,
    pub subject: String,
    pub html: String,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    #[error("header value contains CR or LF: {0}")]
    HeaderInjection(&'static str),
}

/// Picks the Arabic or English wording; both are format strings over the
/// caller's local variables.
macro_rules! tr {
    ($lang:expr, $ar:literal, $en:literal) => {
        match $lang {
            Lang::Ar => format!($ar),
            Lang::En => format!($en),
        }
    };
}

/// A piece of the body. `Quote` is user-written text, set apart so it cannot
/// pass for the site's own words.
enum Block {
    P(String),
    Quote(String),
}

/// What a variant says; the layouts add greeting, button and footer.
struct Content {
    subject: String,
    blocks: Vec<Block>,
    link: String,
    withdrawals: bool,
}

/// Renders `notice` for `to`; `base_url` like "http://127.0.0.1:8080" (no trailing slash) builds links: orders link to `{base_url}/orders/{order_id}`, withdrawals to `{base_url}/me/withdrawals`.
pub fn render(
    notice: &Notice,
    to: &Recipient<'_>,
    base_url: &str,
) -> Result<Rendered, RenderError> {
    // Refuse rather than strip: a CR/LF here means a bug or an attack upstream.
    if has_crlf(to.email) {
        return Err(RenderError::HeaderInjection("to"));
    }
    let c = content(notice, to.lang, base_url.trim_end_matches('/'));
    if has_crlf(&c.subject) {
        return Err(RenderError::HeaderInjection("subject"));
    }
    Ok(Rendered {
        to: to.email.to_owned(),
        html: html_layout(&c, to),
        text: text_layout(&c, to),
        subject: c.subject,
    })
}

/// Escapes & < > " ' for HTML.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(ch),
        }
    }
    out
}

fn has_crlf(s: &str) -> bool {
    s.contains(['\r', '\n'])
}

fn content(n: &Notice, lang: Lang, base: &str) -> Content {
    use Block::{P, Quote};
    // Order notices always carry the title; the id is a fallback that still
    // names the order.
    let t = n
        .service_title
        .as_deref()
        .or(n.order_id.as_ref().map(|id| id.as_str()))
        .unwrap_or_default();
    let (subject, blocks) = match &n.kind {
        NoticeKind::NewOrder {
            total,
            seller_net,
            quantity,
        } => {
            let (total, net) = (usd(*total), usd(*seller_net));
            let mut b = vec![P(tr!(
                lang,
                "مبروك! اشترى أحد المشترين خدمتك «{t}».",
                "Good news! A buyer has ordered your service “{t}”."
            ))];
            if *quantity > 1 {
                b.push(P(tr!(lang, "الكمية: {quantity}", "Quantity: {quantity}")));
            }
            b.push(P(tr!(
                lang,
                "إجمالي الطلب: {total}",
                "Order total: {total}"
            )));
            b.push(P(tr!(
                lang,
                "صافي ربحك بعد عمولة الموقع: {net}",
                "Your earnings after the site fee: {net}"
            )));
            b.push(P(tr!(
                lang,
                "راجع تفاصيل الطلب وتعليمات المشتري من صفحة الطلب، وتواصل معه عبر رسائل الموقع.",
                "Open the order to see its details and the buyer's instructions, and talk to the buyer through the site's messages."
            )));
            (
                tr!(lang, "طلب جديد على خدمتك", "New order for your service"),
                b,
            )
        }
        NoticeKind::OrderPlaced {
            total,
            paid_from_balance,
            paid_from_earnings,
        } => {
            let total = usd(*total);
            let mut b = vec![
                P(tr!(
                    lang,
                    "شكرًا لك! تم تأكيد طلبك لخدمة «{t}».",
                    "Thank you! Your order for “{t}” is confirmed."
                )),
                P(tr!(lang, "المبلغ الإجمالي: {total}", "Total: {total}")),
            ];
            // Only the sources actually used, so the receipt reads naturally.
            if !paid_from_balance.is_zero() {
                let m = usd(*paid_from_balance);
                b.push(P(tr!(
                    lang,
                    "دُفع من رصيدك: {m}",
                    "Paid from your balance: {m}"
                )));
            }
            if !paid_from_earnings.is_zero() {
                let m = usd(*paid_from_earnings);
                b.push(P(tr!(
                    lang,
                    "دُفع من أرباحك: {m}",
                    "Paid from your earnings: {m}"
                )));
            }
            b.push(P(tr!(
                lang,
                "يحتفظ الموقع بالمبلغ حتى تستلم العمل. إن كانت الخدمة تحتاج إلى تعليمات، أرسلها إلى البائع من صفحة الطلب ليبدأ العمل.",
                "Khamsa holds the payment until you receive the work. If the service needs instructions, send them to the seller from the order page so the work can start."
            )));
            (tr!(lang, "تم تأكيد طلبك", "Your order is confirmed"), b)
        }
        NoticeKind::InstructionsReceived { text } => (
            tr!(
                lang,
                "أرسل المشتري تعليمات الطلب",
                "The buyer sent instructions"
            ),
            vec![
                P(tr!(
                    lang,
                    "أرسل المشتري تعليماته لطلب «{t}»، وبدأت مدة التنفيذ:",
                    "The buyer sent instructions for “{t}”, and the delivery time has started:"
                )),
                Quote(text.clone()),
                P(tr!(
                    lang,
                    "يمكنك البدء بالعمل الآن. بالتوفيق!",
                    "You can start working now. Good luck!"
                )),
            ],
        ),
        NoticeKind::ChangesRequested { text } => (
            tr!(lang, "طلب المشتري تعديلات", "The buyer asked for changes"),
            vec![
                P(tr!(
                    lang,
                    "طلب المشتري تعديلات على ما سلّمته في طلب «{t}»:",
                    "The buyer asked for changes to your delivery for “{t}”:"
                )),
                Quote(text.clone()),
                P(tr!(
                    lang,
                    "عاد الطلب إلى قيد التنفيذ. يُرجى تسليم النسخة المعدّلة قبل انتهاء المدة.",
                    "The order is back in progress. Please deliver the revised work before the deadline."
                )),
            ],
        ),
        NoticeKind::OrderDelivered {
            text,
            auto_complete_at,
        } => {
            let when = format_utc(*auto_complete_at);
            let mut b = vec![P(tr!(
                lang,
                "سلّم البائع طلبك «{t}».",
                "The seller has delivered your order “{t}”."
            ))];
            b.extend(
                text.iter()
                    .filter(|s| !s.is_empty())
                    .map(|s| Quote(s.clone())),
            );
            b.push(P(tr!(
                lang,
                "يُرجى مراجعة العمل واستلامه، أو طلب تعديلات إن احتجت. إن لم تفعل شيئًا، سيكتمل الطلب تلقائيًا في {when}.",
                "Please review the work and accept it, or ask for changes if needed. If you take no action, the order will complete automatically on {when}."
            )));
            (tr!(lang, "تم تسليم طلبك", "Your order was delivered"), b)
        }
        NoticeKind::OrderCompleted { amount, by } => {
            let (m, by) = (usd(*amount), by_phrase(*by, lang));
            (
                tr!(lang, "اكتمل الطلب", "Order completed"),
                vec![
                    P(tr!(
                        lang,
                        "تم إكمال الطلب «{t}» {by}.",
                        "The order “{t}” was completed {by}."
                    )),
                    P(tr!(lang, "المبلغ: {m}", "Amount: {m}")),
                    P(tr!(
                        lang,
                        "شكرًا لتعاملك مع خمسة.",
                        "Thank you for using Khamsa."
                    )),
                ],
            )
        }
        NoticeKind::OrderCancelled {
            by,
            refunded,
            reason,
        } => {
            let by = by_phrase(*by, lang);
            let mut b = vec![P(tr!(
                lang,
                "تم إلغاء الطلب «{t}» {by}.",
                "The order “{t}” was cancelled {by}."
            ))];
            if let Some(r) = reason.as_deref().filter(|r| !r.is_empty()) {
                b.push(P(tr!(lang, "سبب الإلغاء:", "Reason given:")));
                b.push(Quote(r.to_owned()));
            }
            if let Some(m) = refunded.map(usd) {
                b.push(P(tr!(
                    lang,
                    "أُعيد مبلغ {m} إلى رصيدك في الموقع، ويمكنك استخدامه في طلبك القادم.",
                    "{m} has been returned to your Khamsa balance, ready for your next order."
                )));
            }
            (tr!(lang, "تم إلغاء الطلب", "Order cancelled"), b)
        }
        NoticeKind::CompleteReminder { auto_complete_at } => {
            let when = format_utc(*auto_complete_at);
            (
                tr!(
                    lang,
                    "تذكير: سيكتمل طلبك تلقائيًا قريبًا",
                    "Reminder: your order will complete automatically soon"
                ),
                vec![
                    P(tr!(
                        lang,
                        "سلّم البائع طلبك «{t}» وهو بانتظار استلامك.",
                        "The seller delivered your order “{t}” and it is waiting for you."
                    )),
                    P(tr!(
                        lang,
                        "إن لم تستلمه أو تطلب تعديلات، سيكتمل الطلب تلقائيًا في {when}.",
                        "If you neither accept it nor ask for changes, the order will complete by itself on {when}."
                    )),
                ],
            )
        }
        NoticeKind::ReviewReceived { rating, text } => {
            let r = (*rating).min(5);
            let stars = format!(
                "{}{} ({r}/5)",
                "★".repeat(r.into()),
                "☆".repeat((5 - r).into())
            );
            let mut b = vec![
                P(tr!(
                    lang,
                    "قيّم أحد المشترين خدمتك «{t}»:",
                    "A buyer rated your service “{t}”:"
                )),
                P(stars),
            ];
            if !text.is_empty() {
                b.push(Quote(text.clone()));
            }
            b.push(P(tr!(
                lang,
                "يمكنك الرد على التقييم من صفحة الطلب.",
                "You can reply to the review from the order page."
            )));
            (
                tr!(lang, "تقييم جديد لخدمتك", "New review of your service"),
                b,
            )
        }
        NoticeKind::WithdrawalPaid {
            amount,
            paypal_email,
        } => {
            let m = usd(*amount);
            (
                tr!(lang, "تم تحويل أرباحك", "Your withdrawal has been paid"),
                vec![
                    P(tr!(
                        lang,
                        "تم تحويل {m} إلى حسابك في PayPal: {paypal_email}",
                        "We have sent {m} to your PayPal account: {paypal_email}"
                    )),
                    P(tr!(
                        lang,
                        "شكرًا لعملك مع خمسة.",
                        "Thank you for working with Khamsa."
                    )),
                ],
            )
        }
    };
    let subject = match &n.service_title {
        Some(title) => format!("{subject}: {title}"),
        None => subject,
    };
    let withdrawals = matches!(n.kind, NoticeKind::WithdrawalPaid { .. });
    let link = match (&n.order_id, withdrawals) {
        (Some(id), false) => format!("{base}/orders/{}", encode_segment(id.as_str())),
        (None, false) => format!("{base}/"),
        (_, true) => format!("{base}/me/withdrawals"),
    };
    Content {
        subject,
        blocks,
        link,
        withdrawals,
    }
}

/// Fixed wording of the layouts, per language.
struct Chrome {
    greeting: &'static str,
    comma: &'static str,
    view_order: &'static str,
    view_withdrawals: &'static str,
    sign_off: &'static str,
    footer: &'static str,
}

fn chrome(lang: Lang) -> Chrome {
    match lang {
        Lang::Ar => Chrome {
            greeting: "مرحبًا",
            comma: "،",
            view_order: "عرض الطلب",
            view_withdrawals: "عرض السحوبات",
            sign_off: "مع التحية،\nفريق خمسة",
            footer: "وصلتك هذه الرسالة لأن لديك حسابًا في خمسة.",
        },
        Lang::En => Chrome {
            greeting: "Hello",
            comma: ",",
            view_order: "View order",
            view_withdrawals: "View withdrawals",
            sign_off: "Best regards,\nThe Khamsa team",
            footer: "You are receiving this email because you have a Khamsa account.",
        },
    }
}

impl Chrome {
    fn cta(&self, withdrawals: bool) -> &'static str {
        if withdrawals {
            self.view_withdrawals
        } else {
            self.view_order
        }
    }
}

fn html_layout(c: &Content, to: &Recipient<'_>) -> String {
    let w = chrome(to.lang);
    let (code, dir, align, side) = match to.lang {
        Lang::Ar => ("ar", "rtl", "right", "right"),
        Lang::En => ("en", "ltr", "left", "left"),
    };
    let (comma, cta) = (w.comma, w.cta(c.withdrawals));
    let link = escape_html(&c.link);
    let mut h = format!(
        "<!DOCTYPE html>\n<html lang=\"{code}\" dir=\"{dir}\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{}</title>\n</head>\n\
         <body style=\"margin:0;padding:0;background:#f4f4f5;\">\n\
         <div dir=\"{dir}\" style=\"max-width:560px;margin:0 auto;padding:24px;background:#ffffff;color:#1f2937;\
         font-family:Tahoma,Arial,sans-serif;font-size:16px;line-height:1.6;text-align:{align};\">\n\
         <p>{} {}{comma}</p>\n",
        escape_html(&c.subject),
        w.greeting,
        escape_html(to.display_name),
    );
    for b in &c.blocks {
        // `pre-wrap` keeps the line breaks users typed without turning them into markup.
        let _ = match b {
            Block::P(s) => writeln!(
                h,
                "<p style=\"white-space:pre-wrap;\">{}</p>",
                escape_html(s)
            ),
            Block::Quote(s) => writeln!(
                h,
                "<blockquote style=\"margin:0 0 16px;padding:8px 12px;border-{side}:4px solid #d1d5db;\
                 background:#f9fafb;white-space:pre-wrap;\">{}</blockquote>",
                escape_html(s)
            ),
        };
    }
    let _ = write!(
        h,
        "<p><a href=\"{link}\" style=\"display:inline-block;padding:10px 20px;background:#0f766e;color:#ffffff;\
         text-decoration:none;border-radius:6px;\">{cta}</a></p>\n\
         <p style=\"font-size:13px;color:#6b7280;\"><a href=\"{link}\" dir=\"ltr\">{link}</a></p>\n\
         <p style=\"white-space:pre-line;\">{}</p>\n\
         <hr style=\"border:none;border-top:1px solid #e5e7eb;\">\n\
         <p style=\"font-size:12px;color:#6b7280;\">{}</p>\n</div>\n</body>\n</html>\n",
        w.sign_off, w.footer,
    );
    h
}

fn text_layout(c: &Content, to: &Recipient<'_>) -> String {
    let w = chrome(to.lang);
    let (comma, cta) = (w.comma, w.cta(c.withdrawals));
    let mut t = format!("{} {}{comma}\n\n", w.greeting, to.display_name);
    for b in &c.blocks {
        match b {
            Block::P(s) => t.push_str(s),
            // Mail-style quoting marks where the user's words start and end.
            Block::Quote(s) => t.push_str(
                &s.lines()
                    .map(|l| format!("> {l}"))
                    .collect::<Vec<_>>()
                    .join("\n"),
            ),
        }
        t.push_str("\n\n");
    }
    let _ = write!(
        t,
        "{cta}: {}\n\n{}\n\n-- \n{}\n",
        c.link, w.sign_off, w.footer
    );
    t
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

fn usd(m: Money) -> String {
    format!("${m}")
}

/// Ids are opaque strings: percent-encode so one can never change the path.
fn encode_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// `YYYY-MM-DD HH:MM UTC`; euclidean division keeps pre-1970 times right.
fn format_utc(ts: Timestamp) -> String {
    let secs = ts.millis().div_euclid(1000);
    let (days, sod) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02} UTC",
        sod / 3600,
        sod % 3600 / 60
    )
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian
/// calendar (Howard Hinnant's algorithm: eras of 400 years, March-based
/// years so the leap day falls last).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use khamsa_domain::ids::{OrderId, UserId, WithdrawalId};

    const BASE: &str = "http://127.0.0.1:8080";

    fn order_notice(title: &str, kind: NoticeKind) -> Notice {
        Notice {
            to: UserId::new("u1"),
            order_id: Some(OrderId::new("ord_1")),
            withdrawal_id: None,
            service_title: Some(title.into()),
            kind,
        }
    }

    fn who(lang: Lang) -> Recipient<'static> {
        Recipient {
            email: "sara@example.com",
            display_name: "Sara",
            lang,
        }
    }

    fn ok(n: &Notice, lang: Lang) -> Rendered {
        render(n, &who(lang), BASE).unwrap()
    }

    /// One notice per variant; the exhaustive match below fails to compile
    /// when a variant is added without a sample.
    fn samples() -> Vec<Notice> {
        let ts = Timestamp(1_700_000_000_000);
        let kinds = vec![
            NoticeKind::NewOrder {
                total: Money::dollars(20),
                seller_net: Money::dollars(16),
                quantity: 2,
            },
            NoticeKind::OrderPlaced {
                total: Money::dollars(20),
                paid_from_balance: Money::dollars(15),
                paid_from_earnings: Money::dollars(5),
            },
            NoticeKind::InstructionsReceived {
                text: "Use blue, please".into(),
            },
            NoticeKind::ChangesRequested {
                text: "Bigger font".into(),
            },
            NoticeKind::OrderDelivered {
                text: Some("Here it is".into()),
                auto_complete_at: ts,
            },
            NoticeKind::OrderCompleted {
                amount: Money::dollars(16),
                by: Actor::System,
            },
            NoticeKind::OrderCancelled {
                by: Actor::Seller,
                refunded: Some(Money::dollars(20)),
                reason: Some("Too busy".into()),
            },
            NoticeKind::CompleteReminder {
                auto_complete_at: ts,
            },
            NoticeKind::ReviewReceived {
                rating: 4,
                text: "Great work".into(),
            },
        ];
        let mut out: Vec<Notice> = kinds
            .into_iter()
            .map(|k| order_notice("Logo design", k))
            .collect();
        out.push(Notice {
            to: UserId::new("u1"),
            order_id: None,
            withdrawal_id: Some(WithdrawalId::new("wd_1")),
            service_title: None,
            kind: NoticeKind::WithdrawalPaid {
                amount: Money::dollars(50),
                paypal_email: "sara@paypal.test".into(),
            },
        });
        out
    }

    #[test]
    fn every_variant_renders_in_both_languages() {
        let mut seen = [false; 10];
        for n in samples() {
            let i = match n.kind {
                NoticeKind::NewOrder { .. } => 0,
                NoticeKind::OrderPlaced { .. } => 1,
                NoticeKind::InstructionsReceived { .. } => 2,
                NoticeKind::ChangesRequested { .. } => 3,
                NoticeKind::OrderDelivered { .. } => 4,
                NoticeKind::OrderCompleted { .. } => 5,
                NoticeKind::OrderCancelled { .. } => 6,
                NoticeKind::CompleteReminder { .. } => 7,
                NoticeKind::ReviewReceived { .. } => 8,
                NoticeKind::WithdrawalPaid { .. } => 9,
            };
            seen[i] = true;
            let link = if i == 9 {
                format!("{BASE}/me/withdrawals")
            } else {
                format!("{BASE}/orders/ord_1")
            };
            for lang in [Lang::Ar, Lang::En] {
                let r = ok(&n, lang);
                assert_eq!(r.to, "sara@example.com");
                assert!(!r.subject.trim().is_empty(), "{i} {lang:?}");
                assert!(
                    r.html.contains("<p") && r.html.ends_with("</html>\n"),
                    "{i} {lang:?}"
                );
                assert!(r.text.len() > 40, "{i} {lang:?}");
                assert!(r.html.contains(&format!("href=\"{link}\"")), "{i} {lang:?}");
                assert!(r.text.contains(&link), "{i} {lang:?}");
                assert!(r.text.contains("Sara") && r.html.contains("Sara"));
            }
            // The two languages really differ.
            assert_ne!(ok(&n, Lang::Ar).subject, ok(&n, Lang::En).subject);
        }
        assert!(seen.iter().all(|s| *s));
    }

    #[test]
    fn arabic_is_right_to_left_and_english_left_to_right() {
        for n in samples() {
            let ar = ok(&n, Lang::Ar);
            assert!(ar.html.contains("<html lang=\"ar\" dir=\"rtl\">"));
            assert!(ar.html.contains("text-align:right"));
            assert!(ar.text.contains("مرحبًا Sara،"));
            let en = ok(&n, Lang::En);
            assert!(en.html.contains("<html lang=\"en\" dir=\"ltr\">"));
            assert!(en.text.starts_with("Hello Sara,"));
        }
    }

    #[test]
    fn new_order_names_title_total_net_and_link() {
        let n = &samples()[0];
        let ar = ok(n, Lang::Ar);
        assert_eq!(ar.subject, "طلب جديد على خدمتك: Logo design");
        let en = ok(n, Lang::En);
        assert_eq!(en.subject, "New order for your service: Logo design");
        for r in [ar, en] {
            for part in [&r.html, &r.text] {
                for needle in [
                    "Logo design",
                    "$20.00",
                    "$16.00",
                    "http://127.0.0.1:8080/orders/ord_1",
                ] {
                    assert!(part.contains(needle), "{needle} missing in {part}");
                }
            }
        }
    }

    #[test]
    fn variant_specific_facts_are_present() {
        let s = samples();
        let text = |i: usize, lang| ok(&s[i], lang).text;
        assert!(text(1, Lang::En).contains("Paid from your balance: $15.00"));
        assert!(text(2, Lang::Ar).contains("> Use blue, please"));
        assert!(text(3, Lang::En).contains("> Bigger font"));
        assert!(
            text(4, Lang::En).contains("Here it is")
                && text(4, Lang::En).contains("2023-11-14 22:13 UTC")
        );
        assert!(text(5, Lang::Ar).contains("$16.00") && text(5, Lang::Ar).contains("تلقائيًا"));
        assert!(
            text(6, Lang::En).contains("$20.00 has been returned")
                && text(6, Lang::En).contains("Too busy")
        );
        assert!(text(6, Lang::Ar).contains("أُعيد مبلغ $20.00"));
        assert!(text(7, Lang::Ar).contains("2023-11-14 22:13 UTC"));
        assert!(
            text(8, Lang::En).contains("★★★★☆ (4/5)") && text(8, Lang::En).contains("Great work")
        );
        assert!(
            text(9, Lang::En).contains("$50.00") && text(9, Lang::En).contains("sara@paypal.test")
        );
        assert_eq!(ok(&s[9], Lang::Ar).subject, "تم تحويل أرباحك");
        // The seller's copy of a cancellation has no refund line.
        let seller = order_notice(
            "x",
            NoticeKind::OrderCancelled {
                by: Actor::Buyer,
                refunded: None,
                reason: None,
            },
        );
        assert!(!ok(&seller, Lang::En).text.contains("returned"));
    }

    #[test]
    fn user_text_is_escaped_in_html_and_raw_in_text() {
        let evil = "<script>alert(1)</script>";
        let escaped = "&lt;script&gt;alert(1)&lt;/script&gt;";
        let kinds = [
            NoticeKind::NewOrder {
                total: Money::dollars(5),
                seller_net: Money::dollars(4),
                quantity: 1,
            },
            NoticeKind::InstructionsReceived { text: evil.into() },
            NoticeKind::ChangesRequested { text: evil.into() },
            NoticeKind::OrderDelivered {
                text: Some(evil.into()),
                auto_complete_at: Timestamp(0),
            },
            NoticeKind::OrderCancelled {
                by: Actor::Operator,
                refunded: None,
                reason: Some(evil.into()),
            },
            NoticeKind::ReviewReceived {
                rating: 1,
                text: evil.into(),
            },
            NoticeKind::WithdrawalPaid {
                amount: Money::dollars(20),
                paypal_email: evil.into(),
            },
        ];
        let to = Recipient {
            email: "a@b.c",
            display_name: "<b>\"Sam\" & 'co'</b>",
            lang: Lang::En,
        };
        for kind in kinds {
            for lang in [Lang::Ar, Lang::En] {
                let r = render(
                    &order_notice(evil, kind.clone()),
                    &Recipient { lang, ..to },
                    BASE,
                )
                .unwrap();
                assert!(!r.html.contains("<script"), "{}", r.html);
                assert!(!r.html.contains("<b>"));
                assert!(r.html.contains(escaped));
                assert!(
                    r.html
                        .contains("&lt;b&gt;&quot;Sam&quot; &amp; &#39;co&#39;&lt;/b&gt;")
                );
                assert!(r.text.contains(evil) && r.subject.contains(evil));
                assert!(r.text.contains("<b>\"Sam\" & 'co'</b>"));
            }
        }
    }

    #[test]
    fn crlf_in_headers_is_refused() {
        let n = &samples()[0];
        for email in ["a@b.c\r\nBcc: x@y.z", "a@b.c\nBcc: x@y.z", "a@b.c\r"] {
            let to = Recipient {
                email,
                display_name: "A",
                lang: Lang::Ar,
            };
            assert_eq!(
                render(n, &to, BASE),
                Err(RenderError::HeaderInjection("to"))
            );
        }
        let bad = order_notice(
            "Logo\r\nBcc: x@y.z",
            NoticeKind::CompleteReminder {
                auto_complete_at: Timestamp(0),
            },
        );
        assert_eq!(
            render(&bad, &who(Lang::En), BASE),
            Err(RenderError::HeaderInjection("subject"))
        );
        // Line breaks in body text are fine.
        let body = order_notice(
            "Logo",
            NoticeKind::ChangesRequested {
                text: "a\r\nb".into(),
            },
        );
        assert!(render(&body, &who(Lang::En), BASE).is_ok());
    }

    #[test]
    fn links_encode_the_order_id_and_tolerate_a_trailing_slash() {
        let mut n = samples().remove(0);
        n.order_id = Some(OrderId::new("a/b?c=\"d\""));
        let r = render(&n, &who(Lang::En), "https://khamsa.test/").unwrap();
        assert!(
            r.text
                .contains("https://khamsa.test/orders/a%2Fb%3Fc%3D%22d%22\n")
        );
        assert!(
            r.html
                .contains("href=\"https://khamsa.test/orders/a%2Fb%3Fc%3D%22d%22\"")
        );
    }

    #[test]
    fn escape_html_covers_all_five_characters() {
        assert_eq!(
            escape_html("a&b<c>d\"e'f"),
            "a&amp;b&lt;c&gt;d&quot;e&#39;f"
        );
        assert_eq!(escape_html("نص عربي"), "نص عربي");
    }

    #[test]
    fn dates_format_as_utc() {
        let cases = [
            (0, "1970-01-01 00:00 UTC"),
            (1_700_000_000_000, "2023-11-14 22:13 UTC"),
            (1_709_164_800_000, "2024-02-29 00:00 UTC"),
            (1_709_251_199_000, "2024-02-29 23:59 UTC"),
            (951_782_400_000, "2000-02-29 00:00 UTC"),
            (4_102_444_799_000, "2099-12-31 23:59 UTC"),
            (253_402_300_799_000, "9999-12-31 23:59 UTC"),
            (-60_000, "1969-12-31 23:59 UTC"),
            (-1, "1969-12-31 23:59 UTC"),
        ];
        for (ms, want) in cases {
            assert_eq!(format_utc(Timestamp(ms)), want, "{ms}");
        }
    }
}
