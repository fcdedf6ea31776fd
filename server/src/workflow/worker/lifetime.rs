//! A grant's lifetime: its owner is warned before it ends, and at its end its revocation starts (finished
//! by the revocation reconciler, as expired); a request nobody decided in time lapses, freeing its name.

use app::requests::lifecycle::Action;
use chrono::{DateTime, TimeDelta, Utc};

use super::{BATCH, Stop, Worker};
use crate::notify::Notice;
use crate::store::{StageFilter, StoreError};

impl Worker {
    /// As of `now` (a parameter, so tests can move the clock): warns the owners of grants ending within
    /// `expiry_warning_hours`, once each, and starts the revocation of grants whose lifetime has ended (the
    /// next revocation pass finishes them as expired). Returns (warned, expired) request ids.
    pub async fn expire_due(&self, now: DateTime<Utc>) -> Result<(Vec<String>, Vec<String>), StoreError> {
        let mut warned = Vec::new();
        let warn_until = now + TimeDelta::hours(i64::from(self.config.expiry_warning_hours));
        for record in self.store.to_warn_of_expiry(warn_until, BATCH).await? {
            if self.store.mark_expiry_warned(&record.summary.id, now).await? {
                tracing::info!(request = %record.summary.id, expires_at = ?record.summary.expires_at, "owner warned of expiry");
                self.notifier.send(&Notice::ExpiringSoon(record.summary.clone()));
                warned.push(record.summary.id);
            }
        }
        let mut expired = Vec::new();
        for record in self.store.expired_by(now, BATCH).await? {
            let ended =
                record.summary.expires_at.map(|at| at.format("%Y-%m-%d %H:%M UTC").to_string()).unwrap_or_default();
            let reason = format!("The grant's lifetime ended on {ended}.");
            match self.transition_at(&record, Action::Expire, Some(&reason), now, None).await {
                Ok(expiring) => {
                    self.notifier.send(&Notice::Expired(expiring.summary));
                    expired.push(record.summary.id);
                }
                Err(Stop::Store(error)) => return Err(error),
                // Someone revoked or changed it meanwhile: that decision stands.
                Err(_) => {}
            }
        }
        if !expired.is_empty() {
            self.waker.wake();
        }
        Ok((warned, expired))
    }

    /// As of `now`: lapses the requests nobody decided in time, freeing their names, each with its audit event
    /// and a notice: within the stage's `max_pending_days` where its policy sets one, else
    /// `requests.pending_lapse_days`. Returns their ids.
    pub async fn lapse_due(&self, now: DateTime<Utc>) -> Result<Vec<String>, StoreError> {
        let policy = self.rules.policy();
        let own: Vec<(String, u32)> = policy
            .stages
            .iter()
            .filter_map(|stage| stage.max_pending_days.map(|days| (stage.stage.clone(), days)))
            .collect();
        let with_own_limit: Vec<String> = own.iter().map(|(stage, _)| stage.clone()).collect();
        let mut limits: Vec<(StageFilter<'_>, u32)> =
            vec![(StageFilter::Except(&with_own_limit), self.rules.config().pending_lapse_days)];
        limits.extend(own.iter().map(|(stage, days)| (StageFilter::Only(std::slice::from_ref(stage)), *days)));
        let mut lapsed = Vec::new();
        for (stages, days) in limits {
            let before = now - TimeDelta::days(i64::from(days));
            for record in self.store.pending_since_before(before, stages, BATCH).await? {
                let reason = format!("Nobody decided this request within {days} days; its name is free again.");
                match self.transition_at(&record, Action::Lapse, Some(&reason), now, None).await {
                    Ok(done) => {
                        tracing::info!(request = %done.summary.id, namespace = %done.summary.namespace, "request lapsed");
                        self.notifier.send(&Notice::Lapsed { request: done.summary, days });
                        lapsed.push(record.summary.id);
                    }
                    Err(Stop::Store(error)) => return Err(error),
                    // Decided or cancelled meanwhile: that stands.
                    Err(_) => {}
                }
            }
        }
        Ok(lapsed)
    }
}
