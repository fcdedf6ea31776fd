//! Kubeconfigs handed out for a ready grant: the choices the download form offers, the metadata shown for
//! each one, and the rules for the form's fields, shared by the browser and the server.

use crate::model::Bounds;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Who will use the kubeconfig: the requester on their own machine, or a CI system such as Jenkins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CredentialPurpose {
    Personal,
    Ci,
}

impl CredentialPurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            CredentialPurpose::Personal => "personal",
            CredentialPurpose::Ci => "ci",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        [CredentialPurpose::Personal, CredentialPurpose::Ci].into_iter().find(|p| p.as_str() == name)
    }

    pub fn label(self) -> &'static str {
        match self {
            CredentialPurpose::Personal => "Personal",
            CredentialPurpose::Ci => "CI",
        }
    }
}

/// What the download form offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialOptions {
    /// Lifetimes in hours, per purpose.
    pub personal: Bounds,
    pub ci: Bounds,
}

impl CredentialOptions {
    pub fn bounds(&self, purpose: CredentialPurpose) -> Bounds {
        match purpose {
            CredentialPurpose::Personal => self.personal,
            CredentialPurpose::Ci => self.ci,
        }
    }
}

/// What the download form says about what is typed in it: the same on the server's first render and in the
/// browser as the person types.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DownloadCheck {
    pub bounds: Bounds,
    pub name_problem: Option<String>,
    pub hours_problem: Option<String>,
    /// The lifetimes allowed, in words.
    pub hours_hint: String,
}

impl DownloadCheck {
    /// `name` matters only for a CI kubeconfig; `hours` is the lifetime field's text.
    pub fn of(options: &CredentialOptions, purpose: CredentialPurpose, name: &str, hours: &str) -> Self {
        let bounds = options.bounds(purpose);
        let name_problem = (purpose == CredentialPurpose::Ci).then(|| name_problem(name.trim())).flatten();
        let hours_problem = match hours.trim().parse::<u32>() {
            Ok(hours) if bounds.contains(hours) => None,
            _ => Some(format!("Between {} and {} hours ({}).", bounds.min, bounds.max, describe_hours(bounds.max))),
        };
        let hours_hint =
            format!("{} to {}; at most until the grant ends.", describe_hours(bounds.min), describe_hours(bounds.max));
        DownloadCheck { bounds, name_problem, hours_problem, hours_hint }
    }

    /// Whether the form may be sent as it is.
    pub fn is_ready(&self) -> bool {
        self.name_problem.is_none() && self.hours_problem.is_none()
    }
}

/// One kubeconfig handed out: its metadata (the token itself is never kept).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialSummary {
    pub id: String,
    pub purpose: CredentialPurpose,
    /// `personal`, or the robot's name (a CI kubeconfig is its robot's).
    pub name: String,
    /// Who downloaded it (`users.id`), which lets a member's page offer to revoke their own.
    pub owner_id: String,
    pub owner: String,
    /// The robot whose kubeconfig it is; `None`: the downloader's own.
    pub robot_id: Option<String>,
    pub issued_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// Who revoked it, and why (the owner sees both).
    pub revoked_by: Option<String>,
    pub revoke_reason: Option<String>,
}

/// The form fields of a download.
pub mod field {
    pub const PURPOSE: &str = "purpose";
    pub const NAME: &str = "name";
    pub const LIFETIME_HOURS: &str = "lifetime_hours";
}

/// At most this many characters in a CI credential's name (it becomes part of a Secret's name and a label).
pub const MAX_NAME_CHARS: usize = 40;

/// What is wrong with a CI credential's name (`jenkins-prod`), if anything: lower-case letters, digits and
/// '-', starting with a letter, at most [`MAX_NAME_CHARS`].
pub fn name_problem(name: &str) -> Option<String> {
    if name.is_empty() {
        return Some("Name the robot (the CI system) that will use it, such as jenkins-prod.".to_string());
    }
    let length = name.chars().count();
    if length > MAX_NAME_CHARS {
        return Some(format!("At most {MAX_NAME_CHARS} characters; this name has {length}."));
    }
    if let Some(bad) = name.chars().find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-')) {
        return Some(format!("'{bad}' is not allowed: use lower-case letters, digits and '-'."));
    }
    if !name.starts_with(|c: char| c.is_ascii_lowercase()) || name.ends_with('-') {
        return Some("Start with a letter and end with a letter or a digit.".to_string());
    }
    None
}

/// "8 hours", "3 days", "90 days": a lifetime in hours, as people say it.
pub fn describe_hours(hours: u32) -> String {
    match hours {
        1 => "1 hour".to_string(),
        h if h % 24 == 0 && h >= 48 => format!("{} days", h / 24),
        24 => "1 day".to_string(),
        h => format!("{h} hours"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_download_form_checks_the_name_for_ci_only_and_the_hours_against_the_purpose() {
        let options = CredentialOptions { personal: Bounds::new(1, 24, 8), ci: Bounds::new(1, 720, 168) };
        let personal = DownloadCheck::of(&options, CredentialPurpose::Personal, "", "8");
        assert!(personal.is_ready(), "{personal:?}");
        assert_eq!(personal.hours_hint, "1 hour to 1 day; at most until the grant ends.");
        let too_long = DownloadCheck::of(&options, CredentialPurpose::Personal, "", "48");
        assert_eq!(too_long.hours_problem.as_deref(), Some("Between 1 and 24 hours (1 day)."));
        let unnamed_ci = DownloadCheck::of(&options, CredentialPurpose::Ci, " ", "48");
        assert!(unnamed_ci.name_problem.is_some() && unnamed_ci.hours_problem.is_none(), "{unnamed_ci:?}");
        assert!(DownloadCheck::of(&options, CredentialPurpose::Ci, "jenkins-prod", "48").is_ready());
        assert!(!DownloadCheck::of(&options, CredentialPurpose::Ci, "jenkins-prod", "many").is_ready());
    }

    #[test]
    fn ci_names_are_short_lower_case_labels() {
        assert_eq!(name_problem("jenkins-prod"), None);
        assert_eq!(name_problem("gitlab2"), None);
        assert!(name_problem("").unwrap().contains("jenkins-prod"));
        assert!(name_problem("Jenkins").unwrap().contains("'J' is not allowed"));
        assert!(name_problem("jenkins prod").unwrap().contains("' ' is not allowed"));
        assert!(name_problem("2jenkins").unwrap().contains("Start with a letter"));
        assert!(name_problem("jenkins-").unwrap().contains("end with a letter"));
        assert_eq!(name_problem(&"a".repeat(41)).unwrap(), "At most 40 characters; this name has 41.");
        assert!(name_problem("<script>").unwrap().contains("'<'"));
    }

    #[test]
    fn lifetimes_read_as_people_say_them() {
        assert_eq!(describe_hours(1), "1 hour");
        assert_eq!(describe_hours(8), "8 hours");
        assert_eq!(describe_hours(24), "1 day");
        assert_eq!(describe_hours(36), "36 hours");
        assert_eq!(describe_hours(2160), "90 days");
    }

    #[test]
    fn purposes_round_trip_through_their_names() {
        for purpose in [CredentialPurpose::Personal, CredentialPurpose::Ci] {
            assert_eq!(CredentialPurpose::parse(purpose.as_str()), Some(purpose));
        }
        assert_eq!(CredentialPurpose::parse("admin"), None);
    }
}
