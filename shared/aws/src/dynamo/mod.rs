//! The production `Store`: one DynamoDB table, every access pattern a key
//! or a sparse GSI (see `shared/aws/DYNAMODB.md`), every unit of work one
//! `TransactWriteItems`.

mod codec;
mod commit;
mod error;
mod keys;
mod plan;
mod search;
mod table;
mod totals;

pub use error::DynamoError;

use async_trait::async_trait;
use codec::{
    Expr, Item, decode, decode_cursor, decode_value, encode_cursor, get_decimal, get_s, get_u64,
    key_item, n_i64, n_u64, s,
};
use keys::{G1, G2, G3, G4, G5, Gsi, Key, PK, SK};
use khamsa_app::ports::{
    Balances, CommitError, Delivery, IdempotencyRecord, LedgerLine, Message, OrderQuery,
    OutboxEntry, OutboxRow, Page, PageReq, Profile, Rearm, ServiceQuery, Store, StoreError,
    StoreResult, TIMER_HORIZON_MS, TimerEntry, TimerFailure, TopupQuery, UnitOfWork,
    WithdrawalQuery,
};
use khamsa_domain::Timestamp;
use khamsa_domain::file::FileRecord;
use khamsa_domain::ids::{
    FileId, OrderId, OutboxId, RequestId, ServiceId, TopupId, UserId, WithdrawalId,
};
use khamsa_domain::ledger::{Account, UserAccount};
use khamsa_domain::money::Money;
use khamsa_domain::order::{Order, Timer};
use khamsa_domain::request::{Offer, Request};
use khamsa_domain::review::Review;
use khamsa_domain::service::{Service, ServiceStats};
use khamsa_domain::topup::Topup;
use khamsa_domain::withdrawal::Withdrawal;
use rust_decimal::Decimal;
use std::collections::{BTreeMap, HashMap};

/// A page of a Query never asks for more than this at once.
const QUERY_LIMIT_MAX: usize = 1000;
/// A single-item write meeting a transaction in flight on the same item
/// gets `TransactionConflictException`: retried this many times.
const SINGLE_WRITE_ATTEMPTS: usize = 5;

