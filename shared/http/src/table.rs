//! The route table: every route, once. A row is (method, path template,
//! [`Route`], [`Access`]); matching, `ROUTES` for the OpenAPI test, API
//! Gateway's `routeKey`s and each Lambda function's routes all come from it.

use khamsa_app::AppError;
use std::collections::HashSet;
use std::sync::LazyLock;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    Get,
    Post,
    Patch,
}

impl Method {
    pub const fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Patch => "PATCH",
        }
    }
}

/// Who may call a route; checked once, before any handler runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone; API Gateway runs no authorizer, so a token is not read.
    Public,
    /// A signed-in user.
    Signed,
    /// A signed-in operator: every `/admin` route.
    Operator,
}

/// Every route the API serves. Adding one here breaks the build until it
/// has a row in [`TABLE`]'s test, a handler in `dispatch` and a Lambda
/// function in `khamsa_functions::function_for`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Route {
    Me,
    EditMe,
    MyLedger,
    Topup,
    MyPurchases,
    MySales,
    MyWithdrawals,
    CreateService,
    ListServices,
    Service,
    EditService,
    PauseService,
    ResumeService,
    ServiceReviews,
    User,
    PlaceOrder,
    Order,
    Instructions,
    Deliver,
    Receive,
    Changes,
    Cancel,
    Messages,
    SendMessage,
    Review,
    ReplyToReview,
    Withdraw,
    CreateRequest,
    ListRequests,
    Request,
    Offer,
    CloseRequest,
    AdminServices,
    ApproveService,
    RejectService,
    ApproveRevision,
    RejectRevision,
    AdminWithdrawals,
    PayWithdrawal,
    RejectWithdrawal,
    AdminCancelOrder,
    AdminCompleteOrder,
    LedgerCheck,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Row {
    pub method: Method,
    pub path: &'static str,
    pub route: Route,
    pub access: Access,
}

const fn row(method: Method, path: &'static str, route: Route, access: Access) -> Row {
    Row {
        method,
        path,
        route,
        access,
    }
}

use Access::{Operator, Public, Signed};
use Method::{Get, Patch, Post};

pub const TABLE: &[Row] = &[
    // Accounts
    row(Get, "/me", Route::Me, Signed),
    row(Patch, "/me", Route::EditMe, Signed),
    row(Get, "/me/ledger", Route::MyLedger, Signed),
    row(Post, "/me/topups", Route::Topup, Signed),
    row(Get, "/me/purchases", Route::MyPurchases, Signed),
    row(Get, "/me/sales", Route::MySales, Signed),
    row(Get, "/me/withdrawals", Route::MyWithdrawals, Signed),
    // Services
    row(Post, "/services", Route::CreateService, Signed),
    row(Get, "/services", Route::ListServices, Public),
    row(Get, "/services/{id}", Route::Service, Public),
    row(Patch, "/services/{id}", Route::EditService, Signed),
    row(Post, "/services/{id}/pause", Route::PauseService, Signed),
    row(Post, "/services/{id}/resume", Route::ResumeService, Signed),
    row(Get, "/services/{id}/reviews", Route::ServiceReviews, Public),
    row(Get, "/users/{id}", Route::User, Public),
    // Orders
    row(Post, "/orders", Route::PlaceOrder, Signed),
    row(Get, "/orders/{id}", Route::Order, Signed),
    row(
        Post,
        "/orders/{id}/instructions",
        Route::Instructions,
        Signed,
    ),
    row(Post, "/orders/{id}/deliver", Route::Deliver, Signed),
    row(Post, "/orders/{id}/receive", Route::Receive, Signed),
    row(Post, "/orders/{id}/changes", Route::Changes, Signed),
    row(Post, "/orders/{id}/cancel", Route::Cancel, Signed),
    row(Get, "/orders/{id}/messages", Route::Messages, Signed),
    row(Post, "/orders/{id}/messages", Route::SendMessage, Signed),
    row(Post, "/orders/{id}/review", Route::Review, Signed),
    row(
        Post,
        "/orders/{id}/review/reply",
        Route::ReplyToReview,
        Signed,
    ),
    // Withdrawals
    row(Post, "/withdrawals", Route::Withdraw, Signed),
    // Requests board
    row(Post, "/requests", Route::CreateRequest, Signed),
    row(Get, "/requests", Route::ListRequests, Public),
    row(Get, "/requests/{id}", Route::Request, Public),
    row(Post, "/requests/{id}/offers", Route::Offer, Signed),
    row(Post, "/requests/{id}/close", Route::CloseRequest, Signed),
    // Operators
    row(Get, "/admin/services", Route::AdminServices, Operator),
    row(
        Post,
        "/admin/services/{id}/approve",
        Route::ApproveService,
        Operator,
    ),
    row(
        Post,
        "/admin/services/{id}/reject",
        Route::RejectService,
        Operator,
    ),
    row(
        Post,
        "/admin/services/{id}/revision/approve",
        Route::ApproveRevision,
        Operator,
    ),
    row(
        Post,
        "/admin/services/{id}/revision/reject",
        Route::RejectRevision,
        Operator,
    ),
    row(Get, "/admin/withdrawals", Route::AdminWithdrawals, Operator),
    row(
        Post,
        "/admin/withdrawals/{id}/pay",
        Route::PayWithdrawal,
        Operator,
    ),
    row(
        Post,
        "/admin/withdrawals/{id}/reject",
        Route::RejectWithdrawal,
        Operator,
    ),
    row(
        Post,
        "/admin/orders/{id}/cancel",
        Route::AdminCancelOrder,
        Operator,
    ),
    row(
        Post,
        "/admin/orders/{id}/complete",
        Route::AdminCompleteOrder,
        Operator,
    ),
    row(Get, "/admin/ledger/check", Route::LedgerCheck, Operator),
];

