//! The local server: every route of the HTTP API on localhost, through the
//! very handlers the Lambda functions call. Each request is turned into the
//! API Gateway v2 event a function receives, with the JWT claims where the
//! authorizer puts them, and made a request by `lambda_http` itself. It
//! also runs the workers in-process: the notifier (inline) and the timer
//! loop.

pub mod aws;
pub mod catalogue;
pub mod files;
pub mod paypal;
pub mod token;
pub mod web;

use aws::{AwsSettings, RecordingMailer};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::{AUTHORIZATION, HeaderMap, HeaderValue, USER_AGENT};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use khamsa_app::memory::{InMemory, MemoryMailer, MemoryStore, OffsetClock, WakeScheduler};
use khamsa_app::ports::{Clock, Store};
use khamsa_app::usecases::notify::InlineNotifier;
use khamsa_app::usecases::payouts::{self, InlinePayouts};
use khamsa_app::usecases::timers;
use khamsa_app::{App, AppError, Ports};
use khamsa_aws::dynamo::DynamoStore;
use khamsa_aws::ses::{SesMailer, verify_identity};
use khamsa_aws::sqs::{SqsNotifier, SqsScheduler, ensure_queue};
use khamsa_aws::workers::{drain_notifications, drain_timers, sweep};
use khamsa_domain::Config;
use khamsa_http::{self as glue, Access, views};
use lambda_http::aws_lambda_events::apigw::{
    ApiGatewayRequestAuthorizer, ApiGatewayRequestAuthorizerJwtDescription, ApiGatewayV2httpRequest,
};
use lambda_http::aws_lambda_events::query_map::QueryMap;
use lambda_http::request::LambdaRequest;
use paypal::{LocalPayPal, PayPalSetup};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use token::TokenKey;
use tokio::net::TcpListener;
use web::WebRoot;

/// Requests larger than this are refused before they reach a handler
/// (API Gateway's own limit is 10 MB; nothing here needs more than a few KB).
const MAX_BODY: usize = 1024 * 1024;

/// How timers and emails move: in-process, or through SQS queues that this
/// server also consumes (what the timers and notifier functions do in AWS).
enum Workers {
    Memory {
        scheduler: Arc<WakeScheduler>,
        notifier: Arc<InlineNotifier>,
    },
    Aws {
        sqs: aws_sdk_sqs::Client,
        timers_url: String,
        notifications_url: String,
        scheduler: Arc<SqsScheduler>,
        notifier: Arc<SqsNotifier>,
    },
}

pub struct Local {
    pub app: App,
    /// What was sent, for `/dev/emails` (a copy in AWS mode).
    pub mailer: Arc<MemoryMailer>,
    pub clock: Arc<OffsetClock>,
    /// The built-in fake PayPal, when it is the one in use: tests script
    /// its outcomes through it.
    pub paypal: Option<Arc<khamsa_paypal_fake::FakePayPal>>,
    workers: Workers,
    tokens: TokenKey,
    /// One timer run at a time: the loop and `/dev/clock` never race.
    timer_lock: tokio::sync::Mutex<()>,
    /// One email drain at a time, so `/dev/emails` waits for a batch the
    /// background loop holds instead of answering without it.
    email_lock: tokio::sync::Mutex<()>,
    /// The web client's files (`web/`), served at `/`.
    web: WebRoot,
    /// Files' bytes in memory mode (S3 on the AWS backend).
    files: Option<Arc<files::LocalFiles>>,
    /// `GET /services` pages as rendered, in memory mode.
    catalogue: Option<catalogue::Catalogue>,
}

impl Local {
    /// The embedded default: in-memory store, mailer and clock.
    pub fn in_memory(public_url: &str, cfg: Config, paypal: LocalPayPal) -> Arc<Local> {
        let mailer = Arc::new(MemoryMailer::new());
        let clock = Arc::new(OffsetClock::new());
        let store = Arc::new(MemoryStore::new());
        let InMemory {
            app,
            notifier,
            scheduler,
        } = InMemory::new(
            store.clone(),
            clock.clone(),
            mailer.clone(),
            cfg,
            public_url,
        )
        .with_payments(paypal.payments);
        let files = Arc::new(files::LocalFiles::new(public_url, clock.clone()));
        let app = app.with_files(files.clone());
        Arc::new(Local {
            app,
            mailer,
            clock,
            paypal: paypal.fake,
            workers: Workers::Memory {
                scheduler,
                notifier,
            },
            tokens: TokenKey::random(),
            timer_lock: tokio::sync::Mutex::new(()),
            email_lock: tokio::sync::Mutex::new(()),
            web: WebRoot::from_env(),
            files: Some(files),
            catalogue: Some(catalogue::Catalogue::new(store)),
        })
    }

