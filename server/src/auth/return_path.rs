//! Where to send someone after they sign in: only a path on this site, never another site.
//!
//! The value arrives in a query parameter anyone can craft (`/auth/login?return_to=...`), so it is the classic
//! open-redirect hole. Accepted: an absolute path starting with a single `/`. Refused: anything a browser could
//! read as another host (`//evil.example`, `/\evil.example`, `https://...`), control characters and
//! backslashes anywhere, Berth's own `/auth/` routes (a loop), and very long values. Refused values fall back
//! to the start page rather than failing the sign-in.

/// A same-site path (with optional query) that is safe to put in a `Location` header.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ReturnPath(String);

const MAX_LENGTH: usize = 2048;

impl ReturnPath {
    /// The start page.
    pub fn home() -> Self {
        Self("/".to_string())
    }

    /// `Some` only for a safe same-site path.
    pub fn parse(raw: &str) -> Option<Self> {
        let bytes = raw.as_bytes();
        let safe = raw.len() <= MAX_LENGTH
            && bytes.first() == Some(&b'/')
            // "//host" and "/\host" are scheme-relative URLs to another host in browsers.
            && !matches!(bytes.get(1), Some(b'/' | b'\\'))
            && !raw.chars().any(|c| c.is_control() || c == '\\' || c.is_whitespace())
            && !raw.starts_with("/auth/")
            && raw != "/auth";
        safe.then(|| Self(raw.to_string()))
    }

    /// `raw` if safe, else the start page.
    pub fn parse_or_home(raw: Option<&str>) -> Self {
        raw.and_then(Self::parse).unwrap_or_else(Self::home)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_site_paths_are_kept_with_their_query() {
        for path in ["/", "/requests", "/requests/new?template=ci", "/admin?tab=users&page=2", "/a%2F%2Fb"] {
            assert_eq!(ReturnPath::parse(path).map(|p| p.0), Some(path.to_string()), "{path}");
        }
    }

    #[test]
    fn anything_that_could_leave_the_site_is_refused() {
        for hostile in [
            "https://evil.example/",
            "http:evil.example",
            "//evil.example",
            "//evil.example/requests",
            "/\\evil.example",
            "/\\/evil.example",
            "\\\\evil.example",
            "evil.example",
            "javascript:alert(1)",
            "/requests\r\nSet-Cookie: x=1",
            "/requests\t",
            "/ /evil.example",
            "",
            "/auth/login?return_to=/auth/login",
            "/auth/callback",
        ] {
            assert_eq!(ReturnPath::parse(hostile), None, "{hostile:?}");
        }
    }

    #[test]
    fn very_long_paths_are_refused_and_refusals_fall_back_to_the_start_page() {
        let long = format!("/{}", "a".repeat(MAX_LENGTH));
        assert_eq!(ReturnPath::parse(&long), None);
        assert_eq!(ReturnPath::parse_or_home(Some("//evil.example")), ReturnPath::home());
        assert_eq!(ReturnPath::parse_or_home(None).as_str(), "/");
    }
}
