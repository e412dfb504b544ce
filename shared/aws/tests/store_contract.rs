//! The `Store` contract, written once and run against both stores: the
//! in-memory reference (always) and `DynamoStore` on DynamoDB Local (when
//! `AWS_ENDPOINT_URL_DYNAMODB` is set; each test on its own table).

use khamsa_app::ports::*;
use khamsa_domain::ids::*;
use khamsa_domain::ledger::{Account, Posting, PostingKind, PostingRef, Transfer, UserAccount};
use khamsa_domain::money::Money;
use khamsa_domain::notice::{Notice, NoticeKind};
use khamsa_domain::order::{Funds, Order, OrderRequest, OrderStatus, Timer, TimerKind};
use khamsa_domain::request::{Offer, Request, RequestStatus};
use khamsa_domain::review::{Rating, Reply, Review};
use khamsa_domain::service::{Service, ServiceDraft, ServiceStats, ServiceStatus};
use khamsa_domain::text::EmailAddress;
use khamsa_domain::withdrawal::{Topup, TopupMethod, TopupStatus, Withdrawal, WithdrawalStatus};
use khamsa_domain::{Config, Timestamp};
use khamsa_testkit::aws::TestTable;
use rust_decimal::Decimal;
use std::fmt::Debug;

/// Runs each contract test on both stores.
macro_rules! contract {
    ($($name:ident),* $(,)?) => {
        mod memory {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name(&khamsa_app::memory::MemoryStore::new()).await;
                }
            )*
        }
        mod dynamo {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(t) = super::TestTable::create(stringify!($name)).await else {
                        return;
                    };
                    super::$name(&t.store).await;
                    t.drop_table().await;
                }
            )*
        }
    };
}

contract!(
    profiles_round_trip_and_refuse_stale_versions,
    services_round_trip_with_counters_and_every_list,
    orders_list_newest_first_by_buyer_and_seller_and_status,
    messages_read_newest_first_across_pages,
    an_inbox_lists_unread_orders_newest_activity_first,
    a_file_is_read_back_and_attached_once,
    an_orders_files_are_listed_together_and_marked_expired,
    reviews_round_trip_and_list_newest_first,
    requests_and_offers,
    withdrawals_by_user_and_by_status,
    topups_are_insert_only,
    topups_versioned_and_every_list,
    outbox_unsent_and_mark_sent,
    idempotency_records_guard_and_expire,
    timers_set_replace_clear_and_come_due_in_order,
    ledger_lines_balances_and_all_balances,
    a_stale_version_leaves_nothing_behind,
    an_overdraft_leaves_nothing_behind,
    a_duplicate_offer_leaves_nothing_behind,
    a_duplicate_posting_leaves_nothing_behind,
    a_duplicate_idempotency_key_wins_over_an_overdraft,
    a_payment_hold_refuses_the_commit,
    tampered_cursors_are_bad_cursors,
    empty_and_zero_limits,
    outbox_rows_are_queued_once_and_failed_rows_never,
    a_send_is_claimed_once_and_released_by_its_outcome,
    timers_are_queued_once_per_marker_and_parked_after_max_attempts,
);

// ---------------------------------------------------------------- fixtures

const T0: Timestamp = Timestamp(1_800_000_000_000);

fn at(ms: i64) -> Timestamp {
    T0.plus_ms(ms)
}

fn uid(s: &str) -> UserId {
    UserId::new(s)
}

fn email(s: &str) -> EmailAddress {
    EmailAddress::parse("email", s).expect("valid email")
}

fn profile(id: &str) -> Profile {
    Profile {
        id: uid(id),
        email: email(&format!("{id}@example.com")),
        display_name: format!("User {id} خمسة"),
        locale: Locale::Ar,
        paypal_email: None,
        created_at: T0,
        payment_hold: false,
        email_prefs: Default::default(),
        version: 0,
    }
}

fn draft(category: &str) -> ServiceDraft {
    ServiceDraft {
        title: "Logo design".into(),
        description: "A logo, two revisions".into(),
        category: category.into(),
        price: Money::from_cents(1050),
        delivery_days: 3,
        instructions: None,
        upgrades: vec![khamsa_domain::service::Upgrade {
            title: "Fast".into(),
            price: Money::dollars(5),
            extra_days: 0,
        }],
    }
}

fn service(id: &str, seller: &str, category: &str, status: ServiceStatus, ms: i64) -> Service {
    Service {
        id: ServiceId::new(id),
        seller_id: uid(seller),
        draft: draft(category),
        status,
        pending_revision: None,
        rejection_reason: None,
        created_at: at(ms),
        updated_at: at(ms),
        version: 0,
    }
}

/// An order placed through the domain, so every field is realistic.
fn order(id: &str, svc: &Service, buyer: &str, ms: i64) -> Order {
    let mut active = svc.clone();
    active.status = ServiceStatus::Active;
    Order::place(
        OrderId::new(id),
        &active,
        &uid(buyer),
        OrderRequest::parse(&[0], 1, &Config::default()).unwrap(),
        Funds {
            balance: Money::dollars(1000),
            earnings_available: Money::ZERO,
        },
        at(ms),
        &Config::default(),
    )
    .expect("order places")
    .order
}

fn posting(id: &str, kind: PostingKind, ms: i64, moves: &[(Account, Account, Money)]) -> Posting {
    Posting::new(
        PostingId::new(id),
        kind,
        at(ms),
        PostingRef::default(),
        moves.iter().map(|(debit, credit, amount)| Transfer {
            debit: debit.clone(),
            credit: credit.clone(),
            amount: *amount,
        }),
    )
}

fn bal(u: &str) -> Account {
    Account::user(&uid(u), UserAccount::Balance)
}

fn escrow(o: &str) -> Account {
    Account::Escrow {
        order: OrderId::new(o),
    }
}

fn topup_posting(id: &str, user: &str, dollars: u64, ms: i64) -> Posting {
    posting(
        id,
        PostingKind::Topup,
        ms,
        &[(Account::External, bal(user), Money::dollars(dollars))],
    )
}

fn outbox_row(id: &str, ms: i64) -> OutboxRow {
    OutboxRow {
        id: OutboxId::new(id),
        notice: Notice {
            to: uid("buyer"),
            order_id: Some(OrderId::new("o1")),
            withdrawal_id: None,
            service_title: Some("Logo".into()),
            kind: NoticeKind::OrderDelivered {
                text: Some("here it is".into()),
                auto_complete_at: at(ms + 3 * 86_400_000),
            },
        },
        created_at: at(ms),
        sent_at: None,
    }
}

fn idem(scope: &str, ms: i64, ttl_ms: i64) -> IdempotencyRecord {
    IdempotencyRecord {
        scope: scope.into(),
        request_hash: "h1".into(),
        status: 201,
        body: r#"{"id":"o1","total":"10.50"}"#.into(),
        created_at: at(ms),
        expires_at: at(ms + ttl_ms),
    }
}

fn writes(ws: Vec<Write>) -> UnitOfWork {
    UnitOfWork {
        writes: ws,
        ..Default::default()
    }
}

fn with_postings(ps: Vec<Posting>) -> UnitOfWork {
    UnitOfWork {
        postings: ps,
        ..Default::default()
    }
}

async fn ok(store: &dyn Store, uow: UnitOfWork) {
    store.commit(uow).await.expect("commit");
}

/// Follows cursors to the end; checks that the last page, and only it,
/// has no cursor.
async fn pages<T: Clone + Debug>(
    limit: usize,
    mut f: impl AsyncFnMut(PageReq) -> StoreResult<Page<T>>,
) -> Vec<Vec<T>> {
    let mut out = Vec::new();
    let mut req = PageReq::first(limit);
    for _ in 0..100 {
        let p = f(req.clone()).await.expect("page");
        assert!(
            p.items.len() <= limit,
            "page over the limit: {}",
            p.items.len()
        );
        out.push(p.items);
        match p.next_cursor {
            Some(c) => {
                req = PageReq {
                    limit,
                    cursor: Some(c),
                }
            }
            None => return out,
        }
    }
    panic!("more than 100 pages");
}

fn sizes<T>(pages: &[Vec<T>]) -> Vec<usize> {
    pages.iter().map(Vec::len).collect()
}

fn flat<T: Clone, K>(pages: &[Vec<T>], key: impl Fn(&T) -> K) -> Vec<K> {
    pages.iter().flatten().map(key).collect()
}

fn ids(xs: &[&str]) -> Vec<String> {
    xs.iter().map(|s| s.to_string()).collect()
}

// ------------------------------------------------------------ the contract

async fn profiles_round_trip_and_refuse_stale_versions(store: &dyn Store) {
    assert_eq!(store.profile(&uid("u1")).await.unwrap(), None);
    let p = profile("u1");
    ok(store, writes(vec![Write::Profile(p.clone())])).await;
    let got = store.profile(&uid("u1")).await.unwrap().expect("stored");
    assert_eq!(
        got,
        Profile {
            version: 1,
            ..p.clone()
        }
    );

    // A second create of the same id is a conflict.
    let again = store.commit(writes(vec![Write::Profile(p.clone())])).await;
    assert_eq!(again, Err(CommitError::Conflict("profile".into())));

    let mut edited = got.clone();
    edited.display_name = "Renamed".into();
    edited.paypal_email = Some(email("pay@example.com"));
    edited.locale = Locale::En;
    ok(store, writes(vec![Write::Profile(edited.clone())])).await;
    let v2 = store.profile(&uid("u1")).await.unwrap().unwrap();
    assert_eq!(
        v2,
        Profile {
            version: 2,
            ..edited.clone()
        }
    );

    // Written at version 1 again: stale, refused, nothing changes.
    let mut stale = edited.clone();
    stale.display_name = "Lost update".into();
    let r = store.commit(writes(vec![Write::Profile(stale)])).await;
    assert_eq!(r, Err(CommitError::Conflict("profile".into())));
    // A version from the future is refused too.
    let r = store
        .commit(writes(vec![Write::Profile(Profile {
            version: 9,
            ..edited
        })]))
        .await;
    assert_eq!(r, Err(CommitError::Conflict("profile".into())));
    assert_eq!(store.profile(&uid("u1")).await.unwrap(), Some(v2));
}