    /// On DynamoDB, SQS and SES at the endpoints the AWS environment names,
    /// creating the table and queues when they are missing.
    pub async fn on_aws(
        public_url: &str,
        cfg: Config,
        settings: &AwsSettings,
        paypal: LocalPayPal,
    ) -> Result<Arc<Local>, String> {
        let sdk = khamsa_aws::https::sdk_defaults().load().await;
        let ddb = aws_sdk_dynamodb::Client::new(&sdk);
        let sqs = aws_sdk_sqs::Client::new(&sdk);
        // The mailer's client: no SDK retries (each could send again).
        let ses = khamsa_aws::ses::client(&sdk);
        let store = DynamoStore::new(ddb, settings.table.clone());
        store
            .create_table()
            .await
            .map_err(|e| format!("table {}: {e}", settings.table))?;
        let timers_url = ensure_queue(&sqs, &settings.timers_queue)
            .await
            .map_err(|e| e.to_string())?;
        let notifications_url = ensure_queue(&sqs, &settings.notifications_queue)
            .await
            .map_err(|e| e.to_string())?;
        verify_identity(&ses, &settings.ses_source)
            .await
            .map_err(|e| e.to_string())?;

        let store: Arc<dyn Store> = Arc::new(store);
        let record = Arc::new(MemoryMailer::new());
        let mailer = Arc::new(RecordingMailer {
            inner: Arc::new(SesMailer::new(ses, settings.ses_source.clone())),
            record: record.clone(),
        });
        let clock = Arc::new(OffsetClock::new());
        let scheduler = Arc::new(SqsScheduler::new(
            sqs.clone(),
            timers_url.clone(),
            clock.clone(),
        ));
        let notifier = Arc::new(SqsNotifier::new(sqs.clone(), notifications_url.clone()));
        // Payouts are sent in-process here too (the payouts function and
        // its queue are the Lambda's transport, not the logic).
        let app = InlinePayouts::wire(App::new(
            Ports {
                store,
                clock: clock.clone(),
                mailer,
                notifier: notifier.clone(),
                scheduler: scheduler.clone(),
                payments: paypal.payments,
            },
            cfg,
            public_url,
        ));
        // Files go to S3 (moto's on the emulators; the set-up creates the
        // bucket) through presigned URLs, as in AWS.
        let files = khamsa_aws::s3::S3Urls::from_sdk(&sdk, settings.files_bucket.clone())?;
        let app = app.with_files(Arc::new(files));
        Ok(Arc::new(Local {
            app,
            mailer: record,
            clock,
            paypal: paypal.fake,
            workers: Workers::Aws {
                sqs,
                timers_url,
                notifications_url,
                scheduler,
                notifier,
            },
            tokens: TokenKey::random(),
            timer_lock: tokio::sync::Mutex::new(()),
            email_lock: tokio::sync::Mutex::new(()),
            web: WebRoot::from_env(),
            files: None,
            catalogue: None,
        }))
    }

