//! An instant as it travels to an island: RFC 3339 text in UTC, to the millisecond, which is what chrono
//! writes for a `DateTime<Utc>` on the wire too. Islands show it without parsing it, so chrono's parser and
//! formatter stay out of the browser bundle.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

/// `2026-12-02T16:24:12.123Z`. The width is fixed, so the text sorts like the time.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Timestamp(String);

impl Timestamp {
    pub fn as_rfc3339(&self) -> &str {
        &self.0
    }

    /// `2026-12-02 16:24:12 UTC`: to the second, on one line.
    pub fn to_second(&self) -> String {
        match (self.0.get(..10), self.0.get(11..19)) {
            (Some(date), Some(time)) => format!("{date} {time} UTC"),
            _ => self.0.clone(),
        }
    }
}

impl From<DateTime<Utc>> for Timestamp {
    fn from(at: DateTime<Utc>) -> Self {
        Timestamp(at.to_rfc3339_opts(SecondsFormat::Millis, true))
    }
}

impl TryFrom<&Timestamp> for DateTime<Utc> {
    type Error = chrono::ParseError;

    fn try_from(at: &Timestamp) -> Result<Self, Self::Error> {
        DateTime::parse_from_rfc3339(&at.0).map(|at| at.with_timezone(&Utc))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn reads_to_the_second_and_round_trips_the_instant() {
        let at = Utc.with_ymd_and_hms(2026, 12, 2, 16, 24, 12).unwrap() + chrono::TimeDelta::milliseconds(123);
        let stamp = Timestamp::from(at);
        assert_eq!(stamp.as_rfc3339(), "2026-12-02T16:24:12.123Z");
        assert_eq!(stamp.to_second(), "2026-12-02 16:24:12 UTC");
        assert_eq!(DateTime::<Utc>::try_from(&stamp).unwrap(), at);
        assert_eq!(serde_json::to_string(&stamp).unwrap(), serde_json::to_string(&at).unwrap(), "same wire form");
    }

    #[test]
    fn sorts_like_the_time() {
        let early = Timestamp::from(Utc.with_ymd_and_hms(2026, 1, 9, 23, 0, 0).unwrap());
        let late = Timestamp::from(Utc.with_ymd_and_hms(2026, 1, 10, 1, 0, 0).unwrap());
        assert!(early < late);
    }
}