#[derive(Clone, Debug)]
pub struct DynamoStore {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

impl DynamoStore {
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        DynamoStore {
            client,
            table: table.into(),
        }
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    /// A strongly consistent read of one item.
    async fn get(&self, key: &Key) -> Result<Option<Item>, DynamoError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key_item(key)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| DynamoError::sdk("GetItem", &e))?;
        Ok(out.item)
    }

    async fn get_entity<T: serde::de::DeserializeOwned>(
        &self,
        key: &Key,
    ) -> StoreResult<Option<T>> {
        Ok(self.get(key).await?.map(decode).transpose()?)
    }

    async fn query_once(
        &self,
        q: &Q,
        start: Option<Item>,
        limit: usize,
    ) -> Result<(Vec<Item>, Option<Item>), DynamoError> {
        let mut e = Expr::default();
        let (p_attr, s_attr) = match q.index {
            None => (PK, SK),
            Some(g) => (g.pk, g.sk),
        };
        let mut cond = format!("{} = {}", e.name(p_attr), e.value(s(q.partition.clone())));
        if let Some(pre) = q.sort_prefix {
            cond += &format!(" AND begins_with({}, {})", e.name(s_attr), e.value(s(pre)));
        }
        if let Some(hi) = &q.sort_at_most {
            cond += &format!(" AND {} <= {}", e.name(s_attr), e.value(s(hi.clone())));
        }
        let (names, values) = e.into_parts();
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .set_index_name(q.index.map(|g| g.name.to_owned()))
            .key_condition_expression(cond)
            .set_expression_attribute_names(names)
            .set_expression_attribute_values(values)
            .scan_index_forward(q.forward)
            // GSIs cannot be read consistently; the table can.
            .consistent_read(q.index.is_none())
            .limit(limit.clamp(1, QUERY_LIMIT_MAX) as i32)
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(|e| DynamoError::sdk("Query", &e))?;
        Ok((out.items.unwrap_or_default(), out.last_evaluated_key))
    }

    /// One page, exactly like the memory store's: `limit` items after the
    /// cursor, and a cursor only if more exist. It asks for one item more
    /// than the page to know that, so the last page never comes empty.
    async fn query_page(&self, q: &Q, page: &PageReq) -> StoreResult<(Vec<Item>, Option<String>)> {
        let want = page.limit.max(1);
        let mut next = page
            .cursor
            .as_deref()
            .map(|c| decode_cursor(c, q.index, &q.partition, q.sort_prefix))
            .transpose()?;
        let had_cursor = next.is_some();
        let mut items = Vec::new();
        loop {
            let room = want.saturating_add(1) - items.len();
            let (mut got, lek) =
                self.query_once(q, next.take(), room)
                    .await
                    .map_err(|e| match e.code() {
                        // A key DynamoDB does not accept as a start is a bad cursor.
                        Some("ValidationException") if had_cursor => StoreError::BadCursor,
                        _ => e.into(),
                    })?;
            got.retain(|item| q.keeps(item));
            items.append(&mut got);
            if items.len() > want || lek.is_none() {
                break;
            }
            next = lek;
        }
        let cursor = if items.len() > want {
            items.truncate(want);
            match items.last() {
                Some(last) => Some(encode_cursor(last, q.index)?),
                None => None,
            }
        } else {
            None
        };
        Ok((items, cursor))
    }

    /// Up to `limit` items from the start of a query, following pages.
    async fn query_up_to(&self, q: &Q, limit: usize) -> StoreResult<Vec<Item>> {
        let mut items = Vec::new();
        let mut next = None;
        loop {
            let (mut got, lek) = self.query_once(q, next.take(), limit - items.len()).await?;
            items.append(&mut got);
            if items.len() >= limit || lek.is_none() {
                items.truncate(limit);
                return Ok(items);
            }
            next = lek;
        }
    }

    /// One conditional `UpdateItem`, retried past a transaction in flight
    /// on the item: `Ok(None)` if the condition failed, else the new item.
    async fn update_if(
        &self,
        key: &Key,
        update: String,
        cond: String,
        e: Expr,
    ) -> Result<Option<Item>, DynamoError> {
        let (names, values) = e.into_parts();
        let req = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key_item(key)))
            .update_expression(update)
            .condition_expression(cond)
            .set_expression_attribute_names(names)
            .set_expression_attribute_values(values)
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllNew);
        let mut backoff = commit::Backoff::default();
        for attempt in 1..=SINGLE_WRITE_ATTEMPTS {
            match req.clone().send().await {
                Ok(out) => return Ok(Some(out.attributes.unwrap_or_default())),
                Err(err) => {
                    let Some(s) = err.as_service_error() else {
                        return Err(DynamoError::sdk("UpdateItem", &err));
                    };
                    if s.is_conditional_check_failed_exception() {
                        return Ok(None);
                    }
                    if !(s.is_transaction_conflict_exception() && attempt < SINGLE_WRITE_ATTEMPTS) {
                        return Err(DynamoError::sdk("UpdateItem", &err));
                    }
                }
            }
            tokio::time::sleep(backoff.next()).await;
        }
        Err(DynamoError::Exhausted(
            SINGLE_WRITE_ATTEMPTS,
            "UpdateItem".into(),
        ))
    }

    /// Every item of the sweeper's queue list (G2) in `shard_name(0..n)`
    /// looked at by `at`, up to `limit` per shard.
    async fn queue_list(
        &self,
        shards: u32,
        shard_name: fn(u32) -> String,
        at: Timestamp,
        limit: usize,
    ) -> StoreResult<Vec<Item>> {
        let mut all = Vec::new();
        for shard in 0..shards {
            let q = Q {
                index: Some(G2),
                partition: shard_name(shard),
                sort_prefix: None,
                sort_at_most: Some(keys::queue_by(at)),
                forward: true,
                only: None,
            };
            all.append(&mut self.query_up_to(&q, limit).await?);
        }
        Ok(all)
    }

    async fn page_of<T: serde::de::DeserializeOwned>(
        &self,
        q: &Q,
        page: &PageReq,
    ) -> StoreResult<Page<T>> {
        let (items, next_cursor) = self.query_page(q, page).await?;
        Ok(Page {
            items: items.into_iter().map(decode).collect::<Result<_, _>>()?,
            next_cursor,
        })
    }
}

/// One Query: a partition of the table or of a GSI, optionally narrowed on
/// the sort key.
struct Q {
    index: Option<Gsi>,
    partition: String,
    sort_prefix: Option<&'static str>,
    sort_at_most: Option<String>,
    forward: bool,
    /// An attribute every item of the page must have with this value.
    /// DynamoDB applies `Limit` before a `FilterExpression`, so the filter
    /// runs here, and `query_page` reads on until the page is full.
    only: Option<(&'static str, String)>,
}

impl Q {
    fn table(partition: String, sort_prefix: &'static str, forward: bool) -> Q {
        Q {
            index: None,
            partition,
            sort_prefix: Some(sort_prefix),
            sort_at_most: None,
            forward,
            only: None,
        }
    }

    /// A "newest first" list on a GSI.
    fn newest(index: Gsi, partition: String) -> Q {
        Q {
            index: Some(index),
            partition,
            sort_prefix: None,
            sort_at_most: None,
            forward: false,
            only: None,
        }
    }

