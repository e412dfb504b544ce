//! The operators' audit: the ledger's invariants, checked on live data.

use crate::app::App;
use crate::error::AppResult;
use khamsa_domain::ledger::Account;
use rust_decimal::Decimal;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub subject: String,
    pub problem: String,
    /// Whether `subject` is an order id (else an account).
    pub is_order: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerCheck {
    pub accounts_total: Decimal,
    pub violations: Vec<Violation>,
}

/// Served under `/admin`, where the edge checks operators once.
pub async fn check(app: &App) -> AppResult<LedgerCheck> {
    let balances = app.store.all_balances().await?;
    let total: Decimal = balances.iter().map(|(_, d)| *d).sum();
    let mut violations = vec![];
    if !total.is_zero() {
        violations.push(Violation {
            subject: "all".into(),
            problem: format!("accounts sum to {total}, not 0"),
            is_order: false,
        });
    }
    for (account, amount) in &balances {
        if *amount < Decimal::ZERO && !account.may_go_negative() {
            violations.push(Violation {
                subject: account_label(account),
                problem: format!("negative balance {amount}"),
                is_order: false,
            });
        }
        if let Account::Escrow { order } = account
            && !amount.is_zero()
            && let Some(o) = app.store.order(order).await?
            && o.status.is_finished()
        {
            violations.push(Violation {
                subject: order.to_string(),
                problem: format!("{} order still holds {amount} in escrow", o.status),
                is_order: true,
            });
        }
    }
    Ok(LedgerCheck {
        accounts_total: total,
        violations,
    })
}

fn account_label(a: &Account) -> String {
    match a {
        Account::User { user, account } => format!("{account}:{user}"),
        Account::Escrow { order } => format!("escrow:{order}"),
        Account::Platform { shard } => format!("platform:{shard}"),
        Account::PaymentFees => "payment_fees".into(),
        Account::PaymentLosses => "payment_losses".into(),
        Account::External => "external".into(),
    }
}
