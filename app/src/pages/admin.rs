//! The admin page. So far: everyone who has signed in, with the role their groups granted.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::users::{UserSummary, list_users};
use crate::auth::Role;
use crate::components::error_view::ErrorView;
use crate::components::requests::minute;
use crate::components::session::RequireRole;

#[component]
pub fn AdminPage() -> impl IntoView {
    view! {
        <Title text="Admin" />
        <RequireRole role=Role::Admin>
            <section class="page">
                <h1>"Admin"</h1>
                <UsersTable />
            </section>
        </RequireRole>
    }
}

#[component]
fn UsersTable() -> impl IntoView {
    let users = Resource::new(|| (), |_| list_users());
    view! {
        <section class="card" aria-labelledby="users-heading">
            <h2 id="users-heading">"People"</h2>
            <p class="muted">"Everyone who has signed in, with the role their groups granted at their last sign-in."</p>
            <ErrorBoundary fallback=|errors| view! { <ErrorView errors /> }>
                <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
                    {move || Suspend::new(async move {
                        users.await.map(|users| view! {
                            <table class="table" data-testid="users">
                                <thead>
                                    <tr>
                                        <th scope="col">"Name"</th>
                                        <th scope="col">"Email"</th>
                                        <th scope="col">"Role"</th>
                                        <th scope="col">"First sign-in"</th>
                                        <th scope="col">"Last sign-in"</th>
                                    </tr>
                                </thead>
                                <tbody>{users.into_iter().map(|user| view! { <UserRow user /> }).collect_view()}</tbody>
                            </table>
                        })
                    })}
                </Suspense>
            </ErrorBoundary>
        </section>
    }
}

#[component]
fn UserRow(user: UserSummary) -> impl IntoView {
    view! {
        <tr>
            <td title=user.subject>{user.display_name}</td>
            <td>{user.email.unwrap_or_default()}</td>
            <td>{user.role.map_or("No access", Role::label)}</td>
            <td>{minute(user.first_sign_in_at)}</td>
            <td>{minute(user.last_sign_in_at)}</td>
        </tr>
    }
}
