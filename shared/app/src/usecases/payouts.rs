//! Payouts: approved withdrawals sent to PayPal, and what PayPal reports
//! about each payout item (webhook or poll).

use crate::app::App;
use crate::error::AppResult;
use crate::ports::payments::PayoutItem;

/// A payout item changed at the provider (webhook `PAYMENT.PAYOUTS-ITEM.*`
/// or the poll): moves its withdrawal to `paid` or `failed`, at most once.
pub async fn item_changed(app: &App, item: &PayoutItem) -> AppResult<()> {
    // Filled in by the payouts work (issue 8); until then withdrawals are
    // settled by operators as before.
    let _ = app;
    tracing::info!(item = %item.id, status = ?item.status, "payout item event not handled yet");
    Ok(())
}
