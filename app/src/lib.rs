//! Berth's user interface and API surface.
//!
//! This crate compiles twice: with `ssr` it is linked into the server, which renders every page and runs the
//! server functions; with `hydrate` it becomes the WASM bundle. Leptos runs in islands mode: a page is HTML
//! from the server, and only the components marked `#[island]` (the forms that check as one types, the
//! actions that update the page in place, the live provisioning status) are hydrated in the browser, so only
//! their code is shipped. The islands take no props: each wraps server-rendered markup and reads what it needs
//! from its `data-` attributes, so the bundle needs no JSON deserializer (see `json`). Everything else,
//! chrono's formatting and the pages' data included, stays on the server.
//! It never talks to Kubernetes, the database or the identity provider itself: server functions reach those
//! through the ports in [`ports`], which the server implements.

pub mod admin;
pub mod api;
pub mod auth;
pub mod components;
pub mod error;
pub mod json;
pub mod model;
pub mod navigation;
pub mod pages;
pub mod policy;
#[cfg(feature = "ssr")]
pub mod ports;
pub mod requests;
pub mod system;

use leptos::prelude::*;
use leptos_meta::{MetaTags, Stylesheet, Title, provide_meta_context};
use leptos_router::{
    SsrMode,
    components::{Route, Router, Routes},
    path,
};

use crate::components::layout::Layout;
use crate::pages::{
    admin::AdminPage,
    approvals::ApprovalsPage,
    audit::AuditLogPage,
    home::HomePage,
    my_access::MyAccessPage,
    my_requests::MyRequestsPage,
    new_request::NewRequestPage,
    not_found::NotFound,
    request_detail::RequestDetailPage,
    server_status::ServerPage,
    sign_in::{NoAccessPage, SignInFailedPage},
};

/// The name of the JS/WASM bundle under `/pkg`; equals `output-name` in the workspace's Cargo.toml.
pub const BUNDLE_NAME: &str = "berth";

/// Where the page finds the stylesheet: the server provides it as context once it has read the site's
/// manifest (the built file names carry a hash of their content, so they can be cached for a year).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiteAssets {
    pub stylesheet: String,
}

impl Default for SiteAssets {
    /// The names of an unhashed build (`cargo leptos watch`).
    fn default() -> Self {
        SiteAssets { stylesheet: format!("/pkg/{BUNDLE_NAME}.css") }
    }
}

/// The HTML document around the app, rendered on the server only.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <meta name="color-scheme" content="light dark" />
                <link rel="icon" type="image/svg+xml" href="/favicon.svg" />
                <HydrationScripts options islands=true />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

/// The application: layout, routes and the not-found page.
///
/// Every route renders in [`SsrMode::Async`]: the server waits for the page's data and sends complete HTML,
/// so the page is whole without JavaScript (and for tools such as `curl`); the islands in it then hydrate.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    let assets = use_context::<SiteAssets>().unwrap_or_default();

    view! {
        <Stylesheet id="leptos" href=assets.stylesheet />
        <Title formatter=|page: String| {
            if page.is_empty() { "Berth".to_string() } else { format!("{page} · Berth") }
        } />
        <Router>
            <Layout>
                <Routes fallback=NotFound>
                    <Route path=path!("/") view=HomePage ssr=SsrMode::Async />
                    <Route path=path!("/requests/new") view=NewRequestPage ssr=SsrMode::Async />
                    <Route path=path!("/requests/:id") view=RequestDetailPage ssr=SsrMode::Async />
                    <Route path=path!("/requests") view=MyRequestsPage ssr=SsrMode::Async />
                    <Route path=path!("/approvals") view=ApprovalsPage ssr=SsrMode::Async />
                    <Route path=path!("/access") view=MyAccessPage ssr=SsrMode::Async />
                    <Route path=path!("/admin") view=AdminPage ssr=SsrMode::Async />
                    <Route path=path!("/admin/audit") view=AuditLogPage ssr=SsrMode::Async />
                    <Route path=path!("/admin/server") view=ServerPage ssr=SsrMode::Async />
                    <Route path=path!("/no-access") view=NoAccessPage ssr=SsrMode::Async />
                    <Route path=path!("/sign-in/failed") view=SignInFailedPage ssr=SsrMode::Async />
                </Routes>
            </Layout>
        </Router>
    }
}

/// Entry point of the WASM bundle: sets up the reactive runtime; Leptos's island script then hydrates each
/// island of the server-rendered page.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    // Panic messages on the console while developing; the release bundle leaves the formatting code out.
    #[cfg(debug_assertions)]
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_islands();
}
