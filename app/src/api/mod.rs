//! Server functions: Berth's API, one module per use case. Each checks the caller's role on the server first
//! (`crate::auth::require`) and delegates to a port.

pub mod access;
pub mod admin;
pub mod credentials;
pub mod requests;
pub mod server_info;
pub mod session;
pub mod users;
