//! What a state change tells people. The domain decides who hears what; the
//! app renders it into an email in the recipient's language.

use crate::dispute::DisputeOutcome;
use crate::ids::{OrderId, UserId, WithdrawalId};
use crate::money::Money;
use crate::order::Actor;
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum NoticeKind {
    /// Seller: someone bought your service.
    NewOrder {
        total: Money,
        seller_net: Money,
        quantity: u32,
    },
    /// Buyer: the receipt.
    OrderPlaced {
        total: Money,
        paid_from_balance: Money,
        paid_from_earnings: Money,
    },
    /// Seller: the buyer sent what you need to start.
    InstructionsReceived { text: String },
    /// Seller: the buyer wants changes.
    ChangesRequested { text: String },
    /// Buyer: the seller delivered.
    OrderDelivered {
        text: Option<String>,
        auto_complete_at: Timestamp,
    },
    /// Both: the order is complete; the seller's amount is their net, the
    /// buyer's the total.
    OrderCompleted { amount: Money, by: Actor },
    /// Both: the order was cancelled; the buyer's mail says what came back.
    OrderCancelled {
        by: Actor,
        refunded: Option<Money>,
        reason: Option<String>,
    },
    /// Buyer: the order completes by itself soon.
    CompleteReminder { auto_complete_at: Timestamp },
    /// Seller: a buyer rated your work.
    ReviewReceived { rating: u8, text: String },
    /// Seller: a withdrawal was paid out.
    WithdrawalPaid { amount: Money, paypal_email: String },
    /// Seller: a payout failed; the money is back in available earnings.
    WithdrawalFailed { amount: Money, reason: String },
    /// The other party: a dispute was opened on the order.
    DisputeOpened { by: Actor, reason: String },
    /// Both: an operator ended the dispute, with their reason.
    DisputeResolved {
        outcome: DisputeOutcome,
        reason: String,
    },
    /// Buyer: a PayPal payment for an order arrived, but the order could
    /// not be placed; the money stays in the balance (issue 8).
    PaidOrderNotPlaced {
        amount: Money,
        reason: NotPlacedReason,
    },
}

/// Why a paid-for order was not placed when its payment settled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotPlacedReason {
    /// Paused, removed or no longer active.
    ServiceUnavailable,
    PriceChanged,
    /// The balance was spent meanwhile: the payment no longer covers it.
    NotEnoughFunds,
    /// The account is on a payment hold.
    PaymentHold,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notice {
    pub to: UserId,
    pub order_id: Option<OrderId>,
    pub withdrawal_id: Option<WithdrawalId>,
    pub service_title: Option<String>,
    #[serde(flatten)]
    pub kind: NoticeKind,
}
