//! What a state change tells people. The domain decides who hears what; the
//! app renders it into an email in the recipient's language.

use crate::dispute::DisputeOutcome;
use crate::ids::{OrderId, RequestId, UserId, WithdrawalId};
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
        /// The part of `refunded` that went back to available earnings
        /// (an order paid partly from earnings); the rest went to the
        /// balance. Absent in rows written before it existed.
        #[serde(default, skip_serializing_if = "is_zero")]
        to_earnings: Money,
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
    /// The other party of an order: a new message waits on the site (one
    /// such email per order per 15 minutes; the text stays on the site).
    NewMessage,
    /// Seller: an operator approved the service, or an edit of it
    /// (`revision`); `service_title` names it.
    ServiceApproved { revision: bool },
    /// Seller: an operator turned the service, or an edit of it, down.
    ServiceRejected {
        revision: bool,
        reason: Option<String>,
    },
    /// The request's author: a seller offered to do it.
    NewOffer {
        request_id: RequestId,
        request_title: String,
        text: String,
    },
    /// Seller: an order's earnings cleared and can be withdrawn.
    EarningsCleared { amount: Money },
    /// Seller: an operator rejected a withdrawal; the money is back in
    /// available earnings.
    WithdrawalRejected {
        amount: Money,
        reason: Option<String>,
    },
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

fn is_zero(m: &Money) -> bool {
    m.is_zero()
}

impl NoticeKind {
    /// Whether the recipient may turn this email off (`PATCH /me
    /// {email_prefs}`): everything but orders and money (product.md).
    pub fn optional(&self) -> Option<EmailTopic> {
        use NoticeKind::*;
        match self {
            ServiceApproved { .. } | ServiceRejected { .. } => Some(EmailTopic::Moderation),
            NewOffer { .. } => Some(EmailTopic::Offers),
            NewMessage => Some(EmailTopic::Messages),
            ReviewReceived { .. } => Some(EmailTopic::Reviews),
            NewOrder { .. }
            | OrderPlaced { .. }
            | InstructionsReceived { .. }
            | ChangesRequested { .. }
            | OrderDelivered { .. }
            | OrderCompleted { .. }
            | OrderCancelled { .. }
            | CompleteReminder { .. }
            | WithdrawalPaid { .. }
            | WithdrawalFailed { .. }
            | WithdrawalRejected { .. }
            | EarningsCleared { .. }
            | DisputeOpened { .. }
            | DisputeResolved { .. }
            | PaidOrderNotPlaced { .. } => None,
        }
    }
}

/// The kinds of email a user may turn off; orders and money always go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EmailTopic {
    /// A service or an edit approved or rejected.
    Moderation,
    /// A new offer on the user's request.
    Offers,
    /// A buyer rated the user's work.
    Reviews,
    /// A new message on one of the user's orders (the site keeps it).
    Messages,
}

/// Which optional emails a user wants; all on by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct EmailPrefs {
    pub moderation: bool,
    pub offers: bool,
    pub reviews: bool,
    pub messages: bool,
}

impl Default for EmailPrefs {
    fn default() -> Self {
        EmailPrefs {
            moderation: true,
            offers: true,
            reviews: true,
            messages: true,
        }
    }
}

impl EmailPrefs {
    pub fn wants(&self, kind: &NoticeKind) -> bool {
        kind.optional().is_none_or(|t| self.wants_topic(t))
    }

    pub fn wants_topic(&self, topic: EmailTopic) -> bool {
        match topic {
            EmailTopic::Moderation => self.moderation,
            EmailTopic::Offers => self.offers,
            EmailTopic::Reviews => self.reviews,
            EmailTopic::Messages => self.messages,
        }
    }

    pub fn set(&mut self, topic: EmailTopic, on: bool) {
        let flag = match topic {
            EmailTopic::Moderation => &mut self.moderation,
            EmailTopic::Offers => &mut self.offers,
            EmailTopic::Reviews => &mut self.reviews,
            EmailTopic::Messages => &mut self.messages,
        };
        *flag = on;
    }
}
