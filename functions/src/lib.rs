//! What every Lambda function binary shares: which function serves which
//! routes, reading the settings once at start-up (and failing fast), the
//! AWS clients built once, the JSON log subscriber, and the thin handlers
//! that turn a Lambda event into a call of the shared code
//! (`khamsa_http::serve`, `khamsa_aws::workers`).
//!
//! It lives here, beside the binaries, rather than in `khamsa-aws`: it is
//! Lambda runtime glue, and keeping it out of the adapters crate means the
//! local server (which links `khamsa-aws`) never links the Lambda runtime,
//! and the dependencies still point one way: functions → http/aws → app →
//! domain.
//!
//! A `main.rs` is then four lines: `boot` (settings, clients, the `App`),
//! then `run(service_fn(...))` into `Api::handle` or a `Worker` method.

pub mod boot;
pub mod budget;
pub mod http;
pub mod settings;
pub mod workers;

pub use boot::{BootError, boot_api, boot_worker, init_tracing};
pub use http::Api;
pub use workers::Worker;

/// Every Lambda function of the stack. The binary of each is
/// `functions/<name>/main.rs`, built as `<name>` (template.yaml's
/// `BuildProperties: Binary`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Function {
    /// `POST /orders`: the buyer's money moves into escrow.
    Order,
    /// `POST /orders/{id}/deliver`.
    Deliver,
    /// `POST /orders/{id}/cancel`: refunds the escrow.
    Cancel,
    /// `POST /orders/{id}/review` and the seller's reply.
    Review,
    /// `POST /withdrawals`.
    Withdraw,
    /// The catalogue: services, their reviews, sellers' public profiles.
    Services,
    /// The caller's profile, ledger, top-ups and withdrawals list.
    Accounts,
    /// Order queries and the transitions that have no function of their
    /// own: instructions, receive, changes.
    Orders,
    /// An order's messages and files.
    Messages,
    /// The requests board.
    Requests,
    /// Every `/admin/*` route (operators only).
    Admin,
    /// Timers queue consumer: auto-cancel, auto-complete, reminder, clearing.
    Timers,
    /// Notifications queue consumer: renders and sends each email with SES.
    Notifier,
    /// Every 5 minutes: queues timers coming due, unsent emails, and the
    /// payouts to send again or read back (a lost message or webhook).
    Sweeper,
    /// Payouts queue consumer: sends each approved withdrawal to PayPal
    /// Payouts (`sender_batch_id` = the withdrawal id).
    Payouts,
    /// Daily: the ledger check on the running totals; any violation is
    /// logged and counted in the `LedgerViolations` metric, which alarms.
    Reconcile,
}

pub use khamsa_http::Route;

/// An HTTP function's binary, known when it is compiled: it links only its
/// own routes' handlers (`khamsa_http::Served`), and the PayPal adapter
/// only if it calls PayPal.
pub trait HttpBinary: khamsa_http::Served + Send + Sync {
    const FUNCTION: Function;
}

macro_rules! http_binaries {
    ($($f:ident: [$($r:ident),* $(,)?],)*) => {
        /// One marker type per HTTP function, named as its `Function`.
        pub mod bin {
            use super::{Function, HttpBinary, Route};
            $(
                pub struct $f;
                impl khamsa_http::Served for $f {
                    const ROUTES: &'static [Route] = &[$(Route::$r),*];
                }
                impl HttpBinary for $f {
                    const FUNCTION: Function = Function::$f;
                }
            )*
            /// Each marker's function and routes, for the test that holds
            /// them to `function_for`.
            pub fn all() -> Vec<(Function, &'static [Route])> {
                use khamsa_http::Served;
                vec![$((Function::$f, <$f as Served>::ROUTES)),*]
            }
        }
    };
}

