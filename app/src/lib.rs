//! Berth's user interface and API surface.
//!
//! This crate compiles twice: with `ssr` it is linked into the server, which renders pages and runs the server
//! functions; with `hydrate` it becomes the WASM bundle that makes the server-rendered page interactive.
//! It never talks to Kubernetes, the database or the identity provider itself: server functions reach those
//! through the ports in [`ports`], which the server implements.

pub mod admin;
pub mod api;
pub mod auth;
pub mod components;
pub mod error;
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
    sign_in::{NoAccessPage, SignInFailedPage},
};

/// The name of the JS/WASM bundle under `/pkg`; equals `output-name` in the workspace's Cargo.toml.
pub const BUNDLE_NAME: &str = "berth";

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
                <HydrationScripts options />
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
/// so the page is whole without JavaScript (and for tools such as `curl`), and hydration then takes over.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();

    view! {
        <Stylesheet id="leptos" href=format!("/pkg/{BUNDLE_NAME}.css") />
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
                    <Route path=path!("/no-access") view=NoAccessPage ssr=SsrMode::Async />
                    <Route path=path!("/sign-in/failed") view=SignInFailedPage ssr=SsrMode::Async />
                </Routes>
            </Layout>
        </Router>
    }
}

/// Entry point of the WASM bundle: attaches the client to the server-rendered page.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(App);
}