async fn services_round_trip_with_counters_and_every_list(store: &dyn Store) {
    use ServiceStatus::*;
    // Counters may arrive before the service exists; they are kept.
    let early = ServiceStats {
        rating_count: 1,
        rating_sum: 4,
        orders_completed: 0,
    };
    ok(
        store,
        UnitOfWork {
            service_stats: vec![(ServiceId::new("s9"), early)],
            ..Default::default()
        },
    )
    .await;
    assert_eq!(store.service(&ServiceId::new("s9")).await.unwrap(), None);

    let mut s3 = service("s3", "B", "design", Active, 3);
    s3.pending_revision = Some(draft("writing"));
    let all = [
        service("s1", "A", "design", Active, 1),
        service("s2", "A", "writing", PendingReview, 2),
        s3,
        service("s4", "A", "design", Paused, 4),
        service("s5", "B", "writing", Active, 5),
        service("s6", "B", "design", Active, 6),
        service("s7", "B", "design", Active, 7),
        service("s9", "C", "design", Rejected, 9),
    ];
    ok(
        store,
        writes(all.iter().cloned().map(Write::Service).collect()),
    )
    .await;
    let (s9, st9) = store.service(&ServiceId::new("s9")).await.unwrap().unwrap();
    assert_eq!((s9.version, st9), (1, early));
    let (s3, st3) = store.service(&ServiceId::new("s3")).await.unwrap().unwrap();
    assert_eq!(
        s3,
        Service {
            version: 1,
            ..all[2].clone()
        }
    );
    assert_eq!(st3, ServiceStats::default());

    let list = |q: ServiceQuery, limit| async move {
        let p = pages(limit, async |r| store.services(&q, &r).await).await;
        (sizes(&p), flat(&p, |(s, _)| s.id.to_string()))
    };
    assert_eq!(
        list(ServiceQuery::Active { category: None }, 2).await,
        (vec![2, 2, 1], ids(&["s7", "s6", "s5", "s3", "s1"]))
    );
    assert_eq!(
        list(
            ServiceQuery::Active {
                category: Some("design".into())
            },
            3
        )
        .await,
        (vec![3, 1], ids(&["s7", "s6", "s3", "s1"]))
    );
    assert_eq!(
        list(
            ServiceQuery::BySeller {
                seller: uid("A"),
                only_active: false
            },
            10
        )
        .await
        .1,
        ids(&["s4", "s2", "s1"])
    );
    assert_eq!(
        list(
            ServiceQuery::BySeller {
                seller: uid("A"),
                only_active: true
            },
            10
        )
        .await
        .1,
        ids(&["s1"])
    );
    assert_eq!(
        list(
            ServiceQuery::BySeller {
                seller: uid("B"),
                only_active: true
            },
            2
        )
        .await,
        (vec![2, 2], ids(&["s7", "s6", "s5", "s3"]))
    );
    // Both public filters: full pages, the other category skipped.
    let seller_in = |category: &str| ServiceQuery::SellerInCategory {
        seller: uid("B"),
        category: category.into(),
    };
    assert_eq!(
        list(seller_in("design"), 2).await,
        (vec![2, 1], ids(&["s7", "s6", "s3"]))
    );
    assert_eq!(list(seller_in("writing"), 1).await, (vec![1], ids(&["s5"])));
    assert_eq!(
        list(ServiceQuery::ByStatus(PendingReview), 5).await.1,
        ids(&["s2"])
    );
    assert_eq!(
        list(ServiceQuery::ByStatus(Rejected), 5).await.1,
        ids(&["s9"])
    );
    assert_eq!(list(ServiceQuery::PendingRevision, 5).await.1, ids(&["s3"]));

    // Counters: added without a version check, alone or beside an edit of
    // the same service, and summed within one unit of work.
    let bump = ServiceStats {
        rating_count: 1,
        rating_sum: 5,
        orders_completed: 1,
    };
    ok(
        store,
        UnitOfWork {
            service_stats: vec![(ServiceId::new("s1"), bump), (ServiceId::new("s1"), bump)],
            ..Default::default()
        },
    )
    .await;
    let (s1, _) = store.service(&ServiceId::new("s1")).await.unwrap().unwrap();
    let mut paused = s1.clone();
    paused.status = Paused;
    paused.updated_at = at(100);
    ok(
        store,
        UnitOfWork {
            writes: vec![Write::Service(paused.clone())],
            service_stats: vec![(ServiceId::new("s1"), bump)],
            ..Default::default()
        },
    )
    .await;
    let (s1, st1) = store.service(&ServiceId::new("s1")).await.unwrap().unwrap();
    assert_eq!(
        s1,
        Service {
            version: 2,
            ..paused
        }
    );
    assert_eq!(
        st1,
        ServiceStats {
            rating_count: 3,
            rating_sum: 15,
            orders_completed: 3
        }
    );
    // The lists follow the new status, and carry the counters.
    assert_eq!(
        list(ServiceQuery::Active { category: None }, 10).await.1,
        ids(&["s7", "s6", "s5", "s3"])
    );
    assert_eq!(
        list(ServiceQuery::ByStatus(Paused), 10).await.1,
        ids(&["s4", "s1"])
    );
    let p = store
        .services(&ServiceQuery::ByStatus(Paused), &PageReq::first(10))
        .await
        .unwrap();
    assert_eq!(p.items[1].1, st1);

    // The revision approved: out of the pending list, still active.
    let mut s3b = s3.clone();
    s3b.draft = s3.pending_revision.clone().unwrap();
    s3b.pending_revision = None;
    ok(store, writes(vec![Write::Service(s3b)])).await;
    assert_eq!(
        list(ServiceQuery::PendingRevision, 5).await.1,
        Vec::<String>::new()
    );
    assert_eq!(
        list(
            ServiceQuery::Active {
                category: Some("writing".into())
            },
            5
        )
        .await
        .1,
        ids(&["s5", "s3"])
    );

    // A stale edit is refused and changes nothing, counters included.
    let r = store
        .commit(UnitOfWork {
            writes: vec![Write::Service(s3.clone())],
            service_stats: vec![(ServiceId::new("s3"), bump)],
            ..Default::default()
        })
        .await;
    assert_eq!(r, Err(CommitError::Conflict("service".into())));
    let (s3c, st3c) = store.service(&ServiceId::new("s3")).await.unwrap().unwrap();
    assert_eq!((s3c.version, st3c), (2, ServiceStats::default()));
}

async fn orders_list_newest_first_by_buyer_and_seller_and_status(store: &dyn Store) {
    let svc = service("svc", "seller", "design", ServiceStatus::Active, 0);
    let mut all = Vec::new();
    for i in 1..=7 {
        all.push(order(&format!("o{i}"), &svc, "b1", i * 10));
    }
    all.push(order("o8", &svc, "b2", 15));
    all.push(order("o9", &svc, "b2", 75));
    // Two orders in the same millisecond sort by id.
    all.push(order("o3a", &svc, "b1", 30));
    // Insert out of order: the store sorts.
    all.reverse();
    ok(
        store,
        writes(all.iter().cloned().map(Write::Order).collect()),
    )
    .await;

    let got = store.order(&OrderId::new("o2")).await.unwrap().unwrap();
    let want = all.iter().find(|o| o.id.as_str() == "o2").unwrap();
    assert_eq!(
        got,
        Order {
            version: 1,
            ..want.clone()
        }
    );
    assert_eq!(store.order(&OrderId::new("nope")).await.unwrap(), None);

    // Cancel two of b1's.
    for id in ["o2", "o5"] {
        let mut o = store.order(&OrderId::new(id)).await.unwrap().unwrap();
        o.status = OrderStatus::Cancelled;
        o.cancelled_at = Some(at(500));
        ok(store, writes(vec![Write::Order(o)])).await;
    }
    let placed = want.status;

    let list = |q: OrderQuery, limit| async move {
        let p = pages(limit, async |r| store.orders(&q, &r).await).await;
        (sizes(&p), flat(&p, |o| o.id.to_string()))
    };
    assert_eq!(
        list(OrderQuery::Purchases(uid("b1"), None), 3).await,
        (
            vec![3, 3, 2],
            ids(&["o7", "o6", "o5", "o4", "o3a", "o3", "o2", "o1"])
        )
    );
    assert_eq!(
        list(
            OrderQuery::Purchases(uid("b1"), Some(OrderStatus::Cancelled)),
            1
        )
        .await,
        (vec![1, 1], ids(&["o5", "o2"]))
    );
    assert_eq!(
        list(OrderQuery::Purchases(uid("b1"), Some(placed)), 4).await,
        (vec![4, 2], ids(&["o7", "o6", "o4", "o3a", "o3", "o1"]))
    );
    assert_eq!(
        list(OrderQuery::Purchases(uid("b2"), None), 3).await,
        (vec![2], ids(&["o9", "o8"]))
    );
    assert_eq!(
        list(OrderQuery::Sales(uid("seller"), None), 3).await,
        (
            vec![3, 3, 3, 1],
            ids(&["o9", "o7", "o6", "o5", "o4", "o3a", "o3", "o2", "o8", "o1"])
        )
    );
    assert_eq!(
        list(
            OrderQuery::Sales(uid("seller"), Some(OrderStatus::Cancelled)),
            3
        )
        .await,
        (vec![2], ids(&["o5", "o2"]))
    );
    assert_eq!(
        list(
            OrderQuery::Sales(uid("seller"), Some(OrderStatus::Completed)),
            3
        )
        .await,
        (vec![0], vec![])
    );
    assert_eq!(
        list(OrderQuery::Sales(uid("b1"), None), 3).await,
        (vec![0], vec![])
    );
}

