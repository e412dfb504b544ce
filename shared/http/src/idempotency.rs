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
                        status,
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
