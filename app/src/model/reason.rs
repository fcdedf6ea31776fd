//! Free text people type for others to read: a reason, a purpose.

use crate::error::{ApiError, FieldProblem};
use crate::requests::field;

/// Why someone did something (denied, revoked, asked for more time, deleted), as they typed it: trimmed, and
/// free of what would make it read differently from what it holds. The audit log and the notices show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reason(String);

impl Reason {
    /// The longest reason accepted, in characters: the forms' `maxlength` and the server's check alike.
    pub const MAX_CHARS: usize = 1_000;

    /// The reason in `typed`, or the problem with it, reported on the form's `reason` field; `when_empty`
    /// tells the person why one is needed.
    pub fn parse(typed: &str, when_empty: &str) -> Result<Self, ApiError> {
        let mut problems = Vec::new();
        Self::parse_into(typed, when_empty, &mut problems).ok_or(ApiError::Invalid(problems))
    }

    /// As [`Reason::parse`], for a form checked whole: the problem joins `problems` instead of being returned.
    pub fn parse_into(typed: &str, when_empty: &str, problems: &mut Vec<FieldProblem>) -> Option<Self> {
        let reason = typed.trim();
        match text_problem(reason, Self::MAX_CHARS, when_empty) {
            Some(message) => {
                problems.push(FieldProblem::new(field::REASON, message));
                None
            }
            None => Some(Self(reason.to_string())),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Why free text (a purpose, a reason) is not acceptable: missing, too long, holding control characters (a
/// NUL cannot even be stored in PostgreSQL), or invisible formatting characters that make text read
/// differently from what it holds (a bidi override turning "approve" around for the approver, a zero-width
/// space hiding a word from a search). Line breaks and tabs are fine.
pub fn text_problem(text: &str, max_chars: usize, when_empty: &str) -> Option<String> {
    let length = text.chars().count();
    if text.is_empty() {
        Some(when_empty.to_string())
    } else if length > max_chars {
        Some(format!("At most {max_chars} characters; this has {length}."))
    } else if text.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')) {
        Some("Remove the control characters (invisible characters other than line breaks and tabs).".to_string())
    } else {
        text.chars().find(|c| is_invisible_format(*c)).map(|hidden| {
            format!(
                "Remove the invisible character U+{:04X} (a direction override or a zero-width character): it \
                 makes the text read differently from what it says.",
                u32::from(hidden)
            )
        })
    }
}

/// Unicode's invisible formatting characters that change how text reads: the bidirectional embeddings,
/// overrides, isolates and marks, and the zero-width characters (space, joiners, word joiner, byte-order mark,
/// soft hyphen, Mongolian vowel separator).
fn is_invisible_format(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{061C}' | '\u{180E}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reason_is_trimmed_and_held_to_one_limit() {
        assert_eq!(Reason::parse("  too big \n", "Say why.").unwrap().as_str(), "too big");
        assert_eq!(Reason::parse("   ", "Say why.").unwrap_err().problem_with(field::REASON), Some("Say why."));
        let long = "x".repeat(Reason::MAX_CHARS + 1);
        let error = Reason::parse(&long, "Say why.").unwrap_err();
        assert_eq!(error.problem_with(field::REASON), Some("At most 1000 characters; this has 1001."));
        assert!(Reason::parse(&"x".repeat(Reason::MAX_CHARS), "Say why.").is_ok());
    }

    #[test]
    fn text_that_reads_differently_from_what_it_holds_is_refused() {
        assert!(text_problem("approve\u{202E}evorppa", 100, "").is_some_and(|m| m.contains("U+202E")));
        assert!(text_problem("a\u{0}b", 100, "").is_some_and(|m| m.contains("control characters")));
        assert_eq!(text_problem("two\nlines\tand a tab", 100, ""), None);
    }
}
