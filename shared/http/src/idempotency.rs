//! State changes under `Idempotency-Key`: a replay returns the first
//! completed answer; the change and the key's record commit together.

use crate::{Ctx, Reply, problem};
use khamsa_app::ports::{IdempotencyRecord, UnitOfWork};
use khamsa_app::{App, AppError, AppResult, Outcome};
use khamsa_domain::Timestamp;
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

/// The answer a key already has: the first request's, or `422` when the key
/// came with another body.
async fn replay(app: &App, scope: &str, hash: &str, now: Timestamp) -> AppResult<Option<Reply>> {
    app.store
        .idempotency(scope, now)
        .await?
        .map(|rec| answer(rec, hash))
        .transpose()
}

/// A keyed request that failed. A duplicate that read the key before the
/// first request committed ran on the state the first one left: its
/// failure (the key's condition, or a refusal such as
/// `insufficient_funds`) is not the answer. So the key is read again, and
/// the first answer wins; only with no record yet is this failure the
/// answer, kept when it is a refusal (server-side failures are not kept).
async fn settle_failure(
    app: &App,
    scope: &str,
    hash: &str,
    now: Timestamp,
    e: AppError,
    record: impl Fn(&Reply) -> Option<IdempotencyRecord>,
) -> AppResult<Reply> {
    if let Some(reply) = replay(app, scope, hash, now).await? {
        return Ok(reply);
    }
    let p = problem::problem(&e);
    if (400..500).contains(&p.status)
        // Transient: a retry with the same key may succeed (for a file,
        // once its bytes are uploaded).
        && !matches!(
            e,
            AppError::IdempotencyInProgress | AppError::Busy | AppError::FileNotUploaded(_)
        )
        && let Some(rec) = record(&Reply::new(p.status, &p))
    {
        let uow = UnitOfWork {
            idempotency: Some(rec),
            ..Default::default()
        };
        // Another duplicate recorded its answer between the read and this
        // write: that one is the answer.
        if let Err(AppError::IdempotencyInProgress) = app.commit(uow, None).await
            && let Some(reply) = replay(app, scope, hash, now).await?
        {
            return Ok(reply);
        }
    }
    Err(e)
}

/// When a keyed request learns that its key already has an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyCheck {
    /// Read the key's record before running the use case: needed when the
    /// use case acts outside the store before its commit (a PayPal
    /// checkout), which a replay must not do again.
    ReadFirst,
    /// Run the use case and let the commit's condition on the key find a
    /// replay; the refusal carries the first answer (issue 11: no read
    /// before the commit). Only for use cases whose one effect is the
    /// commit.
    InCommit,
}

/// A record's answer to a request with this body hash.
fn answer(rec: IdempotencyRecord, hash: &str) -> AppResult<Reply> {
    if rec.request_hash != hash {
        return Err(AppError::IdempotencyKeyReused);
    }
    Ok(Reply {
        status: rec.status,
        body: rec.body,
    })
}