    fn only(self, attribute: &'static str, value: String) -> Q {
        Q {
            only: Some((attribute, value)),
            ..self
        }
    }

    fn keeps(&self, item: &Item) -> bool {
        self.only.as_ref().is_none_or(|(attribute, value)| {
            item.get(*attribute).and_then(|v| v.as_s().ok()) == Some(value)
        })
    }
}

/// The life-cycle attributes of outbox and timer items.
const ATTEMPTS: &str = "attempts";
const QUEUED_UNTIL: &str = "queued_until";
const FAILURE: &str = "failure";
const PARKED: &str = "parked";
const SENDING_AT: &str = "sending_at";
const SENDING_BY: &str = "sending_by";

/// ` AND` the queue marker is still `read` (or still absent).
fn marker_is(e: &mut Expr, read: Option<Timestamp>) -> String {
    match read {
        Some(q) => format!(
            " AND {} = {}",
            e.name(QUEUED_UNTIL),
            e.value(n_i64(q.millis()))
        ),
        None => format!(" AND attribute_not_exists({})", e.name(QUEUED_UNTIL)),
    }
}

fn opt_ts(item: &Item, name: &str) -> Result<Option<Timestamp>, DynamoError> {
    Ok(match item.get(name) {
        None => None,
        Some(_) => Some(Timestamp(get_u64(item, name)? as i64)),
    })
}

fn timer_entry(item: Item) -> Result<TimerEntry, DynamoError> {
    let attempts = get_u64(&item, ATTEMPTS)? as u32;
    let queued_until = opt_ts(&item, QUEUED_UNTIL)?;
    Ok(TimerEntry {
        timer: decode::<Timer>(item)?,
        attempts,
        queued_until,
    })
}

fn outbox_entry(item: Item) -> Result<OutboxEntry, DynamoError> {
    let delivery = Delivery {
        attempts: get_u64(&item, ATTEMPTS)? as u32,
        queued_until: opt_ts(&item, QUEUED_UNTIL)?,
        failure: match item.get(FAILURE) {
            Some(_) => Some(get_s(&item, FAILURE)?.to_owned()),
            None => None,
        },
        sending_at: opt_ts(&item, SENDING_AT)?,
        sending_by: match item.get(SENDING_BY) {
            Some(_) => Some(get_s(&item, SENDING_BY)?.to_owned()),
            None => None,
        },
    };
    Ok(OutboxEntry {
        row: decode::<OutboxRow>(item)?,
        delivery,
    })
}

/// A user's accounts, each its own item.
const ACCOUNTS: [UserAccount; 4] = [
    UserAccount::Balance,
    UserAccount::EarningsPending,
    UserAccount::EarningsAvailable,
    UserAccount::WithdrawalsInFlight,
];

/// One account item (sort key `sk`) into `b`.
fn balance_into(b: &mut Balances, sk: &str, item: &Item) -> Result<(), DynamoError> {
    let name = sk.strip_prefix(keys::ACCOUNT_PREFIX).unwrap_or(sk);
    let Ok(account) = name.parse::<UserAccount>() else {
        return Err(DynamoError::malformed(sk, "unknown account"));
    };
    let amount = get_decimal(item, keys::BALANCE)?.unwrap_or_default();
    let m = Money::from_decimal(amount).unwrap_or(Money::ZERO);
    match account {
        UserAccount::Balance => b.balance = m,
        UserAccount::EarningsPending => b.earnings_pending = m,
        UserAccount::EarningsAvailable => b.earnings_available = m,
        UserAccount::WithdrawalsInFlight => b.withdrawals_in_flight = m,
    }
    Ok(())
}

/// A service item also holds its counters (added without a version check);
/// an item with counters but no service yet is not a service.
fn service_of(item: Item) -> Result<Option<(Service, ServiceStats)>, DynamoError> {
    if !item.contains_key("id") {
        return Ok(None);
    }
    let stats = ServiceStats {
        rating_count: get_u64(&item, keys::RATING_COUNT)?,
        rating_sum: get_u64(&item, keys::RATING_SUM)?,
        orders_completed: get_u64(&item, keys::ORDERS_COMPLETED)?,
    };
    Ok(Some((decode(item)?, stats)))
}

#[async_trait]
impl Store for DynamoStore {
    async fn profile(&self, id: &UserId) -> StoreResult<Option<Profile>> {
        self.get_entity(&keys::profile(id)).await
    }

    async fn balances(&self, id: &UserId) -> StoreResult<Balances> {
        let q = Q::table(keys::user_pk(id), keys::ACCOUNT_PREFIX, true);
        let mut b = Balances::default();
        for item in self.query_up_to(&q, 16).await? {
            let sk = get_s(&item, SK)?.to_owned();
            balance_into(&mut b, &sk, &item)?;
        }
        Ok(b)
    }