async fn a_file_is_read_back_and_attached_once(store: &dyn Store) {
    use khamsa_domain::file::{Attachment, FileRecord};
    let f = FileRecord {
        id: FileId::new("f1"),
        order_id: OrderId::new("o1"),
        owner_id: uid("seller"),
        name: "شعار.png".into(),
        content_type: "image/png".into(),
        size: 10,
        created_at: at(1),
        attached: None,
        expired_at: None,
        version: 0,
    };
    ok(store, writes(vec![Write::File(f.clone())])).await;
    let got = store.file(&f.order_id, &f.id).await.unwrap().unwrap();
    assert_eq!(
        got,
        FileRecord {
            version: 1,
            ..f.clone()
        }
    );
    assert_eq!(store.file(&OrderId::new("o2"), &f.id).await.unwrap(), None);
    // Attaching is a versioned write: the second of two racing attaches,
    // read at the same version, is a conflict.
    let attached = FileRecord {
        attached: Some(Attachment::Message(MessageId::new("m1"))),
        ..got.clone()
    };
    ok(store, writes(vec![Write::File(attached.clone())])).await;
    assert!(matches!(
        store.commit(writes(vec![Write::File(attached)])).await,
        Err(CommitError::Conflict(_))
    ));
    assert_eq!(
        store
            .file(&f.order_id, &f.id)
            .await
            .unwrap()
            .unwrap()
            .attached,
        Some(Attachment::Message(MessageId::new("m1")))
    );
}

async fn an_orders_files_are_listed_together_and_marked_expired(store: &dyn Store) {
    use khamsa_domain::file::{Attachment, FileRecord};
    let file = |order: &str, id: &str| FileRecord {
        id: FileId::new(id),
        order_id: OrderId::new(order),
        owner_id: uid("seller"),
        name: format!("{id}.png"),
        content_type: "image/png".into(),
        size: 3,
        created_at: at(1),
        attached: Some(Attachment::Delivery(at(2))),
        expired_at: None,
        version: 0,
    };
    let o1 = OrderId::new("o1");
    assert_eq!(store.files(&o1).await.unwrap(), vec![]);
    // Beside the order's other items (a message), and another order's file.
    ok(
        store,
        writes(vec![
            Write::File(file("o1", "f2")),
            Write::File(file("o1", "f1")),
            Write::File(file("o2", "f3")),
            Write::Message(Message {
                id: MessageId::new("m1"),
                order_id: o1.clone(),
                sender_id: uid("buyer"),
                text: "hello".into(),
                at: at(1),
                file_ids: vec![],
            }),
        ]),
    )
    .await;
    let got = store.files(&o1).await.unwrap();
    let names: Vec<&str> = got.iter().map(|f| f.id.as_str()).collect();
    assert_eq!(names, ["f1", "f2"]);
    assert!(got.iter().all(|f| f.version == 1 && f.expired_at.is_none()));
    // Marked expired together (versioned writes), read back so.
    let marks = got
        .into_iter()
        .map(|mut f| {
            f.expired_at = Some(at(9));
            Write::File(f)
        })
        .collect();
    ok(store, writes(marks)).await;
    let got = store.files(&o1).await.unwrap();
    assert!(
        got.iter()
            .all(|f| f.version == 2 && f.expired_at == Some(at(9))),
        "{got:?}"
    );
    let other = store.files(&OrderId::new("o2")).await.unwrap();
    assert_eq!(other.len(), 1);
    assert_eq!(other[0].expired_at, None);
}

async fn messages_read_newest_first_across_pages(store: &dyn Store) {
    let o = OrderId::new("o1");
    let msg = |i: i64, id: &str| Message {
        id: MessageId::new(id),
        order_id: o.clone(),
        sender_id: uid(if i % 2 == 0 { "buyer" } else { "seller" }),
        text: format!("message {i}: مرحبا"),
        at: at(i),
        file_ids: vec![],
    };
    let all = vec![
        msg(5, "m5"),
        msg(1, "m1"),
        msg(3, "m3b"),
        msg(3, "m3a"),
        msg(7, "m7"),
        msg(2, "m2"),
        msg(6, "m6"),
    ];
    for m in &all {
        ok(store, writes(vec![Write::Message(m.clone())])).await;
    }
    // Another order's conversation is not mixed in.
    let other = Message {
        order_id: OrderId::new("o2"),
        ..msg(4, "x4")
    };
    ok(store, writes(vec![Write::Message(other)])).await;

    let p = pages(3, async |r| store.messages(&o, &r).await).await;
    assert_eq!(sizes(&p), vec![3, 3, 1]);
    assert_eq!(
        flat(&p, |m| m.id.to_string()),
        ids(&["m7", "m6", "m5", "m3b", "m3a", "m2", "m1"])
    );
    assert_eq!(p[0][0], msg(7, "m7"));

    let dup = store
        .commit(writes(vec![Write::Message(msg(2, "m2"))]))
        .await;
    assert_eq!(dup, Err(CommitError::Conflict("message".into())));
    let again = pages(10, async |r| store.messages(&o, &r).await).await;
    assert_eq!(flat(&again, |m| m.id.to_string()).len(), 7);
}

async fn an_inbox_lists_unread_orders_newest_activity_first(store: &dyn Store) {
    let svc = service("svc", "seller", "design", ServiceStatus::Active, 0);
    let unread = |o: &Order, buyer: u32, seller: u32| Order {
        buyer_unread: buyer,
        seller_unread: seller,
        ..o.clone()
    };
    let entry = |u: &str, o: &str, ms: Option<i64>| InboxEntry {
        user: uid(u),
        order_id: OrderId::new(o),
        at: ms.map(at),
    };
    let (o1, o2, o3) = (
        order("o1", &svc, "b1", 10),
        order("o2", &svc, "b1", 20),
        order("o3", &svc, "b1", 30),
    );
    ok(
        store,
        UnitOfWork {
            writes: vec![
                Write::Order(unread(&o1, 0, 1)),
                Write::Order(unread(&o2, 0, 2)),
                Write::Order(unread(&o3, 1, 0)),
            ],
            inbox: vec![
                entry("seller", "o1", Some(100)),
                entry("seller", "o2", Some(200)),
                entry("b1", "o3", Some(150)),
            ],
            ..Default::default()
        },
    )
    .await;
    let inbox = async |u: &str| {
        let p = pages(1, async |r| store.inbox(&uid(u), &r).await).await;
        flat(&p, |o| (o.id.to_string(), o.unread_for(&uid(u))))
    };
    let s = |id: &str, n: u32| (id.to_owned(), n);
    assert_eq!(inbox("seller").await, vec![s("o2", 2), s("o1", 1)]);
    assert_eq!(inbox("b1").await, vec![s("o3", 1)]);
    assert_eq!(inbox("stranger").await, vec![]);

    // A new message moves an order to the top: the same entry, put again.
    let o1 = store.order(&OrderId::new("o1")).await.unwrap().unwrap();
    ok(
        store,
        UnitOfWork {
            writes: vec![Write::Order(unread(&o1, 0, 2))],
            inbox: vec![entry("seller", "o1", Some(300))],
            ..Default::default()
        },
    )
    .await;
    assert_eq!(inbox("seller").await, vec![s("o1", 2), s("o2", 2)]);

    // Read: out of the list, with its count, and no one else's changes.
    let o2 = store.order(&OrderId::new("o2")).await.unwrap().unwrap();
    ok(
        store,
        UnitOfWork {
            writes: vec![Write::Order(unread(&o2, 0, 0))],
            inbox: vec![entry("seller", "o2", None)],
            ..Default::default()
        },
    )
    .await;
    assert_eq!(inbox("seller").await, vec![s("o1", 2)]);
    assert_eq!(inbox("b1").await, vec![s("o3", 1)]);

    // A stale order write takes its inbox entry down with it.
    let stale = store.commit(UnitOfWork {
        writes: vec![Write::Order(unread(&o2, 0, 5))],
        inbox: vec![entry("seller", "o2", Some(400))],
        ..Default::default()
    });
    assert!(matches!(stale.await, Err(CommitError::Conflict(_))));
    assert_eq!(inbox("seller").await, vec![s("o1", 2)]);
}

async fn reviews_round_trip_and_list_newest_first(store: &dyn Store) {
    let review = |o: &str, svc: &str, ms: i64, stars: i64| Review {
        order_id: OrderId::new(o),
        service_id: ServiceId::new(svc),
        seller_id: uid("seller"),
        buyer_id: uid("buyer"),
        rating: Rating::parse(stars).unwrap(),
        text: "Great work".into(),
        created_at: at(ms),
        reply: None,
        version: 0,
    };
    let all = vec![
        review("o1", "s1", 10, 5),
        review("o2", "s1", 30, 4),
        review("o3", "s2", 20, 3),
        review("o4", "s1", 20, 1),
    ];
    for r in &all {
        ok(store, writes(vec![Write::Review(r.clone())])).await;
    }
    let got = store.review(&OrderId::new("o2")).await.unwrap().unwrap();
    assert_eq!(
        got,
        Review {
            version: 1,
            ..all[1].clone()
        }
    );
    assert_eq!(store.review(&OrderId::new("o9")).await.unwrap(), None);

    let mut replied = got.clone();
    replied.reply = Some(Reply {
        text: "Thank you".into(),
        at: at(40),
    });
    ok(store, writes(vec![Write::Review(replied.clone())])).await;
    let dup = store
        .commit(writes(vec![Write::Review(all[0].clone())]))
        .await;
    assert_eq!(dup, Err(CommitError::Conflict("review".into())));

    let p = pages(2, async |r| store.reviews(&ServiceId::new("s1"), &r).await).await;
    assert_eq!(sizes(&p), vec![2, 1]);
    assert_eq!(
        flat(&p, |r| r.order_id.to_string()),
        ids(&["o2", "o4", "o1"])
    );
    assert_eq!(
        p[0][0],
        Review {
            version: 2,
            ..replied
        }
    );
    let p = pages(2, async |r| store.reviews(&ServiceId::new("s2"), &r).await).await;
    assert_eq!(flat(&p, |r| r.order_id.to_string()), ids(&["o3"]));
}

