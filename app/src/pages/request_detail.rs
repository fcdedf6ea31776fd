//! One request: what it asks for, where it is, its audit trail, and what the viewer may do with it.

use std::time::Duration;

use leptos::prelude::*;
use leptos::server_fn::ServerFn as _;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use crate::api::requests::{WatchRequest, get_request};
use crate::components::after_action::reload_page;
use crate::components::credentials::{CredentialList, DownloadForm, UsageHelp};
use crate::components::error_view::ErrorView;
use crate::components::forms::{post, read_json, text_of};
use crate::components::grant_actions::{
    ChangeDecisionForms, ChangeNotice, ChangeRequestForm, DeleteNamespaceForm, NamespaceDeletionNotice, QuotaUseTable,
};
use crate::components::members::MembersSection;
use crate::components::requests::{
    ApprovalProgressLine, CancelForm, DecisionForms, ProvisioningStatus, RequestFacts, RetryForm, RevokeGrantForm,
    StateBadge, Timeline,
};
use crate::components::session::RequireRole;
use crate::policy::UseCase;
use crate::requests::{RequestDetail, RequestState, TillerRollout, TillerState};

#[component]
pub fn RequestDetailPage() -> impl IntoView {
    view! {
        <Title text="Request" />
        <RequireRole use_case=UseCase::ViewRequest>
            <section class="page">
                <Detail />
            </section>
        </RequireRole>
    }
}