    async fn service_and_balances(
        &self,
        service: &ServiceId,
        user: &UserId,
    ) -> StoreResult<(Option<(Service, ServiceStats)>, Balances)> {
        let service_key = keys::service(service);
        let mut wanted = vec![service_key.clone()];
        wanted.extend(ACCOUNTS.iter().map(|a| keys::user_account(user, *a)));
        let mut found = None;
        let mut b = Balances::default();
        for item in self.batch_get(&wanted).await? {
            if get_s(&item, PK)? == service_key.0 && get_s(&item, SK)? == service_key.1 {
                found = service_of(item)?;
                continue;
            }
            let sk = get_s(&item, SK)?.to_owned();
            balance_into(&mut b, &sk, &item)?;
        }
        Ok((found, b))
    }

    async fn service(&self, id: &ServiceId) -> StoreResult<Option<(Service, ServiceStats)>> {
        match self.get(&keys::service(id)).await? {
            Some(item) => Ok(service_of(item)?),
            None => Ok(None),
        }
    }

    async fn services(
        &self,
        q: &ServiceQuery,
        page: &PageReq,
    ) -> StoreResult<Page<(Service, ServiceStats)>> {
        use khamsa_domain::service::ServiceStatus;
        let q = match q {
            ServiceQuery::Active { category: None } => {
                Q::newest(G1, keys::svc_status(ServiceStatus::Active))
            }
            ServiceQuery::Active { category: Some(c) } => Q::newest(G2, keys::svc_category(c)),
            ServiceQuery::BySeller {
                seller,
                only_active: false,
            } => Q::newest(G3, keys::svc_seller(seller)),
            ServiceQuery::BySeller {
                seller,
                only_active: true,
            } => Q::newest(G4, keys::svc_seller_active(seller)),
            // A seller has few services: read their active ones and keep
            // those whose category index entry is this category.
            ServiceQuery::SellerInCategory { seller, category } => {
                Q::newest(G4, keys::svc_seller_active(seller))
                    .only(G2.pk, keys::svc_category(category))
            }
            ServiceQuery::ByStatus(st) => Q::newest(G1, keys::svc_status(*st)),
            ServiceQuery::PendingRevision => Q::newest(G5, keys::SVC_PENDING_REVISION.to_owned()),
            ServiceQuery::Search {
                q,
                category,
                seller,
            } => {
                return self
                    .search(q, category.as_deref(), seller.as_ref(), page)
                    .await;
            }
        };
        let (items, next_cursor) = self.query_page(&q, page).await?;
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            // Only real services carry index attributes, so none is skipped.
            if let Some(x) = service_of(item)? {
                out.push(x);
            }
        }
        Ok(Page {
            items: out,
            next_cursor,
        })
    }

    async fn seller_stats(&self, id: &UserId) -> StoreResult<ServiceStats> {
        let Some(item) = self.get(&keys::seller_stats(id)).await? else {
            return Ok(ServiceStats::default());
        };
        Ok(ServiceStats {
            rating_count: get_u64(&item, keys::RATING_COUNT)?,
            rating_sum: get_u64(&item, keys::RATING_SUM)?,
            orders_completed: get_u64(&item, keys::ORDERS_COMPLETED)?,
        })
    }

    async fn order(&self, id: &OrderId) -> StoreResult<Option<Order>> {
        self.get_entity(&keys::order(id)).await
    }

    async fn orders(&self, q: &OrderQuery, page: &PageReq) -> StoreResult<Page<Order>> {
        // A status filter is its own GSI partition, not a FilterExpression:
        // pages stay full and a rare status costs no extra reads.
        let q = match q {
            OrderQuery::Purchases(u, None) => Q::newest(G1, keys::buyer(u)),
            OrderQuery::Purchases(u, Some(st)) => Q::newest(G2, keys::buyer_status(u, *st)),
            OrderQuery::Sales(u, None) => Q::newest(G3, keys::seller(u)),
            OrderQuery::Sales(u, Some(st)) => Q::newest(G4, keys::seller_status(u, *st)),
            OrderQuery::OpenDisputes => Q::newest(G5, keys::OPEN_DISPUTES.to_owned()),
        };
        self.page_of(&q, page).await
    }

    async fn messages(&self, order: &OrderId, page: &PageReq) -> StoreResult<Page<Message>> {
        let q = Q::table(keys::order_pk(order), keys::MESSAGE_PREFIX, false);
        self.page_of(&q, page).await
    }

