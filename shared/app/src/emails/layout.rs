//! The two compiled templates every email shares, and their fixed wording
//! per language. `.html` templates are escaped by askama; `.txt` ones are not.

use super::{Lang, Recipient, RenderError};
use askama::Template;

/// A piece of the body. `Quote` is user-written text, set apart so it cannot
/// pass for the site's own words.
pub(super) enum Block {
    P(String),
    Quote(String),
}

/// What a notice says; the layouts add greeting, button and footer.
pub(super) struct Content {
    pub subject: String,
    pub blocks: Vec<Block>,
    pub link: String,
    pub cta: Cta,
}

/// Where the email's button leads (its label per language in `Chrome`).
pub(super) enum Cta {
    Order(String),
    Request(String),
    Withdrawals,
    Services,
    Home,
}

/// Fixed wording and direction of the layouts, per language.
struct Chrome {
    code: &'static str,
    dir: &'static str,
    /// The side text starts from: `text-align` and the quote's border.
    side: &'static str,
    greeting: &'static str,
    comma: &'static str,
    view_order: &'static str,
    view_withdrawals: &'static str,
    view_services: &'static str,
    view_request: &'static str,
    sign_off: &'static str,
    footer: &'static str,
    unsubscribe: &'static str,
}

const AR: Chrome = Chrome {
    code: "ar",
    dir: "rtl",
    side: "right",
    greeting: "مرحبًا",
    comma: "،",
    view_order: "عرض الطلب",
    view_withdrawals: "عرض السحوبات",
    view_services: "عرض خدماتي",
    view_request: "عرض الطلب والعروض",
    sign_off: "مع التحية،\nفريق خمسة",
    footer: "وصلتك هذه الرسالة لأن لديك حسابًا في خمسة.",
    unsubscribe: "إيقاف رسائل هذا النوع",
};

const EN: Chrome = Chrome {
    code: "en",
    dir: "ltr",
    side: "left",
    greeting: "Hello",
    comma: ",",
    view_order: "View order",
    view_withdrawals: "View withdrawals",
    view_services: "View my services",
    view_request: "View the request",
    sign_off: "Best regards,\nThe Khamsa team",
    footer: "You are receiving this email because you have a Khamsa account.",
    unsubscribe: "Stop emails like this one",
};

/// What both templates read; one struct, so the two parts cannot drift.
struct Email<'a> {
    w: &'static Chrome,
    name: &'a str,
    c: &'a Content,
    cta: &'static str,
    unsubscribe: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "emails/layout.html")]
struct Html<'a> {
    e: &'a Email<'a>,
}

#[derive(Template)]
#[template(path = "emails/layout.txt")]
struct Text<'a> {
    e: &'a Email<'a>,
}

impl Email<'_> {
    /// A paragraph of the site's words as HTML: escaped, then each
    /// left-to-right isolate made a `<bdi dir="ltr">`, which mail clients
    /// honour more often than the Unicode controls.
    fn p_html(&self, s: &str) -> String {
        let Ok(escaped) = askama::filters::escape(s, askama::filters::Html);
        escaped
            .to_string()
            .replace(super::LRI, "<bdi dir=\"ltr\">")
            .replace(super::PDI, "</bdi>")
    }
}

/// The HTML and text parts of `c` for `to`.
pub(super) fn render(c: &Content, to: &Recipient<'_>) -> Result<(String, String), RenderError> {
    let w = match to.lang {
        Lang::Ar => &AR,
        Lang::En => &EN,
    };
    let e = Email {
        w,
        name: to.display_name,
        unsubscribe: to.unsubscribe,
        c,
        cta: match c.cta {
            Cta::Withdrawals => w.view_withdrawals,
            Cta::Services => w.view_services,
            Cta::Request(_) => w.view_request,
            Cta::Order(_) | Cta::Home => w.view_order,
        },
    };
    Ok((Html { e: &e }.render()?, Text { e: &e }.render()?))
}