    /// Fires every timer due now, in due order, each as of its own due time,
    /// and sends the emails they wrote. In AWS mode the timers travel the
    /// production path: the sweeper queues them, the timers worker applies
    /// them, and the notifier worker mails.
    pub async fn run_timers(&self) -> Result<usize, AppError> {
        let _guard = self.timer_lock.lock().await;
        // The payouts poll rides on every run, as it rides on the sweeper.
        if let Err(e) = payouts::poll(&self.app).await {
            tracing::error!(error = %e, "payouts poll failed");
        }
        match &self.workers {
            Workers::Memory { notifier, .. } => {
                let n = timers::fire_due(&self.app, self.clock.now()).await?;
                notifier.resend_unsent().await;
                Ok(n)
            }
            Workers::Aws {
                sqs,
                timers_url,
                scheduler,
                notifier,
                ..
            } => {
                let mut received = 0;
                // Firings may set timers that are due at once (auto-complete
                // then clearing): sweep again until none is left due.
                for _ in 0..100 {
                    sweep(&self.app, scheduler, notifier.as_ref())
                        .await
                        .map_err(aws_error)?;
                    while drain_timers(sqs, timers_url, &self.app, 0)
                        .await
                        .map_err(aws_error)?
                        > 0
                    {
                        received += 1;
                    }
                    let due = self.app.store.due_timers(self.clock.now(), 500).await?;
                    if due.is_empty() {
                        break;
                    }
                    // Due now but not fired: queued by an earlier sweep with
                    // a delay that `/dev/clock` has since jumped over (their
                    // markers keep the sweep off them). Hand them over at
                    // once; a duplicate firing changes nothing.
                    scheduler.enqueue_timers(&due).await.map_err(aws_error)?;
                    while drain_timers(sqs, timers_url, &self.app, 0)
                        .await
                        .map_err(aws_error)?
                        > 0
                    {
                        received += 1;
                    }
                }
                drop(_guard);
                self.flush_emails().await?;
                Ok(received)
            }
        }
    }

    /// Sends every email waiting on the notifications queue (AWS mode; the
    /// in-memory notifier sends at once).
    pub async fn flush_emails(&self) -> Result<(), AppError> {
        if let Workers::Aws {
            sqs,
            notifications_url,
            ..
        } = &self.workers
        {
            let _guard = self.email_lock.lock().await;
            while drain_notifications(sqs, notifications_url, &self.app, 0)
                .await
                .map_err(aws_error)?
                > 0
            {}
        }
        Ok(())
    }

    /// Timers also fire as real time passes: a tick a second, or at once
    /// when a use case sets one.
    async fn timer_loop(self: Arc<Self>) {
        loop {
            match &self.workers {
                Workers::Memory { scheduler, .. } => {
                    let _ = tokio::time::timeout(Duration::from_secs(1), scheduler.wake.notified())
                        .await;
                }
                Workers::Aws { .. } => tokio::time::sleep(Duration::from_secs(1)).await,
            }
            if let Err(e) = self.run_timers().await {
                tracing::error!(error = %e, "timer run failed");
            }
            if let Err(e) = self.flush_emails().await {
                tracing::error!(error = %e, "email run failed");
            }
        }
    }

