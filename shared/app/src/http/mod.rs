//! The HTTP glue, written once against `lambda_http` types: every Lambda
//! function and the local server hand their requests to [`handle`].

pub mod auth;
pub mod problem;
pub mod views;

use crate::app::{App, Outcome};
use crate::caller::Caller;
use crate::error::{AppError, AppResult};
use crate::ports::{IdempotencyRecord, OrderQuery, PageReq, ServiceQuery, WithdrawalQuery};
use crate::usecases::{
    self, accounts, ledger_check, messages, order_transitions::Transition, place_order, requests,
    reviews, services, withdrawals,
};
use khamsa_domain::ids::UserId;
use khamsa_domain::order::OrderStatus;
use khamsa_domain::service::{ServiceStats, ServiceStatus};
use khamsa_domain::time::DAY_MS;
use khamsa_domain::withdrawal::WithdrawalStatus;
use lambda_http::{Body, Request, RequestExt, Response};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::time::Instant;

/// Every route this glue serves: (method, path template). The OpenAPI
/// document is checked against this list by a test.
pub const ROUTES: &[(&str, &str)] = &[
    ("GET", "/me"),
    ("PATCH", "/me"),
    ("GET", "/me/ledger"),
    ("POST", "/me/topups"),
    ("GET", "/me/purchases"),
    ("GET", "/me/sales"),
    ("GET", "/me/withdrawals"),
    ("POST", "/services"),
    ("GET", "/services"),
    ("GET", "/services/{id}"),
    ("PATCH", "/services/{id}"),
    ("POST", "/services/{id}/pause"),
    ("POST", "/services/{id}/resume"),
    ("GET", "/services/{id}/reviews"),
    ("GET", "/users/{id}"),
    ("POST", "/orders"),
    ("GET", "/orders/{id}"),
    ("POST", "/orders/{id}/instructions"),
    ("POST", "/orders/{id}/deliver"),
    ("POST", "/orders/{id}/receive"),
    ("POST", "/orders/{id}/changes"),
    ("POST", "/orders/{id}/cancel"),
    ("GET", "/orders/{id}/messages"),
    ("POST", "/orders/{id}/messages"),
    ("POST", "/orders/{id}/review"),
    ("POST", "/orders/{id}/review/reply"),
    ("POST", "/withdrawals"),
    ("POST", "/requests"),
    ("GET", "/requests"),
    ("GET", "/requests/{id}"),
    ("POST", "/requests/{id}/offers"),
    ("POST", "/requests/{id}/close"),
    ("GET", "/admin/services"),
    ("POST", "/admin/services/{id}/approve"),
    ("POST", "/admin/services/{id}/reject"),
    ("POST", "/admin/services/{id}/revision/approve"),
    ("POST", "/admin/services/{id}/revision/reject"),
    ("GET", "/admin/withdrawals"),
    ("POST", "/admin/withdrawals/{id}/pay"),
    ("POST", "/admin/withdrawals/{id}/reject"),
    ("POST", "/admin/orders/{id}/cancel"),
    ("POST", "/admin/orders/{id}/complete"),
    ("GET", "/admin/ledger/check"),
];

/// Routes anyone may call; they still read a token when one is sent.
fn is_public(method: &str, template: &str) -> bool {
    method == "GET"
        && (template.starts_with("/services")
            || template.starts_with("/users/")
            || template.starts_with("/requests"))
}

/// Finds the route template for a path, or 404 / 405.
pub fn match_route(method: &str, path: &str) -> AppResult<(&'static str, Option<String>)> {
    let segs: Vec<&str> = path.trim_end_matches('/').split('/').skip(1).collect();
    let mut path_known = false;
    for (m, template) in ROUTES {
        let tsegs: Vec<&str> = template.split('/').skip(1).collect();
        if tsegs.len() != segs.len() {
            continue;
        }
        let mut id = None;
        let fits = tsegs.iter().zip(&segs).all(|(t, s)| {
            if *t == "{id}" {
                id = Some((*s).to_owned());
                !s.is_empty()
            } else {
                t == s
            }
        });
        if fits {
            if *m == method {
                return Ok((template, id));
            }
            path_known = true;
        }
    }
    Err(if path_known {
        AppError::MethodNotAllowed
    } else {
        AppError::NotFound("route")
    })
}

/// A JSON answer before it becomes an HTTP response.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    pub status: u16,
    pub body: Value,
}

fn ok(body: Value) -> AppResult<Reply> {
    Ok(Reply { status: 200, body })
}

