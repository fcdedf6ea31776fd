//! A namespace's name as Berth accepted it for a request.

/// A name that passed every rule of a request's namespace: a DNS-1123 label, not a system namespace, not
/// Berth's own, nothing this installation reserves, its naming pattern if it has one. Only the server's
/// validation makes one (`server/src/workflow/validation.rs`), so holding one means the name was checked.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NamespaceName(String);

impl NamespaceName {
    /// For the validation that checked `name` against every rule (the installation's rules live there).
    pub fn checked(name: &str) -> Self {
        Self(name.to_string())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl std::fmt::Display for NamespaceName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl PartialEq<&str> for NamespaceName {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}
