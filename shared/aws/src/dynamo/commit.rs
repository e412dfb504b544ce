//! `commit`: a unit of work as exactly one `TransactWriteItems`.
//!
//! Each attempt reads the current balances of the user accounts the
//! postings touch (one consistent `BatchGetItem`), so that every ledger
//! line's `balance_after` is exact: the update of each such account is
//! conditioned on `balance = :read`. A cancelled transaction is judged by
//! its `CancellationReasons`, whose indexes match the items sent.

use super::DynamoStore;
use super::codec::{Expr, Item, decode, get_decimal, get_s, key_item, n_i64};
use super::error::DynamoError;
use super::keys::{self, Key};
use super::plan::{Op, Plan, Role, seq_base};
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{CancellationReason, KeysAndAttributes};
use khamsa_app::ports::{CommitError, IdempotencyRecord, StoreError, TimerClear, UnitOfWork};
use rand::Rng;
use rust_decimal::Decimal;
use std::collections::{HashMap, HashSet};
use std::time::Duration;

/// Conflicts and throttling are retried this many times in all.
const MAX_ATTEMPTS: usize = 50;
/// Jittered exponential backoff between attempts.
const BACKOFF_START_MS: u64 = 5;
const BACKOFF_CAP_MS: u64 = 200;
/// `BatchGetItem` may leave keys unprocessed under load; it is retried.
const BATCH_GET_ATTEMPTS: usize = 10;

/// A `ClientRequestToken`: a transaction resent after a timeout with the
/// same token is applied at most once (DynamoDB keeps it 10 minutes).
fn new_token() -> String {
    let mut rng = rand::rng();
    (0..32)
        .map(|_| char::from(b"0123456789abcdef"[rng.random_range(0..16)]))
        .collect()
}

#[derive(Default)]
pub(super) struct Backoff(u32);

impl Backoff {
    /// Jittered ("equal jitter") exponential backoff, capped.
    pub(super) fn next(&mut self) -> Duration {
        let cap = BACKOFF_START_MS
            .saturating_mul(1 << self.0.min(16))
            .min(BACKOFF_CAP_MS);
        self.0 += 1;
        Duration::from_millis(rand::rng().random_range(cap / 2..=cap))
    }
}

enum Verdict {
    Done,
    Fail(CommitError),
    /// The idempotency key is taken, by this record (`ALL_OLD`).
    Replay(Box<IdempotencyRecord>),
    Retry {
        why: String,
        /// Only the exact balance checks failed: every other condition held.
        balance_refused: bool,
        /// Timer clears whose "still due" condition failed: leave them out.
        drop_timers: Vec<Key>,
        backoff: bool,
        /// The balances the refusal reported (`ALL_OLD`), when they make a
        /// re-read needless: every other balance read still held.
        fresh: Option<Vec<(Key, Option<Decimal>)>>,
    },
    /// The request may or may not have been applied (timeout, connection):
    /// send the very same request, with the same token, again.
    Resend(String),
}

fn is_transient_code(code: &str) -> bool {
    matches!(
        code,
        "TransactionConflict"
            | "ThrottlingError"
            | "ProvisionedThroughputExceeded"
            | "RequestLimitExceeded"
            | "TransactionConflictException"
            | "ThrottlingException"
            | "ProvisionedThroughputExceededException"
            | "InternalServerError"
            | "TransactionInProgressException"
    )
}

