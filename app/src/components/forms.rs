//! Forms that post to a server function and work with or without JavaScript.
//!
//! Without JavaScript a form is a plain POST to the server function's URL; the server answers with a
//! redirect back to the page (or to where the function sends the browser) and the fresh page shows the
//! outcome. With JavaScript, [`EnhancedForm`]'s island posts the same fields with `fetch` and stays on
//! the page: the server's refusals appear next to their fields ([`FieldProblem`]) or at the end of the
//! form, and a success does what the form says ([`AfterSuccess`]).
//!
//! The fields themselves are server-rendered HTML (the island's children): only these few small islands are
//! in the browser bundle, shared by every form, instead of a copy of each form's markup per form.

use leptos::prelude::*;
use leptos::web_sys::HtmlButtonElement;
use serde::{Deserialize, Serialize};

use crate::components::after_action::{leave_queue, reload_page};
use crate::error::ApiError;

/// What the page does once the server accepted the form (a redirect the server asks for is always followed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AfterSuccess {
    /// Loads the page again: what the form changed is what the page shows.
    Reload,
    /// In the approval queue: the decided card leaves the list and the queue's status line says what the
    /// submitting button's `data-done` says ("team-a-ci: Approved.").
    LeaveQueue,
}

/// The state of the enclosing [`EnhancedForm`], for the islands inside it.
#[derive(Clone, Copy)]
struct FormState {
    /// The server's last refusal, until the next submission.
    refusal: RwSignal<Option<ApiError>>,
    /// How many answers the form has had: a field compares what was typed with what the answer was about.
    answers: RwSignal<u32>,
}

/// The server's last refusal of the enclosing form (`None` outside one, or after a success).
pub fn form_refusal() -> Signal<Option<ApiError>> {
    let state = use_context::<FormState>();
    Signal::derive(move || state.and_then(|state| state.refusal.get()))
}

/// Bumped on every answer of the enclosing form; 0 outside one.
pub fn form_answers() -> Signal<u32> {
    let state = use_context::<FormState>();
    Signal::derive(move || state.map(|state| state.answers.get()).unwrap_or_default())
}

/// A form posting to the server function at `action`, or at the `formaction` of the button that submitted it
/// (one form, several verdicts: Approve and Deny share the form and its reason field); `testid` marks the
/// form for the end-to-end tests.
///
/// A refusal no field shows (the session ended, someone else decided first) appears at the end of the form;
/// one only about the `fields` that show their own problems appears there as `fields_summary`, if given (a
/// form long enough to need it).
///
/// Rendered on the server with the refusal a plain form post came back with (Leptos puts it in the page's
/// query when it sends the browser back), if it was this form's (`action`, or one of `also_for`, the other
/// buttons' actions), so a browser without JavaScript shows it next to its field too.
#[component]
pub fn EnhancedForm(
    action: &'static str,
    after: AfterSuccess,
    #[prop(optional)] also_for: &'static [&'static str],
    #[prop(optional, into)] class: Option<String>,
    #[prop(optional, into)] testid: Option<String>,
    #[prop(optional)] novalidate: bool,
    #[prop(optional)] fields: &'static [&'static str],
    #[prop(optional, into)] fields_summary: Option<String>,
    children: Children,
) -> impl IntoView {
    let refusal = use_context::<leptos::server::ServerActionError>()
        .filter(|returned| returned.path() == action || also_for.contains(&returned.path()))
        .map(|returned| leptos::server_fn::error::ServerFnUrlError::<ApiError>::decode_err(returned.err()));
    view! {
        <FormIsland
            action=action.to_string()
            after
            class=class
            testid=testid
            novalidate=novalidate
            fields=fields.iter().map(|field| field.to_string()).collect()
            fields_summary=fields_summary
            refusal=refusal
        >
            {children()}
        </FormIsland>
    }
}

/// The island behind [`EnhancedForm`] (whose props it takes as they travel to the browser).
#[island]
fn FormIsland(
    action: String,
    after: AfterSuccess,
    class: Option<String>,
    testid: Option<String>,
    /// Leave every check to the server (which explains each refusal next to its field) rather than the
    /// browser's own bubbles.
    novalidate: bool,
    fields: Vec<String>,
    fields_summary: Option<String>,
    refusal: Option<ApiError>,
    children: Children,
) -> impl IntoView {
    let state = FormState { refusal: RwSignal::new(refusal), answers: RwSignal::new(0) };
    provide_context(state);
    let form = NodeRef::<leptos::html::Form>::new();
    let busy = RwSignal::new(false);
    let on_submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        let Some(element) = form.get_untracked() else { return };
        // One submission at a time: a double click must not approve twice.
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        let submitter =
            event.submitter().and_then(|s| leptos::wasm_bindgen::JsCast::dyn_into::<HtmlButtonElement>(s).ok());
        // A button without `formaction` reports the page's own URL as its formAction: the form's action then.
        let url = submitter
            .as_ref()
            .filter(|button| button.has_attribute("formaction"))
            .map_or_else(|| element.action(), HtmlButtonElement::form_action);
        let done = submitter.and_then(|s| s.get_attribute("data-done")).unwrap_or_default();
        leptos::task::spawn_local(async move {
            let answer = post_form(&url, &element).await;
            busy.set(false);
            state.answers.update(|n| *n += 1);
            match answer {
                Answer::Redirect(location) => _ = window().location().set_href(&location),
                Answer::Accepted => {
                    state.refusal.set(None);
                    match after {
                        AfterSuccess::Reload => reload_page(),
                        AfterSuccess::LeaveQueue => leave_queue(&element, done),
                    }
                }
                Answer::Refused(error) => state.refusal.set(Some(error)),
            }
        });
    };
    let general_problem = move || {
        state.refusal.with(|error| match error {
            Some(error) if fields.iter().any(|field| error.problem_with(field).is_some()) => fields_summary.clone(),
            Some(error) => Some(error.to_string()),
            None => None,
        })
    };
    view! {
        <form action=action method="post" class=class data-testid=testid novalidate=novalidate
            aria-busy=move || busy.get().to_string() node_ref=form on:submit=on_submit>
            {children()}
            <p class="action-problem" role="alert" data-testid="form-problem">{general_problem}</p>
        </form>
    }
}

