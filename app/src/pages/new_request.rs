//! New request: the form a developer fills in to ask for a namespace.
//!
//! The name is checked while typing with the same rules the server applies (`requests::naming`); the server
//! checks everything again, plus what only it knows (reserved names of this installation, names already
//! requested or present in the cluster), and each refusal appears next to its field.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::requests::{SubmitRequest, get_request_options};
use crate::components::error_view::ErrorView;
use crate::components::session::RequireRole;
use crate::error::ApiError;
use crate::policy::UseCase;
use crate::requests::{HelmMode, QuotaProfileSummary, RequestOptions, field, naming};

#[component]
pub fn NewRequestPage() -> impl IntoView {
    view! {
        <Title text="New request" />
        <RequireRole use_case=UseCase::SubmitRequest>
            <section class="page">
                <h1>"New request"</h1>
                <p class="muted">
                    "Ask for a namespace of your own. An approver decides; once it is provisioned you download a "
                    "kubeconfig that works in this namespace only."
                </p>
                <RequestFormLoader />
            </section>
        </RequireRole>
    }
}

#[component]
fn RequestFormLoader() -> impl IntoView {
    let options = Resource::new(|| (), |_| get_request_options());
    view! {
        <ErrorBoundary fallback=|errors| view! { <ErrorView errors /> }>
            <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move { options.await.map(|options| view! { <RequestForm options /> }) })}
            </Suspense>
        </ErrorBoundary>
    }
}

/// The form itself is an island: the name is checked while typing, and the server's refusals show next to
/// their fields without leaving the page.
#[island]
fn RequestForm(options: RequestOptions) -> impl IntoView {
    // On success the server redirects to the new request's page (see `submit_request`).
    let submit = ServerAction::<SubmitRequest>::new();
    let server_problem = move |name: &'static str| {
        move || submit.value().get().and_then(|r| r.err()).and_then(|e| e.problem_with(name).map(str::to_string))
    };
    // A failure that is not about one field (the cluster unreachable, the session ended).
    let general_problem = move || match submit.value().get() {
        Some(Err(ApiError::Invalid(_))) => Some("Nothing was submitted: correct the fields marked above.".to_string()),
        Some(Err(error)) => Some(error.to_string()),
        _ => None,
    };

    let name = RwSignal::new(String::new());
    // The name the server's last answer was about: its verdict on the name shows only while the name is
    // unchanged, so editing a taken name clears "already requested".
    let answered_name = RwSignal::new(String::new());
    Effect::new(move |_| {
        submit.version().track();
        answered_name.set(name.get_untracked());
    });
    let name_problem = move || {
        let typed = name.get();
        let live = (!typed.is_empty()).then(|| naming::shape_problem(typed.trim())).flatten();
        live.or_else(|| server_problem(field::NAMESPACE)().filter(|_| answered_name.get() == typed))
    };
    let purpose = RwSignal::new(String::new());
    let max_purpose = options.purpose_max_chars;
    let bounds = options.lifetime_days;

    view! {
        <ActionForm action=submit attr:class="form" attr:novalidate="">
            <div class="field">
                <label for="namespace">"Namespace name"</label>
                <input
                    id="namespace"
                    name=field::NAMESPACE
                    autocomplete="off"
                    spellcheck="false"
                    required
                    on:input=move |ev| name.set(event_target_value(&ev))
                    aria-invalid=move || name_problem().is_some().to_string()
                    aria-describedby="namespace-help namespace-problem"
                />
                <p class="help" id="namespace-help">
                    "Lower-case letters, digits and '-', at most 63 characters, for example team-a-ci."
                    {options.naming_policy.map(|policy| format!(" {policy}"))}
                </p>
                <p class="field-problem" id="namespace-problem" data-testid="namespace-problem">{name_problem}</p>
            </div>

            <div class="field">
                <label for="purpose">"Purpose"</label>
                <textarea
                    id="purpose"
                    name=field::PURPOSE
                    rows="3"
                    required
                    on:input=move |ev| purpose.set(event_target_value(&ev))
                    aria-invalid=move || server_problem(field::PURPOSE)().is_some().to_string()
                    aria-describedby="purpose-help purpose-problem"
                ></textarea>
                <p class="help" id="purpose-help">
                    "What runs here and who uses it, so an approver can decide. "
                    {move || format!("{} / {max_purpose} characters", purpose.with(|p| p.trim().chars().count()))}
                </p>
                <p class="field-problem" id="purpose-problem" data-testid="purpose-problem">
                    {server_problem(field::PURPOSE)}
                </p>
            </div>

            <div class="field">
                <label for="stage">"Stage"</label>
                <select id="stage" name=field::STAGE>
                    {options.stages.into_iter().map(|stage| view! { <option value=stage.clone()>{stage.clone()}</option> }).collect_view()}
                </select>
                <p class="field-problem">{server_problem(field::STAGE)}</p>
            </div>

            <HelmModeChoice tiller_enabled=options.tiller_enabled problem=Signal::derive(server_problem(field::HELM_MODE)) />
            <QuotaProfileChoice profiles=options.quota_profiles problem=Signal::derive(server_problem(field::QUOTA_PROFILE)) />

            <div class="field">
                <label for="lifetime">"Lifetime in days"</label>
                <input
                    id="lifetime"
                    name=field::LIFETIME_DAYS
                    type="number"
                    min=bounds.min
                    max=bounds.max
                    value=bounds.default
                    aria-describedby="lifetime-help lifetime-problem"
                />
                <p class="help" id="lifetime-help">
                    {format!("Between {} and {} days; access ends then, with a warning before.", bounds.min, bounds.max)}
                </p>
                <p class="field-problem" id="lifetime-problem">{server_problem(field::LIFETIME_DAYS)}</p>
            </div>

            <p class="action-problem" role="alert" data-testid="submit-problem">{general_problem}</p>
            <button type="submit" class="button" disabled=move || submit.pending().get()>
                {move || if submit.pending().get() { "Submitting…" } else { "Submit request" }}
            </button>
        </ActionForm>
    }
}

