//! The single-table key scheme; `DYNAMODB.md` is its table. Every item has
//! `pk`/`sk`; the five overloaded GSIs (`g1pk`/`g1sk` .. `g5pk`/`g5sk`) are
//! sparse: an item carries an index's attributes only while it belongs in
//! that list, so every list is one `Query` on one partition.

use khamsa_domain::Timestamp;
use khamsa_domain::ids::{
    FileId, OrderId, OutboxId, PostingId, RequestId, ServiceId, TopupId, UserId, WithdrawalId,
};
use khamsa_domain::ledger::{Account, UserAccount};
use khamsa_domain::order::{Order, OrderStatus, Timer, TimerKind};
use khamsa_domain::request::{Request, RequestStatus};
use khamsa_domain::review::Review;
use khamsa_domain::service::{Service, ServiceStatus};
use khamsa_domain::topup::{Topup, TopupStatus};
use khamsa_domain::withdrawal::{Withdrawal, WithdrawalStatus};

pub const PK: &str = "pk";
pub const SK: &str = "sk";
/// The entity type, for people reading the table.
pub const TY: &str = "ty";
/// Balances are `N` so that `ADD` and `>=` work on them.
pub const BALANCE: &str = "balance";
/// The `Account` an account item holds, for `all_balances`.
pub const ACCT: &str = "acct";
/// Seconds since the epoch: DynamoDB's TTL reads seconds, not ms.
pub const TTL: &str = "expires_at_s";
pub const RATING_COUNT: &str = "rating_count";
pub const RATING_SUM: &str = "rating_sum";
pub const ORDERS_COMPLETED: &str = "orders_completed";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Gsi {
    pub name: &'static str,
    pub pk: &'static str,
    pub sk: &'static str,
}

pub const G1: Gsi = Gsi {
    name: "gsi1",
    pk: "g1pk",
    sk: "g1sk",
};
pub const G2: Gsi = Gsi {
    name: "gsi2",
    pk: "g2pk",
    sk: "g2sk",
};
pub const G3: Gsi = Gsi {
    name: "gsi3",
    pk: "g3pk",
    sk: "g3sk",
};
pub const G4: Gsi = Gsi {
    name: "gsi4",
    pk: "g4pk",
    sk: "g4sk",
};
pub const G5: Gsi = Gsi {
    name: "gsi5",
    pk: "g5pk",
    sk: "g5sk",
};
pub const GSIS: [Gsi; 5] = [G1, G2, G3, G4, G5];

/// Timers, unsent emails and accounts are each read as one list, and are
/// written often: spread over shards so that no GSI partition takes every
/// write (1,000 WCU per partition; a transactional write costs two).
pub const TIMER_SHARDS: u32 = 4;
pub const OUTBOX_SHARDS: u32 = 4;
pub const ACCOUNT_SHARDS: u32 = 16;
/// Every top-up and payout touches `external`: 16 items, chosen by posting.
pub const EXTERNAL_SHARDS: u32 = 16;

pub type Key = (String, String);

/// FNV-1a: stable across builds and platforms, unlike `DefaultHasher`.
pub fn shard(s: &str, shards: u32) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in s.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h % shards.max(1)
}

/// A timestamp as text whose byte order is time order: the sign bit flipped
/// turns i64 order into u64 order, printed as 20 digits.
pub fn ts(t: Timestamp) -> String {
    format!("{:020}", (t.millis() as u64) ^ (1 << 63))
}

/// `ts#id`: the sort key of every "newest first" list, the same order as
/// the memory store's `(millis, id)`.
pub fn at_id(t: Timestamp, id: &str) -> String {
    format!("{}#{id}", ts(t))
}

fn k(pk: String, sk: &str) -> Key {
    (pk, sk.to_owned())
}

pub fn user_pk(u: &UserId) -> String {
    format!("USER#{u}")
}
pub fn profile(u: &UserId) -> Key {
    k(user_pk(u), "PROFILE")
}
pub const ACCOUNT_PREFIX: &str = "ACCT#";
pub fn user_account(u: &UserId, a: UserAccount) -> Key {
    (user_pk(u), format!("{ACCOUNT_PREFIX}{a}"))
}
pub const LEDGER_PREFIX: &str = "LEDGER#";
pub fn ledger_line(u: &UserId, at: Timestamp, seq: u64) -> Key {
    (user_pk(u), format!("{LEDGER_PREFIX}{}#{seq:020}", ts(at)))
}