    /// One Query of the user's inbox partition (G1), then one BatchGetItem
    /// of those orders: two reads, whatever the page size (at most 100).
    async fn inbox(&self, user: &UserId, page: &PageReq) -> StoreResult<Page<Order>> {
        let q = Q::newest(G1, keys::inbox_of(user));
        let (entries, next_cursor) = self.query_page(&q, page).await?;
        let mut wanted = Vec::with_capacity(entries.len());
        for e in &entries {
            wanted.push((get_s(e, PK)?.to_owned(), keys::ORDER_SK.to_owned()));
        }
        let mut found: HashMap<String, Order> = HashMap::new();
        for chunk in wanted.chunks(100) {
            for item in self.batch_get(chunk).await? {
                let pk = get_s(&item, PK)?.to_owned();
                found.insert(pk, decode(item)?);
            }
        }
        // The entry and the count are written together; the GSI lags the
        // table, so an order read since is left out rather than shown at 0.
        let items = wanted
            .iter()
            .filter_map(|(pk, _)| found.remove(pk))
            .filter(|o| o.unread_for(user) > 0)
            .collect();
        Ok(Page { items, next_cursor })
    }

    async fn file(&self, order: &OrderId, id: &FileId) -> StoreResult<Option<FileRecord>> {
        self.get_entity(&keys::file(order, id)).await
    }

    /// One Query of the order's partition, `FILE#` prefix: the records
    /// share it (see `keys::file`), sorted by id.
    async fn files(&self, order: &OrderId) -> StoreResult<Vec<FileRecord>> {
        let q = Q::table(keys::order_pk(order), keys::FILE_PREFIX, true);
        self.query_up_to(&q, usize::MAX)
            .await?
            .into_iter()
            .map(decode)
            .collect::<Result<_, _>>()
            .map_err(Into::into)
    }

    async fn review(&self, order: &OrderId) -> StoreResult<Option<Review>> {
        self.get_entity(&keys::review(order)).await
    }

    async fn reviews(&self, service: &ServiceId, page: &PageReq) -> StoreResult<Page<Review>> {
        self.page_of(&Q::newest(G1, keys::reviews_of(service)), page)
            .await
    }

    async fn request(&self, id: &RequestId) -> StoreResult<Option<Request>> {
        self.get_entity(&keys::request(id)).await
    }

    async fn open_requests(&self, page: &PageReq) -> StoreResult<Page<Request>> {
        self.page_of(&Q::newest(G1, keys::OPEN_REQUESTS.to_owned()), page)
            .await
    }

    async fn offers(&self, request: &RequestId) -> StoreResult<Vec<Offer>> {
        let q = Q::table(keys::request_pk(request), keys::OFFER_PREFIX, true);
        let mut v: Vec<Offer> = self
            .query_up_to(&q, usize::MAX)
            .await?
            .into_iter()
            .map(decode)
            .collect::<Result<_, _>>()?;
        // Keyed by seller for uniqueness; shown oldest first.
        v.sort_by(|a, b| (a.at, &a.id).cmp(&(b.at, &b.id)));
        Ok(v)
    }

    async fn withdrawal(&self, id: &WithdrawalId) -> StoreResult<Option<Withdrawal>> {
        self.get_entity(&keys::withdrawal(id)).await
    }

    async fn withdrawals(
        &self,
        q: &WithdrawalQuery,
        page: &PageReq,
    ) -> StoreResult<Page<Withdrawal>> {
        let q = match q {
            WithdrawalQuery::ByUser(u) => Q::newest(G1, keys::wd_user(u)),
            WithdrawalQuery::ByStatus(st) => Q::newest(G2, keys::wd_status(*st)),
        };
        self.page_of(&q, page).await
    }

    async fn ledger(&self, user: &UserId, page: &PageReq) -> StoreResult<Page<LedgerLine>> {
        let q = Q::table(keys::user_pk(user), keys::LEDGER_PREFIX, false);
        self.page_of(&q, page).await
    }

    async fn topup(&self, id: &TopupId) -> StoreResult<Option<Topup>> {
        self.get_entity(&keys::topup(id)).await
    }

    async fn topups(&self, q: &TopupQuery, page: &PageReq) -> StoreResult<Page<Topup>> {
        let q = match q {
            TopupQuery::ByUser(u) => Q::newest(G1, keys::topup_user(u)),
            TopupQuery::PendingOf(u) => Q::newest(G3, keys::topup_pending_user(u)),
            TopupQuery::ExpiringBy(at) => Q {
                index: Some(G2),
                partition: keys::TOPUP_EXPIRY.to_owned(),
                sort_prefix: None,
                sort_at_most: Some(keys::topups_expiring_by(*at)),
                forward: true,
                only: None,
            },
            TopupQuery::ProviderOrder(o) => Q::newest(G4, keys::topup_provider_order(o)),
            TopupQuery::Capture(c) => Q::newest(G5, keys::topup_capture(c)),
        };
        self.page_of(&q, page).await
    }

