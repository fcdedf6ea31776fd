//! `[[federation.trust]]`: workload identity federation. A CI system that issues OIDC tokens for its jobs
//! (Jenkins with the OpenID Connect provider plugin, GitLab CI's `id_tokens`, GitHub Actions) exchanges such a
//! token for a short-lived Berth token that acts as one robot of one grant, under a rule the platform team
//! wrote: which issuer, which audience, which subjects. No secret is stored in the CI system.

use serde::{Deserialize, Serialize};
use url::Url;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FederationConfig {
    pub trust: Vec<TrustRule>,
}

/// One trust rule: tokens from `issuer` for `audience` whose subject matches `subject` act as robot `robot`
/// of the grant of `namespace`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustRule {
    /// Named in the audit log (`GitLab deploy of shop`).
    pub name: String,
    /// The CI system's issuer, exactly as its tokens' `iss` spell it; its keys are read from
    /// `/.well-known/openid-configuration` below it. https, except on loopback.
    pub issuer: String,
    /// What the token's `aud` must contain (set it in the CI job: `id_tokens: BERTH: aud: ...`).
    pub audience: String,
    /// The token's `sub`: exactly this, or, ending in `*`, anything that starts with what comes before it
    /// (`project_path:shop/deploy:ref_type:branch:ref:*`).
    pub subject: String,
    /// The grant (by its namespace) and the robot of it that the exchanged token acts as.
    pub namespace: String,
    pub robot: String,
    /// How long the exchanged token lasts, in minutes (at most 60).
    #[serde(default = "default_token_minutes")]
    pub token_minutes: u32,
}

fn default_token_minutes() -> u32 {
    15
}

impl TrustRule {
    /// Whether `subject` is one this rule trusts.
    pub fn subject_matches(&self, subject: &str) -> bool {
        match self.subject.strip_suffix('*') {
            Some(prefix) => subject.starts_with(prefix),
            None => subject == self.subject,
        }
    }
}

/// What is wrong with the rules, each named by its position and key.
pub fn problems(config: &FederationConfig) -> Vec<String> {
    let mut problems = Vec::new();
    for (index, rule) in config.trust.iter().enumerate() {
        let at = format!("federation.trust[{index}]");
        if rule.name.trim().is_empty() {
            problems.push(format!("  - {at}.name: must not be empty"));
        }
        match Url::parse(&rule.issuer) {
            Ok(url) if url.scheme() == "https" => {}
            Ok(url) if url.scheme() == "http" && super::is_loopback(&url) => {}
            _ => problems.push(format!("  - {at}.issuer: {:?} must be an https URL", rule.issuer)),
        }
        if rule.audience.trim().is_empty() {
            problems.push(format!("  - {at}.audience: must not be empty (a token for anyone is not for Berth)"));
        }
        if rule.subject.trim().is_empty() || rule.subject == "*" {
            problems.push(format!("  - {at}.subject: name the subjects (a lone * would trust every job)"));
        }
        if rule.namespace.trim().is_empty() || rule.robot.trim().is_empty() {
            problems.push(format!("  - {at}: namespace and robot must name the robot the token acts as"));
        }
        if !(1..=60).contains(&rule.token_minutes) {
            problems.push(format!("  - {at}.token_minutes: between 1 and 60"));
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(subject: &str) -> TrustRule {
        TrustRule {
            name: "gitlab".into(),
            issuer: "https://gitlab.example.com".into(),
            audience: "berth".into(),
            subject: subject.into(),
            namespace: "shop".into(),
            robot: "deployer".into(),
            token_minutes: 15,
        }
    }

    #[test]
    fn a_subject_matches_exactly_or_by_the_prefix_before_a_trailing_star() {
        assert!(rule("repo:shop:ref:main").subject_matches("repo:shop:ref:main"));
        assert!(!rule("repo:shop:ref:main").subject_matches("repo:shop:ref:main2"));
        assert!(rule("repo:shop:ref:*").subject_matches("repo:shop:ref:feature"));
        assert!(!rule("repo:shop:ref:*").subject_matches("repo:other:ref:main"));
    }

    #[test]
    fn rules_that_would_trust_too_much_are_refused() {
        let config = FederationConfig {
            trust: vec![
                TrustRule { subject: "*".into(), ..rule("x") },
                TrustRule { issuer: "http://ci.example.com".into(), audience: " ".into(), ..rule("x") },
            ],
        };
        let found = problems(&config).join("\n");
        assert!(found.contains("trust[0].subject"), "{found}");
        assert!(found.contains("trust[1].issuer") && found.contains("trust[1].audience"), "{found}");
        assert!(problems(&FederationConfig { trust: vec![rule("repo:*")] }).is_empty());
    }
}
