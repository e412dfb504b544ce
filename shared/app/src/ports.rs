//! The ports the use cases need, and the records that cross them. Adapters
//! (memory here; DynamoDB, SES and SQS beside them) implement these traits
//! and keep the same promises.

use async_trait::async_trait;
use khamsa_domain::file::FileRecord;
use khamsa_domain::ids::{
    FileId, MessageId, OrderId, OutboxId, RequestId, ServiceId, TopupId, UserId, WithdrawalId,
};
use khamsa_domain::ledger::{Account, Posting, PostingKind, UserAccount};
use khamsa_domain::notice::{EmailPrefs, Notice};
use khamsa_domain::order::{Order, OrderStatus, Timer, TimerKind};
use khamsa_domain::request::{Offer, Request};
use khamsa_domain::review::Review;
use khamsa_domain::search::SearchQuery;
use khamsa_domain::service::{Service, ServiceStats, ServiceStatus};
use khamsa_domain::text::{EmailAddress, Text};
use khamsa_domain::topup::Topup;
use khamsa_domain::withdrawal::{Withdrawal, WithdrawalStatus};
use khamsa_domain::{Money, Timestamp};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

pub mod payments;
pub use payments::{PaymentError, PaymentProvider, Payments};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Locale {
    Ar,
    En,
}

/// A user's profile, created on their first authenticated call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    pub id: UserId,
    pub email: EmailAddress,
    pub display_name: String,
    pub locale: Locale,
    pub paypal_email: Option<EmailAddress>,
    pub created_at: Timestamp,
    /// A payment was taken back after settlement (issue 8): no orders and
    /// no withdrawals until an operator clears it.
    #[serde(default)]
    pub payment_hold: bool,
    /// Which optional emails the user wants (`PATCH /me`); all by default.
    #[serde(default)]
    pub email_prefs: EmailPrefs,
    pub version: u64,
}

impl Profile {
    /// The display name was parsed at the edge (a single line).
    pub fn rename(&mut self, name: Text) {
        self.display_name = name.into_string();
    }
}

/// A user's four accounts, read together.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Balances {
    pub balance: Money,
    pub earnings_pending: Money,
    pub earnings_available: Money,
    pub withdrawals_in_flight: Money,
}

impl Balances {
    pub fn get(&self, a: UserAccount) -> Money {
        match a {
            UserAccount::Balance => self.balance,
            UserAccount::EarningsPending => self.earnings_pending,
            UserAccount::EarningsAvailable => self.earnings_available,
            UserAccount::WithdrawalsInFlight => self.withdrawals_in_flight,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    pub id: MessageId,
    pub order_id: OrderId,
    pub sender_id: UserId,
    pub text: String,
    pub at: Timestamp,
    /// Files attached to this message (product.md "Files").
    #[serde(default)]
    pub file_ids: Vec<FileId>,
}

impl Message {
    /// A message as sent: its text was parsed at the edge.
    pub fn new(
        id: MessageId,
        order_id: OrderId,
        sender_id: UserId,
        text: Text,
        at: Timestamp,
    ) -> Message {
        Message {
            id,
            order_id,
            sender_id,
            text: text.into_string(),
            at,
            file_ids: vec![],
        }
    }
}

/// One leg of a posting as its owner sees it in `GET /me/ledger`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerLine {
    pub user_id: UserId,
    pub at: Timestamp,
    pub account: UserAccount,
    pub amount: Decimal,
    pub balance_after: Decimal,
    pub kind: PostingKind,
    pub order_id: Option<OrderId>,
    pub withdrawal_id: Option<WithdrawalId>,
    /// Orders lines committed within the same millisecond.
    pub seq: u64,
}

/// An email to send, written in the same unit of work as the change that
/// caused it, so it is never lost and never sent for a change that failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxRow {
    pub id: OutboxId,
    pub notice: Notice,
    pub created_at: Timestamp,
    pub sent_at: Option<Timestamp>,
}

