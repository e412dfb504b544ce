//! The order state machine. Every transition is a pure function from the
//! order, the acting party and `now` to a `Decision`: the new order, the
//! postings that move money, the timers to set or clear, and who to tell.

use crate::config::Config;
use crate::dispute::Dispute;
use crate::error::{DomainError, DomainResult};
use crate::ids::{FileId, OrderId, PostingId, ServiceId, UserId};
use crate::ledger::{Account, Posting, PostingKind, PostingRef, Transfer, UserAccount};
use crate::money::{Money, split_fee};
use crate::notice::{Notice, NoticeKind};
use crate::service::{Service, ServiceStatus};
use crate::text::Text;
use crate::time::{HOUR_MS, Timestamp};
use serde::{Deserialize, Serialize};
use strum::{Display, EnumString, IntoStaticStr};

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Display, IntoStaticStr, EnumString,
)]
#[serde(rename_all = "snake_case")]
#[strum(
    serialize_all = "snake_case",
    parse_err_ty = DomainError,
    parse_err_fn = unknown_order_status
)]
pub enum OrderStatus {
    AwaitingInstructions,
    InProgress,
    Delivered,
    Completed,
    Cancelled,
}

fn unknown_order_status(_: &str) -> DomainError {
    DomainError::invalid("status", "unknown order status")
}

impl OrderStatus {
    pub fn is_finished(self) -> bool {
        matches!(self, OrderStatus::Completed | OrderStatus::Cancelled)
    }
}

/// Who did something to an order, as recorded in `cancelled_by` and
/// `completed_by`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Actor {
    Buyer,
    Seller,
    System,
    Operator,
}

/// How a caller relates to an order. A caller with no relation does not see
/// the order at all (404), so there is no "stranger" variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Party {
    Buyer,
    Seller,
    Operator,
}

