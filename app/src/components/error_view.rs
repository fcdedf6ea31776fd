//! What a page shows when something it needed failed.

use leptos::prelude::*;

/// The fallback of an `ErrorBoundary`: each error's message (they are written for people, see
/// [`crate::error::ApiError`]) and a way back.
#[component]
pub fn ErrorView(errors: ArcRwSignal<Errors>) -> impl IntoView {
    view! {
        <div class="alert" role="alert">
            <h2>"This did not work"</h2>
            <ul>
                {move || {
                    errors
                        .get()
                        .into_iter()
                        .map(|(_, error)| view! { <li>{error.to_string()}</li> })
                        .collect_view()
                }}
            </ul>
            <p><a href="">"Reload the page"</a></p>
        </div>
    }
}
