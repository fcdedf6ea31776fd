//! One request: what it asks for, where it is, its audit trail, and what the viewer may do with it.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use crate::api::requests::get_request;
use crate::components::credentials::{CredentialList, DownloadForm, UsageHelp};
use crate::components::error_view::ErrorView;
use crate::components::grant_actions::{
    DeleteNamespaceForm, ExtendForm, ExtensionDecisionForms, ExtensionNotice, NamespaceDeletionNotice,
};
use crate::components::requests::{
    CancelForm, DecisionForms, ProvisioningStatus, RequestFacts, RetryForm, RevokeGrantForm, StateBadge, Timeline,
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
    let changed = RwSignal::new(0_u32);
    let detail = Resource::new(
        move || (params.with(|p| p.get("id").unwrap_or_default()), changed.get()),
        |(id, _)| get_request(id),
    );
    let on_done = Callback::new(move |_: RequestState| changed.update(|n| *n += 1));
    // The page follows the request by itself: every second while Berth provisions it (progress, then ready),
    // every 5 s while it waits for a decision (except for the approver deciding it: a refresh would wipe a
    // half-typed reason), not at all once it has settled. Effects run in the browser only; each answer
    // schedules the next look.
    Effect::new(move |_| {
        let now = detail.get().and_then(Result::ok).map(|d| {
            let deleting = d.request.namespace_deletion.is_some_and(|n| n.deleted_at.is_none());
            (d.request.state, d.may.decide, deleting)
        });
        let again = match now {
            Some((RequestState::Approved | RequestState::Provisioning | RequestState::Revoking, _, _)) => Some(1),
            // The worker deletes the namespace once the access is gone: show it done.
            Some((_, _, true)) => Some(1),
            Some((RequestState::Pending, false, _)) => Some(5),
            _ => None,
        };
        if let Some(seconds) = again {
            set_timeout(move || _ = changed.try_update(|n| *n += 1), std::time::Duration::from_secs(seconds));
        }
    });
    view! {
        <ErrorBoundary fallback=|errors| view! { <h1>"Request"</h1> <ErrorView errors /> }>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    detail.await.map(|detail| view! { <DetailView detail on_done /> })
                })}
            </Transition>
        </ErrorBoundary>
    }
}

#[component]
fn DetailView(detail: RequestDetail, on_done: Callback<RequestState>) -> impl IntoView {
    let request = detail.request;
    let state = request.state;
    let refresh = Callback::new(move |()| on_done.run(state));
    view! {
        <Title text=format!("{} · Request", request.namespace) />
        <div class="page-heading">
            <h1 data-testid="namespace">{request.namespace.clone()}</h1>
            <StateBadge state=request.state />
        </div>
        <RequestFacts request=request.clone() />
        {(request.state == RequestState::Ready && request.expiry_warned).then(|| view! {
            <p class="notice error" role="status" data-testid="expiry-warning">
                {format!(
                    "Access ends {}. Every kubeconfig of it stops working then; ask for an extension below if you still need it.",
                    request.expires_at.map(crate::components::requests::minute).unwrap_or_default()
                )}
            </p>
        })}
        {request.extension.clone().map(|ask| view! { <ExtensionNotice ask /> })}
        {request.namespace_deletion.map(|deletion| view! { <NamespaceDeletionNotice deletion /> })}
        <ProvisioningStatus request=request.clone() />
        {detail.tiller.map(|rollout| view! { <TillerStatus rollout /> })}
        {detail.may.decide_extension.then(|| view! {
            <ExtensionDecisionForms id=request.id.clone() namespace=request.namespace.clone() on_done=refresh />
        })}
        {detail.may.retry.then(|| view! { <RetryForm id=request.id.clone() on_done /> })}
        {detail.may.revoke.then(|| view! { <RevokeGrantForm id=request.id.clone() on_done /> })}
        {detail.may.delete_namespace.then(|| view! {
            <DeleteNamespaceForm id=request.id.clone() namespace=request.namespace.clone() on_done=refresh />
        })}
        {detail.may.cancel.then(|| view! { <CancelForm id=request.id.clone() on_done /> })}
        {detail.may.decide.then(|| view! { <DecisionForms id=request.id.clone() namespace=request.namespace.clone() on_done /> })}
        {detail.decide_refusal.map(|why| view! { <p class="notice" data-testid="decide-refusal">{why}</p> })}
        {(detail.may.download || !detail.credentials.is_empty()).then(|| view! {
            <h2 id="kubeconfig">"Kubeconfigs"</h2>
            {detail.credential_options.map(|options| view! {
                <DownloadForm id=request.id.clone() options />
                <UsageHelp namespace=request.namespace.clone() helm_mode=request.helm_mode />
            })}
            <h3>"Handed out"</h3>
            <CredentialList credentials=detail.credentials may_revoke=detail.may.revoke_credentials
                on_revoked=move |()| on_done.run(request.state) />
        })}
        {detail.may.extend.then(|| view! {
            <h2>"More time"</h2>
            <ExtendForm id=request.id.clone() max_days=detail.max_extension_days on_done=refresh />
        })}
        <h2>"History"</h2>
        <Timeline events=detail.events />
    }
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
