//! The session as the UI sees it: resolved by the server for every request and handed to the page render as
//! context (no round trip, no waiting), the sign-in area in the header, and the guard around pages that need
//! a role.
//!
//! Hiding things here is a courtesy: the server checks the role on every call (see [`crate::auth::require`]).

use leptos::prelude::*;
use leptos_router::hooks::use_location;

use crate::auth::{Person, SessionView};
use crate::navigation::sign_in_href;
use crate::policy::UseCase;

/// The current request's session. The server provides it for every page render (`server/src/lib.rs`); its
/// absence counts as nobody signed in.
pub fn use_session() -> SessionView {
    use_context::<SessionView>().unwrap_or(SessionView::Anonymous)
}

/// The page being shown, as a path with its query: where to come back to after signing in.
pub fn current_page() -> String {
    let location = use_location();
    let search = location.search.get_untracked();
    let path = location.pathname.get_untracked();
    if search.is_empty() { path } else { format!("{path}?{}", search.trim_start_matches('?')) }
}

/// The header's right-hand side: who is signed in and their role, with sign-out; or the sign-in button.
#[component]
pub fn SignInArea() -> impl IntoView {
    let area = match use_session() {
        // rel="external": a full page load to Berth's sign-in route.
        SessionView::Anonymous => {
            view! { <a class="button" rel="external" href=sign_in_href(&current_page())>"Sign in"</a> }.into_any()
        }
        SessionView::NoAccess(person) => view! { <Who person role_label="No access" /> <SignOutButton /> }.into_any(),
        SessionView::SignedIn(person, role) => {
            view! { <Who person role_label=role.label() /> <SignOutButton /> }.into_any()
        }
    };
    view! { <div class="session" aria-label="Session">{area}</div> }
}

#[component]
fn Who(person: Person, role_label: &'static str) -> impl IntoView {
    view! {
        <span class="who" data-testid="signed-in-as" title=person.email.clone().unwrap_or_default()>
            {person.display_name}
        </span>
        <span class="role-badge" data-testid="role">{role_label}</span>
    }
}

/// A plain form post, so it works without JavaScript; the server checks its origin.
#[component]
fn SignOutButton() -> impl IntoView {
    view! {
        <form method="post" action="/auth/logout" class="sign-out">
            <button type="submit" class="button secondary">"Sign out"</button>
        </form>
    }
}

/// Shows `children` only to someone whose role the policy lets ask for `use_case`; everyone else learns why
/// not and what to do, with the matching HTTP status. (A courtesy: the server functions behind the page check
/// again.) The children are built once, and only when they are shown: their data is never read for someone
/// who may not see it.
#[component]
pub fn RequireRole(use_case: UseCase, children: Children) -> impl IntoView {
    let role = use_case.min_role();
    match use_session() {
        SessionView::SignedIn(_, held) if held.includes(role) => children().into_any(),
        SessionView::Anonymous => {
            crate::auth::set_page_status(401);
            view! {
                <section class="page">
                    <h1>"Sign in to continue"</h1>
                    <p>"This page is for signed-in people."</p>
                    <p><a class="button" rel="external" href=sign_in_href(&current_page())>"Sign in"</a></p>
                </section>
            }
            .into_any()
        }
        SessionView::NoAccess(person) => {
            crate::auth::set_page_status(403);
            view! { <NoAccessNotice person /> }.into_any()
        }
        SessionView::SignedIn(_, held) => {
            crate::auth::set_page_status(403);
            view! {
                <section class="page" data-testid="forbidden">
                    <h1>"Not for your role"</h1>
                    <p>
                        {format!(
                            "This page is for the {} role; you are signed in as {}.",
                            role.label().to_lowercase(),
                            held.label().to_lowercase(),
                        )}
                    </p>
                    <p><a href="/">"Back to the start page"</a></p>
                </section>
            }
            .into_any()
        }
    }
}

/// For someone who signed in but whose groups grant no role.
#[component]
pub fn NoAccessNotice(person: Person) -> impl IntoView {
    view! {
        <section class="page" data-testid="no-access">
            <h1>"No access to Berth"</h1>
            <p>
                "You are signed in as " <strong>{person.display_name}</strong>
                ", but none of your groups gives access to Berth."
            </p>
            <p>
                "Ask your platform team to add you to a Berth group, then sign out and in again so that Berth "
                "sees the change."
            </p>
        </section>
    }
}