impl From<Party> for Actor {
    fn from(p: Party) -> Actor {
        match p {
            Party::Buyer => Actor::Buyer,
            Party::Seller => Actor::Seller,
            Party::Operator => Actor::Operator,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderUpgrade {
    pub index: usize,
    pub title: String,
    pub price: Money,
    pub extra_days: u32,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Display,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum TimerKind {
    AutoCancel,
    AutoComplete,
    Reminder,
    Clearing,
    /// The order's files are deleted `files_keep_days` after it ended.
    FilesExpire,
}

/// A timer is keyed by (order, kind): setting one again replaces it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timer {
    pub order_id: OrderId,
    pub kind: TimerKind,
    pub due: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    pub id: OrderId,
    pub service_id: ServiceId,
    pub service_title: String,
    pub buyer_id: UserId,
    pub seller_id: UserId,
    pub upgrades: Vec<OrderUpgrade>,
    pub quantity: u32,
    pub delivery_days: u32,
    pub total: Money,
    pub fee: Money,
    pub seller_net: Money,
    /// Where the escrow came from, so a refund returns each part home.
    pub paid_from_balance: Money,
    pub paid_from_earnings: Money,
    pub status: OrderStatus,
    pub instructions: Option<String>,
    pub delivery_text: Option<String>,
    pub placed_at: Timestamp,
    pub due_at: Option<Timestamp>,
    pub delivered_at: Option<Timestamp>,
    pub completed_at: Option<Timestamp>,
    pub completed_by: Option<Actor>,
    pub cancelled_at: Option<Timestamp>,
    pub cancelled_by: Option<Actor>,
    pub cancel_reason: Option<String>,
    /// When the seller's net moved from pending to available.
    pub cleared_at: Option<Timestamp>,
    /// The delivery the buyer was last reminded about (one reminder each).
    pub reminded_for: Option<Timestamp>,
    /// When each party was last emailed about a new message: at most one
    /// such email per order per [`MESSAGE_EMAIL_GAP_MS`] for each.
    /// An operator's reason for completing the order themselves.
    #[serde(default)]
    pub completion_reason: Option<String>,
    #[serde(default)]
    pub buyer_told_of_message_at: Option<Timestamp>,
    #[serde(default)]
    pub seller_told_of_message_at: Option<Timestamp>,
    /// The files of the latest delivery (product.md "Files").
    #[serde(default)]
    pub delivery_files: Vec<FileId>,
    /// The dispute, open or resolved (see `dispute`).
    #[serde(default)]
    pub dispute: Option<Box<Dispute>>,
    /// Messages from the seller the buyer has not read, and the other way
    /// round. Counted on the order so that a list of orders shows them
    /// without reading any message.
    #[serde(default)]
    pub buyer_unread: u32,
    #[serde(default)]
    pub seller_unread: u32,
    /// Every change request's text, oldest first (at most [`MAX_CHANGES`]).
    #[serde(default)]
    pub changes: Vec<ChangeRequest>,
    /// When the order's files were deleted, `files_keep_days` after it
    /// ended (product.md "Files"): their downloads answer 410 since.
    #[serde(default)]
    pub files_expired_at: Option<Timestamp>,
    pub version: u64,
}

/// One `POST /orders/{id}/changes`, kept on the order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeRequest {
    pub text: String,
    pub at: Timestamp,
}

/// Change requests an order keeps. Only the buyer can grow the list (each
/// one after a delivery), and it lives on the order item, which every
/// message rewrites: bounded so that the item stays small (DynamoDB bills
/// writes per KB). Past it the buyer receives the order or opens a dispute.
pub const MAX_CHANGES: usize = 10;

/// The least time between two new-message emails to one party of an order
/// (product.md: 15 minutes).
pub const MESSAGE_EMAIL_GAP_MS: i64 = 15 * 60 * 1000;

/// The outcome of a transition, to be committed as one unit of work.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub order: Order,
    pub postings: Vec<Posting>,
    pub timers_set: Vec<Timer>,
    pub timers_cleared: Vec<TimerKind>,
    pub notices: Vec<Notice>,
    /// The order completed: bump the service's and seller's count.
    pub completed: bool,
    /// The order's files are to be deleted from storage before this
    /// decision commits (the files-expire timer).
    pub delete_files: bool,
}

impl Decision {
    pub(crate) fn new(order: Order) -> Self {
        Decision {
            order,
            postings: vec![],
            timers_set: vec![],
            timers_cleared: vec![],
            notices: vec![],
            completed: false,
            delete_files: false,
        }
    }

    fn set_timer(&mut self, kind: TimerKind, due: Timestamp) {
        self.timers_set.push(Timer {
            order_id: self.order.id.clone(),
            kind,
            due,
        });
    }

    pub(crate) fn notify(&mut self, to: UserId, kind: NoticeKind) {
        self.notices.push(Notice {
            to,
            order_id: Some(self.order.id.clone()),
            withdrawal_id: None,
            service_title: Some(self.order.service_title.clone()),
            kind,
        });
    }
}

/// What the buyer can spend, read with the order's other inputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Funds {
    pub balance: Money,
    pub earnings_available: Money,
}

/// How many of a service are ordered: from 1 to `cfg.quantity_max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quantity(u32);

impl Quantity {
    pub fn parse(v: i64, cfg: &Config) -> DomainResult<Quantity> {
        match u32::try_from(v) {
            Ok(q) if (1..=cfg.quantity_max).contains(&q) => Ok(Quantity(q)),
            _ => Err(DomainError::invalid(
                "quantity",
                format!("must be from 1 to {}", cfg.quantity_max),
            )),
        }
    }

    pub fn get(self) -> u32 {
        self.0
    }
}

/// A place in a service's upgrade list, below `cfg.upgrades_max`; whether
/// the service has an upgrade there is `Order::place`'s check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UpgradeIndex(usize);

impl UpgradeIndex {
    pub fn parse(v: i64, cfg: &Config) -> DomainResult<UpgradeIndex> {
        usize::try_from(v)
            .ok()
            .filter(|&i| i < cfg.upgrades_max)
            .map(UpgradeIndex)
            .ok_or_else(|| no_upgrade_at(v))
    }