pub fn order_pk(o: &OrderId) -> String {
    format!("ORD#{o}")
}
pub const ORDER_SK: &str = "ORD";
pub fn order(o: &OrderId) -> Key {
    k(order_pk(o), ORDER_SK)
}
pub fn escrow(o: &OrderId) -> Key {
    k(order_pk(o), "ESCROW")
}
pub const MESSAGE_PREFIX: &str = "MSG#";
pub fn message(o: &OrderId, at: Timestamp, id: &str) -> Key {
    (order_pk(o), format!("{MESSAGE_PREFIX}{}", at_id(at, id)))
}
pub const FILE_PREFIX: &str = "FILE#";
pub fn file(o: &OrderId, id: &FileId) -> Key {
    (order_pk(o), format!("{FILE_PREFIX}{id}"))
}
pub fn review(o: &OrderId) -> Key {
    k(order_pk(o), "REVIEW")
}
pub fn timer(o: &OrderId, kind: TimerKind) -> Key {
    (order_pk(o), format!("TIMER#{kind}"))
}

/// A party's inbox entry for an order: one per (order, party), so a new
/// message puts it again at its new time without reading the old one.
pub fn inbox(o: &OrderId, u: &UserId) -> Key {
    (order_pk(o), format!("INBOX#{u}"))
}
pub fn inbox_of(u: &UserId) -> String {
    format!("INBOX#{u}")
}
/// Newest activity first in the user's inbox partition (G1).
pub fn inbox_index(o: &OrderId, u: &UserId, at: Timestamp) -> IndexEntry {
    (G1, inbox_of(u), at_id(at, o.as_str()))
}

/// A seller's counters over all their services, beside their profile.
pub fn seller_stats(u: &UserId) -> Key {
    k(user_pk(u), "STATS")
}

pub fn service(id: &ServiceId) -> Key {
    k(format!("SVC#{id}"), "SVC")
}

pub fn request_pk(id: &RequestId) -> String {
    format!("REQ#{id}")
}
pub fn request(id: &RequestId) -> Key {
    k(request_pk(id), "REQ")
}
pub const OFFER_PREFIX: &str = "OFFER#";
/// Keyed by (request, seller): one offer per seller per request, enforced
/// by the key itself.
pub fn offer(r: &RequestId, seller: &UserId) -> Key {
    (request_pk(r), format!("{OFFER_PREFIX}{seller}"))
}

pub fn withdrawal(id: &WithdrawalId) -> Key {
    k(format!("WD#{id}"), "WD")
}
pub fn topup(id: &TopupId) -> Key {
    k(format!("TOPUP#{id}"), "TOPUP")
}
pub fn posting(id: &PostingId) -> Key {
    k(format!("POSTING#{id}"), "POSTING")
}
pub fn outbox(id: &OutboxId) -> Key {
    k(format!("OUTBOX#{id}"), "OUTBOX")
}
pub fn idempotency(scope: &str) -> Key {
    k(format!("IDEM#{scope}"), "IDEM")
}
pub fn platform(shard: u8) -> Key {
    k(format!("PLATFORM#{shard}"), "ACCT")
}
pub fn external(shard: u32) -> Key {
    k(format!("EXTERNAL#{shard}"), "ACCT")
}

/// The item that holds an account's balance. `external` is spread by the
/// posting that moves it.
pub fn account(a: &Account, posting: &PostingId) -> Key {
    match a {
        Account::User { user, account } => user_account(user, *account),
        Account::Escrow { order } => escrow(order),
        Account::Platform { shard } => platform(*shard),
        Account::PaymentFees => k("PAYMENTFEES".into(), "ACCT"),
        Account::PaymentLosses => k("PAYMENTLOSSES".into(), "ACCT"),
        Account::External => external(shard(posting.as_str(), EXTERNAL_SHARDS)),
    }
}

// ---- GSI partitions ----

pub fn svc_status(st: ServiceStatus) -> String {
    format!("SVCST#{st}")
}
pub fn svc_category(c: &str) -> String {
    format!("SVCCAT#{c}")
}
pub fn svc_seller(u: &UserId) -> String {
    format!("SVCSELLER#{u}")
}
pub fn svc_seller_active(u: &UserId) -> String {
    format!("SVCSELLERACTIVE#{u}")
}
pub const SVC_PENDING_REVISION: &str = "SVCPENDINGREV";
pub fn buyer(u: &UserId) -> String {
    format!("BUYER#{u}")
}
pub fn buyer_status(u: &UserId, st: OrderStatus) -> String {
    format!("BUYER#{u}#{st}")
}
pub fn seller(u: &UserId) -> String {
    format!("SELLER#{u}")
}
pub fn seller_status(u: &UserId, st: OrderStatus) -> String {
    format!("SELLER#{u}#{st}")
}
pub fn reviews_of(s: &ServiceId) -> String {
    format!("REVIEWS#{s}")
}
pub const OPEN_REQUESTS: &str = "REQOPEN";
pub fn wd_user(u: &UserId) -> String {
    format!("WDUSER#{u}")
}
pub fn wd_status(st: WithdrawalStatus) -> String {
    format!("WDST#{st}")
}
pub fn timers_shard(n: u32) -> String {
    format!("TIMERS#{n}")
}
pub fn outbox_shard(n: u32) -> String {
    format!("OUTBOX#{n}")
}
pub fn accounts_shard(n: u32) -> String {
    format!("ACCOUNTS#{n}")
}

