//! From the identity provider's groups to Berth's role: a pure function of the configuration.

use app::auth::Role;

use crate::config::RoleGroups;

/// The highest role any of `groups` grants, or `None` (the person may sign in but sees "no access").
/// Group names compare exactly: providers treat them as case-sensitive identifiers.
pub fn role_for(mapping: &RoleGroups, groups: &[String]) -> Option<Role> {
    let granted = |configured: &[String]| groups.iter().any(|group| configured.contains(group));
    [(Role::Admin, &mapping.admin), (Role::Approver, &mapping.approver), (Role::Developer, &mapping.developer)]
        .into_iter()
        .find(|(_, configured)| granted(configured))
        .map(|(role, _)| role)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn groups(names: &[&str]) -> Vec<String> {
        names.iter().map(|n| n.to_string()).collect()
    }

    #[test]
    fn each_default_group_grants_its_role() {
        let mapping = RoleGroups::default();
        assert_eq!(role_for(&mapping, &groups(&["berth-developers"])), Some(Role::Developer));
        assert_eq!(role_for(&mapping, &groups(&["berth-approvers"])), Some(Role::Approver));
        assert_eq!(role_for(&mapping, &groups(&["berth-admins"])), Some(Role::Admin));
    }

    #[test]
    fn the_highest_granted_role_wins() {
        let mapping = RoleGroups::default();
        let many = groups(&["everyone", "berth-developers", "berth-admins", "berth-approvers"]);
        assert_eq!(role_for(&mapping, &many), Some(Role::Admin));
    }

    #[test]
    fn no_matching_group_means_no_role_and_names_match_exactly() {
        let mapping = RoleGroups::default();
        assert_eq!(role_for(&mapping, &groups(&[])), None);
        assert_eq!(role_for(&mapping, &groups(&["marketing"])), None);
        assert_eq!(role_for(&mapping, &groups(&["Berth-Admins", "berth-admins "])), None);
    }

    #[test]
    fn one_group_may_grant_several_roles_and_the_highest_counts() {
        let mapping = RoleGroups {
            developer: groups(&["eng"]),
            approver: groups(&["eng-leads"]),
            admin: groups(&["platform", "eng-leads"]),
        };
        assert_eq!(role_for(&mapping, &groups(&["eng-leads"])), Some(Role::Admin));
        assert_eq!(role_for(&mapping, &groups(&["eng"])), Some(Role::Developer));
    }
}