    pub fn get(self) -> usize {
        self.0
    }
}

fn no_upgrade_at(ix: impl std::fmt::Display) -> DomainError {
    DomainError::invalid("upgrades", format!("no upgrade at index {ix}"))
}

/// Everything a buyer chooses when ordering, parsed at the edge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderRequest {
    pub upgrades: Vec<UpgradeIndex>,
    pub quantity: Quantity,
}

impl OrderRequest {
    /// The quantity is checked first, then each index in the order given.
    pub fn parse(upgrades: &[i64], quantity: i64, cfg: &Config) -> DomainResult<OrderRequest> {
        let quantity = Quantity::parse(quantity, cfg)?;
        let upgrades = upgrades
            .iter()
            .map(|&ix| UpgradeIndex::parse(ix, cfg))
            .collect::<DomainResult<_>>()?;
        Ok(OrderRequest { upgrades, quantity })
    }
}

impl Order {
    /// What `req` of `service` costs `buyer`, after every check `place`
    /// makes but the funds: a pay-with-PayPal checkout is for the shortfall.
    pub fn quote(
        service: &Service,
        buyer: &UserId,
        req: OrderRequest,
        cfg: &Config,
    ) -> DomainResult<Money> {
        let unlimited = Funds {
            balance: Money::dollars(u64::from(u32::MAX)),
            earnings_available: Money::ZERO,
        };
        let id = OrderId::new("quote");
        Order::place(id, service, buyer, req, unlimited, Timestamp(0), cfg).map(|d| d.order.total)
    }

    /// Places an order: checks the buyer may buy, snapshots what was bought
    /// and moves the total into escrow, balance first, then earnings.
    pub fn place(
        id: OrderId,
        service: &Service,
        buyer: &UserId,
        req: OrderRequest,
        funds: Funds,
        now: Timestamp,
        cfg: &Config,
    ) -> DomainResult<Decision> {
        if service.status != ServiceStatus::Active {
            return Err(DomainError::NotFound("service"));
        }
        if service.is_seller(buyer) {
            return Err(DomainError::OwnService);
        }
        let quantity = req.quantity.get();
        let draft = &service.draft;
        let mut upgrades: Vec<OrderUpgrade> = Vec::with_capacity(req.upgrades.len());
        for ix in req.upgrades.iter().map(|ix| ix.get()) {
            let u = draft.upgrades.get(ix).ok_or_else(|| no_upgrade_at(ix))?;
            if upgrades.iter().any(|o| o.index == ix) {
                return Err(DomainError::invalid(
                    "upgrades",
                    format!("upgrade {ix} chosen twice"),
                ));
            }
            upgrades.push(OrderUpgrade {
                index: ix,
                title: u.title.clone(),
                price: u.price,
                extra_days: u.extra_days,
            });
        }
        let unit = draft.price + upgrades.iter().map(|u| u.price).sum();
        let total = unit.times(quantity);
        let split = split_fee(total, cfg.fee_rate);
        let delivery_days =
            draft.delivery_days + upgrades.iter().map(|u| u.extra_days).sum::<u32>();

        if funds.balance + funds.earnings_available < total {
            return Err(DomainError::InsufficientFunds);
        }
        let from_balance = funds.balance.min(total);
        let from_earnings = total - from_balance;

        let needs_instructions = draft.instructions.is_some();
        let order = Order {
            id: id.clone(),
            service_id: service.id.clone(),
            service_title: draft.title.clone(),
            buyer_id: buyer.clone(),
            seller_id: service.seller_id.clone(),
            upgrades,
            quantity,
            delivery_days,
            total,
            fee: split.fee,
            seller_net: split.seller_net,
            paid_from_balance: from_balance,
            paid_from_earnings: from_earnings,
            status: if needs_instructions {
                OrderStatus::AwaitingInstructions
            } else {
                OrderStatus::InProgress
            },
            instructions: None,
            delivery_text: None,
            placed_at: now,
            due_at: (!needs_instructions).then(|| now.plus_days(delivery_days)),
            delivered_at: None,
            completed_at: None,
            completed_by: None,
            cancelled_at: None,
            cancelled_by: None,
            cancel_reason: None,
            cleared_at: None,
            reminded_for: None,
            completion_reason: None,
            buyer_told_of_message_at: None,
            seller_told_of_message_at: None,
            delivery_files: vec![],
            dispute: None,
            buyer_unread: 0,
            seller_unread: 0,
            changes: vec![],
            files_expired_at: None,
            version: 0,
        };
        let escrow = Account::Escrow { order: id.clone() };
        let posting = order.posting(
            "placed",
            PostingKind::OrderPlaced,
            now,
            [
                Transfer {
                    debit: Account::user(buyer, UserAccount::Balance),
                    credit: escrow.clone(),
                    amount: from_balance,
                },
                Transfer {
                    debit: Account::user(buyer, UserAccount::EarningsAvailable),
                    credit: escrow,
                    amount: from_earnings,
                },
            ],
        );
        let mut d = Decision::new(order);
        d.postings.push(posting);
        d.arm_auto_cancel(cfg);
        d.notify(
            service.seller_id.clone(),
            NoticeKind::NewOrder {
                total,
                seller_net: split.seller_net,
                quantity,
            },
        );
        d.notify(
            buyer.clone(),
            NoticeKind::OrderPlaced {
                total,
                paid_from_balance: from_balance,
                paid_from_earnings: from_earnings,
            },
        );
        Ok(d)
    }