/// An outbox row's delivery life cycle, kept beside the row (the row
/// itself is what the use case wrote and never changes but for `sent_at`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    /// Sends tried and refused so far.
    #[serde(default)]
    pub attempts: u32,
    /// Queued for sending until then: no sweep queues it again before.
    #[serde(default)]
    pub queued_until: Option<Timestamp>,
    /// Given up, and why (a permanent SES refusal, a row that cannot be
    /// rendered, too many attempts, or an outcome unknown). A failed row is
    /// never queued again.
    #[serde(default)]
    pub failure: Option<String>,
    /// A sender claimed the row at this time and may be talking to SES
    /// now: no one else sends it. Cleared when the attempt's outcome is
    /// recorded; a claim older than `SENDING_LEASE_MS` belongs to a sender
    /// that died mid-send, so the outcome is unknown.
    #[serde(default)]
    pub sending_at: Option<Timestamp>,
    /// The claim's token: a retried claim write by the same sender (its
    /// first answer lost) finds its own token and still holds the claim.
    #[serde(default)]
    pub sending_by: Option<String>,
}

/// An outbox row with its delivery state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxEntry {
    pub row: OutboxRow,
    pub delivery: Delivery,
}

/// What an operator's re-arm of a failed email or a parked timer found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rearm {
    /// It was failed (parked): its attempts are reset and it is queued.
    Rearmed,
    /// It is not failed (parked): sent, waiting, or already re-armed.
    /// Nothing changed.
    NotStuck,
    Missing,
}

/// A new row is left to the path that wrote it (its message is probably in
/// flight) for this long before a sweep may queue it, so the sweeper does
/// not race it into a second email.
pub const OUTBOX_GRACE_MS: i64 = 60 * 1000;

impl OutboxEntry {
    /// When a sweep may queue it next: its marker, else after the grace.
    pub fn queue_at(&self) -> Timestamp {
        self.delivery
            .queued_until
            .unwrap_or(self.row.created_at.plus_ms(OUTBOX_GRACE_MS))
    }
}

/// How far ahead the sweeper queues timers: SQS's delay limit, 15 minutes.
/// The stores index a queued timer at `queued_until` + this, so that one
/// query finds the timers due within reach whose marker has lapsed.
pub const TIMER_HORIZON_MS: i64 = 900 * 1000;

/// A timer row with its queueing life cycle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimerEntry {
    pub timer: Timer,
    /// Firings tried and failed at this due time.
    pub attempts: u32,
    pub queued_until: Option<Timestamp>,
}

/// What recording a failed firing did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimerFailure {
    /// Counted; it will be tried again.
    Retry { attempts: u32 },
    /// Parked after too many attempts: out of the due lists for good, kept
    /// for an operator (alarm `TimersParked`).
    Parked { attempts: u32 },
    /// The timer is gone or was re-armed meanwhile: nothing to count.
    Gone,
}

/// The first completed answer to an `Idempotency-Key`, kept 24 hours.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdempotencyRecord {
    /// caller, method, path and the client's key.
    pub scope: String,
    pub request_hash: String,
    pub status: u16,
    pub body: String,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

/// An entity write. Versioned entities carry the version they were read
/// at (0 for new); the store refuses the write if the stored one differs,
/// and stores version + 1.
#[derive(Debug, Clone, PartialEq)]
pub enum Write {
    Profile(Profile),
    Service(Service),
    Order(Order),
    Review(Review),
    Request(Request),
    Withdrawal(Withdrawal),
    Topup(Topup),
    /// Insert-only records: refused if one with the same key exists.
    Message(Message),
    Offer(Offer),
    /// A file's record: new (version 0) when its upload URL is handed
    /// out, then once more when it is attached.
    File(FileRecord),
}

/// Removes a timer row. `only_if_due` guards a no-op firing from deleting
/// a timer that was re-armed meanwhile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimerClear {
    pub order_id: OrderId,
    pub kind: TimerKind,
    pub only_if_due: Option<Timestamp>,
}

/// A party's place in their inbox (`GET /me/inbox`): the order is listed
/// for `user`, newest activity first, while `at` is set; `None` takes it
/// out. The unread count itself lives on the order, written beside this.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboxEntry {
    pub user: UserId,
    pub order_id: OrderId,
    pub at: Option<Timestamp>,
}

/// Everything one state change writes, committed atomically: all of it or
/// none of it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UnitOfWork {
    pub writes: Vec<Write>,
    /// Applied to balances with "never below zero" (except `external`).
    pub postings: Vec<Posting>,
    pub timers_set: Vec<Timer>,
    pub timers_cleared: Vec<TimerClear>,
    pub outbox: Vec<OutboxRow>,
    /// Added without a version check: counters never conflict.
    pub service_stats: Vec<(ServiceId, ServiceStats)>,
    /// The same counters per seller, summed over all their services, so a
    /// public profile reads one item instead of re-adding every service.
    pub seller_stats: Vec<(UserId, ServiceStats)>,
    pub idempotency: Option<IdempotencyRecord>,
    /// Users who must not be on a payment hold (issue 8): a condition of
    /// the commit, not a read before it. Conditions alone write nothing.
    pub not_on_hold: Vec<UserId>,
    /// Balances the use case read and decided on. A store that conditions
    /// its balance writes on the values read (DynamoDB) uses these instead
    /// of reading them again; a stale one is a retry, as before.
    pub balances_read: Vec<(UserId, Balances)>,
    /// Inbox entries put or taken out with the order's unread counts.
    pub inbox: Vec<InboxEntry>,
}

