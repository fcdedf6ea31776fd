//! The admin dashboard: every grant Berth handed out (and every request), with its namespace, owner, stage,
//! Helm mode, state, dates and kubeconfigs; searched, filtered, sorted and paged on the server. Below it,
//! everyone who has signed in.
//!
//! The filters are a plain GET form, so a view is a link (and works without JavaScript); the page reads them
//! from the query string.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::admin::UserSummary;
use crate::admin::{GrantFilter, GrantSort};
use crate::api::admin::list_grants;
use crate::api::requests::get_request_options;
use crate::api::users::list_users;
use crate::auth::Role;
use crate::components::error_view::loaded;
use crate::components::requests::{Day, Pager, StateBadge, minute};
use crate::components::session::RequireRole;
use crate::policy::UseCase;
use crate::requests::credentials::{CredentialPurpose, CredentialSummary};
use crate::requests::{GrantWithCredentials, RequestState};

#[component]
pub fn AdminPage() -> impl IntoView {
    view! {
        <Title text="Admin" />
        <RequireRole use_case=UseCase::ListGrants>
            <section class="page">
                <h1>"Admin"</h1>
                <Grants />
                <UsersTable />
            </section>
        </RequireRole>
    }
}

#[component]
fn Grants() -> impl IntoView {
    let query = use_query_map();
    let filter = Memo::new(move |_| query.with(|q| GrantFilter::from_query(|key| q.get(key))));
    let options = Resource::new(|| (), |_| get_request_options());
    let grants = Resource::new(
        move || filter.get(),
        |f| {
            list_grants(
                f.search,
                f.state.map(|s| s.as_str().to_string()).unwrap_or_default(),
                f.stage,
                f.owner,
                f.sort.as_str().to_string(),
                f.page.to_string(),
            )
        },
    );
    view! {
        <section class="card" aria-labelledby="grants-heading">
            <h2 id="grants-heading">"Grants"</h2>
            <p class="muted">"Every namespace request and what it handed out. Open one to revoke access or delete it."</p>
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    // A form without the stages if the options cannot be read: the list below says why.
                    let stages = options.await.map(|o| o.stages).unwrap_or_default();
                    view! { <Filters filter=filter.get() stages /> }
                })}
            </Suspense>
            <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    let query = filter.get_untracked().query(0).trim_start_matches('?').to_string();
                    loaded(grants.await, |page| {
                        if page.total == 0 {
                            return view! { <p class="notice" data-testid="no-grants">"Nothing matches."</p> }
                                .into_any();
                        }
                        let rows = page.items.clone();
                        view! {
                            <div class="table-scroll">
                                <table class="table grants" data-testid="grants">
                                    <thead>
                                        <tr>
                                            <th scope="col">"Namespace"</th>
                                            <th scope="col">"Owner"</th>
                                            <th scope="col">"State"</th>
                                            <th scope="col">"Stage · Helm"</th>
                                            <th scope="col">"Requested"</th>
                                            <th scope="col">"Access ends"</th>
                                            <th scope="col">"Kubeconfigs"</th>
                                        </tr>
                                    </thead>
                                    <tbody>
                                        {rows.into_iter().map(|grant| view! { <GrantRow grant /> }).collect_view()}
                                    </tbody>
                                </table>
                            </div>
                            <Pager page path="/admin" noun=("grant", "grants") query />
                        }
                            .into_any()
                    })
                })}
            </Suspense>
        </section>
    }
}

/// The search, filters and sort, as a GET form to this page.
#[component]
fn Filters(filter: GrantFilter, stages: Vec<String>) -> impl IntoView {
    view! {
        <form method="get" action="/admin" class="filters" role="search" data-testid="grant-filters">
            <div class="field">
                <label for="grant-search">"Search"</label>
                <input id="grant-search" type="search" name="q" value=filter.search.clone()
                    placeholder="Namespace, owner or email" maxlength=crate::admin::MAX_FILTER_CHARS />
            </div>
            <div class="field">
                <label for="grant-state">"State"</label>
                <select id="grant-state" name="state">
                    <option value="" selected=filter.state.is_none()>"Any"</option>
                    {RequestState::ALL
                        .into_iter()
                        .map(|state| view! {
                            <option value=state.as_str() selected=filter.state == Some(state)>{state.label()}</option>
                        })
                        .collect_view()}
                </select>
            </div>
            <div class="field">
                <label for="grant-stage">"Stage"</label>
                <select id="grant-stage" name="stage">
                    <option value="" selected=filter.stage.is_empty()>"Any"</option>
                    {stages
                        .into_iter()
                        .map(|stage| {
                            let selected = stage == filter.stage;
                            view! { <option value=stage.clone() selected=selected>{stage.clone()}</option> }
                        })
                        .collect_view()}
                </select>
            </div>
            <div class="field">
                <label for="grant-owner">"Owner"</label>
                <input id="grant-owner" name="owner" value=filter.owner.clone() placeholder="Name or email"
                    maxlength=crate::admin::MAX_FILTER_CHARS />
            </div>
            <div class="field">
                <label for="grant-sort">"Sort"</label>
                <select id="grant-sort" name="sort">
                    {GrantSort::ALL
                        .into_iter()
                        .map(|sort| view! {
                            <option value=sort.as_str() selected=filter.sort == sort>{sort.label()}</option>
                        })
                        .collect_view()}
                </select>
            </div>
            <div class="filter-actions">
                <button type="submit" class="button">"Apply"</button>
                <a href="/admin" class="button secondary">"Clear"</a>
            </div>
        </form>
    }
}

