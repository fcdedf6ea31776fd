//! The built site's files: the bundle (script, WASM, stylesheet) under `/pkg` and the public assets, served
//! from the files `scripts/finish-site.mjs` prepared: the brotli or gzip copy the browser accepts (with the
//! matching `Content-Encoding`), a year of caching for the names that carry a content hash (a new build is a
//! new name), and revalidation for the rest. Pages and API answers are compressed as they are sent, except
//! kubeconfigs.

use std::path::{Path, PathBuf};

use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use tower_http::compression::CompressionLayer;
use tower_http::compression::predicate::{DefaultPredicate, NotForContentType, Predicate};
use tower_http::services::ServeDir;

/// The bundle's names in the built site, from `pkg/hash.txt`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuiltSite {
    /// `pkg/hash.txt`, when the build wrote one (the release build does; `cargo leptos watch` does not).
    pub hash_file: Option<PathBuf>,
    /// Where pages link the stylesheet.
    pub assets: app::SiteAssets,
}

impl BuiltSite {
    pub fn read(site_root: &Path) -> Self {
        let pkg = site_root.join("pkg");
        let hash_file = pkg.join("hash.txt");
        let unhashed = BuiltSite { hash_file: None, assets: app::SiteAssets::default() };
        // `cargo leptos watch` rebuilds the plain names and leaves a release build's hashed copies behind:
        // a bundle newer than the hash file means the hashed names are stale.
        let modified = |path: &Path| std::fs::metadata(path).and_then(|m| m.modified()).ok();
        let wasm = pkg.join(format!("{}.wasm", app::BUNDLE_NAME));
        if let (Some(bundle), Some(hashed)) = (modified(&wasm), modified(&hash_file))
            && bundle > hashed
        {
            tracing::warn!(bundle = %wasm.display(), "the bundle is newer than pkg/hash.txt: serving its plain names");
            return unhashed;
        }
        let Ok(hashes) = std::fs::read_to_string(&hash_file) else {
            return unhashed;
        };
        let css = hashes.lines().find_map(|line| line.strip_prefix("css:")).map(str::trim);
        let assets = match css {
            Some(hash) => app::SiteAssets { stylesheet: format!("/pkg/{}.{hash}.css", app::BUNDLE_NAME) },
            None => app::SiteAssets::default(),
        };
        BuiltSite { hash_file: Some(hash_file), assets }
    }
}

/// The site's files under `site_root`, preferring the precompressed copies the browser accepts.
pub fn files(site_root: &Path) -> ServeDir {
    ServeDir::new(site_root).precompressed_br().precompressed_gzip()
}

/// `Cache-Control` for a file answer, from its path: a year, immutable, for a content-hashed name; otherwise
/// "ask again" (the file server answers 304 while the file is unchanged).
pub async fn cache_files(request: Request, next: Next) -> Response {
    let immutable = is_content_hashed(request.uri().path());
    let mut response = next.run(request).await;
    if response.status().is_success() || response.status() == axum::http::StatusCode::NOT_MODIFIED {
        let policy = if immutable { "public, max-age=31536000, immutable" } else { "public, no-cache" };
        response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static(policy));
    }
    response
}

/// `/pkg/berth.0123456789abcdef.wasm`: the names `scripts/finish-site.mjs` gives.
fn is_content_hashed(path: &str) -> bool {
    let Some(name) = path.strip_prefix("/pkg/") else { return false };
    let mut parts = name.split('.');
    matches!(
        (parts.next(), parts.next(), parts.next(), parts.next()),
        (Some(app::BUNDLE_NAME), Some(hash), Some("js" | "wasm" | "css"), None)
            if hash.len() == 16 && hash.bytes().all(|b| b.is_ascii_hexdigit())
    )
}

/// Compresses pages and API answers as they are sent (brotli or gzip, as the browser accepts). Files already
/// compressed (the precompressed bundle) pass as they are. A kubeconfig is never compressed: a secret in a
/// compressed answer leaks through the answer's length (BREACH) when anything else in it can be chosen.
pub fn compression() -> CompressionLayer<impl Predicate> {
    CompressionLayer::new().compress_when(DefaultPredicate::new().and(NotForContentType::const_new("application/yaml")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_bundle_s_hashed_names_are_immutable() {
        for path in
            ["/pkg/berth.0123456789abcdef.wasm", "/pkg/berth.0123456789abcdef.js", "/pkg/berth.fedcba9876543210.css"]
        {
            assert!(is_content_hashed(path), "{path}");
        }
        for path in [
            "/pkg/berth.wasm",
            "/pkg/berth.css",
            "/favicon.svg",
            "/pkg/berth.0123456789abcdeg.wasm",
            "/pkg/berth.0123456789abcdef.wasm.br",
            "/pkg/other.0123456789abcdef.js",
            "/berth.0123456789abcdef.js",
        ] {
            assert!(!is_content_hashed(path), "{path}");
        }
    }

    #[test]
    fn the_stylesheet_link_follows_the_hash_file() {
        let site = tempfile::tempdir().unwrap();
        assert_eq!(BuiltSite::read(site.path()).assets, app::SiteAssets::default(), "no hash file: plain names");
        std::fs::create_dir(site.path().join("pkg")).unwrap();
        std::fs::write(site.path().join("pkg/hash.txt"), "js: 1111111111111111\ncss: 2222222222222222\n").unwrap();
        let built = BuiltSite::read(site.path());
        assert_eq!(built.assets.stylesheet, "/pkg/berth.2222222222222222.css");
        assert_eq!(built.hash_file, Some(site.path().join("pkg/hash.txt")));

        // A development build rewrote the bundle after the release build hashed it.
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::write(site.path().join("pkg/berth.wasm"), b"newer").unwrap();
        assert_eq!(BuiltSite::read(site.path()).assets, app::SiteAssets::default(), "stale hashes are ignored");
    }
}
