//! The running ledger totals (`khamsa_app::totals`) on DynamoDB: one extra
//! `ADD` per transaction that posts, on one of `TOTALS_SHARDS` items picked
//! by a hash of the first posting's id. One global item would take every
//! posting's write and serialise them all (`TransactionConflict` storms);
//! 64 shards spread them (two postings in flight meet on one item 1 time in
//! 64), and the check reads all 64 in one `BatchGetItem` (up to 100 keys).
//! Each shard is on its own partition key, so no partition takes them all.

use super::DynamoStore;
use super::codec::{Expr, Item, get_decimal, key_item, n_dec, s};
use super::error::DynamoError;
use super::keys::{self, Key};
use super::plan::{Op, Role};
use aws_sdk_dynamodb::types::{TransactWriteItem, Update};
use khamsa_app::ports::UnitOfWork;
use khamsa_app::totals::{LedgerTotals, Total};

pub const TOTALS_SHARDS: u32 = 64;

pub fn key(shard: u32) -> Key {
    (format!("TOTALS#{shard:02}"), "TOTALS".to_owned())
}

/// The action adding this unit of work's totals, if it posts anything.
pub(super) fn op(table: &str, uow: &UnitOfWork) -> Result<Option<Op>, DynamoError> {
    let Some(first) = uow.postings.first() else {
        return Ok(None);
    };
    let t = LedgerTotals::of_unit(uow);
    let key = key(keys::shard(first.id().as_str(), TOTALS_SHARDS));
    let mut e = Expr::default();
    // Never empty: `postings` counts the first one.
    let adds: Vec<String> = t
        .nonzero()
        .map(|(total, d)| format!("{} {}", e.name(total.as_str()), e.value(n_dec(d))))
        .collect();
    let update = format!(
        "ADD {} SET {} = {}",
        adds.join(", "),
        e.name(keys::TY),
        e.value(s("ledger_totals"))
    );
    let (names, values) = e.into_parts();
    let up = Update::builder()
        .table_name(table)
        .set_key(Some(key_item(&key)))
        .update_expression(update)
        .set_expression_attribute_names(names)
        .set_expression_attribute_values(values)
        .build()
        .map_err(|e| DynamoError::Build("totals update", e.to_string()))?;
    Ok(Some(Op {
        key,
        role: Role::Plain,
        item: TransactWriteItem::builder().update(up).build(),
    }))
}

fn decode(item: &Item) -> Result<LedgerTotals, DynamoError> {
    let mut t = LedgerTotals::default();
    for total in Total::ALL {
        if let Some(d) = get_decimal(item, total.as_str())? {
            t.add(total, d);
        }
    }
    Ok(t)
}

impl DynamoStore {
    /// Every shard, read consistently in one `BatchGetItem` (the store's
    /// `batch_get`, which follows unprocessed keys), summed.
    pub(super) async fn read_totals(&self) -> Result<LedgerTotals, DynamoError> {
        let keys: Vec<Key> = (0..TOTALS_SHARDS).map(key).collect();
        let mut sum = LedgerTotals::default();
        for item in self.batch_get(&keys).await? {
            sum.merge(&decode(&item)?);
        }
        Ok(sum)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use khamsa_domain::Timestamp;
    use khamsa_domain::ids::{PostingId, UserId};
    use khamsa_domain::ledger::{Account, Posting, PostingKind, PostingRef, Transfer, UserAccount};
    use khamsa_domain::money::Money;
    use std::collections::HashSet;

    fn topup(id: &str) -> Posting {
        Posting::new(
            PostingId::new(id),
            PostingKind::Topup,
            Timestamp(0),
            PostingRef::default(),
            [Transfer {
                debit: Account::External,
                credit: Account::user(&UserId::new("u"), UserAccount::Balance),
                amount: Money::dollars(5),
            }],
        )
    }

    #[test]
    fn only_a_posting_unit_adds_to_one_shard_and_postings_spread() {
        assert!(op("t", &UnitOfWork::default()).unwrap().is_none());
        let mut shards = HashSet::new();
        for n in 0..2000 {
            let uow = UnitOfWork {
                postings: vec![topup(&format!("tp_{n}/settled"))],
                ..Default::default()
            };
            let o = op("t", &uow).unwrap().expect("a totals update");
            assert_eq!(o.key.1, "TOTALS");
            shards.insert(o.key.0);
        }
        assert_eq!(shards.len(), TOTALS_SHARDS as usize, "every shard is used");
    }
}
