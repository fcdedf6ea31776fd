//! Server functions: Berth's API, one module per use case. Each first passes the policy's gate for its use case
//! (`crate::auth::require`, by role alone), then delegates to a port, which asks the policy again about the
//! record it reads (`crate::policy`).

pub mod access;
pub mod admin;
pub mod credentials;
pub mod members;
pub mod requests;
pub mod server_info;
pub mod session;
pub mod users;
