use super::*;
use khamsa_domain::ids::{OrderId, UserId, WithdrawalId};
use khamsa_domain::notice::NotPlacedReason;
use khamsa_domain::order::Actor;

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
        unsubscribe: None,
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
            to_earnings: Money::ZERO,
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
    // Issue 8: a paid-for order that could not be placed.
    out.push(Notice {
        to: UserId::new("u1"),
        order_id: None,
        withdrawal_id: None,
        service_title: None,
        kind: NoticeKind::PaidOrderNotPlaced {
            amount: Money::dollars(10),
            reason: NotPlacedReason::ServiceUnavailable,
        },
    });
    out.push(Notice {
        to: UserId::new("u1"),
        order_id: None,
        withdrawal_id: Some(WithdrawalId::new("wd_1")),
        service_title: None,
        kind: NoticeKind::WithdrawalFailed {
            amount: Money::dollars(50),
            reason: "PayPal reported the payout RETURNED".into(),
        },
    });
    out.push(order_notice(
        "شعار",
        NoticeKind::ServiceApproved { revision: false },
    ));
    out.push(order_notice(
        "شعار",
        NoticeKind::ServiceRejected {
            revision: true,
            reason: Some("Add real samples".into()),
        },
    ));
    out.push(Notice {
        to: UserId::new("u1"),
        order_id: None,
        withdrawal_id: None,
        service_title: None,
        kind: NoticeKind::NewOffer {
            request_id: khamsa_domain::ids::RequestId::new("req_1"),
            request_title: "أحتاج شعارًا".into(),
            text: "I can do it in two days".into(),
        },
    });
    out.push(order_notice(
        "logo",
        NoticeKind::EarningsCleared {
            amount: Money::dollars(12),
        },
    ));
    out.push(Notice {
        to: UserId::new("u1"),
        order_id: None,
        withdrawal_id: Some(WithdrawalId::new("wd_2")),
        service_title: None,
        kind: NoticeKind::WithdrawalRejected {
            amount: Money::dollars(30),
            reason: Some("Address does not match".into()),
        },
    });
    out.push(order_notice("logo", NoticeKind::NewMessage));
    // Moderation notices name the service, not an order.
    for n in out.iter_mut().rev().take(6) {
        if matches!(
            n.kind,
            NoticeKind::ServiceApproved { .. } | NoticeKind::ServiceRejected { .. }
        ) {
            n.order_id = None;
        }
    }
    // Disputes (issue 12), after the samples other tests index.
    out.extend(
        [
            NoticeKind::DisputeOpened {
                by: Actor::Buyer,
                reason: "Not what we agreed".into(),
            },
            NoticeKind::DisputeResolved {
                outcome: khamsa_domain::dispute::DisputeOutcome::Complete,
                reason: "The delivery matches the brief".into(),
            },
        ]
        .map(|k| order_notice("Logo design", k)),
    );
    out
}

#[test]
fn every_variant_renders_in_both_languages() {
    let mut seen = [false; 20];
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
            NoticeKind::PaidOrderNotPlaced { .. } => 10,
            NoticeKind::WithdrawalFailed { .. } => 11,
            NoticeKind::ServiceApproved { .. } => 12,
            NoticeKind::ServiceRejected { .. } => 13,
            NoticeKind::NewOffer { .. } => 14,
            NoticeKind::EarningsCleared { .. } => 15,
            NoticeKind::WithdrawalRejected { .. } => 16,
            NoticeKind::NewMessage => 17,
            NoticeKind::DisputeOpened { .. } => 18,
            NoticeKind::DisputeResolved { .. } => 19,
        };
        seen[i] = true;
        let link = match i {
            9 | 11 | 16 => format!("{BASE}/me/withdrawals"),
            12 | 13 => format!("{BASE}/me/services"),
            14 => format!("{BASE}/requests/req_1"),
            10 => format!("{BASE}/"),
            _ => format!("{BASE}/orders/ord_1"),
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
    // Arabic isolates the amount left to right (issue 12).
    assert!(text(6, Lang::Ar).contains("أُعيد مبلغ \u{2066}$20.00\u{2069}"));
    assert!(text(7, Lang::Ar).contains("2023-11-14 22:13 UTC"));
    assert!(text(8, Lang::En).contains("★★★★☆ (4/5)") && text(8, Lang::En).contains("Great work"));
    assert!(text(9, Lang::En).contains("$50.00") && text(9, Lang::En).contains("sara@paypal.test"));
    assert_eq!(ok(&s[9], Lang::Ar).subject, "تم تحويل أرباحك");
    // The seller's copy of a cancellation has no refund line.
    let seller = order_notice(
        "x",
        NoticeKind::OrderCancelled {
            by: Actor::Buyer,
            refunded: None,
            to_earnings: Money::ZERO,
            reason: None,
        },
    );
    assert!(!ok(&seller, Lang::En).text.contains("returned"));
}

