//! Forms that post to a server function and work with or without JavaScript.
//!
//! Without JavaScript a form is a plain POST to the server function's URL; the server answers with a
//! redirect back to the page (or to where the function sends the browser) and the fresh page shows the
//! outcome, each refusal next to its field. With JavaScript, the [`FormIsland`] around the form posts the
//! same fields with `fetch` and stays on the page: the server's refusals appear next to their fields or at
//! the end of the form, and a success does what the form says ([`AfterSuccess`]).
//!
//! The form itself is server-rendered HTML (the island's child) that carries what the island needs as
//! `data-` attributes: the islands take no props, so the browser needs no JSON deserializer for them, and one
//! small island serves every form instead of a copy of each form's markup.

use leptos::prelude::*;
use leptos::wasm_bindgen::JsCast;
use leptos::web_sys::{Element, HtmlButtonElement, HtmlFormElement};

use crate::components::after_action::{leave_queue, reload_page};
use crate::error::ApiError;
use crate::json::Json;

/// What the page does once the server accepted the form (a redirect the server asks for is always followed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterSuccess {
    /// Loads the page again: what the form changed is what the page shows.
    Reload,
    /// In the approval queue: the decided card leaves the list and the queue's status line says what the
    /// submitting button's `data-done` says ("team-a-ci: Approved.").
    LeaveQueue,
}

impl AfterSuccess {
    /// The form's `data-after`.
    const fn as_str(self) -> &'static str {
        match self {
            AfterSuccess::Reload => "reload",
            AfterSuccess::LeaveQueue => "leave-queue",
        }
    }

    fn of(form: &Element) -> AfterSuccess {
        match form.get_attribute("data-after").as_deref() {
            Some("leave-queue") => AfterSuccess::LeaveQueue,
            _ => AfterSuccess::Reload,
        }
    }
}

/// The refusal a plain form post came back with, while the server renders that form (its fields show it).
#[derive(Clone)]
struct PostedRefusal(Option<ApiError>);

/// The state of the enclosing [`FormIsland`], for the islands inside it (in the browser).
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

/// The server's problem with `field` in the refusal a plain post of the form being rendered came back with
/// (server side; empty in the browser, which keeps what the server rendered).
fn posted_problem(field: &str) -> String {
    use_context::<PostedRefusal>()
        .and_then(|PostedRefusal(refusal)| refusal.as_ref().and_then(|e| e.problem_with(field)).map(str::to_string))
        .unwrap_or_default()
}

/// What the end of the form says about `refusal`: the refusal itself, unless one of the `fields` that show
/// their own problems shows it; then `fields_summary` (a form long enough to need one), or nothing.
fn general_problem(refusal: Option<&ApiError>, fields: &[&str], fields_summary: Option<&str>) -> String {
    match refusal {
        Some(error) if fields.iter().any(|field| error.problem_with(field).is_some()) => {
            fields_summary.unwrap_or_default().to_string()
        }
        Some(error) => error.to_string(),
        None => String::new(),
    }
}

/// A form posting to the server function at `action`, or at the `formaction` of the button that submitted it
/// (one form, several verdicts: Approve and Deny share the form and its reason field); `testid` marks the
/// form for the end-to-end tests.
///
/// A refusal no field shows (the session ended, someone else decided first) appears at the end of the form;
/// one only about the `fields` that show their own problems ([`FieldProblem`]) appears there as
/// `fields_summary`, if given.
///
/// Rendered with the refusal a plain form post came back with (Leptos puts it in the page's query when it
/// sends the browser back), if it was this form's (`action`, or one of `also_for`, the other buttons'
/// actions), so a browser without JavaScript shows it next to its field too.
#[component]
pub fn EnhancedForm(
    action: &'static str,
    after: AfterSuccess,
    #[prop(optional)] also_for: &'static [&'static str],
    #[prop(optional, into)] class: Option<String>,
    #[prop(optional, into)] testid: Option<String>,
    /// Leave every check to the server (which explains each refusal next to its field) rather than the
    /// browser's own bubbles.
    #[prop(optional)]
    novalidate: bool,
    #[prop(optional)] fields: &'static [&'static str],
    #[prop(optional, into)] fields_summary: Option<String>,
    children: Children,
) -> impl IntoView {
    let refusal = use_context::<leptos::server::ServerActionError>()
        .filter(|returned| returned.path() == action || also_for.contains(&returned.path()))
        .map(|returned| leptos::server_fn::error::ServerFnUrlError::<ApiError>::decode_err(returned.err()));
    let problem = general_problem(refusal.as_ref(), fields, fields_summary.as_deref());
    // The form's own owner, so its fields see this form's refusal and not a sibling form's.
    Owner::new().with(move || {
        provide_context(PostedRefusal(refusal));
        view! {
            <FormIsland>
                <form action=action method="post" class=class data-testid=testid novalidate=novalidate
                    data-after=after.as_str() data-fields=fields.join(" ") data-fields-summary=fields_summary>
                    {children()}
                    <p class="action-problem" role="alert" data-testid="form-problem" data-form-problem="">{problem}</p>
                </form>
            </FormIsland>
        }
    })
}

