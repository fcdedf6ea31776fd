//! Pieces every request page uses: the state badge, the facts of a request, its audit timeline, the
//! approve and deny forms, the cancel button, and the pager.

use chrono::{DateTime, Utc};
use leptos::prelude::*;
use leptos::server_fn::ServerFn as _;

use crate::api::requests::{ApproveRequest, CancelRequest, DenyRequest, RetryRequest, RevokeRequest};
use crate::components::forms::{AfterSuccess, EnhancedForm, FieldProblem};
use crate::model::Reason;
use crate::policy::approvals::{ApprovalProgress, ApprovalStanding, ApproveOffer};
use crate::requests::{AuditEvent, Page, RequestState, RequestSummary, field};

/// A time as every page shows it: to the minute, in UTC (the same on the server and in the browser, so
/// hydration matches).
pub fn minute(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// A point in time in a table: the day, on one line, with the exact minute on hover and the instant for
/// machines.
#[component]
pub fn Day(at: DateTime<Utc>) -> impl IntoView {
    view! {
        <time datetime=at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true) title=minute(at)>
            {at.format("%Y-%m-%d").to_string()}
        </time>
    }
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

/// How far a pending request's approvals are, when it needs more than one: "1 of 2: berth-approvers
/// approved by Bob Berg; platform-approvers waiting".
#[component]
pub fn ApprovalProgressLine(progress: ApprovalProgress) -> impl IntoView {
    progress.needs_several().then(|| {
        view! { <p class="approval-progress" data-testid="approval-progress">{progress.line()}</p> }
    })
}

/// Approve, or deny with a reason: one form, a button per verdict, each offered only if the policy lets the
/// approver give it (an approval that would fill no open seat is not offered, and the page says why). Once
/// decided, the card leaves the approval queue (or the request's page loads again).
#[component]
pub fn DecisionForms(id: String, namespace: String, standing: ApprovalStanding) -> impl IntoView {
    let reason_id = format!("reason-{id}");
    let problem_id = format!("reason-problem-{id}");
    let ApprovalStanding { progress, approve, may_deny } = standing;
    let (approve_done, approve_refusal) = match approve {
        ApproveOffer::Completes => (Some(format!("{namespace}: {}.", RequestState::Approved.label())), None),
        ApproveOffer::Counts => {
            (Some(format!("{namespace}: your approval is recorded; it still waits for the others needed.")), None)
        }
        ApproveOffer::Refused(why) => (None, Some(why)),
    };
    let refusal = approve_refusal.map(|why| view! { <p class="notice" data-testid="approve-refusal">{why}</p> });
    if approve_done.is_none() && !may_deny {
        return view! { <ApprovalProgressLine progress /> {refusal} }.into_any();
    }
    view! {
        <ApprovalProgressLine progress />
        {refusal}
        <div class="decision">
            <EnhancedForm action=ApproveRequest::url() also_for=&[DenyRequest::PATH] after=AfterSuccess::LeaveQueue
                class="decide" fields=&[field::REASON]>
                <input type="hidden" name="id" value=id />
                {may_deny.then(|| view! {
                    <div class="deny">
                        <label for=reason_id.clone()>"Reason for denying"</label>
                        <textarea id=reason_id name="reason" rows="2" maxlength=Reason::MAX_CHARS
                            aria-describedby=problem_id.clone()></textarea>
                        <FieldProblem field=field::REASON id=problem_id />
                    </div>
                })}
                <div class="verdicts">
                    {approve_done.map(|done| view! {
                        <button type="submit" class="button" formaction=ApproveRequest::url() data-done=done
                            aria-label=format!("Approve {namespace}")>
                            "Approve"
                        </button>
                    })}
                    {may_deny.then(|| view! {
                        <button type="submit" class="button danger" formaction=DenyRequest::url()
                            data-done=format!("{namespace}: {}.", RequestState::Denied.label())
                            aria-label=format!("Deny {namespace}")>
                            "Deny"
                        </button>
                    })}
                </div>
            </EnhancedForm>
        </div>
    }
    .into_any()
}

/// The requester withdraws a pending request.
#[component]
pub fn CancelForm(id: String) -> impl IntoView {
    view! {
        <EnhancedForm action=CancelRequest::url() after=AfterSuccess::Reload class="inline">
            <input type="hidden" name="id" value=id />
            <button type="submit" class="button secondary">"Cancel request"</button>
        </EnhancedForm>
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
#[component]
pub fn RetryForm(id: String) -> impl IntoView {
    view! {
        <EnhancedForm action=RetryRequest::url() after=AfterSuccess::Reload class="inline">
            <input type="hidden" name="id" value=id />
            <button type="submit" class="button">"Retry provisioning"</button>
        </EnhancedForm>
    }
}

/// An admin takes a grant's access away, with a reason (the owner sees it in the history).
#[component]
pub fn RevokeGrantForm(id: String) -> impl IntoView {
    view! {
        <EnhancedForm action=RevokeRequest::url() after=AfterSuccess::Reload class="deny"
            fields=&[field::REASON]>
            <input type="hidden" name="id" value=id />
            <label for="revoke-reason">"Reason for revoking access"</label>
            <textarea id="revoke-reason" name=field::REASON rows="2" maxlength=Reason::MAX_CHARS required=true></textarea>
            <FieldProblem field=field::REASON />
            <button type="submit" class="button danger">"Revoke access"</button>
        </EnhancedForm>
    }
}

/// "Page 2 of 400 · 10000 pending" with links to the neighbours; `path` is the page's own path, `noun` says
/// what is counted (singular, plural). With `keyset` (the ids of the page's first and last items), the links
/// say where the neighbour starts (`before=`, `after=`) so the server finds it by index, not by counting.
#[component]
pub fn Pager<T: Send + Sync + 'static>(
    page: Page<T>,
    path: &'static str,
    noun: (&'static str, &'static str),
    /// The view's other query parameters (`q=shop&state=ready`), kept on every page.
    #[prop(optional, into)]
    query: String,
    #[prop(default = None)] keyset: Option<(String, String)>,
) -> impl IntoView {
    let noun = if page.total == 1 { noun.0 } else { noun.1 };
    let count = page.count();
    let link = move |number: u32| {
        let neighbour = match (&keyset, number < page.number) {
            (Some((first, _)), true) if number > 1 => format!("before={first}&"),
            (Some((_, last)), false) => format!("after={last}&"),
            _ => String::new(),
        };
        if query.is_empty() {
            format!("{path}?{neighbour}page={number}")
        } else {
            format!("{path}?{query}&{neighbour}page={number}")
        }
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
