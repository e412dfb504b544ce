//! End-to-end tests: each spawns the local server on a free port and
//! drives it over HTTP, the way a web client would.

mod authz;
mod authz_matrix;
mod bad_input;
mod bounds;
mod cancel;
mod disputes;
mod email_verified;
mod emulators;
mod files;
mod helpers;
mod idempotent_duplicates;
mod inbox;
mod lifecycle;
mod money;
mod more_emails;
mod names_and_refunds;
mod openapi;
mod operators;
mod payouts;
mod paypal;
mod requests;
mod reviews;
mod robustness;
mod search;
mod services;
mod stuck;
mod text_rules;
mod timers;
mod unsubscribe;
mod walkthrough;
