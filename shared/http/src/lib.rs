//! The HTTP edge, written once against `lambda_http` types: every Lambda
//! function and the local server hand their requests to [`handle`] (or to
//! [`resolve`] then [`serve`], to look at the route in between).
//!
//! A request goes: the route table finds its [`Route`] (once); its
//! [`Access`] is checked (once); one exhaustive `match` calls the
//! resource's handler, which reads the typed input, calls one use case
//! and renders a typed view. This crate is apart from `khamsa-app` so that
//! the use cases never see `lambda_http` and the workers need not link it.

pub mod accounts;
pub mod admin;
pub mod auth;
pub mod disputes;
pub mod files;
pub mod idempotency;
pub mod orders;
pub mod payments;
pub mod problem;
pub mod requests;
pub mod services;
pub mod table;
pub mod views;
pub mod withdrawals;

pub use table::{Access, Found, Method, ROUTES, Route, Row, TABLE};

use khamsa_app::ports::PageReq;
use khamsa_app::usecases::{accounts as accounts_uc, input};
use khamsa_app::{App, AppError, AppResult, Caller};
use lambda_http::aws_lambda_events::query_map::QueryMap;
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use serde::Serialize;
use std::time::Instant;

/// A JSON answer before it becomes an HTTP response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub status: u16,
    pub body: String,
}

impl Reply {
    fn new(status: u16, view: &impl Serialize) -> Reply {
        Reply {
            status,
            body: json_text(view),
        }
    }
}

/// A view as JSON text. Views are structs of strings, numbers and lists
/// with string keys: they always serialize.
pub(crate) fn json_text(view: &impl Serialize) -> String {
    serde_json::to_string(view).unwrap_or_else(|_| "null".into())
}

fn ok(view: &impl Serialize) -> AppResult<Reply> {
    Ok(Reply::new(200, view))
}

/// What a handler sees of the request.
pub struct Ctx<'a> {
    app: &'a App,
    method: &'a str,
    path: &'a str,
    body: &'a [u8],
    /// For what must see them as sent (the provider's webhook signature).
    headers: &'a lambda_http::http::HeaderMap,
    caller: Option<Caller>,
    idempotency_key: idempotency::KeyHeader,
    query: QueryMap,
    /// The path's `{id}`; empty when the template has none.
    id: String,
    /// The path's `{file_id}`, likewise.
    file_id: String,
}

impl Ctx<'_> {
    fn caller(&self) -> AppResult<&Caller> {
        self.caller.as_ref().ok_or(AppError::Unauthorized)
    }

    fn q(&self, key: &str) -> Option<&str> {
        self.query.first(key).filter(|v| !v.is_empty())
    }

    /// The body as the use case's typed input; its error waits in the
    /// input until the use case's own checks have run.
    fn input<T: input::Body>(&self) -> input::Input<T> {
        input::read(self.body, &self.app.cfg)
    }

    fn page(&self) -> AppResult<PageReq> {
        let limit = match self.q("limit") {
            None => 20,
            Some(l) => l
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=100).contains(n))
                .ok_or_else(|| {
                    AppError::bad_request("invalid_query", "limit must be from 1 to 100")
                })?,
        };
        Ok(PageReq {
            limit,
            cursor: self.q("cursor").map(str::to_owned),
        })
    }

    fn status_filter<T: std::str::FromStr<Err = khamsa_domain::DomainError>>(
        &self,
    ) -> AppResult<Option<T>> {
        self.q("status")
            .map(|s| {
                s.parse::<T>()
                    .map_err(|e| AppError::bad_request("invalid_query", e.to_string()))
            })
            .transpose()
    }
}

fn body_bytes(b: &Body) -> &[u8] {
    match b {
        Body::Text(s) => s.as_bytes(),
        Body::Binary(v) => v,
        // `Body` is non-exhaustive (not our enum): anything else is empty.
        _ => &[],
    }
}

fn response(status: u16, body: String, content_type: &str) -> Response<Body> {
    Response::builder()
        .status(status)
        .header("content-type", content_type)
        .body(Body::Text(body))
        .unwrap_or_else(|_| Response::new(Body::Empty))
}

fn redirect(location: &str) -> Response<Body> {
    Response::builder()
        .status(302)
        .header("location", location)
        .header("cache-control", "no-store")
        .body(Body::Empty)
        .unwrap_or_else(|_| Response::new(Body::Empty))
}

/// Finds the request's route, once: by API Gateway's `routeKey` and path
/// parameters when it matched one of our routes, else (`$default`, the
/// local server) by matching the raw path: 404 or 405 when none fits.
pub fn resolve(req: &Request) -> AppResult<Found> {
    let route_key = match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx.route_key.as_deref(),
        _ => None,
    };
    match route_key.and_then(table::by_route_key) {
        Some(row) => {
            let params = req.path_parameters_ref();
            Found::new(row, params.and_then(|p| p.first("id")).unwrap_or_default())?
                .with_file_id(params.and_then(|p| p.first("file_id")))
        }
        None => table::find(req.method().as_str(), req.raw_http_path()),
    }
}

