//! The kubeconfig section of a ready grant: the download form, the kubeconfigs handed out so far, and how
//! to use one (kubectl, Helm 3, Helm 2 with the namespace's Tiller, a Jenkins pipeline).
//!
//! The form is a plain POST to `/requests/{id}/kubeconfig`, answered with the file, so it works without
//! JavaScript; with it, the fields are checked while typing and the lifetime follows the chosen purpose.

use leptos::prelude::*;
use leptos::server_fn::ServerFn as _;

use crate::api::credentials::RevokeCredential;
use crate::components::forms::{AfterSuccess, EnhancedForm};
use crate::components::requests::minute;
use crate::model::Reason;
use crate::requests::HelmMode;
use crate::requests::credentials::{
    CredentialOptions, CredentialPurpose, CredentialSummary, MAX_NAME_CHARS, describe_hours, field, name_problem,
};
use crate::requests::usage::{self, Usage};

#[island]
pub fn DownloadForm(id: String, options: CredentialOptions) -> impl IntoView {
    let purpose = RwSignal::new(CredentialPurpose::Personal);
    let name = RwSignal::new(String::new());
    let hours = RwSignal::new(options.personal.default.to_string());
    let bounds = move || options.bounds(purpose.get());
    let name_error =
        move || (purpose.get() == CredentialPurpose::Ci).then(|| name_problem(name.get().trim())).flatten();
    let hours_error = move || {
        let b = bounds();
        match hours.get().trim().parse::<u32>() {
            Ok(h) if (b.min..=b.max).contains(&h) => None,
            _ => Some(format!("Between {} and {} hours ({}).", b.min, b.max, describe_hours(b.max))),
        }
    };
    let choose = move |chosen: CredentialPurpose| {
        purpose.set(chosen);
        hours.set(options.bounds(chosen).default.to_string());
    };
    let hint = move || {
        let b = bounds();
        format!("{} to {}; at most until the grant ends.", describe_hours(b.min), describe_hours(b.max))
    };
    view! {
        <form method="post" action=format!("/requests/{id}/kubeconfig") class="form download" data-testid="download-form">
            <fieldset class="field">
                <legend>"Who will use it?"</legend>
                <label class="choice">
                    <input type="radio" name=field::PURPOSE value="personal" checked=true
                        on:change=move |_| choose(CredentialPurpose::Personal) />
                    "Me, on my own machine"
                </label>
                <label class="choice">
                    <input type="radio" name=field::PURPOSE value="ci" data-testid="purpose-ci"
                        on:change=move |_| choose(CredentialPurpose::Ci) />
                    "A CI system, such as Jenkins"
                </label>
            </fieldset>
            <div class="field">
                <label for="credential-name">"CI system's name (for CI only)"</label>
                <input id="credential-name" name=field::NAME placeholder="jenkins-prod" maxlength=MAX_NAME_CHARS
                    autocomplete="off" spellcheck="false" aria-invalid=move || name_error().is_some().to_string()
                    prop:value=move || name.get() on:input=move |ev| name.set(event_target_value(&ev)) />
                <p class="field-problem" role="alert">{name_error}</p>
            </div>
            <div class="field">
                <label for="credential-hours">"Lifetime in hours"</label>
                <input id="credential-hours" name=field::LIFETIME_HOURS type="number" inputmode="numeric"
                    min=move || bounds().min max=move || bounds().max
                    aria-invalid=move || hours_error().is_some().to_string()
                    prop:value=move || hours.get() on:input=move |ev| hours.set(event_target_value(&ev)) />
                <p class="help">{hint}</p>
                <p class="field-problem" role="alert">{hours_error}</p>
            </div>
            <button type="submit" class="button" data-testid="download"
                disabled=move || name_error().is_some() || hours_error().is_some()>
                "Download kubeconfig"
            </button>
            <p class="help">
                "Every download is a credential of its own, listed below; an admin can revoke each one. "
                "Keep the file secret: it is the key to this namespace."
            </p>
        </form>
    }
}

/// The kubeconfigs handed out for the grant, newest first; with `may_revoke`, a revoke form on each one
/// still in force.
#[component]
pub fn CredentialList(credentials: Vec<CredentialSummary>, may_revoke: bool) -> impl IntoView {
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
                        CredentialPurpose::Ci => format!("CI: {}", c.name),
                    };
                    let status = match c.revoked_at {
                        Some(at) => view! {
                            <span data-testid="revoked">
                                {format!("Revoked {} by {}", minute(at), c.revoked_by.unwrap_or_default())}
                                {c.revoke_reason.map(|reason| view! { <q class="reason">{reason}</q> })}
                            </span>
                        }.into_any(),
                        None if may_revoke => view! { <RevokeForm id=c.id.clone() /> }.into_any(),
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
