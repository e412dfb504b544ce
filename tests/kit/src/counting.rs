//! A `Store` that counts the calls made through it, by port method: the
//! request-count tests assert a use case's round trips with it, so a
//! change that adds one fails a test instead of a benchmark.

use async_trait::async_trait;
use khamsa_app::ports::*;
use khamsa_domain::Timestamp;
use khamsa_domain::ids::{OrderId, OutboxId, RequestId, ServiceId, TopupId, UserId, WithdrawalId};
use khamsa_domain::ledger::Account;
use khamsa_domain::order::{Order, Timer};
use khamsa_domain::request::{Offer, Request};
use khamsa_domain::review::Review;
use khamsa_domain::service::{Service, ServiceStats};
use khamsa_domain::topup::Topup;
use khamsa_domain::withdrawal::Withdrawal;
use rust_decimal::Decimal;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// What went through the store since the last [`CountingStore::take`]:
/// each read method by name, and the commits.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Calls {
    pub reads: BTreeMap<&'static str, usize>,
    pub commits: usize,
    /// `mark_sent`: the notifier's one-item write, outside a unit of work.
    pub marks_sent: usize,
}

impl Calls {
    /// Every read, whatever its method.
    pub fn read_count(&self) -> usize {
        self.reads.values().sum()
    }
}

pub struct CountingStore {
    inner: Arc<dyn Store>,
    calls: Mutex<Calls>,
}

impl CountingStore {
    pub fn new(inner: Arc<dyn Store>) -> CountingStore {
        CountingStore {
            inner,
            calls: Mutex::new(Calls::default()),
        }
    }

    /// The calls so far, resetting the count.
    pub fn take(&self) -> Calls {
        std::mem::take(&mut *self.calls.lock().unwrap_or_else(|e| e.into_inner()))
    }

    fn read(&self, method: &'static str) {
        *self
            .calls
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .reads
            .entry(method)
            .or_default() += 1;
    }
}

