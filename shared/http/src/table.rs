//! The route table: every route, once. A row is ([`Route`], method, path
//! template, [`Access`]); matching, `ROUTES` for the OpenAPI test, API
//! Gateway's `routeKey`s and each Lambda function's routes all come from it.

use khamsa_app::AppError;
use khamsa_domain::ids::is_plausible_id;
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
    /// Anyone. API Gateway runs no authorizer here, so a token that is
    /// sent is never read: every caller is anonymous (a seller sees their
    /// own hidden services on `/me/services`).
    Public,
    /// A signed-in user.
    Signed,
    /// A signed-in operator: every `/admin` route.
    Operator,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Row {
    pub method: Method,
    pub path: &'static str,
    pub route: Route,
    pub access: Access,
}

/// Declares [`Route`] and [`TABLE`] from one list, so that every route has
/// exactly one row by construction.
macro_rules! routes {
    ($($route:ident: $method:ident $path:literal $access:ident,)*) => {
        /// Every route the API serves. A new one does not build until it
        /// has an arm in `dispatch` and a Lambda function in
        /// `khamsa_functions::function_for`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Route {
            $($route,)*
        }

        pub const TABLE: &[Row] = &[
            $(Row {
                method: Method::$method,
                path: $path,
                route: Route::$route,
                access: Access::$access,
            },)*
        ];
    };
}

routes! {
    // Accounts
    Me: Get "/me" Signed,
    EditMe: Patch "/me" Signed,
    MyLedger: Get "/me/ledger" Signed,
    Topup: Post "/me/topups" Signed,
    MyPurchases: Get "/me/purchases" Signed,
    MySales: Get "/me/sales" Signed,
    MyInbox: Get "/me/inbox" Signed,
    MyWithdrawals: Get "/me/withdrawals" Signed,
    MyServices: Get "/me/services" Signed,
    // Services
    CreateService: Post "/services" Signed,
    ListServices: Get "/services" Public,
    Service: Get "/services/{id}" Public,
    EditService: Patch "/services/{id}" Signed,
    PauseService: Post "/services/{id}/pause" Signed,
    ResumeService: Post "/services/{id}/resume" Signed,
    ServiceReviews: Get "/services/{id}/reviews" Public,
    User: Get "/users/{id}" Public,
    // Orders
    PlaceOrder: Post "/orders" Signed,
    Order: Get "/orders/{id}" Signed,
    Instructions: Post "/orders/{id}/instructions" Signed,
    Deliver: Post "/orders/{id}/deliver" Signed,
    Receive: Post "/orders/{id}/receive" Signed,
    Changes: Post "/orders/{id}/changes" Signed,
    Cancel: Post "/orders/{id}/cancel" Signed,
    Messages: Get "/orders/{id}/messages" Signed,
    SendMessage: Post "/orders/{id}/messages" Signed,
    OpenDispute: Post "/orders/{id}/dispute" Signed,
    UploadFile: Post "/orders/{id}/files" Signed,
    File: Get "/orders/{id}/files/{file_id}" Signed,
    Review: Post "/orders/{id}/review" Signed,
    ReplyToReview: Post "/orders/{id}/review/reply" Signed,
    // Withdrawals
    Withdraw: Post "/withdrawals" Signed,
    // Requests board
    CreateRequest: Post "/requests" Signed,
    ListRequests: Get "/requests" Public,
    Request: Get "/requests/{id}" Public,
    Offer: Post "/requests/{id}/offers" Signed,
    CloseRequest: Post "/requests/{id}/close" Signed,
    // Operators
    AdminServices: Get "/admin/services" Operator,
    ApproveService: Post "/admin/services/{id}/approve" Operator,
    RejectService: Post "/admin/services/{id}/reject" Operator,
    ApproveRevision: Post "/admin/services/{id}/revision/approve" Operator,
    RejectRevision: Post "/admin/services/{id}/revision/reject" Operator,
    AdminWithdrawals: Get "/admin/withdrawals" Operator,
    ApproveWithdrawal: Post "/admin/withdrawals/{id}/approve" Operator,
    RejectWithdrawal: Post "/admin/withdrawals/{id}/reject" Operator,
    AdminCancelOrder: Post "/admin/orders/{id}/cancel" Operator,
    AdminCompleteOrder: Post "/admin/orders/{id}/complete" Operator,
    LedgerCheck: Get "/admin/ledger/check" Operator,
    AdminDisputes: Get "/admin/disputes" Operator,
    ResolveDispute: Post "/admin/disputes/{id}/resolve" Operator,
    // Money in (issue 8)
    PaymentMethods: Get "/payment-methods" Public,
    MyTopups: Get "/me/topups" Signed,
    CaptureTopup: Post "/me/topups/{id}/capture" Signed,
    PaypalWebhook: Post "/webhooks/paypal" Public,
    ClearHold: Post "/admin/users/{id}/clear-hold" Operator,
    // The one-click link in optional emails (RFC 8058): its token is the
    // authority, so no sign-in.
    Unsubscribe: Post "/unsubscribe" Public,
    // Where a person lands who opens that link: a redirect to the site's
    // page, which asks before it POSTs (a GET changes nothing).
    UnsubscribePage: Get "/unsubscribe" Public,
    // Stuck work (issue 9)
    AdminOutbox: Get "/admin/outbox" Operator,
    RetryEmail: Post "/admin/outbox/{id}/retry" Operator,
}

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
    /// The path's `{file_id}`; empty when the template has none.
    pub file_id: String,
}

