//! A unit of work turned into the items of one `TransactWriteItems`: one
//! action per item (DynamoDB refuses two on the same item), each with the
//! condition that keeps the memory store's promise, and a `Role` that says
//! what its cancellation reason means.

use super::codec::{
    Expr, Item, encode_value, entity_item, index_attrs, key_item, n_dec, n_i64, n_u64, s,
};
use super::error::DynamoError;
use super::keys::{self, G1, GSIS, Key, PK};
use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, Delete, Put, ReturnValuesOnConditionCheckFailure,
    TransactWriteItem, Update,
};
use khamsa_app::ports::{Balances, CommitError, LedgerLine, OUTBOX_GRACE_MS, UnitOfWork, Write};
use khamsa_domain::Timestamp;
use khamsa_domain::ids::{PostingId, ServiceId, UserId};
use khamsa_domain::ledger::Account;
use khamsa_domain::order::Timer;
use khamsa_domain::search::SearchDoc;
use khamsa_domain::service::{Service, ServiceStats, ServiceStatus};
use rust_decimal::Decimal;
use std::collections::{HashMap, HashSet};
use std::time::{SystemTime, UNIX_EPOCH};

/// `TransactWriteItems` takes at most 100 actions.
const MAX_ITEMS: usize = 100;

/// What an item of the transaction stands for, to read its cancellation
/// reason.
#[derive(Debug, Clone)]
pub(super) enum Role {
    Idempotency,
    /// `not_on_hold`: the profile carries no payment hold.
    Hold(UserId),
    /// A version condition: `attribute_not_exists` for 0, `version = :v`.
    Versioned(&'static str),
    /// An insert-only record: `attribute_not_exists(pk)`.
    Insert(&'static str),
    Posting(PostingId),
    /// A user account with the exact `balance = :read` check.
    UserBalance(Account),
    /// Escrow or platform, with `balance >= :needed`.
    Balance(Account),
    /// A ledger line, unique by its sequence suffix.
    LedgerLine,
    /// A timer cleared only if still due as given.
    TimerIfDue(Key),
    Plain,
}

pub(super) struct Op {
    pub key: Key,
    pub role: Role,
    pub item: TransactWriteItem,
}

enum TimerOp {
    Put(Timer),
    Delete,
    DeleteIfDue(Vec<Timestamp>),
}

struct Delta {
    key: Key,
    account: Account,
    delta: Decimal,
}

/// What a unit of work does, worked out once; each attempt builds items
/// from it with fresh balance reads.
pub(super) struct Plan<'a> {
    uow: &'a UnitOfWork,
    /// Net change per balance item: DynamoDB refuses two actions on one
    /// item in a transaction, so legs are summed per account (like
    /// `Posting::net_by_account`, with `external` per shard).
    deltas: Vec<Delta>,
    /// One action per timer item: clears first, then sets, as the memory
    /// store applies them.
    timers: Vec<(Key, TimerOp)>,
    /// Counters per service, summed.
    stats: Vec<(ServiceId, ServiceStats)>,
    /// Counters per seller, summed.
    seller_stats: Vec<(UserId, ServiceStats)>,
}

fn sum_stats(a: &mut ServiceStats, b: &ServiceStats) {
    a.rating_count += b.rating_count;
    a.rating_sum += b.rating_sum;
    a.orders_completed += b.orders_completed;
}

impl<'a> Plan<'a> {
    pub fn new(uow: &'a UnitOfWork) -> Result<Self, CommitError> {
        let mut deltas: Vec<Delta> = Vec::new();
        for p in &uow.postings {
            if !p.is_balanced() {
                return Err(CommitError::Conflict(format!("posting {}", p.id())));
            }
            for leg in p.legs() {
                let key = keys::account(leg.account(), p.id());
                match deltas.iter_mut().find(|d| d.key == key) {
                    Some(d) => d.delta += leg.amount(),
                    None => deltas.push(Delta {
                        key,
                        account: leg.account().clone(),
                        delta: leg.amount(),
                    }),
                }
            }
        }
        let mut timers: Vec<(Key, TimerOp)> = Vec::new();
        for c in &uow.timers_cleared {
            let key = keys::timer(&c.order_id, c.kind);
            let at = match timers.iter().position(|(k, _)| *k == key) {
                Some(i) => i,
                None => {
                    timers.push((key, TimerOp::DeleteIfDue(vec![])));
                    timers.len() - 1
                }
            };
            let slot = &mut timers[at].1;
            match (c.only_if_due, &mut *slot) {
                (None, _) => *slot = TimerOp::Delete,
                (Some(due), TimerOp::DeleteIfDue(dues)) => dues.push(due),
                (Some(_), _) => {}
            }
        }
        for t in &uow.timers_set {
            let key = keys::timer(&t.order_id, t.kind);
            match timers.iter_mut().find(|(k, _)| *k == key) {
                Some((_, op)) => *op = TimerOp::Put(t.clone()),
                None => timers.push((key, TimerOp::Put(t.clone()))),
            }
        }
        let mut stats: Vec<(ServiceId, ServiceStats)> = Vec::new();
        for (id, d) in &uow.service_stats {
            match stats.iter_mut().find(|(s, _)| s == id) {
                Some((_, acc)) => sum_stats(acc, d),
                None => stats.push((id.clone(), *d)),
            }
        }
        let mut seller_stats: Vec<(UserId, ServiceStats)> = Vec::new();
        for (id, d) in &uow.seller_stats {
            match seller_stats.iter_mut().find(|(u, _)| u == id) {
                Some((_, acc)) => sum_stats(acc, d),
                None => seller_stats.push((id.clone(), *d)),
            }
        }
        Ok(Plan {
            uow,
            deltas,
            timers,
            stats,
            seller_stats,
        })
    }

