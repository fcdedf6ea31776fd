//! What a page shows when something it needed failed.

use leptos::prelude::*;

use crate::error::ApiError;
use crate::navigation::sign_in_href;

/// The fallback of an `ErrorBoundary`: each error's message (they are written for people, see
/// [`crate::error::ApiError`]) and a way back: signing in again when the session ended, else a reload.
#[component]
pub fn ErrorView(errors: ArcRwSignal<Errors>) -> impl IntoView {
    let session_ended = {
        let errors = errors.clone();
        move || {
            errors.get().into_iter().any(|(_, error)| {
                let inner: &(dyn std::error::Error + Send + Sync) = error.as_ref();
                inner.downcast_ref::<ApiError>() == Some(&ApiError::SignInRequired)
            })
        }
    };
    let page = crate::components::session::current_page();
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
            {move || {
                if session_ended() {
                    view! { <p><a class="button" rel="external" href=sign_in_href(&page)>"Sign in again"</a></p> }
                        .into_any()
                } else {
                    view! { <p><a href="">"Reload the page"</a></p> }.into_any()
                }
            }}
        </div>
    }
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::ErrorView;
    use crate::error::ApiError;
    use leptos::prelude::*;

    /// Server-renders `child` on the page `/admin?tab=users`, inside the same ErrorBoundary the pages use.
    fn render_in_boundary(child: Result<&'static str, ApiError>) -> String {
        let owner = Owner::new();
        owner.set();
        provide_context(leptos_router::location::RequestUrl::new("/admin?tab=users"));
        view! {
            <leptos_router::components::Router>
                <ErrorBoundary fallback=|errors| view! { <ErrorView errors /> }>{child}</ErrorBoundary>
            </leptos_router::components::Router>
        }
        .to_html()
    }

    #[test]
    fn an_ended_session_offers_to_sign_in_again_and_come_back() {
        let html = render_in_boundary(Err(ApiError::SignInRequired));
        assert!(html.contains("Your session has ended."), "{html}");
        assert!(html.contains(r#"href="/auth/login?return_to=/admin%3Ftab%3Dusers""#), "{html}");
        assert!(!html.contains("Reload the page"), "{html}");
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