    async fn due_timers(&self, until: Timestamp, limit: usize) -> StoreResult<Vec<Timer>> {
        if limit == 0 {
            return Ok(vec![]);
        }
        // The earliest `limit` of each shard hold the earliest `limit` overall.
        let mut all = Vec::new();
        for shard in 0..keys::TIMER_SHARDS {
            let q = Q {
                index: Some(G1),
                partition: keys::timers_shard(shard),
                sort_prefix: None,
                sort_at_most: Some(keys::timers_due_by(until)),
                forward: true,
                only: None,
            };
            for item in self.query_up_to(&q, limit).await? {
                all.push(decode::<Timer>(item)?);
            }
        }
        all.sort_by(|a, b| (a.due, a.kind, &a.order_id).cmp(&(b.due, b.kind, &b.order_id)));
        all.truncate(limit);
        Ok(all)
    }

    async fn timers_to_queue(&self, now: Timestamp, limit: usize) -> StoreResult<Vec<TimerEntry>> {
        if limit == 0 {
            return Ok(vec![]);
        }
        // A queued timer's entry sits at its marker + the horizon, so this
        // one bound finds the unqueued ones due within reach and the queued
        // ones whose marker has lapsed, and nothing else.
        let items = self
            .queue_list(
                keys::TIMER_SHARDS,
                keys::timer_queue_shard,
                now.plus_ms(TIMER_HORIZON_MS),
                limit,
            )
            .await?;
        let mut all = items
            .into_iter()
            .map(timer_entry)
            .collect::<Result<Vec<_>, _>>()?;
        all.sort_by(|a, b| {
            (a.timer.due, a.timer.kind, &a.timer.order_id).cmp(&(
                b.timer.due,
                b.timer.kind,
                &b.timer.order_id,
            ))
        });
        all.truncate(limit);
        Ok(all)
    }

    async fn claim_timer(&self, t: &TimerEntry, until: Timestamp) -> StoreResult<bool> {
        let mut e = Expr::default();
        let (_, _, sk) = keys::timer_queue_index(&t.timer, until.plus_ms(TIMER_HORIZON_MS));
        let update = format!(
            "SET {} = {}, {} = {}",
            e.name(QUEUED_UNTIL),
            e.value(n_i64(until.millis())),
            e.name(G2.sk),
            e.value(s(sk))
        );
        let mut cond = format!(
            "{} = {} AND attribute_exists({})",
            e.name("due"),
            e.value(n_i64(t.timer.due.millis())),
            e.name(G2.pk)
        );
        cond += &marker_is(&mut e, t.queued_until);
        let key = keys::timer(&t.timer.order_id, t.timer.kind);
        Ok(self.update_if(&key, update, cond, e).await?.is_some())
    }

    async fn timer_failed(&self, t: &Timer, max_attempts: u32) -> StoreResult<TimerFailure> {
        let key = keys::timer(&t.order_id, t.kind);
        let due_is = |e: &mut Expr| {
            format!(
                "{} = {} AND attribute_exists({})",
                e.name("due"),
                e.value(n_i64(t.due.millis())),
                e.name(G1.pk)
            )
        };
        let mut e = Expr::default();
        let update = format!("ADD {} {}", e.name(ATTEMPTS), e.value(n_i64(1)));
        let cond = due_is(&mut e);
        let Some(item) = self.update_if(&key, update, cond, e).await? else {
            return Ok(TimerFailure::Gone);
        };
        let attempts = get_u64(&item, ATTEMPTS)? as u32;
        if attempts < max_attempts {
            return Ok(TimerFailure::Retry { attempts });
        }
        // Parked: out of both lists, the item kept for an operator.
        let mut e = Expr::default();
        let update = format!(
            "SET {} = {} REMOVE {}, {}, {}, {}",
            e.name(PARKED),
            e.value(aws_sdk_dynamodb::types::AttributeValue::Bool(true)),
            e.name(G1.pk),
            e.name(G1.sk),
            e.name(G2.pk),
            e.name(G2.sk)
        );
        let cond = due_is(&mut e);
        Ok(match self.update_if(&key, update, cond, e).await? {
            Some(_) => TimerFailure::Parked { attempts },
            None => TimerFailure::Gone,
        })
    }

    async fn outbox_row(&self, id: &OutboxId) -> StoreResult<Option<OutboxRow>> {
        self.get_entity(&keys::outbox(id)).await
    }

    async fn outbox_entry(&self, id: &OutboxId) -> StoreResult<Option<OutboxEntry>> {
        match self.get(&keys::outbox(id)).await? {
            Some(item) => Ok(Some(outbox_entry(item)?)),
            None => Ok(None),
        }
    }

