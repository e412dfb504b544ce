//! Applying due timers: auto-cancel, auto-complete, the reminder and
//! clearing. Deliveries are at-least-once, so each firing re-reads the
//! order and acts only if the order is still where the timer expects it.

use super::decision_uow;
use crate::app::App;
use crate::error::{AppError, AppResult};
use crate::ports::{TimerClear, UnitOfWork};
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
            let (_, mut uow) = decision_uow(d, timer.due);
            uow.timers_cleared.push(this);
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

/// Fires every timer due by `until`, earliest first, each as of its own due
/// time, including the ones those firings set (auto-complete, then
/// clearing, in one call). Returns how many were applied.
pub async fn fire_due(app: &App, until: Timestamp) -> AppResult<usize> {
    let mut applied = 0;
    // A bound, so that a timer that keeps failing cannot spin forever.
    for _ in 0..100_000 {
        let Some(timer) = app.store.due_timers(until, 1).await?.into_iter().next() else {
            // Top-ups expire with the timers (issue 8; see `topups`).
            super::topups::expire_due(app, until).await?;
            return Ok(applied);
        };
        if fire(app, &timer).await? == Fired::Applied {
            applied += 1;
        }
    }
    Ok(applied)
}
