//! What can happen to a ready grant besides its kubeconfigs: its owner asks for more time, an approver
//! decides the ask, an admin deletes the namespace (typing its name to confirm). Each is a form that posts
//! without JavaScript; with it (each form is an island), problems show next to their fields.

use leptos::prelude::*;

use crate::api::admin::DeleteNamespace;
use crate::api::requests::{ApproveExtension, DenyExtension, ExtendRequest};
use crate::components::after_action::{decided, reload_after_success};
use crate::components::requests::minute;
use crate::error::ApiError;
use crate::model::Reason;
use crate::requests::{ExtensionAsk, NamespaceDeletion, field};

/// The message of a failed action that belongs to no field in particular.
fn general_problem(result: Option<Result<(), ApiError>>, fields: &[&str]) -> Option<String> {
    match result {
        Some(Err(error)) if fields.iter().all(|f| error.problem_with(f).is_none()) => Some(error.to_string()),
        _ => None,
    }
}

fn field_problem(result: Option<Result<(), ApiError>>, name: &'static str) -> Option<String> {
    result.and_then(Result::err).and_then(|e| e.problem_with(name).map(str::to_string))
}

/// The owner asks for more days, saying why.
#[island]
pub fn ExtendForm(id: String, max_days: u32) -> impl IntoView {
    let extend = ServerAction::<ExtendRequest>::new();
    reload_after_success(extend.value());
    let days_problem = move || field_problem(extend.value().get(), field::DAYS);
    let reason_problem = move || field_problem(extend.value().get(), field::REASON);
    view! {
        <ActionForm action=extend attr:class="form extend" attr:data-testid="extend-form">
            <input type="hidden" name="id" value=id />
            <div class="field">
                <label for="extend-days">"More days"</label>
                <input id="extend-days" name="days" type="number" inputmode="numeric" min="1" max=max_days value=max_days.min(30)
                    aria-invalid=move || days_problem().is_some().to_string() />
                <p class="field-problem" role="alert">{days_problem}</p>
            </div>
            <div class="field">
                <label for="extend-reason">"Why do you need it longer?"</label>
                <textarea id="extend-reason" name="reason" rows="2" maxlength=Reason::MAX_CHARS
                    aria-invalid=move || reason_problem().is_some().to_string()></textarea>
                <p class="field-problem" role="alert">{reason_problem}</p>
            </div>
            <button type="submit" class="button" disabled=move || extend.pending().get()>"Ask for an extension"</button>
            <p class="action-problem" role="alert">
                {move || general_problem(extend.value().get(), &[field::DAYS, field::REASON])}
            </p>
        </ActionForm>
    }
}

/// What the owner asked for, shown with the grant.
#[component]
pub fn ExtensionNotice(ask: ExtensionAsk) -> impl IntoView {
    view! {
        <p class="notice" data-testid="extension-pending">
            {format!("Extension asked for on {}: {} more days. ", minute(ask.at), ask.days)}
            <q class="reason">{ask.reason}</q>
            " Waiting for an approver."
        </p>
    }
}