    /// A movement of this order's money. The id is `<order>/<what>`:
    /// each movement happens at most once per order, so a retried commit can
    /// never post the same movement twice.
    fn posting(
        &self,
        what: &str,
        kind: PostingKind,
        now: Timestamp,
        transfers: impl IntoIterator<Item = Transfer>,
    ) -> Posting {
        let refs = PostingRef {
            order_id: Some(self.id.clone()),
            ..Default::default()
        };
        Posting::new(
            PostingId::new(format!("{}/{what}", self.id)),
            kind,
            now,
            refs,
            transfers,
        )
    }

    /// The caller's relation to this order, or `None` when they may not see it.
    pub fn party(&self, user: &UserId, operator: bool) -> Option<Party> {
        if *user == self.buyer_id {
            Some(Party::Buyer)
        } else if *user == self.seller_id {
            Some(Party::Seller)
        } else if operator {
            Some(Party::Operator)
        } else {
            None
        }
    }

    /// 403 before the body is read: the role can never do this action.
    pub fn require(party: Party, needed: Party) -> DomainResult<()> {
        if party == needed {
            return Ok(());
        }
        Err(DomainError::NotAllowed(match needed {
            Party::Buyer => "the order's buyer",
            Party::Seller => "the order's seller",
            Party::Operator => "an operator",
        }))
    }

    pub(crate) fn invalid(&self, action: &'static str) -> DomainError {
        DomainError::InvalidTransition {
            action,
            state: self.status.into(),
        }
    }

    /// The buyer sends what the seller asked for; the clock starts.
    pub fn send_instructions(
        &self,
        party: Party,
        text: Text,
        now: Timestamp,
        cfg: &Config,
    ) -> DomainResult<Decision> {
        Order::require(party, Party::Buyer)?;
        if self.status != OrderStatus::AwaitingInstructions {
            return Err(self.invalid("send instructions"));
        }
        let mut d = Decision::new(self.clone());
        d.order.status = OrderStatus::InProgress;
        let text = text.into_string();
        d.order.instructions = Some(text.clone());
        d.order.due_at = Some(now.plus_days(self.delivery_days));
        d.arm_auto_cancel(cfg);
        d.notify(
            self.seller_id.clone(),
            NoticeKind::InstructionsReceived { text },
        );
        Ok(d)
    }

