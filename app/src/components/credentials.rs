//! The kubeconfig section of a ready grant: the download form, the kubeconfigs handed out so far, and how
//! to use one (kubectl, Helm 3, Helm 2 with the namespace's Tiller, a Jenkins pipeline).
//!
//! The form is a plain POST to `/requests/{id}/kubeconfig`, answered with the file, so it works without
//! JavaScript; with it, the fields are checked while typing and the lifetime follows the chosen purpose.
//! (Not an `EnhancedForm`: the answer is a file to save, which the browser does best by itself.)

use leptos::prelude::*;
use leptos::server_fn::ServerFn as _;

use crate::api::credentials::RevokeCredential;
use crate::components::forms::{AfterSuccess, EnhancedForm};
use crate::components::requests::minute;
use crate::model::{Bounds, Reason};
use crate::requests::HelmMode;
use crate::requests::credentials::{
    CredentialOptions, CredentialPurpose, CredentialSummary, DownloadCheck, MAX_NAME_CHARS, field,
};
use crate::requests::usage::{self, Usage};

/// The download form: who will use the kubeconfig, the CI system's name, the lifetime. Rendered as it first
/// shows (a personal kubeconfig of the default lifetime); [`DownloadChecks`] keeps it up to date as the
/// person types, reading the lifetimes allowed from the form's `data-` attributes.
#[component]
pub fn DownloadForm(id: String, options: CredentialOptions) -> impl IntoView {
    let first = DownloadCheck::of(&options, CredentialPurpose::Personal, "", &options.personal.default.to_string());
    view! {
        <DownloadChecks>
            <form method="post" action=format!("/requests/{id}/kubeconfig") class="form download" data-testid="download-form"
                data-personal-hours=options.personal.to_attribute() data-ci-hours=options.ci.to_attribute()>
                <fieldset class="field">
                    <legend>"Who will use it?"</legend>
                    <label class="choice">
                        <input type="radio" name=field::PURPOSE value=CredentialPurpose::Personal.as_str() checked=true />
                        "Me, on my own machine"
                    </label>
                    <label class="choice">
                        <input type="radio" name=field::PURPOSE value=CredentialPurpose::Ci.as_str() data-testid="purpose-ci" />
                        "A robot: a CI system, such as Jenkins"
                    </label>
                </fieldset>
                <div class="field">
                    <label for="credential-name">"Robot's name (for a robot only)"</label>
                    <input id="credential-name" name=field::NAME placeholder="jenkins-prod" maxlength=MAX_NAME_CHARS
                        autocomplete="off" spellcheck="false" aria-invalid="false" />
                    <p class="field-problem" role="alert" data-shows="name-problem"></p>
                </div>
                <div class="field">
                    <label for="credential-hours">"Lifetime in hours"</label>
                    <input id="credential-hours" name=field::LIFETIME_HOURS type="number" inputmode="numeric"
                        min=first.bounds.min max=first.bounds.max value=first.bounds.default aria-invalid="false" />
                    <p class="help" data-shows="hours-hint">{first.hours_hint}</p>
                    <p class="field-problem" role="alert" data-shows="hours-problem"></p>
                </div>
                <button type="submit" class="button" data-testid="download">"Download kubeconfig"</button>
                <p class="help">
                    "Every download is a credential of its own, listed below; an admin can revoke each one. A robot's "
                    "kubeconfig acts as the robot (the grant's owner creates it by naming it the first time). "
                    "Keep the file secret: it is the key to this namespace."
                </p>
            </form>
        </DownloadChecks>
    }
}

/// Checks the download form inside as the person types ([`DownloadCheck`], the rules the server applies
/// too): the problems next to their fields, the lifetime's limits and default following the chosen purpose,
/// and the button held disabled while something is wrong.
#[island]
fn DownloadChecks(children: Children) -> impl IntoView {
    let frame = NodeRef::<leptos::html::Div>::new();
    let refresh = move |purpose_changed: bool| {
        if let Some(form) = frame.get_untracked().and_then(|frame| frame.query_selector("form").ok().flatten()) {
            show_download_check(&form, purpose_changed);
        }
    };
    // Once hydrated: the browser may have restored what was typed before a reload.
    Effect::new(move |_| refresh(false));
    view! {
        <div class="island-frame" node_ref=frame on:input=move |_| refresh(false) on:change=move |ev| {
            let is_purpose = event_target::<leptos::web_sys::Element>(&ev).get_attribute("name").as_deref() == Some(field::PURPOSE);
            refresh(is_purpose)
        }>
            {children()}
        </div>
    }
}