    async fn outbox_due(&self, now: Timestamp, limit: usize) -> StoreResult<Vec<OutboxEntry>> {
        if limit == 0 {
            return Ok(vec![]);
        }
        let items = self
            .queue_list(keys::OUTBOX_SHARDS, keys::outbox_queue_shard, now, limit)
            .await?;
        let mut all = items
            .into_iter()
            .map(outbox_entry)
            .collect::<Result<Vec<_>, _>>()?;
        all.sort_by(|a, b| (a.queue_at(), &a.row.id).cmp(&(b.queue_at(), &b.row.id)));
        all.truncate(limit);
        Ok(all)
    }

    async fn claim_outbox(&self, o: &OutboxEntry, until: Timestamp) -> StoreResult<bool> {
        let mut e = Expr::default();
        let (_, _, sk) = keys::outbox_queue_index(&o.row.id, until);
        let update = format!(
            "SET {} = {}, {} = {}",
            e.name(QUEUED_UNTIL),
            e.value(n_i64(until.millis())),
            e.name(G2.sk),
            e.value(s(sk))
        );
        // Only an unsent, not failed row has the queue entry.
        let mut cond = format!("attribute_exists({})", e.name(G2.pk));
        cond += &marker_is(&mut e, o.delivery.queued_until);
        Ok(self
            .update_if(&keys::outbox(&o.row.id), update, cond, e)
            .await?
            .is_some())
    }

    async fn outbox_attempt(
        &self,
        id: &OutboxId,
        attempts: u32,
        failure: Option<String>,
    ) -> StoreResult<()> {
        let mut e = Expr::default();
        let mut update = format!(
            "SET {} = {}",
            e.name(ATTEMPTS),
            e.value(n_u64(u64::from(attempts)))
        );
        if let Some(reason) = &failure {
            update += &format!(", {} = {}", e.name(FAILURE), e.value(s(reason.clone())));
        }
        // The attempt is over: its send claim goes.
        update += &format!(" REMOVE {}, {}", e.name(SENDING_AT), e.name(SENDING_BY));
        if failure.is_some() {
            // Failed for good: out of the unsent and the queue lists, into
            // the operators' list of failed rows.
            let (_, fpk, fsk) = keys::outbox_failed_index(id);
            update = update.replacen(
                " REMOVE",
                &format!(
                    ", {} = {}, {} = {} REMOVE",
                    e.name(G1.pk),
                    e.value(s(fpk)),
                    e.name(G1.sk),
                    e.value(s(fsk))
                ),
                1,
            );
            update += &format!(", {}, {}", e.name(G2.pk), e.name(G2.sk));
        }
        let cond = format!("attribute_exists({})", e.name(PK));
        self.update_if(&keys::outbox(id), update, cond, e).await?;
        Ok(())
    }

    async fn failed_outbox(&self, page: &PageReq) -> StoreResult<Page<OutboxEntry>> {
        let q = Q::newest(G1, keys::OUTBOX_FAILED.to_owned());
        let (items, next_cursor) = self.query_page(&q, page).await?;
        Ok(Page {
            items: items
                .into_iter()
                .map(outbox_entry)
                .collect::<Result<_, _>>()?,
            next_cursor,
        })
    }

    async fn retry_outbox(&self, id: &OutboxId, now: Timestamp) -> StoreResult<Rearm> {
        let mut e = Expr::default();
        let (_, upk, usk) = keys::outbox_index(id);
        let (_, qpk, qsk) = keys::outbox_queue_index(id, now);
        let update = format!(
            "SET {} = {}, {} = {}, {} = {}, {} = {}, {} = {}, {} = {} REMOVE {}, {}, {}",
            e.name(ATTEMPTS),
            e.value(n_u64(0)),
            e.name(QUEUED_UNTIL),
            e.value(n_i64(now.millis())),
            e.name(G1.pk),
            e.value(s(upk)),
            e.name(G1.sk),
            e.value(s(usk)),
            e.name(G2.pk),
            e.value(s(qpk)),
            e.name(G2.sk),
            e.value(s(qsk)),
            e.name(FAILURE),
            e.name(SENDING_AT),
            e.name(SENDING_BY)
        );
        let cond = format!("attribute_exists({})", e.name(FAILURE));
        if self
            .update_if(&keys::outbox(id), update, cond, e)
            .await?
            .is_some()
        {
            return Ok(Rearm::Rearmed);
        }
        Ok(match self.get(&keys::outbox(id)).await? {
            Some(_) => Rearm::NotStuck,
            None => Rearm::Missing,
        })
    }

