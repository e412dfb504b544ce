//! Khamsa's application layer: use cases over ports, the in-memory
//! adapters and the emails. HTTP is `khamsa-http`'s. Dependencies point
//! inward: this crate uses the domain; nothing here is imported by it.

pub mod app;
pub mod caller;
pub mod emails;
pub mod error;
pub mod ids;
pub mod memory;
pub mod metrics;
pub mod ports;
pub mod totals;
pub mod unsubscribe;
pub mod usecases;

pub use app::{App, Outcome, Ports};
pub use caller::Caller;
pub use error::{AppError, AppResult};
