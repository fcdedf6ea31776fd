//! Approved changes of a grant's quota profile or Helm mode reach the cluster: the worker applies exactly
//! what differs between the grant before the change (kept in `applying_change_from`) and after, then records
//! it. A failure (the cluster did not answer) leaves the change due, and the next pass tries again.

use app::requests::lifecycle::Action;

use super::{BATCH, Worker, grant_of};
use crate::cluster::manifests::{self, Grant, GrantRef};
use crate::store::StoreError;

impl Worker {
    /// Applies the approved changes not yet in the cluster. Returns the ids of the grants changed.
    pub async fn apply_changes_due(&self) -> Result<Vec<String>, StoreError> {
        let mut applied = Vec::new();
        for record in self.store.changes_to_apply(BATCH).await? {
            let Some((from_profile, from_mode)) = &record.applying_change_from else { continue };
            let profiles = &self.rules.config().quota_profiles;
            let profile = |name: &str| profiles.iter().find(|profile| profile.name == name);
            let (Some(before), Some(after)) = (profile(from_profile), profile(&record.summary.quota_profile)) else {
                tracing::warn!(request = %record.summary.id, "a quota profile of the change is no longer configured");
                continue;
            };
            let grant = grant_of(&record, after);
            let was = Grant { of: GrantRef { helm_mode: *from_mode, ..grant.of }, profile: before };
            let mode_changed = was.helm_mode != grant.helm_mode;
            let (was, now) = (manifests::objects(&was, &self.settings), manifests::objects(&grant, &self.settings));
            let mut applied_change = self.cluster.apply_change(&was, &now).await;
            // The owner's binding is one of the grant's objects; its members' and robots' are bound anew here.
            if mode_changed && let Ok(done) = &mut applied_change {
                match self.cluster.rebind_identities(&grant, &self.settings).await {
                    Ok(rebound) => done.applied.extend(rebound),
                    Err(error) => applied_change = Err(error),
                }
            }
            match applied_change {
                Ok(done) => {
                    tracing::info!(request = %record.summary.id, calls = done.calls(), "change applied");
                    if self.store.mark_change_applied(&record, &done.note(), self.clock.now()).await? {
                        applied.push(record.summary.id.clone());
                    }
                }
                Err(error) => tracing::warn!(
                    request = %record.summary.id,
                    action = Action::ApplyChange.as_str(),
                    error = %crate::telemetry::error_chain(&error),
                    "cannot apply a change yet; the next pass tries again"
                ),
            }
        }
        Ok(applied)
    }
}