/// Helm 3 (the default) or, where the installation allows it, Helm 2 with a Tiller of the namespace's own.
#[component]
fn HelmModeChoice(tiller_enabled: bool, problem: Signal<Option<String>>) -> impl IntoView {
    view! {
        <fieldset class="field">
            <legend>"Helm"</legend>
            {HelmMode::ALL
                .into_iter()
                .filter(|mode| *mode != HelmMode::Tiller || tiller_enabled)
                .map(|mode| {
                    view! {
                        <label class="choice">
                            <input type="radio" name=field::HELM_MODE value=mode.as_str() checked=mode == HelmMode::NoTiller />
                            {mode.label()}
                        </label>
                    }
                })
                .collect_view()}
            {(!tiller_enabled).then(|| view! { <p class="help">"Helm 2 with Tiller is switched off in this installation."</p> })}
            <p class="field-problem">{move || problem.get()}</p>
        </fieldset>
    }
}

/// The installation's quota profiles, each with its limits; the first is chosen.
#[component]
fn QuotaProfileChoice(profiles: Vec<QuotaProfileSummary>, problem: Signal<Option<String>>) -> impl IntoView {
    view! {
        <fieldset class="field">
            <legend>"Quota profile"</legend>
            {profiles
                .into_iter()
                .enumerate()
                .map(|(index, profile)| {
                    let limits = profile.limits.iter().map(|(k, v)| format!("{k}: {v}")).collect::<Vec<_>>().join(", ");
                    view! {
                        <label class="choice">
                            <input type="radio" name=field::QUOTA_PROFILE value=profile.name.clone() checked=index == 0 />
                            <strong>{profile.name}</strong>
                            " · "
                            {profile.description}
                            <span class="help">{limits}</span>
                        </label>
                    }
                })
                .collect_view()}
            <p class="field-problem">{move || problem.get()}</p>
        </fieldset>
    }
}
