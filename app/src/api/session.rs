//! Who is signed in: the header, the navigation and the page guards ask this on every page.

use leptos::prelude::*;

use crate::auth::SessionView;
use crate::error::ApiError;

/// Open to everyone: it only tells the caller about their own session.
#[server(endpoint = "session")]
pub async fn get_session() -> Result<SessionView, ApiError> {
    Ok(crate::auth::current_session())
}
