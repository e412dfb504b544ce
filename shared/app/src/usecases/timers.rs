//! Applying due timers: auto-cancel, auto-complete, the reminder,
//! clearing, and the deletion of an ended order's files. Deliveries are
//! at-least-once, so each firing re-reads the order and acts only if the
//! order is still where the timer expects it.

use super::decision_uow;
use crate::app::App;
use crate::error::{AppError, AppResult};
use crate::metrics;
use crate::ports::{TimerClear, TimerFailure, UnitOfWork, Write};
use khamsa_domain::Timestamp;
use khamsa_domain::order::Timer;

/// What one firing did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fired {
    Applied,
    /// The order moved on, or this was a duplicate: nothing changed.
    Stale,
}

const ATTEMPTS: usize = 3;

/// A timer that failed this many firings at one due time is parked: out of
/// the due lists, counted in `TimersParked` (alarmed), kept for an
/// operator. Five matches SQS's receives before the dead-letter queue.
pub const TIMER_MAX_ATTEMPTS: u32 = 5;

/// How long a queued timer is left to its message before a sweep may queue
/// it again: past its due time, longer than SQS's 5 receives × the 180 s
/// visibility timeout.
pub const TIMER_LEASE_MS: i64 = 20 * 60 * 1000;

/// Counts a failed firing; parks the timer at [`TIMER_MAX_ATTEMPTS`].
/// Returns what the store did (`None` if it could not say).
pub async fn record_failure(app: &App, timer: &Timer, error: &AppError) -> Option<TimerFailure> {
    match app.store.timer_failed(timer, TIMER_MAX_ATTEMPTS).await {
        Ok(f @ TimerFailure::Parked { attempts }) => {
            tracing::error!(
                order = %timer.order_id, timer = %timer.kind, attempts, error = %error,
                "timer parked"
            );
            metrics::emit(&metrics::Event::TimerParked, app.now().millis());
            Some(f)
        }
        Ok(f @ TimerFailure::Retry { attempts }) => {
            tracing::warn!(
                order = %timer.order_id, timer = %timer.kind, attempts, error = %error,
                "timer failed; will retry"
            );
            Some(f)
        }
        Ok(f @ TimerFailure::Gone) => Some(f),
        Err(e) => {
            tracing::error!(order = %timer.order_id, error = %e, "cannot count a timer failure");
            None
        }
    }
}

/// Applies one timer as of its own due time.
pub async fn fire(app: &App, timer: &Timer) -> AppResult<Fired> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        match fire_once(app, timer).await {
            Err(AppError::Busy) if attempt < ATTEMPTS => continue,
            other => return other,
        }
    }
}

async fn fire_once(app: &App, timer: &Timer) -> AppResult<Fired> {
    let this = TimerClear {
        order_id: timer.order_id.clone(),
        kind: timer.kind,
        only_if_due: Some(timer.due),
    };
    let order = app.store.order(&timer.order_id).await?;
    let decision = match &order {
        Some(o) => o.fire_timer(timer.kind, timer.due, &app.cfg)?,
        None => None,
    };
    match decision {
        Some(d) => {
            let delete_files = d.delete_files;
            let (_, mut uow) = decision_uow(d, timer.due);
            uow.timers_cleared.push(this);
            if delete_files {
                let marks = delete_files_of(app, &timer.order_id, timer.due).await?;
                uow.writes.extend(marks);
            }
            app.commit(uow, None).await?;
            tracing::info!(order = %timer.order_id, timer = %timer.kind, "timer applied");
            Ok(Fired::Applied)
        }
        None => {
            // Drop the row only if it was not re-armed meanwhile.
            app.commit(
                UnitOfWork {
                    timers_cleared: vec![this],
                    ..Default::default()
                },
                None,
            )
            .await?;
            Ok(Fired::Stale)
        }
    }
}

/// File records marked expired per unit of work beside the order's own
/// writes: DynamoDB takes 100 items in one transaction.
const FILE_MARKS_PER_COMMIT: usize = 80;

/// Deletes every object of the order's files (a missing one is fine), then
/// returns the writes that mark their records expired as of `at`, for the
/// unit of work that marks the order. An order with more files than one
/// transaction holds has the rest marked first, in commits of their own: a
/// failure part-way leaves the timer to retry, which deletes again (a
/// no-op) and marks what is left. A delete that fails is the firing's
/// error, so the timer is retried and nothing is marked.
async fn delete_files_of(
    app: &App,
    order: &khamsa_domain::ids::OrderId,
    at: Timestamp,
) -> AppResult<Vec<Write>> {
    let files = app.store.files(order).await?;
    for f in &files {
        app.files.delete(&f.key()).await?;
    }
    let mut marks: Vec<Write> = files
        .into_iter()
        .filter(|f| f.expired_at.is_none())
        .map(|mut f| {
            f.expired_at = Some(at);
            Write::File(f)
        })
        .collect();
    while marks.len() > FILE_MARKS_PER_COMMIT {
        let rest = marks.split_off(FILE_MARKS_PER_COMMIT);
        let uow = UnitOfWork {
            writes: std::mem::replace(&mut marks, rest),
            ..Default::default()
        };
        app.commit(uow, None).await?;
    }
    tracing::info!(order = %order, files = marks.len(), "files of an ended order deleted");
    Ok(marks)
}

/// Fires every timer due by `until`, earliest first, each as of its own due
/// time, including the ones those firings set (auto-complete, then
/// clearing, in one call). Returns how many were applied. A timer that
/// fails is counted (and parked after [`TIMER_MAX_ATTEMPTS`] ticks) and
/// skipped for the rest of this tick: it never holds up the others.
pub async fn fire_due(app: &App, until: Timestamp) -> AppResult<usize> {
    let mut applied = 0;
    let mut failed: Vec<Timer> = Vec::new();
    // A bound, so that a timer that keeps re-arming cannot spin forever.
    for _ in 0..100_000 {
        let due = app.store.due_timers(until, failed.len() + 1).await?;
        let Some(timer) = due.into_iter().find(|t| !failed.contains(t)) else {
            // Top-ups expire with the timers (issue 8; see `topups`).
            super::topups::expire_due(app, until).await?;
            return Ok(applied);
        };
        match fire(app, &timer).await {
            Ok(Fired::Applied) => applied += 1,
            Ok(Fired::Stale) => {}
            Err(e) => {
                record_failure(app, &timer, &e).await;
                failed.push(timer);
            }
        }
    }
    Ok(applied)
}
