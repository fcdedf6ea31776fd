//! Integration tests: the whole server on port 0 with a real SQLite database of its own per test.

mod binary;
mod health;
mod pages;
mod server_fn;
mod support;
