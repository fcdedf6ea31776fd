//! Single sign-on and sessions: who is asking, and what their role lets them do.
//!
//! - [`oidc`]: the OpenID Connect client (authorization code + PKCE, ID token verification).
//! - [`routes`]: `/auth/login`, `/auth/callback`, `/auth/logout`.
//! - [`session`]: the session cookie and store, lifetimes, and the per-request [`app::auth::SessionView`].
//! - [`origin`]: the cross-site request check on every state-changing request.
//! - [`roles`], [`return_path`]: pure rules (groups to role; where a sign-in may return to).

pub mod federation;
pub mod oidc;
pub mod origin;
pub mod return_path;
pub mod roles;
pub mod routes;
pub mod session;

use url::Url;

use crate::config::{AuthConfig, RoleGroups, SessionConfig};

/// Everything sign-in needs, shared by all requests.
pub struct Auth {
    pub oidc: oidc::OidcClient,
    pub roles: RoleGroups,
    pub session: SessionConfig,
}

impl Auth {
    pub fn new(config: &AuthConfig, session: &SessionConfig, public_url: &Url) -> anyhow::Result<Self> {
        Ok(Self {
            oidc: oidc::OidcClient::new(config, public_url)?,
            roles: config.roles.clone(),
            session: session.clone(),
        })
    }
}