async fn requests_and_offers(store: &dyn Store) {
    let req = |id: &str, ms: i64| Request {
        id: RequestId::new(id),
        author_id: uid("author"),
        title: format!("Need {id}"),
        description: "Details".into(),
        budget: Some(Money::from_cents(2500)),
        status: RequestStatus::Open,
        created_at: at(ms),
        version: 0,
    };
    let all: Vec<Request> = (1..=5).map(|i| req(&format!("r{i}"), i)).collect();
    ok(
        store,
        writes(all.iter().cloned().map(Write::Request).collect()),
    )
    .await;
    let r3 = store.request(&RequestId::new("r3")).await.unwrap().unwrap();
    assert_eq!(
        r3,
        Request {
            version: 1,
            ..all[2].clone()
        }
    );
    let mut closed = r3.clone();
    closed.status = RequestStatus::Closed;
    ok(store, writes(vec![Write::Request(closed)])).await;

    let p = pages(2, async |r| store.open_requests(&r).await).await;
    assert_eq!(sizes(&p), vec![2, 2]);
    assert_eq!(
        flat(&p, |r| r.id.to_string()),
        ids(&["r5", "r4", "r2", "r1"])
    );

    let offer = |id: &str, seller: &str, ms: i64| Offer {
        id: OfferId::new(id),
        request_id: RequestId::new("r1"),
        seller_id: uid(seller),
        text: "I can do it".into(),
        service_id: Some(ServiceId::new("svc")),
        at: at(ms),
    };
    for o in [
        offer("f3", "s3", 30),
        offer("f1", "s1", 10),
        offer("f2", "s2", 20),
    ] {
        ok(store, writes(vec![Write::Offer(o)])).await;
    }
    let got = store.offers(&RequestId::new("r1")).await.unwrap();
    assert_eq!(
        got,
        vec![
            offer("f1", "s1", 10),
            offer("f2", "s2", 20),
            offer("f3", "s3", 30)
        ]
    );
    assert_eq!(store.offers(&RequestId::new("r2")).await.unwrap(), vec![]);
}

async fn withdrawals_by_user_and_by_status(store: &dyn Store) {
    use WithdrawalStatus::*;
    let wd = |id: &str, user: &str, ms: i64, status| Withdrawal {
        id: WithdrawalId::new(id),
        user_id: uid(user),
        amount: Money::from_cents(1234),
        paypal_email: email("pay@example.com"),
        status,
        reason: None,
        created_at: at(ms),
        updated_at: at(ms),
        payout_batch_id: None,
        payout_item_id: None,
        version: 0,
    };
    let all = [
        wd("w1", "u1", 1, Requested),
        wd("w2", "u1", 2, Paid),
        wd("w3", "u2", 3, Requested),
        wd("w4", "u1", 4, Requested),
        wd("w5", "u2", 5, Rejected),
    ];
    ok(
        store,
        writes(all.iter().cloned().map(Write::Withdrawal).collect()),
    )
    .await;
    assert_eq!(
        store.withdrawal(&WithdrawalId::new("w4")).await.unwrap(),
        Some(Withdrawal {
            version: 1,
            ..all[3].clone()
        })
    );
    let list = |q: WithdrawalQuery, limit| async move {
        let p = pages(limit, async |r| store.withdrawals(&q, &r).await).await;
        (sizes(&p), flat(&p, |w| w.id.to_string()))
    };
    assert_eq!(
        list(WithdrawalQuery::ByUser(uid("u1")), 2).await,
        (vec![2, 1], ids(&["w4", "w2", "w1"]))
    );
    assert_eq!(
        list(WithdrawalQuery::ByStatus(Requested), 2).await,
        (vec![2, 1], ids(&["w4", "w3", "w1"]))
    );
    // Paying one moves it between the status lists.
    let mut w1 = store
        .withdrawal(&WithdrawalId::new("w1"))
        .await
        .unwrap()
        .unwrap();
    w1.status = Paid;
    w1.updated_at = at(9);
    ok(store, writes(vec![Write::Withdrawal(w1)])).await;
    assert_eq!(
        list(WithdrawalQuery::ByStatus(Requested), 5).await.1,
        ids(&["w4", "w3"])
    );
    assert_eq!(
        list(WithdrawalQuery::ByStatus(Paid), 5).await.1,
        ids(&["w2", "w1"])
    );
    assert_eq!(
        list(WithdrawalQuery::ByStatus(Failed), 5).await.1,
        Vec::<String>::new()
    );
}

async fn topups_are_insert_only(store: &dyn Store) {
    let t = Topup {
        id: TopupId::new("t1"),
        user_id: uid("u1"),
        amount: Money::dollars(20),
        method: TopupMethod::Sandbox,
        status: TopupStatus::Settled,
        created_at: T0,
        expires_at: None,
        checkout: None,
        capture_id: None,
        fee: None,
        pay_for: None,
        updated_at: None,
        version: 0,
    };
    ok(
        store,
        UnitOfWork {
            writes: vec![Write::Topup(t.clone())],
            postings: vec![topup_posting("t1/topup", "u1", 20, 0)],
            ..Default::default()
        },
    )
    .await;
    assert_eq!(
        store.balances(&uid("u1")).await.unwrap().balance,
        Money::dollars(20)
    );
    // The same top-up again (another posting id): refused, no money moves.
    let r = store
        .commit(UnitOfWork {
            writes: vec![Write::Topup(t)],
            postings: vec![topup_posting("t1/again", "u1", 20, 1)],
            ..Default::default()
        })
        .await;
    assert_eq!(r, Err(CommitError::Conflict("topup".into())));
    assert_eq!(
        store.balances(&uid("u1")).await.unwrap().balance,
        Money::dollars(20)
    );
}