/// The server's problem with the field named `field` of the enclosing form, next to it; it also marks the
/// field `aria-invalid` while the problem stands.
#[island]
pub fn FieldProblem(
    field: String,
    #[prop(optional)] id: Option<String>,
    #[prop(optional)] testid: Option<String>,
) -> impl IntoView {
    let refusal = form_refusal();
    let node = NodeRef::<leptos::html::P>::new();
    let problem = {
        let field = field.clone();
        move || refusal.with(|error| error.as_ref().and_then(|e| e.problem_with(&field)).map(str::to_string))
    };
    let marked = problem.clone();
    Effect::new(move |_| {
        let invalid = marked().is_some();
        // The field is server-rendered HTML outside this island: found by its name in the same form.
        let control = node
            .get()
            .and_then(|p| p.closest("form").ok().flatten())
            .and_then(|form| form.query_selector(&format!("[name=\"{field}\"]")).ok().flatten());
        if let Some(control) = control {
            _ = control.set_attribute("aria-invalid", if invalid { "true" } else { "false" });
        }
    });
    view! { <p class="field-problem" id=id data-testid=testid role="alert" node_ref=node>{problem}</p> }
}

/// How the server answered a form.
enum Answer {
    Accepted,
    /// The server function sent the browser elsewhere (a new request's page).
    Redirect(String),
    Refused(ApiError),
}

/// Posts `form`'s fields to `url` the way a server function's own client does (URL-encoded, asking for JSON),
/// and reads the answer.
async fn post_form(url: &str, form: &leptos::web_sys::HtmlFormElement) -> Answer {
    match post(url, form_body(form)).await {
        Ok(response) => read_answer(response).await,
        Err(error) => Answer::Refused(error),
    }
}

/// `form`'s fields, URL-encoded.
fn form_body(form: &leptos::web_sys::HtmlFormElement) -> Option<leptos::web_sys::UrlSearchParams> {
    let data = leptos::web_sys::FormData::new_with_form(form).ok()?;
    leptos::web_sys::UrlSearchParams::new_with_str_sequence_sequence(&data).ok()
}

/// POSTs `body` to `url` (same origin: the browser sends the cookie and the `Origin` Berth checks).
pub async fn post(
    url: &str,
    body: Option<leptos::web_sys::UrlSearchParams>,
) -> Result<leptos::web_sys::Response, ApiError> {
    use leptos::wasm_bindgen::JsCast;
    let init = leptos::web_sys::RequestInit::new();
    init.set_method("POST");
    if let Some(body) = body {
        init.set_body(&body);
    }
    let headers = leptos::web_sys::Headers::new().map_err(|_| unreachable_server())?;
    _ = headers.set("Accept", "application/json");
    init.set_headers(&headers);
    let pending = window().fetch_with_str_and_init(url, &init);
    let response = wasm_bindgen_futures::JsFuture::from(pending).await.map_err(|_| unreachable_server())?;
    response.dyn_into().map_err(|_| unreachable_server())
}

fn unreachable_server() -> ApiError {
    ApiError::Transport("the network request failed".to_string())
}

/// The body of `response` as text.
pub async fn text_of(response: &leptos::web_sys::Response) -> Option<String> {
    let pending = response.text().ok()?;
    wasm_bindgen_futures::JsFuture::from(pending).await.ok()?.as_string()
}

async fn read_answer(response: leptos::web_sys::Response) -> Answer {
    let headers = response.headers();
    if headers.has("serverfnredirect").unwrap_or(false)
        && let Ok(Some(location)) = headers.get("location")
    {
        return Answer::Redirect(location);
    }
    if response.ok() {
        return Answer::Accepted;
    }
    let body = text_of(&response).await.unwrap_or_default();
    // Berth answers every refusal with the ApiError as JSON (server functions and the edge alike).
    Answer::Refused(serde_json::from_str(&body).unwrap_or(ApiError::Internal))
}