/// The GSI entries of each entity: (index, partition, sort).
pub type IndexEntry = (Gsi, String, String);

pub fn service_index(s: &Service) -> Vec<IndexEntry> {
    let sort = at_id(s.created_at, s.id.as_str());
    let active = s.status == ServiceStatus::Active;
    let mut v = vec![
        (G1, svc_status(s.status), sort.clone()),
        (G3, svc_seller(&s.seller_id), sort.clone()),
    ];
    if active {
        v.push((G2, svc_category(&s.draft.category), sort.clone()));
        v.push((G4, svc_seller_active(&s.seller_id), sort.clone()));
    }
    if s.pending_revision.is_some() {
        v.push((G5, SVC_PENDING_REVISION.to_owned(), sort));
    }
    v
}

pub fn order_index(o: &Order) -> Vec<IndexEntry> {
    let sort = at_id(o.placed_at, o.id.as_str());
    let mut v = vec![
        (G1, buyer(&o.buyer_id), sort.clone()),
        (G2, buyer_status(&o.buyer_id, o.status), sort.clone()),
        (G3, seller(&o.seller_id), sort.clone()),
        (G4, seller_status(&o.seller_id, o.status), sort),
    ];
    // In the operators' list while open: the resolution's put drops it.
    if let Some(d) = o.dispute.as_ref().filter(|_| o.dispute_open()) {
        v.push((
            G5,
            OPEN_DISPUTES.to_owned(),
            at_id(d.opened_at, o.id.as_str()),
        ));
    }
    v
}

/// The operators' list of open disputes (one partition: disputes are rare).
pub const OPEN_DISPUTES: &str = "DISPUTES";

pub fn review_index(r: &Review) -> Vec<IndexEntry> {
    vec![(
        G1,
        reviews_of(&r.service_id),
        at_id(r.created_at, r.order_id.as_str()),
    )]
}

pub fn request_index(r: &Request) -> Vec<IndexEntry> {
    if r.status == RequestStatus::Open {
        vec![(
            G1,
            OPEN_REQUESTS.to_owned(),
            at_id(r.created_at, r.id.as_str()),
        )]
    } else {
        vec![]
    }
}

pub fn withdrawal_index(w: &Withdrawal) -> Vec<IndexEntry> {
    let sort = at_id(w.created_at, w.id.as_str());
    vec![
        (G1, wd_user(&w.user_id), sort.clone()),
        (G2, wd_status(w.status), sort),
    ]
}

// ---- Top-ups (issue 8) ----

pub fn topup_user(u: &UserId) -> String {
    format!("TOPUPUSER#{u}")
}
pub fn topup_pending_user(u: &UserId) -> String {
    format!("TOPUPPENDING#{u}")
}
/// One partition: few top-ups wait at once, and the sweeper reads them
/// by expiry.
pub const TOPUP_EXPIRY: &str = "TOPUPEXPIRY";
pub fn topup_provider_order(o: &str) -> String {
    format!("TOPUPORDER#{o}")
}
pub fn topup_capture(c: &str) -> String {
    format!("TOPUPCAPTURE#{c}")
}

/// The upper bound (inclusive) of the expiry sort keys for `at`.
pub fn topups_expiring_by(at: Timestamp) -> String {
    format!("{}#~", ts(at))
}

pub fn topup_index(t: &Topup) -> Vec<IndexEntry> {
    let sort = at_id(t.created_at, t.id.as_str());
    let mut v = vec![(G1, topup_user(&t.user_id), sort.clone())];
    if t.status == TopupStatus::Pending {
        v.push((G3, topup_pending_user(&t.user_id), sort.clone()));
        if t.capture_id.is_none()
            && let Some(e) = t.expires_at
        {
            v.push((G2, TOPUP_EXPIRY.to_owned(), at_id(e, t.id.as_str())));
        }
    }
    if let Some(c) = &t.checkout {
        v.push((G4, topup_provider_order(&c.order_id), sort.clone()));
    }
    if let Some(c) = &t.capture_id {
        v.push((G5, topup_capture(c), sort));
    }
    v
}