impl UnitOfWork {
    pub fn is_empty(&self) -> bool {
        self.writes.is_empty()
            && self.postings.is_empty()
            && self.timers_set.is_empty()
            && self.timers_cleared.is_empty()
            && self.outbox.is_empty()
            && self.service_stats.is_empty()
            && self.seller_stats.is_empty()
            && self.idempotency.is_none()
            && self.inbox.is_empty()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommitError {
    /// A version or uniqueness condition failed: someone else changed it.
    #[error("conflict on {0}")]
    Conflict(String),
    /// A posting would take this account below zero.
    #[error("{0:?} would go negative")]
    Overdraft(Account),
    /// The idempotency record already exists: a duplicate request won.
    #[error("idempotency key already used")]
    IdempotencyExists,
    /// A user in `not_on_hold` is on a payment hold.
    #[error("{0} is on a payment hold")]
    PaymentHold(UserId),
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    #[error("invalid cursor")]
    BadCursor,
    #[error("store unavailable: {0}")]
    Unavailable(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageReq {
    pub limit: usize,
    pub cursor: Option<String>,
}

impl PageReq {
    pub fn first(limit: usize) -> Self {
        PageReq {
            limit,
            cursor: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServiceQuery {
    /// Active services, optionally of one category, newest first.
    Active { category: Option<String> },
    /// A seller's services; `only_active` for the public view.
    BySeller { seller: UserId, only_active: bool },
    /// A seller's active services of one category: both public filters
    /// at once, applied by the store so that pages stay full.
    SellerInCategory { seller: UserId, category: String },
    /// For moderation.
    ByStatus(ServiceStatus),
    /// Approved services (active or paused) carrying an edit that waits
    /// for moderation.
    PendingRevision,
    /// Active services matching a search, best first (`SearchQuery::rank`),
    /// optionally of one category or one seller.
    Search {
        q: SearchQuery,
        category: Option<String>,
        seller: Option<UserId>,
    },
}

/// Candidates a search reads at most before ranking: bounds one request's
/// reads whatever the index holds.
pub const SEARCH_CANDIDATES_MAX: usize = 2000;

/// A page of an already ranked list: the cursor is the offset of the next
/// item, so it stays valid while the ranking holds.
pub fn ranked_page<T>(items: Vec<T>, page: &PageReq) -> StoreResult<Page<T>> {
    let from = match page.cursor.as_deref() {
        None => 0,
        Some(c) => c
            .strip_prefix('r')
            .and_then(|n| n.parse::<usize>().ok())
            .filter(|n| *n <= SEARCH_CANDIDATES_MAX)
            .ok_or(StoreError::BadCursor)?,
    };
    let limit = page.limit.max(1);
    let total = items.len();
    let items: Vec<T> = items.into_iter().skip(from).take(limit).collect();
    let next_cursor = (from + limit < total).then(|| format!("r{}", from + limit));
    Ok(Page { items, next_cursor })
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrderQuery {
    Purchases(UserId, Option<OrderStatus>),
    Sales(UserId, Option<OrderStatus>),
    /// Orders with an open dispute, newest dispute first (operators).
    OpenDisputes,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WithdrawalQuery {
    ByUser(UserId),
    ByStatus(WithdrawalStatus),
}

/// Top-up lists (payments.md, "Money in").
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TopupQuery {
    /// A user's top-ups, newest first.
    ByUser(UserId),
    /// A user's pending top-ups: how many may wait at once is limited.
    PendingOf(UserId),
    /// Pending with no capture under way, expiring at or before this time.
    ExpiringBy(Timestamp),
    /// The top-up waiting on this provider checkout (a webhook names it).
    ProviderOrder(String),
    /// The top-up holding this provider capture (a reversal names it).
    Capture(String),
}

#[async_trait]
pub trait Store: Send + Sync {
    async fn profile(&self, id: &UserId) -> StoreResult<Option<Profile>>;
    async fn balances(&self, id: &UserId) -> StoreResult<Balances>;
    async fn service(&self, id: &ServiceId) -> StoreResult<Option<(Service, ServiceStats)>>;
    /// A service and a user's balances in one round trip (`POST /orders`;
    /// DynamoDB: one `BatchGetItem`).
    async fn service_and_balances(
        &self,
        service: &ServiceId,
        user: &UserId,
    ) -> StoreResult<(Option<(Service, ServiceStats)>, Balances)> {
        Ok((self.service(service).await?, self.balances(user).await?))
    }
    async fn services(
        &self,
        q: &ServiceQuery,
        page: &PageReq,
    ) -> StoreResult<Page<(Service, ServiceStats)>>;
    /// A seller's counters over all their services (zero for none).
    async fn seller_stats(&self, id: &UserId) -> StoreResult<ServiceStats>;
    async fn order(&self, id: &OrderId) -> StoreResult<Option<Order>>;
    async fn orders(&self, q: &OrderQuery, page: &PageReq) -> StoreResult<Page<Order>>;
    /// Newest first, like every list: the latest message is on page one.
    async fn messages(&self, order: &OrderId, page: &PageReq) -> StoreResult<Page<Message>>;
    /// `user`'s orders with messages they have not read, newest activity
    /// first (the entries of `UnitOfWork::inbox`).
    async fn inbox(&self, user: &UserId, page: &PageReq) -> StoreResult<Page<Order>>;
    /// A file of an order.
    async fn file(&self, order: &OrderId, id: &FileId) -> StoreResult<Option<FileRecord>>;
    /// Every file of an order (attached or not, expired or not), by id.
    async fn files(&self, order: &OrderId) -> StoreResult<Vec<FileRecord>>;
    async fn review(&self, order: &OrderId) -> StoreResult<Option<Review>>;
    async fn reviews(&self, service: &ServiceId, page: &PageReq) -> StoreResult<Page<Review>>;
    async fn request(&self, id: &RequestId) -> StoreResult<Option<Request>>;
    async fn open_requests(&self, page: &PageReq) -> StoreResult<Page<Request>>;
    /// Offers of a request, oldest first.
    async fn offers(&self, request: &RequestId) -> StoreResult<Vec<Offer>>;
    async fn withdrawal(&self, id: &WithdrawalId) -> StoreResult<Option<Withdrawal>>;
    async fn withdrawals(
        &self,
        q: &WithdrawalQuery,
        page: &PageReq,
    ) -> StoreResult<Page<Withdrawal>>;
    async fn ledger(&self, user: &UserId, page: &PageReq) -> StoreResult<Page<LedgerLine>>;
    async fn topup(&self, id: &TopupId) -> StoreResult<Option<Topup>>;
    async fn topups(&self, q: &TopupQuery, page: &PageReq) -> StoreResult<Page<Topup>>;
    /// Timers due at or before `until`, earliest first.
    async fn due_timers(&self, until: Timestamp, limit: usize) -> StoreResult<Vec<Timer>>;
    /// Timers due by `now` + [`TIMER_HORIZON_MS`], not parked, whose queue
    /// marker has lapsed by `now`: what a sweep may queue. Earliest due first.
    async fn timers_to_queue(&self, now: Timestamp, limit: usize) -> StoreResult<Vec<TimerEntry>>;
    /// Sets the timer's queue marker to `until` if it is still the one
    /// read (and still due as read, and not parked): `false` if another
    /// sweep won, so each timer is queued once per marker.
    async fn claim_timer(&self, t: &TimerEntry, until: Timestamp) -> StoreResult<bool>;
    /// Counts a failed firing of `t` (at its due time); parks it at
    /// `max_attempts`.
    async fn timer_failed(&self, t: &Timer, max_attempts: u32) -> StoreResult<TimerFailure>;
    async fn outbox_row(&self, id: &OutboxId) -> StoreResult<Option<OutboxRow>>;
    /// A row with its delivery state.
    async fn outbox_entry(&self, id: &OutboxId) -> StoreResult<Option<OutboxEntry>>;
    async fn unsent_outbox(&self, limit: usize) -> StoreResult<Vec<OutboxRow>>;
    /// Unsent, not failed rows whose `queue_at` is at or before `now`,
    /// earliest first: a failed or freshly queued row never holds up the
    /// rest.
    async fn outbox_due(&self, now: Timestamp, limit: usize) -> StoreResult<Vec<OutboxEntry>>;
    /// Sets the row's queue marker to `until` if it is still the one read
    /// and the row is still unsent and not failed: `false` if another
    /// sweep won.
    async fn claim_outbox(&self, e: &OutboxEntry, until: Timestamp) -> StoreResult<bool>;
    /// Records the attempts so far and, with a reason, that the row failed
    /// for good (it leaves both `outbox_due` and `unsent_outbox`). Either
    /// way the send claim (`sending_at`) is released.
    async fn outbox_attempt(
        &self,
        id: &OutboxId,
        attempts: u32,
        failure: Option<String>,
    ) -> StoreResult<()>;
    /// Failed rows, newest first (by id), with their reasons: what an
    /// operator reviews.
    async fn failed_outbox(&self, page: &PageReq) -> StoreResult<Page<OutboxEntry>>;
    /// Makes a failed row unsent again: attempts 0, no failure, queued as
    /// of `now` (the sweep's next pass finds it). Only a failed row.
    async fn retry_outbox(&self, id: &OutboxId, now: Timestamp) -> StoreResult<Rearm>;
    /// Claims the row for one send attempt: sets `sending_at` to `now` and
    /// `sending_by` to `token` if the row is unsent, not failed and not
    /// being sent under another token. `false`: someone else holds it (or
    /// it is done), so send nothing.
    async fn claim_send(&self, id: &OutboxId, token: &str, now: Timestamp) -> StoreResult<bool>;
    /// Marks an email sent (and its send claim released); a second mark is
    /// harmless.
    async fn mark_sent(&self, id: &OutboxId, at: Timestamp) -> StoreResult<()>;
    async fn idempotency(
        &self,
        scope: &str,
        now: Timestamp,
    ) -> StoreResult<Option<IdempotencyRecord>>;
    /// Every account's balance: a full read, for tests and audits by hand.
    async fn all_balances(&self) -> StoreResult<Vec<(Account, Decimal)>>;
    /// The running totals every commit keeps (`crate::totals`), read in
    /// one request whatever the size of the ledger.
    async fn ledger_totals(&self) -> StoreResult<crate::totals::LedgerTotals>;
    async fn commit(&self, uow: UnitOfWork) -> Result<(), CommitError>;
    /// [`Store::commit`], but a taken idempotency key is answered with the
    /// record that holds it (`Some`) instead of `IdempotencyExists`: a
    /// replay needs no read before the commit. DynamoDB has the record
    /// from the refusal itself (`ALL_OLD`); this default reads it.
    async fn commit_or_replay(
        &self,
        uow: UnitOfWork,
    ) -> Result<Option<IdempotencyRecord>, CommitError> {
        let key = uow
            .idempotency
            .as_ref()
            .map(|r| (r.scope.clone(), r.created_at));
        match (self.commit(uow).await, key) {
            (Err(CommitError::IdempotencyExists), Some((scope, at))) => self
                .idempotency(&scope, at)
                .await?
                .map(Some)
                .ok_or(CommitError::IdempotencyExists),
            (r, _) => r.map(|()| None),
        }
    }
}

/// Presigned URLs for the files' bytes, which never pass through the
/// API: S3 in AWS and on the emulators, the local server's own store in
/// memory mode.
#[async_trait]
pub trait FileUrls: Send + Sync {
    /// A PUT of exactly this type and size to `key`, valid until `expires`.
    async fn upload_url(
        &self,
        key: &str,
        content_type: &str,
        size: u64,
        now: Timestamp,
        expires: Timestamp,
    ) -> StoreResult<String>;
    /// A GET of `key` served as an attachment named `name`.
    async fn download_url(
        &self,
        key: &str,
        name: &str,
        now: Timestamp,
        expires: Timestamp,
    ) -> StoreResult<String>;
    /// Tags `key` as [`TAG_ATTACHED`] (or back to [`TAG_UNATTACHED`] when
    /// `attached` is false), so the bucket's lifecycle keeps it; `false`
    /// when no bytes were ever uploaded there. One request checks arrival
    /// and keeps the file.
    async fn tag(&self, key: &str, attached: bool) -> StoreResult<bool>;
    /// Deletes the object at `key` (an ended order's files, once kept
    /// long enough). Idempotent: an object already gone is fine.
    async fn delete(&self, key: &str) -> StoreResult<()>;
}

/// The header an upload must send (it is signed into the URL): the
/// bucket expires objects so tagged after a day.
pub const TAGGING_HEADER: &str = "x-amz-tagging";
pub const TAG_UNATTACHED: &str = "khamsa-file=unattached";
/// Kept with its order (product.md "Files").
pub const TAG_ATTACHED: &str = "khamsa-file=attached";

/// No file storage wired (functions that serve no file route).
pub struct NoFileUrls;

#[async_trait]
impl FileUrls for NoFileUrls {
    async fn upload_url(
        &self,
        _: &str,
        _: &str,
        _: u64,
        _: Timestamp,
        _: Timestamp,
    ) -> StoreResult<String> {
        Err(StoreError::Unavailable("no file storage here".into()))
    }
    async fn download_url(
        &self,
        _: &str,
        _: &str,
        _: Timestamp,
        _: Timestamp,
    ) -> StoreResult<String> {
        Err(StoreError::Unavailable("no file storage here".into()))
    }
    async fn tag(&self, _: &str, _: bool) -> StoreResult<bool> {
        Err(StoreError::Unavailable("no file storage here".into()))
    }
    async fn delete(&self, _: &str) -> StoreResult<()> {
        Err(StoreError::Unavailable("no file storage here".into()))
    }
}

/// Where `now` comes from. The local server's clock can be moved forward.
pub trait Clock: Send + Sync {
    fn now(&self) -> Timestamp;
}

/// A rendered email, ready for the wire.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Email {
    pub to: String,
    pub subject: String,
    pub html: String,
    pub text: String,
    pub at: Timestamp,
    /// Headers beside the usual ones: `List-Unsubscribe` and
    /// `List-Unsubscribe-Post` on the optional emails (RFC 2369, 8058).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<(String, String)>,
}

impl Email {
    /// The one-click unsubscribe headers for `url`, which takes a POST.
    pub fn one_click_headers(url: &str) -> Vec<(String, String)> {
        vec![
            ("List-Unsubscribe".into(), format!("<{url}>")),
            (
                "List-Unsubscribe-Post".into(),
                "List-Unsubscribe=One-Click".into(),
            ),
        ]
    }

    /// The value of header `name` (case-insensitive), if set.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MailError {
    /// Permanent: this email will never be accepted (a rejected message,
    /// an unverified address or sending domain). Not retried.
    #[error("refused: {0}")]
    Refused(String),
    /// Transient and surely not sent: throttling, an SES 5xx answer, a
    /// paused account, a connection that could not be made. Retried with
    /// backoff.
    #[error("mailer unavailable: {0}")]
    Unavailable(String),
    /// The request may have reached SES but its answer did not come back
    /// (a timeout after sending, a connection dropped mid-exchange, an
    /// unreadable answer). Sending again could email twice, and SES takes
    /// no idempotency key: the row fails, for an operator to decide.
    #[error("outcome unknown: {0}")]
    Unknown(String),
}

#[async_trait]
pub trait Mailer: Send + Sync {
    async fn send(&self, email: &Email) -> Result<(), MailError>;
}

/// Told after a commit which outbox rows are new. In AWS this puts a
/// message on the notifications queue; locally it sends at once.
#[async_trait]
pub trait Notifier: Send + Sync {
    async fn outbox_written(&self, ids: &[OutboxId]);
}

/// Told after a commit which timers were set. In AWS a timer due within
/// the SQS delay limit is queued at once; locally it wakes the timer loop.
#[async_trait]
pub trait Scheduler: Send + Sync {
    async fn timers_set(&self, timers: &[Timer]);
}

/// Told which withdrawals need the payouts worker: after a commit, the
/// ones that became `approved` (to send); from the poll, approved ones a
/// lost message left behind and `processing` ones to read back. In AWS
/// this puts a message on the payouts queue; locally it acts at once.
/// Best-effort like the notifier: the withdrawal's status is the durable
/// row, and the next poll finds what a lost message missed.
#[async_trait]
pub trait PayoutQueue: Send + Sync {
    async fn payouts_due(&self, ids: &[WithdrawalId]);
}

/// No queue wired (functions that never approve a withdrawal): the poll
/// finds what is approved.
pub struct NoPayoutQueue;

#[async_trait]
impl PayoutQueue for NoPayoutQueue {
    async fn payouts_due(&self, ids: &[WithdrawalId]) {
        tracing::debug!(count = ids.len(), "payouts approved; left to the poll");
    }
}
