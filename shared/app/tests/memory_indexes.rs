//! Property test: the in-memory store's indexes (the service lists, due
//! timers, unsent emails) answer what a scan of every row would, page by
//! page, after any sequence of writes, re-writes and clears.

use khamsa_app::memory::{MemoryMailer, MemoryStore};
use khamsa_app::ports::*;
use khamsa_domain::Timestamp;
use khamsa_domain::ids::{OrderId, OutboxId, ServiceId, UserId};
use khamsa_domain::money::Money;
use khamsa_domain::notice::{Notice, NoticeKind};
use khamsa_domain::order::{Timer, TimerKind};
use khamsa_domain::service::{Service, ServiceDraft, ServiceStatus};
use proptest::prelude::*;
use std::collections::BTreeMap;

const T0: i64 = 1_800_000_000_000;
const STATUSES: [ServiceStatus; 4] = [
    ServiceStatus::PendingReview,
    ServiceStatus::Active,
    ServiceStatus::Paused,
    ServiceStatus::Rejected,
];
const CATEGORIES: [&str; 3] = ["design", "writing", "code"];
const KINDS: [TimerKind; 2] = [TimerKind::AutoComplete, TimerKind::AutoCancel];

#[derive(Debug, Clone)]
enum Op {
    /// Writes service `id` (new or a new version) as of minute `at`.
    Service {
        id: usize,
        seller: usize,
        category: usize,
        status: usize,
        at: i64,
    },
    SetTimer {
        order: usize,
        kind: usize,
        due: i64,
    },
    ClearTimer {
        order: usize,
        kind: usize,
        only_if_due: Option<i64>,
    },
    Email {
        id: usize,
    },
    MarkSent {
        id: usize,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0..12usize, 0..3usize, 0..3usize, 0..4usize, 0..6i64).prop_map(
            |(id, seller, category, status, at)| Op::Service { id, seller, category, status, at }
        ),
        2 => (0..8usize, 0..2usize, 0..6i64).prop_map(|(order, kind, due)| Op::SetTimer { order, kind, due }),
        1 => (0..8usize, 0..2usize, proptest::option::of(0..6i64))
            .prop_map(|(order, kind, only_if_due)| Op::ClearTimer { order, kind, only_if_due }),
        1 => (0..10usize).prop_map(|id| Op::Email { id }),
        1 => (0..10usize).prop_map(|id| Op::MarkSent { id }),
    ]
}

fn minute(m: i64) -> Timestamp {
    Timestamp(T0 + m * 60_000)
}

fn service(
    id: usize,
    seller: usize,
    category: usize,
    status: usize,
    at: i64,
    version: u64,
) -> Service {
    Service {
        id: ServiceId::new(format!("svc_{id:02}")),
        seller_id: UserId::new(format!("seller{seller}")),
        draft: ServiceDraft {
            title: "Logo".into(),
            description: "A logo".into(),
            category: CATEGORIES[category].into(),
            price: Money::dollars(5),
            delivery_days: 1,
            instructions: None,
            upgrades: vec![],
        },
        status: STATUSES[status],
        pending_revision: None,
        rejection_reason: None,
        created_at: minute(at),
        updated_at: minute(at),
        version,
    }
}

/// Every page of `q`, `limit` at a time, following the cursors.
async fn walk(store: &MemoryStore, q: &ServiceQuery, limit: usize) -> Vec<ServiceId> {
    let mut ids = Vec::new();
    let mut page = PageReq::first(limit);
    loop {
        let p = store.services(q, &page).await.expect("a page");
        assert!(p.items.len() <= limit);
        ids.extend(p.items.into_iter().map(|(s, _)| s.id));
        match p.next_cursor {
            Some(c) => page.cursor = Some(c),
            None => return ids,
        }
    }
}

