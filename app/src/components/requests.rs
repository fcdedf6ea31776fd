//! Pieces every request page uses: the state badge, the facts of a request, its audit timeline, the
//! approve and deny forms, the cancel button, and the pager.

use chrono::{DateTime, Utc};
use leptos::prelude::*;

use crate::api::requests::{ApproveRequest, CancelRequest, DenyRequest, RetryRequest, RevokeRequest};
use crate::components::after_action::{decided, reload_after_success};
use crate::error::ApiError;
use crate::model::Reason;
use crate::requests::{AuditEvent, Page, RequestState, RequestSummary, field};

/// A time as every page shows it: to the minute, in UTC (the same on the server and in the browser, so
/// hydration matches).
pub fn minute(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

#[component]
pub fn StateBadge(state: RequestState) -> impl IntoView {
    view! {
        <span class=format!("state state-{}", state.as_str()) data-testid="state">{state.label()}</span>
    }
}

/// Everything a request asks for, as a definition list.
#[component]
pub fn RequestFacts(request: RequestSummary) -> impl IntoView {
    let requester = match &request.requester.email {
        Some(email) => format!("{} <{email}>", request.requester.display_name),
        None => request.requester.display_name.clone(),
    };
    view! {
        <dl class="facts">
            <dt>"Requested by"</dt>
            <dd data-testid="requester">{requester}</dd>
            <dt>"Purpose"</dt>
            <dd class="purpose" data-testid="purpose">{request.purpose}</dd>
            <dt>"Stage"</dt>
            <dd>{request.stage}</dd>
            <dt>"Helm"</dt>
            <dd data-testid="helm-mode">{request.helm_mode.label()}</dd>
            <dt>"Quota profile"</dt>
            <dd>{request.quota_profile}</dd>
            <dt>"Lifetime"</dt>
            <dd>{format!("{} days from provisioning", request.lifetime_days)}</dd>
            <dt>"Submitted"</dt>
            <dd>{minute(request.created_at)}</dd>
            {request.ready_at.map(|at| view! { <dt>"Ready since"</dt> <dd data-testid="ready-at">{minute(at)}</dd> })}
            {request.expires_at.map(|at| view! { <dt>"Access ends"</dt> <dd data-testid="expires-at">{minute(at)}</dd> })}
            {request.decision.map(|decision| {
                view! {
                    <dt>"Decided"</dt>
                    <dd data-testid="decision">
                        {format!("{} by {}", minute(decision.at), decision.by.display_name)}
                        {decision.reason.map(|reason| view! { <blockquote class="reason">{reason}</blockquote> })}
                    </dd>
                }
            })}
        </dl>
    }
}

/// The audit trail, oldest first.
#[component]
pub fn Timeline(events: Vec<AuditEvent>) -> impl IntoView {
    view! {
        <ol class="timeline" aria-label="History" data-testid="timeline">
            {events
                .into_iter()
                .map(|event| {
                    let who = event.actor.unwrap_or_else(|| "Berth".to_string());
                    view! {
                        <li>
                            <time>{minute(event.at)}</time>
                            " "
                            <strong>{who}</strong>
                            " "
                            {event.action.past_tense()}
                            {event.from.filter(|from| *from != event.to).map(|from| format!(" ({} → {})", from.label(), event.to.label()))}
                            {event.reason.map(|reason| view! { <q class="reason">{reason}</q> })}
                        </li>
                    }
                })
                .collect_view()}
        </ol>
    }
}

/// The message of a failed action, unless it belongs next to a form field.
fn action_error(result: Option<Result<RequestState, ApiError>>) -> Option<String> {
    match result {
        Some(Err(error)) if error.problem_with(field::REASON).is_none() => Some(error.to_string()),
        _ => None,
    }
}

/// Approve, or deny with a reason. Once decided: out of the approval queue, or the request's page again.
#[island]
pub fn DecisionForms(id: String, namespace: String) -> impl IntoView {
    let approve = ServerAction::<ApproveRequest>::new();
    let deny = ServerAction::<DenyRequest>::new();
    let root = NodeRef::<leptos::html::Div>::new();
    for action in [approve.value(), deny.value()] {
        let namespace = namespace.clone();
        Effect::new(move |_| {
            if let Some(Ok(state)) = action.get() {
                decided(root.get_untracked().map(Into::into), format!("{namespace}: {}.", state.label()));
            }
        });
    }
    let reason_problem = move || {
        deny.value().get().and_then(|r| r.err()).and_then(|e| e.problem_with(field::REASON).map(str::to_string))
    };
    let busy = move || approve.pending().get() || deny.pending().get();
    let reason_id = format!("reason-{id}");
    let problem_id = format!("reason-problem-{id}");
    let (approve_label, deny_label) = (format!("Approve {namespace}"), format!("Deny {namespace}"));
    let deny_id = id.clone();
    view! {
        <div class="decision" node_ref=root>
            <ActionForm action=approve attr:class="inline">
                <input type="hidden" name="id" value=id />
                <button type="submit" class="button" disabled=busy aria-label=approve_label>
                    "Approve"
                </button>
            </ActionForm>
            <ActionForm action=deny attr:class="deny">
                <input type="hidden" name="id" value=deny_id />
                <label for=reason_id.clone()>"Reason for denying"</label>
                <textarea
                    id=reason_id
                    name="reason"
                    rows="2"
                    maxlength=Reason::MAX_CHARS
                    aria-invalid=move || reason_problem().is_some().to_string()
                    aria-describedby=problem_id.clone()
                ></textarea>
                <p class="field-problem" id=problem_id.clone() role="alert">{reason_problem}</p>
                <button type="submit" class="button danger" disabled=busy aria-label=deny_label>
                    "Deny"
                </button>
            </ActionForm>
            <p class="action-problem" role="alert">
                {move || action_error(approve.value().get()).or_else(|| action_error(deny.value().get()))}
            </p>
        </div>
    }
}

/// The requester withdraws a pending request.
#[island]
pub fn CancelForm(id: String) -> impl IntoView {
    let cancel = ServerAction::<CancelRequest>::new();
    reload_after_success(cancel.value());
    view! {
        <ActionForm action=cancel attr:class="inline">
            <input type="hidden" name="id" value=id />
            <button type="submit" class="button secondary" disabled=move || cancel.pending().get()>
                "Cancel request"
            </button>
            <span class="action-problem" role="alert">{move || action_error(cancel.value().get())}</span>
        </ActionForm>
    }
}

/// Where provisioning stands: the objects applied so far, and the cluster's last error (why it failed, or
/// why it is being retried).
#[component]
pub fn ProvisioningStatus(request: RequestSummary) -> impl IntoView {
    let state = request.state;
    let in_flight = matches!(state, RequestState::Approved | RequestState::Provisioning);
    let progress = request.progress.map(|p| {
        view! {
            <p data-testid="progress">
                <progress max=p.total value=p.applied></progress>
                {format!(" {} of {} objects applied", p.applied, p.total)}
            </p>
        }
    });
    let heading = match state {
        RequestState::Approved => Some("Waiting for Berth to start provisioning…"),
        RequestState::Provisioning => Some("Creating the namespace and its access…"),
        RequestState::Failed => Some("Provisioning failed. An admin can retry once the cause is fixed."),
        _ => None,
    };
    (in_flight || state == RequestState::Failed).then(|| {
        view! {
            <section class="provisioning" aria-live="polite" data-testid="provisioning">
                <p>{heading}</p>
                {progress}
                {request.last_error.map(|error| view! { <p class="notice error" data-testid="last-error">{error}</p> })}
            </section>
        }
    })
}

/// An admin starts provisioning a failed request again.
#[island]
pub fn RetryForm(id: String) -> impl IntoView {
    let retry = ServerAction::<RetryRequest>::new();
    reload_after_success(retry.value());
    view! {
        <ActionForm action=retry attr:class="inline">
            <input type="hidden" name="id" value=id />
            <button type="submit" class="button" disabled=move || retry.pending().get()>"Retry provisioning"</button>
            <span class="action-problem" role="alert">{move || action_error(retry.value().get())}</span>
        </ActionForm>
    }
}

/// An admin takes a grant's access away, with a reason (the owner sees it in the history).
#[island]
pub fn RevokeGrantForm(id: String) -> impl IntoView {
    let revoke = ServerAction::<RevokeRequest>::new();
    reload_after_success(revoke.value());
    let problem = move || revoke.value().get().and_then(Result::err).map(|error| error.to_string());
    view! {
        <ActionForm action=revoke attr:class="deny">
            <input type="hidden" name="id" value=id />
            <label for="revoke-reason">"Reason for revoking access"</label>
            <textarea id="revoke-reason" name="reason" rows="2" maxlength=Reason::MAX_CHARS required=true></textarea>
            <button type="submit" class="button danger" disabled=move || revoke.pending().get()>
                "Revoke access"
            </button>
            <p class="action-problem" role="alert">{problem}</p>
        </ActionForm>
    }
}

/// "Page 2 of 400 · 10000 pending" with links to the neighbours; `path` is the page's own path, `noun` says
/// what is counted (singular, plural).
#[component]
pub fn Pager<T: Send + Sync + 'static>(
    page: Page<T>,
    path: &'static str,
    noun: (&'static str, &'static str),
    /// The view's other query parameters (`q=shop&state=ready`), kept on every page.
    #[prop(optional, into)]
    query: String,
) -> impl IntoView {
    let noun = if page.total == 1 { noun.0 } else { noun.1 };
    let count = page.count();
    let link = move |number: u32| {
        if query.is_empty() { format!("{path}?page={number}") } else { format!("{path}?{query}&page={number}") }
    };
    view! {
        <nav class="pager" aria-label="Pages">
            <span data-testid="page-position">
                {format!("Page {} of {count} · {} {noun}", page.number, page.total)}
            </span>
            {(page.number > 1).then(|| view! { <a href=link(page.number - 1) rel="prev">"← Previous"</a> })}
            {(page.number < count).then(|| view! { <a href=link(page.number + 1) rel="next">"Next →"</a> })}
        </nav>
    }
}
