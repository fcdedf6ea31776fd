//! My access: the signed-in person's grants that give access now (or are being set up), how long each has
//! left, and every kubeconfig they hold, which they may revoke.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::access::get_my_access;
use crate::components::credentials::CredentialList;
use crate::components::error_view::loaded;
use crate::components::requests::{StateBadge, minute};
use crate::components::session::RequireRole;
use crate::policy::UseCase;
use crate::requests::{GrantWithCredentials, time_left};

#[component]
pub fn MyAccessPage() -> impl IntoView {
    view! {
        <Title text="My access" />
        <RequireRole use_case=UseCase::ListOwnAccess>
            <section class="page">
                <h1>"My access"</h1>
                <p class="muted">"Your namespaces and the kubeconfigs you hold for them, ending soonest first."</p>
                <AccessList />
            </section>
        </RequireRole>
    }
}

#[component]
fn AccessList() -> impl IntoView {
    let access = Resource::new(|| (), |_| get_my_access());
    view! {
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                loaded(access.await, |access| {
                    if access.grants.is_empty() {
                        return view! {
                            <p class="notice" data-testid="no-access">
                                "You have no namespace at the moment. "
                                <a href="/requests/new">"Request one"</a>
                                "."
                            </p>
                        }
                            .into_any();
                    }
                    let as_of = access.as_of;
                    view! {
                        <ul class="request-list" data-testid="my-access">
                            {access
                                .grants
                                .into_iter()
                                .map(|grant| view! { <AccessGrant grant as_of /> })
                                .collect_view()}
                        </ul>
                    }
                        .into_any()
                })
            })}
        </Suspense>
    }
}

#[component]
fn AccessGrant(grant: GrantWithCredentials, as_of: chrono::DateTime<chrono::Utc>) -> impl IntoView {
    let request = grant.request;
    let href = format!("/requests/{}", request.id);
    let ends = match request.expires_at {
        Some(end) => format!("{} left · ends {}", time_left(as_of, end), minute(end)),
        None => "not ready yet".to_string(),
    };
    let in_force = grant.credentials.iter().filter(|c| c.revoked_at.is_none() && c.expires_at > as_of).count();
    view! {
        <li class="request card" data-testid="grant" data-namespace=request.namespace.clone()>
            <div class="request-heading">
                <a href=href class="namespace">{request.namespace.clone()}</a>
                <StateBadge state=request.state />
                <span class="muted" data-testid="time-left">{ends}</span>
            </div>
            {request.change.map(|ask| view! {
                <p class="notice" data-testid="change-pending">
                    {format!("You asked for {} on {}; waiting for approval.", ask.summary(), minute(ask.at))}
                </p>
            })}
            <p class="muted">{format!("{} · {} kubeconfig(s) in force", request.helm_mode.label(), in_force)}</p>
            <CredentialList credentials=grant.credentials may_revoke=true />
        </li>
    }
}
