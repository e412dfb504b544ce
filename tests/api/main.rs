//! End-to-end tests: each spawns the local server on a free port and
//! drives it over HTTP, the way a web client would.

mod authz;
mod bounds;
mod cancel;
mod emulators;
mod helpers;
mod lifecycle;
mod money;
mod openapi;
mod operators;
mod payouts;
mod requests;
mod reviews;
mod robustness;
mod services;
mod timers;
