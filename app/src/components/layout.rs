//! The frame around every page: product name, the navigation the person's role may use, who is signed in, and
//! the footer. Rendered on the server only; the one island here marks the page once its islands hydrated.

use leptos::prelude::*;
use leptos_router::components::A;

use crate::components::session::{SignInArea, use_session};
use crate::navigation::sections_for;

#[component]
pub fn Layout(children: Children) -> impl IntoView {
    view! {
        <div class="shell">
            <a class="skip-link" href="#content">"Skip to content"</a>
            <header class="masthead">
                <A href="/" attr:class="brand">
                    <span class="brand-mark" aria-hidden="true">"⚓"</span>
                    <span class="brand-name">"Berth"</span>
                </A>
                <Navigation />
                <SignInArea />
            </header>
            <main id="content" tabindex="-1">{children()}</main>
            <footer class="footer">
                <span>"Berth: a namespace of your own on the cluster."</span>
            </footer>
            <HydrationMark />
        </div>
    }
}

/// Only the sections the signed-in role may use; nothing for visitors who have not signed in.
#[component]
fn Navigation() -> impl IntoView {
    let role = use_session().role();
    view! {
        <nav aria-label="Main">
            <ul>
                {role
                    .into_iter()
                    .flat_map(sections_for)
                    .map(|section| view! { <li><A href=section.path exact=true>{section.label}</A></li> })
                    .collect_view()}
            </ul>
        </nav>
    }
}

/// Sets `data-hydrated="true"` on the page's shell once the WASM runs. Leptos hydrates islands in document
/// order and this one comes last, so the mark means every island of the page is live. End-to-end tests wait
/// for it before they use what only the hydrated page does (effects never run on the server).
#[island]
fn HydrationMark() -> impl IntoView {
    Effect::new(move |_| {
        if let Ok(Some(shell)) = document().query_selector(".shell") {
            _ = shell.set_attribute("data-hydrated", "true");
        }
    });
}