    pub fn user_keys(&self) -> Vec<Key> {
        self.deltas
            .iter()
            .filter(|d| matches!(d.account, Account::User { .. }))
            .map(|d| d.key.clone())
            .collect()
    }

    /// The balances `uow.balances_read` gives for every user account the
    /// postings touch, or `None` if it leaves one out (then they are read).
    /// A zero there may be an account with no item yet: its condition
    /// allows both (`build`).
    pub fn known(&self, read: &[(UserId, Balances)]) -> Option<HashMap<Key, Option<Decimal>>> {
        let mut out = HashMap::new();
        for d in &self.deltas {
            if let Account::User { user, account } = &d.account {
                let (_, b) = read.iter().find(|(u, _)| u == user)?;
                out.insert(d.key.clone(), Some(b.get(*account).amount()));
            }
        }
        Some(out).filter(|m| !m.is_empty())
    }

    /// The first user account the postings would take below zero.
    pub fn overdraft(&self, reads: &HashMap<Key, Option<Decimal>>) -> Option<Account> {
        self.deltas
            .iter()
            .filter(|d| matches!(d.account, Account::User { .. }))
            .find(|d| {
                let now = reads.get(&d.key).copied().flatten().unwrap_or_default();
                now + d.delta < Decimal::ZERO
            })
            .map(|d| d.account.clone())
    }

