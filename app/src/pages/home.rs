//! The home page: for visitors, what Berth is for and the way in; for signed-in people, what they came for,
//! by role: a developer's namespaces (state, time left, the way to a kubeconfig) and their requests still
//! waiting; an approver's queue, oldest first; an admin's way to the dashboard.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::access::get_my_access;
use crate::api::requests::{list_my_requests, list_pending_extensions, list_pending_requests};
use crate::auth::{Role, SessionView};
use crate::components::error_view::ErrorView;
use crate::components::requests::{StateBadge, minute};
use crate::components::session::use_session;
use crate::navigation::sign_in_href;
use crate::requests::{GrantWithCredentials, RequestState, RequestSummary, time_left};

#[component]
pub fn HomePage() -> impl IntoView {
    let content = match use_session() {
        SessionView::Anonymous => view! { <Visitor /> }.into_any(),
        SessionView::NoAccess(person) => view! {
            <section class="page" data-testid="welcome">
                <h1>{format!("Welcome, {}", person.display_name)}</h1>
                <p>"None of your groups gives access to Berth yet. " <a href="/no-access">"What now?"</a></p>
            </section>
        }
        .into_any(),
        SessionView::SignedIn(person, role) => view! {
            <section class="page home" data-testid="welcome">
                <h1 class="greeting">{format!("Welcome, {}", person.display_name)}</h1>
                {role.includes(Role::Approver).then(|| view! { <ApproverQueue /> })}
                <DeveloperOverview />
                {role.includes(Role::Admin).then(|| view! { <AdminLinks /> })}
            </section>
        }
        .into_any(),
    };
    view! {
        <Title text="" />
        {content}
    }
}

#[component]
fn Visitor() -> impl IntoView {
    view! {
        <section class="hero">
            <h1>"A namespace of your own, without the cluster-admin key"</h1>
            <p>
                "Ask for a Kubernetes namespace, get it approved, and download a kubeconfig that works there "
                "and nowhere else: for your laptop or for a CI server."
            </p>
        </section>
        <section class="card" aria-labelledby="welcome-heading" data-testid="welcome">
            <h2 id="welcome-heading">"Sign in to start"</h2>
            <p>"Berth uses your company account; your groups decide what you may do here."</p>
            <a class="button" rel="external" href=sign_in_href("/")>"Sign in"</a>
        </section>
    }
}

/// The developer's namespaces, ending soonest first, and their requests still waiting for a decision.
#[component]
fn DeveloperOverview() -> impl IntoView {
    let access = Resource::new(|| (), |_| get_my_access());
    let requests = Resource::new(|| (), |_| list_my_requests(1));
    view! {
        <section class="card" aria-labelledby="access-heading" data-testid="home-access">
            <div class="card-heading">
                <h2 id="access-heading">"Your namespaces"</h2>
                <a class="button" href="/requests/new">"New request"</a>
            </div>
            <ErrorBoundary fallback=|errors| view! { <ErrorView errors /> }>
                <Suspense fallback=|| ()>
                    {move || Suspend::new(async move {
                        let access = access.await?;
                        let waiting: Vec<_> = requests
                            .await?
                            .items
                            .into_iter()
                            .map(|item| item.request)
                            .filter(|request| request.state == RequestState::Pending)
                            .collect();
                        let as_of = access.as_of;
                        Ok::<_, crate::error::ApiError>(view! {
                            {access.grants.is_empty().then(|| view! {
                                <p class="muted" data-testid="no-access">"You have no namespace at the moment."</p>
                            })}
                            <ul class="compact-list">
                                {access.grants.into_iter().map(|grant| view! { <GrantLine grant as_of /> }).collect_view()}
                            </ul>
                            {(!waiting.is_empty()).then(|| view! {
                                <h3>"Waiting for a decision"</h3>
                                <ul class="compact-list" data-testid="home-pending">
                                    {waiting.into_iter().map(|request| {
                                        let detail = format!("submitted {}", minute(request.created_at));
                                        view! { <WaitingLine request detail /> }
                                    }).collect_view()}
                                </ul>
                            })}
                        })
                    })}
                </Suspense>
            </ErrorBoundary>
        </section>
    }
}

/// A request waiting for a decision: its namespace, linked to its page, and `detail` (since when, by whom).
#[component]
fn WaitingLine(request: RequestSummary, detail: String) -> impl IntoView {
    view! {
        <li>
            <a href=format!("/requests/{}", request.id) class="namespace">{request.namespace}</a>
            <span class="muted">{detail}</span>
        </li>
    }
}

/// One namespace: its state, how long its access lasts, and the way to a kubeconfig.
#[component]
fn GrantLine(grant: GrantWithCredentials, as_of: chrono::DateTime<chrono::Utc>) -> impl IntoView {
    let request = grant.request;
    let href = format!("/requests/{}", request.id);
    let left = request.expires_at.map(|end| format!("{} left", time_left(as_of, end)));
    let ready = request.state == RequestState::Ready;
    view! {
        <li data-testid="home-grant" data-namespace=request.namespace.clone()>
            <a href=href.clone() class="namespace">{request.namespace.clone()}</a>
            <StateBadge state=request.state />
            <span class="muted" data-testid="time-left">{left}</span>
            {ready.then(|| view! { <a href=format!("{href}#kubeconfig")>"Get a kubeconfig"</a> })}
        </li>
    }
}

/// How much waits for the approver, oldest first.
#[component]
fn ApproverQueue() -> impl IntoView {
    let requests = Resource::new(|| (), |_| list_pending_requests(1));
    let extensions = Resource::new(|| (), |_| list_pending_extensions());
    view! {
        <section class="card" aria-labelledby="queue-heading" data-testid="home-queue">
            <div class="card-heading">
                <h2 id="queue-heading">"Waiting for a decision"</h2>
                <a class="button" href="/approvals">"Open approvals"</a>
            </div>
            <ErrorBoundary fallback=|errors| view! { <ErrorView errors /> }>
                <Suspense fallback=|| ()>
                    {move || Suspend::new(async move {
                        let (requests, extensions) = (requests.await?, extensions.await?);
                        let summary = format!(
                            "{} {} and {} {} waiting.",
                            requests.total,
                            if requests.total == 1 { "request" } else { "requests" },
                            extensions.total,
                            if extensions.total == 1 { "extension" } else { "extensions" },
                        );
                        Ok::<_, crate::error::ApiError>(view! {
                            <p data-testid="queue-summary">{summary}</p>
                            <ul class="compact-list">
                                {requests.items.into_iter().take(5).map(|item| {
                                    let request = item.request;
                                    let detail =
                                        format!("{} · since {}", request.requester.display_name, minute(request.created_at));
                                    view! { <WaitingLine request detail /> }
                                }).collect_view()}
                            </ul>
                        })
                    })}
                </Suspense>
            </ErrorBoundary>
        </section>
    }
}

#[component]
fn AdminLinks() -> impl IntoView {
    view! {
        <section class="card" aria-labelledby="admin-heading">
            <h2 id="admin-heading">"Administration"</h2>
            <ul class="links">
                <li><a href="/admin">"Every grant and kubeconfig"</a></li>
                <li><a href="/admin/audit">"Audit log"</a></li>
                <li><a href="/admin/server">"Server status"</a></li>
            </ul>
        </section>
    }
}
