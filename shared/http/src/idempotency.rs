//! State changes under `Idempotency-Key`: a replay returns the first
//! completed answer; the change and the key's record commit together.

use crate::{Ctx, Reply, problem};
use khamsa_app::ports::{IdempotencyRecord, UnitOfWork};
use khamsa_app::{AppError, AppResult, Outcome};
use khamsa_domain::time::DAY_MS;
use sha2::{Digest, Sha256};

/// A use case's future, boxed so the handler's future stays `Send` (the
/// Lambda runtime and the local server both need that).
pub type UseCase<'f, T> =
    std::pin::Pin<Box<dyn std::future::Future<Output = AppResult<Outcome<T>>> + Send + 'f>>;

/// Tries before a change that keeps meeting a concurrent one gives up (409).
const ATTEMPTS: usize = 3;

/// The longest `Idempotency-Key`, in characters (api.md).
const KEY_MAX: usize = 64;

/// The `Idempotency-Key` header as it came: absent, or its bytes. HTTP
/// header values may hold any bytes; ours must be UTF-8 text.
#[derive(Debug, Clone, Default)]
pub(crate) struct KeyHeader(Option<Vec<u8>>);

impl KeyHeader {
    pub(crate) fn read(headers: &lambda_http::http::HeaderMap) -> KeyHeader {
        KeyHeader(
            headers
                .get("idempotency-key")
                .map(|v| v.as_bytes().to_vec()),
        )
    }

    /// The key, if one was sent: `400 invalid_idempotency_key` unless it
    /// is UTF-8 text of 1 to 64 characters (not bytes: an Arabic key is
    /// two bytes a letter).
    pub(crate) fn key(&self) -> AppResult<Option<&str>> {
        let Some(bytes) = &self.0 else {
            return Ok(None);
        };
        std::str::from_utf8(bytes)
            .ok()
            .filter(|k| (1..=KEY_MAX).contains(&k.chars().count()))
            .map(Some)
            .ok_or_else(|| {
                AppError::bad_request(
                    "invalid_idempotency_key",
                    "Idempotency-Key is UTF-8 text of 1 to 64 characters",
                )
            })
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl Ctx<'_> {
    /// Runs a state change: replays a finished `Idempotency-Key`, otherwise
    /// runs the use case (which reads and decides), commits the change and
    /// the key's record in one unit of work, and runs it again when a
    /// concurrent change got there first.
    /// `render` gives the answer's JSON (see [`crate::json`]).
    pub(crate) async fn mutate<'f, T>(
        &self,
        status: u16,
        run: impl Fn() -> UseCase<'f, T>,
        render: impl Fn(&T) -> String,
    ) -> AppResult<Reply> {
        self.mutate_as(|_| status, run, render).await
    }

    /// [`Ctx::mutate`] whose success status depends on what the use case
    /// decided (`POST /orders`: `201` placed, `202` a checkout).
    pub(crate) async fn mutate_as<'f, T>(
        &self,
        status_of: impl Fn(&T) -> u16,
        run: impl Fn() -> UseCase<'f, T>,
        render: impl Fn(&T) -> String,
    ) -> AppResult<Reply> {
        let app = self.app;
        let now = app.now();
        let scoped = match (self.idempotency_key.key()?, &self.caller) {
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
                    return Ok(Reply {
                        status: rec.status,
                        body: rec.body,
                    });
                }
                Some((scope, hash))
            }
            _ => None,
        };
        let record = |reply: &Reply| {
            scoped.as_ref().map(|(scope, hash)| IdempotencyRecord {
                scope: scope.clone(),
                request_hash: hash.clone(),
                status: reply.status,
                body: reply.body.clone(),
                created_at: now,
                expires_at: now.plus_ms(DAY_MS),
            })
        };
        for attempt in 1..=ATTEMPTS {
            let result = match run().await {
                Ok(out) => {
                    let reply = Reply {
                        status: status_of(&out.value),
                        body: render(&out.value),
                    };
                    let mut uow = out.uow;
                    uow.idempotency = record(&reply);
                    app.commit(uow, out.on_overdraft).await.map(|()| reply)
                }
                Err(e) => Err(e),
            };
            match result {
                Err(AppError::Busy) if attempt < ATTEMPTS => continue,
                Err(e) => {
                    let p = problem::problem(&e);
                    // A refusal is a completed answer too: a replay gets it
                    // again. Server-side failures are not kept.
                    if (400..500).contains(&p.status)
                        && !matches!(e, AppError::IdempotencyInProgress | AppError::Busy)
                        && let Some(rec) = record(&Reply::new(p.status, &p))
                    {
                        let uow = UnitOfWork {
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
