//! Integration tests: the whole server on port 0 with a real SQLite database of its own per test.

// Test code: a panic is the failure report. (clippy.toml allows this in #[test] functions only, not helpers.)
#![allow(clippy::unwrap_used)]
// The tests compare what Berth recorded with the wall clock and wait for real components (the API server, the
// identity provider); the rule that time is read only through `berth_server::clock` is for the server.
#![allow(clippy::disallowed_methods)]

mod admin;
mod api;
mod binary;
mod cli;
mod cluster;
mod confinement;
mod deploy;
mod edge;
mod forged_tokens;
mod grants;
mod health;
mod helm;
mod members;
mod pages;
mod policy;
mod postgres;
mod provisioning;
mod replicas;
mod requests;
mod server_fn;
mod sign_in;
mod support;
mod upgrade;