    pub fn build(
        &self,
        table: &str,
        reads: &HashMap<Key, Option<Decimal>>,
        skip_timers: &HashSet<Key>,
        seq_base: u64,
    ) -> Result<Vec<Op>, CommitError> {
        let uow = self.uow;
        let mut b = Builder {
            table,
            ops: Vec::new(),
        };
        // The idempotency record first: if a duplicate won, that is the
        // answer whatever else failed (the memory store checks it first).
        if let Some(r) = &uow.idempotency {
            let key = keys::idempotency(&r.scope);
            let mut item = entity_item("idempotency", r, &key)?;
            // TTL reads seconds; round up so a record never dies early.
            let secs = r.expires_at.millis().div_euclid(1000)
                + i64::from(r.expires_at.millis().rem_euclid(1000) != 0);
            item.insert(keys::TTL.to_owned(), n_i64(secs));
            let mut e = Expr::default();
            let cond = format!(
                "attribute_not_exists({}) OR {} <= {}",
                e.name(PK),
                e.name("expires_at"),
                e.value(n_i64(r.created_at.millis()))
            );
            b.put(key, Role::Idempotency, item, Some((cond, e)))?;
        }
        // A profile written here is checked by its version instead (one
        // action per item).
        let written_profiles: HashSet<&UserId> = uow
            .writes
            .iter()
            .filter_map(|w| match w {
                Write::Profile(p) => Some(&p.id),
                _ => None,
            })
            .collect();
        let mut held: HashSet<&UserId> = HashSet::new();
        for u in &uow.not_on_hold {
            if written_profiles.contains(u) || !held.insert(u) {
                continue;
            }
            let mut e = Expr::default();
            let hold = e.name("payment_hold");
            let cond = format!(
                "attribute_not_exists({hold}) OR {hold} = {}",
                e.value(AttributeValue::Bool(false))
            );
            b.check(keys::profile(u), Role::Hold(u.clone()), cond, e)?;
        }
        for w in &uow.writes {
            match w {
                Write::Profile(x) => {
                    let mut x = x.clone();
                    x.version += 1;
                    let item = entity_item("profile", &x, &keys::profile(&x.id))?;
                    b.versioned(keys::profile(&x.id), "profile", item, x.version - 1)?;
                }
                Write::Service(x) => {
                    let stats = self
                        .stats
                        .iter()
                        .find(|(id, _)| *id == x.id)
                        .map(|(_, st)| *st);
                    b.service(x, stats)?;
                }
                Write::Order(x) => {
                    let mut x = x.clone();
                    x.version += 1;
                    let key = keys::order(&x.id);
                    let mut item = entity_item("order", &x, &key)?;
                    index_attrs(&mut item, &keys::order_index(&x));
                    b.versioned(key, "order", item, x.version - 1)?;
                }
                Write::Review(x) => {
                    let mut x = x.clone();
                    x.version += 1;
                    let key = keys::review(&x.order_id);
                    let mut item = entity_item("review", &x, &key)?;
                    index_attrs(&mut item, &keys::review_index(&x));
                    b.versioned(key, "review", item, x.version - 1)?;
                }
                Write::Request(x) => {
                    let mut x = x.clone();
                    x.version += 1;
                    let key = keys::request(&x.id);
                    let mut item = entity_item("request", &x, &key)?;
                    index_attrs(&mut item, &keys::request_index(&x));
                    b.versioned(key, "request", item, x.version - 1)?;
                }
                Write::Withdrawal(x) => {
                    let mut x = x.clone();
                    x.version += 1;
                    let key = keys::withdrawal(&x.id);
                    let mut item = entity_item("withdrawal", &x, &key)?;
                    index_attrs(&mut item, &keys::withdrawal_index(&x));
                    b.versioned(key, "withdrawal", item, x.version - 1)?;
                }
                Write::Message(m) => {
                    let key = keys::message(&m.order_id, m.at, m.id.as_str());
                    let item = entity_item("message", m, &key)?;
                    b.insert(key, Role::Insert("message"), item)?;
                }
                Write::Offer(o) => {
                    let key = keys::offer(&o.request_id, &o.seller_id);
                    let item = entity_item("offer", o, &key)?;
                    b.insert(key, Role::Insert("offer"), item)?;
                }
                Write::File(x) => {
                    let mut x = x.clone();
                    x.version += 1;
                    let key = keys::file(&x.order_id, &x.id);
                    let item = entity_item("file", &x, &key)?;
                    b.versioned(key, "file", item, x.version - 1)?;
                }
                Write::Topup(x) => {
                    let mut x = x.clone();
                    x.version += 1;
                    let key = keys::topup(&x.id);
                    let mut item = entity_item("topup", &x, &key)?;
                    index_attrs(&mut item, &keys::topup_index(&x));
                    b.versioned(key, "topup", item, x.version - 1)?;
                }
            }
        }
        for p in &uow.postings {
            let key = keys::posting(p.id());
            let item = entity_item("posting", p, &key)?;
            b.insert(key, Role::Posting(p.id().clone()), item)?;
        }
        for d in &self.deltas {
            b.balance(d, reads)?;
        }
        // Ledger lines: each user leg with the balance right after it,
        // running from the balances read for this attempt.
        let mut running: HashMap<Key, Decimal> = HashMap::new();
        let mut seq = seq_base;
        for p in &uow.postings {
            for leg in p.legs() {
                let Account::User { user, account } = leg.account() else {
                    continue;
                };
                let acct_key = keys::user_account(user, *account);
                let bal = running
                    .entry(acct_key.clone())
                    .or_insert_with(|| reads.get(&acct_key).copied().flatten().unwrap_or_default());
                *bal += leg.amount();
                seq += 1;
                let line = LedgerLine {
                    user_id: user.clone(),
                    at: p.at(),
                    account: *account,
                    amount: leg.amount(),
                    balance_after: *bal,
                    kind: p.kind(),
                    order_id: p.order_id().cloned(),
                    withdrawal_id: p.withdrawal_id().cloned(),
                    seq,
                };
                let key = keys::ledger_line(user, p.at(), seq);
                let item = entity_item("ledger_line", &line, &key)?;
                b.insert(key, Role::LedgerLine, item)?;
            }
        }
        for (key, op) in &self.timers {
            match op {
                TimerOp::Put(t) => {
                    let mut item = entity_item("timer", t, key)?;
                    index_attrs(&mut item, &keys::timer_index(t));
                    b.put(key.clone(), Role::Plain, item, None)?;
                }
                TimerOp::Delete => b.delete(key.clone(), Role::Plain, None)?,
                TimerOp::DeleteIfDue(dues) => {
                    if skip_timers.contains(key) || dues.is_empty() {
                        continue;
                    }
                    let mut e = Expr::default();
                    let due = e.name("due");
                    let cond = dues
                        .iter()
                        .map(|d| format!("{due} = {}", e.value(n_i64(d.millis()))))
                        .collect::<Vec<_>>()
                        .join(" OR ");
                    b.delete(key.clone(), Role::TimerIfDue(key.clone()), Some((cond, e)))?;
                }
            }
        }
        for r in &uow.outbox {
            let key = keys::outbox(&r.id);
            let mut item = entity_item("outbox", r, &key)?;
            if r.sent_at.is_none() {
                let queue_at = r.created_at.plus_ms(OUTBOX_GRACE_MS);
                index_attrs(
                    &mut item,
                    &[
                        keys::outbox_index(&r.id),
                        keys::outbox_queue_index(&r.id, queue_at),
                    ],
                );
            }
            b.put(key, Role::Plain, item, None)?;
        }
        // Inbox entries: put at the new activity time, or taken out. They
        // sit beside the order (its partition) and in the user's G1 list.
        for x in &uow.inbox {
            let key = keys::inbox(&x.order_id, &x.user);
            match x.at {
                Some(at) => {
                    let mut item = key_item(&key);
                    item.insert(keys::TY.into(), AttributeValue::S("inbox".into()));
                    index_attrs(&mut item, &[keys::inbox_index(&x.order_id, &x.user, at)]);
                    b.put(key, Role::Plain, item, None)?;
                }
                None => b.delete(key, Role::Plain, None)?,
            }
        }
        let written: HashSet<&ServiceId> = uow
            .writes
            .iter()
            .filter_map(|w| match w {
                Write::Service(x) => Some(&x.id),
                _ => None,
            })
            .collect();
        for (id, st) in &self.stats {
            if !written.contains(id) {
                b.stats_only(id, st)?;
            }
        }
        for (u, st) in &self.seller_stats {
            let mut e = Expr::default();
            let update = format!("ADD {}", stats_adds(&mut e, st));
            b.update(keys::seller_stats(u), Role::Plain, update, None, e)?;
        }
        // The running ledger totals: one item, built on its own.
        b.ops.extend(super::totals::op(table, uow)?);

        let mut seen = HashSet::new();
        for op in &b.ops {
            if !seen.insert(&op.key) {
                return Err(
                    DynamoError::SameItemTwice(format!("{}|{}", op.key.0, op.key.1)).into(),
                );
            }
        }
        if b.ops.len() > MAX_ITEMS {
            return Err(DynamoError::TooManyItems(b.ops.len()).into());
        }
        Ok(b.ops)
    }
}

struct Builder<'t> {
    table: &'t str,
    ops: Vec<Op>,
}

