//! The in-memory store: the local server's default. One lock around the
//! whole state makes every unit of work atomic, and it checks the same
//! conditions a DynamoDB transaction does (versions, uniqueness, never
//! below zero), so a use case cannot tell the difference.
//!
//! The local server's hot reads come from indexes kept beside the rows
//! (the service lists, each user's purchases and sales, due timers,
//! unsent emails), so a request or a
//! timer tick costs the same with a hundred thousand orders as with ten.

use crate::ports::*;
use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use khamsa_domain::Timestamp;
use khamsa_domain::file::FileRecord;
use khamsa_domain::ids::{
    FileId, MessageId, OfferId, OrderId, OutboxId, PostingId, RequestId, ServiceId, TopupId,
    UserId, WithdrawalId,
};
use khamsa_domain::ledger::{Account, Posting, UserAccount};
use khamsa_domain::money::Money;
use khamsa_domain::order::{Order, Timer, TimerKind};
use khamsa_domain::request::{Offer, Request, RequestStatus};
use khamsa_domain::review::Review;
use khamsa_domain::service::{Service, ServiceStats, ServiceStatus};
use khamsa_domain::topup::{Topup, TopupStatus};
use khamsa_domain::withdrawal::Withdrawal;
use rust_decimal::Decimal;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt;
use std::sync::Mutex;

#[derive(Default)]
struct State {
    profiles: HashMap<UserId, Profile>,
    accounts: BTreeMap<Account, Decimal>,
    totals: crate::totals::LedgerTotals,
    services: HashMap<ServiceId, Service>,
    stats: HashMap<ServiceId, ServiceStats>,
    seller_stats: HashMap<UserId, ServiceStats>,
    orders: HashMap<OrderId, Order>,
    messages: HashMap<OrderId, Vec<Message>>,
    message_ids: HashSet<MessageId>,
    files: HashMap<(OrderId, FileId), FileRecord>,
    reviews: HashMap<OrderId, Review>,
    requests: HashMap<RequestId, Request>,
    offers: HashMap<RequestId, Vec<Offer>>,
    offer_ids: HashSet<OfferId>,
    withdrawals: HashMap<WithdrawalId, Withdrawal>,
    topups: HashMap<TopupId, Topup>,
    postings: HashMap<PostingId, Posting>,
    ledger: HashMap<UserId, Vec<LedgerLine>>,
    timers: BTreeMap<(OrderId, TimerKind), Timestamp>,
    /// `timers` in firing order, as `due_timers` answers.
    timers_due: BTreeSet<(Timestamp, TimerKind, OrderId)>,
    /// Each timer's queue marker and failed attempts at its due time; reset
    /// when the timer is set again or cleared.
    timer_life: HashMap<(OrderId, TimerKind), (u32, Option<Timestamp>)>,
    /// Timers given up on after too many failed firings, for an operator.
    parked: BTreeMap<(OrderId, TimerKind), TimerEntry>,
    outbox: BTreeMap<OutboxId, OutboxRow>,
    /// The ids of `outbox` rows not yet sent.
    unsent: BTreeSet<OutboxId>,
    delivery: HashMap<OutboxId, Delivery>,
    /// Unsent, not failed rows by `queue_at`: what `outbox_due` reads.
    outbox_queue: BTreeSet<(Timestamp, OutboxId)>,
    service_index: ServiceIndex,
    /// Each buyer's and each seller's orders, for their lists.
    purchases: HashMap<UserId, BTreeSet<Key<OrderId>>>,
    sales: HashMap<UserId, BTreeSet<Key<OrderId>>>,
    /// Each user's inbox, newest activity first, and each entry's time
    /// (to move it).
    inbox: HashMap<UserId, BTreeSet<Key<OrderId>>>,
    inbox_at: HashMap<(UserId, OrderId), i64>,
    idempotency: HashMap<String, IdempotencyRecord>,
    seq: u64,
}

/// A row's place in a newest-first list: the key its cursor carries. Ids
/// order as their strings do, so this is the cursor's order.
type Key<Id> = (i64, Id);
type ListKey = Key<ServiceId>;

fn list_key(x: &Service) -> ListKey {
    (x.created_at.millis(), x.id.clone())
}

fn order_key(o: &Order) -> Key<OrderId> {
    (o.placed_at.millis(), o.id.clone())
}

/// The service lists the public pages read, kept sorted.
#[derive(Default)]
struct ServiceIndex {
    active: BTreeSet<ListKey>,
    active_by_category: HashMap<String, BTreeSet<ListKey>>,
    /// Every status: a seller's own list shows them all.
    by_seller: HashMap<UserId, BTreeSet<ListKey>>,
}