/// Issue 8: a provider top-up moves (versioned), and each list finds it
/// while it belongs there: by user (newest first), pending by user,
/// expiring by time, by provider order and by capture.
async fn topups_versioned_and_every_list(store: &dyn Store) {
    let cfg = Config::default();
    let mk = |id: &str, user: &str, ms: i64| {
        let (mut t, _) = Topup::create(
            TopupId::new(id),
            &uid(user),
            Money::dollars(10),
            TopupMethod::Paypal,
            at(ms),
            &cfg,
        )
        .unwrap();
        t.checkout = Some(khamsa_domain::topup::TopupCheckout {
            order_id: format!("PP-{id}"),
            approve_url: format!("https://paypal.test/checkoutnow?token=PP-{id}"),
        });
        t
    };
    let (a, b, c) = (mk("ta", "u1", 1), mk("tb", "u1", 2), mk("tc", "u2", 3));
    ok(
        store,
        writes(vec![
            Write::Topup(a.clone()),
            Write::Topup(b.clone()),
            Write::Topup(c.clone()),
        ]),
    )
    .await;
    let list = |q: TopupQuery| async move {
        store
            .topups(&q, &PageReq::first(10))
            .await
            .unwrap()
            .items
            .into_iter()
            .map(|t| t.id.to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        list(TopupQuery::ByUser(uid("u1"))).await,
        ids(&["tb", "ta"])
    );
    assert_eq!(list(TopupQuery::PendingOf(uid("u1"))).await.len(), 2);
    assert_eq!(
        list(TopupQuery::ProviderOrder("PP-tc".into())).await,
        ids(&["tc"])
    );
    let due = a.expires_at.unwrap();
    assert_eq!(list(TopupQuery::ExpiringBy(due)).await, ids(&["ta"]));
    assert_eq!(list(TopupQuery::ExpiringBy(at(0))).await.len(), 0);

    // `a` gets a pending capture: no longer expiring, found by capture.
    let stored = store.topup(&TopupId::new("ta")).await.unwrap().unwrap();
    assert_eq!(stored.version, 1);
    let held = stored.capture_pending("CAP-1", at(5)).unwrap();
    ok(store, writes(vec![Write::Topup(held.clone())])).await;
    assert_eq!(
        list(TopupQuery::Capture("CAP-1".into())).await,
        ids(&["ta"])
    );
    assert!(
        !list(TopupQuery::ExpiringBy(due))
            .await
            .contains(&"ta".to_owned())
    );
    // Written again at the old version: refused.
    let r = store.commit(writes(vec![Write::Topup(held)])).await;
    assert_eq!(r, Err(CommitError::Conflict("topup".into())));

    // `b` settles: no longer pending.
    let stored = store.topup(&TopupId::new("tb")).await.unwrap().unwrap();
    let (settled, postings) = stored.settle("CAP-2", Money::ZERO, at(6)).unwrap();
    ok(
        store,
        UnitOfWork {
            writes: vec![Write::Topup(settled)],
            postings,
            ..Default::default()
        },
    )
    .await;
    assert_eq!(list(TopupQuery::PendingOf(uid("u1"))).await, ids(&["ta"]));
    assert_eq!(
        store.balances(&uid("u1")).await.unwrap().balance,
        Money::dollars(10)
    );
}

async fn outbox_unsent_and_mark_sent(store: &dyn Store) {
    let rows = vec![
        outbox_row("mail_3", 3),
        outbox_row("mail_1", 1),
        outbox_row("mail_2", 2),
    ];
    ok(
        store,
        UnitOfWork {
            outbox: rows.clone(),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(
        store.outbox_row(&OutboxId::new("mail_2")).await.unwrap(),
        Some(rows[2].clone())
    );
    assert_eq!(
        store.outbox_row(&OutboxId::new("nope")).await.unwrap(),
        None
    );
    let unsent = |limit| async move {
        store
            .unsent_outbox(limit)
            .await
            .unwrap()
            .into_iter()
            .map(|r| r.id.to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(unsent(10).await, ids(&["mail_1", "mail_2", "mail_3"]));
    assert_eq!(unsent(2).await, ids(&["mail_1", "mail_2"]));

    store
        .mark_sent(&OutboxId::new("mail_2"), at(50))
        .await
        .unwrap();
    // A second mark is harmless and keeps the first time.
    store
        .mark_sent(&OutboxId::new("mail_2"), at(60))
        .await
        .unwrap();
    store
        .mark_sent(&OutboxId::new("missing"), at(60))
        .await
        .unwrap();
    let sent = store
        .outbox_row(&OutboxId::new("mail_2"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(sent.sent_at, Some(at(50)));
    assert_eq!(sent.notice, rows[2].notice);
    assert_eq!(
        store.outbox_row(&OutboxId::new("missing")).await.unwrap(),
        None
    );
    assert_eq!(unsent(10).await, ids(&["mail_1", "mail_3"]));
}

async fn a_send_is_claimed_once_and_released_by_its_outcome(store: &dyn Store) {
    ok(
        store,
        UnitOfWork {
            outbox: vec![
                outbox_row("mail_a", 1),
                outbox_row("mail_b", 2),
                outbox_row("mail_c", 3),
            ],
            ..Default::default()
        },
    )
    .await;
    let (a, b, c) = (
        OutboxId::new("mail_a"),
        OutboxId::new("mail_b"),
        OutboxId::new("mail_c"),
    );
    let delivery =
        |id: OutboxId| async move { store.outbox_entry(&id).await.unwrap().unwrap().delivery };
    // One claim wins; another token loses; the winner's retried write
    // (its first answer lost) still holds it.
    assert!(store.claim_send(&a, "t1", at(10)).await.unwrap());
    assert!(!store.claim_send(&a, "t2", at(11)).await.unwrap());
    assert!(store.claim_send(&a, "t1", at(10)).await.unwrap());
    let d = delivery(a.clone()).await;
    assert_eq!(
        (d.sending_at, d.sending_by.as_deref()),
        (Some(at(10)), Some("t1"))
    );
    // A transient outcome releases it for the next attempt.
    store.outbox_attempt(&a, 1, None).await.unwrap();
    let d = delivery(a.clone()).await;
    assert_eq!((d.attempts, d.sending_at, d.sending_by), (1, None, None));
    assert!(store.claim_send(&a, "t2", at(20)).await.unwrap());
    // Sent: released, and never claimed again.
    store.mark_sent(&a, at(21)).await.unwrap();
    let d = delivery(a.clone()).await;
    assert_eq!((d.sending_at, d.sending_by), (None, None));
    assert!(!store.claim_send(&a, "t3", at(30)).await.unwrap());
    // Failed (an unknown outcome): released, never claimed again, out of
    // the lists.
    assert!(store.claim_send(&b, "t1", at(10)).await.unwrap());
    store
        .outbox_attempt(&b, 1, Some("outcome unknown: timeout".into()))
        .await
        .unwrap();
    let d = delivery(b.clone()).await;
    assert_eq!(d.failure.as_deref(), Some("outcome unknown: timeout"));
    assert_eq!((d.sending_at, d.sending_by), (None, None));
    assert!(!store.claim_send(&b, "t1", at(30)).await.unwrap());
    let unsent: Vec<_> = store
        .unsent_outbox(10)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(unsent, vec![c.clone()]);
    // A claim on a missing row is lost.
    assert!(
        !store
            .claim_send(&OutboxId::new("nope"), "t1", at(1))
            .await
            .unwrap()
    );
    // A row still claimed is still due to the sweep (a crashed sender's
    // row must be found again), with its claim as written.
    assert!(store.claim_send(&c, "t9", at(5)).await.unwrap());
    let due = store.outbox_due(at(10 * 60_000), 10).await.unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].delivery.sending_by.as_deref(), Some("t9"));
}

async fn idempotency_records_guard_and_expire(store: &dyn Store) {
    let day = 86_400_000;
    let r = idem("u1 POST /orders k1", 0, day);
    assert_eq!(store.idempotency(&r.scope, T0).await.unwrap(), None);
    ok(
        store,
        UnitOfWork {
            idempotency: Some(r.clone()),
            outbox: vec![outbox_row("mail_1", 0)],
            ..Default::default()
        },
    )
    .await;
    assert_eq!(
        store.idempotency(&r.scope, at(1)).await.unwrap(),
        Some(r.clone())
    );
    // Expired as seen from `now`.
    assert_eq!(store.idempotency(&r.scope, at(day)).await.unwrap(), None);

    // A concurrent duplicate: refused, and its other parts are not written.
    let dup = store
        .commit(UnitOfWork {
            idempotency: Some(idem("u1 POST /orders k1", 5, day)),
            outbox: vec![outbox_row("mail_2", 5)],
            ..Default::default()
        })
        .await;
    assert_eq!(dup, Err(CommitError::IdempotencyExists));
    assert_eq!(
        store.outbox_row(&OutboxId::new("mail_2")).await.unwrap(),
        None
    );

    // Once expired, the key may be used again.
    let later = idem("u1 POST /orders k1", day, day);
    ok(
        store,
        UnitOfWork {
            idempotency: Some(later.clone()),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(
        store.idempotency(&r.scope, at(day + 1)).await.unwrap(),
        Some(later)
    );
    // Another scope is another key.
    assert_eq!(
        store
            .idempotency("u2 POST /orders k1", at(1))
            .await
            .unwrap(),
        None
    );
}

async fn timers_set_replace_clear_and_come_due_in_order(store: &dyn Store) {
    use TimerKind::*;
    let t = |o: &str, kind, ms: i64| Timer {
        order_id: OrderId::new(o),
        kind,
        due: at(ms),
    };
    let clear = |o: &str, kind, due: Option<i64>| TimerClear {
        order_id: OrderId::new(o),
        kind,
        only_if_due: due.map(at),
    };
    let set = |ts: Vec<Timer>| UnitOfWork {
        timers_set: ts,
        ..Default::default()
    };
    ok(
        store,
        set(vec![
            t("o1", AutoCancel, 50),
            t("o2", AutoComplete, 10),
            t("o1", Reminder, 10),
            t("o3", AutoCancel, 10),
            t("o2", Clearing, 100),
            t("o0", Reminder, 10),
        ]),
    )
    .await;
    let due = |until: i64, limit| async move { store.due_timers(at(until), limit).await.unwrap() };
    assert_eq!(
        due(10, 10).await,
        vec![
            t("o3", AutoCancel, 10),
            t("o2", AutoComplete, 10),
            t("o0", Reminder, 10),
            t("o1", Reminder, 10)
        ]
    );
    assert_eq!(due(9, 10).await, vec![]);
    assert_eq!(
        due(1000, 2).await,
        vec![t("o3", AutoCancel, 10), t("o2", AutoComplete, 10)]
    );
    assert_eq!(due(1000, 100).await.len(), 6);

    // Setting again replaces.
    ok(store, set(vec![t("o1", AutoCancel, 5)])).await;
    assert_eq!(due(5, 10).await, vec![t("o1", AutoCancel, 5)]);
    assert_eq!(due(1000, 100).await.len(), 6);

    // A conditional clear with a stale due time changes nothing (alone, or
    // inside a larger unit of work, which still commits).
    ok(
        store,
        UnitOfWork {
            timers_cleared: vec![clear("o1", AutoCancel, Some(50))],
            ..Default::default()
        },
    )
    .await;
    ok(
        store,
        UnitOfWork {
            timers_cleared: vec![clear("o1", AutoCancel, Some(50))],
            outbox: vec![outbox_row("mail_t", 1)],
            ..Default::default()
        },
    )
    .await;
    assert!(
        store
            .outbox_row(&OutboxId::new("mail_t"))
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(due(5, 10).await, vec![t("o1", AutoCancel, 5)]);
    // A clear of a timer that does not exist is harmless.
    ok(
        store,
        UnitOfWork {
            timers_cleared: vec![clear("o9", Clearing, Some(1)), clear("o9", Reminder, None)],
            ..Default::default()
        },
    )
    .await;

    // With the right due time it goes, alone or with other work.
    ok(
        store,
        UnitOfWork {
            timers_cleared: vec![clear("o1", AutoCancel, Some(5))],
            ..Default::default()
        },
    )
    .await;
    ok(
        store,
        UnitOfWork {
            timers_cleared: vec![clear("o3", AutoCancel, Some(10))],
            outbox: vec![outbox_row("mail_u", 2)],
            ..Default::default()
        },
    )
    .await;
    assert_eq!(
        due(1000, 100).await,
        vec![
            t("o2", AutoComplete, 10),
            t("o0", Reminder, 10),
            t("o1", Reminder, 10),
            t("o2", Clearing, 100)
        ]
    );

    // Clear and set of one timer in one unit of work: the set wins (a
    // decision that re-arms); unconditional clears go whatever the due.
    ok(
        store,
        UnitOfWork {
            timers_cleared: vec![clear("o2", AutoComplete, None), clear("o2", Clearing, None)],
            timers_set: vec![t("o2", AutoComplete, 70)],
            ..Default::default()
        },
    )
    .await;
    // A timer firing: its own conditional clear beside the decision's
    // unconditional one for the same timer.
    ok(
        store,
        UnitOfWork {
            timers_cleared: vec![clear("o1", Reminder, None), clear("o1", Reminder, Some(10))],
            outbox: vec![outbox_row("mail_v", 3)],
            ..Default::default()
        },
    )
    .await;
    assert_eq!(
        due(1000, 100).await,
        vec![t("o0", Reminder, 10), t("o2", AutoComplete, 70)]
    );
    assert_eq!(due(1000, 0).await, vec![]);
}

async fn ledger_lines_balances_and_all_balances(store: &dyn Store) {
    let u1 = "u1";
    ok(store, with_postings(vec![topup_posting("p0", u1, 100, 0)])).await;
    ok(
        store,
        with_postings(vec![posting(
            "p1",
            PostingKind::OrderPlaced,
            1,
            &[(bal(u1), escrow("o1"), Money::dollars(30))],
        )]),
    )
    .await;
    // Two postings on one account in one unit of work: each line shows
    // the balance right after it.
    ok(
        store,
        with_postings(vec![
            posting(
                "p2",
                PostingKind::OrderRefunded,
                2,
                &[(escrow("o1"), bal(u1), Money::dollars(10))],
            ),
            posting(
                "p3",
                PostingKind::OrderPlaced,
                2,
                &[(bal(u1), escrow("o1"), Money::from_cents(550))],
            ),
        ]),
    )
    .await;
    // Money to the seller and the platform, and a second top-up of
    // someone else (another `external` shard, one account).
    ok(
        store,
        with_postings(vec![
            posting(
                "p4",
                PostingKind::OrderCompleted,
                3,
                &[
                    (
                        escrow("o1"),
                        Account::user(&uid("s1"), UserAccount::EarningsPending),
                        Money::from_cents(2040),
                    ),
                    (
                        escrow("o1"),
                        Account::Platform { shard: 3 },
                        Money::from_cents(510),
                    ),
                ],
            ),
            topup_posting("p5", "u2", 7, 3),
        ]),
    )
    .await;

    let b = store.balances(&uid(u1)).await.unwrap();
    assert_eq!(b.balance, Money::from_cents(7450));
    assert_eq!(b.earnings_available, Money::ZERO);
    assert_eq!(
        store.balances(&uid("s1")).await.unwrap().earnings_pending,
        Money::from_cents(2040)
    );
    assert_eq!(
        store.balances(&uid("nobody")).await.unwrap(),
        Balances::default()
    );

    let p = pages(3, async |r| store.ledger(&uid(u1), &r).await).await;
    assert_eq!(sizes(&p), vec![3, 1]);
    let lines: Vec<_> = p.iter().flatten().collect();
    let view: Vec<(Timestamp, Decimal, Decimal, PostingKind)> = lines
        .iter()
        .map(|l| (l.at, l.amount, l.balance_after, l.kind))
        .collect();
    let d = |c: i64| Decimal::new(c, 2);
    assert_eq!(
        view,
        vec![
            (at(2), d(-550), d(7450), PostingKind::OrderPlaced),
            (at(2), d(1000), d(8000), PostingKind::OrderRefunded),
            (at(1), d(-3000), d(7000), PostingKind::OrderPlaced),
            (at(0), d(10000), d(10000), PostingKind::Topup),
        ]
    );
    assert!(
        lines
            .iter()
            .all(|l| l.user_id == uid(u1) && l.account == UserAccount::Balance)
    );
    // Within a millisecond, later lines carry a larger seq.
    assert!(lines[0].seq > lines[1].seq);
    let s1 = store.ledger(&uid("s1"), &PageReq::first(10)).await.unwrap();
    assert_eq!(s1.items.len(), 1);
    assert_eq!(s1.items[0].account, UserAccount::EarningsPending);
    assert_eq!(s1.items[0].balance_after, d(2040));
    assert_eq!(s1.next_cursor, None);

    let all = store.all_balances().await.unwrap();
    let total: Decimal = all.iter().map(|(_, v)| *v).sum();
    assert_eq!(total, Decimal::ZERO);
    let get = |a: &Account| all.iter().find(|(x, _)| x == a).map(|(_, v)| *v);
    assert_eq!(get(&Account::External), Some(d(-10700)));
    assert_eq!(get(&escrow("o1")), Some(Decimal::ZERO));
    assert_eq!(get(&Account::Platform { shard: 3 }), Some(d(510)));
    assert_eq!(get(&bal("u2")), Some(d(700)));
    assert_eq!(
        all.iter().filter(|(a, _)| *a == Account::External).count(),
        1
    );
    assert_eq!(all.len(), 6);
    let mut sorted = all.clone();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(all, sorted);
    totals_agree_with_accounts(store, &all).await;
}

/// The running totals are what a full read of the accounts sums to.
async fn totals_agree_with_accounts(store: &dyn Store, all: &[(Account, Decimal)]) {
    use khamsa_app::totals::Total;
    let t = store.ledger_totals().await.unwrap();
    for kind in Total::KINDS {
        let sum: Decimal = all
            .iter()
            .filter(|(a, _)| Total::of_account(a) == kind)
            .map(|(_, d)| *d)
            .sum();
        assert_eq!(t.get(kind), sum, "{kind:?}");
    }
    assert_eq!(t.get(Total::Credits), t.get(Total::Debits));
    assert!(t.get(Total::Postings) > Decimal::ZERO);
}

/// Everything a unit of work could have touched, read back.
#[derive(Debug, PartialEq)]
struct Snapshot {
    entities: Vec<String>,
    balances: Vec<Balances>,
    ledgers: Vec<Vec<LedgerLine>>,
    all_balances: Vec<(Account, Decimal)>,
    totals: khamsa_app::totals::LedgerTotals,
    timers: Vec<Timer>,
    outbox: Vec<Option<OutboxRow>>,
    unsent: Vec<OutboxRow>,
    stats: Vec<Option<(Service, ServiceStats)>>,
    seller_stats: Vec<ServiceStats>,
    idempotency: Option<IdempotencyRecord>,
    inbox: Vec<Page<Order>>,
}

async fn snapshot(store: &dyn Store, uow: &UnitOfWork) -> Snapshot {
    let mut entities = Vec::new();
    for w in &uow.writes {
        let e = match w {
            Write::Profile(x) => format!("{:?}", store.profile(&x.id).await.unwrap()),
            Write::Service(x) => format!("{:?}", store.service(&x.id).await.unwrap()),
            Write::Order(x) => format!("{:?}", store.order(&x.id).await.unwrap()),
            Write::Review(x) => format!("{:?}", store.review(&x.order_id).await.unwrap()),
            Write::Request(x) => format!("{:?}", store.request(&x.id).await.unwrap()),
            Write::Withdrawal(x) => format!("{:?}", store.withdrawal(&x.id).await.unwrap()),
            Write::Message(x) => format!(
                "{:?}",
                store
                    .messages(&x.order_id, &PageReq::first(100))
                    .await
                    .unwrap()
            ),
            Write::Offer(x) => format!("{:?}", store.offers(&x.request_id).await.unwrap()),
            Write::Topup(x) => format!("topup {}", x.id),
            Write::File(x) => format!("{:?}", store.file(&x.order_id, &x.id).await.unwrap()),
        };
        entities.push(e);
    }
    let mut users: Vec<UserId> = uow
        .postings
        .iter()
        .flat_map(|p| p.legs())
        .filter_map(|l| match l.account() {
            Account::User { user, .. } => Some(user.clone()),
            _ => None,
        })
        .collect();
    users.sort();
    users.dedup();
    let mut balances = Vec::new();
    let mut ledgers = Vec::new();
    for u in &users {
        balances.push(store.balances(u).await.unwrap());
        ledgers.push(store.ledger(u, &PageReq::first(100)).await.unwrap().items);
    }
    let mut outbox = Vec::new();
    for r in &uow.outbox {
        outbox.push(store.outbox_row(&r.id).await.unwrap());
    }
    let mut stats = Vec::new();
    for (id, _) in &uow.service_stats {
        stats.push(store.service(id).await.unwrap());
    }
    let mut seller_stats = Vec::new();
    for (id, _) in &uow.seller_stats {
        seller_stats.push(store.seller_stats(id).await.unwrap());
    }
    let idempotency = match &uow.idempotency {
        Some(r) => store.idempotency(&r.scope, r.created_at).await.unwrap(),
        None => None,
    };
    let mut inbox = Vec::new();
    for x in &uow.inbox {
        inbox.push(store.inbox(&x.user, &PageReq::first(100)).await.unwrap());
    }
    Snapshot {
        inbox,
        entities,
        balances,
        ledgers,
        all_balances: store.all_balances().await.unwrap(),
        totals: store.ledger_totals().await.unwrap(),
        timers: store.due_timers(Timestamp(i64::MAX), 1000).await.unwrap(),
        outbox,
        unsent: store.unsent_outbox(1000).await.unwrap(),
        stats,
        seller_stats,
        idempotency,
    }
}

/// Commits `uow`, expects `err`, and checks that nothing changed.
async fn refused_leaves_nothing(store: &dyn Store, uow: UnitOfWork, err: CommitError) {
    let before = snapshot(store, &uow).await;
    assert_eq!(store.commit(uow.clone()).await, Err(err));
    let after = snapshot(store, &uow).await;
    assert_eq!(before, after);
}

/// A realistic order placement: the order, its posting, timer, emails,
/// counters and idempotency record.
async fn seeded(store: &dyn Store) -> (Service, UnitOfWork) {
    let svc = service("svc", "seller", "design", ServiceStatus::Active, 0);
    ok(store, writes(vec![Write::Service(svc.clone())])).await;
    ok(
        store,
        with_postings(vec![topup_posting("seed", "buyer", 20, 0)]),
    )
    .await;
    let mut active = svc.clone();
    active.version = 1;
    let d = Order::place(
        OrderId::new("o1"),
        &active,
        &uid("buyer"),
        OrderRequest::parse(&[], 3, &Config::default()).unwrap(),
        Funds {
            balance: Money::dollars(100),
            earnings_available: Money::ZERO,
        },
        at(10),
        &Config::default(),
    )
    .unwrap();
    // A message's share too: unread for the seller, in her inbox.
    let order = Order {
        seller_unread: 1,
        ..d.order.clone()
    };
    let uow = UnitOfWork {
        inbox: vec![InboxEntry {
            user: svc.seller_id.clone(),
            order_id: order.id.clone(),
            at: Some(at(10)),
        }],
        writes: vec![Write::Order(order)],
        postings: d.postings.clone(),
        timers_set: vec![Timer {
            order_id: d.order.id.clone(),
            kind: TimerKind::AutoCancel,
            due: at(1000),
        }],
        timers_cleared: vec![],
        outbox: vec![outbox_row("mail_a", 10), outbox_row("mail_b", 10)],
        service_stats: vec![(
            svc.id.clone(),
            ServiceStats {
                orders_completed: 1,
                ..Default::default()
            },
        )],
        seller_stats: vec![(
            svc.seller_id.clone(),
            ServiceStats {
                orders_completed: 1,
                ..Default::default()
            },
        )],
        idempotency: Some(idem("buyer POST /orders k", 10, 86_400_000)),
        not_on_hold: vec![],
        balances_read: vec![],
    };
    (svc, uow)
}

async fn a_stale_version_leaves_nothing_behind(store: &dyn Store) {
    let (_, uow) = seeded(store).await;
    // The order exists already (someone else placed it): version 0 is stale.
    let first = writes(uow.writes.clone());
    ok(store, first).await;
    let mut cheap = uow.clone();
    // Affordable, so only the version can fail.
    cheap.postings = vec![posting(
        "o1/placed",
        PostingKind::OrderPlaced,
        10,
        &[(bal("buyer"), escrow("o1"), Money::dollars(1))],
    )];
    refused_leaves_nothing(store, cheap.clone(), CommitError::Conflict("order".into())).await;
    // A version from the future is as stale.
    let mut future = cheap.clone();
    if let Some(Write::Order(o)) = future.writes.first_mut() {
        o.version = 7;
    }
    refused_leaves_nothing(store, future, CommitError::Conflict("order".into())).await;
    // At the right version the same work goes through.
    let mut right = cheap;
    if let Some(Write::Order(o)) = right.writes.first_mut() {
        o.version = 1;
    }
    let seller = right.seller_stats[0].0.clone();
    assert!(
        store
            .inbox(&seller, &PageReq::first(10))
            .await
            .unwrap()
            .items
            .is_empty()
    );
    ok(store, right).await;
    // Its inbox entry with it.
    let inbox = store.inbox(&seller, &PageReq::first(10)).await.unwrap();
    assert_eq!(
        inbox
            .items
            .iter()
            .map(|o| o.id.to_string())
            .collect::<Vec<_>>(),
        ids(&["o1"])
    );
    // The seller's counters moved with the work, once.
    assert_eq!(
        store.seller_stats(&seller).await.unwrap(),
        ServiceStats {
            orders_completed: 1,
            ..Default::default()
        }
    );
    assert_eq!(
        store
            .order(&OrderId::new("o1"))
            .await
            .unwrap()
            .unwrap()
            .version,
        2
    );
    assert_eq!(
        store.balances(&uid("buyer")).await.unwrap().balance,
        Money::dollars(19)
    );
}

async fn an_overdraft_leaves_nothing_behind(store: &dyn Store) {
    let (svc, uow) = seeded(store).await;
    // Three at $10.50 is $31.50 against $20.
    refused_leaves_nothing(store, uow.clone(), CommitError::Overdraft(bal("buyer"))).await;
    // Nothing of it was left: with the money there, the very same unit of
    // work (same order, posting and key) commits.
    ok(
        store,
        with_postings(vec![topup_posting("more", "buyer", 20, 5)]),
    )
    .await;
    ok(store, uow.clone()).await;
    let b = store.balances(&uid("buyer")).await.unwrap();
    assert_eq!(b.balance, Money::from_cents(850));
    assert_eq!(
        store
            .service(&svc.id)
            .await
            .unwrap()
            .unwrap()
            .1
            .orders_completed,
        1
    );
    assert_eq!(store.unsent_outbox(10).await.unwrap().len(), 2);

    // An escrow cannot pay out more than it holds either.
    let refund = UnitOfWork {
        postings: vec![posting(
            "o1/too-much",
            PostingKind::OrderRefunded,
            20,
            &[(escrow("o1"), bal("buyer"), Money::dollars(40))],
        )],
        outbox: vec![outbox_row("mail_c", 20)],
        ..Default::default()
    };
    refused_leaves_nothing(store, refund, CommitError::Overdraft(escrow("o1"))).await;
    // A user account that never existed cannot pay either.
    let ghost = with_postings(vec![posting(
        "ghost",
        PostingKind::OrderPlaced,
        20,
        &[(bal("ghost"), escrow("o2"), Money::from_cents(1))],
    )]);
    refused_leaves_nothing(store, ghost, CommitError::Overdraft(bal("ghost"))).await;
}

async fn a_duplicate_offer_leaves_nothing_behind(store: &dyn Store) {
    let req = Request {
        id: RequestId::new("r1"),
        author_id: uid("author"),
        title: "Need a logo".into(),
        description: "Soon".into(),
        budget: None,
        status: RequestStatus::Open,
        created_at: T0,
        version: 0,
    };
    let offer = |id: &str| Offer {
        id: OfferId::new(id),
        request_id: req.id.clone(),
        seller_id: uid("s1"),
        text: "Me".into(),
        service_id: None,
        at: at(1),
    };
    ok(
        store,
        writes(vec![Write::Request(req.clone()), Write::Offer(offer("f1"))]),
    )
    .await;
    // The same seller again, under a new offer id, with other work.
    let uow = UnitOfWork {
        writes: vec![Write::Offer(offer("f2"))],
        outbox: vec![outbox_row("mail_o", 2)],
        timers_set: vec![Timer {
            order_id: OrderId::new("x"),
            kind: TimerKind::Reminder,
            due: at(5),
        }],
        postings: vec![topup_posting("p-offer", "s1", 5, 2)],
        ..Default::default()
    };
    refused_leaves_nothing(store, uow, CommitError::Conflict("offer".into())).await;
    assert_eq!(store.offers(&req.id).await.unwrap(), vec![offer("f1")]);
}

async fn a_duplicate_posting_leaves_nothing_behind(store: &dyn Store) {
    ok(store, with_postings(vec![topup_posting("p1", "u1", 50, 0)])).await;
    let msg = Message {
        id: MessageId::new("m1"),
        order_id: OrderId::new("o1"),
        sender_id: uid("u1"),
        text: "hi".into(),
        at: at(1),
        file_ids: vec![],
    };
    let uow = UnitOfWork {
        writes: vec![Write::Message(msg), Write::Profile(profile("u1"))],
        postings: vec![
            topup_posting("p2", "u1", 5, 1),
            // Posted before: refused however it is dressed.
            topup_posting("p1", "u1", 50, 1),
        ],
        outbox: vec![outbox_row("mail_p", 1)],
        idempotency: Some(idem("u1 POST /topups k", 1, 1000)),
        ..Default::default()
    };
    refused_leaves_nothing(store, uow, CommitError::Conflict("posting p1".into())).await;
    assert_eq!(
        store.balances(&uid("u1")).await.unwrap().balance,
        Money::dollars(50)
    );
}

/// `not_on_hold` (issue 8, issue 11): a condition of the commit, met by
/// a user with no profile or no hold, refused for a held one.
async fn a_payment_hold_refuses_the_commit(store: &dyn Store) {
    let (_, uow) = seeded(store).await;
    let mut held = profile("buyer");
    held.payment_hold = true;
    ok(store, writes(vec![Write::Profile(held)])).await;
    let on_hold = UnitOfWork {
        not_on_hold: vec![uid("buyer"), uid("nobody")],
        ..uow.clone()
    };
    refused_leaves_nothing(store, on_hold, CommitError::PaymentHold(uid("buyer"))).await;
    // The others pass: one without a profile, one with no hold.
    ok(store, writes(vec![Write::Profile(profile("clear"))])).await;
    ok(
        store,
        UnitOfWork {
            not_on_hold: vec![uid("nobody"), uid("clear")],
            ..with_postings(vec![topup_posting("top-clear", "clear", 5, 3)])
        },
    )
    .await;
}

async fn a_duplicate_idempotency_key_wins_over_an_overdraft(store: &dyn Store) {
    let (_, uow) = seeded(store).await;
    let first = UnitOfWork {
        idempotency: uow.idempotency.clone(),
        ..Default::default()
    };
    ok(store, first).await;
    // The duplicate would also overdraw: "a duplicate won" is the answer.
    let mut dup = uow.clone();
    if let Some(r) = dup.idempotency.as_mut() {
        r.created_at = at(11);
    }
    refused_leaves_nothing(store, dup, CommitError::IdempotencyExists).await;
}

async fn tampered_cursors_are_bad_cursors(store: &dyn Store) {
    use base64::Engine;
    let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
    let svc = service("svc", "seller", "design", ServiceStatus::Active, 0);
    let all: Vec<Write> = (1..=3)
        .map(|i| Write::Order(order(&format!("o{i}"), &svc, "b1", i)))
        .collect();
    ok(store, writes(all)).await;
    let q = OrderQuery::Purchases(uid("b1"), None);
    let first = store.orders(&q, &PageReq::first(1)).await.unwrap();
    let good = first.next_cursor.clone().expect("a second page");
    let second = store
        .orders(
            &q,
            &PageReq {
                limit: 1,
                cursor: Some(good),
            },
        )
        .await
        .unwrap();
    assert_eq!(second.items[0].id.as_str(), "o2");

    for bad in [
        String::new(),
        "not a cursor!".to_owned(),
        "%%%".to_owned(),
        b64("nonsense"),
        b64(r#"{"pk":1}"#),
        b64("\u{0}\u{1}"),
    ] {
        let page = PageReq {
            limit: 2,
            cursor: Some(bad.clone()),
        };
        assert_eq!(
            store.orders(&q, &page).await,
            Err(StoreError::BadCursor),
            "{bad:?}"
        );
        assert_eq!(
            store.ledger(&uid("b1"), &page).await,
            Err(StoreError::BadCursor),
            "{bad:?}"
        );
        assert_eq!(
            store.messages(&OrderId::new("o1"), &page).await,
            Err(StoreError::BadCursor)
        );
        assert_eq!(
            store
                .services(&ServiceQuery::Active { category: None }, &page)
                .await,
            Err(StoreError::BadCursor)
        );
        assert_eq!(store.open_requests(&page).await, Err(StoreError::BadCursor));
        assert_eq!(
            store
                .withdrawals(&WithdrawalQuery::ByStatus(WithdrawalStatus::Paid), &page)
                .await,
            Err(StoreError::BadCursor)
        );
        assert_eq!(
            store.reviews(&ServiceId::new("svc"), &page).await,
            Err(StoreError::BadCursor)
        );
    }
}

async fn empty_and_zero_limits(store: &dyn Store) {
    // An empty unit of work is a no-op.
    ok(store, UnitOfWork::default()).await;
    // A zero limit is read as one (the memory store's rule).
    let svc = service("svc", "seller", "design", ServiceStatus::Active, 0);
    let all: Vec<Write> = (1..=2)
        .map(|i| Write::Order(order(&format!("o{i}"), &svc, "b1", i)))
        .collect();
    ok(store, writes(all)).await;
    let p = store
        .orders(&OrderQuery::Purchases(uid("b1"), None), &PageReq::first(0))
        .await
        .unwrap();
    assert_eq!(p.items.len(), 1);
    assert!(p.next_cursor.is_some());
    assert_eq!(store.unsent_outbox(0).await.unwrap(), vec![]);
    let empty = store
        .orders(
            &OrderQuery::Purchases(uid("nobody"), None),
            &PageReq::first(5),
        )
        .await
        .unwrap();
    assert_eq!(
        empty,
        Page {
            items: vec![],
            next_cursor: None
        }
    );
}

// ------------------------------------------- DynamoDB's own limits, checked

/// More than 100 items cannot be one transaction: refused whole, never
/// split. (The memory store has no such limit.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamo_refuses_a_unit_of_work_over_one_hundred_items() {
    let Some(t) = TestTable::create("too_big").await else {
        return;
    };
    let store: &dyn Store = &t.store;
    let rows: Vec<OutboxRow> = (0..101)
        .map(|i| outbox_row(&format!("mail_{i:03}"), i))
        .collect();
    let r = store
        .commit(UnitOfWork {
            outbox: rows,
            ..Default::default()
        })
        .await;
    assert!(
        matches!(&r, Err(CommitError::Store(StoreError::Unavailable(m))) if m.contains("100")),
        "{r:?}"
    );
    assert_eq!(store.unsent_outbox(1000).await.unwrap(), vec![]);
    t.drop_table().await;
}

/// A cursor is bound to the list that gave it out: one from another
/// partition is a bad cursor, not a DynamoDB validation error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamo_cursors_are_bound_to_their_list() {
    let Some(t) = TestTable::create("cursor_bound").await else {
        return;
    };
    let store: &dyn Store = &t.store;
    let svc = service("svc", "seller", "design", ServiceStatus::Active, 0);
    let all: Vec<Write> = (1..=4)
        .map(|i| {
            Write::Order(order(
                &format!("o{i}"),
                &svc,
                if i % 2 == 0 { "b1" } else { "b2" },
                i,
            ))
        })
        .collect();
    ok(store, writes(all)).await;
    let b1 = store
        .orders(&OrderQuery::Purchases(uid("b1"), None), &PageReq::first(1))
        .await
        .unwrap();
    let cursor = b1.next_cursor.expect("more");
    let page = PageReq {
        limit: 1,
        cursor: Some(cursor),
    };
    assert_eq!(
        store
            .orders(&OrderQuery::Purchases(uid("b2"), None), &page)
            .await,
        Err(StoreError::BadCursor)
    );
    assert_eq!(
        store
            .orders(&OrderQuery::Sales(uid("seller"), None), &page)
            .await,
        Err(StoreError::BadCursor)
    );
    assert_eq!(
        store.ledger(&uid("b1"), &page).await,
        Err(StoreError::BadCursor)
    );
    t.drop_table().await;
}

// ------------------------------------------------ outbox and timer life cycle

async fn outbox_rows_are_queued_once_and_failed_rows_never(store: &dyn Store) {
    let grace = OUTBOX_GRACE_MS;
    ok(
        store,
        UnitOfWork {
            outbox: vec![
                outbox_row("mail_old", 0),
                outbox_row("mail_mid", 10),
                outbox_row("mail_new", 20),
            ],
            ..Default::default()
        },
    )
    .await;
    let due = |now: i64| async move {
        store
            .outbox_due(at(now), 100)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.row.id.to_string())
            .collect::<Vec<_>>()
    };
    // Within the grace nothing is due; then oldest first.
    assert!(due(grace - 1).await.is_empty());
    assert_eq!(due(grace + 20).await, ["mail_old", "mail_mid", "mail_new"]);

    // Claimed once: a second claim with the same read loses.
    let first = store.outbox_due(at(grace + 20), 1).await.unwrap();
    assert_eq!(first[0].delivery, Delivery::default());
    assert!(store.claim_outbox(&first[0], at(5_000_000)).await.unwrap());
    assert!(!store.claim_outbox(&first[0], at(6_000_000)).await.unwrap());
    // Off the list until the marker lapses, then back, last in line.
    assert_eq!(due(grace + 20).await, ["mail_mid", "mail_new"]);
    assert_eq!(due(5_000_000).await, ["mail_mid", "mail_new", "mail_old"]);
    let again = store.outbox_due(at(5_000_000), 100).await.unwrap();
    assert_eq!(again[2].delivery.queued_until, Some(at(5_000_000)));
    assert!(store.claim_outbox(&again[2], at(9_000_000)).await.unwrap());

    // A transient attempt is counted; a failure takes the row off every
    // list for good, its reason kept.
    let mid = OutboxId::new("mail_mid");
    store.outbox_attempt(&mid, 1, None).await.unwrap();
    let e = store.outbox_entry(&mid).await.unwrap().unwrap();
    assert_eq!((e.delivery.attempts, e.delivery.failure), (1, None));
    store
        .outbox_attempt(&mid, 2, Some("refused: MessageRejected".into()))
        .await
        .unwrap();
    let e = store.outbox_entry(&mid).await.unwrap().unwrap();
    assert_eq!(e.delivery.attempts, 2);
    assert_eq!(
        e.delivery.failure.as_deref(),
        Some("refused: MessageRejected")
    );
    assert_eq!(e.row, outbox_row("mail_mid", 10));
    assert_eq!(due(i64::MAX / 4).await, ["mail_new", "mail_old"]);
    let unsent: Vec<_> = store
        .unsent_outbox(100)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.id.to_string())
        .collect();
    assert_eq!(unsent, ["mail_new", "mail_old"]);
    assert!(!store.claim_outbox(&e, at(9_000_000)).await.unwrap());

    // Sent rows leave the list too; unknown ids are harmless.
    store
        .mark_sent(&OutboxId::new("mail_new"), at(30))
        .await
        .unwrap();
    assert_eq!(due(i64::MAX / 4).await, ["mail_old"]);
    store
        .outbox_attempt(&OutboxId::new("nope"), 1, Some("x".into()))
        .await
        .unwrap();
    assert_eq!(
        store.outbox_entry(&OutboxId::new("nope")).await.unwrap(),
        None
    );
}

async fn timers_are_queued_once_per_marker_and_parked_after_max_attempts(store: &dyn Store) {
    use TimerKind::*;
    let t = |o: &str, kind, ms: i64| Timer {
        order_id: OrderId::new(o),
        kind,
        due: at(ms),
    };
    let horizon = TIMER_HORIZON_MS;
    ok(
        store,
        UnitOfWork {
            timers_set: vec![
                t("o1", AutoCancel, 10),
                t("o2", AutoComplete, 20),
                t("o3", Clearing, 10 * horizon),
            ],
            ..Default::default()
        },
    )
    .await;
    let queue = |now: i64| async move {
        store
            .timers_to_queue(at(now), 100)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.timer.order_id.to_string())
            .collect::<Vec<_>>()
    };
    // Due within the horizon, earliest first; the far one waits.
    assert_eq!(queue(0).await, ["o1", "o2"]);
    let first = store.timers_to_queue(at(0), 1).await.unwrap();
    assert_eq!((first[0].attempts, first[0].queued_until), (0, None));
    assert!(store.claim_timer(&first[0], at(1_000)).await.unwrap());
    assert!(!store.claim_timer(&first[0], at(2_000)).await.unwrap());
    assert_eq!(queue(0).await, ["o2"]);
    assert_eq!(queue(999).await, ["o2"]);
    // The marker lapsed: back on the list, with its marker.
    assert_eq!(queue(1_000).await, ["o1", "o2"]);
    let back = store.timers_to_queue(at(1_000), 1).await.unwrap();
    assert_eq!(back[0].queued_until, Some(at(1_000)));
    // due_timers does not care about markers.
    assert_eq!(store.due_timers(at(20), 10).await.unwrap().len(), 2);

    // Failures are counted per due time; the fifth parks it.
    let o2 = t("o2", AutoComplete, 20);
    for n in 1..5 {
        assert_eq!(
            store.timer_failed(&o2, 5).await.unwrap(),
            TimerFailure::Retry { attempts: n }
        );
    }
    let e = &store.timers_to_queue(at(0), 100).await.unwrap()[0];
    assert_eq!((e.timer.order_id.as_str(), e.attempts), ("o2", 4));
    assert_eq!(
        store.timer_failed(&o2, 5).await.unwrap(),
        TimerFailure::Parked { attempts: 5 }
    );
    assert_eq!(queue(1_000).await, ["o1"]);
    assert!(
        store
            .due_timers(at(i64::MAX / 4), 10)
            .await
            .unwrap()
            .iter()
            .all(|x| x.order_id.as_str() != "o2"),
        "parked: out of the due list"
    );
    // A stale due time, or a parked or missing timer, counts nothing.
    assert_eq!(
        store.timer_failed(&o2, 5).await.unwrap(),
        TimerFailure::Gone
    );
    assert_eq!(
        store
            .timer_failed(&t("o1", AutoCancel, 11), 5)
            .await
            .unwrap(),
        TimerFailure::Gone
    );
    // Setting a timer again starts a new life: no marker, no attempts.
    let o1 = t("o1", AutoCancel, 10);
    assert_eq!(
        store.timer_failed(&o1, 5).await.unwrap(),
        TimerFailure::Retry { attempts: 1 }
    );
    ok(
        store,
        UnitOfWork {
            timers_set: vec![t("o1", AutoCancel, 30), t("o2", AutoComplete, 40)],
            ..Default::default()
        },
    )
    .await;
    let fresh = store.timers_to_queue(at(0), 100).await.unwrap();
    assert_eq!(fresh.len(), 2);
    assert!(
        fresh
            .iter()
            .all(|e| e.attempts == 0 && e.queued_until.is_none())
    );
}