fn build_err(what: &'static str) -> impl Fn(aws_sdk_dynamodb::error::BuildError) -> DynamoError {
    move |e| DynamoError::Build(what, e.to_string())
}

impl Builder<'_> {
    fn put(
        &mut self,
        key: Key,
        role: Role,
        item: Item,
        cond: Option<(String, Expr)>,
    ) -> Result<(), DynamoError> {
        let (cond, e) = cond.unzip();
        let (names, values) = e.unwrap_or_default().into_parts();
        let put = Put::builder()
            .table_name(self.table)
            .set_item(Some(item))
            .set_condition_expression(cond)
            .set_expression_attribute_names(names)
            .set_expression_attribute_values(values)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build()
            .map_err(build_err("put"))?;
        self.ops.push(Op {
            key,
            role,
            item: TransactWriteItem::builder().put(put).build(),
        });
        Ok(())
    }

    /// A condition on an item this transaction does not write.
    fn check(&mut self, key: Key, role: Role, cond: String, e: Expr) -> Result<(), DynamoError> {
        let (names, values) = e.into_parts();
        let check = ConditionCheck::builder()
            .table_name(self.table)
            .set_key(Some(key_item(&key)))
            .condition_expression(cond)
            .set_expression_attribute_names(names)
            .set_expression_attribute_values(values)
            .build()
            .map_err(build_err("condition check"))?;
        self.ops.push(Op {
            key,
            role,
            item: TransactWriteItem::builder().condition_check(check).build(),
        });
        Ok(())
    }

    fn delete(
        &mut self,
        key: Key,
        role: Role,
        cond: Option<(String, Expr)>,
    ) -> Result<(), DynamoError> {
        let (cond, e) = cond.unzip();
        let (names, values) = e.unwrap_or_default().into_parts();
        let del = Delete::builder()
            .table_name(self.table)
            .set_key(Some(key_item(&key)))
            .set_condition_expression(cond)
            .set_expression_attribute_names(names)
            .set_expression_attribute_values(values)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build()
            .map_err(build_err("delete"))?;
        self.ops.push(Op {
            key,
            role,
            item: TransactWriteItem::builder().delete(del).build(),
        });
        Ok(())
    }

    fn update(
        &mut self,
        key: Key,
        role: Role,
        update: String,
        cond: Option<String>,
        e: Expr,
    ) -> Result<(), DynamoError> {
        let (names, values) = e.into_parts();
        let up = Update::builder()
            .table_name(self.table)
            .set_key(Some(key_item(&key)))
            .update_expression(update)
            .set_condition_expression(cond)
            .set_expression_attribute_names(names)
            .set_expression_attribute_values(values)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build()
            .map_err(build_err("update"))?;
        self.ops.push(Op {
            key,
            role,
            item: TransactWriteItem::builder().update(up).build(),
        });
        Ok(())
    }

    /// Stores `item` (already at version + 1) if the stored version is
    /// `given`; version 0 means "must not exist".
    fn versioned(
        &mut self,
        key: Key,
        what: &'static str,
        item: Item,
        given: u64,
    ) -> Result<(), DynamoError> {
        let mut e = Expr::default();
        let cond = if given == 0 {
            format!("attribute_not_exists({})", e.name(PK))
        } else {
            format!("{} = {}", e.name("version"), e.value(n_u64(given)))
        };
        self.put(key, Role::Versioned(what), item, Some((cond, e)))
    }

    fn insert(&mut self, key: Key, role: Role, item: Item) -> Result<(), DynamoError> {
        let mut e = Expr::default();
        let cond = format!("attribute_not_exists({})", e.name(PK));
        self.put(key, role, item, Some((cond, e)))
    }

    /// A service is written with `SET` of each attribute, not `Put`: its
    /// counters live on the same item and must survive an edit. Its
    /// counters of this unit of work join the same action (one action
    /// per item).
    fn service(&mut self, x: &Service, stats: Option<ServiceStats>) -> Result<(), DynamoError> {
        let given = x.version;
        let mut x = x.clone();
        x.version += 1;
        let key = keys::service(&x.id);
        let mut item = entity_item("service", &x, &key)?;
        let entries = keys::service_index(&x);
        index_attrs(&mut item, &entries);
        let mut e = Expr::default();
        let mut attrs: Vec<(String, aws_sdk_dynamodb::types::AttributeValue)> = item
            .into_iter()
            .filter(|(k, _)| k != keys::PK && k != keys::SK)
            .collect();
        attrs.sort_by(|a, b| a.0.cmp(&b.0));
        let sets: Vec<String> = attrs
            .into_iter()
            .map(|(k, v)| format!("{} = {}", e.name(&k), e.value(v)))
            .collect();
        let present: HashSet<&str> = entries.iter().flat_map(|(g, _, _)| [g.pk, g.sk]).collect();
        let removes: Vec<String> = GSIS
            .iter()
            .flat_map(|g| [g.pk, g.sk])
            .filter(|a| !present.contains(a))
            .map(|a| e.name(a))
            .collect();
        let mut update = format!("SET {}", sets.join(", "));
        if !removes.is_empty() {
            update += &format!(" REMOVE {}", removes.join(", "));
        }
        if let Some(st) = stats {
            update += &format!(" ADD {}", stats_adds(&mut e, &st));
        }
        // A counters-only item may exist before the service: the version
        // attribute, not the item, says whether the service exists.
        let cond = if given == 0 {
            format!("attribute_not_exists({})", e.name("version"))
        } else {
            format!("{} = {}", e.name("version"), e.value(n_u64(given)))
        };
        self.update(key, Role::Versioned("service"), update, Some(cond), e)?;
        self.search_entries(&x)
    }

    /// Puts the search index entries of an active service, in the same
    /// transaction as the service: at most two per word of `SearchDoc`.
    fn search_entries(&mut self, x: &Service) -> Result<(), DynamoError> {
        if x.status != ServiceStatus::Active {
            return Ok(());
        }
        for head in SearchDoc::of(&x.draft).heads() {
            let key = keys::search(&head, &x.id);
            let mut item = key_item(&key);
            item.insert(keys::TY.to_owned(), s("search"));
            self.put(key, Role::Plain, item, None)?;
        }
        Ok(())
    }

    fn stats_only(&mut self, id: &ServiceId, st: &ServiceStats) -> Result<(), DynamoError> {
        let mut e = Expr::default();
        let update = format!("ADD {}", stats_adds(&mut e, st));
        self.update(keys::service(id), Role::Plain, update, None, e)
    }

    /// `ADD balance :delta` on an `N`, with the condition its kind needs.
    fn balance(
        &mut self,
        d: &Delta,
        reads: &HashMap<Key, Option<Decimal>>,
    ) -> Result<(), DynamoError> {
        let mut e = Expr::default();
        let bal = e.name(keys::BALANCE);
        let (ip, is) = {
            let (_, p, s) = keys::account_index(&d.key);
            (p, s)
        };
        let update = format!(
            "ADD {bal} {} SET {} = {}, {} = {}, {} = {}, {} = {}",
            e.value(n_dec(d.delta)),
            e.name(keys::ACCT),
            e.value(encode_value("account", &d.account)?),
            e.name(keys::TY),
            e.value(s("account")),
            e.name(G1.pk),
            e.value(s(ip)),
            e.name(G1.sk),
            e.value(s(is)),
        );
        let needed = -d.delta;
        let (cond, role) = match &d.account {
            Account::User { .. } => {
                let read = reads.get(&d.key).copied().flatten();
                let mut cond = match read {
                    // Zero as the use case read it: no item yet, or zero.
                    Some(r) if r.is_zero() => {
                        format!(
                            "(attribute_not_exists({bal}) OR {bal} = {})",
                            e.value(n_dec(r))
                        )
                    }
                    Some(r) => format!("{bal} = {}", e.value(n_dec(r))),
                    None => format!("attribute_not_exists({bal})"),
                };
                // Known to overdraw: send it anyway with a condition that
                // cannot hold, so that an idempotency or version failure
                // of the same transaction still takes precedence.
                if read.unwrap_or_default() + d.delta < Decimal::ZERO {
                    cond += &format!(" AND {bal} >= {}", e.value(n_dec(needed)));
                }
                (Some(cond), Role::UserBalance(d.account.clone()))
            }
            Account::External => (None, Role::Plain),
            _ if d.delta < Decimal::ZERO => (
                Some(format!("{bal} >= {}", e.value(n_dec(needed)))),
                Role::Balance(d.account.clone()),
            ),
            _ => (None, Role::Plain),
        };
        self.update(d.key.clone(), role, update, cond, e)
    }
}

fn stats_adds(e: &mut Expr, st: &ServiceStats) -> String {
    [
        (keys::RATING_COUNT, st.rating_count),
        (keys::RATING_SUM, st.rating_sum),
        (keys::ORDERS_COMPLETED, st.orders_completed),
    ]
    .into_iter()
    .map(|(a, v)| format!("{} {}", e.name(a), e.value(n_u64(v))))
    .collect::<Vec<_>>()
    .join(", ")
}

/// Ledger lines within one millisecond sort by this: microseconds of the
/// attempt, times 1,000, plus the line's index (a unit of work has fewer
/// than 100 items). Unique per user and millisecond in practice; the
/// line's `attribute_not_exists` makes a collision a retry, not a loss.
pub(super) fn seq_base() -> u64 {
    let micros = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0);
    micros.saturating_mul(1000)
}