    /// The seller delivers; delivering again restarts the auto-complete.
    pub fn deliver(
        &self,
        party: Party,
        text: Option<Text>,
        now: Timestamp,
        cfg: &Config,
    ) -> DomainResult<Decision> {
        Order::require(party, Party::Seller)?;
        if !matches!(
            self.status,
            OrderStatus::InProgress | OrderStatus::Delivered
        ) {
            return Err(self.invalid("deliver"));
        }
        let mut d = Decision::new(self.clone());
        d.order.status = OrderStatus::Delivered;
        let text = text.map(Text::into_string);
        if text.is_some() {
            d.order.delivery_text = text.clone();
        }
        d.order.delivered_at = Some(now);
        let complete_at = auto_complete_at(now, cfg);
        d.timers_cleared.push(TimerKind::AutoCancel);
        d.set_timer(TimerKind::AutoComplete, complete_at);
        d.set_timer(TimerKind::Reminder, reminder_at(complete_at, cfg));
        d.notify(
            self.buyer_id.clone(),
            NoticeKind::OrderDelivered {
                text,
                auto_complete_at: complete_at,
            },
        );
        Ok(d)
    }

    /// The buyer asks for changes: back to work, with a fresh deadline.
    pub fn request_changes(
        &self,
        party: Party,
        text: Text,
        now: Timestamp,
        cfg: &Config,
    ) -> DomainResult<Decision> {
        Order::require(party, Party::Buyer)?;
        if self.status != OrderStatus::Delivered {
            return Err(self.invalid("ask for changes"));
        }
        if self.changes.len() >= MAX_CHANGES {
            return Err(DomainError::TooManyChanges(MAX_CHANGES));
        }
        let mut d = Decision::new(self.clone());
        d.order.changes.push(ChangeRequest {
            text: text.as_str().to_owned(),
            at: now,
        });
        d.order.status = OrderStatus::InProgress;
        d.order.due_at = Some(now.plus_days(self.delivery_days));
        d.timers_cleared
            .extend([TimerKind::AutoComplete, TimerKind::Reminder]);
        d.arm_auto_cancel(cfg);
        d.notify(
            self.seller_id.clone(),
            NoticeKind::ChangesRequested {
                text: text.into_string(),
            },
        );
        Ok(d)
    }

    /// The buyer receives the work: escrow goes to the seller and platform.
    pub fn receive(&self, party: Party, now: Timestamp, cfg: &Config) -> DomainResult<Decision> {
        Order::require(party, Party::Buyer)?;
        if self.status != OrderStatus::Delivered {
            return Err(self.invalid("receive"));
        }
        Ok(self.complete(Actor::Buyer, now, cfg))
    }

    /// An operator releases any open order to the seller.
    pub fn operator_complete(
        &self,
        party: Party,
        reason: Option<Text>,
        now: Timestamp,
        cfg: &Config,
    ) -> DomainResult<Decision> {
        Order::require(party, Party::Operator)?;
        if self.status.is_finished() {
            return Err(self.invalid("complete"));
        }
        let mut d = self.complete(Actor::Operator, now, cfg);
        // Kept on the order, as a cancellation's reason is (issue 12).
        d.order.completion_reason = reason.map(Text::into_string);
        Ok(d)
    }