/// Brings `form` up to date with what is typed in it; a new purpose also resets the lifetime to its default.
fn show_download_check(form: &leptos::web_sys::Element, purpose_changed: bool) {
    use leptos::wasm_bindgen::JsCast;
    let bounds = |purpose: CredentialPurpose| {
        form.get_attribute(&format!("data-{}-hours", purpose.as_str())).and_then(|text| Bounds::from_attribute(&text))
    };
    let (Some(personal), Some(ci)) = (bounds(CredentialPurpose::Personal), bounds(CredentialPurpose::Ci)) else {
        return;
    };
    let options = CredentialOptions { personal, ci };
    let input = |selector: &str| {
        form.query_selector(selector)
            .ok()
            .flatten()
            .and_then(|input| input.dyn_into::<leptos::web_sys::HtmlInputElement>().ok())
    };
    let purpose = input(&format!("[name={}]:checked", field::PURPOSE))
        .and_then(|chosen| CredentialPurpose::parse(&chosen.value()))
        .unwrap_or(CredentialPurpose::Personal);
    let (Some(name), Some(hours)) =
        (input(&format!("[name={}]", field::NAME)), input(&format!("[name={}]", field::LIFETIME_HOURS)))
    else {
        return;
    };
    if purpose_changed {
        hours.set_value(&options.bounds(purpose).default.to_string());
    }
    let check = DownloadCheck::of(&options, purpose, &name.value(), &hours.value());
    let invalid = |problem: &Option<String>| if problem.is_some() { "true" } else { "false" };
    _ = name.set_attribute("aria-invalid", invalid(&check.name_problem));
    _ = hours.set_attribute("aria-invalid", invalid(&check.hours_problem));
    _ = hours.set_attribute("min", &check.bounds.min.to_string());
    _ = hours.set_attribute("max", &check.bounds.max.to_string());
    let show = |what: &str, text: Option<&str>| {
        if let Ok(Some(shown)) = form.query_selector(&format!("[data-shows={what}]")) {
            shown.set_text_content(text);
        }
    };
    show("name-problem", check.name_problem.as_deref());
    show("hours-problem", check.hours_problem.as_deref());
    show("hours-hint", Some(&check.hours_hint));
    if let Ok(Some(button)) = form.query_selector("[data-testid=download]") {
        if check.is_ready() {
            _ = button.remove_attribute("disabled")
        } else {
            _ = button.set_attribute("disabled", "")
        }
    }
}

/// The kubeconfigs handed out for the grant, newest first; a revoke form on each one still in force that
/// the viewer may revoke: every one with `may_revoke` (the grant's owner, admins), else those issued to
/// `viewer` (a member's own).
#[component]
pub fn CredentialList(
    credentials: Vec<CredentialSummary>,
    may_revoke: bool,
    #[prop(optional, into)] viewer: String,
) -> impl IntoView {
    if credentials.is_empty() {
        return view! { <p class="muted" data-testid="no-credentials">"No kubeconfig has been downloaded yet."</p> }
            .into_any();
    }
    view! {
        <table class="table credentials" data-testid="credentials">
            <thead><tr><th>"For"</th><th>"Issued to"</th><th>"Issued"</th><th>"Expires"</th><th>"Status"</th></tr></thead>
            <tbody>
                {credentials.into_iter().map(|c| {
                    let who = match c.purpose {
                        CredentialPurpose::Personal => "Personal".to_string(),
                        CredentialPurpose::Ci => format!("Robot: {}", c.name),
                    };
                    let status = match c.revoked_at {
                        Some(at) => view! {
                            <span data-testid="revoked">
                                {format!("Revoked {} by {}", minute(at), c.revoked_by.unwrap_or_default())}
                                {c.revoke_reason.map(|reason| view! { <q class="reason">{reason}</q> })}
                            </span>
                        }.into_any(),
                        None if may_revoke || c.owner_id == viewer => view! { <RevokeForm id=c.id.clone() /> }.into_any(),
                        None => view! { <span>"In force"</span> }.into_any(),
                    };
                    view! {
                        <tr data-testid="credential">
                            <td data-label="For">{who}</td>
                            <td data-label="Issued to">{c.owner}</td>
                            <td data-label="Issued"><time>{minute(c.issued_at)}</time></td>
                            <td data-label="Expires"><time>{minute(c.expires_at)}</time></td>
                            <td data-label="Status">{status}</td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}

/// Revokes one kubeconfig, with a reason.
#[component]
fn RevokeForm(id: String) -> impl IntoView {
    view! {
        <EnhancedForm action=RevokeCredential::url() after=AfterSuccess::Reload class="inline revoke">
            <input type="hidden" name="id" value=id />
            <input name="reason" placeholder="Why?" aria-label="Reason for revoking" required=true maxlength=Reason::MAX_CHARS />
            <button type="submit" class="button danger">"Revoke"</button>
        </EnhancedForm>
    }
}

/// How to use the downloaded file, for the namespace's Helm mode (the text comes from `requests::usage`, which
/// the tests execute line by line).
#[component]
pub fn UsageHelp(namespace: String, helm_mode: HelmMode) -> impl IntoView {
    let usage = Usage::for_namespace(&namespace, helm_mode);
    let jenkinsfile = usage.jenkinsfile(&namespace);
    let credential = usage::jenkins_credential(&namespace);
    view! {
        <h3>"Using it"</h3>
        <p>"On your machine, in the folder with "<code>{usage.personal_file.clone()}</code>":"</p>
        <pre class="usage" data-testid="usage-shell">{usage.shell_text()}</pre>
        <p>
            "In Jenkins: add the kubeconfig you downloaded for CI ("<code>{usage.ci_file.clone()}</code>") as a "
            "“Secret file” credential named "<code>{credential}</code>", then in the pipeline's steps:"
        </p>
        <pre class="usage" data-testid="usage-jenkins">{jenkinsfile}</pre>
    }
}
