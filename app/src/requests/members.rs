//! The people and robots of a grant besides its owner: members the owner added, who see the grant, download
//! their own kubeconfigs and ask for changes; and robots, named identities for CI systems that belong to the
//! grant rather than to a person. Each member and robot has an identity of its own in the cluster, so the API
//! server's audit log names who acted.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A member of a grant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberSummary {
    /// Berth's id of the person (`users.id`).
    pub person_id: String,
    pub display_name: String,
    pub email: Option<String>,
    /// Who added them; `None` for the grant's owner (its requester).
    pub added_by: Option<String>,
    pub added_at: DateTime<Utc>,
}

/// A robot of a grant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RobotSummary {
    pub id: String,
    pub name: String,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    /// How the API server names it (`system:serviceaccount:…`), which `kubectl auth whoami` shows.
    pub username: String,
    /// Its API tokens, newest first (revoked and expired ones too, for the record).
    pub tokens: Vec<ApiTokenSummary>,
}

/// A robot's token for Berth's machine API (`/api/v1`): its metadata; the token itself is shown once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiTokenSummary {
    pub id: String,
    pub name: String,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// Who has access to a grant, for its page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantMembers {
    /// The owning team: everyone in this group (at their sign-in) is a member.
    #[serde(default)]
    pub team: Option<String>,
    /// The owner first, then the members the owner added, oldest first.
    pub members: Vec<MemberSummary>,
    /// Robots that are not removed, by name.
    pub robots: Vec<RobotSummary>,
}

/// The form fields, named as the server functions' arguments.
pub mod field {
    pub const EMAIL: &str = "email";
    pub const ROBOT_NAME: &str = "name";
}

/// A robot's name: a short lower-case label, like a CI kubeconfig's name, since it is part of the robot's
/// ServiceAccount's name.
pub fn robot_name_problem(name: &str) -> Option<String> {
    super::credentials::name_problem(name)
}

/// An email address as typed: something@somewhere, nothing more is known before the server looks it up.
pub fn email_problem(email: &str) -> Option<String> {
    match email.split_once('@') {
        _ if email.is_empty() => Some("Enter the email address the person signs in with.".to_string()),
        _ if email.chars().count() > 254 => Some("At most 254 characters.".to_string()),
        Some((local, domain)) if !local.is_empty() && !domain.is_empty() && !email.contains(char::is_whitespace) => {
            None
        }
        _ => Some(format!("'{email}' is not an email address.")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn robot_names_are_short_lower_case_labels() {
        assert_eq!(robot_name_problem("jenkins-prod"), None);
        assert!(robot_name_problem("").unwrap().contains("jenkins-prod"));
        assert!(robot_name_problem("Jenkins").unwrap().contains("'J' is not allowed"));
        assert!(robot_name_problem("a.b").unwrap().contains("'.' is not allowed"));
    }

    #[test]
    fn an_email_needs_a_local_part_and_a_domain() {
        assert_eq!(email_problem("dave@example.com"), None);
        assert!(email_problem("").unwrap().contains("Enter"));
        assert!(email_problem("dave").unwrap().contains("not an email"));
        assert!(email_problem("@example.com").unwrap().contains("not an email"));
        assert!(email_problem("da ve@example.com").unwrap().contains("not an email"));
    }
}
