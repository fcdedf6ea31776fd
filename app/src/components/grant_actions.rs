//! What can happen to a ready grant besides its kubeconfigs: its owner asks for more time, an approver
//! decides the ask, an admin deletes the namespace (typing its name to confirm). Each is a form that posts
//! without JavaScript; with it (each form is enhanced by an island), problems show next to their fields.

use leptos::prelude::*;
use leptos::server_fn::ServerFn as _;

use crate::api::admin::DeleteNamespace;
use crate::api::requests::{ApproveExtension, DenyExtension, ExtendRequest};
use crate::components::forms::{AfterSuccess, EnhancedForm, FieldProblem};
use crate::components::requests::minute;
use crate::model::Reason;
use crate::requests::{ExtensionAsk, NamespaceDeletion, field};

/// The owner asks for more days, saying why.
#[component]
pub fn ExtendForm(id: String, max_days: u32) -> impl IntoView {
    view! {
        <EnhancedForm action=ExtendRequest::url() after=AfterSuccess::Reload class="form extend"
            testid="extend-form" fields=&[field::DAYS, field::REASON]>
            <input type="hidden" name="id" value=id />
            <div class="field">
                <label for="extend-days">"More days"</label>
                <input id="extend-days" name=field::DAYS type="number" inputmode="numeric" min="1" max=max_days
                    value=max_days.min(30) />
                <FieldProblem field=field::DAYS />
            </div>
            <div class="field">
                <label for="extend-reason">"Why do you need it longer?"</label>
                <textarea id="extend-reason" name=field::REASON rows="2" maxlength=Reason::MAX_CHARS></textarea>
                <FieldProblem field=field::REASON />
            </div>
            <button type="submit" class="button">"Ask for an extension"</button>
        </EnhancedForm>
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

/// An approver grants or refuses the extension (refusing needs a reason): one form, a button per verdict.
/// Once decided, the card leaves the approval queue (or the request's page loads again).
#[component]
pub fn ExtensionDecisionForms(id: String, namespace: String) -> impl IntoView {
    let reason_id = format!("extension-reason-{id}");
    view! {
        <div class="decision" data-testid="extension-decision">
            <EnhancedForm action=ApproveExtension::url() also_for=&[DenyExtension::PATH] after=AfterSuccess::LeaveQueue
                class="decide" fields=&[field::REASON]>
                <input type="hidden" name="id" value=id />
                <div class="deny">
                    <label for=reason_id.clone()>"Reason for refusing the extension"</label>
                    <textarea id=reason_id name=field::REASON rows="2" maxlength=Reason::MAX_CHARS></textarea>
                    <FieldProblem field=field::REASON />
                </div>
                <div class="verdicts">
                    <button type="submit" class="button" formaction=ApproveExtension::url()
                        data-done=format!("{namespace}: extended.") aria-label=format!("Extend {namespace}")>
                        "Extend"
                    </button>
                    <button type="submit" class="button danger" formaction=DenyExtension::url()
                        data-done=format!("{namespace}: extension refused.")
                        aria-label=format!("Refuse to extend {namespace}")>
                        "Refuse"
                    </button>
                </div>
            </EnhancedForm>
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

/// An admin deletes the namespace and everything in it: the button stays disabled until its name is typed
/// (once the page is hydrated; without JavaScript the server checks the name).
#[component]
pub fn DeleteNamespaceForm(id: String, namespace: String) -> impl IntoView {
    view! {
        <details class="danger-zone" data-testid="delete-namespace">
            <summary>"Delete the namespace"</summary>
            <EnhancedForm action=DeleteNamespace::url() after=AfterSuccess::Reload class="form"
                fields=&[field::CONFIRM, field::REASON]>
                <input type="hidden" name="id" value=id />
                <p>
                    "This revokes every access to the namespace and then deletes it with "
                    <strong>"everything in it"</strong>
                    ". It cannot be undone."
                </p>
                <TypeToConfirm expected=namespace />
                <div class="field">
                    <label for="delete-reason">"Reason for deleting"</label>
                    <textarea id="delete-reason" name=field::REASON rows="2" maxlength=Reason::MAX_CHARS></textarea>
                    <FieldProblem field=field::REASON />
                </div>
                <button type="submit" class="button danger" data-confirms="delete-confirm">"Delete namespace"</button>
            </EnhancedForm>
        </details>
    }
}

/// The name to type again, its input marked with the name expected.
#[component]
fn TypeToConfirm(expected: String) -> impl IntoView {
    view! {
        <ConfirmByTyping>
            <label for="delete-confirm">{format!("Type {expected} to confirm")}</label>
            <input id="delete-confirm" name=field::CONFIRM autocomplete="off" spellcheck="false"
                data-expected=expected />
            <FieldProblem field=field::CONFIRM />
        </ConfirmByTyping>
    }
}

/// Holds the submit button of the form around it (the one marked `data-confirms`) disabled until the input
/// inside has the value of its `data-expected`.
#[island]
fn ConfirmByTyping(children: Children) -> impl IntoView {
    let frame = NodeRef::<leptos::html::Div>::new();
    let check = move || {
        let Some(frame) = frame.get_untracked() else { return };
        let confirmed = frame.query_selector("input[data-expected]").ok().flatten().and_then(|input| {
            let expected = input.get_attribute("data-expected")?;
            let typed = leptos::wasm_bindgen::JsCast::dyn_into::<leptos::web_sys::HtmlInputElement>(input).ok()?;
            Some(typed.value().trim() == expected)
        });
        let button = frame
            .closest("form")
            .ok()
            .flatten()
            .and_then(|form| form.query_selector("[data-confirms=delete-confirm]").ok().flatten());
        if let Some(button) = button {
            if confirmed == Some(true) {
                _ = button.remove_attribute("disabled")
            } else {
                _ = button.set_attribute("disabled", "")
            }
        }
    };
    // Once hydrated: the name may not have been typed yet (or the browser restored it).
    Effect::new(move |_| check());
    view! { <div class="field" node_ref=frame on:input=move |_| check()>{children()}</div> }
}
