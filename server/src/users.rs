//! The people who have signed in, for the admin page: implements [`app::ports::UsersPort`].

use app::admin::UserSummary;
use app::error::ApiError;
use app::ports::UsersPort;

use crate::store::Store;

pub struct UsersService {
    pub store: Store,
}

#[async_trait::async_trait]
impl UsersPort for UsersService {
    async fn list_users(&self) -> Result<Vec<UserSummary>, ApiError> {
        Ok(self.store.list_users().await?)
    }
}