    async fn serve_one(&self, req: hyper::Request<Incoming>) -> hyper::Response<Full<Bytes>> {
        let (parts, body) = req.into_parts();
        if let (Some(files), Some(key)) =
            (&self.files, parts.uri.path().strip_prefix(files::PREFIX))
        {
            let max = usize::try_from(self.app.cfg.file_max_bytes).unwrap_or(MAX_BODY);
            let body = match Limited::new(body, max).collect().await {
                Ok(b) => b.to_bytes(),
                Err(_) => return plain(413, json!({"code": "payload_too_large", "status": 413})),
            };
            let content_type = parts
                .headers
                .get(hyper::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok());
            return files.serve(
                parts.method.as_str(),
                key,
                parts.uri.query().unwrap_or(""),
                content_type,
                parts
                    .headers
                    .get(khamsa_app::ports::TAGGING_HEADER)
                    .and_then(|v| v.to_str().ok()),
                body,
            );
        }
        let body = match Limited::new(body, MAX_BODY).collect().await {
            Ok(b) => b.to_bytes(),
            Err(_) => return plain(413, json!({"code": "payload_too_large", "status": 413})),
        };
        let path = parts.uri.path().to_owned();
        let method = parts.method.as_str().to_owned();
        if matches!(method.as_str(), "GET" | "HEAD")
            && let Some(page) = self.web.serve(&path, &parts.headers)
        {
            return page;
        }
        let query = parts.uri.query().unwrap_or("").to_owned();
        let local = match (method.as_str(), path.as_str()) {
            ("GET", "/health") => Some(glue::json(200, json!({"ok": true}))),
            ("POST", "/dev/token") => Some(self.dev_token(&body)),
            ("POST", "/dev/clock") => Some(self.dev_clock(&body).await),
            ("GET", "/dev/emails") => Some(self.dev_emails(&query).await),
            (_, "/health" | "/dev/token" | "/dev/clock" | "/dev/emails") => {
                Some(glue::error_response(&AppError::MethodNotAllowed))
            }
            _ => None,
        };
        let started = std::time::Instant::now();
        let ticket = match self.catalogue.as_ref().filter(|_| {
            // A repeated or bad `Host` takes the usual path to its 400.
            method == "GET"
                && path == catalogue::PATH
                && parts.headers.get_all(hyper::header::HOST).iter().count() <= 1
                && !bad_host(&parts.headers)
        }) {
            Some(c) => match c.lookup(&query) {
                catalogue::Lookup::Hit(page) => {
                    // The line `glue::handle` writes for every request.
                    tracing::info!(
                        method = "GET",
                        route = catalogue::PATH,
                        status = 200,
                        latency_ms = started.elapsed().as_secs_f64() * 1000.0,
                        caller = "-",
                        cached = true,
                        "request"
                    );
                    let mut r = hyper::Response::new(Full::new(page.body));
                    *r.headers_mut() = page.headers;
                    return r;
                }
                catalogue::Lookup::Miss(t) => Some(t),
            },
            None => None,
        };
        let response = match local {
            Some(r) => r,
            None => match self.to_request(&parts, &body) {
                Ok(req) => glue::handle(&self.app, req).await,
                Err(e) => glue::error_response(&e),
            },
        };
        let (parts, body) = response.into_parts();
        let bytes = match body {
            lambda_http::Body::Text(s) => Bytes::from(s),
            lambda_http::Body::Binary(b) => Bytes::from(b),
            _ => Bytes::new(),
        };
        if let (Some(c), Some(t)) = (&self.catalogue, ticket)
            && parts.status == hyper::StatusCode::OK
        {
            c.keep(
                t,
                catalogue::Page {
                    headers: parts.headers.clone(),
                    body: bytes.clone(),
                },
            );
        }
        hyper::Response::from_parts(parts, Full::new(bytes))
    }

    /// This request as the Lambda functions receive it: the API Gateway HTTP
    /// API (payload 2.0) event, turned into a request by `lambda_http`. On
    /// a route with an authorizer the bearer token is verified here, as
    /// the authorizer would: a missing or bad one is a 401 before any
    /// handler runs.
    fn to_request(
        &self,
        parts: &hyper::http::request::Parts,
        body: &Bytes,
    ) -> Result<lambda_http::Request, AppError> {
        // API Gateway joins a repeated header's values with commas.
        let mut headers = HeaderMap::new();
        for name in parts.headers.keys() {
            let joined = parts
                .headers
                .get_all(name)
                .iter()
                .map(HeaderValue::as_bytes)
                .collect::<Vec<_>>()
                .join(&b","[..]);
            if let Ok(v) = HeaderValue::from_bytes(&joined) {
                headers.insert(name.clone(), v);
            }
        }
        // lambda_http builds the request URL from `Host` and panics on one
        // that is not an authority; HTTP/1.1 answers such a request 400.
        if bad_host(&headers) {
            return Err(AppError::bad_request(
                "invalid_host",
                "the Host header is not a host name or address",
            ));
        }
        // As API Gateway: its authorizer runs on the routes that have one
        // (a 401 without a good token), and on no other route, where a
        // token sent is passed on unread (the handlers ignore claims there).
        let authorized = glue::table::row_of(parts.method.as_str(), parts.uri.path())
            .is_some_and(|row| row.access != Access::Public);
        let claims = match headers.get(AUTHORIZATION) {
            _ if !authorized => None,
            None => return Err(AppError::Unauthorized),
            Some(h) => {
                let token = h
                    .to_str()
                    .ok()
                    .and_then(|h| h.strip_prefix("Bearer "))
                    .ok_or(AppError::Unauthorized)?;
                Some(
                    self.tokens
                        .verify(token.trim(), wall_seconds())
                        .map_err(|_| AppError::Unauthorized)?,
                )
            }
        };
        let raw_query = parts.uri.query().unwrap_or("");
        let mut query: HashMap<String, Vec<String>> = HashMap::new();
        for (k, v) in form_urlencoded::parse(raw_query.as_bytes()).into_owned() {
            query.entry(k).or_default().push(v);
        }
        let now = self.clock.now();

        let mut event = ApiGatewayV2httpRequest::default();
        event.version = Some("2.0".into());
        event.route_key = Some("$default".into());
        event.raw_path = Some(parts.uri.path().to_owned());
        event.raw_query_string = Some(raw_query.to_owned());
        event.query_string_parameters = QueryMap::from(query);
        (event.body, event.is_base64_encoded) = match std::str::from_utf8(body) {
            Ok("") => (None, false),
            Ok(s) => (Some(s.to_owned()), false),
            Err(_) => (Some(STANDARD.encode(body)), true),
        };
        let ctx = &mut event.request_context;
        ctx.account_id = Some("local".into());
        ctx.apiid = Some("khamsa-local".into());
        ctx.domain_name = Some("localhost".into());
        ctx.domain_prefix = Some("localhost".into());
        ctx.http.method = parts.method.clone();
        ctx.http.path = Some(parts.uri.path().to_owned());
        ctx.http.protocol = Some("HTTP/1.1".into());
        ctx.http.source_ip = Some("127.0.0.1".into());
        ctx.http.user_agent = Some(
            headers
                .get(USER_AGENT)
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
                .unwrap_or_default(),
        );
        ctx.request_id = Some(khamsa_app::ids::new_id("req", now));
        ctx.route_key = Some("$default".into());
        ctx.stage = Some("$default".into());
        ctx.time = Some(views::ts(now));
        ctx.time_epoch = now.millis();
        ctx.authorizer = claims.map(|claims| {
            let mut jwt = ApiGatewayRequestAuthorizerJwtDescription::default();
            jwt.claims = claims;
            let mut authorizer = ApiGatewayRequestAuthorizer::default();
            authorizer.jwt = Some(jwt);
            authorizer
        });
        event.headers = headers;
        Ok(LambdaRequest::ApiGatewayV2(event).into())
    }

