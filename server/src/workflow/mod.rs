//! The workflow: implements the app's ports on top of the store, the cluster and the notifier, and holds
//! every rule about who may do what to which request; and runs the background worker that reconciles grants
//! (provision, revoke, expire).

pub mod admin;
pub mod credentials;
pub mod drift;
pub mod leader;
pub mod members;
pub mod requests;
pub mod validation;
pub mod worker;
