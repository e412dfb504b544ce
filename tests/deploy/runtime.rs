//! A Lambda Runtime API emulator on loopback: the three calls a custom
//! runtime makes (`/runtime/invocation/next`, `.../{id}/response`,
//! `.../{id}/error`, plus `/runtime/init/error`), enough to run a function
//! binary exactly as Lambda runs it.
//! See https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{Notify, oneshot};

const PREFIX: &str = "/2018-06-01/runtime";

/// What the function answered.
#[derive(Debug)]
pub enum Outcome {
    Response(Value),
    /// An invocation error: `{errorType, errorMessage}`.
    Error(Value),
}

#[derive(Default)]
struct State {
    pending: Mutex<VecDeque<(String, Bytes)>>,
    ready: Notify,
    waiting: Mutex<HashMap<String, oneshot::Sender<Outcome>>>,
    init_errors: Mutex<Vec<String>>,
    polls: AtomicU64,
}

pub struct RuntimeApi {
    pub addr: SocketAddr,
    state: Arc<State>,
    next_id: AtomicU64,
}

impl RuntimeApi {
    pub async fn start() -> RuntimeApi {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(State::default());
        let s = state.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let s = s.clone();
                tokio::spawn(async move {
                    let svc = service_fn(move |req| {
                        let s = s.clone();
                        async move { Ok::<_, std::convert::Infallible>(serve(&s, req).await) }
                    });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
        RuntimeApi {
            addr,
            state,
            next_id: AtomicU64::new(1),
        }
    }

    /// Hands `event` to the function's next poll and waits for its answer.
    pub async fn invoke(&self, event: &Value) -> Outcome {
        let id = format!(
            "8476a536-e9f4-11e8-9739-{:012}",
            self.next_id.fetch_add(1, Ordering::SeqCst)
        );
        let (tx, rx) = oneshot::channel();
        self.state.waiting.lock().unwrap().insert(id.clone(), tx);
        self.state
            .pending
            .lock()
            .unwrap()
            .push_back((id.clone(), Bytes::from(event.to_string())));
        self.state.ready.notify_one();
        match tokio::time::timeout(Duration::from_secs(60), rx).await {
            Ok(Ok(outcome)) => outcome,
            Ok(Err(_)) => panic!("invocation {id}: the emulator dropped it"),
            Err(_) => panic!(
                "invocation {id}: no answer within 60 s (init errors: {:?})",
                self.init_errors()
            ),
        }
    }

    pub fn init_errors(&self) -> Vec<String> {
        self.state.init_errors.lock().unwrap().clone()
    }

    /// How many times the function asked for an event.
    pub fn polls(&self) -> u64 {
        self.state.polls.load(Ordering::SeqCst)
    }
}

async fn serve(s: &State, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let body = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let Some(rest) = path.strip_prefix(PREFIX) else {
        return reply(404, "unknown path");
    };
    match (method.as_str(), rest) {
        ("GET", "/invocation/next") => {
            s.polls.fetch_add(1, Ordering::SeqCst);
            loop {
                let next = s.pending.lock().unwrap().pop_front();
                if let Some((id, event)) = next {
                    let deadline = std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .unwrap()
                        .as_millis()
                        + 30_000;
                    return Response::builder()
                        .status(200)
                        .header("content-type", "application/json")
                        .header("lambda-runtime-aws-request-id", &id)
                        .header("lambda-runtime-deadline-ms", deadline.to_string())
                        .header(
                            "lambda-runtime-invoked-function-arn",
                            "arn:aws:lambda:us-east-1:123456789012:function:khamsa-test",
                        )
                        .header(
                            "lambda-runtime-trace-id",
                            "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=1",
                        )
                        .body(Full::new(event))
                        .unwrap();
                }
                s.ready.notified().await;
            }
        }
        ("POST", "/init/error") => {
            s.init_errors
                .lock()
                .unwrap()
                .push(String::from_utf8_lossy(&body).into_owned());
            reply(202, "{\"status\":\"OK\"}")
        }
        ("POST", rest) => {
            let Some(rest) = rest.strip_prefix("/invocation/") else {
                return reply(404, "unknown path");
            };
            let (id, kind) = match rest.rsplit_once('/') {
                Some(x) => x,
                None => return reply(404, "unknown path"),
            };
            let value: Value = serde_json::from_slice(&body)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned()));
            let outcome = match kind {
                "response" => Outcome::Response(value),
                "error" => Outcome::Error(value),
                _ => return reply(404, "unknown path"),
            };
            match s.waiting.lock().unwrap().remove(id) {
                Some(tx) => {
                    let _ = tx.send(outcome);
                    reply(202, "{\"status\":\"OK\"}")
                }
                None => reply(400, "unknown request id"),
            }
        }
        _ => reply(404, "unknown path"),
    }
}

fn reply(status: u16, body: &'static str) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from_static(body.as_bytes())))
        .unwrap()
}
