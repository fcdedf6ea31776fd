//! New request: the form a developer fills in to ask for a namespace.
//!
//! The name is checked while typing with the same rules the server applies (`requests::naming`); the server
//! checks everything again, plus what only it knows (reserved names of this installation, names already
//! requested or present in the cluster), and each refusal appears next to its field.

use leptos::prelude::*;
use leptos::server_fn::ServerFn as _;
use leptos_meta::Title;

use crate::api::requests::{SubmitRequest, get_request_options};
use crate::components::error_view::loaded;
use crate::components::forms::{AfterSuccess, EnhancedForm, FieldProblem, form_answers, form_refusal};
use crate::components::session::RequireRole;
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
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move { loaded(options.await, |options| view! { <RequestForm options /> }) })}
        </Suspense>
    }
}

/// The form's fields, each showing its own problems.
const FIELDS: [&str; 7] = [
    field::TEAM,
    field::NAMESPACE,
    field::PURPOSE,
    field::STAGE,
    field::HELM_MODE,
    field::QUOTA_PROFILE,
    field::LIFETIME_DAYS,
];

#[component]
fn RequestForm(options: RequestOptions) -> impl IntoView {
    // On success the server sends the browser to the new request's page (see `submit_request`).
    let bounds = options.lifetime_days;
    view! {
        <EnhancedForm action=SubmitRequest::url() after=AfterSuccess::Reload class="form"
            novalidate=true fields=&FIELDS fields_summary="Nothing was submitted: correct the fields marked above.">
            {(!options.teams.is_empty()).then(|| view! {
                <div class="field">
                    <label for="team">"Owning team"</label>
                    <select id="team" name=field::TEAM aria-describedby="team-help">
                        {options.teams.into_iter().map(|team| view! { <option value=team.clone()>{team.clone()}</option> }).collect_view()}
                    </select>
                    <p class="help" id="team-help">
                        "Everyone in the team (the group, at their sign-in) may use the grant; it outlives people leaving."
                    </p>
                    <FieldProblem field=field::TEAM />
                </div>
            })}
            <NamespaceField naming_policy=options.naming_policy />
            <PurposeField max_chars=options.purpose_max_chars />

            <div class="field">
                <label for="stage">"Stage"</label>
                <select id="stage" name=field::STAGE>
                    {options.stages.into_iter().map(|stage| view! { <option value=stage.clone()>{stage.clone()}</option> }).collect_view()}
                </select>
                <FieldProblem field=field::STAGE />
            </div>

            <HelmModeChoice tiller_enabled=options.tiller_enabled />
            <QuotaProfileChoice profiles=options.quota_profiles />

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
                <FieldProblem field=field::LIFETIME_DAYS id="lifetime-problem" />
            </div>

            <button type="submit" class="button">"Submit request"</button>
        </EnhancedForm>
    }
}

/// The name, checked while it is typed (see [`NameCheck`]).
#[component]
fn NamespaceField(naming_policy: Option<String>) -> impl IntoView {
    view! {
        <NameCheck>
            <label for="namespace">"Namespace name"</label>
            <p class="help" id="namespace-help">
                "Lower-case letters, digits and '-', at most 63 characters, for example team-a-ci."
                {naming_policy.map(|policy| format!(" {policy}"))}
            </p>
            <input
                id="namespace"
                name=field::NAMESPACE
                autocomplete="off"
                spellcheck="false"
                required
                aria-describedby="namespace-help namespace-problem"
            />
            <FieldProblem field=field::NAMESPACE id="namespace-problem" testid="namespace-problem" />
        </NameCheck>
    }
}

/// Checks the name inside while it is typed, with the same rules the server applies; the server's verdict on
/// it (already requested, reserved here) shows while the name is the one the verdict was about.
#[island]
fn NameCheck(children: Children) -> impl IntoView {
    let refusal = form_refusal();
    let answers = form_answers();
    let frame = NodeRef::<leptos::html::Div>::new();
    let input = move || {
        let input = frame.get_untracked()?.query_selector("input").ok().flatten()?;
        leptos::wasm_bindgen::JsCast::dyn_into::<leptos::web_sys::HtmlInputElement>(input).ok()
    };
    // The name the server's last answer was about: editing a taken name clears "already requested".
    let answered_name = RwSignal::new(String::new());
    Effect::new(move |_| {
        answers.track();
        answered_name.set(input().map(|input| input.value()).unwrap_or_default());
    });
    let check = move |_| {
        let Some(input) = input() else { return };
        let typed = input.value();
        let live = (!typed.is_empty()).then(|| naming::shape_problem(typed.trim())).flatten();
        let problem = live.or_else(|| {
            let server = refusal
                .with_untracked(|e| e.as_ref().and_then(|e| e.problem_with(field::NAMESPACE)).map(str::to_string));
            server.filter(|_| answered_name.get_untracked() == typed)
        });
        _ = input.set_attribute("aria-invalid", if problem.is_some() { "true" } else { "false" });
        if let Some(shown) = frame.get_untracked().and_then(|f| f.query_selector("[data-problem-for]").ok().flatten()) {
            shown.set_text_content(problem.as_deref());
        }
    };
    view! { <div class="field" node_ref=frame on:input=check>{children()}</div> }
}

/// What the namespace is for; the browser stops at the length the server accepts.
#[component]
fn PurposeField(max_chars: u32) -> impl IntoView {
    view! {
        <div class="field">
            <label for="purpose">"Purpose"</label>
            <textarea id="purpose" name=field::PURPOSE rows="3" required maxlength=max_chars
                aria-describedby="purpose-help purpose-problem"></textarea>
            <p class="help" id="purpose-help">
                {format!("What runs here and who uses it, so an approver can decide (at most {max_chars} characters).")}
            </p>
            <FieldProblem field=field::PURPOSE id="purpose-problem" testid="purpose-problem" />
        </div>
    }
}

/// Helm 3 (the default) or, where the installation allows it, Helm 2 with a Tiller of the namespace's own.
#[component]
fn HelmModeChoice(tiller_enabled: bool) -> impl IntoView {
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
            <FieldProblem field=field::HELM_MODE />
        </fieldset>
    }
}

/// The installation's quota profiles, each with its limits; the first is chosen.
#[component]
fn QuotaProfileChoice(profiles: Vec<QuotaProfileSummary>) -> impl IntoView {
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
            <FieldProblem field=field::QUOTA_PROFILE />
        </fieldset>
    }
}
