//! Views used by more than one page.

pub mod after_action;
pub mod credentials;
pub mod error_view;
pub mod forms;
pub mod grant_actions;
pub mod layout;
pub mod members;
pub mod requests;
pub mod session;
