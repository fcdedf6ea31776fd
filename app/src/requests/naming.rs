//! The rules every namespace name must pass, whoever runs them: the browser (for an instant answer while
//! typing) and the server (which decides). Rules that need the configuration or the cluster (an extra
//! reserved list, a naming policy, names already taken) are the server's alone.

/// Kubernetes namespace names are DNS-1123 labels: at most 63 characters.
pub const MAX_NAME_LENGTH: usize = 63;

/// Names Kubernetes itself uses.
const RESERVED_NAMES: [&str; 1] = ["default"];
/// Prefixes of namespaces that belong to the platform (Kubernetes, OpenShift).
const RESERVED_PREFIXES: [&str; 2] = ["kube-", "openshift-"];

/// Why `name` cannot be a namespace name, or `None` if it has the right shape and is not reserved by
/// Kubernetes. Each message says exactly what is wrong and how to fix it.
pub fn shape_problem(name: &str) -> Option<String> {
    label_problem(name).or_else(|| reservation(name))
}

/// Why `name` is not a DNS-1123 label (what Kubernetes requires of a namespace name), if it is not.
pub fn label_problem(name: &str) -> Option<String> {
    if name.is_empty() {
        return Some("Enter a name for the namespace.".to_string());
    }
    let length = name.chars().count();
    if length > MAX_NAME_LENGTH {
        return Some(format!("At most {MAX_NAME_LENGTH} characters; this name has {length}."));
    }
    if let Some(other) = name.chars().find(|c| !c.is_ascii()) {
        return Some(format!("Only the letters a-z, digits and '-' are allowed; '{other}' is not."));
    }
    if let Some(other) = name.chars().find(|c| !(c.is_ascii_alphanumeric() || *c == '-')) {
        return Some(format!("Only the letters a-z, digits and '-' are allowed; '{}' is not.", other.escape_default()));
    }
    // Only now, when lower-casing gives a valid name, is it worth suggesting.
    if name.chars().any(|c| c.is_ascii_uppercase()) {
        return Some(format!("Only lower-case letters are allowed: try '{}'.", name.to_ascii_lowercase()));
    }
    if name.starts_with('-') || name.ends_with('-') {
        return Some("The name must start and end with a letter or a digit, not '-'.".to_string());
    }
    None
}

/// Why `name` is Kubernetes' or the platform's own, if it is.
fn reservation(name: &str) -> Option<String> {
    if RESERVED_NAMES.contains(&name) {
        return Some(format!("'{name}' is reserved by Kubernetes."));
    }
    if let Some(prefix) = RESERVED_PREFIXES.iter().find(|prefix| name.starts_with(*prefix)) {
        return Some(format!("Names starting with '{prefix}' are reserved for the platform."));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn good_names_pass() {
        for name in ["team-a-ci", "a", "0", "x1-2-3", &"a".repeat(63)] {
            assert_eq!(shape_problem(name), None, "{name}");
        }
    }

    #[test]
    fn each_bad_name_gets_its_own_reason() {
        let cases = [
            ("", "Enter a name"),
            (&"a".repeat(64), "At most 63 characters; this name has 64."),
            ("Team-A", "Only lower-case letters are allowed: try 'team-a'."),
            ("équipe", "'é' is not"),
            ("team_a", "'_' is not"),
            ("team.a", "'.' is not"),
            ("team a", "' ' is not"),
            ("Team_A", "'_' is not"),
            ("-team", "start and end with a letter or a digit"),
            ("team-", "start and end with a letter or a digit"),
            ("default", "'default' is reserved by Kubernetes."),
            ("kube-system", "Names starting with 'kube-' are reserved"),
            ("kube-public", "Names starting with 'kube-' are reserved"),
            ("openshift-x", "Names starting with 'openshift-' are reserved"),
        ];
        for (name, expected) in cases {
            let problem = shape_problem(name).unwrap_or_else(|| panic!("{name:?} must be refused"));
            assert!(problem.contains(expected), "{name:?}: {problem}");
        }
    }

    #[test]
    fn control_characters_are_named_visibly() {
        assert!(shape_problem("a\nb").is_some_and(|p| p.contains("'\\n'")));
    }

    #[test]
    fn the_length_counts_characters_not_bytes() {
        // 63 non-ASCII characters are refused for being non-ASCII, not for their 126 bytes.
        assert!(shape_problem(&"é".repeat(63)).is_some_and(|p| p.contains("'é' is not")));
    }
}