#[test]
fn user_text_is_escaped_in_html_and_raw_in_text() {
    let evil = "<script>alert(1)</script>";
    // askama writes every escape as a numeric reference.
    let escaped = "&#60;script&#62;alert(1)&#60;/script&#62;";
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
            to_earnings: Money::ZERO,
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
        unsubscribe: None,
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
                    .contains("&#60;b&#62;&#34;Sam&#34; &#38; &#39;co&#39;&#60;/b&#62;")
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
            unsubscribe: None,
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
fn the_html_part_escapes_all_five_characters_and_keeps_arabic() {
    let raw = "a&b<c>d\"e'f نص عربي";
    let escaped = "a&#38;b&#60;c&#62;d&#34;e&#39;f نص عربي";
    let n = order_notice(raw, NoticeKind::InstructionsReceived { text: raw.into() });
    for lang in [Lang::Ar, Lang::En] {
        let r = ok(&n, lang);
        // The title (subject, <title>, first paragraph) and the quote.
        assert_eq!(r.html.matches(escaped).count(), 3, "{}", r.html);
        assert!(!r.html.contains(raw));
        assert_eq!(r.text.matches(raw).count(), 2, "{}", r.text);
    }
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
        // Past the calendar's range: its last or first minute.
        (i64::MAX, "9999-12-31 23:59 UTC"),
        (i64::MIN, "-9999-01-01 00:00 UTC"),
    ];
    for (ms, want) in cases {
        assert_eq!(format_utc(Timestamp(ms)), want, "{ms}");
    }
}

#[test]
fn arabic_amounts_are_isolated_left_to_right_and_english_ones_are_not() {
    let n = order_notice(
        "شعار",
        NoticeKind::OrderCompleted {
            amount: Money::from_cents(1050),
            by: Actor::Buyer,
        },
    );
    let ar = ok(&n, Lang::Ar);
    assert!(
        ar.html.contains("<bdi dir=\"ltr\">$10.50</bdi>"),
        "{}",
        ar.html
    );
    assert!(ar.text.contains("\u{2066}$10.50\u{2069}"));
    let en = ok(&n, Lang::En);
    assert!(en.text.contains("Amount: $10.50") && !en.html.contains("<bdi"));
    assert!(!en.text.contains('\u{2066}'));
}

#[test]
fn a_cancellation_says_where_each_part_of_the_refund_went() {
    let n = order_notice(
        "logo",
        NoticeKind::OrderCancelled {
            by: Actor::Seller,
            refunded: Some(Money::dollars(15)),
            to_earnings: Money::dollars(4),
            reason: None,
        },
    );
    for lang in [Lang::Ar, Lang::En] {
        let t = ok(&n, lang).text;
        assert!(t.contains("$11.00") && t.contains("$4.00"), "{t}");
        assert!(!t.contains("$15.00"), "{t}");
    }
    assert!(
        ok(&n, Lang::En)
            .text
            .contains("$4.00 has been returned to your available earnings")
    );
    // All from the balance: one line, as before.
    let all = order_notice(
        "logo",
        NoticeKind::OrderCancelled {
            by: Actor::Seller,
            refunded: Some(Money::dollars(15)),
            to_earnings: Money::ZERO,
            reason: None,
        },
    );
    let t = ok(&all, Lang::En).text;
    assert!(
        t.contains("$15.00 has been returned to your Khamsa balance") && !t.contains("earnings")
    );
}

#[test]
fn an_optional_email_shows_its_way_out_in_the_footer_in_both_parts() {
    let n = samples().remove(0);
    let url = "https://api.khamsa.test/unsubscribe?token=a.b&c";
    for (lang, label) in [
        (Lang::Ar, "إيقاف رسائل هذا النوع"),
        (Lang::En, "Stop emails like this one"),
    ] {
        let to = Recipient {
            unsubscribe: Some(url),
            ..who(lang)
        };
        let r = render(&n, &to, BASE).unwrap();
        assert!(r.text.contains(&format!("{label}: {url}\n")), "{}", r.text);
        assert!(
            r.html
                .contains("href=\"https://api.khamsa.test/unsubscribe?token=a.b&#38;c\""),
            "{}",
            r.html
        );
        assert!(r.html.contains(label));
        // A transactional email has none.
        let plain = render(&n, &who(lang), BASE).unwrap();
        assert!(!plain.text.contains("unsubscribe") && !plain.html.contains(label));
    }
}