    pub(crate) fn complete(&self, by: Actor, now: Timestamp, cfg: &Config) -> Decision {
        let mut d = Decision::new(self.clone());
        d.order.status = OrderStatus::Completed;
        d.order.completed_at = Some(now);
        d.order.completed_by = Some(by);
        let escrow = Account::Escrow {
            order: self.id.clone(),
        };
        d.postings.push(self.posting(
            "completed",
            PostingKind::OrderCompleted,
            now,
            [
                Transfer {
                    debit: escrow.clone(),
                    credit: Account::user(&self.seller_id, UserAccount::EarningsPending),
                    amount: self.seller_net,
                },
                Transfer {
                    debit: escrow,
                    credit: Account::Platform {
                        shard: self.id.platform_shard(cfg.platform_shards),
                    },
                    amount: self.fee,
                },
            ],
        ));
        d.completed = true;
        d.timers_cleared.extend([
            TimerKind::AutoCancel,
            TimerKind::AutoComplete,
            TimerKind::Reminder,
        ]);
        d.set_timer(TimerKind::Clearing, clearing_at(now, cfg));
        d.set_timer(TimerKind::FilesExpire, files_expire_at(now, cfg));
        d.notify(
            self.seller_id.clone(),
            NoticeKind::OrderCompleted {
                amount: self.seller_net,
                by,
            },
        );
        d.notify(
            self.buyer_id.clone(),
            NoticeKind::OrderCompleted {
                amount: self.total,
                by,
            },
        );
        d
    }

    /// The email a message from `from` sends the other party, unless they
    /// were emailed about this order's messages less than 15 minutes ago:
    /// then the order, marked, and the notice. The mark is an order write,
    /// made only when an email goes, so a burst of messages writes it once.
    pub fn message_notice(&self, from: Party, now: Timestamp) -> Option<(Order, Notice)> {
        let mut o = self.clone();
        let (to, last) = match from {
            Party::Buyer => (&self.seller_id, &mut o.seller_told_of_message_at),
            Party::Seller => (&self.buyer_id, &mut o.buyer_told_of_message_at),
            Party::Operator => return None,
        };
        if last.is_some_and(|at| now.millis() - at.millis() < MESSAGE_EMAIL_GAP_MS) {
            return None;
        }
        *last = Some(now);
        let n = Notice {
            to: to.clone(),
            order_id: Some(self.id.clone()),
            withdrawal_id: None,
            service_title: Some(self.service_title.clone()),
            kind: NoticeKind::NewMessage,
        };
        Some((o, n))
    }

    /// The order with a message from `from` counted as unread for the
    /// other party. Operators take no part in conversations.
    pub fn count_message(&self, from: Party) -> Order {
        let mut o = self.clone();
        match from {
            Party::Buyer => o.seller_unread = o.seller_unread.saturating_add(1),
            Party::Seller => o.buyer_unread = o.buyer_unread.saturating_add(1),
            Party::Operator => {}
        }
        o
    }

    /// Messages `user` has not read (0 for anyone but the two parties).
    pub fn unread_for(&self, user: &UserId) -> u32 {
        if *user == self.buyer_id {
            self.buyer_unread
        } else if *user == self.seller_id {
            self.seller_unread
        } else {
            0
        }
    }

    /// The order with `party`'s messages read, if any were unread. An
    /// operator reading marks nothing for the parties.
    pub fn mark_read(&self, party: Party) -> Option<Order> {
        let mut o = self.clone();
        let n = match party {
            Party::Buyer => &mut o.buyer_unread,
            Party::Seller => &mut o.seller_unread,
            Party::Operator => return None,
        };
        if *n == 0 {
            return None;
        }
        *n = 0;
        Some(o)
    }

    /// Whether `party` may cancel now (product.md, "who may do what").
    pub fn check_cancel(&self, party: Party, now: Timestamp) -> DomainResult<()> {
        use OrderStatus::*;
        match (party, self.status) {
            (_, Completed | Cancelled) => Err(self.invalid("cancel")),
            (Party::Operator, _) => Ok(()),
            (Party::Seller | Party::Buyer, AwaitingInstructions) | (Party::Seller, InProgress) => {
                Ok(())
            }
            (Party::Buyer, InProgress) => match self.due_at {
                Some(due) if now >= due => Ok(()),
                _ => Err(DomainError::NotLateYet),
            },
            (Party::Seller | Party::Buyer, Delivered) => Err(self.invalid("cancel")),
        }
    }

    /// Whether the cancel button shows for this caller now.
    pub fn can_cancel(&self, party: Option<Party>, now: Timestamp) -> bool {
        party.is_some_and(|p| self.check_cancel(p, now).is_ok())
    }