/// The routes one binary serves, known when it is compiled: `dispatch`
/// instantiates only their handlers, so each Lambda function's zip carries
/// its own routes' code (and, say, the PayPal paths only where a route
/// takes them), not every route's.
pub trait Served: 'static {
    const ROUTES: &'static [Route];
    /// Every route, whatever `ROUTES` says: the local server and tests.
    const ALL: bool = false;
}

/// Every route: what the local server serves.
pub struct AllRoutes;

impl Served for AllRoutes {
    const ROUTES: &'static [Route] = &[];
    const ALL: bool = true;
}

/// Whether `r` is in `list`, at compile time.
pub const fn serves(list: &[Route], r: Route) -> bool {
    let mut i = 0;
    while i < list.len() {
        if list[i] as usize == r as usize {
            return true;
        }
        i += 1;
    }
    false
}

/// Handles one API request. Never panics into the runtime and never
/// answers 500 for bad input: every refusal is problem+json.
pub async fn handle(app: &App, req: Request) -> Response<Body> {
    let found = resolve(&req);
    serve(app, req, found).await
}

/// Answers a request whose route [`resolve`] found (or refused), any route.
pub async fn serve(app: &App, req: Request, found: AppResult<Found>) -> Response<Body> {
    serve_only::<AllRoutes>(app, req, found).await
}

/// Answers a request, serving only `S`'s routes (any other is a 404).
pub async fn serve_only<S: Served>(
    app: &App,
    req: Request,
    found: AppResult<Found>,
) -> Response<Body> {
    let started = Instant::now();
    let method = req.method().as_str().to_owned();
    // Trailing slashes do not change the route (`table::find`), so they
    // do not change an idempotency scope either, nor lengthen its key.
    let path = req.raw_http_path().trim_end_matches('/').to_owned();
    // API Gateway runs no authorizer on a public route, so a function
    // never sees claims there; ignoring any here keeps every caller of a
    // public route anonymous, in AWS and on the local server alike.
    let caller = match &found {
        Ok(f) if f.row.access != Access::Public => auth::caller(&req),
        Ok(_) | Err(_) => None,
    };
    let (template, result) = match found {
        Ok(Found { row, id, file_id }) => {
            let ctx = Ctx {
                app,
                method: &method,
                path: &path,
                body: body_bytes(req.body()),
                headers: req.headers(),
                caller: caller.clone(),
                idempotency_key: idempotency::KeyHeader::read(req.headers()),
                query: req.query_string_parameters(),
                id,
                file_id,
            };
            (row.path, route::<S>(&ctx, row).await)
        }
        Err(e) => ("-", Err(e)),
    };
    let response = match result {
        // A replayed refusal is still a problem document.
        Ok(reply) if reply.status >= 400 => {
            response(reply.status, reply.body, problem::CONTENT_TYPE)
        }
        // A redirect's body is its `Location` (a file download).
        Ok(reply) if reply.status == 302 => redirect(&reply.body),
        Ok(reply) => response(reply.status, reply.body, "application/json"),
        Err(e) => {
            if problem::status_and_code(&e).0 >= 500 {
                tracing::error!(error = %e, "request failed");
            }
            error_response(&e)
        }
    };
    tracing::info!(
        method = %method,
        route = template,
        status = response.status().as_u16(),
        latency_ms = started.elapsed().as_secs_f64() * 1000.0,
        caller = caller.as_ref().map(|c| c.id.as_str()).unwrap_or("-"),
        "request"
    );
    response
}

/// Checks the route's access level, once, then calls its handler.
async fn route<S: Served>(ctx: &Ctx<'_>, row: &Row) -> AppResult<Reply> {
    match row.access {
        Access::Public => {}
        Access::Signed | Access::Operator => {
            let caller = ctx.caller()?;
            ctx.idempotency_key.key()?;
            accounts_uc::ensure_known(ctx.app, caller).await?;
            if row.access == Access::Operator && !caller.operator {
                return Err(AppError::OperatorsOnly);
            }
        }
    }
    check_query(&ctx.query)?;
    dispatch::<S>(ctx, row.route).await
}

/// The longest value each query parameter takes, in bytes: all are far
/// above any value we issue or accept (a cursor we give out is a few
/// hundred bytes; categories and statuses are short words) and far below
/// DynamoDB's key limits. Parameters no route reads are not looked at.
fn query_max(key: &str) -> Option<usize> {
    match key {
        "cursor" => Some(1024),
        "category" | "status" => Some(64),
        "seller_id" => Some(khamsa_domain::ids::ID_MAX),
        "limit" => Some(8),
        // An unsubscribe token: a user id, a topic and a MAC, base64url.
        "token" => Some(512),
        _ => None,
    }
}