async fn check(ops: Vec<Op>) {
    let store = MemoryStore::new();
    let mut services: BTreeMap<ServiceId, Service> = BTreeMap::new();
    let mut timers: BTreeMap<(OrderId, TimerKind), Timestamp> = BTreeMap::new();
    let mut outbox: BTreeMap<OutboxId, bool> = BTreeMap::new();
    for op in ops {
        let mut uow = UnitOfWork::default();
        match op {
            Op::Service {
                id,
                seller,
                category,
                status,
                at,
            } => {
                let sid = ServiceId::new(format!("svc_{id:02}"));
                let version = services.get(&sid).map_or(0, |s| s.version);
                let mut s = service(id, seller, category, status, at, version);
                uow.writes.push(Write::Service(s.clone()));
                s.version += 1;
                services.insert(sid, s);
            }
            Op::SetTimer { order, kind, due } => {
                let t = Timer {
                    order_id: OrderId::new(format!("ord_{order}")),
                    kind: KINDS[kind],
                    due: minute(due),
                };
                timers.insert((t.order_id.clone(), t.kind), t.due);
                uow.timers_set.push(t);
            }
            Op::ClearTimer {
                order,
                kind,
                only_if_due,
            } => {
                let key = (OrderId::new(format!("ord_{order}")), KINDS[kind]);
                let only_if_due = only_if_due.map(minute);
                if only_if_due.is_none_or(|d| timers.get(&key) == Some(&d)) {
                    timers.remove(&key);
                }
                uow.timers_cleared.push(TimerClear {
                    order_id: key.0,
                    kind: key.1,
                    only_if_due,
                });
            }
            Op::Email { id } => {
                let id = OutboxId::new(format!("out_{id}"));
                outbox.insert(id.clone(), false);
                uow.outbox.push(OutboxRow {
                    id,
                    notice: Notice {
                        to: UserId::new("u"),
                        order_id: Some(OrderId::new("ord_0")),
                        withdrawal_id: None,
                        service_title: None,
                        kind: NoticeKind::ChangesRequested {
                            text: "More blue".into(),
                        },
                    },
                    created_at: minute(0),
                    sent_at: None,
                });
            }
            Op::MarkSent { id } => {
                let id = OutboxId::new(format!("out_{id}"));
                store.mark_sent(&id, minute(1)).await.expect("marks");
                if let Some(sent) = outbox.get_mut(&id) {
                    *sent = true;
                }
            }
        }
        if !uow.is_empty() {
            store.commit(uow).await.expect("commits");
        }
    }

    // Newest first by (created_at, id), as the scan sorted them.
    let expect = |keep: &dyn Fn(&Service) -> bool| {
        let mut v: Vec<&Service> = services.values().filter(|s| keep(s)).collect();
        v.sort_by_key(|s| std::cmp::Reverse((s.created_at, s.id.clone())));
        v.into_iter().map(|s| s.id.clone()).collect::<Vec<_>>()
    };
    let active = |s: &Service| s.status == ServiceStatus::Active;
    let mut queries: Vec<(ServiceQuery, Vec<ServiceId>)> =
        vec![(ServiceQuery::Active { category: None }, expect(&active))];
    for c in CATEGORIES {
        queries.push((
            ServiceQuery::Active {
                category: Some(c.into()),
            },
            expect(&|s| active(s) && s.draft.category == c),
        ));
    }
    for seller in 0..3 {
        let u = UserId::new(format!("seller{seller}"));
        queries.push((
            ServiceQuery::BySeller {
                seller: u.clone(),
                only_active: false,
            },
            expect(&|s| s.seller_id == u),
        ));
        queries.push((
            ServiceQuery::BySeller {
                seller: u.clone(),
                only_active: true,
            },
            expect(&|s| s.seller_id == u && active(s)),
        ));
        queries.push((
            ServiceQuery::SellerInCategory {
                seller: u.clone(),
                category: "design".into(),
            },
            expect(&|s| s.seller_id == u && active(s) && s.draft.category == "design"),
        ));
    }
    for st in STATUSES {
        queries.push((ServiceQuery::ByStatus(st), expect(&|s| s.status == st)));
    }
    for (q, want) in &queries {
        for limit in [1, 2, 5, 100] {
            assert_eq!(&walk(&store, q, limit).await, want, "{q:?} by {limit}");
        }
    }

    let mut due: Vec<(Timestamp, TimerKind, OrderId)> = timers
        .iter()
        .map(|((o, k), d)| (*d, *k, o.clone()))
        .collect();
    due.sort();
    for until in 0..7 {
        for limit in [1, 3, 100] {
            let got: Vec<_> = store
                .due_timers(minute(until), limit)
                .await
                .expect("timers")
                .into_iter()
                .map(|t| (t.due, t.kind, t.order_id))
                .collect();
            let want: Vec<_> = due
                .iter()
                .filter(|t| t.0 <= minute(until))
                .take(limit)
                .cloned()
                .collect();
            assert_eq!(got, want, "due by minute {until}, {limit} at most");
        }
    }

    let unsent: Vec<OutboxId> = outbox
        .iter()
        .filter(|(_, sent)| !**sent)
        .map(|(id, _)| id.clone())
        .collect();
    for limit in [1, 4, 100] {
        let got: Vec<OutboxId> = store
            .unsent_outbox(limit)
            .await
            .expect("rows")
            .into_iter()
            .map(|r| r.id)
            .collect();
        assert_eq!(got, unsent.iter().take(limit).cloned().collect::<Vec<_>>());
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]
    #[test]
    fn indexes_answer_as_a_scan_would(ops in proptest::collection::vec(op(), 0..60)) {
        tokio::runtime::Builder::new_current_thread().build().expect("a runtime").block_on(check(ops));
    }
}

#[tokio::test]
async fn the_mailer_keeps_the_last_emails() {
    let mailer = MemoryMailer::new();
    for i in 0..MemoryMailer::KEEP + 3 {
        let email = Email {
            to: format!("u{}@example.com", i % 2),
            subject: format!("#{i}"),
            html: String::new(),
            text: String::new(),
            at: Timestamp(T0),
            headers: vec![],
        };
        Mailer::send(&mailer, &email).await.expect("sent");
    }
    let all = mailer.sent(None);
    assert_eq!(all.len(), MemoryMailer::KEEP);
    assert_eq!(all[0].subject, "#3");
    assert_eq!(
        all[all.len() - 1].subject,
        format!("#{}", MemoryMailer::KEEP + 2)
    );
}