/// The island behind [`EnhancedForm`]: it takes over the submission of the server-rendered form inside it.
#[island]
fn FormIsland(children: Children) -> impl IntoView {
    let state = FormState { refusal: RwSignal::new(None), answers: RwSignal::new(0) };
    provide_context(state);
    let on_submit = move |event: leptos::ev::SubmitEvent| {
        let Some(form) = event.target().and_then(|target| target.dyn_into::<HtmlFormElement>().ok()) else {
            return;
        };
        event.prevent_default();
        // One submission at a time: a double click must not approve twice.
        if form.get_attribute("aria-busy").as_deref() == Some("true") {
            return;
        }
        _ = form.set_attribute("aria-busy", "true");
        let submitter = event.submitter().and_then(|s| s.dyn_into::<HtmlButtonElement>().ok());
        // A button without `formaction` reports the page's own URL as its formAction: the form's action then.
        let url = submitter
            .as_ref()
            .filter(|button| button.has_attribute("formaction"))
            .map_or_else(|| form.action(), HtmlButtonElement::form_action);
        let done = submitter.and_then(|s| s.get_attribute("data-done")).unwrap_or_default();
        leptos::task::spawn_local(async move {
            let answer = post_form(&url, &form).await;
            _ = form.set_attribute("aria-busy", "false");
            match answer {
                Answer::Redirect(location) => _ = window().location().set_href(&location),
                Answer::Accepted => {
                    show_refusal(&form, None);
                    state.refusal.set(None);
                    match AfterSuccess::of(&form) {
                        AfterSuccess::Reload => reload_page(),
                        AfterSuccess::LeaveQueue => leave_queue(&form, done),
                    }
                }
                Answer::Refused(error) => {
                    show_refusal(&form, Some(&error));
                    state.refusal.set(Some(error));
                }
            }
            state.answers.update(|n| *n += 1);
        });
    };
    view! { <div class="island-frame" on:submit=on_submit>{children()}</div> }
}

/// Shows `refusal` in `form`: each field's problem next to it (the field marked `aria-invalid` while it
/// stands), the rest at the end of the form; `None` clears them.
fn show_refusal(form: &HtmlFormElement, refusal: Option<&ApiError>) {
    for_each_element(form, "[data-problem-for]", |problem| {
        let field = problem.get_attribute("data-problem-for").unwrap_or_default();
        let text = refusal.and_then(|error| error.problem_with(&field));
        problem.set_text_content(text);
        if let Ok(Some(control)) = form.query_selector(&format!("[name=\"{field}\"]")) {
            _ = control.set_attribute("aria-invalid", if text.is_some() { "true" } else { "false" });
        }
    });
    let fields = form.get_attribute("data-fields").unwrap_or_default();
    let fields: Vec<&str> = fields.split_whitespace().collect();
    let summary = form.get_attribute("data-fields-summary");
    if let Ok(Some(end)) = form.query_selector("[data-form-problem]") {
        end.set_text_content(Some(&general_problem(refusal, &fields, summary.as_deref())));
    }
}

/// Calls `each` on every element under `root` that matches `selector`.
fn for_each_element(root: &Element, selector: &str, mut each: impl FnMut(Element)) {
    let Ok(found) = root.query_selector_all(selector) else { return };
    for index in 0..found.length() {
        if let Some(element) = found.item(index).and_then(|node| node.dyn_into::<Element>().ok()) {
            each(element);
        }
    }
}

/// The server's problem with the field named `field` of the enclosing [`EnhancedForm`], next to it; the form's
/// island fills it in with each answer.
#[component]
pub fn FieldProblem(
    field: &'static str,
    #[prop(optional, into)] id: Option<String>,
    #[prop(optional, into)] testid: Option<String>,
) -> impl IntoView {
    view! {
        <p class="field-problem" id=id data-testid=testid role="alert" data-problem-for=field>{posted_problem(field)}</p>
    }
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

/// `text` parsed as JSON by the browser (`None` on the server, which never reads answers this way).
pub fn read_json(text: &str) -> Option<Json> {
    #[cfg(feature = "hydrate")]
    return Json::parse(text);
    #[cfg(not(feature = "hydrate"))]
    {
        _ = text;
        None
    }
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
    Answer::Refused(read_json(&body).as_ref().and_then(ApiError::from_json).unwrap_or(ApiError::Internal))
}