    pub fn cancel(
        &self,
        party: Party,
        reason: Option<Text>,
        now: Timestamp,
        cfg: &Config,
    ) -> DomainResult<Decision> {
        self.check_cancel(party, now)?;
        Ok(self.cancelled(party.into(), reason, now, cfg))
    }

    /// Refunds every part of the escrow to where it came from, at once.
    pub(crate) fn cancelled(
        &self,
        by: Actor,
        reason: Option<Text>,
        now: Timestamp,
        cfg: &Config,
    ) -> Decision {
        let reason = reason.map(Text::into_string);
        let mut d = Decision::new(self.clone());
        d.order.status = OrderStatus::Cancelled;
        d.order.cancelled_at = Some(now);
        d.order.cancelled_by = Some(by);
        d.order.cancel_reason = reason.clone();
        let escrow = Account::Escrow {
            order: self.id.clone(),
        };
        d.postings.push(self.posting(
            "refunded",
            PostingKind::OrderRefunded,
            now,
            [
                Transfer {
                    debit: escrow.clone(),
                    credit: Account::user(&self.buyer_id, UserAccount::Balance),
                    amount: self.paid_from_balance,
                },
                Transfer {
                    debit: escrow,
                    credit: Account::user(&self.buyer_id, UserAccount::EarningsAvailable),
                    amount: self.paid_from_earnings,
                },
            ],
        ));
        d.timers_cleared.extend([
            TimerKind::AutoCancel,
            TimerKind::AutoComplete,
            TimerKind::Reminder,
        ]);
        d.set_timer(TimerKind::FilesExpire, files_expire_at(now, cfg));
        d.notify(
            self.seller_id.clone(),
            NoticeKind::OrderCancelled {
                by,
                refunded: None,
                to_earnings: Money::ZERO,
                reason: reason.clone(),
            },
        );
        d.notify(
            self.buyer_id.clone(),
            NoticeKind::OrderCancelled {
                by,
                refunded: Some(self.total),
                to_earnings: self.paid_from_earnings,
                reason,
            },
        );
        d
    }

    /// Applies a due timer as of `now`. `Ok(None)` when the order has moved
    /// on since the timer was set: a late or duplicate firing changes nothing.
    pub fn fire_timer(
        &self,
        kind: TimerKind,
        now: Timestamp,
        cfg: &Config,
    ) -> DomainResult<Option<Decision>> {
        // An open dispute holds the order's timers: the firing is a no-op
        // (its row is dropped), and the resolution ends the order.
        if self.dispute_open()
            && matches!(
                kind,
                TimerKind::AutoCancel | TimerKind::AutoComplete | TimerKind::Reminder
            )
        {
            return Ok(None);
        }
        match kind {
            TimerKind::AutoCancel => match self.auto_cancel_at(cfg) {
                Some(deadline) if now >= deadline => {
                    Ok(Some(self.cancelled(Actor::System, None, now, cfg)))
                }
                _ => Ok(None),
            },
            TimerKind::AutoComplete => match (self.status, self.delivered_at) {
                (OrderStatus::Delivered, Some(at)) if now >= auto_complete_at(at, cfg) => {
                    Ok(Some(self.complete(Actor::System, now, cfg)))
                }
                _ => Ok(None),
            },
            TimerKind::Reminder => match (self.status, self.delivered_at) {
                (OrderStatus::Delivered, Some(at)) if self.reminded_for != Some(at) => {
                    let complete_at = auto_complete_at(at, cfg);
                    if now < reminder_at(complete_at, cfg) {
                        return Ok(None);
                    }
                    let mut d = Decision::new(self.clone());
                    d.order.reminded_for = Some(at);
                    d.notify(
                        self.buyer_id.clone(),
                        NoticeKind::CompleteReminder {
                            auto_complete_at: complete_at,
                        },
                    );
                    Ok(Some(d))
                }
                _ => Ok(None),
            },
            TimerKind::Clearing => match (self.status, self.completed_at, self.cleared_at) {
                (OrderStatus::Completed, Some(at), None) if now >= clearing_at(at, cfg) => {
                    let mut d = Decision::new(self.clone());
                    d.order.cleared_at = Some(now);
                    d.postings.push(self.posting(
                        "cleared",
                        PostingKind::EarningsCleared,
                        now,
                        [Transfer {
                            debit: Account::user(&self.seller_id, UserAccount::EarningsPending),
                            credit: Account::user(&self.seller_id, UserAccount::EarningsAvailable),
                            amount: self.seller_net,
                        }],
                    ));
                    d.notify(
                        self.seller_id.clone(),
                        NoticeKind::EarningsCleared {
                            amount: self.seller_net,
                        },
                    );
                    Ok(Some(d))
                }
                _ => Ok(None),
            },
            TimerKind::FilesExpire => match self.ended_at() {
                Some(at) if self.files_expired_at.is_none() && now >= files_expire_at(at, cfg) => {
                    let mut d = Decision::new(self.clone());
                    d.order.files_expired_at = Some(now);
                    d.delete_files = true;
                    Ok(Some(d))
                }
                _ => Ok(None),
            },
        }
    }

