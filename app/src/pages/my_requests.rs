//! My requests: the signed-in person's requests, newest first, each with its status and audit trail.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::api::requests::list_my_requests;
use crate::components::error_view::loaded;
use crate::components::requests::{CancelForm, Pager, StateBadge, Timeline, minute};
use crate::components::session::RequireRole;
use crate::policy::UseCase;
use crate::requests::{RequestState, RequestWithTimeline};

/// The `page` query parameter; anything unparsable is the first page.
pub fn page_number() -> u32 {
    use_query_map().with_untracked(|q| q.get("page").and_then(|p| p.parse().ok()).unwrap_or(1))
}

/// A query parameter of the page's URL.
pub fn query_parameter(name: &str) -> Option<String> {
    use_query_map().with_untracked(|q| q.get(name))
}

#[component]
pub fn MyRequestsPage() -> impl IntoView {
    view! {
        <Title text="My requests" />
        <RequireRole use_case=UseCase::ListOwnRequests>
            <section class="page">
                <div class="page-heading">
                    <h1>"My requests"</h1>
                    <a class="button" href="/requests/new">"New request"</a>
                </div>
                <MyRequestsList />
            </section>
        </RequireRole>
    }
}

#[component]
fn MyRequestsList() -> impl IntoView {
    let page = page_number();
    let requests = Resource::new(move || page, list_my_requests);
    view! {
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                loaded(requests.await, |page| {
                    if page.total == 0 {
                        return view! {
                            <p class="notice" data-testid="no-requests">
                                "You have not requested a namespace yet."
                            </p>
                        }
                            .into_any();
                    }
                    let items = page.items.clone();
                    view! {
                        <ul class="request-list" data-testid="my-requests">
                            {items.into_iter().map(|item| view! { <MyRequest item /> }).collect_view()}
                        </ul>
                        <Pager page path="/requests" noun=("request", "requests") />
                    }
                        .into_any()
                })
            })}
        </Suspense>
    }
}

#[component]
fn MyRequest(item: RequestWithTimeline) -> impl IntoView {
    let request = item.request;
    let href = format!("/requests/{}", request.id);
    view! {
        <li class="request card" data-testid="request" data-namespace=request.namespace.clone()>
            <div class="request-heading">
                <a href=href class="namespace">{request.namespace.clone()}</a>
                <StateBadge state=request.state />
                <span class="muted">{format!("{} · submitted {}", request.stage, minute(request.created_at))}</span>
            </div>
            {request.decision.and_then(|d| d.reason).map(|reason| {
                view! { <p class="reason" data-testid="decision-reason">"Reason: " {reason}</p> }
            })}
            <Timeline events=item.events />
            {(request.state == RequestState::Pending).then(|| view! { <CancelForm id=request.id /> })}
        </li>
    }
}