#[component]
fn Detail() -> impl IntoView {
    let params = use_params_map();
    let id = params.with_untracked(|p| p.get("id").unwrap_or_default());
    let detail = Resource::new(move || id.clone(), get_request);
    view! {
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match detail.await {
                    Ok(detail) => view! { <DetailView detail /> }.into_any(),
                    Err(error) => view! { <h1>"Request"</h1> <ErrorView error /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn DetailView(detail: RequestDetail) -> impl IntoView {
    let watch = detail.watch_every_seconds().map(|every_seconds| {
        view! {
            <span hidden data-watch-request=detail.request.id.clone() data-fingerprint=detail.fingerprint()
                data-every-seconds=every_seconds></span>
            <WatchRequest />
        }
    });
    let request = detail.request;
    // An approver who may decide gets the progress with the decision; the requester (and anyone else who
    // sees it) right under the facts.
    // A pending change's approvals are judged like a request's.
    let (change_standing, request_standing) = match request.state {
        RequestState::Pending => (None, detail.approval),
        _ => (detail.approval, None),
    };
    let change_decision = match (detail.may.decide_change, change_standing) {
        (true, Some(standing)) => Some(
            view! { <ChangeDecisionForms id=request.id.clone() namespace=request.namespace.clone() standing /> }
                .into_any(),
        ),
        (false, Some(standing)) => Some(view! { <ApprovalProgressLine progress=standing.progress /> }.into_any()),
        (_, None) => None,
    };
    let (decision, onlooker_progress) = match (detail.may.decide, request_standing) {
        (true, Some(standing)) => {
            (Some(view! { <DecisionForms id=request.id.clone() namespace=request.namespace.clone() standing /> }), None)
        }
        (false, Some(standing)) => (None, Some(view! { <ApprovalProgressLine progress=standing.progress /> })),
        (_, None) => (None, None),
    };
    view! {
        <Title text=format!("{} · Request", request.namespace) />
        {watch}
        <div class="page-heading">
            <h1 data-testid="namespace">{request.namespace.clone()}</h1>
            <StateBadge state=request.state />
        </div>
        <RequestFacts request=request.clone() />
        {onlooker_progress}
        {(request.state == RequestState::Ready && request.expiry_warned).then(|| view! {
            <p class="notice error" role="status" data-testid="expiry-warning">
                {format!(
                    "Access ends {}. Every kubeconfig of it stops working then; ask for more time below if you still need it.",
                    request.expires_at.map(crate::components::requests::minute).unwrap_or_default()
                )}
            </p>
        })}
        {request.change.clone().map(|ask| view! { <ChangeNotice ask /> })}
        {change_decision}
        {request.namespace_deletion.map(|deletion| view! { <NamespaceDeletionNotice deletion /> })}
        <ProvisioningStatus request=request.clone() />
        {detail.tiller.map(|rollout| view! { <TillerStatus rollout /> })}
        {detail.may.retry.then(|| view! { <RetryForm id=request.id.clone() /> })}
        {detail.may.revoke.then(|| view! { <RevokeGrantForm id=request.id.clone() /> })}
        {detail.may.delete_namespace.then(|| view! {
            <DeleteNamespaceForm id=request.id.clone() namespace=request.namespace.clone() />
        })}
        {detail.may.cancel.then(|| view! { <CancelForm id=request.id.clone() /> })}
        {decision}
        {detail.decide_refusal.map(|why| view! { <p class="notice" data-testid="decide-refusal">{why}</p> })}
        {(detail.may.download || !detail.credentials.is_empty()).then(|| view! {
            <h2 id="kubeconfig">"Kubeconfigs"</h2>
            {detail.credential_options.map(|options| view! {
                <DownloadForm id=request.id.clone() options />
                <UsageHelp namespace=request.namespace.clone() helm_mode=request.helm_mode />
            })}
            <h3>"Handed out"</h3>
            <CredentialList credentials=detail.credentials may_revoke=detail.may.revoke_credentials
                viewer=detail.viewer.clone() />
        })}
        {detail.members.map(|members| view! {
            <MembersSection id=request.id.clone() members manage=detail.may.manage_access />
        })}
        // What the quota holds now, next to the form that asks for another profile.
        {detail.quota_use.map(|uses| view! { <QuotaUseTable uses /> })}
        {detail.change_options.map(|options| view! {
            <h2>"Change this grant"</h2>
            <ChangeRequestForm id=request.id.clone() options />
        })}
        <h2>"History"</h2>
        <Timeline events=detail.events />
    }
}

/// Follows the request while Berth or someone else may change it (the page then renders a hidden
/// `data-watch-request` mark with the request's id, the fingerprint it was rendered with and how often to
/// look): asks the server for the fingerprint every so often and loads the page again once it differs. Each
/// answer schedules the next look; a failed look (a restarting server, a dropped connection) just tries again.
#[island]
fn WatchRequest() -> impl IntoView {
    Effect::new(move |_| {
        let Ok(Some(mark)) = document().query_selector("[data-watch-request]") else { return };
        let read = |name: &str| mark.get_attribute(name).unwrap_or_default();
        let every = read("data-every-seconds").parse::<u64>().unwrap_or(5).max(1);
        look_again(read("data-watch-request"), read("data-fingerprint"), Duration::from_secs(every));
    });
}

fn look_again(id: String, fingerprint: String, every: Duration) {
    set_timeout(
        move || {
            leptos::task::spawn_local(async move {
                match current_fingerprint(&id).await {
                    Some(now) if now != fingerprint => reload_page(),
                    _ => look_again(id, fingerprint, every),
                }
            })
        },
        every,
    );
}

/// The request's fingerprint now, from the `watch_request` server function; `None` if the look failed.
async fn current_fingerprint(id: &str) -> Option<String> {
    let body = leptos::web_sys::UrlSearchParams::new().ok()?;
    body.append("id", id);
    let response = post(WatchRequest::url(), Some(body)).await.ok()?;
    if !response.ok() {
        return None;
    }
    read_json(&text_of(&response).await?)?.as_str().map(str::to_string)
}

/// Tiller's rollout on a ready Tiller-mode grant: what `helm` will find when it looks for Tiller.
#[component]
fn TillerStatus(rollout: TillerRollout) -> impl IntoView {
    let class = match rollout.state {
        TillerState::Available => "tiller-status available",
        TillerState::Failing => "tiller-status notice error",
        TillerState::Waiting | TillerState::Unknown => "tiller-status notice",
    };
    let advice = match rollout.state {
        TillerState::Available => "helm v2 can reach it.",
        TillerState::Waiting => {
            "helm v2 answers \u{201c}could not find a ready tiller pod\u{201d} until it is available."
        }
        TillerState::Failing => "It will not start by itself: tell an admin.",
        TillerState::Unknown => "",
    };
    view! {
        <p class=class role="status" data-testid="tiller-status" data-state=rollout.state.label()>
            <strong>{format!("Tiller is {}. ", rollout.state.label())}</strong>
            {format!("{} {advice}", rollout.detail)}
        </p>
    }
}
