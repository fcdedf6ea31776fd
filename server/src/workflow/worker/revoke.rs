//! Taking access away: the grants being revoked (or expired) lose their bindings, identity and kubeconfigs
//! and are marked revoked (or expired); the namespaces admins asked to delete go once their access is gone;
//! the anchors of kubeconfigs revoked while the cluster did not answer are deleted.

use std::time::Instant;

use app::requests::RequestState;
use app::requests::lifecycle::Action;

use super::{BATCH, Stop, Worker, grant_ref};
use crate::cluster::NamespaceDeleteOutcome;
use crate::store::StoreError;
use crate::store::requests::RequestRecord;

impl Worker {
    /// Takes away the access of every grant being revoked (or expired), then marks it revoked (or expired)
    /// and its credentials with it. Returns the ids it finished.
    pub async fn revoke_due(&self) -> Result<Vec<String>, StoreError> {
        let mut finished = Vec::new();
        for record in self.store.due_for_revocation(self.clock.now(), BATCH).await? {
            let id = record.summary.id.clone();
            let started = Instant::now();
            match self.revoke(record).await {
                Ok(()) => {
                    self.metrics.revoked(started.elapsed());
                    finished.push(id);
                }
                Err(Stop::Store(error)) => return Err(error),
                Err(Stop::Changed) => {}
                // Retried by the next pass, once the lease runs out: a revocation is never given up.
                Err(Stop::Failed(message) | Stop::Transient(message)) => {
                    self.metrics.revocation_failed();
                    tracing::warn!(request = %id, error = %message, "revocation will be retried");
                }
            }
        }
        Ok(finished)
    }

    async fn revoke(&self, record: RequestRecord) -> Result<(), Stop> {
        self.claim(&record).await?;
        let summary = &record.summary;
        let revoked = self.cluster.revoke_grant(&grant_ref(&record), &self.settings.identities_namespace).await;
        let scope = revoked.map_err(|error| {
            Stop::Transient(format!("revoking {}: {}", summary.namespace, crate::telemetry::error_chain(&error)))
        })?;
        // Said in the history when the namespace was not this grant's (or is gone): why nothing was done there.
        let note = scope.note(&summary.namespace);
        // Expiry and revocation end the same way, in their own words.
        let expired = self
            .store
            .events(&summary.id)
            .await?
            .iter()
            .rev()
            .find(|e| e.to == RequestState::Revoking)
            .is_some_and(|e| e.action == Action::Expire);
        let (action, why) = if expired {
            (Action::FinishExpiry, "the grant expired")
        } else {
            (Action::FinishRevocation, "the grant was revoked")
        };
        self.store.revoke_credentials_of(&summary.id, why, self.clock.now()).await?;
        let done = self.transition(&record, action, note.as_deref()).await?;
        tracing::info!(request = %done.summary.id, namespace = %done.summary.namespace, state = done.summary.state.as_str(), "access removed");
        Ok(())
    }

    /// Deletes the namespaces admins asked to delete, once their grants' access is gone (a revocation
    /// started with the deletion finishes first, in [`Self::revoke_due`]). Idempotent, so two replicas
    /// doing it at once is harmless; the first to record it writes the audit record. Returns the ids done.
    pub async fn delete_namespaces_due(&self) -> Result<Vec<String>, StoreError> {
        let mut done = Vec::new();
        for record in self.store.namespaces_to_delete(BATCH).await? {
            let summary = &record.summary;
            let note = match self.cluster.delete_granted_namespace(&summary.namespace, &summary.id).await {
                Ok(NamespaceDeleteOutcome::Deleted) => "the namespace and everything in it are being deleted",
                Ok(NamespaceDeleteOutcome::Gone) => "the namespace was already gone",
                Ok(NamespaceDeleteOutcome::Foreign) => {
                    "a namespace of that name exists but Berth did not create it for this request, so it was left alone"
                }
                Err(error) => {
                    tracing::warn!(request = %summary.id, namespace = %summary.namespace, error = %crate::telemetry::error_chain(&error), "cannot delete a namespace yet");
                    continue;
                }
            };
            if self.store.mark_namespace_deleted(&summary.id, note, self.clock.now()).await? {
                tracing::info!(request = %summary.id, namespace = %summary.namespace, note, "namespace deletion done");
                done.push(summary.id.clone());
            }
        }
        Ok(done)
    }

    /// Deletes the anchor Secrets of credentials revoked while the cluster did not answer (a revocation is
    /// recorded before its anchor is deleted, so none is forgotten). Returns how many it deleted.
    pub async fn withdraw_revoked(&self) -> Result<usize, StoreError> {
        let mut deleted = 0;
        for id in self.store.anchors_to_delete(BATCH).await? {
            match self.cluster.delete_anchor(&self.settings.identities_namespace, &id).await {
                Ok(()) => {
                    self.store.mark_anchor_deleted(&id, self.clock.now()).await?;
                    deleted += 1;
                }
                Err(error) => {
                    tracing::warn!(credential = %id, error = %crate::telemetry::error_chain(&error), "cannot delete a revoked credential's anchor yet");
                    break;
                }
            }
        }
        Ok(deleted)
    }
}
