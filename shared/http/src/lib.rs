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

/// Finds the request's route, once: by API Gateway's `routeKey` and path
/// parameters when it matched one of our routes, else (`$default`, the
/// local server) by matching the raw path: 404 or 405 when none fits.
pub fn resolve(req: &Request) -> AppResult<Found> {
    let route_key = match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx.route_key.as_deref(),
        _ => None,
    };
    match route_key.and_then(table::by_route_key) {
        Some(row) => Found::new(
            row,
            req.path_parameters_ref()
                .and_then(|p| p.first("id"))
                .unwrap_or_default(),
        ),
        None => table::find(req.method().as_str(), req.raw_http_path()),
    }
}

/// Handles one API request. Never panics into the runtime and never
/// answers 500 for bad input: every refusal is problem+json.
pub async fn handle(app: &App, req: Request) -> Response<Body> {
    let found = resolve(&req);
    serve(app, req, found).await
}

/// Answers a request whose route [`resolve`] found (or refused).
pub async fn serve(app: &App, req: Request, found: AppResult<Found>) -> Response<Body> {
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
        Ok(Found { row, id }) => {
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
            };
            (row.path, route(&ctx, row).await)
        }
        Err(e) => ("-", Err(e)),
    };
    let response = match result {
        // A replayed refusal is still a problem document.
        Ok(reply) if reply.status >= 400 => {
            response(reply.status, reply.body, problem::CONTENT_TYPE)
        }
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
async fn route(ctx: &Ctx<'_>, row: &Row) -> AppResult<Reply> {
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
    dispatch(ctx, row.route).await
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
async fn dispatch(ctx: &Ctx<'_>, route: Route) -> AppResult<Reply> {
    match route {
        Route::Me => accounts::me(ctx).await,
        Route::EditMe => accounts::edit_me(ctx).await,
        Route::MyLedger => accounts::ledger(ctx).await,
        Route::Topup => accounts::start_topup(ctx).await,
        Route::MyPurchases => orders::purchases(ctx).await,
        Route::MySales => orders::sales(ctx).await,
        Route::MyWithdrawals => withdrawals::mine(ctx).await,
        Route::MyServices => services::mine(ctx).await,
        Route::CreateService => services::create(ctx).await,
        Route::ListServices => services::list(ctx).await,
        Route::Service => services::show(ctx).await,
        Route::EditService => services::edit(ctx).await,
        Route::PauseService => services::pause(ctx).await,
        Route::ResumeService => services::resume(ctx).await,
        Route::ServiceReviews => services::reviews(ctx).await,
        Route::User => services::seller(ctx).await,
        Route::PlaceOrder => orders::place(ctx).await,
        Route::Order => orders::show(ctx).await,
        Route::Instructions => orders::instructions(ctx).await,
        Route::Deliver => orders::deliver(ctx).await,
        Route::Receive => orders::receive(ctx).await,
        Route::Changes => orders::changes(ctx).await,
        Route::Cancel => orders::cancel(ctx).await,
        Route::Messages => orders::messages(ctx).await,
        Route::SendMessage => orders::send_message(ctx).await,
        Route::Review => orders::review(ctx).await,
        Route::ReplyToReview => orders::reply(ctx).await,
        Route::Withdraw => withdrawals::request(ctx).await,
        Route::CreateRequest => requests::create(ctx).await,
        Route::ListRequests => requests::list(ctx).await,
        Route::Request => requests::show(ctx).await,
        Route::Offer => requests::make_offer(ctx).await,
        Route::CloseRequest => requests::close(ctx).await,
        Route::AdminServices => admin::services(ctx).await,
        Route::ApproveService => admin::approve_service(ctx).await,
        Route::RejectService => admin::reject_service(ctx).await,
        Route::ApproveRevision => admin::approve_revision(ctx).await,
        Route::RejectRevision => admin::reject_revision(ctx).await,
        Route::AdminWithdrawals => admin::withdrawals(ctx).await,
        Route::ApproveWithdrawal => admin::approve_withdrawal(ctx).await,
        Route::RejectWithdrawal => admin::reject_withdrawal(ctx).await,
        Route::AdminCancelOrder => admin::cancel_order(ctx).await,
        Route::AdminCompleteOrder => admin::complete_order(ctx).await,
        Route::LedgerCheck => admin::ledger_check(ctx).await,
        Route::PaymentMethods => payments::methods(ctx).await,
        Route::MyTopups => payments::mine(ctx).await,
        Route::CaptureTopup => payments::capture(ctx).await,
        Route::PaypalWebhook => payments::paypal_webhook(ctx).await,
        Route::ClearHold => payments::clear_hold(ctx).await,
    }
}

/// A stable JSON answer for anything the local server adds itself.
pub fn json(status: u16, body: serde_json::Value) -> Response<Body> {
    response(status, body.to_string(), "application/json")
}

pub fn error_response(e: &AppError) -> Response<Body> {
    let p = problem::problem(e);
    response(
        p.status,
        Reply::new(p.status, &p).body,
        problem::CONTENT_TYPE,
    )
}
