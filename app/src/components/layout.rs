//! The frame around every page: product name, the navigation the person's role may use, who is signed in, and
//! the footer.

use leptos::prelude::*;
use leptos_router::components::A;

use crate::auth::SessionView;
use crate::components::session::{SignInArea, provide_session, use_session};
use crate::navigation::sections_for;

#[component]
pub fn Layout(children: Children) -> impl IntoView {
    provide_session();
    // Set once the WASM has taken over the page. Styles and end-to-end tests use it to tell a hydrated page
    // from a server-rendered one (effects never run on the server).
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| hydrated.set(true));

    view! {
        <div class="shell" data-hydrated=move || hydrated.get().then_some("true")>
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
        </div>
    }
}

/// Only the sections the signed-in role may use; nothing for visitors who have not signed in.
#[component]
fn Navigation() -> impl IntoView {
    let session = use_session();
    view! {
        <nav aria-label="Main">
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    let role = session.await.ok().as_ref().and_then(SessionView::role);
                    view! {
                        <ul>
                            {role
                                .into_iter()
                                .flat_map(sections_for)
                                .map(|section| {
                                    view! { <li><A href=section.path exact=true>{section.label}</A></li> }
                                })
                                .collect_view()}
                        </ul>
                    }
                })}
            </Suspense>
        </nav>
    }
}