/// The digit that sorts timer kinds as the memory store does (`TimerKind`'s
/// declaration order).
pub fn kind_rank(k: TimerKind) -> u8 {
    match k {
        TimerKind::AutoCancel => 0,
        TimerKind::AutoComplete => 1,
        TimerKind::Reminder => 2,
        TimerKind::Clearing => 3,
        TimerKind::FilesExpire => 4,
    }
}

/// Due timers sort by (due, kind, order id), earliest first (G1, what
/// `due_timers` reads); the sweeper's queue list (G2) starts at the due
/// time too, and `claim_timer` moves an entry to its marker + the horizon.
pub fn timer_index(t: &Timer) -> Vec<IndexEntry> {
    vec![
        (
            G1,
            timers_shard(shard(t.order_id.as_str(), TIMER_SHARDS)),
            format!("{}#{}#{}", ts(t.due), kind_rank(t.kind), t.order_id),
        ),
        timer_queue_index(t, t.due),
    ]
}

/// The sweeper's entry for a timer, looked at from `at` on.
pub fn timer_queue_index(t: &Timer, at: Timestamp) -> IndexEntry {
    (
        G2,
        timer_queue_shard(shard(t.order_id.as_str(), TIMER_SHARDS)),
        format!("{}#{}#{}", ts(at), kind_rank(t.kind), t.order_id),
    )
}

pub fn timer_queue_shard(n: u32) -> String {
    format!("TIMERQ#{n}")
}

/// The sweeper's entry for an unsent, not failed email, looked at from
/// `at` on (its creation + the grace, then its queue marker).
pub fn outbox_queue_index(id: &OutboxId, at: Timestamp) -> IndexEntry {
    (
        G2,
        outbox_queue_shard(shard(id.as_str(), OUTBOX_SHARDS)),
        format!("{}#{id}", ts(at)),
    )
}

/// A failed row's entry, for the operators' list: one partition, as
/// failed rows are few, newest (id) last.
pub fn outbox_failed_index(id: &OutboxId) -> IndexEntry {
    (G1, OUTBOX_FAILED.to_owned(), id.to_string())
}

pub const OUTBOX_FAILED: &str = "OUTBOXF";

pub fn outbox_queue_shard(n: u32) -> String {
    format!("OUTBOXQ#{n}")
}

/// The upper bound (inclusive) of the queue-list sort keys for `at`.
pub fn queue_by(at: Timestamp) -> String {
    format!("{}#~", ts(at))
}

/// The upper bound (inclusive) of the due-timer sort keys for `until`:
/// `~` sorts after the kind digit.
pub fn timers_due_by(until: Timestamp) -> String {
    format!("{}#~", ts(until))
}

/// Only unsent rows are in the index: `mark_sent` removes the entry.
pub fn outbox_index(id: &OutboxId) -> IndexEntry {
    (
        G1,
        outbox_shard(shard(id.as_str(), OUTBOX_SHARDS)),
        id.to_string(),
    )
}

pub fn account_index(key: &Key) -> IndexEntry {
    let whole = format!("{}|{}", key.0, key.1);
    (G1, accounts_shard(shard(&whole, ACCOUNT_SHARDS)), whole)
}

/// The search index (product.md "Search"): one item per word head of an
/// active service, `SRCH#<head>` / `SVC#<id>`. Written whenever an active
/// service is written, never deleted on the request path: a search checks
/// each candidate against the service itself, so a stale entry costs one
/// read and is never shown.
pub const SEARCH_PREFIX: &str = "SRCH#";
pub fn search(head: &str, id: &ServiceId) -> Key {
    (format!("{SEARCH_PREFIX}{head}"), format!("SVC#{id}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_sort_as_text() {
        let xs = [i64::MIN, -5, -1, 0, 1, 999, 1_800_000_000_000, i64::MAX];
        for w in xs.windows(2) {
            assert!(ts(Timestamp(w[0])) < ts(Timestamp(w[1])), "{w:?}");
        }
        assert_eq!(ts(Timestamp(0)).len(), 20);
        assert_eq!(ts(Timestamp(i64::MAX)).len(), 20);
    }

    #[test]
    fn due_bound_covers_every_kind_at_that_time() {
        let t = Timer {
            order_id: OrderId::new("o"),
            kind: TimerKind::Clearing,
            due: Timestamp(10),
        };
        let sk = &timer_index(&t)[0].2;
        assert!(sk.as_str() <= timers_due_by(Timestamp(10)).as_str());
        assert!(sk.as_str() > timers_due_by(Timestamp(9)).as_str());
    }
}
