//! Berth's domain values, parsed once at the edge and passed on as types rather than as loose text and
//! numbers: the rules about them (a reason's length, a lifetime's range) live here and nowhere else, and the
//! UI and the server read the same ones.

mod ids;
mod namespace;
mod reason;
mod timestamp;

pub use ids::{CredentialId, PersonId, RequestId, RobotId};
pub use namespace::NamespaceName;
pub use reason::{Reason, text_problem};
pub use timestamp::Timestamp;

use serde::{Deserialize, Serialize};

/// A range a person chooses a whole number in, with the value offered first: a request's lifetime in days, a
/// kubeconfig's in hours. (The unit is in the name of the field that holds it.) The same type in the
/// configuration, on the wire and in the forms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bounds {
    pub min: u32,
    pub max: u32,
    pub default: u32,
}

impl Bounds {
    pub const fn new(min: u32, max: u32, default: u32) -> Self {
        Self { min, max, default }
    }

    pub fn contains(&self, value: u32) -> bool {
        (self.min..=self.max).contains(&value)
    }

    /// The bounds as an HTML attribute's value, `"min max default"`, for an island to read back.
    pub fn to_attribute(&self) -> String {
        format!("{} {} {}", self.min, self.max, self.default)
    }

    /// Reads [`Bounds::to_attribute`]'s form.
    pub fn from_attribute(text: &str) -> Option<Self> {
        let mut numbers = text.split_whitespace().map(str::parse::<u32>);
        let bounds = Self::new(numbers.next()?.ok()?, numbers.next()?.ok()?, numbers.next()?.ok()?);
        numbers.next().is_none().then_some(bounds)
    }

    /// Whether the bounds make sense: `min <= default <= max`, and `min` at least 1.
    pub fn is_ordered(&self) -> bool {
        self.min >= 1 && self.min <= self.default && self.default <= self.max
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_survive_an_html_attribute() {
        let bounds = Bounds::new(1, 720, 8);
        assert_eq!(Bounds::from_attribute(&bounds.to_attribute()), Some(bounds));
        for bad in ["", "1 2", "1 2 3 4", "1 x 3", "-1 2 3"] {
            assert_eq!(Bounds::from_attribute(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn bounds_contain_their_ends_and_nothing_outside() {
        let days = Bounds::new(1, 365, 90);
        assert!(days.contains(1) && days.contains(365) && days.contains(90));
        assert!(!days.contains(0) && !days.contains(366));
        assert!(days.is_ordered());
        assert!(!Bounds::new(0, 5, 1).is_ordered() && !Bounds::new(2, 5, 6).is_ordered());
    }
}