    fn dev_token(&self, body: &[u8]) -> lambda_http::Response<lambda_http::Body> {
        let v: Value = if body.iter().all(u8::is_ascii_whitespace) {
            json!({})
        } else {
            match serde_json::from_slice(body) {
                Ok(v) => v,
                Err(_) => {
                    return glue::error_response(&AppError::bad_request(
                        "malformed_body",
                        "the body is not valid JSON",
                    ));
                }
            }
        };
        let user = v["user"].as_str().unwrap_or("").trim();
        if user.is_empty()
            || user.len() > 64
            || !user
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        {
            return glue::error_response(&AppError::Domain(khamsa_domain::DomainError::invalid(
                "user",
                "1 to 64 letters, digits, '-', '_' or '.'",
            )));
        }
        let email = v["email"]
            .as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| format!("{user}@example.com"));
        if let Err(e) = khamsa_domain::text::EmailAddress::parse("email", &email) {
            return glue::error_response(&AppError::Domain(e));
        }
        let operator = v["operator"].as_bool().unwrap_or(false);
        let verified = v["email_verified"].as_bool().unwrap_or(true);
        match self
            .tokens
            .sign_email(user, &email, verified, operator, wall_seconds())
        {
            Ok(token) => glue::json(200, json!({ "token": token })),
            Err(e) => {
                tracing::error!(error = %e, "cannot sign a dev token");
                glue::error_response(&AppError::Store(
                    khamsa_app::ports::StoreError::Unavailable(e.to_string()),
                ))
            }
        }
    }

    async fn dev_clock(&self, body: &[u8]) -> lambda_http::Response<lambda_http::Body> {
        let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        let Some(secs) = v
            .get("advance_seconds")
            .and_then(Value::as_i64)
            .filter(|s| *s >= 0)
        else {
            return glue::error_response(&AppError::Domain(khamsa_domain::DomainError::invalid(
                "advance_seconds",
                "a whole number of seconds, 0 or more",
            )));
        };
        let now = self.clock.advance_seconds(secs);
        if let Err(e) = self.run_timers().await {
            return glue::error_response(&e);
        }
        glue::json(200, json!({ "now": views::ts(now) }))
    }

    async fn dev_emails(&self, query: &str) -> lambda_http::Response<lambda_http::Body> {
        if let Err(e) = self.flush_emails().await {
            return glue::error_response(&e);
        }
        let to = form_urlencoded::parse(query.as_bytes())
            .find(|(k, _)| k == "to")
            .map(|(_, v)| v.into_owned());
        let items: Vec<Value> = self
            .mailer
            .sent(to.as_deref())
            .into_iter()
            .map(|e| {
                // The extra headers (`List-Unsubscribe` on optional emails).
                let headers: serde_json::Map<String, Value> = e
                    .headers
                    .iter()
                    .map(|(n, v)| (n.clone(), Value::String(v.clone())))
                    .collect();
                json!({ "to": e.to, "subject": e.subject, "html": e.html, "text": e.text,
                        "headers": headers, "at": views::ts(e.at) })
            })
            .collect();
        glue::json(200, json!({ "items": items }))
    }
}

