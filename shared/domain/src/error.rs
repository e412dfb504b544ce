//! The domain's errors, in business words. Each carries a stable `code` and
//! a kind; the HTTP edge maps kinds to statuses in one place.

use thiserror::Error;

/// How bad an error is, independent of transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Malformed input: the request cannot even be read (400).
    Malformed,
    /// The caller's role can never do this (403).
    Forbidden,
    /// The thing does not exist, or the caller may not see it (404).
    NotFound,
    /// Well-formed but breaks a rule (422).
    Invalid,
    /// The current state does not allow it (409).
    Conflict,
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DomainError {
    #[error("{field}: {reason}")]
    Malformed { field: &'static str, reason: String },
    #[error("{field}: {reason}")]
    Invalid { field: &'static str, reason: String },
    #[error("{0} is not a valid amount")]
    AmountFormat(String),
    #[error(
        "{field}: bidirectional control characters (U+202A-U+202E, U+2066-U+2069) are not allowed"
    )]
    BidiControl { field: &'static str },
    #[error("{field}: contact details are not allowed; keep the conversation on Khamsa")]
    ContactDetails { field: &'static str },
    #[error("the buyer cannot afford this order")]
    InsufficientFunds,
    #[error("not enough available earnings")]
    InsufficientEarnings,
    #[error("a seller cannot order their own service")]
    OwnService,
    #[error("a user cannot offer on their own request")]
    OwnRequest,
    #[error("only {0} may do this")]
    NotAllowed(&'static str),
    #[error("the order is not late yet: the buyer may cancel once it is due")]
    NotLateYet,
    #[error("cannot {action} while {state}")]
    InvalidTransition {
        action: &'static str,
        state: &'static str,
    },
    #[error("the review window of this order has closed")]
    ReviewWindowClosed,
    #[error("this order has already been reviewed")]
    AlreadyReviewed,
    #[error("this review already has a reply")]
    AlreadyReplied,
    #[error("this user already made an offer on this request")]
    DuplicateOffer,
    #[error("the request is closed")]
    RequestClosed,
    #[error("there is no pending revision")]
    NoPendingRevision,
    #[error("no PayPal address: give one or set it on your profile")]
    NoPaypalAddress,
    #[error("{0} not found")]
    NotFound(&'static str),
    // Payments (issue 8).
    #[error("{0} is not offered here: see GET /payment-methods")]
    MethodUnavailable(&'static str),
    #[error("too many top-ups wait for payment: pay or let one expire first")]
    TooManyPendingTopups,
    #[error("the payment has not been approved at the provider yet")]
    TopupNotApproved,
    #[error("this top-up expired before it was paid")]
    TopupExpired,
    #[error("a payment was taken back: ordering and withdrawing wait for an operator")]
    PaymentHold,
    /// The order keeps every change request's text, up to a bound.
    #[error("this order already has {0} change requests: receive it or open a dispute")]
    TooManyChanges(usize),
}

impl DomainError {
    pub fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        DomainError::Invalid {
            field,
            reason: reason.into(),
        }
    }

    pub fn malformed(field: &'static str, reason: impl Into<String>) -> Self {
        DomainError::Malformed {
            field,
            reason: reason.into(),
        }
    }

    pub fn kind(&self) -> ErrorKind {
        use DomainError::*;
        match self {
            Malformed { .. } | AmountFormat(_) => ErrorKind::Malformed,
            Invalid { .. } | BidiControl { .. } | ContactDetails { .. } | NoPaypalAddress => {
                ErrorKind::Invalid
            }
            MethodUnavailable(_) => ErrorKind::Invalid,
            OwnService | OwnRequest | NotAllowed(_) => ErrorKind::Forbidden,
            NotFound(_) => ErrorKind::NotFound,
            InsufficientFunds
            | InsufficientEarnings
            | NotLateYet
            | InvalidTransition { .. }
            | ReviewWindowClosed
            | AlreadyReviewed
            | AlreadyReplied
            | DuplicateOffer
            | RequestClosed
            | NoPendingRevision
            | TooManyChanges(_) => ErrorKind::Conflict,
            TooManyPendingTopups | TopupNotApproved | TopupExpired | PaymentHold => {
                ErrorKind::Conflict
            }
        }
    }

    /// The stable, machine-readable code clients branch on.
    pub fn code(&self) -> &'static str {
        use DomainError::*;
        match self {
            Malformed { .. } => "malformed",
            Invalid { .. } => "validation_failed",
            AmountFormat(_) => "invalid_amount_format",
            BidiControl { .. } => "bidi_control",
            ContactDetails { .. } => "contact_details",
            InsufficientFunds => "insufficient_funds",
            InsufficientEarnings => "insufficient_earnings",
            OwnService => "own_service",
            OwnRequest => "own_request",
            NotAllowed(_) => "forbidden",
            NotLateYet => "not_late_yet",
            InvalidTransition { .. } => "invalid_transition",
            ReviewWindowClosed => "review_window_closed",
            AlreadyReviewed => "already_reviewed",
            AlreadyReplied => "already_replied",
            DuplicateOffer => "duplicate_offer",
            RequestClosed => "request_closed",
            NoPendingRevision => "no_pending_revision",
            NoPaypalAddress => "no_paypal_address",
            NotFound(_) => "not_found",
            MethodUnavailable(_) => "method_unavailable",
            TooManyPendingTopups => "too_many_pending_topups",
            TopupNotApproved => "topup_not_approved",
            TopupExpired => "topup_expired",
            PaymentHold => "payment_hold",
            TooManyChanges(_) => "too_many_changes",
        }
    }
}

pub type DomainResult<T> = Result<T, DomainError>;
