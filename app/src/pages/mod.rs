//! One module per route.

pub mod admin;
pub mod approvals;
pub mod audit;
pub mod home;
pub mod my_access;
pub mod my_requests;
pub mod new_request;
pub mod not_found;
pub mod request_detail;
pub mod server_status;
pub mod sign_in;
