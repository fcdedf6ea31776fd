//! One module per route.

pub mod admin;
pub mod home;
pub mod not_found;
pub mod placeholder;
pub mod sign_in;
