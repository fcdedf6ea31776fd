//! What a page shows when something it needed failed.

use leptos::either::Either;
use leptos::prelude::*;

use crate::error::ApiError;
use crate::navigation::sign_in_href;

/// A page's content made of what it loaded, or, when loading failed, why ([`ErrorView`]).
///
/// Pages show their data's failure this way rather than through an `ErrorBoundary`: while rendering on the
/// server, Leptos hands a thrown error to the boundary through a thread-local hook, which is not there when the
/// page's future resumes on another worker of the multi-threaded runtime; the boundary then rendered an empty
/// page (one time in four on a 2-core machine).
pub fn loaded<T, V: IntoView>(result: Result<T, ApiError>, content: impl FnOnce(T) -> V) -> impl IntoView {
    match result {
        Ok(value) => Either::Left(content(value)),
        Err(error) => Either::Right(view! { <ErrorView error /> }),
    }
}

/// Why a page's content is missing: the error's message (written for people, see [`crate::error::ApiError`])
/// and a way on: signing in again when the session ended; the home page when it is not theirs to see (a reload
/// would not change that); else a reload. The page is answered with the error's status (a page saying "Not
/// found" is a 404).
#[component]
pub fn ErrorView(error: ApiError) -> impl IntoView {
    let status = error.status();
    crate::auth::set_page_status(status);
    let way_on = match status {
        401 => view! {
            <a class="button" rel="external" href=sign_in_href(&crate::components::session::current_page())>
                "Sign in again"
            </a>
        }
        .into_any(),
        403 | 404 => view! { <a href="/">"Go to the home page"</a> }.into_any(),
        _ => view! { <a href="">"Reload the page"</a> }.into_any(),
    };
    view! {
        <div class="alert" role="alert">
            <h2>"This did not work"</h2>
            <p>{error.to_string()}</p>
            <p>{way_on}</p>
        </div>
    }
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::loaded;
    use crate::error::ApiError;
    use leptos::prelude::*;

    /// Server-renders what a page loaded, `child`, on the page `/admin?tab=users`, as the pages do.
    fn render_loaded(child: Result<&'static str, ApiError>) -> String {
        let owner = Owner::new();
        owner.set();
        provide_context(leptos_router::location::RequestUrl::new("/admin?tab=users"));
        view! {
            <leptos_router::components::Router>
                {loaded(child, |text| text)}
            </leptos_router::components::Router>
        }
        .to_html()
    }

    #[test]
    fn an_ended_session_offers_to_sign_in_again_and_come_back() {
        let html = render_loaded(Err(ApiError::SignInRequired));
        assert!(html.contains("Your session has ended."), "{html}");
        assert!(html.contains(r#"href="/auth/login?return_to=/admin%3Ftab%3Dusers""#), "{html}");
        assert!(!html.contains("Reload the page"), "{html}");
    }

    #[test]
    fn a_failed_child_shows_its_message_as_an_alert_instead_of_the_content() {
        let html = render_loaded(Err(ApiError::Internal));
        assert!(html.contains(r#"role="alert""#), "{html}");
        assert!(html.contains("Something went wrong on the server."), "{html}");
        assert!(html.contains("Reload the page"), "{html}");
    }

    #[test]
    fn what_is_not_theirs_to_see_leads_home_rather_than_to_a_reload() {
        for error in [ApiError::NotFound, ApiError::NotAllowed("Only its owner.".to_string())] {
            let html = render_loaded(Err(error.clone()));
            assert!(html.contains(&error.to_string()), "{html}");
            assert!(html.contains(r#"<a href="/">Go to the home page</a>"#), "{html}");
            assert!(!html.contains("Reload the page"), "{html}");
        }
    }

    #[test]
    fn a_successful_child_renders_without_an_alert() {
        let html = render_loaded(Ok("all good"));
        assert!(html.contains("all good") && !html.contains("alert"), "{html}");
    }
}