fn judge(ops: &[Op], reasons: &[CancellationReason], message: Option<&str>) -> Verdict {
    if reasons.len() != ops.len() {
        return Verdict::Fail(
            DynamoError::Sdk {
                op: "TransactWriteItems",
                code: "TransactionCanceled".into(),
                detail: format!(
                    "{} reasons for {} items: {}",
                    reasons.len(),
                    ops.len(),
                    message.unwrap_or("")
                ),
            }
            .into(),
        );
    }
    let mut failed: Vec<(&Op, &CancellationReason)> = Vec::new();
    let mut transient = None;
    for (op, r) in ops.iter().zip(reasons) {
        match r.code().unwrap_or("None") {
            "None" => {}
            "ConditionalCheckFailed" => failed.push((op, r)),
            c if is_transient_code(c) => transient = Some(c.to_owned()),
            other => {
                return Verdict::Fail(
                    DynamoError::Sdk {
                        op: "TransactWriteItems",
                        code: other.to_owned(),
                        detail: format!(
                            "item {}|{}: {}",
                            op.key.0,
                            op.key.1,
                            r.message().unwrap_or("")
                        ),
                    }
                    .into(),
                );
            }
        }
    }
    // The memory store's order of checks: idempotency, versions and
    // uniqueness, postings, then balances.
    if let Some((_, r)) = failed
        .iter()
        .find(|(o, _)| matches!(o.role, Role::Idempotency))
    {
        // The record holding the key came back with the refusal: a
        // replay is answered without a read.
        return match r.item().cloned().map(decode::<IdempotencyRecord>) {
            Some(Ok(rec)) => Verdict::Replay(Box::new(rec)),
            _ => Verdict::Fail(CommitError::IdempotencyExists),
        };
    }
    for (o, _) in &failed {
        if let Role::Hold(u) = &o.role {
            return Verdict::Fail(CommitError::PaymentHold(u.clone()));
        }
    }
    for (o, r) in &failed {
        if let Role::Versioned(what) | Role::Insert(what) = &o.role {
            tracing::info!(
                what,
                stored_version = ?r.item().and_then(|i| i.get("version")),
                "commit refused: conflict"
            );
            return Verdict::Fail(CommitError::Conflict((*what).to_owned()));
        }
    }
    for (o, _) in &failed {
        if let Role::Posting(id) = &o.role {
            return Verdict::Fail(CommitError::Conflict(format!("posting {id}")));
        }
    }
    for (o, r) in &failed {
        if let Role::Balance(a) = &o.role {
            tracing::info!(account = ?a, stored = ?r.item().map(|i| get_decimal(i, keys::BALANCE)), "commit refused: overdraft");
            return Verdict::Fail(CommitError::Overdraft(a.clone()));
        }
    }
    let mut drop_timers = Vec::new();
    let mut balance = false;
    let mut clash = false;
    let mut fresh = Some(Vec::new());
    for (o, r) in &failed {
        match &o.role {
            Role::TimerIfDue(k) => drop_timers.push(k.clone()),
            Role::UserBalance(a) => {
                tracing::debug!(account = ?a, "balance moved since it was read; retrying");
                balance = true;
                // The item as the check saw it; without it, read again.
                let now = r.item().map(|i| get_decimal(i, keys::BALANCE));
                match (now, fresh.as_mut()) {
                    (Some(Ok(b)), Some(f)) => f.push((o.key.clone(), b)),
                    _ => fresh = None,
                }
            }
            // Two lines with one sequence suffix: a new suffix next time.
            Role::LedgerLine => clash = true,
            _ => {
                return Verdict::Fail(
                    DynamoError::Sdk {
                        op: "TransactWriteItems",
                        code: "ConditionalCheckFailed".into(),
                        detail: format!("unconditional item {}|{}", o.key.0, o.key.1),
                    }
                    .into(),
                );
            }
        }
    }
    Verdict::Retry {
        why: transient.clone().unwrap_or_else(|| {
            match (balance, clash) {
                (true, _) => "balance changed",
                (false, true) => "ledger line clash",
                (false, false) => "timer re-armed",
            }
            .into()
        }),
        // With a conflict anywhere, the other conditions may not have been
        // evaluated: only a clean refusal says "everything else held".
        balance_refused: balance && transient.is_none(),
        backoff: balance || transient.is_some(),
        drop_timers,
        fresh: fresh.filter(|_| transient.is_none()),
    }
}