impl Ctx<'_> {
    /// Runs a state change whose one effect is its commit: runs the use
    /// case (which reads and decides), commits the change and the key's
    /// record in one unit of work (a taken key answers with its first
    /// answer, [`KeyCheck::InCommit`]), and runs it again when a
    /// concurrent change got there first.
    /// `render` gives the answer's JSON (see [`crate::json`]).
    pub(crate) async fn mutate<'f, T>(
        &self,
        status: u16,
        run: impl Fn() -> UseCase<'f, T>,
        render: impl Fn(&T) -> String,
    ) -> AppResult<Reply> {
        self.mutate_as(KeyCheck::InCommit, |_| status, run, render)
            .await
    }

    /// [`Ctx::mutate`] whose success status depends on what the use case
    /// decided (`POST /orders`: `201` placed, `202` a checkout), and with
    /// the key checked as `check` says.
    pub(crate) async fn mutate_as<'f, T>(
        &self,
        check: KeyCheck,
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
                if check == KeyCheck::ReadFirst
                    && let Some(reply) = replay(app, &scope, &hash, now).await?
                {
                    return Ok(reply);
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
                    match app.commit_or_replay(uow, out.on_overdraft).await {
                        Ok(None) => Ok(reply),
                        // The key was taken first: that answer is this one.
                        Ok(Some(first)) => {
                            let hash = scoped.as_ref().map_or("", |(_, h)| h.as_str());
                            return answer(first, hash);
                        }
                        Err(e) => Err(e),
                    }
                }
                Err(e) => Err(e),
            };
            match result {
                Err(AppError::Busy) if attempt < ATTEMPTS => continue,
                Err(e) => {
                    return match &scoped {
                        Some((scope, hash)) => {
                            settle_failure(app, scope, hash, now, e, record).await
                        }
                        None => Err(e),
                    };
                }
                Ok(reply) => return Ok(reply),
            }
        }
        Err(AppError::Busy)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use khamsa_app::memory::{FixedClock, InMemory, MemoryMailer, MemoryStore};
    use khamsa_domain::{Config, DomainError};
    use std::sync::Arc;

    const NOW: Timestamp = Timestamp(1_800_000_000_000);
    const SCOPE: &str = "buyer\u{1f}POST\u{1f}/orders\u{1f}k1";

    fn app() -> App {
        InMemory::new(
            Arc::new(MemoryStore::new()),
            Arc::new(FixedClock::new(NOW)),
            Arc::new(MemoryMailer::new()),
            Config::default(),
            "http://test",
        )
        .app
    }

    fn record(hash: &str) -> impl Fn(&Reply) -> Option<IdempotencyRecord> {
        let hash = hash.to_owned();
        move |reply: &Reply| {
            Some(IdempotencyRecord {
                scope: SCOPE.into(),
                request_hash: hash.clone(),
                status: reply.status,
                body: reply.body.clone(),
                created_at: NOW,
                expires_at: NOW.plus_ms(DAY_MS),
            })
        }
    }

    /// The first request's answer, committed as `mutate` commits it.
    async fn first_answers(app: &App, reply: &Reply) {
        let uow = UnitOfWork {
            idempotency: record("h")(reply),
            ..Default::default()
        };
        app.commit(uow, None).await.expect("the first commit");
    }

    fn created() -> Reply {
        Reply {
            status: 201,
            body: r#"{"id":"ord_1"}"#.into(),
        }
    }

    #[tokio::test]
    async fn a_duplicate_that_lost_the_race_gets_the_first_answer() {
        let app = app();
        first_answers(&app, &created()).await;
        // Its own commit met the key's condition...
        let r = settle_failure(
            &app,
            SCOPE,
            "h",
            NOW,
            AppError::IdempotencyInProgress,
            record("h"),
        )
        .await;
        assert_eq!(r.unwrap(), created());
        // ...or it decided on the state the first one left.
        let r = settle_failure(
            &app,
            SCOPE,
            "h",
            NOW,
            AppError::Domain(DomainError::InsufficientFunds),
            record("h"),
        )
        .await;
        assert_eq!(r.unwrap(), created());
        // The same key with another body is still a reuse.
        let r = settle_failure(&app, SCOPE, "other", NOW, AppError::Busy, record("other")).await;
        assert!(matches!(r, Err(AppError::IdempotencyKeyReused)), "{r:?}");
    }

    #[tokio::test]
    async fn with_no_first_answer_a_refusal_is_kept_and_in_progress_stays_409() {
        let app = app();
        let r = settle_failure(
            &app,
            SCOPE,
            "h",
            NOW,
            AppError::IdempotencyInProgress,
            record("h"),
        )
        .await;
        assert!(matches!(r, Err(AppError::IdempotencyInProgress)), "{r:?}");
        assert!(app.store.idempotency(SCOPE, NOW).await.unwrap().is_none());

        let refusal = AppError::Domain(DomainError::InsufficientFunds);
        let r = settle_failure(&app, SCOPE, "h", NOW, refusal, record("h")).await;
        assert!(matches!(r, Err(AppError::Domain(_))), "{r:?}");
        let kept = app.store.idempotency(SCOPE, NOW).await.unwrap().unwrap();
        assert_eq!(kept.status, 409);
        // A later duplicate gets that refusal, not its own outcome.
        let r = settle_failure(&app, SCOPE, "h", NOW, AppError::Busy, record("h")).await;
        assert_eq!(r.unwrap().status, 409);
    }
}
