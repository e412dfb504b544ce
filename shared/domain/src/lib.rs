//! Khamsa's domain: the marketplace's rules as pure functions and types.
//!
//! Nothing here performs I/O or names an AWS type. Every rule of
//! product.md lives in exactly one module:
//! money and fees in `money`, the order lifecycle in `order`, the ledger in
//! `ledger`, services in `service`, reviews in `review`, the requests board
//! in `request`, top-ups in `topup`, withdrawals in `withdrawal`, the defaults in
//! `config`, contact-detail detection in `contact`.

pub mod config;
pub mod contact;
pub mod dispute;
pub mod error;
pub mod file;
pub mod ids;
pub mod ledger;
pub mod money;
pub mod notice;
pub mod order;
pub mod request;
pub mod review;
pub mod search;
pub mod service;
pub mod text;
pub mod time;
pub mod topup;
pub mod withdrawal;

pub use config::Config;
pub use error::{DomainError, DomainResult, ErrorKind};
pub use money::Money;
pub use time::Timestamp;