struct Ctx<'a> {
    app: &'a App,
    method: &'a str,
    path: &'a str,
    body: &'a [u8],
    caller: Option<Caller>,
    idempotency_key: Option<String>,
    query: lambda_http::aws_lambda_events::query_map::QueryMap,
}

impl Ctx<'_> {
    fn caller(&self) -> AppResult<&Caller> {
        self.caller.as_ref().ok_or(AppError::Unauthorized)
    }

    fn q(&self, key: &str) -> Option<&str> {
        self.query.first(key).filter(|v| !v.is_empty())
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

    fn status_filter<T>(
        &self,
        parse: impl Fn(&str) -> khamsa_domain::DomainResult<T>,
    ) -> AppResult<Option<T>> {
        self.q("status")
            .map(|s| parse(s).map_err(|e| AppError::bad_request("invalid_query", e.to_string())))
            .transpose()
    }

    /// Runs a state change: replays a finished `Idempotency-Key`, otherwise
    /// decides, commits the change and the key's record in one unit of
    /// work, and retries when a concurrent change got there first.
    async fn mutate<'f, T>(
        &self,
        status: u16,
        run: impl Fn() -> UseCase<'f, T>,
        render: impl Fn(&T) -> Value,
    ) -> AppResult<Reply> {
        let app = self.app;
        let now = app.now();
        let scoped = match (&self.idempotency_key, &self.caller) {
            (Some(key), Some(c)) => {
                let scope = format!(
                    "{}\u{1f}{}\u{1f}{}\u{1f}{}",
                    c.id, self.method, self.path, key
                );
                let hash = hex(&Sha256::digest(self.body));
                if let Some(rec) = app.store.idempotency(&scope, now).await? {
                    if rec.request_hash != hash {
                        return Err(AppError::IdempotencyKeyReused);
                    }
                    let body = serde_json::from_str(&rec.body).unwrap_or(Value::Null);
                    return Ok(Reply {
                        status: rec.status,
                        body,
                    });
                }
                Some((scope, hash))
            }
            _ => None,
        };
        let record = |status: u16, body: &Value| {
            scoped.as_ref().map(|(scope, hash)| IdempotencyRecord {
                scope: scope.clone(),
                request_hash: hash.clone(),
                status,
                body: body.to_string(),
                created_at: now,
                expires_at: now.plus_ms(DAY_MS),
            })
        };
        const ATTEMPTS: usize = 3;
        for attempt in 1..=ATTEMPTS {
            let result = match run().await {
                Ok(out) => {
                    let reply = Reply {
                        status,
                        body: render(&out.value),
                    };
                    let mut uow = out.uow;
                    uow.idempotency = record(status, &reply.body);
                    app.commit(uow, out.on_overdraft).await.map(|()| reply)
                }
                Err(e) => Err(e),
            };
            match result {
                Err(AppError::Busy) if attempt < ATTEMPTS => continue,
                Err(e) => {
                    let (status, body) = problem::problem(&e);
                    // A refusal is a completed answer too: a replay gets it
                    // again. Server-side failures are not kept.
                    if (400..500).contains(&status)
                        && !matches!(e, AppError::IdempotencyInProgress | AppError::Busy)
                        && let Some(rec) = record(status, &body)
                    {
                        let uow = crate::ports::UnitOfWork {
                            idempotency: Some(rec),
                            ..Default::default()
                        };
                        let _ = app.commit(uow, None).await;
                    }
                    return Err(e);
                }
                Ok(reply) => return Ok(reply),
            }
        }
        Err(AppError::Busy)
    }
}

/// A use case's future, boxed so the handler's future stays `Send` (the
/// Lambda runtime and the local server both need that).
type UseCase<'f, T> =
    std::pin::Pin<Box<dyn std::future::Future<Output = AppResult<Outcome<T>>> + Send + 'f>>;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn body_bytes(b: &Body) -> &[u8] {
    match b {
        Body::Text(s) => s.as_bytes(),
        Body::Binary(v) => v,
        _ => &[],
    }
}

fn json_response(status: u16, body: &Value, content_type: &str) -> Response<Body> {
    Response::builder()
        .status(status)
        .header("content-type", content_type)
        .body(Body::Text(body.to_string()))
        .unwrap_or_else(|_| Response::new(Body::Empty))
}