/// An approver grants or refuses the extension (refusing needs a reason). Once decided: out of the approval
/// queue, or the request's page again.
#[island]
pub fn ExtensionDecisionForms(id: String, namespace: String) -> impl IntoView {
    let approve = ServerAction::<ApproveExtension>::new();
    let deny = ServerAction::<DenyExtension>::new();
    let root = NodeRef::<leptos::html::Div>::new();
    for (action, outcome) in [(approve.value(), "extended"), (deny.value(), "extension refused")] {
        let namespace = namespace.clone();
        Effect::new(move |_| {
            if let Some(Ok(())) = action.get() {
                decided(root.get_untracked().map(Into::into), format!("{namespace}: {outcome}."));
            }
        });
    }
    let busy = move || approve.pending().get() || deny.pending().get();
    let reason_problem = move || field_problem(deny.value().get(), field::REASON);
    let reason_id = format!("extension-reason-{id}");
    let deny_id = id.clone();
    let (extend_label, refuse_label) = (format!("Extend {namespace}"), format!("Refuse to extend {namespace}"));
    view! {
        <div class="decision" data-testid="extension-decision" node_ref=root>
            <ActionForm action=approve attr:class="inline">
                <input type="hidden" name="id" value=id />
                <button type="submit" class="button" disabled=busy aria-label=extend_label>
                    "Extend"
                </button>
            </ActionForm>
            <ActionForm action=deny attr:class="deny">
                <input type="hidden" name="id" value=deny_id />
                <label for=reason_id.clone()>"Reason for refusing the extension"</label>
                <textarea id=reason_id name="reason" rows="2" maxlength=Reason::MAX_CHARS
                    aria-invalid=move || reason_problem().is_some().to_string()></textarea>
                <p class="field-problem" role="alert">{reason_problem}</p>
                <button type="submit" class="button danger" disabled=busy aria-label=refuse_label>
                    "Refuse"
                </button>
            </ActionForm>
            <p class="action-problem" role="alert">
                {move || general_problem(approve.value().get(), &[]).or_else(|| general_problem(deny.value().get(), &[field::REASON]))}
            </p>
        </div>
    }
}

/// Where the admin's deletion of the namespace stands.
#[component]
pub fn NamespaceDeletionNotice(deletion: NamespaceDeletion) -> impl IntoView {
    let text = match deletion.deleted_at {
        Some(at) => {
            format!("The namespace was deleted on {} (asked for on {}).", minute(at), minute(deletion.requested_at))
        }
        None => format!(
            "An admin asked on {} for the namespace to be deleted; Berth deletes it once its access is removed.",
            minute(deletion.requested_at)
        ),
    };
    view! { <p class="notice error" data-testid="namespace-deletion">{text}</p> }
}

/// An admin deletes the namespace and everything in it: the button stays disabled until its name is typed.
#[island]
pub fn DeleteNamespaceForm(id: String, namespace: String) -> impl IntoView {
    let delete = ServerAction::<DeleteNamespace>::new();
    reload_after_success(delete.value());
    let typed = RwSignal::new(String::new());
    let expected = namespace.clone();
    let confirmed = move || typed.get().trim() == expected;
    // Effects run in the browser only, after hydration: the page rendered without JavaScript keeps the button
    // enabled (the server checks the name), the hydrated one disables it until the name is typed.
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| hydrated.set(true));
    let confirm_problem = move || field_problem(delete.value().get(), field::CONFIRM);
    let reason_problem = move || field_problem(delete.value().get(), field::REASON);
    view! {
        <details class="danger-zone" data-testid="delete-namespace">
            <summary>"Delete the namespace"</summary>
            <ActionForm action=delete attr:class="form">
                <input type="hidden" name="id" value=id />
                <p>
                    "This revokes every access to the namespace and then deletes it with "
                    <strong>"everything in it"</strong>
                    ". It cannot be undone."
                </p>
                <div class="field">
                    <label for="delete-confirm">{format!("Type {namespace} to confirm")}</label>
                    <input id="delete-confirm" name="confirm" autocomplete="off" spellcheck="false"
                        aria-invalid=move || confirm_problem().is_some().to_string()
                        prop:value=move || typed.get() on:input=move |ev| typed.set(event_target_value(&ev)) />
                    <p class="field-problem" role="alert">{confirm_problem}</p>
                </div>
                <div class="field">
                    <label for="delete-reason">"Reason for deleting"</label>
                    <textarea id="delete-reason" name="reason" rows="2" maxlength=Reason::MAX_CHARS
                        aria-invalid=move || reason_problem().is_some().to_string()></textarea>
                    <p class="field-problem" role="alert">{reason_problem}</p>
                </div>
                <button type="submit" class="button danger"
                    disabled=move || delete.pending().get() || (hydrated.get() && !confirmed())>
                    "Delete namespace"
                </button>
                <p class="action-problem" role="alert">
                    {move || general_problem(delete.value().get(), &[field::CONFIRM, field::REASON])}
                </p>
            </ActionForm>
        </details>
    }
}