    /// An operator's cancel is the same refund, recorded as theirs.
    pub fn operator_cancel(
        &self,
        party: Party,
        reason: Option<Text>,
        now: Timestamp,
        cfg: &Config,
    ) -> DomainResult<Decision> {
        Order::require(party, Party::Operator)?;
        self.cancel(party, reason, now, cfg)
    }

    /// When the order ended (completed or cancelled), if it has.
    pub fn ended_at(&self) -> Option<Timestamp> {
        match self.status {
            OrderStatus::Completed => self.completed_at,
            OrderStatus::Cancelled => self.cancelled_at,
            _ => None,
        }
    }

    /// When the order's files go: `files_keep_days` after it ended.
    pub fn files_expire_at(&self, cfg: &Config) -> Option<Timestamp> {
        self.ended_at().map(|at| files_expire_at(at, cfg))
    }
}

impl Order {
    /// When the order cancels itself in its current state: 7 days after
    /// placement while awaiting instructions, 3 days after `due_at` in
    /// progress. Arming the timer and firing it both read this.
    fn auto_cancel_at(&self, cfg: &Config) -> Option<Timestamp> {
        match self.status {
            OrderStatus::AwaitingInstructions => Some(
                self.placed_at
                    .plus_days(cfg.auto_cancel_no_instructions_days),
            ),
            OrderStatus::InProgress => self
                .due_at
                .map(|due| due.plus_days(cfg.auto_cancel_late_days)),
            OrderStatus::Delivered | OrderStatus::Completed | OrderStatus::Cancelled => None,
        }
    }
}

/// When a delivery made at `delivered_at` completes by itself.
fn auto_complete_at(delivered_at: Timestamp, cfg: &Config) -> Timestamp {
    delivered_at.plus_days(cfg.auto_complete_days)
}

/// When the seller's net of an order completed at `completed_at` clears.
fn clearing_at(completed_at: Timestamp, cfg: &Config) -> Timestamp {
    completed_at.plus_days(cfg.clearing_days)
}

/// When the files of an order ended at `ended_at` are deleted.
fn files_expire_at(ended_at: Timestamp, cfg: &Config) -> Timestamp {
    ended_at.plus_days(cfg.files_keep_days)
}

/// When the buyer is reminded of an auto-complete due at `complete_at`.
fn reminder_at(complete_at: Timestamp, cfg: &Config) -> Timestamp {
    complete_at.plus_ms(-i64::from(cfg.reminder_hours_before_complete) * HOUR_MS)
}

impl Decision {
    /// (Re)arms the auto-cancel for the new order's state.
    fn arm_auto_cancel(&mut self, cfg: &Config) {
        if let Some(due) = self.order.auto_cancel_at(cfg) {
            self.set_timer(TimerKind::AutoCancel, due);
        }
    }
}
