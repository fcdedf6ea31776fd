//! Approvals: requests waiting for a decision, oldest first, with everything needed to decide.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::requests::get_approvals;
use crate::components::after_action::DecisionQueue;
use crate::components::error_view::loaded;
use crate::components::grant_actions::{ChangeDecisionForms, ChangeNotice};
use crate::components::requests::{DecisionForms, Pager, RequestFacts, minute};
use crate::components::session::RequireRole;
use crate::pages::my_requests::{page_number, query_parameter};
use crate::policy::UseCase;
use crate::requests::{ApprovalItem, Page};

#[component]
pub fn ApprovalsPage() -> impl IntoView {
    view! {
        <Title text="Approvals" />
        <RequireRole use_case=UseCase::ListPending>
            <section class="page">
                <h1>"Approvals"</h1>
                <p class="muted">"Requests waiting for a decision, oldest first."</p>
                <DecisionQueue>
                    <ApprovalLists />
                </DecisionQueue>
            </section>
        </RequireRole>
    }
}

/// Both lists, from one server call: the page of pending requests the URL names and the pending extensions.
#[component]
fn ApprovalLists() -> impl IntoView {
    let (after, before, page) = (query_parameter("after"), query_parameter("before"), Some(page_number()));
    let approvals = Resource::new(move || (), move |_| get_approvals(after.clone(), before.clone(), page));
    view! {
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                loaded(approvals.await, |approvals| view! {
                    <PendingList page=approvals.requests />
                    <PendingChanges page=approvals.changes />
                })
            })}
        </Suspense>
    }
}

#[component]
fn PendingList(mut page: Page<ApprovalItem>) -> impl IntoView {
    if page.total == 0 {
        return view! { <p class="notice" data-testid="no-pending">"Nothing is waiting for a decision."</p> }
            .into_any();
    }
    let keyset = match (page.items.first(), page.items.last()) {
        (Some(first), Some(last)) => Some((first.request.id.clone(), last.request.id.clone())),
        _ => None,
    };
    // The pager reads only the page's number and counts.
    let items = std::mem::take(&mut page.items);
    view! {
        <ul class="request-list" data-testid="pending-requests">
            {items.into_iter().map(|item| view! { <PendingRequest item /> }).collect_view()}
        </ul>
        <Pager page path="/approvals" noun=("pending", "pending") keyset=keyset />
    }
    .into_any()
}

#[component]
fn PendingRequest(item: ApprovalItem) -> impl IntoView {
    let request = item.request;
    let namespace = request.namespace.clone();
    let (heading, href, marker) = (namespace.clone(), format!("/requests/{}", request.id), namespace.clone());
    view! {
        <li class="request card" data-testid="request" data-namespace=marker>
            <div class="request-heading">
                <a href=href class="namespace">{heading}</a>
            </div>
            <RequestFacts request=request.clone() />
            {match (item.decide_refusal, item.approval) {
                (None, Some(standing)) => view! { <DecisionForms id=request.id namespace standing /> }.into_any(),
                (Some(why), _) => view! { <p class="notice" data-testid="decide-refusal">{why}</p> }.into_any(),
                (None, None) => ().into_any(),
            }}
        </li>
    }
}

/// Ready grants whose owners asked for a change, oldest ask first.
#[component]
fn PendingChanges(page: Page<ApprovalItem>) -> impl IntoView {
    if page.total == 0 {
        return view! {
            <h2>"Changes"</h2>
            <p class="muted" data-testid="no-changes">"No change of a grant is waiting."</p>
        }
        .into_any();
    }
    let more = page.total.saturating_sub(page.items.len() as u64);
    view! {
        <h2>"Changes"</h2>
        <ul class="request-list" data-testid="pending-changes">
            {page.items.into_iter().map(|item| view! { <PendingChange item /> }).collect_view()}
        </ul>
        {(more > 0).then(|| view! { <p class="muted">{format!("And {more} more, decided oldest first.")}</p> })}
    }
    .into_any()
}

#[component]
fn PendingChange(item: ApprovalItem) -> impl IntoView {
    let request = item.request;
    let href = format!("/requests/{}", request.id);
    let ends = request.expires_at.map(minute).unwrap_or_default();
    let marker = request.namespace.clone();
    let now = format!(
        "{} · {} · {} · ends {ends}",
        request.requester.display_name,
        request.quota_profile,
        request.helm_mode.label()
    );
    view! {
        <li class="request card" data-testid="change" data-namespace=marker>
            <div class="request-heading">
                <a href=href class="namespace">{request.namespace.clone()}</a>
                <span class="muted">{now}</span>
            </div>
            {request.change.clone().map(|ask| view! { <ChangeNotice ask /> })}
            {match (item.decide_refusal, item.approval) {
                (None, Some(standing)) => {
                    view! { <ChangeDecisionForms id=request.id namespace=request.namespace standing /> }.into_any()
                }
                (Some(why), _) => view! { <p class="notice" data-testid="decide-refusal">{why}</p> }.into_any(),
                (None, None) => ().into_any(),
            }}
        </li>
    }
}
