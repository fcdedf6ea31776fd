//! Upgrades lose nothing. A database written by the release of 2026-12-02 (both backends, kept in
//! `server/tests/fixtures/upgrade/`: the SQLite file and a PostgreSQL dump) opens with this version, which
//! applies its later migrations, and every request, kubeconfig record and audit event reads back exactly as
//! that release wrote it (`contents-<backend>.json`, written with the fixtures).
//!
//! When a release changes the schema, write its fixtures beside these (the ignored test below, with
//! `UPGRADE_FIXTURES_RELEASE` set) and keep the old ones: every later version must open every one.

use std::path::{Path, PathBuf};

use app::admin::AuditFilter;
use app::requests::credentials::CredentialPurpose;
use app::requests::{Action, HelmMode, RequestState};
use berth_server::config::DatabaseConfig;
use berth_server::store::Store;
use berth_server::store::credentials::NewCredential;
use berth_server::store::grants::NewChange;
use berth_server::store::requests::{NewRequest, Transition};
use berth_server::store::users::SignIn;
use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use sqlx::Connection as _;

const RELEASES: [&str; 1] = ["2026-12-02"];

fn fixtures(release: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/upgrade").join(release)
}

#[tokio::test]
async fn a_sqlite_database_of_each_earlier_release_opens_with_everything_in_it() {
    for release in RELEASES {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("berth.db");
        std::fs::copy(fixtures(release).join("berth.db"), &file).unwrap();
        let store = Store::open(&DatabaseConfig { url: format!("sqlite://{}", file.display()), max_connections: 2 })
            .await
            .unwrap_or_else(|e| panic!("the {release} SQLite database does not open: {e:?}"));
        assert_same(release, "sqlite", &contents(&store).await);
    }
}

#[tokio::test]
async fn a_postgres_database_of_each_earlier_release_opens_with_everything_in_it() {
    for release in RELEASES {
        let url = crate::postgres::fresh_database().await;
        let dump = std::fs::read_to_string(fixtures(release).join("postgres.sql")).unwrap();
        let mut connection = sqlx::PgConnection::connect(&url).await.unwrap();
        sqlx::raw_sql(&dump).execute(&mut connection).await.unwrap();
        connection.close().await.unwrap();
        let store = Store::open(&DatabaseConfig { url, max_connections: 2 })
            .await
            .unwrap_or_else(|e| panic!("the {release} PostgreSQL database does not open: {e:?}"));
        assert_same(release, "postgres", &contents(&store).await);
    }
}

/// `now` against what the release wrote on `backend` (`contents-<backend>.json`: people's ids differ).
fn assert_same(release: &str, backend: &str, now: &serde_json::Value) {
    let path = fixtures(release).join(format!("contents-{backend}.json"));
    let mut written: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    in_this_version(&mut written);
    assert_eq!(written["requests"].as_array().map(Vec::len), Some(7), "the fixture holds every kind of request");
    for part in ["requests", "audit"] {
        assert_eq!(now[part], written[part], "{release}: {part} changed in the upgrade");
    }
}

/// What an earlier release wrote, in the shape this version reads it: the same facts, renamed. (Since
/// 2026-12-04 an extension is one kind of change: `extension {days, reason, at}` reads as
/// `change {days, quota_profile: null, helm_mode: null, reason, at}`. Since 2026-12-05 a kubeconfig names
/// the person it was issued to by id too (`owner_id`, the request's requester: before, only they could
/// download) and the robot it acts as (`robot_id`, none before), and a request its owning team (`team`,
/// none before).)
fn in_this_version(written: &mut serde_json::Value) {
    for request in written["requests"].as_array_mut().into_iter().flatten() {
        let requester = request["requester_id"].clone();
        for credential in request["credentials"].as_array_mut().into_iter().flatten() {
            let credential = credential.as_object_mut().expect("a kubeconfig");
            credential.insert("owner_id".into(), requester.clone());
            credential.insert("robot_id".into(), serde_json::Value::Null);
        }
        let summary = request["request"].as_object_mut().expect("a request");
        summary.insert("team".into(), serde_json::Value::Null);
        if let Some(mut extension) = summary.remove("extension") {
            if let Some(ask) = extension.as_object_mut() {
                ask.insert("quota_profile".into(), serde_json::Value::Null);
                ask.insert("helm_mode".into(), serde_json::Value::Null);
            }
            summary.insert("change".into(), extension);
        }
    }
}