impl Found {
    /// The route with its `{id}`, once it is one we could have issued: an
    /// id that cannot be ours (too long, or characters ours never have) is
    /// a `404` here, before any handler or store sees it.
    pub fn new(row: &'static Row, id: &str) -> Result<Found, AppError> {
        if row.path.contains("{id}") && !is_plausible_id(id) {
            return Err(AppError::NotFound(thing(row.path)));
        }
        Ok(Found {
            row,
            id: id.to_owned(),
            file_id: String::new(),
        })
    }

    /// With the template's `{file_id}`, checked like `{id}`.
    pub fn with_file_id(mut self, file_id: Option<&str>) -> Result<Found, AppError> {
        if self.row.path.contains("{file_id}") {
            let f = file_id.unwrap_or_default();
            if !is_plausible_id(f) {
                return Err(AppError::NotFound("file"));
            }
            self.file_id = f.to_owned();
        }
        Ok(self)
    }
}

/// What a template's `{id}` names, for the 404's detail.
fn thing(path: &str) -> &'static str {
    let resource = path
        .trim_start_matches("/admin")
        .split('/')
        .nth(1)
        .unwrap_or_default();
    match resource {
        "services" => "service",
        "users" => "user",
        "orders" => "order",
        "requests" => "request",
        "withdrawals" => "withdrawal",
        "disputes" => "dispute",
        "me" => "topup",
        _ => "resource",
    }
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
    Found::new(row, m.params.get("id").unwrap_or_default())?.with_file_id(m.params.get("file_id"))
}

/// The row of a raw path whatever its `{id}` looks like: what API
/// Gateway matches before its authorizer runs.
pub fn row_of(method: &str, path: &str) -> Option<&'static Row> {
    let m = ROUTER.at(path.trim_end_matches('/')).ok()?;
    m.value
        .iter()
        .find(|r| r.method.as_str() == method)
        .copied()
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
    fn every_method_and_path_is_one_route_and_every_template_inserts() {
        let mut keys = HashSet::new();
        let mut router = matchit::Router::new();
        let mut inserted = HashSet::new();
        for r in TABLE {
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

    #[test]
    fn an_id_that_cannot_be_ours_is_not_found_on_every_template() {
        let long = "o".repeat(5000);
        for row in TABLE.iter().filter(|r| r.path.contains("{id}")) {
            for bad in [long.as_str(), "a.b", "%FF", "ملف"] {
                let path = row.path.replace("{id}", bad);
                assert!(
                    matches!(find(row.method.as_str(), &path), Err(AppError::NotFound(_))),
                    "{path}"
                );
                assert!(matches!(Found::new(row, bad), Err(AppError::NotFound(_))));
            }
            let ok = Found::new(row, "svc_01hx3m9k2c7f0q8r5t6v7w8x9y").unwrap();
            assert_eq!(ok.row.route, row.route);
        }
        assert!(matches!(
            Found::new(&TABLE[0], ""),
            Ok(Found { id, .. }) if id.is_empty()
        ));
    }
}