#[async_trait]
impl Store for CountingStore {
    async fn profile(&self, id: &UserId) -> StoreResult<Option<Profile>> {
        self.read("profile");
        self.inner.profile(id).await
    }
    async fn balances(&self, id: &UserId) -> StoreResult<Balances> {
        self.read("balances");
        self.inner.balances(id).await
    }
    async fn seller_stats(&self, id: &UserId) -> StoreResult<ServiceStats> {
        self.read("seller_stats");
        self.inner.seller_stats(id).await
    }
    async fn service(&self, id: &ServiceId) -> StoreResult<Option<(Service, ServiceStats)>> {
        self.read("service");
        self.inner.service(id).await
    }
    async fn service_and_balances(
        &self,
        service: &ServiceId,
        user: &UserId,
    ) -> StoreResult<(Option<(Service, ServiceStats)>, Balances)> {
        self.read("service_and_balances");
        self.inner.service_and_balances(service, user).await
    }
    async fn services(
        &self,
        q: &ServiceQuery,
        page: &PageReq,
    ) -> StoreResult<Page<(Service, ServiceStats)>> {
        self.read("services");
        self.inner.services(q, page).await
    }
    async fn order(&self, id: &OrderId) -> StoreResult<Option<Order>> {
        self.read("order");
        self.inner.order(id).await
    }
    async fn orders(&self, q: &OrderQuery, page: &PageReq) -> StoreResult<Page<Order>> {
        self.read("orders");
        self.inner.orders(q, page).await
    }
    async fn messages(&self, order: &OrderId, page: &PageReq) -> StoreResult<Page<Message>> {
        self.read("messages");
        self.inner.messages(order, page).await
    }
    async fn inbox(&self, user: &UserId, page: &PageReq) -> StoreResult<Page<Order>> {
        self.read("inbox");
        self.inner.inbox(user, page).await
    }
    async fn file(
        &self,
        order: &OrderId,
        id: &khamsa_domain::ids::FileId,
    ) -> StoreResult<Option<khamsa_domain::file::FileRecord>> {
        self.read("file");
        self.inner.file(order, id).await
    }
    async fn files(&self, order: &OrderId) -> StoreResult<Vec<khamsa_domain::file::FileRecord>> {
        self.read("files");
        self.inner.files(order).await
    }
    async fn review(&self, order: &OrderId) -> StoreResult<Option<Review>> {
        self.read("review");
        self.inner.review(order).await
    }
    async fn reviews(&self, service: &ServiceId, page: &PageReq) -> StoreResult<Page<Review>> {
        self.read("reviews");
        self.inner.reviews(service, page).await
    }
    async fn request(&self, id: &RequestId) -> StoreResult<Option<Request>> {
        self.read("request");
        self.inner.request(id).await
    }
    async fn open_requests(&self, page: &PageReq) -> StoreResult<Page<Request>> {
        self.read("open_requests");
        self.inner.open_requests(page).await
    }
    async fn offers(&self, request: &RequestId) -> StoreResult<Vec<Offer>> {
        self.read("offers");
        self.inner.offers(request).await
    }
    async fn topup(&self, id: &TopupId) -> StoreResult<Option<Topup>> {
        self.read("topup");
        self.inner.topup(id).await
    }
    async fn topups(&self, q: &TopupQuery, page: &PageReq) -> StoreResult<Page<Topup>> {
        self.read("topups");
        self.inner.topups(q, page).await
    }
    async fn withdrawal(&self, id: &WithdrawalId) -> StoreResult<Option<Withdrawal>> {
        self.read("withdrawal");
        self.inner.withdrawal(id).await
    }
    async fn withdrawals(
        &self,
        q: &WithdrawalQuery,
        page: &PageReq,
    ) -> StoreResult<Page<Withdrawal>> {
        self.read("withdrawals");
        self.inner.withdrawals(q, page).await
    }
    async fn ledger(&self, user: &UserId, page: &PageReq) -> StoreResult<Page<LedgerLine>> {
        self.read("ledger");
        self.inner.ledger(user, page).await
    }
    async fn due_timers(&self, until: Timestamp, limit: usize) -> StoreResult<Vec<Timer>> {
        self.read("due_timers");
        self.inner.due_timers(until, limit).await
    }
    async fn timers_to_queue(&self, now: Timestamp, limit: usize) -> StoreResult<Vec<TimerEntry>> {
        self.read("timers_to_queue");
        self.inner.timers_to_queue(now, limit).await
    }
    async fn claim_timer(&self, t: &TimerEntry, until: Timestamp) -> StoreResult<bool> {
        self.read("claim_timer");
        self.inner.claim_timer(t, until).await
    }
    async fn timer_failed(&self, t: &Timer, max_attempts: u32) -> StoreResult<TimerFailure> {
        self.read("timer_failed");
        self.inner.timer_failed(t, max_attempts).await
    }
    async fn outbox_row(&self, id: &OutboxId) -> StoreResult<Option<OutboxRow>> {
        self.read("outbox_row");
        self.inner.outbox_row(id).await
    }
    async fn outbox_entry(&self, id: &OutboxId) -> StoreResult<Option<OutboxEntry>> {
        self.read("outbox_entry");
        self.inner.outbox_entry(id).await
    }
    async fn unsent_outbox(&self, limit: usize) -> StoreResult<Vec<OutboxRow>> {
        self.read("unsent_outbox");
        self.inner.unsent_outbox(limit).await
    }
    async fn outbox_due(&self, now: Timestamp, limit: usize) -> StoreResult<Vec<OutboxEntry>> {
        self.read("outbox_due");
        self.inner.outbox_due(now, limit).await
    }
    async fn claim_outbox(&self, e: &OutboxEntry, until: Timestamp) -> StoreResult<bool> {
        self.read("claim_outbox");
        self.inner.claim_outbox(e, until).await
    }
    async fn outbox_attempt(
        &self,
        id: &OutboxId,
        attempts: u32,
        failure: Option<String>,
    ) -> StoreResult<()> {
        self.read("outbox_attempt");
        self.inner.outbox_attempt(id, attempts, failure).await
    }
    async fn failed_outbox(&self, page: &PageReq) -> StoreResult<Page<OutboxEntry>> {
        self.read("failed_outbox");
        self.inner.failed_outbox(page).await
    }
    async fn retry_outbox(&self, id: &OutboxId, now: Timestamp) -> StoreResult<Rearm> {
        self.read("retry_outbox");
        self.inner.retry_outbox(id, now).await
    }
    async fn claim_send(&self, id: &OutboxId, token: &str, now: Timestamp) -> StoreResult<bool> {
        self.read("claim_send");
        self.inner.claim_send(id, token, now).await
    }
    async fn mark_sent(&self, id: &OutboxId, at: Timestamp) -> StoreResult<()> {
        self.calls
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .marks_sent += 1;
        self.inner.mark_sent(id, at).await
    }
    async fn idempotency(
        &self,
        scope: &str,
        now: Timestamp,
    ) -> StoreResult<Option<IdempotencyRecord>> {
        self.read("idempotency");
        self.inner.idempotency(scope, now).await
    }
    async fn all_balances(&self) -> StoreResult<Vec<(Account, Decimal)>> {
        self.read("all_balances");
        self.inner.all_balances().await
    }
    async fn ledger_totals(&self) -> StoreResult<khamsa_app::totals::LedgerTotals> {
        self.read("ledger_totals");
        self.inner.ledger_totals().await
    }
    async fn commit(&self, uow: UnitOfWork) -> Result<(), CommitError> {
        self.calls.lock().unwrap_or_else(|e| e.into_inner()).commits += 1;
        self.inner.commit(uow).await
    }
    /// One commit, however the store learns whose the key is.
    async fn commit_or_replay(
        &self,
        uow: UnitOfWork,
    ) -> Result<Option<IdempotencyRecord>, CommitError> {
        self.calls.lock().unwrap_or_else(|e| e.into_inner()).commits += 1;
        self.inner.commit_or_replay(uow).await
    }
}
