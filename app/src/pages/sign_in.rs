//! Pages about signing in itself: the "no access" page and what went wrong with a sign-in.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::auth::SessionView;
use crate::components::session::{NoAccessNotice, use_session};
use crate::navigation::sign_in_href;

/// Where someone lands after signing in when their groups grant no role.
#[component]
pub fn NoAccessPage() -> impl IntoView {
    let notice = match use_session() {
        SessionView::NoAccess(person) => view! { <NoAccessNotice person /> }.into_any(),
        SessionView::SignedIn(..) => view! {
            <section class="page">
                <h1>"You have access"</h1>
                <p><a href="/">"Go to the start page"</a></p>
            </section>
        }
        .into_any(),
        SessionView::Anonymous => view! {
            <section class="page">
                <h1>"Not signed in"</h1>
                <p><a class="button" rel="external" href=sign_in_href("/")>"Sign in"</a></p>
            </section>
        }
        .into_any(),
    };
    view! {
        <Title text="No access" />
        {notice}
    }
}

/// Where a failed sign-in ends. `reason` is a short code set by the server; the details are in its log.
#[component]
pub fn SignInFailedPage() -> impl IntoView {
    let query = use_query_map();
    let explanation = move || explain(query.read().get("reason").as_deref().unwrap_or(""));
    view! {
        <Title text="Sign-in failed" />
        <section class="page" data-testid="sign-in-failed">
            <h1>"Sign-in did not work"</h1>
            <p role="alert">{explanation}</p>
            <p><a class="button" rel="external" href=sign_in_href("/")>"Try again"</a></p>
        </section>
    }
}

/// What each of the server's reason codes means for the person (see `server/src/auth/routes.rs`).
pub fn explain(reason: &str) -> &'static str {
    match reason {
        "expired" => {
            "This sign-in link has expired or was already used. Sign-in links work once and for ten minutes; \
             start again."
        }
        "refused" => "The identity provider did not let you sign in.",
        "invalid" => "The identity provider's answer could not be verified, so Berth did not trust it.",
        "unavailable" => "The identity provider could not be reached. Try again in a minute.",
        _ => "Something went wrong while signing in. Start again.",
    }
}
