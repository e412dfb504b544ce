//! Renders a domain `Notice` into an email (subject, HTML and plain text) in
//! the recipient's language: Arabic by default (right-to-left), or English.
//!
//! Each kind of notice only supplies words: a subject and a few blocks per
//! language (`orders`, `outcomes`, `payouts`). Two compiled templates wrap
//! them, `templates/emails/layout.html` and `layout.txt` (`layout`); the
//! template engine escapes everything in the HTML part, so user text cannot
//! slip through unescaped.

mod layout;
mod market;
mod orders;
mod outcomes;
mod payouts;
#[cfg(test)]
mod tests;
mod topups;

use khamsa_domain::money::Money;
use khamsa_domain::notice::{Notice, NoticeKind};
use khamsa_domain::time::Timestamp;
use layout::{Block, Content, Cta};
use time::{OffsetDateTime, PrimitiveDateTime};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Ar,
    En,
}

pub struct Recipient<'a> {
    pub email: &'a str,
    pub display_name: &'a str,
    pub lang: Lang,
    /// An optional email's way out, shown in its footer (the link also
    /// goes in its `List-Unsubscribe` header); `None` for the others.
    pub unsubscribe: Option<&'a str>,
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
    /// Our templates only print strings into a `String`, so this is not
    /// expected; it makes a future failing filter an error, not a panic. Kept
    /// as text so the error stays comparable.
    #[error("template: {0}")]
    Template(String),
}

impl From<askama::Error> for RenderError {
    fn from(e: askama::Error) -> Self {
        RenderError::Template(e.to_string())
    }
}

/// Picks the Arabic or English wording; both are format strings over the
/// caller's local variables.
macro_rules! tr {
    ($lang:expr, $ar:literal, $en:literal) => {
        match $lang {
            $crate::emails::Lang::Ar => format!($ar),
            $crate::emails::Lang::En => format!($en),
        }
    };
}
use tr;

/// A paragraph of the site's own words, in the recipient's language.
macro_rules! p {
    ($lang:expr, $ar:literal, $en:literal) => {
        $crate::emails::Block::P($crate::emails::tr!($lang, $ar, $en))
    };
}
use p;

/// Renders `notice` for `to`; `base_url` like "http://127.0.0.1:8080" (no
/// trailing slash needed) builds links: orders link to
/// `{base_url}/orders/{order_id}`, withdrawals to `{base_url}/me/withdrawals`.
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
    let (html, text) = layout::render(&c, to)?;
    Ok(Rendered {
        to: to.email.to_owned(),
        subject: c.subject,
        html,
        text,
    })
}

fn has_crlf(s: &str) -> bool {
    s.contains(['\r', '\n'])
}

