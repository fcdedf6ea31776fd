//! The pages behind sign-in and the use case each serves: one table for the navigation (which shows only what
//! the role may use) and for the server, which sends anonymous visitors of these pages to sign in first. The
//! role each needs is the policy's (`crate::policy`).

use crate::auth::Role;
use crate::policy::UseCase;

/// A section of the site: its path (and everything below it) serves `use_case`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Section {
    pub path: &'static str,
    pub label: &'static str,
    pub use_case: UseCase,
}

impl Section {
    /// The lowest role that may use it.
    pub const fn role(self) -> Role {
        self.use_case.min_role()
    }
}

/// In navigation order.
pub const SECTIONS: [Section; 7] = [
    Section { path: "/requests/new", label: "New request", use_case: UseCase::SubmitRequest },
    Section { path: "/requests", label: "My requests", use_case: UseCase::ListOwnRequests },
    Section { path: "/access", label: "My access", use_case: UseCase::ListOwnAccess },
    Section { path: "/approvals", label: "Approvals", use_case: UseCase::ListPending },
    Section { path: "/admin", label: "Admin", use_case: UseCase::ListGrants },
    Section { path: "/admin/audit", label: "Audit log", use_case: UseCase::ReadAudit },
    Section { path: "/admin/server", label: "Server", use_case: UseCase::ViewServerStatus },
];

/// The role a page at `path` needs, or `None` for public pages (home, sign-in problems, not found).
pub fn required_role(path: &str) -> Option<Role> {
    SECTIONS
        .iter()
        .filter(|section| {
            path == section.path
                || path.strip_prefix(section.path).is_some_and(|rest| rest.starts_with('/') || rest.starts_with('?'))
        })
        .map(|section| section.role())
        .max()
}

/// The sections someone with `role` may use.
pub fn sections_for(role: Role) -> impl Iterator<Item = Section> {
    SECTIONS.into_iter().filter(move |section| role.includes(section.role()))
}

/// Where the sign-in button starts: Berth's own route, which remembers the page to come back to.
pub fn sign_in_href(return_to: &str) -> String {
    format!("/auth/login?return_to={}", encode_query_value(return_to))
}

/// Percent-encodes everything but unreserved characters and `/`, which keeps paths readable.
fn encode_query_value(value: &str) -> String {
    value
        .bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => (byte as char).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_in_links_carry_the_page_with_its_query_encoded() {
        assert_eq!(sign_in_href("/requests"), "/auth/login?return_to=/requests");
        assert_eq!(sign_in_href("/admin?tab=users&x=1"), "/auth/login?return_to=/admin%3Ftab%3Dusers%26x%3D1");
        assert_eq!(sign_in_href("/a b#c"), "/auth/login?return_to=/a%20b%23c");
    }

    #[test]
    fn sections_and_everything_below_them_need_their_role() {
        assert_eq!(required_role("/requests"), Some(Role::Developer));
        assert_eq!(required_role("/requests/new"), Some(Role::Developer));
        assert_eq!(required_role("/requests/42"), Some(Role::Developer));
        assert_eq!(required_role("/approvals"), Some(Role::Approver));
        assert_eq!(required_role("/admin/users"), Some(Role::Admin));
        assert_eq!(required_role("/admin/audit/export.csv?kind=revoke"), Some(Role::Admin));
        assert_eq!(required_role("/access"), Some(Role::Developer));
        assert_eq!(required_role("/admin?tab=users"), Some(Role::Admin));
    }

    #[test]
    fn other_pages_are_public_and_prefixes_match_whole_segments_only() {
        for path in ["/", "/no-access", "/sign-in/failed", "/administrator", "/requestsx", "/nope"] {
            assert_eq!(required_role(path), None, "{path}");
        }
    }

    #[test]
    fn each_role_sees_its_sections_and_those_below() {
        let labels = |role| sections_for(role).map(|s| s.label).collect::<Vec<_>>();
        assert_eq!(labels(Role::Developer), ["New request", "My requests", "My access"]);
        assert_eq!(labels(Role::Approver), ["New request", "My requests", "My access", "Approvals"]);
        assert_eq!(
            labels(Role::Admin),
            ["New request", "My requests", "My access", "Approvals", "Admin", "Audit log", "Server"]
        );
    }
}