/// Handles one API request. Never panics into the runtime and never
/// answers 500 for bad input: every refusal is problem+json.
pub async fn handle(app: &App, req: Request) -> Response<Body> {
    let started = Instant::now();
    let method = req.method().as_str().to_owned();
    let path = req.raw_http_path().to_owned();
    let caller = auth::caller(&req);
    let idempotency_key = req
        .headers()
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let ctx = Ctx {
        app,
        method: &method,
        path: &path,
        body: body_bytes(req.body()),
        caller,
        idempotency_key,
        query: req.query_string_parameters(),
    };
    let (template, result) = match match_route(&method, &path) {
        Ok((template, id)) => (
            template,
            route(&ctx, template, id.as_deref().unwrap_or_default()).await,
        ),
        Err(e) => ("-", Err(e)),
    };
    let response = match &result {
        // A replayed refusal is still a problem document.
        Ok(reply) if reply.status >= 400 => {
            json_response(reply.status, &reply.body, problem::CONTENT_TYPE)
        }
        Ok(reply) => json_response(reply.status, &reply.body, "application/json"),
        Err(e) => {
            let (status, body) = problem::problem(e);
            if status >= 500 {
                tracing::error!(error = %e, "request failed");
            }
            json_response(status, &body, problem::CONTENT_TYPE)
        }
    };
    tracing::info!(
        method = %method,
        route = template,
        status = response.status().as_u16(),
        latency_ms = started.elapsed().as_secs_f64() * 1000.0,
        caller = ctx.caller.as_ref().map(|c| c.id.as_str()).unwrap_or("-"),
        "request"
    );
    response
}