fn content(n: &Notice, lang: Lang, base: &str) -> Content {
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
        } => orders::new_order(lang, t, *total, *seller_net, *quantity),
        NoticeKind::OrderPlaced {
            total,
            paid_from_balance,
            paid_from_earnings,
        } => orders::placed(lang, t, *total, *paid_from_balance, *paid_from_earnings),
        NoticeKind::InstructionsReceived { text } => orders::instructions(lang, t, text),
        NoticeKind::ChangesRequested { text } => orders::changes(lang, t, text),
        NoticeKind::OrderDelivered {
            text,
            auto_complete_at,
        } => orders::delivered(lang, t, text.as_deref(), *auto_complete_at),
        NoticeKind::CompleteReminder { auto_complete_at } => {
            orders::reminder(lang, t, *auto_complete_at)
        }
        NoticeKind::OrderCompleted { amount, by } => outcomes::completed(lang, t, *amount, *by),
        NoticeKind::OrderCancelled {
            by,
            refunded,
            to_earnings,
            reason,
        } => outcomes::cancelled(lang, t, *by, *refunded, *to_earnings, reason.as_deref()),
        NoticeKind::ReviewReceived { rating, text } => outcomes::review(lang, t, *rating, text),
        NoticeKind::WithdrawalPaid {
            amount,
            paypal_email,
        } => payouts::paid(lang, *amount, paypal_email),
        NoticeKind::PaidOrderNotPlaced { amount, reason } => {
            topups::not_placed(lang, *amount, *reason)
        }
        NoticeKind::WithdrawalFailed { amount, reason } => payouts::failed(lang, *amount, reason),
        NoticeKind::NewMessage => orders::new_message(lang, t),
        NoticeKind::ServiceApproved { revision } => market::service_approved(lang, t, *revision),
        NoticeKind::ServiceRejected { revision, reason } => {
            market::service_rejected(lang, t, *revision, reason.as_deref())
        }
        NoticeKind::NewOffer {
            request_title,
            text,
            ..
        } => market::new_offer(lang, request_title, text),
        NoticeKind::EarningsCleared { amount } => market::earnings_cleared(lang, t, *amount),
        NoticeKind::WithdrawalRejected { amount, reason } => {
            market::withdrawal_rejected(lang, *amount, reason.as_deref())
        }
        NoticeKind::DisputeOpened { by, reason } => outcomes::dispute_opened(lang, t, *by, reason),
        NoticeKind::DisputeResolved { outcome, reason } => {
            outcomes::dispute_resolved(lang, t, *outcome, reason)
        }
    };
    // Arabic reads right to left: "$10.00" unisolated shows as "10.00$".
    let (subject, blocks) = match lang {
        Lang::Ar => (
            isolate_amounts(&subject),
            blocks
                .into_iter()
                .map(|b| match b {
                    Block::P(s) => Block::P(isolate_amounts(&s)),
                    quote @ Block::Quote(_) => quote,
                })
                .collect(),
        ),
        Lang::En => (subject, blocks),
    };
    let subject = match &n.service_title {
        Some(title) => format!("{subject}: {title}"),
        None => subject,
    };
    // Ids are opaque strings: percent-encode so one can never change the path.
    let enc = |id: &str| {
        let Ok(id) = askama::filters::urlencode_strict(id);
        id.to_string()
    };
    let cta = match (&n.kind, &n.order_id) {
        (
            NoticeKind::WithdrawalPaid { .. }
            | NoticeKind::WithdrawalFailed { .. }
            | NoticeKind::WithdrawalRejected { .. },
            _,
        ) => Cta::Withdrawals,
        (NoticeKind::ServiceApproved { .. } | NoticeKind::ServiceRejected { .. }, _) => {
            Cta::Services
        }
        (NoticeKind::NewOffer { request_id, .. }, _) => {
            Cta::Request(format!("{base}/requests/{}", enc(request_id.as_str())))
        }
        (_, Some(id)) => Cta::Order(format!("{base}/orders/{}", enc(id.as_str()))),
        (_, None) => Cta::Home,
    };
    let link = match &cta {
        Cta::Order(l) | Cta::Request(l) => l.clone(),
        Cta::Withdrawals => format!("{base}/me/withdrawals"),
        Cta::Services => format!("{base}/me/services"),
        Cta::Home => format!("{base}/"),
    };
    Content {
        subject,
        blocks,
        link,
        cta,
    }
}

/// A subject and the blocks of the body: what each kind of notice supplies.
type Words = (String, Vec<Block>);

/// Left-to-right isolate (U+2066) and its closing pop (U+2069). User text
/// never holds them (they are refused as bidi controls), so in the HTML part
/// each pair becomes a `<bdi dir="ltr">` (`layout`).
pub(crate) const LRI: char = '\u{2066}';
pub(crate) const PDI: char = '\u{2069}';

/// Wraps each amount (`$` then digits, `.` and `,`) in a left-to-right
/// isolate, so a right-to-left line keeps "$10.00" in its written order.
fn isolate_amounts(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '$' && chars.peek().is_some_and(char::is_ascii_digit) {
            out.push(LRI);
            out.push('$');
            while let Some(&d) = chars.peek() {
                if d.is_ascii_digit() || d == '.' || d == ',' {
                    out.push(d);
                    chars.next();
                } else {
                    break;
                }
            }
            out.push(PDI);
        } else {
            out.push(c);
        }
    }
    out
}

fn usd(m: Money) -> String {
    format!("${m}")
}

/// `YYYY-MM-DD HH:MM UTC`. Times past the calendar's range (year ±9999)
/// show as its first or last minute rather than failing the email.
fn format_utc(ts: Timestamp) -> String {
    let secs = ts.millis().div_euclid(1000);
    let at = OffsetDateTime::from_unix_timestamp(secs).unwrap_or_else(|_| {
        if secs < 0 {
            PrimitiveDateTime::MIN.assume_utc()
        } else {
            PrimitiveDateTime::MAX.assume_utc()
        }
    });
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02} UTC",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute()
    )
}