impl ServiceIndex {
    fn insert(&mut self, x: &Service) {
        let k = list_key(x);
        if x.status == ServiceStatus::Active {
            self.active.insert(k.clone());
            self.active_by_category
                .entry(x.draft.category.clone())
                .or_default()
                .insert(k.clone());
        }
        self.by_seller
            .entry(x.seller_id.clone())
            .or_default()
            .insert(k);
    }

    fn remove(&mut self, x: &Service) {
        let k = list_key(x);
        self.active.remove(&k);
        if let Some(set) = self.active_by_category.get_mut(&x.draft.category) {
            set.remove(&k);
            if set.is_empty() {
                self.active_by_category.remove(&x.draft.category);
            }
        }
        if let Some(set) = self.by_seller.get_mut(&x.seller_id) {
            set.remove(&k);
        }
    }
}

#[derive(Default)]
pub struct MemoryStore {
    state: Mutex<State>,
    /// How many units of work were committed: read by a cache of what was
    /// rendered from this store (the local server's `GET /services`
    /// pages), which a different number makes stale. Commits are the only
    /// writes to services and their stats.
    commits: std::sync::atomic::AtomicU64,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// The number of units of work committed so far. Read it before
    /// reading the store: whatever is read after it is at least as new.
    pub fn commits(&self) -> u64 {
        self.commits.load(std::sync::atomic::Ordering::Acquire)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave a half-applied unit of
        // work (all checks run before any change), so the data is sound.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Cursors are opaque to clients: the sort key of the last item returned.
fn encode_cursor(key: &(i64, String)) -> String {
    URL_SAFE_NO_PAD.encode(format!("{}|{}", key.0, key.1))
}

fn decode_cursor(c: &str) -> StoreResult<(i64, String)> {
    let raw = URL_SAFE_NO_PAD
        .decode(c)
        .map_err(|_| StoreError::BadCursor)?;
    let s = String::from_utf8(raw).map_err(|_| StoreError::BadCursor)?;
    let (ms, id) = s.split_once('|').ok_or(StoreError::BadCursor)?;
    Ok((
        ms.parse().map_err(|_| StoreError::BadCursor)?,
        id.to_owned(),
    ))
}

/// Sorts by key (descending when `newest_first`) and cuts one page.
fn paginate<T: Clone>(
    mut items: Vec<T>,
    key: impl Fn(&T) -> (i64, String),
    newest_first: bool,
    page: &PageReq,
) -> StoreResult<Page<T>> {
    items.sort_by_key(&key);
    if newest_first {
        items.reverse();
    }
    let after = page.cursor.as_deref().map(decode_cursor).transpose()?;
    let mut rest: Vec<T> = match after {
        None => items,
        Some(c) => items
            .into_iter()
            .filter(|t| if newest_first { key(t) < c } else { key(t) > c })
            .collect(),
    };
    let limit = page.limit.max(1);
    let next_cursor = (rest.len() > limit).then(|| encode_cursor(&key(&rest[limit - 1])));
    rest.truncate(limit);
    Ok(Page {
        items: rest,
        next_cursor,
    })
}

/// One newest-first page walked off a sorted index, keeping the entries
/// `pick` answers for: the same page and cursor `paginate` cuts, without
/// sorting everything first.
fn index_page<Id: Ord + fmt::Display, T>(
    index: &BTreeSet<Key<Id>>,
    page: &PageReq,
    id: impl Fn(String) -> Id,
    pick: impl Fn(&Id) -> Option<T>,
) -> StoreResult<Page<T>> {
    let after = page
        .cursor
        .as_deref()
        .map(decode_cursor)
        .transpose()?
        .map(|(ms, s)| (ms, id(s)));
    let keys: Box<dyn Iterator<Item = &Key<Id>>> = match &after {
        None => Box::new(index.iter().rev()),
        Some(c) => Box::new(index.range(..c).rev()),
    };
    let limit = page.limit.max(1);
    let mut items = Vec::new();
    let mut last: Option<&Key<Id>> = None;
    let mut more = false;
    for k in keys {
        if let Some(t) = pick(&k.1) {
            if items.len() == limit {
                more = true;
                break;
            }
            items.push(t);
            last = Some(k);
        }
    }
    let next_cursor = last
        .filter(|_| more)
        .map(|(ms, id)| encode_cursor(&(*ms, id.to_string())));
    Ok(Page { items, next_cursor })
}

/// A user account never goes negative; if one did, it reads as zero.
fn money(d: Decimal) -> Money {
    Money::from_decimal(d).unwrap_or(Money::ZERO)
}

fn check_version(stored: Option<u64>, given: u64, what: &str) -> Result<(), CommitError> {
    match (stored, given) {
        (None, 0) => Ok(()),
        (Some(v), g) if v == g && g > 0 => Ok(()),
        _ => Err(CommitError::Conflict(what.to_owned())),
    }
}

#[async_trait]
impl Store for MemoryStore {
    async fn profile(&self, id: &UserId) -> StoreResult<Option<Profile>> {
        Ok(self.lock().profiles.get(id).cloned())
    }

    async fn balances(&self, id: &UserId) -> StoreResult<Balances> {
        let s = self.lock();
        let get = |a| {
            money(
                s.accounts
                    .get(&Account::user(id, a))
                    .copied()
                    .unwrap_or_default(),
            )
        };
        Ok(Balances {
            balance: get(UserAccount::Balance),
            earnings_pending: get(UserAccount::EarningsPending),
            earnings_available: get(UserAccount::EarningsAvailable),
            withdrawals_in_flight: get(UserAccount::WithdrawalsInFlight),
        })
    }

    async fn service(&self, id: &ServiceId) -> StoreResult<Option<(Service, ServiceStats)>> {
        let s = self.lock();
        Ok(s.services
            .get(id)
            .map(|x| (x.clone(), s.stats.get(id).copied().unwrap_or_default())))
    }

    async fn services(
        &self,
        q: &ServiceQuery,
        page: &PageReq,
    ) -> StoreResult<Page<(Service, ServiceStats)>> {
        let s = self.lock();
        let with_stats = |x: &Service| (x.clone(), s.stats.get(&x.id).copied().unwrap_or_default());
        let empty = BTreeSet::new();
        let ix = &s.service_index;
        let (index, keep): (&BTreeSet<ListKey>, Box<dyn Fn(&Service) -> bool>) = match q {
            ServiceQuery::Active { category: None } => (&ix.active, Box::new(|_| true)),
            ServiceQuery::Active { category: Some(c) } => (
                ix.active_by_category.get(c).unwrap_or(&empty),
                Box::new(|_| true),
            ),
            ServiceQuery::BySeller {
                seller,
                only_active,
            } => (
                ix.by_seller.get(seller).unwrap_or(&empty),
                Box::new(move |x| !only_active || x.status == ServiceStatus::Active),
            ),
            ServiceQuery::SellerInCategory { seller, category } => (
                ix.by_seller.get(seller).unwrap_or(&empty),
                Box::new(move |x| {
                    x.status == ServiceStatus::Active && x.draft.category == *category
                }),
            ),
            // Memory holds every active service in one index: rank them all
            // (DynamoDB reads the probe's partition of its word index).
            ServiceQuery::Search {
                q,
                category,
                seller,
            } => {
                let found = ix
                    .active
                    .iter()
                    .filter_map(|k| s.services.get(&k.1))
                    .filter(|x| category.as_ref().is_none_or(|c| x.draft.category == *c))
                    .filter(|x| seller.as_ref().is_none_or(|u| x.seller_id == *u))
                    .map(with_stats)
                    .collect();
                return ranked_page(q.rank(found), page);
            }
            // Moderation's lists: rare, and small next to the public ones.
            ServiceQuery::ByStatus(_) | ServiceQuery::PendingRevision => {
                let items = s
                    .services
                    .values()
                    .filter(|x| match q {
                        ServiceQuery::ByStatus(st) => x.status == *st,
                        _ => x.pending_revision.is_some(),
                    })
                    .map(with_stats)
                    .collect();
                return paginate(
                    items,
                    |(x, _)| (x.created_at.millis(), x.id.to_string()),
                    true,
                    page,
                );
            }
        };
        index_page(index, page, ServiceId::new, |id| {
            s.services.get(id).filter(|x| keep(x)).map(with_stats)
        })
    }

    async fn seller_stats(&self, id: &UserId) -> StoreResult<ServiceStats> {
        Ok(self
            .lock()
            .seller_stats
            .get(id)
            .copied()
            .unwrap_or_default())
    }

    async fn order(&self, id: &OrderId) -> StoreResult<Option<Order>> {
        Ok(self.lock().orders.get(id).cloned())
    }

    async fn orders(&self, q: &OrderQuery, page: &PageReq) -> StoreResult<Page<Order>> {
        let s = self.lock();
        let (index, user, status) = match q {
            OrderQuery::Purchases(u, st) => (&s.purchases, u, st),
            OrderQuery::Sales(u, st) => (&s.sales, u, st),
            OrderQuery::OpenDisputes => {
                let open: Vec<Order> = s
                    .orders
                    .values()
                    .filter(|o| o.dispute_open())
                    .cloned()
                    .collect();
                let opened = |o: &Order| {
                    let at = o.dispute.as_ref().map_or(0, |d| d.opened_at.millis());
                    (at, o.id.to_string())
                };
                return paginate(open, opened, true, page);
            }
        };
        let empty = BTreeSet::new();
        index_page(
            index.get(user).unwrap_or(&empty),
            page,
            OrderId::new,
            |id| {
                s.orders
                    .get(id)
                    .filter(|o| status.is_none_or(|st| o.status == st))
                    .cloned()
            },
        )
    }

    async fn messages(&self, order: &OrderId, page: &PageReq) -> StoreResult<Page<Message>> {
        let items = self.lock().messages.get(order).cloned().unwrap_or_default();
        paginate(items, |m| (m.at.millis(), m.id.to_string()), true, page)
    }

    async fn inbox(&self, user: &UserId, page: &PageReq) -> StoreResult<Page<Order>> {
        let s = self.lock();
        let empty = BTreeSet::new();
        index_page(
            s.inbox.get(user).unwrap_or(&empty),
            page,
            OrderId::new,
            |id| s.orders.get(id).filter(|o| o.unread_for(user) > 0).cloned(),
        )
    }

    async fn file(&self, order: &OrderId, id: &FileId) -> StoreResult<Option<FileRecord>> {
        Ok(self.lock().files.get(&(order.clone(), id.clone())).cloned())
    }

    async fn files(&self, order: &OrderId) -> StoreResult<Vec<FileRecord>> {
        let mut v: Vec<FileRecord> = self
            .lock()
            .files
            .iter()
            .filter(|((o, _), _)| o == order)
            .map(|(_, f)| f.clone())
            .collect();
        v.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(v)
    }

    async fn review(&self, order: &OrderId) -> StoreResult<Option<Review>> {
        Ok(self.lock().reviews.get(order).cloned())
    }

    async fn reviews(&self, service: &ServiceId, page: &PageReq) -> StoreResult<Page<Review>> {
        let items = self
            .lock()
            .reviews
            .values()
            .filter(|r| r.service_id == *service)
            .cloned()
            .collect();
        paginate(
            items,
            |r| (r.created_at.millis(), r.order_id.to_string()),
            true,
            page,
        )
    }

    async fn request(&self, id: &RequestId) -> StoreResult<Option<Request>> {
        Ok(self.lock().requests.get(id).cloned())
    }

    async fn open_requests(&self, page: &PageReq) -> StoreResult<Page<Request>> {
        let items = self
            .lock()
            .requests
            .values()
            .filter(|r| r.status == RequestStatus::Open)
            .cloned()
            .collect();
        paginate(
            items,
            |r| (r.created_at.millis(), r.id.to_string()),
            true,
            page,
        )
    }

    async fn offers(&self, request: &RequestId) -> StoreResult<Vec<Offer>> {
        let mut v = self.lock().offers.get(request).cloned().unwrap_or_default();
        v.sort_by(|a, b| (a.at, &a.id).cmp(&(b.at, &b.id)));
        Ok(v)
    }

    async fn withdrawal(&self, id: &WithdrawalId) -> StoreResult<Option<Withdrawal>> {
        Ok(self.lock().withdrawals.get(id).cloned())
    }

    async fn withdrawals(
        &self,
        q: &WithdrawalQuery,
        page: &PageReq,
    ) -> StoreResult<Page<Withdrawal>> {
        let items = self
            .lock()
            .withdrawals
            .values()
            .filter(|w| match q {
                WithdrawalQuery::ByUser(u) => w.user_id == *u,
                WithdrawalQuery::ByStatus(st) => w.status == *st,
            })
            .cloned()
            .collect();
        paginate(
            items,
            |w| (w.created_at.millis(), w.id.to_string()),
            true,
            page,
        )
    }

    async fn topup(&self, id: &TopupId) -> StoreResult<Option<Topup>> {
        Ok(self.lock().topups.get(id).cloned())
    }

    async fn topups(&self, q: &TopupQuery, page: &PageReq) -> StoreResult<Page<Topup>> {
        let items = self
            .lock()
            .topups
            .values()
            .filter(|t| match q {
                TopupQuery::ByUser(u) => t.user_id == *u,
                TopupQuery::PendingOf(u) => t.user_id == *u && t.status == TopupStatus::Pending,
                TopupQuery::ExpiringBy(at) => t.is_due_to_expire(*at),
                TopupQuery::ProviderOrder(o) => {
                    t.checkout.as_ref().is_some_and(|c| c.order_id == *o)
                }
                TopupQuery::Capture(c) => t.capture_id.as_deref() == Some(c.as_str()),
            })
            .cloned()
            .collect();
        paginate(
            items,
            |t| (t.created_at.millis(), t.id.to_string()),
            true,
            page,
        )
    }

    async fn ledger(&self, user: &UserId, page: &PageReq) -> StoreResult<Page<LedgerLine>> {
        let items = self.lock().ledger.get(user).cloned().unwrap_or_default();
        paginate(
            items,
            |l| (l.at.millis(), format!("{:020}", l.seq)),
            true,
            page,
        )
    }

    async fn due_timers(&self, until: Timestamp, limit: usize) -> StoreResult<Vec<Timer>> {
        Ok(self
            .lock()
            .timers_due
            .iter()
            .take_while(|(due, _, _)| *due <= until)
            .take(limit)
            .map(|(due, kind, order_id)| Timer {
                order_id: order_id.clone(),
                kind: *kind,
                due: *due,
            })
            .collect())
    }

    async fn timers_to_queue(&self, now: Timestamp, limit: usize) -> StoreResult<Vec<TimerEntry>> {
        let s = self.lock();
        let until = now.plus_ms(TIMER_HORIZON_MS);
        Ok(s.timers_due
            .iter()
            .take_while(|(due, _, _)| *due <= until)
            .filter_map(|(due, kind, order_id)| {
                let (attempts, queued_until) = s
                    .timer_life
                    .get(&(order_id.clone(), *kind))
                    .copied()
                    .unwrap_or_default();
                queued_until.is_none_or(|q| q <= now).then(|| TimerEntry {
                    timer: Timer {
                        order_id: order_id.clone(),
                        kind: *kind,
                        due: *due,
                    },
                    attempts,
                    queued_until,
                })
            })
            .take(limit)
            .collect())
    }

    async fn claim_timer(&self, t: &TimerEntry, until: Timestamp) -> StoreResult<bool> {
        let mut s = self.lock();
        let key = (t.timer.order_id.clone(), t.timer.kind);
        if s.timers.get(&key) != Some(&t.timer.due) {
            return Ok(false);
        }
        let life = s.timer_life.entry(key).or_default();
        if life.1 != t.queued_until {
            return Ok(false);
        }
        life.1 = Some(until);
        Ok(true)
    }

    async fn timer_failed(&self, t: &Timer, max_attempts: u32) -> StoreResult<TimerFailure> {
        let mut s = self.lock();
        let key = (t.order_id.clone(), t.kind);
        if s.timers.get(&key) != Some(&t.due) {
            return Ok(TimerFailure::Gone);
        }
        let life = s.timer_life.entry(key.clone()).or_default();
        life.0 += 1;
        let (attempts, queued_until) = *life;
        if attempts < max_attempts {
            return Ok(TimerFailure::Retry { attempts });
        }
        s.timers.remove(&key);
        s.timer_life.remove(&key);
        s.timers_due.remove(&(t.due, t.kind, t.order_id.clone()));
        s.parked.insert(
            key,
            TimerEntry {
                timer: t.clone(),
                attempts,
                queued_until,
            },
        );
        Ok(TimerFailure::Parked { attempts })
    }

    async fn outbox_row(&self, id: &OutboxId) -> StoreResult<Option<OutboxRow>> {
        Ok(self.lock().outbox.get(id).cloned())
    }

    async fn outbox_entry(&self, id: &OutboxId) -> StoreResult<Option<OutboxEntry>> {
        let s = self.lock();
        Ok(s.outbox.get(id).map(|row| OutboxEntry {
            row: row.clone(),
            delivery: s.delivery.get(id).cloned().unwrap_or_default(),
        }))
    }

    async fn outbox_due(&self, now: Timestamp, limit: usize) -> StoreResult<Vec<OutboxEntry>> {
        let s = self.lock();
        Ok(s.outbox_queue
            .iter()
            .take_while(|(at, _)| *at <= now)
            .take(limit)
            .filter_map(|(_, id)| {
                Some(OutboxEntry {
                    row: s.outbox.get(id)?.clone(),
                    delivery: s.delivery.get(id).cloned().unwrap_or_default(),
                })
            })
            .collect())
    }

    async fn claim_outbox(&self, e: &OutboxEntry, until: Timestamp) -> StoreResult<bool> {
        let mut s = self.lock();
        let id = &e.row.id;
        let Some(d) = s.delivery.get(id).cloned() else {
            return Ok(false);
        };
        let Some(row) = s.outbox.get(id) else {
            return Ok(false);
        };
        let now = OutboxEntry {
            row: row.clone(),
            delivery: d,
        };
        if now.row.sent_at.is_some()
            || now.delivery.failure.is_some()
            || now.delivery.queued_until != e.delivery.queued_until
        {
            return Ok(false);
        }
        s.outbox_queue.remove(&(now.queue_at(), id.clone()));
        s.outbox_queue.insert((until, id.clone()));
        if let Some(d) = s.delivery.get_mut(id) {
            d.queued_until = Some(until);
        }
        Ok(true)
    }

    async fn outbox_attempt(
        &self,
        id: &OutboxId,
        attempts: u32,
        failure: Option<String>,
    ) -> StoreResult<()> {
        let mut s = self.lock();
        let Some(row) = s.outbox.get(id).cloned() else {
            return Ok(());
        };
        let Some(d) = s.delivery.get_mut(id) else {
            return Ok(());
        };
        d.attempts = attempts;
        d.sending_at = None;
        d.sending_by = None;
        if failure.is_some() {
            d.failure = failure;
            let at = OutboxEntry {
                row,
                delivery: d.clone(),
            }
            .queue_at();
            s.outbox_queue.remove(&(at, id.clone()));
            s.unsent.remove(id);
        }
        Ok(())
    }

    async fn unsent_outbox(&self, limit: usize) -> StoreResult<Vec<OutboxRow>> {
        let s = self.lock();
        Ok(s.unsent
            .iter()
            .take(limit)
            .filter_map(|id| s.outbox.get(id).cloned())
            .collect())
    }

    async fn failed_outbox(&self, page: &PageReq) -> StoreResult<Page<OutboxEntry>> {
        let s = self.lock();
        let items = s
            .delivery
            .iter()
            .filter(|(_, d)| d.failure.is_some())
            .filter_map(|(id, d)| {
                Some(OutboxEntry {
                    row: s.outbox.get(id)?.clone(),
                    delivery: d.clone(),
                })
            })
            .collect();
        drop(s);
        paginate(items, |e| (0, e.row.id.to_string()), true, page)
    }

    async fn retry_outbox(&self, id: &OutboxId, now: Timestamp) -> StoreResult<Rearm> {
        let mut s = self.lock();
        if !s.outbox.contains_key(id) {
            return Ok(Rearm::Missing);
        }
        let Some(d) = s.delivery.get_mut(id) else {
            return Ok(Rearm::Missing);
        };
        if d.failure.is_none() {
            return Ok(Rearm::NotStuck);
        }
        *d = Delivery {
            queued_until: Some(now),
            ..Delivery::default()
        };
        s.unsent.insert(id.clone());
        s.outbox_queue.insert((now, id.clone()));
        Ok(Rearm::Rearmed)
    }

    async fn claim_send(&self, id: &OutboxId, token: &str, now: Timestamp) -> StoreResult<bool> {
        let mut s = self.lock();
        let unsent = s.outbox.get(id).is_some_and(|r| r.sent_at.is_none());
        match s.delivery.get_mut(id) {
            Some(d)
                if unsent
                    && d.failure.is_none()
                    && d.sending_by.as_deref().is_none_or(|t| t == token) =>
            {
                d.sending_at = Some(now);
                d.sending_by = Some(token.to_owned());
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn mark_sent(&self, id: &OutboxId, at: Timestamp) -> StoreResult<()> {
        let mut s = self.lock();
        if let Some(d) = s.delivery.get_mut(id) {
            d.sending_at = None;
            d.sending_by = None;
        }
        let failed = s.delivery.get(id).is_some_and(|d| d.failure.is_some());
        if let Some(r) = s.outbox.get_mut(id)
            && r.sent_at.is_none()
            && !failed
        {
            r.sent_at = Some(at);
            let row = r.clone();
            s.unsent.remove(id);
            let delivery = s.delivery.get(id).cloned().unwrap_or_default();
            let queued = OutboxEntry { row, delivery }.queue_at();
            s.outbox_queue.remove(&(queued, id.clone()));
        }
        Ok(())
    }

    async fn idempotency(
        &self,
        scope: &str,
        now: Timestamp,
    ) -> StoreResult<Option<IdempotencyRecord>> {
        Ok(self
            .lock()
            .idempotency
            .get(scope)
            .filter(|r| r.expires_at > now)
            .cloned())
    }

    async fn all_balances(&self) -> StoreResult<Vec<(Account, Decimal)>> {
        Ok(self
            .lock()
            .accounts
            .iter()
            .map(|(a, d)| (a.clone(), *d))
            .collect())
    }

    async fn ledger_totals(&self) -> StoreResult<crate::totals::LedgerTotals> {
        Ok(self.lock().totals)
    }

    async fn commit(&self, uow: UnitOfWork) -> Result<(), CommitError> {
        let mut s = self.lock();
        // Every check first, then every change: all or nothing.
        if let Some(r) = &uow.idempotency
            && s.idempotency
                .get(&r.scope)
                .is_some_and(|old| old.expires_at > r.created_at)
        {
            return Err(CommitError::IdempotencyExists);
        }
        for u in &uow.not_on_hold {
            if s.profiles.get(u).is_some_and(|p| p.payment_hold) {
                return Err(CommitError::PaymentHold(u.clone()));
            }
        }
        for w in &uow.writes {
            match w {
                Write::Profile(p) => check_version(
                    s.profiles.get(&p.id).map(|x| x.version),
                    p.version,
                    "profile",
                )?,
                Write::Service(x) => check_version(
                    s.services.get(&x.id).map(|x| x.version),
                    x.version,
                    "service",
                )?,
                Write::Order(x) => {
                    check_version(s.orders.get(&x.id).map(|x| x.version), x.version, "order")?
                }
                Write::Review(x) => check_version(
                    s.reviews.get(&x.order_id).map(|x| x.version),
                    x.version,
                    "review",
                )?,
                Write::Request(x) => check_version(
                    s.requests.get(&x.id).map(|x| x.version),
                    x.version,
                    "request",
                )?,
                Write::Withdrawal(x) => check_version(
                    s.withdrawals.get(&x.id).map(|x| x.version),
                    x.version,
                    "withdrawal",
                )?,
                Write::Message(m) => {
                    if s.message_ids.contains(&m.id) {
                        return Err(CommitError::Conflict("message".into()));
                    }
                }
                Write::Offer(o) => {
                    let dup = s
                        .offers
                        .get(&o.request_id)
                        .is_some_and(|v| v.iter().any(|x| x.seller_id == o.seller_id));
                    if dup || s.offer_ids.contains(&o.id) {
                        return Err(CommitError::Conflict("offer".into()));
                    }
                }
                Write::Topup(t) => {
                    check_version(s.topups.get(&t.id).map(|x| x.version), t.version, "topup")?
                }
                Write::File(f) => check_version(
                    s.files
                        .get(&(f.order_id.clone(), f.id.clone()))
                        .map(|x| x.version),
                    f.version,
                    "file",
                )?,
            }
        }
        for p in &uow.postings {
            if s.postings.contains_key(p.id()) || !p.is_balanced() {
                return Err(CommitError::Conflict(format!("posting {}", p.id())));
            }
        }
        let net = Posting::net_by_account(&uow.postings);
        for (account, delta) in &net {
            let now = s.accounts.get(account).copied().unwrap_or_default();
            if !account.may_go_negative() && now + delta < Decimal::ZERO {
                return Err(CommitError::Overdraft(account.clone()));
            }
        }

        let totals = crate::totals::LedgerTotals::of_unit(&uow);
        s.totals.merge(&totals);
        for w in uow.writes {
            match w {
                Write::Profile(mut p) => {
                    p.version += 1;
                    s.profiles.insert(p.id.clone(), p);
                }
                Write::Service(mut x) => {
                    x.version += 1;
                    let st = &mut *s;
                    if let Some(old) = st.services.get(&x.id) {
                        st.service_index.remove(old);
                    }
                    st.service_index.insert(&x);
                    st.services.insert(x.id.clone(), x);
                }
                Write::Order(mut x) => {
                    x.version += 1;
                    let st = &mut *s;
                    if let Some(old) = st.orders.get(&x.id) {
                        let k = order_key(old);
                        st.purchases
                            .entry(old.buyer_id.clone())
                            .or_default()
                            .remove(&k);
                        st.sales
                            .entry(old.seller_id.clone())
                            .or_default()
                            .remove(&k);
                    }
                    let k = order_key(&x);
                    st.purchases
                        .entry(x.buyer_id.clone())
                        .or_default()
                        .insert(k.clone());
                    st.sales.entry(x.seller_id.clone()).or_default().insert(k);
                    st.orders.insert(x.id.clone(), x);
                }
                Write::Review(mut x) => {
                    x.version += 1;
                    s.reviews.insert(x.order_id.clone(), x);
                }
                Write::Request(mut x) => {
                    x.version += 1;
                    s.requests.insert(x.id.clone(), x);
                }
                Write::Withdrawal(mut x) => {
                    x.version += 1;
                    s.withdrawals.insert(x.id.clone(), x);
                }
                Write::Message(m) => {
                    s.message_ids.insert(m.id.clone());
                    s.messages.entry(m.order_id.clone()).or_default().push(m);
                }
                Write::Offer(o) => {
                    s.offer_ids.insert(o.id.clone());
                    s.offers.entry(o.request_id.clone()).or_default().push(o);
                }
                Write::Topup(mut t) => {
                    t.version += 1;
                    s.topups.insert(t.id.clone(), t);
                }
                Write::File(mut f) => {
                    f.version += 1;
                    s.files.insert((f.order_id.clone(), f.id.clone()), f);
                }
            }
        }
        for p in uow.postings {
            for leg in p.legs() {
                let bal = s.accounts.entry(leg.account().clone()).or_default();
                *bal += leg.amount();
                let after = *bal;
                if let Account::User { user, account } = leg.account() {
                    s.seq += 1;
                    let line = LedgerLine {
                        user_id: user.clone(),
                        at: p.at(),
                        account: *account,
                        amount: leg.amount(),
                        balance_after: after,
                        kind: p.kind(),
                        order_id: p.order_id().cloned(),
                        withdrawal_id: p.withdrawal_id().cloned(),
                        seq: s.seq,
                    };
                    s.ledger.entry(user.clone()).or_default().push(line);
                }
            }
            s.postings.insert(p.id().clone(), p);
        }
        for c in uow.timers_cleared {
            let key = (c.order_id, c.kind);
            // A parked timer goes too, as its item does on DynamoDB.
            if s.parked
                .get(&key)
                .is_some_and(|p| c.only_if_due.is_none_or(|due| p.timer.due == due))
            {
                s.parked.remove(&key);
            }
            if c.only_if_due
                .is_none_or(|due| s.timers.get(&key) == Some(&due))
                && let Some(due) = s.timers.remove(&key)
            {
                s.timer_life.remove(&key);
                s.timers_due.remove(&(due, key.1, key.0));
            }
        }
        for t in uow.timers_set {
            let key = (t.order_id.clone(), t.kind);
            // A timer set again starts a new life: no marker, no attempts.
            s.timer_life.remove(&key);
            s.parked.remove(&key);
            if let Some(old) = s.timers.insert(key, t.due) {
                s.timers_due.remove(&(old, t.kind, t.order_id.clone()));
            }
            s.timers_due.insert((t.due, t.kind, t.order_id));
        }
        for x in uow.inbox {
            let st = &mut *s;
            let at_key = (x.user.clone(), x.order_id.clone());
            let list = st.inbox.entry(x.user.clone()).or_default();
            if let Some(old) = st.inbox_at.remove(&at_key) {
                list.remove(&(old, x.order_id.clone()));
            }
            if let Some(at) = x.at {
                list.insert((at.millis(), x.order_id.clone()));
                st.inbox_at.insert(at_key, at.millis());
            }
        }
        for r in uow.outbox {
            if let Some(old) = s.outbox.get(&r.id).cloned() {
                let delivery = s.delivery.get(&r.id).cloned().unwrap_or_default();
                let queued = OutboxEntry { row: old, delivery }.queue_at();
                s.outbox_queue.remove(&(queued, r.id.clone()));
            }
            let entry = OutboxEntry {
                row: r.clone(),
                delivery: Delivery::default(),
            };
            if r.sent_at.is_none() {
                s.unsent.insert(r.id.clone());
                s.outbox_queue.insert((entry.queue_at(), r.id.clone()));
            } else {
                s.unsent.remove(&r.id);
            }
            s.delivery.insert(r.id.clone(), Delivery::default());
            s.outbox.insert(r.id.clone(), r);
        }
        for (id, d) in uow.service_stats {
            let st = s.stats.entry(id).or_default();
            st.rating_count += d.rating_count;
            st.rating_sum += d.rating_sum;
            st.orders_completed += d.orders_completed;
        }
        for (id, d) in uow.seller_stats {
            let st = s.seller_stats.entry(id).or_default();
            st.rating_count += d.rating_count;
            st.rating_sum += d.rating_sum;
            st.orders_completed += d.orders_completed;
        }
        if let Some(r) = uow.idempotency {
            s.idempotency.insert(r.scope.clone(), r);
        }
        // Under the lock, after every change: a reader that then sees the
        // old count read nothing of this unit.
        self.commits
            .fetch_add(1, std::sync::atomic::Ordering::Release);
        Ok(())
    }
}
