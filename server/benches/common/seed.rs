//! Seeding for the benchmarks: many pending requests, as a busy installation has them.

use app::auth::Role;
use app::requests::HelmMode;
use berth_server::store::Store;
use berth_server::store::requests::NewRequest;
use berth_server::store::users::SignIn;
use chrono::Utc;

/// `count` pending requests (namespaces `team-00000`, ...) from alice, whom the provider at `issuer` signs in.
pub async fn pending_requests(store: &Store, issuer: &str, count: usize) {
    let alice = SignIn {
        issuer,
        subject: "alice",
        email: Some("alice@example.test"),
        display_name: "Alice Anders",
        role: Some(Role::Developer),
        groups: &[],
        at: Utc::now(),
    };
    let alice_id = store.record_sign_in(&alice).await.unwrap();
    for n in 0..count {
        let (id, namespace) = (uuid::Uuid::new_v4().to_string(), format!("team-{n:05}"));
        let request = NewRequest {
            id: &id,
            namespace: &namespace,
            purpose: "Jenkins deploys the team's services here; staging first, then production.",
            stage: "test",
            helm_mode: if n % 2 == 0 { HelmMode::NoTiller } else { HelmMode::Tiller },
            quota_profile: "small",
            lifetime_days: 90,
            requester_id: &alice_id,
            team: None,
            approved_by_rule: None,
            at: Utc::now(),
        };
        store.submit_request(&request).await.unwrap();
    }
}