/// Everything a release must keep, as this version reads it: each request (with its audit trail and
/// kubeconfigs) in the order of its id, and the whole audit log.
async fn contents(store: &Store) -> serde_json::Value {
    let everything = AuditFilter::default();
    let audit = store.audit_events(&everything, 10_000, 0).await.unwrap();
    let mut ids: Vec<String> = audit.items.iter().map(|entry| entry.request_id.clone()).collect();
    ids.sort();
    ids.dedup();
    let mut requests = Vec::new();
    for id in ids {
        let record = store.request(&id).await.unwrap().expect("every request of the audit log exists");
        requests.push(serde_json::json!({
            "request": record.summary,
            "requester_id": record.requester_id,
            "events": store.events(&id).await.unwrap(),
            "credentials": store.credentials_of(&id).await.unwrap(),
        }));
    }
    serde_json::json!({ "requests": requests, "audit": audit.items })
}

/// Writes the fixtures of this version's schema for `UPGRADE_FIXTURES_RELEASE` (a date): a SQLite database
/// and a PostgreSQL dump holding requests in every kind of state, kubeconfigs and the audit events of it all.
#[tokio::test]
#[ignore = "run once per release that changes the schema: UPGRADE_FIXTURES_RELEASE=YYYY-MM-DD"]
async fn write_upgrade_fixtures() {
    let release = std::env::var("UPGRADE_FIXTURES_RELEASE").expect("UPGRADE_FIXTURES_RELEASE=YYYY-MM-DD");
    let out = fixtures(&release);
    std::fs::create_dir_all(&out).unwrap();

    let sqlite = out.join("berth.db");
    let _ = std::fs::remove_file(&sqlite);
    let store = Store::open(&DatabaseConfig { url: format!("sqlite://{}", sqlite.display()), max_connections: 1 })
        .await
        .unwrap();
    fill(&store).await;
    let written = serde_json::to_string_pretty(&contents(&store).await).unwrap();
    std::fs::write(out.join("contents-sqlite.json"), written).unwrap();
    store.close().await;

    let url = crate::postgres::fresh_database().await;
    let store = Store::open(&DatabaseConfig { url: url.clone(), max_connections: 1 }).await.unwrap();
    fill(&store).await;
    let written = serde_json::to_string_pretty(&contents(&store).await).unwrap();
    std::fs::write(out.join("contents-postgres.json"), written).unwrap();
    store.close().await;
    let pg_dump = std::fs::read_dir("/usr/lib/postgresql").unwrap().next().unwrap().unwrap().path().join("bin/pg_dump");
    let (ok, dump) = crate::support::run(std::process::Command::new(pg_dump).args([
        "--inserts",
        "--no-owner",
        "--no-privileges",
        "--dbname",
        &url,
    ]));
    assert!(ok, "{dump}");
    // Plain SQL only: newer pg_dump releases wrap the dump in psql meta-commands (`\\restrict`).
    let sql: Vec<&str> = dump.lines().filter(|line| !line.starts_with('\\')).collect();
    std::fs::write(out.join("postgres.sql"), sql.join("\n") + "\n").unwrap();
}

