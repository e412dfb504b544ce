//! One-click unsubscribe (RFC 8058) on the optional emails: the header
//! mail providers require of bulk senders, and the signed link behind it.
//! Both backends: in the emulator pass the emails also went through SES.

use crate::helpers::*;
use serde_json::{Value, json};

fn header<'a>(m: &'a Value, name: &str) -> Option<&'a str> {
    m["headers"][name].as_str()
}

fn approvals(mails: &[Value]) -> usize {
    mails
        .iter()
        .filter(|m| {
            m["subject"]
                .as_str()
                .is_some_and(|s| s.starts_with("Your service is approved"))
        })
        .count()
}

#[tokio::test]
async fn an_optional_email_unsubscribes_in_one_click_and_the_next_one_is_not_sent() {
    let app = spawn_app().await;
    let seller = app.user_en("unsub").await;
    let buyer = app.user("unsubbuyer").await;
    let s = app
        .active_service(&seller, json!({ "title": "I will draw a mascot" }))
        .await;

    // The approval email is optional: it carries both headers.
    let mail = app
        .email(
            &seller.email,
            "Your service is approved: I will draw a mascot",
        )
        .await;
    let link = header(&mail, "List-Unsubscribe")
        .unwrap_or_else(|| panic!("no List-Unsubscribe: {mail}"))
        .to_owned();
    assert!(
        link.starts_with('<') && link.contains("/unsubscribe?token=") && link.ends_with('>'),
        "{link}"
    );
    assert_eq!(
        header(&mail, "List-Unsubscribe-Post"),
        Some("List-Unsubscribe=One-Click")
    );

    // An order's email is transactional: neither header.
    app.topup(&buyer, "5.00").await;
    app.order(&buyer, &id(&s), json!({})).await;
    let orders = app.order_emails_to(&seller.email).await;
    assert_eq!(orders.len(), 1, "{orders:?}");
    assert_eq!(
        header(&orders[0], "List-Unsubscribe"),
        None,
        "{}",
        orders[0]
    );
    assert_eq!(header(&orders[0], "List-Unsubscribe-Post"), None);

    // The provider's POST turns moderation emails off, and only them.
    let r = app.one_click(&link).await;
    let body = expect_status(&r, 200);
    assert_eq!(body["unsubscribed"], "moderation");
    let off = json!({ "moderation": false, "offers": true, "reviews": true, "messages": true });
    assert_eq!(body["email_prefs"], off);
    assert_eq!(app.me(&seller).await["email_prefs"], off);
    // Again: the same answer, nothing else changes.
    assert_eq!(expect_status(&app.one_click(&link).await, 200), body);

    // The next approval is not emailed; orders still are.
    let before = approvals(&app.emails_to(&seller.email).await);
    assert_eq!(before, 1);
    let s2 = app
        .active_service(&seller, json!({ "title": "A second mascot" }))
        .await;
    assert_eq!(approvals(&app.emails_to(&seller.email).await), 1);
    app.topup(&buyer, "5.00").await;
    app.order(&buyer, &id(&s2), json!({})).await;
    assert_eq!(app.order_emails_to(&seller.email).await.len(), 2);
}

#[tokio::test]
async fn a_forged_or_altered_unsubscribe_link_is_refused_and_changes_nothing() {
    let app = spawn_app().await;
    let seller = app.user_en("forge").await;
    app.active_service(&seller, json!({ "title": "Logo in a day" }))
        .await;
    let mail = app
        .email(&seller.email, "Your service is approved: Logo in a day")
        .await;
    let link = header(&mail, "List-Unsubscribe").unwrap().to_owned();

    // Another topic under the same signature, a flipped signature
    // character, a cut one, none at all, or someone else's user id.
    let flip = {
        let mut b = link.clone().into_bytes();
        let i = b.len() - 3;
        b[i] = if b[i] == b'A' { b'B' } else { b'A' };
        String::from_utf8(b).unwrap()
    };
    let token = link.split("token=").nth(1).unwrap().trim_end_matches('>');
    let (user_part, rest) = token.split_once('.').unwrap();
    let other_user = link.replace(user_part, &format!("{user_part}AA"));
    assert_ne!(other_user, link);
    for bad in [
        link.replace(".moderation.", ".offers."),
        flip,
        format!("{}>", &link[..link.len() - 6]),
        link.replace(rest, "moderation."),
        other_user,
        "<http://x/unsubscribe?token=>".to_owned(),
        "<http://x/unsubscribe>".to_owned(),
    ] {
        assert_ne!(bad, link);
        expect_problem(&app.one_click(&bad).await, 400, "invalid_unsubscribe_token");
    }
    assert_eq!(
        app.me(&seller).await["email_prefs"],
        json!({ "moderation": true, "offers": true, "reviews": true, "messages": true }),
        "nothing changed"
    );
    // The real one still works afterwards.
    expect_status(&app.one_click(&link).await, 200);
}

#[tokio::test]
async fn the_footer_link_opened_in_a_browser_changes_nothing_and_leads_to_the_sites_page() {
    let app = spawn_app().await;
    let seller = app.user_en("footer").await;
    app.active_service(&seller, json!({ "title": "A banner" }))
        .await;
    let mail = app
        .email(&seller.email, "Your service is approved: A banner")
        .await;
    let header_link = header(&mail, "List-Unsubscribe").unwrap();
    let url = header_link.trim_start_matches('<').trim_end_matches('>');
    // The footer shows the same link to people.
    let text = mail["text"].as_str().unwrap();
    assert!(
        text.contains(&format!("Stop emails like this one: {url}")),
        "{text}"
    );
    let token = url.split("token=").nth(1).unwrap();
    let path = &url[url.find("/unsubscribe").unwrap()..];

    // A GET (a person, or a mail scanner) is sent to the site's page,
    // which asks before it POSTs; it changes nothing itself.
    let browser = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = browser
        .get(app.url(path))
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 302);
    assert_eq!(
        r.headers()["location"].to_str().unwrap(),
        app.url(&format!("/unsubscribe?token={token}"))
    );
    assert_eq!(
        app.me(&seller).await["email_prefs"]["moderation"],
        true,
        "a GET changes nothing"
    );
    // A link we did not sign is refused there too.
    let bad = browser
        .get(app.url(&path.replace(".moderation.", ".offers.")))
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status().as_u16(), 400);
    let body: Value = bad.json().await.unwrap();
    assert_eq!(body["code"], "invalid_unsubscribe_token");
}