impl DynamoStore {
    async fn send(&self, ops: &[Op], token: &str) -> Verdict {
        let res = self
            .client
            .transact_write_items()
            .set_transact_items(Some(ops.iter().map(|o| o.item.clone()).collect()))
            .client_request_token(token)
            .send()
            .await;
        let e = match res {
            Ok(_) => return Verdict::Done,
            Err(e) => e,
        };
        match &e {
            SdkError::ServiceError(se) => match se.err() {
                TransactWriteItemsError::TransactionCanceledException(c) => {
                    judge(ops, c.cancellation_reasons(), c.message())
                }
                other => {
                    let err = DynamoError::sdk("TransactWriteItems", &e);
                    match err.code().unwrap_or("") {
                        // Not applied: conflicting with another transaction.
                        "TransactionConflictException" => Verdict::Retry {
                            why: "TransactionConflictException".into(),
                            balance_refused: false,
                            drop_timers: vec![],
                            backoff: true,
                            fresh: None,
                        },
                        // Maybe applied (a 500), still running (our token
                        // in flight), or throttled: the same request with
                        // the same token is answered once, either way.
                        "InternalServerError" | "TransactionInProgressException" => {
                            Verdict::Resend(err.to_string())
                        }
                        c if is_transient_code(c) || other.is_throttling_exception() => {
                            Verdict::Resend(err.to_string())
                        }
                        _ => Verdict::Fail(err.into()),
                    }
                }
            },
            SdkError::TimeoutError(_)
            | SdkError::DispatchFailure(_)
            | SdkError::ResponseError(_) => {
                Verdict::Resend(DynamoError::sdk("TransactWriteItems", &e).to_string())
            }
            _ => Verdict::Fail(DynamoError::sdk("TransactWriteItems", &e).into()),
        }
    }

    /// The current balances of these user accounts (`None`: no item yet),
    /// read consistently in one `BatchGetItem`.
    async fn read_balances(
        &self,
        keys: &[Key],
    ) -> Result<HashMap<Key, Option<Decimal>>, DynamoError> {
        let mut out: HashMap<Key, Option<Decimal>> =
            keys.iter().map(|k| (k.clone(), None)).collect();
        for item in self.batch_get(keys).await? {
            let key = (
                get_s(&item, keys::PK)?.to_owned(),
                get_s(&item, keys::SK)?.to_owned(),
            );
            let bal = get_decimal(&item, keys::BALANCE)?;
            out.insert(key, bal);
        }
        Ok(out)
    }

    /// These items (at most 100), read consistently in one `BatchGetItem`
    /// (more only if DynamoDB leaves keys unprocessed); missing ones are
    /// simply not there.
    pub(super) async fn batch_get(&self, keys: &[Key]) -> Result<Vec<Item>, DynamoError> {
        let mut out = Vec::with_capacity(keys.len());
        if keys.is_empty() {
            return Ok(out);
        }
        let mut pending: Vec<Item> = keys.iter().map(key_item).collect();
        let mut backoff = Backoff::default();
        for _ in 0..BATCH_GET_ATTEMPTS {
            let req = KeysAndAttributes::builder()
                .set_keys(Some(std::mem::take(&mut pending)))
                .consistent_read(true)
                .build()
                .map_err(|e| DynamoError::Build("batch get", e.to_string()))?;
            let res = self
                .client
                .batch_get_item()
                .request_items(&self.table, req)
                .send()
                .await
                .map_err(|e| DynamoError::sdk("BatchGetItem", &e))?;
            if let Some(mut by_table) = res.responses
                && let Some(mut items) = by_table.remove(&self.table)
            {
                out.append(&mut items);
            }
            pending = res
                .unprocessed_keys
                .and_then(|mut u| u.remove(&self.table))
                .map(|k| k.keys)
                .unwrap_or_default();
            if pending.is_empty() {
                return Ok(out);
            }
            tokio::time::sleep(backoff.next()).await;
        }
        Err(DynamoError::Exhausted(
            BATCH_GET_ATTEMPTS,
            "BatchGetItem left keys unprocessed".into(),
        ))
    }

    /// A lone timer clear (a timer firing that found nothing to do): a
    /// plain `DeleteItem`. "Not due as given any more" is success: the
    /// timer was re-armed and must stay, exactly as in the memory store.
    async fn clear_timer(&self, c: &TimerClear) -> Result<(), CommitError> {
        let mut e = Expr::default();
        let cond = c
            .only_if_due
            .map(|d| format!("{} = {}", e.name("due"), e.value(n_i64(d.millis()))));
        let (names, values) = e.into_parts();
        let req = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key_item(&keys::timer(&c.order_id, c.kind))))
            .set_condition_expression(cond)
            .set_expression_attribute_names(names)
            .set_expression_attribute_values(values);
        let mut backoff = Backoff::default();
        for attempt in 1..=super::SINGLE_WRITE_ATTEMPTS {
            match req.clone().send().await {
                Ok(_) => return Ok(()),
                Err(e) => {
                    let Some(s) = e.as_service_error() else {
                        return Err(DynamoError::sdk("DeleteItem", &e).into());
                    };
                    if s.is_conditional_check_failed_exception() {
                        return Ok(());
                    }
                    if !(s.is_transaction_conflict_exception()
                        && attempt < super::SINGLE_WRITE_ATTEMPTS)
                    {
                        return Err(DynamoError::sdk("DeleteItem", &e).into());
                    }
                }
            }
            tokio::time::sleep(backoff.next()).await;
        }
        Ok(())
    }
}