async fn route(ctx: &Ctx<'_>, template: &'static str, id: &str) -> AppResult<Reply> {
    if !is_public(ctx.method, template) {
        let caller = ctx.caller()?;
        if ctx
            .idempotency_key
            .as_ref()
            .is_some_and(|k| k.is_empty() || k.len() > 64)
        {
            return Err(AppError::bad_request(
                "invalid_idempotency_key",
                "Idempotency-Key is 1 to 64 characters",
            ));
        }
        accounts::ensure_known(ctx.app, caller).await?;
    }
    let app = ctx.app;
    let now = app.now();
    let body = ctx.body;
    match (ctx.method, template) {
        // Accounts
        ("GET", "/me") => {
            let c = ctx.caller()?;
            let p = accounts::ensure_profile(app, c).await?;
            ok(views::profile(&p, &app.store.balances(&c.id).await?))
        }
        ("PATCH", "/me") => {
            let c = ctx.caller()?;
            let b = app.store.balances(&c.id).await?;
            ctx.mutate(
                200,
                || Box::pin(accounts::update_profile(app, c, body)),
                |p| views::profile(p, &b),
            )
            .await
        }
        ("GET", "/me/ledger") => {
            let page = app.store.ledger(&ctx.caller()?.id, &ctx.page()?).await?;
            ok(views::page(&page, views::ledger_line))
        }
        ("POST", "/me/topups") => {
            let c = ctx.caller()?;
            ctx.mutate(
                201,
                || Box::pin(accounts::topup(app, c, body)),
                views::topup,
            )
            .await
        }
        ("GET", "/me/purchases") | ("GET", "/me/sales") => {
            let c = ctx.caller()?;
            let status = ctx.status_filter(str::parse::<OrderStatus>)?;
            let q = if template == "/me/purchases" {
                OrderQuery::Purchases(c.id.clone(), status)
            } else {
                OrderQuery::Sales(c.id.clone(), status)
            };
            let page = app.store.orders(&q, &ctx.page()?).await?;
            ok(views::page(&page, |o| views::order(o, c, now)))
        }
        ("GET", "/me/withdrawals") => {
            let q = WithdrawalQuery::ByUser(ctx.caller()?.id.clone());
            ok(views::page(
                &app.store.withdrawals(&q, &ctx.page()?).await?,
                views::withdrawal,
            ))
        }

        // Services
        ("POST", "/services") => {
            let c = ctx.caller()?;
            ctx.mutate(
                201,
                || Box::pin(services::create(app, c, body)),
                |(s, st)| views::service(s, st, Some(c)),
            )
            .await
        }
        ("GET", "/services") => {
            let q = match ctx.q("seller_id") {
                Some(seller) => ServiceQuery::BySeller {
                    seller: UserId::new(seller),
                    only_active: true,
                },
                None => ServiceQuery::Active {
                    category: ctx.q("category").map(str::to_owned),
                },
            };
            let page = app.store.services(&q, &ctx.page()?).await?;
            let category = ctx.q("category");
            let mut v = views::page(&page, |(s, st)| views::service(s, st, ctx.caller.as_ref()));
            if let (Some(cat), ServiceQuery::BySeller { .. }) = (category, &q) {
                // Both filters at once: keep the seller's in that category.
                if let Some(items) = v["items"].as_array_mut() {
                    items.retain(|s| s["category"] == cat);
                }
            }
            ok(v)
        }
        ("GET", "/services/{id}") => {
            let (s, st) = services::visible(app, ctx.caller.as_ref(), id).await?;
            ok(views::service(&s, &st, ctx.caller.as_ref()))
        }
        ("PATCH", "/services/{id}") => {
            let c = ctx.caller()?;
            ctx.mutate(
                200,
                || Box::pin(services::edit(app, c, id, body)),
                |(s, st)| views::service(s, st, Some(c)),
            )
            .await
        }
        ("POST", "/services/{id}/pause") | ("POST", "/services/{id}/resume") => {
            let c = ctx.caller()?;
            let action = if template.ends_with("pause") {
                services::SellerAction::Pause
            } else {
                services::SellerAction::Resume
            };
            ctx.mutate(
                200,
                || Box::pin(services::seller_action(app, c, id, action)),
                |(s, st)| views::service(s, st, Some(c)),
            )
            .await
        }
        ("GET", "/services/{id}/reviews") => {
            let (s, _) = services::visible(app, ctx.caller.as_ref(), id).await?;
            ok(views::page(
                &app.store.reviews(&s.id, &ctx.page()?).await?,
                views::review,
            ))
        }
        ("GET", "/users/{id}") => {
            let user = UserId::new(id);
            let profile = app
                .store
                .profile(&user)
                .await?
                .ok_or(AppError::NotFound("user"))?;
            // One query: the rating rolls up every service the seller ever
            // listed; the public list shows the active ones among them.
            let all = app
                .store
                .services(
                    &ServiceQuery::BySeller {
                        seller: user,
                        only_active: false,
                    },
                    &PageReq::first(100),
                )
                .await?;
            let mut total = ServiceStats::default();
            for (_, st) in &all.items {
                total.rating_count += st.rating_count;
                total.rating_sum += st.rating_sum;
                total.orders_completed += st.orders_completed;
            }
            let services = all
                .items
                .iter()
                .filter(|(s, _)| s.status == ServiceStatus::Active)
                .map(|(s, st)| views::service(s, st, ctx.caller.as_ref()))
                .collect();
            ok(views::public_user(&profile, &total, services))
        }

        // Orders
        ("POST", "/orders") => {
            let c = ctx.caller()?;
            ctx.mutate(
                201,
                || Box::pin(place_order::place_order(app, c, body)),
                |o| views::order(o, c, now),
            )
            .await
        }
        ("GET", "/orders/{id}") => {
            let c = ctx.caller()?;
            let (o, _) = usecases::visible_order(app, c, id).await?;
            ok(views::order(&o, c, now))
        }
        ("POST", "/orders/{id}/instructions")
        | ("POST", "/orders/{id}/deliver")
        | ("POST", "/orders/{id}/receive")
        | ("POST", "/orders/{id}/changes")
        | ("POST", "/orders/{id}/cancel")
        | ("POST", "/admin/orders/{id}/cancel")
        | ("POST", "/admin/orders/{id}/complete") => {
            let c = ctx.caller()?;
            let t = match template {
                "/orders/{id}/instructions" => Transition::Instructions,
                "/orders/{id}/deliver" => Transition::Deliver,
                "/orders/{id}/receive" => Transition::Receive,
                "/orders/{id}/changes" => Transition::Changes,
                "/orders/{id}/cancel" => Transition::Cancel,
                "/admin/orders/{id}/cancel" => Transition::OperatorCancel,
                _ => Transition::OperatorComplete,
            };
            ctx.mutate(
                200,
                || Box::pin(usecases::order_transitions::transition(app, c, id, t, body)),
                |o| views::order(o, c, now),
            )
            .await
        }
        ("GET", "/orders/{id}/messages") => {
            let c = ctx.caller()?;
            let (o, _) = usecases::visible_order(app, c, id).await?;
            ok(views::page(
                &app.store.messages(&o.id, &ctx.page()?).await?,
                views::message,
            ))
        }
        ("POST", "/orders/{id}/messages") => {
            let c = ctx.caller()?;
            ctx.mutate(
                201,
                || Box::pin(messages::send(app, c, id, body)),
                views::message,
            )
            .await
        }
        ("POST", "/orders/{id}/review") => {
            let c = ctx.caller()?;
            ctx.mutate(
                201,
                || Box::pin(reviews::write(app, c, id, body)),
                views::review,
            )
            .await
        }
        ("POST", "/orders/{id}/review/reply") => {
            let c = ctx.caller()?;
            ctx.mutate(
                200,
                || Box::pin(reviews::reply(app, c, id, body)),
                views::review,
            )
            .await
        }

        // Withdrawals
        ("POST", "/withdrawals") => {
            let c = ctx.caller()?;
            ctx.mutate(
                201,
                || Box::pin(withdrawals::request(app, c, body)),
                views::withdrawal,
            )
            .await
        }

        // Requests board
        ("POST", "/requests") => {
            let c = ctx.caller()?;
            ctx.mutate(
                201,
                || Box::pin(requests::create(app, c, body)),
                |r| views::request(r, Some(&[])),
            )
            .await
        }
        ("GET", "/requests") => ok(views::page(
            &app.store.open_requests(&ctx.page()?).await?,
            |r| views::request(r, None),
        )),
        ("GET", "/requests/{id}") => {
            let r = requests::load(app, id).await?;
            let offers = app.store.offers(&r.id).await?;
            ok(views::request(&r, Some(&offers)))
        }
        ("POST", "/requests/{id}/offers") => {
            let c = ctx.caller()?;
            ctx.mutate(
                201,
                || Box::pin(requests::offer(app, c, id, body)),
                views::offer,
            )
            .await
        }
        ("POST", "/requests/{id}/close") => {
            let c = ctx.caller()?;
            let offers = app
                .store
                .offers(&khamsa_domain::ids::RequestId::new(id))
                .await?;
            ctx.mutate(
                200,
                || Box::pin(requests::close(app, c, id)),
                |r| views::request(r, Some(&offers)),
            )
            .await
        }

        // Operators
        ("GET", "/admin/services") => {
            let c = ctx.caller()?;
            if !c.operator {
                return Err(AppError::OperatorsOnly);
            }
            let q = match ctx.q("status") {
                Some("pending_revision") => ServiceQuery::PendingRevision,
                _ => ServiceQuery::ByStatus(
                    ctx.status_filter(str::parse::<ServiceStatus>)?
                        .unwrap_or(ServiceStatus::PendingReview),
                ),
            };
            ok(views::page(
                &app.store.services(&q, &ctx.page()?).await?,
                |(s, st)| views::service(s, st, Some(c)),
            ))
        }
        ("POST", "/admin/services/{id}/approve")
        | ("POST", "/admin/services/{id}/reject")
        | ("POST", "/admin/services/{id}/revision/approve")
        | ("POST", "/admin/services/{id}/revision/reject") => {
            let c = ctx.caller()?;
            let m = match template {
                "/admin/services/{id}/approve" => services::Moderation::Approve,
                "/admin/services/{id}/reject" => services::Moderation::Reject,
                "/admin/services/{id}/revision/approve" => services::Moderation::ApproveRevision,
                _ => services::Moderation::RejectRevision,
            };
            ctx.mutate(
                200,
                || Box::pin(services::moderate(app, c, id, m, body)),
                |(s, st)| views::service(s, st, Some(c)),
            )
            .await
        }
        ("GET", "/admin/withdrawals") => {
            let c = ctx.caller()?;
            if !c.operator {
                return Err(AppError::OperatorsOnly);
            }
            let status = ctx
                .status_filter(str::parse::<WithdrawalStatus>)?
                .unwrap_or(WithdrawalStatus::Requested);
            ok(views::page(
                &app.store
                    .withdrawals(&WithdrawalQuery::ByStatus(status), &ctx.page()?)
                    .await?,
                views::withdrawal,
            ))
        }
        ("POST", "/admin/withdrawals/{id}/pay") | ("POST", "/admin/withdrawals/{id}/reject") => {
            let c = ctx.caller()?;
            let how = if template.ends_with("pay") {
                withdrawals::Settle::Pay
            } else {
                withdrawals::Settle::Reject
            };
            ctx.mutate(
                200,
                || Box::pin(withdrawals::settle(app, c, id, how, body)),
                views::withdrawal,
            )
            .await
        }
        ("GET", "/admin/ledger/check") => ok(views::ledger_check(
            &ledger_check::check(app, ctx.caller()?).await?,
        )),
        _ => Err(AppError::NotFound("route")),
    }
}

/// A stable JSON answer for anything the local server adds itself.
pub fn json(status: u16, body: Value) -> Response<Body> {
    json_response(status, &body, "application/json")
}

pub fn error_response(e: &AppError) -> Response<Body> {
    let (status, body) = problem::problem(e);
    json_response(status, &body, problem::CONTENT_TYPE)
}