/// Tokens live in real time: moving the business clock with `/dev/clock`
/// must not expire the session that moved it.
fn wall_seconds() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// A `Host` header that is not an authority (`lambda_http` would panic
/// building the request's URL from it).
fn bad_host(headers: &HeaderMap) -> bool {
    headers.get(hyper::header::HOST).is_some_and(|host| {
        host.to_str()
            .ok()
            .and_then(|h| h.parse::<hyper::http::uri::Authority>().ok())
            .is_none()
    })
}

fn plain(status: u16, body: Value) -> hyper::Response<Full<Bytes>> {
    hyper::Response::builder()
        .status(status)
        .header("content-type", "application/problem+json")
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap_or_else(|_| hyper::Response::new(Full::new(Bytes::new())))
}

/// A running local server.
pub struct Running {
    pub addr: SocketAddr,
    pub local: Arc<Local>,
}

/// Serves on `listener` until the process ends; spawns the timer loop.
pub async fn serve(listener: TcpListener, local: Arc<Local>) {
    tokio::spawn(local.clone().timer_loop());
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let local = local.clone();
        tokio::spawn(async move {
            let svc = service_fn(move |req| {
                let local = local.clone();
                async move { Ok::<_, std::convert::Infallible>(local.serve_one(req).await) }
            });
            if let Err(e) = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), svc)
                .await
            {
                tracing::debug!(error = %e, "connection closed");
            }
        });
    }
}

/// Where the local server keeps its state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    /// The embedded default: nothing to install.
    Memory,
    /// DynamoDB, SQS and SES at the endpoints of the AWS environment.
    Aws(AwsSettings),
}

/// Binds `127.0.0.1:port` (0 for any free port) and serves in the
/// background: what the tests use.
pub async fn spawn(port: u16) -> std::io::Result<Running> {
    spawn_with(port, Backend::Memory).await
}

pub async fn spawn_with(port: u16, backend: Backend) -> std::io::Result<Running> {
    let listener = TcpListener::bind(("127.0.0.1", port)).await?;
    let addr = listener.local_addr()?;
    let local = build(&format!("http://{addr}"), backend).await?;
    tokio::spawn(serve(listener, local.clone()));
    Ok(Running { addr, local })
}

/// `spawn_with` under another configuration (e.g. auto-approval on).
pub async fn spawn_configured(
    port: u16,
    backend: Backend,
    cfg: Config,
) -> std::io::Result<Running> {
    let listener = TcpListener::bind(("127.0.0.1", port)).await?;
    let addr = listener.local_addr()?;
    let local = build_configured(&format!("http://{addr}"), backend, cfg).await?;
    tokio::spawn(serve(listener, local.clone()));
    Ok(Running { addr, local })
}

pub async fn build(public_url: &str, backend: Backend) -> std::io::Result<Arc<Local>> {
    build_configured(public_url, backend, Config::default()).await
}

pub async fn build_configured(
    public_url: &str,
    backend: Backend,
    cfg: Config,
) -> std::io::Result<Arc<Local>> {
    let paypal = paypal::start(PayPalSetup::from_env(), public_url).await?;
    Ok(match backend {
        Backend::Memory => Local::in_memory(public_url, cfg, paypal),
        Backend::Aws(settings) => Local::on_aws(public_url, cfg, &settings, paypal)
            .await
            .map_err(std::io::Error::other)?,
    })
}

fn aws_error(e: khamsa_aws::sqs::AwsError) -> AppError {
    tracing::error!(error = %e, "queue call failed");
    AppError::Store(khamsa_app::ports::StoreError::Unavailable(e.to_string()))
}
