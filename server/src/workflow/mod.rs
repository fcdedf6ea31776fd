//! The workflow: implements the app's ports on top of the store, the cluster and the notifier, and holds
//! every rule about who may do what to which request; and runs the background worker that provisions
//! approved requests.

pub mod credentials;
pub mod provisioner;
pub mod requests;
pub mod validation;