/// (method, path template) of every row: what the OpenAPI document must list.
pub const ROUTES: [(&str, &str); TABLE.len()] = {
    let mut out = [("", ""); TABLE.len()];
    let mut i = 0;
    while i < TABLE.len() {
        out[i] = (TABLE[i].method.as_str(), TABLE[i].path);
        i += 1;
    }
    out
};

/// A matched route with its `{id}`, if its template has one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub row: &'static Row,
    pub id: String,
}

/// The rows of each path template, by method.
static ROUTER: LazyLock<matchit::Router<Vec<&'static Row>>> = LazyLock::new(|| {
    let mut router = matchit::Router::new();
    let mut inserted = HashSet::new();
    for r in TABLE {
        if inserted.insert(r.path) {
            let rows = TABLE.iter().filter(|x| x.path == r.path).collect();
            // The templates are constants and a test inserts each: none
            // conflicts with another.
            let _ = router.insert(r.path, rows);
        }
    }
    router
});

/// Finds the route of a raw path: 404 for an unknown path, 405 for a known
/// path with another method. A trailing slash is ignored.
pub fn find(method: &str, path: &str) -> Result<Found, AppError> {
    let path = path.trim_end_matches('/');
    let m = ROUTER.at(path).map_err(|_| AppError::NotFound("route"))?;
    let row = m
        .value
        .iter()
        .find(|r| r.method.as_str() == method)
        .ok_or(AppError::MethodNotAllowed)?;
    Ok(Found {
        row,
        id: m.params.get("id").unwrap_or_default().to_owned(),
    })
}

/// The row of an API Gateway `routeKey` such as `POST /orders/{id}/deliver`;
/// `None` for `$default` and anything else no row spells.
pub fn by_route_key(key: &str) -> Option<&'static Row> {
    let (method, path) = key.split_once(' ')?;
    TABLE
        .iter()
        .find(|r| r.method.as_str() == method && r.path == path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_has_one_row_and_every_template_inserts() {
        let mut routes = HashSet::new();
        let mut keys = HashSet::new();
        let mut router = matchit::Router::new();
        let mut inserted = HashSet::new();
        for r in TABLE {
            assert!(routes.insert(r.route), "{:?} has two rows", r.route);
            assert!(
                keys.insert((r.method, r.path)),
                "{} {} twice",
                r.method.as_str(),
                r.path
            );
            if inserted.insert(r.path) {
                router
                    .insert(r.path, ())
                    .unwrap_or_else(|e| panic!("{}: {e}", r.path));
            }
            assert_eq!(
                r.path.starts_with("/admin/"),
                r.access == Access::Operator,
                "{}: operators own /admin and only /admin",
                r.path
            );
        }
    }

    #[test]
    fn paths_match_once_with_their_id() {
        let f = find("POST", "/orders/o1/deliver").unwrap();
        assert_eq!((f.row.route, f.id.as_str()), (Route::Deliver, "o1"));
        assert_eq!(find("GET", "/me/").unwrap().row.route, Route::Me);
        assert_eq!(
            find("GET", "/admin/services").unwrap().row.route,
            Route::AdminServices
        );
        assert!(matches!(
            find("DELETE", "/orders/o1"),
            Err(AppError::MethodNotAllowed)
        ));
        assert!(matches!(find("GET", "/nope"), Err(AppError::NotFound(_))));
        assert!(matches!(
            find("POST", "/orders//deliver"),
            Err(AppError::NotFound(_))
        ));
        assert_eq!(
            by_route_key("POST /orders/{id}/deliver").map(|r| r.route),
            Some(Route::Deliver)
        );
        assert_eq!(by_route_key("$default"), None);
    }
}