#[component]
fn GrantRow(grant: GrantWithCredentials) -> impl IntoView {
    let request = grant.request;
    let href = format!("/requests/{}", request.id);
    let helm = match request.helm_mode {
        crate::requests::HelmMode::Tiller => "Helm 2 (Tiller)",
        crate::requests::HelmMode::NoTiller => "Helm 3",
    };
    let deleted = request.namespace_deletion.map(|d| match d.deleted_at {
        Some(at) => format!("namespace deleted {}", minute(at)),
        None => "namespace to be deleted".to_string(),
    });
    view! {
        <tr data-testid="grant" data-namespace=request.namespace.clone()>
            <td data-label="Namespace">
                <a href=href class="namespace">{request.namespace.clone()}</a>
                {deleted.map(|d| view! { <br /><small class="muted">{d}</small> })}
            </td>
            // The email on hover and for screen readers' "title": the name alone keeps the table narrow.
            <td data-label="Owner" title=request.requester.email.clone().unwrap_or_default()>
                {request.requester.display_name.clone()}
            </td>
            <td data-label="State"><StateBadge state=request.state /></td>
            <td data-label="Stage · Helm">{format!("{} · {helm}", request.stage)}</td>
            <td data-label="Requested"><Day at=request.created_at /></td>
            <td data-label="Access ends">
                {match request.expires_at {
                    Some(at) => view! { <Day at /> }.into_any(),
                    None => "–".into_any(),
                }}
            </td>
            <td data-label="Kubeconfigs"><Credentials credentials=grant.credentials /></td>
        </tr>
    }
}

/// A grant's kubeconfigs, folded: how many, how many still in force, and each one's facts.
#[component]
fn Credentials(credentials: Vec<CredentialSummary>) -> impl IntoView {
    if credentials.is_empty() {
        return view! { <span class="muted">"none"</span> }.into_any();
    }
    let in_force = credentials.iter().filter(|c| c.revoked_at.is_none()).count();
    view! {
        <details data-testid="grant-credentials">
            <summary>{format!("{} ({in_force} not revoked)", credentials.len())}</summary>
            <ul class="compact">
                {credentials
                    .into_iter()
                    .map(|c| {
                        let who = match c.purpose {
                            CredentialPurpose::Personal => "Personal".to_string(),
                            CredentialPurpose::Ci => format!("CI: {}", c.name),
                        };
                        let status = match (c.revoked_at, c.revoked_by) {
                            (Some(at), by) => format!("revoked {} by {}", minute(at), by.unwrap_or_else(|| "Berth".to_string())),
                            (None, _) => format!("until {}", minute(c.expires_at)),
                        };
                        view! { <li>{format!("{who} · issued {} · {status}", minute(c.issued_at))}</li> }
                    })
                    .collect_view()}
            </ul>
        </details>
    }
    .into_any()
}

#[component]
fn UsersTable() -> impl IntoView {
    let users = Resource::new(|| (), |_| list_users());
    view! {
        <section class="card" aria-labelledby="users-heading">
            <h2 id="users-heading">"People"</h2>
            <p class="muted">"Everyone who has signed in, with the groups of their last sign-in and the role those granted."</p>
            <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    loaded(users.await, |users| view! {
                        <table class="table" data-testid="users">
                            <thead>
                                <tr>
                                    <th scope="col">"Name"</th>
                                    <th scope="col">"Email"</th>
                                    <th scope="col">"Role"</th>
                                    <th scope="col">"Groups"</th>
                                    <th scope="col">"First sign-in"</th>
                                    <th scope="col">"Last sign-in"</th>
                                </tr>
                            </thead>
                            <tbody>{users.into_iter().map(|user| view! { <UserRow user /> }).collect_view()}</tbody>
                        </table>
                    })
                })}
            </Suspense>
        </section>
    }
}

#[component]
fn UserRow(user: UserSummary) -> impl IntoView {
    view! {
        <tr>
            <td data-label="Name" title=user.subject>{user.display_name}</td>
            <td data-label="Email">{user.email.unwrap_or_default()}</td>
            <td data-label="Role">{user.role.map_or("No access", Role::label)}</td>
            <td data-label="Groups" data-testid="groups">{user.groups.join(", ")}</td>
            <td data-label="First sign-in"><Day at=user.first_sign_in_at /></td>
            <td data-label="Last sign-in"><time>{minute(user.last_sign_in_at)}</time></td>
        </tr>
    }
}
