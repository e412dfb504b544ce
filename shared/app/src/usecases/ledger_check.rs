//! The operators' audit: the ledger's invariants, checked on the running
//! totals every commit keeps (`crate::totals`), so its cost does not grow
//! with the ledger. Per-account "never below zero" is a condition of every
//! commit (a debit that would overdraw is refused, not recorded); here each
//! account kind is checked as a whole.

use crate::app::App;
use crate::error::AppResult;
use crate::totals::{LedgerTotals, Total};
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

/// Served under `/admin`, where the edge checks operators once; also run
/// daily by the reconciliation function.
pub async fn check(app: &App) -> AppResult<LedgerCheck> {
    Ok(judge(&app.store.ledger_totals().await?))
}

/// The scheduled reconciliation: the same check, each violation logged and
/// their count emitted as the `LedgerViolations` metric, which alarms.
pub async fn reconcile(app: &App) -> AppResult<LedgerCheck> {
    let c = check(app).await?;
    for v in &c.violations {
        tracing::error!(subject = %v.subject, problem = %v.problem, "ledger violation");
    }
    tracing::info!(
        violations = c.violations.len(),
        accounts_total = %c.accounts_total,
        "ledger reconciled"
    );
    crate::metrics::emit(
        &crate::metrics::Event::LedgerChecked {
            violations: Decimal::from(c.violations.len()),
        },
        app.clock.now().millis(),
    );
    Ok(c)
}

/// The invariants, on totals alone.
pub fn judge(t: &LedgerTotals) -> LedgerCheck {
    let mut violations = vec![];
    let mut account = |subject: &str, problem: String| {
        violations.push(Violation {
            subject: subject.into(),
            problem,
            is_order: false,
        })
    };
    let total: Decimal = Total::KINDS.iter().map(|k| t.get(*k)).sum();
    if !total.is_zero() {
        account("all", format!("accounts sum to {total}, not 0"));
    }
    let (credits, debits) = (t.get(Total::Credits), t.get(Total::Debits));
    if credits != debits {
        account("all", format!("credits {credits} but debits {debits}"));
    }
    for k in Total::KINDS {
        let amount = t.get(k);
        if k != Total::External && amount < Decimal::ZERO {
            account(k.as_str(), format!("negative balance {amount}"));
        }
    }
    let (escrow, owed) = (t.get(Total::Escrow), t.get(Total::EscrowOwed));
    if escrow != owed {
        account(
            "escrow",
            format!(
                "escrow holds {escrow} but open orders paid in {owed}: a finished order still holds money"
            ),
        );
    }
    LedgerCheck {
        accounts_total: total,
        violations,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_invariant_is_judged_on_totals() {
        assert!(judge(&LedgerTotals::default()).violations.is_empty());
        let mut t = LedgerTotals::default();
        t.add(Total::Escrow, Decimal::TEN);
        t.add(Total::Balance, -Decimal::TEN);
        t.add(Total::Credits, Decimal::ONE);
        let problems: Vec<String> = judge(&t)
            .violations
            .into_iter()
            .map(|v| format!("{}: {}", v.subject, v.problem))
            .collect();
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(problems[0].starts_with("all: credits"));
        assert!(problems[1].starts_with("balance: negative"));
        assert!(problems[2].starts_with("escrow: escrow holds 10"));
        t.add(Total::Balance, Decimal::ONE);
        assert!(
            judge(&t).violations[0]
                .problem
                .starts_with("accounts sum to 1")
        );
    }
}
