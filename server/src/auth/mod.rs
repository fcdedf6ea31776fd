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
    /// Records a sign-in the provider vouched for (in a browser, or from the command line): the person with
    /// the role their groups give now. Returns their id and that role.
    pub async fn record(
        &self,
        store: &crate::store::Store,
        identity: &oidc::VerifiedIdentity,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<(String, Option<app::auth::Role>), crate::store::StoreError> {
        let role = roles::role_for(&self.roles, &identity.groups);
        let sign_in = crate::store::users::SignIn {
            issuer: &identity.issuer,
            subject: &identity.subject,
            email: identity.email.as_deref(),
            display_name: &identity.display_name,
            role,
            groups: &identity.groups,
            at,
        };
        Ok((store.record_sign_in(&sign_in).await?, role))
    }

    pub fn new(config: &AuthConfig, session: &SessionConfig, public_url: &Url) -> anyhow::Result<Self> {
        Ok(Self {
            oidc: oidc::OidcClient::new(config, public_url)?,
            roles: config.roles.clone(),
            session: session.clone(),
        })
    }
}
