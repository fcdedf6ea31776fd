//! What the store tests of every module share: people, requests moved along their lifecycle, fixed times.

use app::auth::Role;
use app::requests::{Action, HelmMode, RequestState};
use chrono::{DateTime, TimeDelta, TimeZone, Utc};

use super::Store;
use super::requests::{NewRequest, RequestRecord, Transition};
use super::users::SignIn;

/// `minutes` after a fixed moment, so tests compare times exactly.
pub fn at(minutes: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 20, 9, 0, 0).unwrap() + TimeDelta::minutes(minutes)
}

/// A person who signed in with `role`; their id.
pub async fn person(store: &Store, subject: &str, role: Role) -> String {
    let sign_in = SignIn {
        issuer: "https://idp.example",
        subject,
        email: None,
        display_name: subject,
        role: Some(role),
        groups: &[],
        at: at(0),
    };
    store.record_sign_in(&sign_in).await.unwrap()
}

/// A request of `namespace` by `requester_id`, just submitted.
pub async fn submitted(store: &Store, namespace: &str, requester_id: &str) -> RequestRecord {
    submitted_for(store, namespace, "test", requester_id).await
}

/// A request of `namespace` for `stage` by `requester_id`, just submitted.
pub async fn submitted_for(store: &Store, namespace: &str, stage: &str, requester_id: &str) -> RequestRecord {
    let id = uuid::Uuid::new_v4().to_string();
    let new = NewRequest {
        id: &id,
        namespace,
        purpose: "tests",
        stage,
        helm_mode: HelmMode::NoTiller,
        quota_profile: "small",
        lifetime_days: 30,
        requester_id,
        team: None,
        approved_by_rule: None,
        at: at(1),
    };
    store.submit_request(&new).await.unwrap();
    store.request(&id).await.unwrap().unwrap()
}

/// `record` moved along `action` to `to` at `when` (by Berth), read back.
pub async fn moved(
    store: &Store,
    record: &RequestRecord,
    action: Action,
    to: RequestState,
    when: i64,
) -> RequestRecord {
    let transition = Transition {
        request_id: &record.summary.id,
        version: record.version,
        from: record.summary.state,
        to,
        action,
        actor_id: None,
        reason: None,
        at: at(when),
        expires_at: (to == RequestState::Ready).then(|| at(when) + TimeDelta::days(30)),
    };
    assert!(store.apply(&transition).await.unwrap(), "{action:?} from {:?}", record.summary.state);
    store.request(&record.summary.id).await.unwrap().unwrap()
}

/// A request of `namespace` by `requester_id`, approved and ready (it ends 30 days after minute 4).
pub async fn ready(store: &Store, namespace: &str, requester_id: &str) -> RequestRecord {
    let record = submitted(store, namespace, requester_id).await;
    let record = moved(store, &record, Action::Approve, RequestState::Approved, 2).await;
    let record = moved(store, &record, Action::StartProvisioning, RequestState::Provisioning, 3).await;
    moved(store, &record, Action::MarkReady, RequestState::Ready, 4).await
}