http_binaries! {
    Order: [PlaceOrder],
    Deliver: [Deliver],
    Cancel: [Cancel],
    Review: [Review, ReplyToReview],
    Withdraw: [Withdraw],
    Services: [
        CreateService, ListServices, Service, EditService, PauseService,
        ResumeService, ServiceReviews, User, MyServices,
    ],
    Accounts: [
        Me, EditMe, MyLedger, Topup, MyWithdrawals, PaymentMethods, MyTopups,
        CaptureTopup, PaypalWebhook, Unsubscribe, UnsubscribePage,
    ],
    Orders: [
        Order, MyPurchases, MySales, MyInbox, Instructions, Receive, Changes, OpenDispute,
    ],
    Messages: [Messages, SendMessage, UploadFile, File],
    Requests: [CreateRequest, ListRequests, Request, Offer, CloseRequest],
    Admin: [
        AdminServices, ApproveService, RejectService, ApproveRevision,
        RejectRevision, AdminWithdrawals, ApproveWithdrawal, RejectWithdrawal,
        AdminCancelOrder, AdminCompleteOrder, LedgerCheck, ClearHold, AdminDisputes,
        ResolveDispute, AdminOutbox, RetryEmail,
    ],
}

/// The function that serves a route. Exhaustive: a new route does not
/// build until it is given to a function (and template.yaml wires it, a
/// deploy test says so).
pub fn function_for(route: Route) -> Function {
    match route {
        Route::PlaceOrder => Function::Order,
        Route::Deliver => Function::Deliver,
        Route::Cancel => Function::Cancel,
        Route::Review | Route::ReplyToReview => Function::Review,
        Route::Withdraw => Function::Withdraw,
        Route::CreateService
        | Route::ListServices
        | Route::Service
        | Route::EditService
        | Route::PauseService
        | Route::ResumeService
        | Route::ServiceReviews
        | Route::User
        | Route::MyServices => Function::Services,
        Route::Me | Route::EditMe | Route::MyLedger | Route::Topup | Route::MyWithdrawals => {
            Function::Accounts
        }
        Route::Order
        | Route::MyPurchases
        | Route::MySales
        | Route::MyInbox
        | Route::Instructions
        | Route::Receive
        | Route::Changes
        | Route::OpenDispute => Function::Orders,
        Route::Messages | Route::SendMessage | Route::UploadFile | Route::File => {
            Function::Messages
        }
        Route::CreateRequest
        | Route::ListRequests
        | Route::Request
        | Route::Offer
        | Route::CloseRequest => Function::Requests,
        Route::AdminServices
        | Route::ApproveService
        | Route::RejectService
        | Route::ApproveRevision
        | Route::RejectRevision
        | Route::AdminWithdrawals
        | Route::ApproveWithdrawal
        | Route::RejectWithdrawal
        | Route::AdminCancelOrder
        | Route::AdminCompleteOrder
        | Route::LedgerCheck
        | Route::AdminDisputes
        | Route::ResolveDispute => Function::Admin,
        // Money in (issue 8): the function that already creates checkouts
        // also captures them and takes PayPal's webhooks, so one function
        // holds the PayPal credentials for money in.
        Route::PaymentMethods | Route::MyTopups | Route::CaptureTopup | Route::PaypalWebhook => {
            Function::Accounts
        }
        Route::ClearHold | Route::AdminOutbox | Route::RetryEmail => Function::Admin,
        // The profile's email preferences are the accounts function's.
        Route::Unsubscribe | Route::UnsubscribePage => Function::Accounts,
    }
}

impl Function {
    pub const ALL: [Function; 16] = [
        Function::Order,
        Function::Deliver,
        Function::Cancel,
        Function::Review,
        Function::Withdraw,
        Function::Services,
        Function::Accounts,
        Function::Orders,
        Function::Messages,
        Function::Requests,
        Function::Admin,
        Function::Timers,
        Function::Notifier,
        Function::Sweeper,
        Function::Payouts,
        Function::Reconcile,
    ];

