//! The frame around every page: product name, navigation, the sign-in area and the footer.

use leptos::prelude::*;
use leptos_router::components::A;

/// The pages in the navigation, in order. Later issues restrict them by role.
const NAVIGATION: [(&str, &str); 4] =
    [("/requests/new", "New request"), ("/requests", "My requests"), ("/approvals", "Approvals"), ("/admin", "Admin")];

#[component]
pub fn Layout(children: Children) -> impl IntoView {
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
                <nav aria-label="Main">
                    <ul>
                        {NAVIGATION
                            .into_iter()
                            .map(|(href, label)| view! { <li><A href=href exact=true>{label}</A></li> })
                            .collect_view()}
                    </ul>
                </nav>
                <SignInArea />
            </header>
            <main id="content" tabindex="-1">{children()}</main>
            <footer class="footer">
                <span>"Berth: a namespace of your own on the cluster."</span>
            </footer>
        </div>
    }
}

/// Who is signed in. Single sign-on comes with the sign-in issue; until then nobody is.
#[component]
fn SignInArea() -> impl IntoView {
    view! {
        <div class="session" aria-label="Session">
            <span class="session-status">"Not signed in"</span>
            <button type="button" class="button" disabled title="Single sign-on is not configured yet">
                "Sign in"
            </button>
        </div>
    }
}