/// Refuses an over-long query value (`400 invalid_query`) once, after the
/// caller is known and before any handler or store reads it.
fn check_query(query: &QueryMap) -> AppResult<()> {
    for (key, value) in query.iter() {
        if let Some(max) = query_max(key)
            && value.len() > max
        {
            return Err(AppError::bad_request(
                "invalid_query",
                format!("{key} is at most {max} bytes"),
            ));
        }
    }
    Ok(())
}

/// One arm per route: a new [`Route`] fails to build until it has one.
/// An arm whose route `S` does not serve is decided at compile time, in
/// this plain (not `async`) function, so its handler's future is never
/// built and its code is not linked into that binary. (In an `async fn`
/// the state machine would keep every arm's future, dead or not.)
fn dispatch<'a, S: Served>(
    ctx: &'a Ctx<'a>,
    route: Route,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = AppResult<Reply>> + Send + 'a>> {
    macro_rules! arms {
        ($($r:ident => $h:path,)*) => {
            match route {
                $(Route::$r => {
                    if const { S::ALL || serves(S::ROUTES, Route::$r) } {
                        Box::pin($h(ctx))
                    } else {
                        Box::pin(std::future::ready(Err(AppError::NotFound("route"))))
                    }
                })*
            }
        };
    }
    arms! {
        Me => accounts::me,
        EditMe => accounts::edit_me,
        MyLedger => accounts::ledger,
        Topup => accounts::start_topup,
        MyPurchases => orders::purchases,
        MySales => orders::sales,
        MyInbox => orders::inbox,
        MyWithdrawals => withdrawals::mine,
        MyServices => services::mine,
        CreateService => services::create,
        ListServices => services::list,
        Service => services::show,
        EditService => services::edit,
        PauseService => services::pause,
        ResumeService => services::resume,
        ServiceReviews => services::reviews,
        User => services::seller,
        PlaceOrder => orders::place,
        Order => orders::show,
        Instructions => orders::instructions,
        Deliver => orders::deliver,
        Receive => orders::receive,
        Changes => orders::changes,
        Cancel => orders::cancel,
        Messages => orders::messages,
        SendMessage => orders::send_message,
        OpenDispute => disputes::open,
        UploadFile => files::upload,
        File => files::download,
        Review => orders::review,
        ReplyToReview => orders::reply,
        Withdraw => withdrawals::request,
        CreateRequest => requests::create,
        ListRequests => requests::list,
        Request => requests::show,
        Offer => requests::make_offer,
        CloseRequest => requests::close,
        AdminServices => admin::services,
        ApproveService => admin::approve_service,
        RejectService => admin::reject_service,
        ApproveRevision => admin::approve_revision,
        RejectRevision => admin::reject_revision,
        AdminWithdrawals => admin::withdrawals,
        ApproveWithdrawal => admin::approve_withdrawal,
        RejectWithdrawal => admin::reject_withdrawal,
        AdminCancelOrder => admin::cancel_order,
        AdminCompleteOrder => admin::complete_order,
        LedgerCheck => admin::ledger_check,
        AdminDisputes => disputes::list,
        ResolveDispute => disputes::resolve,
        PaymentMethods => payments::methods,
        MyTopups => payments::mine,
        CaptureTopup => payments::capture,
        PaypalWebhook => payments::paypal_webhook,
        ClearHold => payments::clear_hold,
        AdminOutbox => admin::outbox,
        RetryEmail => admin::retry_email,
        Unsubscribe => accounts::unsubscribe,
        UnsubscribePage => accounts::unsubscribe_page,
    }
}

/// A stable JSON answer for anything the local server adds itself.
pub fn json(status: u16, body: serde_json::Value) -> Response<Body> {
    response(status, body.to_string(), "application/json")
}

/// Seconds a client should wait before retrying a `503`: a store or a
/// provider briefly unavailable, or a request that ran out of time.
pub const RETRY_AFTER_SECONDS: u32 = 1;

pub fn error_response(e: &AppError) -> Response<Body> {
    let p = problem::problem(e);
    let mut r = response(
        p.status,
        Reply::new(p.status, &p).body,
        problem::CONTENT_TYPE,
    );
    if p.status == 503 {
        r.headers_mut()
            .insert("retry-after", RETRY_AFTER_SECONDS.into());
    }
    r
}

/// The answer when a request's time budget (the Lambda deadline less a
/// margin) runs out before its work is done: `503 unavailable` with
/// `Retry-After`, instead of the function's timeout and API Gateway's bare
/// `503`. With an `Idempotency-Key` the retry gets the first answer if the
/// work did commit.
pub fn out_of_time() -> Response<Body> {
    tracing::error!("request ran out of its time budget");
    error_response(&AppError::Store(
        khamsa_app::ports::StoreError::Unavailable("out of time".into()),
    ))
}
