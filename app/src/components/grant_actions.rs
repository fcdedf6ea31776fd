//! What can happen to a ready grant besides its kubeconfigs: its owner asks for a change (more time, another
//! quota profile, Helm 3 instead of Tiller), approvers decide it, an admin deletes the namespace (typing its name to confirm). Each is a form that posts
//! without JavaScript; with it (each form is enhanced by an island), problems show next to their fields.

use leptos::prelude::*;
use leptos::server_fn::ServerFn as _;

use crate::api::admin::DeleteNamespace;
use crate::api::requests::{ApproveChange, AskForChange, DenyChange};
use crate::components::forms::{AfterSuccess, EnhancedForm, FieldProblem};
use crate::components::requests::{ApprovalProgressLine, minute};
use crate::model::Reason;
use crate::policy::approvals::{ApprovalStanding, ApproveOffer};
use crate::requests::{ChangeAsk, ChangeOptions, HelmMode, NamespaceDeletion, QuotaUse, field};

/// The owner asks for a change, saying why: more days, another quota profile, Helm 3 instead of Tiller.
/// Fields left as they are ask for nothing of their kind.
#[component]
pub fn ChangeRequestForm(id: String, options: ChangeOptions) -> impl IntoView {
    let ChangeOptions { max_days, quota_profiles, current_profile, tiller } = options;
    view! {
        <EnhancedForm action=AskForChange::url() after=AfterSuccess::Reload class="form change"
            testid="change-form" fields=&[field::DAYS, field::QUOTA_PROFILE, field::HELM_MODE, field::REASON]>
            <input type="hidden" name="id" value=id />
            <div class="field">
                <label for="change-days">"More days"</label>
                <input id="change-days" name=field::DAYS type="number" inputmode="numeric" min="1" max=max_days
                    aria-describedby="change-days-hint" />
                <p class="hint" id="change-days-hint">{format!("Empty: no more time. At most {max_days}.")}</p>
                <FieldProblem field=field::DAYS />
            </div>
            <div class="field">
                <label for="change-profile">"Quota profile"</label>
                <select id="change-profile" name=field::QUOTA_PROFILE>
                    <option value="" selected=true>{format!("Keep {current_profile}")}</option>
                    {quota_profiles
                        .into_iter()
                        .filter(|profile| profile.name != current_profile)
                        .map(|profile| {
                            let label = format!("{}: {}", profile.name, profile.description);
                            view! { <option value=profile.name>{label}</option> }
                        })
                        .collect_view()}
                </select>
                <FieldProblem field=field::QUOTA_PROFILE />
            </div>
            {tiller.then(|| view! {
                <div class="field">
                    <label>
                        <input type="checkbox" name=field::HELM_MODE value=HelmMode::NoTiller.as_str() />
                        " Switch to Helm 3: remove Tiller, and give my identity edit in the namespace"
                    </label>
                    <p class="hint">
                        "Your releases stay in the namespace's Secrets, where Tiller kept them. After the switch, "
                        "convert each with the helm-2to3 plugin (it reads them without Tiller): "
                        <code>"helm 2to3 convert --release-storage secrets --tiller-out-cluster --tiller-ns NAMESPACE RELEASE"</code>
                        ", then manage it with helm 3 as usual."
                    </p>
                    <FieldProblem field=field::HELM_MODE />
                </div>
            })}
            <div class="field">
                <label for="change-reason">"Why?"</label>
                <textarea id="change-reason" name=field::REASON rows="2" maxlength=Reason::MAX_CHARS></textarea>
                <FieldProblem field=field::REASON />
            </div>
            <button type="submit" class="button">"Ask for the change"</button>
        </EnhancedForm>
    }
}

/// How much of its quota the namespace uses (`status.used` against `hard`), so its owner sees when to ask
/// for more, and what a smaller profile would have to fit.
#[component]
pub fn QuotaUseTable(uses: Vec<QuotaUse>) -> impl IntoView {
    view! {
        <h2>"Quota use"</h2>
        <table class="quota-use" data-testid="quota-use">
            <thead>
                <tr><th scope="col">"Resource"</th><th scope="col">"Used"</th><th scope="col">"Of"</th></tr>
            </thead>
            <tbody>
                {uses
                    .into_iter()
                    .map(|usage| view! {
                        <tr data-resource=usage.resource.clone()>
                            <td data-label="Resource"><code>{usage.resource.clone()}</code></td>
                            <td data-label="Used">{usage.used}</td>
                            <td data-label="Of">{usage.hard}</td>
                        </tr>
                    })
                    .collect_view()}
            </tbody>
        </table>
    }
}

/// The change the owner asked for, shown with the grant.
#[component]
pub fn ChangeNotice(ask: ChangeAsk) -> impl IntoView {
    view! {
        <p class="notice" data-testid="change-pending">
            {format!("Change asked for on {}: {}. ", minute(ask.at), ask.summary())}
            <q class="reason">{ask.reason}</q>
            " Waiting for approval."
        </p>
    }
}

/// An approver approves or refuses the change (refusing needs a reason), each offered only if the policy lets
/// them: one form, a button per verdict. Once decided, the card leaves the approval queue (or the request's
/// page loads again).
#[component]
pub fn ChangeDecisionForms(id: String, namespace: String, standing: ApprovalStanding) -> impl IntoView {
    let reason_id = format!("change-reason-{id}");
    let ApprovalStanding { progress, approve, may_deny } = standing;
    let (approve_done, refusal) = match approve {
        ApproveOffer::Completes => (Some(format!("{namespace}: change approved.")), None),
        ApproveOffer::Counts => (Some(format!("{namespace}: your approval of the change is recorded.")), None),
        ApproveOffer::Refused(why) => (None, Some(why)),
    };
    let refusal = refusal.map(|why| view! { <p class="notice" data-testid="approve-refusal">{why}</p> });
    if approve_done.is_none() && !may_deny {
        return view! { <ApprovalProgressLine progress /> {refusal} }.into_any();
    }
    view! {
        <ApprovalProgressLine progress />
        {refusal}
        <div class="decision" data-testid="change-decision">
            <EnhancedForm action=ApproveChange::url() also_for=&[DenyChange::PATH] after=AfterSuccess::LeaveQueue
                class="decide" fields=&[field::REASON]>
                <input type="hidden" name="id" value=id />
                {may_deny.then(|| view! {
                    <div class="deny">
                        <label for=reason_id.clone()>"Reason for refusing the change"</label>
                        <textarea id=reason_id name=field::REASON rows="2" maxlength=Reason::MAX_CHARS></textarea>
                        <FieldProblem field=field::REASON />
                    </div>
                })}
                <div class="verdicts">
                    {approve_done.map(|done| view! {
                        <button type="submit" class="button" formaction=ApproveChange::url() data-done=done
                            aria-label=format!("Approve the change of {namespace}")>
                            "Approve change"
                        </button>
                    })}
                    {may_deny.then(|| view! {
                        <button type="submit" class="button danger" formaction=DenyChange::url()
                            data-done=format!("{namespace}: change refused.")
                            aria-label=format!("Refuse the change of {namespace}")>
                            "Refuse"
                        </button>
                    })}
                </div>
            </EnhancedForm>
        </div>
    }
    .into_any()
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