    async fn claim_send(&self, id: &OutboxId, token: &str, now: Timestamp) -> StoreResult<bool> {
        let mut e = Expr::default();
        let update = format!(
            "SET {} = {}, {} = {}",
            e.name(SENDING_AT),
            e.value(n_i64(now.millis())),
            e.name(SENDING_BY),
            e.value(s(token.to_owned()))
        );
        // Unsent and not failed (a sent row leaves the index); not held
        // under another token (the same token: our own retried write).
        let cond = format!(
            "attribute_exists({}) AND attribute_not_exists({}) AND (attribute_not_exists({}) OR {} = {})",
            e.name(G1.pk),
            e.name(FAILURE),
            e.name(SENDING_BY),
            e.name(SENDING_BY),
            e.value(s(token.to_owned()))
        );
        Ok(self
            .update_if(&keys::outbox(id), update, cond, e)
            .await?
            .is_some())
    }

    async fn unsent_outbox(&self, limit: usize) -> StoreResult<Vec<OutboxRow>> {
        if limit == 0 {
            return Ok(vec![]);
        }
        let mut all = Vec::new();
        for shard in 0..keys::OUTBOX_SHARDS {
            let q = Q {
                index: Some(G1),
                partition: keys::outbox_shard(shard),
                sort_prefix: None,
                sort_at_most: None,
                forward: true,
                only: None,
            };
            for item in self.query_up_to(&q, limit).await? {
                all.push(decode::<OutboxRow>(item)?);
            }
        }
        all.sort_by(|a, b| a.id.cmp(&b.id));
        all.truncate(limit);
        Ok(all)
    }

    async fn mark_sent(&self, id: &OutboxId, at: Timestamp) -> StoreResult<()> {
        // Only an unsent row is in the outbox index: its index attributes
        // are the "unsent" flag, so a second mark changes nothing.
        let mut e = Expr::default();
        let update = format!(
            "SET {} = {} REMOVE {}, {}, {}, {}, {}, {}",
            e.name("sent_at"),
            e.value(n_i64(at.millis())),
            e.name(G1.pk),
            e.name(G1.sk),
            e.name(G2.pk),
            e.name(G2.sk),
            e.name(SENDING_AT),
            e.name(SENDING_BY)
        );
        let cond = format!(
            "attribute_exists({}) AND attribute_not_exists({})",
            e.name(G1.pk),
            e.name(FAILURE)
        );
        let (names, values) = e.into_parts();
        let req = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key_item(&keys::outbox(id))))
            .update_expression(update)
            .condition_expression(cond)
            .set_expression_attribute_names(names)
            .set_expression_attribute_values(values);
        let mut backoff = commit::Backoff::default();
        for attempt in 1..=SINGLE_WRITE_ATTEMPTS {
            match req.clone().send().await {
                Ok(_) => return Ok(()),
                Err(e) => {
                    let Some(s) = e.as_service_error() else {
                        return Err(DynamoError::sdk("UpdateItem", &e).into());
                    };
                    if s.is_conditional_check_failed_exception() {
                        return Ok(());
                    }
                    if !(s.is_transaction_conflict_exception() && attempt < SINGLE_WRITE_ATTEMPTS) {
                        return Err(DynamoError::sdk("UpdateItem", &e).into());
                    }
                }
            }
            tokio::time::sleep(backoff.next()).await;
        }
        Ok(())
    }

    async fn idempotency(
        &self,
        scope: &str,
        now: Timestamp,
    ) -> StoreResult<Option<IdempotencyRecord>> {
        // TTL deletes within days, not at once: expiry is checked here.
        let r: Option<IdempotencyRecord> = self.get_entity(&keys::idempotency(scope)).await?;
        Ok(r.filter(|r| r.expires_at > now))
    }

    async fn all_balances(&self) -> StoreResult<Vec<(Account, Decimal)>> {
        let mut sums: BTreeMap<Account, Decimal> = BTreeMap::new();
        for shard in 0..keys::ACCOUNT_SHARDS {
            let q = Q {
                index: Some(G1),
                partition: keys::accounts_shard(shard),
                sort_prefix: None,
                sort_at_most: None,
                forward: true,
                only: None,
            };
            for item in self.query_up_to(&q, usize::MAX).await? {
                let account: Account = decode_value(&item, keys::ACCT)?;
                let amount = get_decimal(&item, keys::BALANCE)?.unwrap_or_default();
                // `external` is kept in shards; it is one account.
                *sums.entry(account).or_default() += amount;
            }
        }
        Ok(sums.into_iter().collect())
    }

    async fn ledger_totals(&self) -> StoreResult<khamsa_app::totals::LedgerTotals> {
        Ok(self.read_totals().await?)
    }

    async fn commit(&self, uow: UnitOfWork) -> Result<(), CommitError> {
        match commit::commit(self, uow).await? {
            None => Ok(()),
            Some(_) => Err(CommitError::IdempotencyExists),
        }
    }

    async fn commit_or_replay(
        &self,
        uow: UnitOfWork,
    ) -> Result<Option<IdempotencyRecord>, CommitError> {
        commit::commit(self, uow).await
    }
}
