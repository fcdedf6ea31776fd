//! Who is asking: the signed-in person and their role, as the pages and server functions see them.
//!
//! The server resolves the session on every request (`server/src/auth/session.rs`) and hands the result to the
//! app as a [`SessionView`] in the request's extensions. Server functions call [`require`] before anything
//! else, which asks `crate::policy`; the UI uses the same types to decide what to show, which is a courtesy
//! and never the check.

use serde::{Deserialize, Serialize};

/// Berth's roles, lowest first. Each includes everything the ones before it may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Requests namespaces and downloads kubeconfigs for their own grants.
    Developer,
    /// Also approves or denies the requests of others.
    Approver,
    /// Also sees every grant, revokes access and reads the audit log.
    Admin,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Developer, Role::Approver, Role::Admin];

    /// The name used in configuration, the database and the wire format.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Developer => "developer",
            Role::Approver => "approver",
            Role::Admin => "admin",
        }
    }

    /// The name shown to people.
    pub fn label(self) -> &'static str {
        match self {
            Role::Developer => "Developer",
            Role::Approver => "Approver",
            Role::Admin => "Admin",
        }
    }

    pub fn parse(name: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|role| role.as_str() == name)
    }

    /// Whether someone holding `self` may do what `needed` allows.
    pub fn includes(self, needed: Role) -> bool {
        self >= needed
    }
}

/// A signed-in person, as far as the UI needs to know.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Person {
    /// Berth's id of the person (`users.id`): not a secret, and not the provider's subject.
    pub id: String,
    pub display_name: String,
    pub email: Option<String>,
    /// The groups of their sign-in, which the decision policy's approvals are by.
    pub groups: Vec<String>,
}

/// The state of the current request's session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum SessionView {
    /// Nobody has signed in (or the session ended).
    Anonymous,
    /// Signed in, but none of the person's groups grants a Berth role.
    NoAccess(Person),
    /// Signed in with a role.
    SignedIn(Person, Role),
}

impl SessionView {
    pub fn role(&self) -> Option<Role> {
        match self {
            SessionView::SignedIn(_, role) => Some(*role),
            _ => None,
        }
    }

    pub fn may(&self, needed: Role) -> bool {
        self.role().is_some_and(|role| role.includes(needed))
    }
}

/// Who is calling a server function, once [`require`] has let them in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub person: Person,
    pub role: Role,
}

/// The current request's session, as the server resolved it. Absent only if the server forgot to resolve it,
/// which then counts as nobody signed in.
#[cfg(feature = "ssr")]
pub fn current_session() -> SessionView {
    leptos::prelude::use_context::<http::request::Parts>()
        .and_then(|parts| parts.extensions.get::<SessionView>().cloned())
        .unwrap_or(SessionView::Anonymous)
}

/// The gate at the top of every protected server function: the caller if the policy lets their role ask for
/// `use_case` at all; otherwise [`ApiError::SignInRequired`] (HTTP 401) or [`ApiError::Forbidden`] (HTTP 403).
/// What they may do to a particular record is decided once the workflow has read it (`crate::policy`).
///
/// [`ApiError::SignInRequired`]: crate::error::ApiError::SignInRequired
/// [`ApiError::Forbidden`]: crate::error::ApiError::Forbidden
#[cfg(feature = "ssr")]
pub fn require(use_case: crate::policy::UseCase) -> Result<Caller, crate::error::ApiError> {
    crate::policy::authorize(&current_session(), use_case).map_err(|refusal| crate::error::with_status(refusal.into()))
}

/// Sets the HTTP status of the page being rendered on the server (a no-op in the browser), so a page that
/// only explains why access is refused is not answered with 200.
pub fn set_page_status(status: u16) {
    #[cfg(feature = "ssr")]
    if let (Some(response), Ok(status)) =
        (leptos::prelude::use_context::<leptos_axum::ResponseOptions>(), http::StatusCode::from_u16(status))
    {
        response.set_status(status);
    }
    #[cfg(not(feature = "ssr"))]
    let _ = status;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_role_includes_the_ones_below_it_and_not_above() {
        assert!(Role::Admin.includes(Role::Approver) && Role::Admin.includes(Role::Developer));
        assert!(Role::Approver.includes(Role::Developer));
        assert!(!Role::Developer.includes(Role::Approver));
        assert!(!Role::Approver.includes(Role::Admin));
    }

    #[test]
    fn role_names_round_trip_and_unknown_names_are_rejected() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert_eq!(Role::parse("root"), None);
        assert_eq!(Role::parse("Admin"), None, "names are exact");
    }

    #[test]
    fn only_a_signed_in_role_may_do_anything() {
        let person = Person { id: "u1".into(), display_name: "Dave".into(), email: None, groups: Vec::new() };
        assert!(!SessionView::Anonymous.may(Role::Developer));
        assert!(!SessionView::NoAccess(person.clone()).may(Role::Developer));
        assert!(SessionView::SignedIn(person.clone(), Role::Developer).may(Role::Developer));
        assert!(!SessionView::SignedIn(person, Role::Developer).may(Role::Admin));
    }
}
