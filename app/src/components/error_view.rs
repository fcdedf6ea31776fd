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

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::ErrorView;
    use crate::error::ApiError;
    use leptos::prelude::*;

    /// Server-renders `child` inside the same ErrorBoundary the pages use.
    fn render_in_boundary(child: Result<&'static str, ApiError>) -> String {
        let owner = Owner::new();
        owner.set();
        view! { <ErrorBoundary fallback=|errors| view! { <ErrorView errors /> }>{child}</ErrorBoundary> }.to_html()
    }

    #[test]
    fn a_failed_child_shows_its_message_as_an_alert_instead_of_the_content() {
        let html = render_in_boundary(Err(ApiError::Internal));
        assert!(html.contains(r#"role="alert""#), "{html}");
        assert!(html.contains("Something went wrong on the server."), "{html}");
        assert!(html.contains("Reload the page"), "{html}");
    }

    #[test]
    fn a_successful_child_renders_without_an_alert() {
        let html = render_in_boundary(Ok("all good"));
        assert!(html.contains("all good") && !html.contains("alert"), "{html}");
    }
}