/// The same history on either backend, at fixed times: three people; requests pending, denied, cancelled,
/// ready (with an extension asked for and two kubeconfigs, one revoked), revoked, expired, and one whose
/// namespace an admin asked to delete.
async fn fill(store: &Store) {
    let t0 = Utc.with_ymd_and_hms(2026, 11, 20, 9, 0, 0).unwrap();
    let at = |minutes: i64| t0 + TimeDelta::minutes(minutes);
    let person = |subject: &'static str, role, minutes| SignIn {
        issuer: "http://127.0.0.1:5556",
        subject,
        email: Some(subject),
        display_name: subject,
        role: Some(role),
        groups: &[],
        at: at(minutes),
    };
    use app::auth::Role;
    let alice = store.record_sign_in(&person("alice@example.com", Role::Developer, 0)).await.unwrap();
    let bob = store.record_sign_in(&person("bob@example.com", Role::Approver, 1)).await.unwrap();
    let carol = store.record_sign_in(&person("carol@example.com", Role::Admin, 2)).await.unwrap();

    let steps: [(&str, &[(Action, RequestState)]); 7] = [
        ("pending", &[]),
        ("denied", &[(Action::Deny, RequestState::Denied)]),
        ("cancelled", &[(Action::Cancel, RequestState::Cancelled)]),
        ("ready", READY),
        (
            "revoked",
            &[
                READY[0],
                READY[1],
                READY[2],
                (Action::Revoke, RequestState::Revoking),
                (Action::FinishRevocation, RequestState::Revoked),
            ],
        ),
        (
            "expired",
            &[
                READY[0],
                READY[1],
                READY[2],
                (Action::Expire, RequestState::Revoking),
                (Action::FinishExpiry, RequestState::Expired),
            ],
        ),
        ("deleted", READY),
    ];
    for (n, (name, path)) in steps.iter().enumerate() {
        let id = format!("00000000-0000-4000-8000-00000000000{n}");
        let minute = 10 * (n as i64 + 1);
        let helm_mode = if n % 2 == 0 { HelmMode::NoTiller } else { HelmMode::Tiller };
        let namespace = format!("upgrade-{name}");
        let new = NewRequest {
            id: &id,
            namespace: &namespace,
            purpose: "kept across upgrades",
            stage: "test",
            helm_mode,
            quota_profile: "small",
            lifetime_days: 30,
            requester_id: &alice,
            team: None,
            approved_by_rule: None,
            at: at(minute),
        };
        store.submit_request(&new).await.unwrap();
        let mut from = RequestState::Pending;
        for (step, (action, to)) in path.iter().enumerate() {
            let version = 1 + step as i64;
            let actor = match action {
                Action::Approve | Action::Deny => Some(bob.as_str()),
                Action::Cancel => Some(alice.as_str()),
                Action::Revoke => Some(carol.as_str()),
                _ => None,
            };
            let reason = matches!(action, Action::Deny | Action::Revoke).then_some("said why");
            let expires_at: Option<DateTime<Utc>> =
                (*to == RequestState::Ready).then(|| at(minute) + TimeDelta::days(30));
            let transition = Transition {
                request_id: &id,
                version,
                from,
                to: *to,
                action: *action,
                actor_id: actor,
                reason,
                at: at(minute + 1 + step as i64),
                expires_at,
            };
            assert!(store.apply(&transition).await.unwrap(), "{name}: {action:?}");
            from = *to;
        }
        if *name == "ready" {
            for (k, purpose) in [CredentialPurpose::Personal, CredentialPurpose::Ci].into_iter().enumerate() {
                let credential_id = format!("00000000-0000-4000-9000-00000000000{k}");
                let credential = NewCredential {
                    id: &credential_id,
                    request_id: &id,
                    owner_id: &alice,
                    purpose,
                    name: if k == 0 { "personal" } else { "jenkins" },
                    robot_id: None,
                    issued_at: at(minute + 5),
                    expires_at: at(minute + 5) + TimeDelta::hours(8),
                };
                store.record_credential(&credential).await.unwrap();
            }
            store
                .revoke_credential("00000000-0000-4000-9000-000000000001", &alice, "rotated", at(minute + 6))
                .await
                .unwrap();
            let record = store.request(&id).await.unwrap().unwrap();
            let change = NewChange {
                record: &record,
                days: Some(14),
                quota_profile: None,
                helm_mode: None,
                reason: "the project runs longer",
                at: at(minute + 7),
            };
            assert!(store.ask_change(&change).await.unwrap());
        }
        if *name == "deleted" {
            let record = store.request(&id).await.unwrap().unwrap();
            assert!(store.ask_namespace_deletion(&record, &carol, "project over", true, at(minute + 8)).await.unwrap());
        }
    }
}

const READY: &[(Action, RequestState)] = &[
    (Action::Approve, RequestState::Approved),
    (Action::StartProvisioning, RequestState::Provisioning),
    (Action::MarkReady, RequestState::Ready),
];
