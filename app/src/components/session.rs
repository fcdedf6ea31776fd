//! The session as the UI sees it: fetched once per page load by the layout and shared through context, the
//! sign-in area in the header, and the guard around pages that need a role.
//!
//! Hiding things here is a courtesy: the server checks the role on every call (see [`crate::auth::require`]).

use leptos::prelude::*;
use leptos_router::hooks::use_location;

use crate::api::session::get_session;
use crate::auth::{Person, SessionView};
use crate::error::ApiError;
use crate::navigation::sign_in_href;
use crate::policy::UseCase;

/// The current session, loaded by [`provide_session`].
#[derive(Clone, Copy)]
pub struct SessionResource(pub Resource<Result<SessionView, ApiError>>);

/// Loads the session once for the page; every component below reads it with [`use_session`].
pub fn provide_session() {
    provide_context(SessionResource(Resource::new(|| (), |_| get_session())));
}

pub fn use_session() -> Resource<Result<SessionView, ApiError>> {
    expect_context::<SessionResource>().0
}

/// The page being shown, as a path with its query: where to come back to after signing in.
pub fn current_page() -> Memo<String> {
    let location = use_location();
    Memo::new(move |_| {
        let search = location.search.get();
        let path = location.pathname.get();
        if search.is_empty() { path } else { format!("{path}?{}", search.trim_start_matches('?')) }
    })
}

/// The header's right-hand side: who is signed in and their role, with sign-out; or the sign-in button.
#[component]
pub fn SignInArea() -> impl IntoView {
    let session = use_session();
    let page = current_page();
    view! {
        <div class="session" aria-label="Session">
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    match session.await.unwrap_or(SessionView::Anonymous) {
                        SessionView::Anonymous => {
                            // rel="external": a full page load, not the client-side router.
                            view! {
                                <a class="button" rel="external" href=move || sign_in_href(&page.get())>
                                    "Sign in"
                                </a>
                            }
                                .into_any()
                        }
                        SessionView::NoAccess(person) => {
                            view! { <Who person role_label="No access" /> <SignOutButton /> }.into_any()
                        }
                        SessionView::SignedIn(person, role) => {
                            view! { <Who person role_label=role.label() /> <SignOutButton /> }.into_any()
                        }
                    }
                })}
            </Suspense>
        </div>
    }
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
/// not and what to do. (A courtesy: the server functions behind the page check again.)
#[component]
pub fn RequireRole(use_case: UseCase, children: ChildrenFn) -> impl IntoView {
    let role = use_case.min_role();
    let session = use_session();
    let page = current_page();
    let children = StoredValue::new(children);
    view! {
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match session.await.unwrap_or(SessionView::Anonymous) {
                    SessionView::SignedIn(_, held) if held.includes(role) => children.read_value()().into_any(),
                    SessionView::Anonymous => {
                        crate::auth::set_page_status(401);
                        view! {
                            <section class="page">
                                <h1>"Sign in to continue"</h1>
                                <p>"This page is for signed-in people."</p>
                                <p>
                                    <a class="button" rel="external" href=sign_in_href(&page.get_untracked())>
                                        "Sign in"
                                    </a>
                                </p>
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
            })}
        </Suspense>
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