fn lone_timer_clear(uow: &UnitOfWork) -> Option<&TimerClear> {
    // Destructured so that a new field of `UnitOfWork` cannot be missed.
    let UnitOfWork {
        writes,
        postings,
        timers_set,
        timers_cleared,
        outbox,
        service_stats,
        seller_stats,
        idempotency,
        not_on_hold,
        balances_read: _,
        inbox,
    } = uow;
    let nothing_else = writes.is_empty()
        && postings.is_empty()
        && timers_set.is_empty()
        && outbox.is_empty()
        && service_stats.is_empty()
        && seller_stats.is_empty()
        && idempotency.is_none()
        && not_on_hold.is_empty()
        && inbox.is_empty();
    match timers_cleared.as_slice() {
        [c] if nothing_else => Some(c),
        _ => None,
    }
}

/// Commits `uow`; `Some` is the record holding its idempotency key when
/// that key is taken (nothing else of `uow` was written).
pub(super) async fn commit(
    store: &DynamoStore,
    uow: UnitOfWork,
) -> Result<Option<IdempotencyRecord>, CommitError> {
    if uow.is_empty() {
        return Ok(None);
    }
    if let Some(c) = lone_timer_clear(&uow) {
        return store.clear_timer(c).await.map(|()| None);
    }
    let plan = Plan::new(&uow)?;
    let user_keys = plan.user_keys();
    let mut skip_timers: HashSet<Key> = HashSet::new();
    let mut balance_refused = false;
    let mut backoff = Backoff::default();
    let mut resend: Option<(Vec<Op>, String)> = None;
    // The balances the use case read and decided on: no read here.
    let mut known: Option<HashMap<Key, Option<Decimal>>> = plan.known(&uow.balances_read);
    let mut last = String::from("no attempt");
    for attempt in 1..=MAX_ATTEMPTS {
        let (ops, token) = match resend.take() {
            Some(again) => again,
            None => {
                let reads = match known.take() {
                    Some(r) => r,
                    None => store.read_balances(&user_keys).await?,
                };
                if balance_refused && let Some(a) = plan.overdraft(&reads) {
                    return Err(CommitError::Overdraft(a));
                }
                let ops = plan.build(&store.table, &reads, &skip_timers, seq_base())?;
                known = Some(reads);
                (ops, new_token())
            }
        };
        match store.send(&ops, &token).await {
            Verdict::Done => {
                if attempt > 1 {
                    tracing::debug!(attempt, "commit succeeded after retries");
                }
                return Ok(None);
            }
            Verdict::Replay(rec) => return Ok(Some(*rec)),
            Verdict::Fail(e) => return Err(e),
            Verdict::Resend(why) => {
                last = why;
                resend = Some((ops, token));
                tokio::time::sleep(backoff.next()).await;
            }
            Verdict::Retry {
                why,
                balance_refused: refused,
                drop_timers,
                backoff: wait,
                fresh,
            } => {
                last = why;
                balance_refused = refused;
                skip_timers.extend(drop_timers);
                // The refusal said what the balances are now: no re-read.
                known = match (known.take(), fresh) {
                    (Some(mut reads), Some(fresh)) => {
                        reads.extend(fresh);
                        Some(reads)
                    }
                    _ => None,
                };
                if wait {
                    tokio::time::sleep(backoff.next()).await;
                }
            }
        }
    }
    tracing::warn!(attempts = MAX_ATTEMPTS, %last, "commit gave up");
    Err(CommitError::Store(StoreError::Unavailable(
        DynamoError::Exhausted(MAX_ATTEMPTS, last).to_string(),
    )))
}
