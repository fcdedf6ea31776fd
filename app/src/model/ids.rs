//! The ids of Berth's records as they arrive in URLs and forms: parsed once, so that text which cannot be an
//! id is "not found" at the edge and never reaches the database.

use crate::error::ApiError;

/// A request's id: a UUID in its hyphenated form, as Berth makes them.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RequestId(String);

/// A kubeconfig's (credential's) id: a UUID in its hyphenated form.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CredentialId(String);

macro_rules! uuid_id {
    ($name:ident) => {
        impl $name {
            /// The id in `text`; anything else cannot exist, which is what the caller is told
            /// ([`ApiError::NotFound`], the same as an id nobody holds).
            pub fn parse(text: &str) -> Result<Self, ApiError> {
                if is_hyphenated_uuid(text) { Ok(Self(text.to_string())) } else { Err(ApiError::NotFound) }
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

/// A person's id (`users.id`): a UUID in its hyphenated form.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PersonId(String);

/// A robot's id: a UUID in its hyphenated form.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RobotId(String);

uuid_id!(RequestId);
uuid_id!(CredentialId);
uuid_id!(PersonId);
uuid_id!(RobotId);

/// `8-4-4-4-12` hexadecimal digits.
fn is_hyphenated_uuid(text: &str) -> bool {
    let groups: Vec<&str> = text.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(group, len)| group.len() == len && group.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_hyphenated_uuid_is_an_id() {
        let id = "7f1d4a52-0000-4000-8000-000000000001";
        assert_eq!(RequestId::parse(id).unwrap().as_str(), id);
        assert_eq!(CredentialId::parse(id).unwrap().to_string(), id);
        for not in [
            "",
            "42",
            "7f1d4a52000040008000000000000001",
            "7f1d4a52-0000-4000-8000-00000000000g",
            "../etc",
            "7f1d4a52-0000-4000-8000-0000000000011",
        ] {
            assert_eq!(RequestId::parse(not), Err(ApiError::NotFound), "{not:?}");
        }
    }
}