    /// The binary's name, also the function's name in logs.
    pub fn name(self) -> &'static str {
        match self {
            Function::Order => "order",
            Function::Deliver => "deliver",
            Function::Cancel => "cancel",
            Function::Review => "review",
            Function::Withdraw => "withdraw",
            Function::Services => "services",
            Function::Accounts => "accounts",
            Function::Orders => "orders",
            Function::Messages => "messages",
            Function::Requests => "requests",
            Function::Admin => "admin",
            Function::Timers => "timers",
            Function::Notifier => "notifier",
            Function::Sweeper => "sweeper",
            Function::Payouts => "payouts",
            Function::Reconcile => "reconcile",
        }
    }

    pub fn from_name(name: &str) -> Option<Function> {
        Function::ALL.into_iter().find(|f| f.name() == name)
    }

    /// The (method, path template) of the routes this function serves;
    /// empty for the workers. Derived from the route table and
    /// [`function_for`], so every route has exactly one function.
    pub fn routes(self) -> Vec<(&'static str, &'static str)> {
        khamsa_http::TABLE
            .iter()
            .filter(|r| function_for(r.route) == self)
            .map(|r| (r.method.as_str(), r.path))
            .collect()
    }

    /// The function that also answers API Gateway's `$default` route: any
    /// request no route matches, which `handle` answers 404 or 405 as the
    /// local server does, without touching the store.
    pub const CATCH_ALL: Function = Function::Services;

    pub fn is_http(self) -> bool {
        !self.routes().is_empty()
    }

    /// Whether its use cases write outbox rows, so that it puts their ids
    /// on the notifications queue. The others are not given the queue (nor
    /// the IAM right to send to it); should one ever write a row anyway,
    /// the sweeper queues it within minutes (see `Unqueued`).
    pub fn sends_notifications(self) -> bool {
        matches!(
            self,
            Function::Order
                | Function::Accounts
                | Function::Deliver
                | Function::Cancel
                | Function::Review
                | Function::Orders
                | Function::Messages
                | Function::Requests
                | Function::Admin
                | Function::Timers
                | Function::Sweeper
                | Function::Payouts
        )
    }

    /// Whether it puts withdrawals on the payouts queue: those its use
    /// cases commit `approved` (an operator's approval, an auto-approved
    /// request), and the sweeper's poll.
    pub fn queues_payouts(self) -> bool {
        matches!(
            self,
            Function::Withdraw | Function::Admin | Function::Sweeper
        )
    }

    /// Whether it calls PayPal, so that it reads the PayPal credentials
    /// from Secrets Manager at start-up (and only these may): the payouts
    /// worker; accounts (top-ups, their capture, the webhook); order
    /// (`pay_with: "paypal"` opens a checkout for the shortfall).
    pub const fn calls_paypal(self) -> bool {
        matches!(
            self,
            Function::Payouts | Function::Accounts | Function::Order
        )
    }

    /// Whether its use cases set timers, so that it queues the ones due
    /// within SQS's 15-minute delay limit on the timers queue.
    pub fn sets_timers(self) -> bool {
        matches!(
            self,
            Function::Order
                | Function::Accounts
                | Function::Deliver
                | Function::Orders
                | Function::Admin
                | Function::Timers
                | Function::Sweeper
        )
    }

    /// Whether it signs (the notifier) or checks (accounts, which serves
    /// `POST /unsubscribe`) one-click unsubscribe links, so that it reads
    /// their key from Secrets Manager at start-up.
    pub const fn unsubscribe_links(self) -> bool {
        matches!(self, Function::Notifier | Function::Accounts)
    }

    /// Only the notifier sends email.
    pub fn sends_email(self) -> bool {
        self == Function::Notifier
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn each_binary_links_exactly_its_functions_routes() {
        let http: Vec<_> = Function::ALL.into_iter().filter(|f| f.is_http()).collect();
        let all = bin::all();
        assert_eq!(all.len(), http.len(), "one marker per HTTP function");
        for (f, routes) in all {
            let mut want: Vec<_> = khamsa_http::TABLE
                .iter()
                .filter(|r| function_for(r.route) == f)
                .map(|r| format!("{:?}", r.route))
                .collect();
            let mut got: Vec<_> = routes.iter().map(|r| format!("{r:?}")).collect();
            want.sort();
            got.sort();
            assert_eq!(got, want, "{}", f.name());
        }
    }

    #[test]
    fn every_route_is_served_by_exactly_one_function() {
        let mut seen = HashSet::new();
        for f in Function::ALL {
            for r in f.routes() {
                assert!(seen.insert(r), "{r:?} served twice");
            }
        }
        for r in khamsa_http::ROUTES {
            assert!(seen.contains(&r), "{r:?} has no function");
        }
        assert_eq!(seen.len(), khamsa_http::ROUTES.len());
    }

    #[test]
    fn names_round_trip() {
        for f in Function::ALL {
            assert_eq!(Function::from_name(f.name()), Some(f));
        }
        assert!(Function::CATCH_ALL.is_http());
        assert_eq!(
            Function::ALL.iter().filter(|f| !f.is_http()).count(),
            5,
            "four workers and the daily reconciliation"
        );
    }
}
