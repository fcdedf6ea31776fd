//! Kubeconfig downloads: one credential per download, for the owner or a member of a ready grant.
//!
//! A personal kubeconfig is the downloader's own identity's (made on their first download); a CI kubeconfig
//! is a robot's, named in the form (the grant's owner creates the robot by naming it the first time).
//! A download creates the credential's anchor Secret and a token for that identity bound to it,
//! renders the kubeconfig (the external API URL and CA, the token, a context in the granted namespace),
//! checks it by using it (it may list pods there, and may neither list namespaces nor read kube-system), and
//! only then records the credential's metadata and hands the file out. If any step fails, the anchor is
//! deleted (killing the token) and nothing is recorded. The token is never stored or logged.

use app::auth::Caller;
use app::error::{ApiError, FieldProblem};
use app::model::{CredentialId, Reason};
use app::policy::{Policy, Target, UseCase};
use app::ports::CredentialsPort;
use app::requests::credentials::{self, CredentialOptions, CredentialPurpose, describe_hours, field};
use chrono::{DateTime, TimeDelta, Utc};
use secrecy::SecretString;

use super::members::MembersService;
use super::requests::authorized_request;
use super::worker::Waker;
use super::worker::grant_ref;
use crate::clock::Clock;
use crate::cluster::Cluster;
use crate::cluster::credentials::{CheckFailed, TokenFor, check_kubeconfig, in_words};
use crate::cluster::kubeconfig::{self, Parts};
use crate::cluster::manifests::{Settings, Subject};
use crate::config::CredentialsConfig;
use crate::store::Store;
use crate::store::credentials::NewCredential;
use crate::store::members::RobotRecord;
use crate::store::requests::RequestRecord;
use crate::telemetry::error_chain;

pub struct CredentialsService {
    pub store: Store,
    pub policy: Policy,
    pub cluster: Cluster,
    pub config: CredentialsConfig,
    pub settings: Settings,
    /// Creates the robot a CI kubeconfig names, if the grant has none of that name yet.
    pub members: std::sync::Arc<MembersService>,
    /// Wakes the worker to delete an anchor the cluster did not let Berth delete at once.
    pub worker: Waker,
    pub clock: Clock,
}

/// The download form as posted: every field as text, checked here.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct KubeconfigForm {
    #[serde(default)]
    pub purpose: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub lifetime_hours: String,
    /// Instead of hours: a token of a few minutes (10 to 60), for the command line's exec credential plugin.
    #[serde(default)]
    pub lifetime_minutes: String,
}

/// The shortest and longest exec-plugin token, in minutes (the API server mints none under 10 minutes).
pub const EXEC_MINUTES: (u32, u32) = (10, 60);

/// A kubeconfig ready to send.
pub struct Download {
    pub filename: String,
    pub kubeconfig: SecretString,
    /// The kubeconfig's token alone (for the machine API's callers, and the command line's exec plugin).
    pub token: SecretString,
    pub credential_id: String,
    pub namespace: String,
    /// How the API server names the identity it acts as.
    pub username: String,
    pub expires_at: DateTime<Utc>,
}

/// What the form offers, from the configuration.
pub fn options(config: &CredentialsConfig) -> CredentialOptions {
    CredentialOptions { personal: config.personal_hours, ci: config.ci_hours }
}

/// The kubeconfig's entry name (its cluster, user and context) and its file name, for a grant of `namespace`.
fn names(namespace: &str, valid: &Valid) -> (String, String) {
    match valid.purpose {
        CredentialPurpose::Personal => (format!("berth-{namespace}"), format!("{namespace}.kubeconfig")),
        CredentialPurpose::Ci => {
            (format!("berth-{namespace}-{}", valid.name), format!("{namespace}-{}.kubeconfig", valid.name))
        }
    }
}

/// What the person is told when a new kubeconfig failed its check (it was withdrawn).
fn check_refusal(failed: CheckFailed) -> ApiError {
    match failed {
        // Someone gave the identity more than its namespace, outside Berth: trying again will not help.
        CheckFailed::MayTooMuch(what) => ApiError::NotAllowed(format!(
            "Berth refused to hand out this kubeconfig: it may {}, more than its namespace allows (someone bound \
             this grant's identity to more, outside Berth). Nothing was issued; tell an admin, who must remove \
             that binding.",
            in_words(&what)
        )),
        failed => ApiError::Unavailable(format!(
            "The new kubeconfig failed Berth's check ({failed}), so it was withdrawn and nothing was issued. Try \
             again in a minute; if it keeps failing, tell an admin."
        )),
    }
}

/// A valid download form.
struct Valid {
    purpose: CredentialPurpose,
    name: String,
    lifetime: TimeDelta,
}

impl CredentialsService {
    /// Issues a kubeconfig of grant `request_id` to `caller`, its owner or a member: their own, or a robot's.
    pub async fn issue(&self, caller: &Caller, request_id: &str, form: &KubeconfigForm) -> Result<Download, ApiError> {
        let record = self.own_ready_grant(caller, request_id).await?;
        let valid = self.check(form, record.summary.expires_at, self.clock.now())?;
        self.room_for_one_more(&record.summary.id).await?;
        let robot = match valid.purpose {
            CredentialPurpose::Personal => None,
            CredentialPurpose::Ci => Some(self.robot(caller, &record, &valid.name).await?),
        };
        let hint = caller.person.email.as_deref().unwrap_or(&caller.person.display_name);
        let subject = match &robot {
            None => Subject::Person { id: &caller.person.id, hint },
            Some(robot) => Subject::Robot { id: &robot.id, name: &robot.name },
        };
        let robot_id = robot.as_ref().map(|robot| robot.id.as_str());
        self.hand_out(&record, subject, robot_id, &caller.person.id, &valid).await
    }

    /// Issues a kubeconfig of its own to `robot`, which called the machine API with a token of its own
    /// (`on_behalf_of` is the person who made that token, recorded as the kubeconfig's owner) for
    /// `lifetime_hours` (within the CI bounds) or `lifetime_minutes` (an exec plugin's), not past the grant's
    /// end.
    pub async fn issue_to_robot(
        &self,
        robot: &RobotRecord,
        on_behalf_of: &str,
        request_id: &str,
        lifetime_hours: &str,
        lifetime_minutes: &str,
    ) -> Result<Download, ApiError> {
        let id = app::model::RequestId::parse(request_id)?;
        let record = self.store.request(id.as_str()).await?.ok_or(ApiError::NotFound)?;
        let target = super::requests::target(&record, false);
        self.policy.check_robot(&robot.request_id, UseCase::DownloadKubeconfig, target)?;
        let form = KubeconfigForm {
            purpose: CredentialPurpose::Ci.as_str().to_string(),
            name: robot.name.clone(),
            lifetime_hours: lifetime_hours.to_string(),
            lifetime_minutes: lifetime_minutes.to_string(),
        };
        let valid = self.check(&form, record.summary.expires_at, self.clock.now())?;
        self.room_for_one_more(&record.summary.id).await?;
        let subject = Subject::Robot { id: &robot.id, name: &robot.name };
        self.hand_out(&record, subject, Some(&robot.id), on_behalf_of, &valid).await
    }

    /// Mints, renders, checks and records one kubeconfig of `subject`'s identity on the ready grant `record`,
    /// owned by `owner_id` (who downloaded it).
    async fn hand_out(
        &self,
        record: &RequestRecord,
        subject: Subject<'_>,
        robot_id: Option<&str>,
        owner_id: &str,
        valid: &Valid,
    ) -> Result<Download, ApiError> {
        let summary = &record.summary;
        let credential_id = uuid::Uuid::new_v4().to_string();
        let identity = subject.identity_name(&summary.namespace);
        // Made on a person's first download, and applied again on every one (idempotent): a grant made before
        // identities were per person gets its owner's here.
        self.cluster.ensure_identity(&grant_ref(record), subject, &self.settings).await.map_err(|error| {
            tracing::error!(request = %summary.id, error = %error_chain(&error), "cannot make an identity");
            ApiError::Unavailable(
                "Berth could not create the identity for this namespace in the cluster, so nothing was issued. \
                 Try again in a minute."
                    .to_string(),
            )
        })?;
        let minted = self
            .cluster
            .mint_token(&TokenFor {
                credential_id: &credential_id,
                request_id: &summary.id,
                owner_id,
                identities_namespace: &self.settings.identities_namespace,
                identity: &identity,
                lifetime_seconds: valid.lifetime.num_seconds(),
                asked_at: self.clock.now(),
            })
            .await
            .map_err(|error| {
                tracing::error!(request = %summary.id, error = %error_chain(&error), "cannot mint a token");
                ApiError::Unavailable(
                    "Berth could not create the kubeconfig's token in the cluster, so nothing was issued. \
                     Try again in a minute."
                        .to_string(),
                )
            })?;
        let (entry_name, filename) = names(&summary.namespace, valid);
        let kubeconfig = kubeconfig::render(&Parts {
            endpoint: self.cluster.endpoint(),
            entry_name: &entry_name,
            namespace: &summary.namespace,
            token: &minted.token,
        });
        let checked =
            check_kubeconfig(&kubeconfig, &summary.namespace, summary.helm_mode, &self.settings.identities_namespace)
                .await;
        if let Err(failed) = checked {
            tracing::error!(request = %summary.id, credential = %credential_id, error = %error_chain(&failed), "a kubeconfig failed its check; not handed out");
            self.withdraw(&credential_id).await;
            return Err(check_refusal(failed));
        }
        let credential = NewCredential {
            id: &credential_id,
            request_id: &summary.id,
            owner_id,
            purpose: valid.purpose,
            name: &valid.name,
            robot_id,
            issued_at: self.clock.now(),
            expires_at: minted.expires_at,
        };
        if let Err(error) = self.store.record_credential(&credential).await {
            self.withdraw(&credential_id).await;
            return Err(error.into());
        }
        tracing::info!(
            request = %summary.id, credential = %credential_id, purpose = valid.purpose.as_str(), name = %valid.name,
            expires_at = %minted.expires_at, "kubeconfig issued"
        );
        Ok(Download {
            filename,
            kubeconfig,
            token: minted.token,
            credential_id,
            namespace: summary.namespace.clone(),
            username: crate::cluster::manifests::service_account_username(
                &self.settings.identities_namespace,
                &identity,
            ),
            expires_at: minted.expires_at,
        })
    }

    /// The robot named `name` on the grant; created if there is none and the caller may add robots (its
    /// owner, an admin); a member is told to ask the owner.
    async fn robot(&self, caller: &Caller, record: &RequestRecord, name: &str) -> Result<RobotRecord, ApiError> {
        if let Some(robot) = self.store.robot_named(&record.summary.id, name).await? {
            return Ok(robot);
        }
        let member = super::requests::is_member(&self.store, record, caller).await?;
        let target = super::requests::target(record, member);
        if self.policy.check(caller, UseCase::ManageAccess, target).is_err() {
            return Err(ApiError::invalid(
                field::NAME,
                format!("This grant has no robot named {name}; its owner adds robots under Members and robots."),
            ));
        }
        self.members.create_robot(caller, record, name).await.map_err(|error| match error {
            // The robot form's field is the download form's name.
            ApiError::Invalid(problems) => {
                ApiError::Invalid(problems.into_iter().map(|p| FieldProblem::new(field::NAME, p.message)).collect())
            }
            other => other,
        })
    }

    /// Whether grant `request_id` may hold one more kubeconfig in force (`credentials.max_active_per_grant`).
    async fn room_for_one_more(&self, request_id: &str) -> Result<(), ApiError> {
        let now = self.clock.now();
        let issued = self.store.credentials_of(request_id).await?;
        let in_force = issued.iter().filter(|c| c.revoked_at.is_none() && c.expires_at > now).count();
        let cap = self.config.max_active_per_grant;
        if in_force >= cap as usize {
            return Err(ApiError::Conflict(format!(
                "This namespace already has {in_force} kubeconfigs in force, the most one grant may hold at once \
                 ({cap}). Revoke one you no longer use, then download again."
            )));
        }
        Ok(())
    }

    /// The grant, if the policy lets `caller` download its kubeconfigs: its requester, while it is ready.
    /// Someone else's grant is "not found" to a developer (ids reveal nothing) and "not yours" to approvers and
    /// admins, who can see it.
    async fn own_ready_grant(&self, caller: &Caller, request_id: &str) -> Result<RequestRecord, ApiError> {
        authorized_request(&self.store, &self.policy, caller, request_id, UseCase::DownloadKubeconfig).await
    }

    /// Checks every field; all problems at once.
    fn check(
        &self,
        form: &KubeconfigForm,
        grant_ends: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<Valid, ApiError> {
        if !form.lifetime_minutes.trim().is_empty() {
            return self.check_minutes(form, grant_ends, now);
        }
        let mut problems = Vec::new();
        let purpose = CredentialPurpose::parse(form.purpose.trim());
        if purpose.is_none() {
            problems.push(FieldProblem::new(field::PURPOSE, "Choose who will use it: yourself, or a CI system."));
        }
        let name = form.name.trim().to_string();
        let name = match purpose {
            Some(CredentialPurpose::Ci) => {
                if let Some(problem) = credentials::name_problem(&name) {
                    problems.push(FieldProblem::new(field::NAME, problem));
                }
                name
            }
            _ => "personal".to_string(),
        };
        let bounds = purpose.map(|p| options(&self.config).bounds(p));
        let hours = form.lifetime_hours.trim().parse::<u32>();
        match (hours, bounds) {
            (Err(_), _) => problems.push(FieldProblem::new(field::LIFETIME_HOURS, "Enter a whole number of hours.")),
            (Ok(hours), Some(bounds)) if !bounds.contains(hours) => {
                problems.push(FieldProblem::new(
                    field::LIFETIME_HOURS,
                    format!(
                        "Between {} and {} ({}) for a {} kubeconfig.",
                        bounds.min,
                        bounds.max,
                        describe_hours(bounds.max),
                        purpose.map_or("", |p| p.label())
                    ),
                ));
            }
            (Ok(hours), _) => {
                if let Some(ends) = grant_ends
                    && now + TimeDelta::hours(i64::from(hours)) > ends
                {
                    let left = (ends - now).num_hours();
                    problems.push(FieldProblem::new(
                        field::LIFETIME_HOURS,
                        format!(
                            "The grant ends {}; a kubeconfig cannot outlive it. At most {left} hours are left.",
                            ends.format("%Y-%m-%d %H:%M UTC")
                        ),
                    ));
                }
            }
        }
        match (purpose, form.lifetime_hours.trim().parse::<u32>()) {
            (Some(purpose), Ok(hours)) if problems.is_empty() => {
                Ok(Valid { purpose, name, lifetime: TimeDelta::hours(i64::from(hours)) })
            }
            _ => Err(ApiError::Invalid(problems)),
        }
    }

    /// A token of a few minutes for the exec credential plugin: personal, or a robot's (named in `name`).
    fn check_minutes(
        &self,
        form: &KubeconfigForm,
        grant_ends: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<Valid, ApiError> {
        let (min, max) = EXEC_MINUTES;
        let minutes = match form.lifetime_minutes.trim().parse::<u32>() {
            Ok(minutes) if (min..=max).contains(&minutes) => minutes,
            _ => return Err(ApiError::invalid("lifetime_minutes", format!("Between {min} and {max} minutes."))),
        };
        let lifetime = TimeDelta::minutes(i64::from(minutes));
        if grant_ends.is_some_and(|ends| now + lifetime > ends) {
            return Err(ApiError::invalid("lifetime_minutes", "The grant ends sooner; a token cannot outlive it."));
        }
        let purpose = CredentialPurpose::parse(form.purpose.trim()).unwrap_or(CredentialPurpose::Personal);
        let name = match purpose {
            CredentialPurpose::Ci => {
                let name = form.name.trim().to_string();
                if let Some(problem) = credentials::name_problem(&name) {
                    return Err(ApiError::invalid(field::NAME, problem));
                }
                name
            }
            CredentialPurpose::Personal => "personal".to_string(),
        };
        Ok(Valid { purpose, name, lifetime })
    }

    /// Deletes a credential's anchor (its token dies with it) after a failure; logged if even that fails.
    async fn withdraw(&self, credential_id: &str) {
        if let Err(error) = self.cluster.delete_anchor(&self.settings.identities_namespace, credential_id).await {
            tracing::error!(credential = %credential_id, error = %error_chain(&error), "cannot delete the anchor of a withdrawn kubeconfig");
        }
    }
}

impl CredentialsService {
    /// A robot revokes one of its own kubeconfigs (a pipeline done with it), with a reason.
    pub async fn revoke_as_robot(&self, robot: &RobotRecord, id: &str, reason: &str) -> Result<(), ApiError> {
        let parsed = CredentialId::parse(id)?;
        let record = self.store.credential(parsed.as_str()).await?.ok_or(ApiError::NotFound)?;
        // Not its own: it does not exist for the robot.
        if record.summary.robot_id.as_deref() != Some(robot.id.as_str()) {
            return Err(ApiError::NotFound);
        }
        let target = Target::Credential { owner_id: &record.owner_id, grant_owner_id: "" };
        self.policy.check_robot(&robot.request_id, UseCase::RevokeCredential, target)?;
        let reason = Reason::parse(reason, "Say why, so the owner knows what happened.")?;
        // Recorded as revoked by the person the robot acts for (the audit trail names people).
        self.revoke_recorded(&record.request_id, parsed.as_str(), &record.owner_id, reason.as_str()).await
    }

    /// Records `id` revoked by `by` and deletes its anchor (or leaves that to the worker).
    async fn revoke_recorded(&self, request_id: &str, id: &str, by: &str, reason: &str) -> Result<(), ApiError> {
        let at = self.clock.now();
        if !self.store.revoke_credential(id, by, reason, at).await? {
            return Err(ApiError::Conflict("This kubeconfig was already revoked.".to_string()));
        }
        tracing::info!(credential = %id, request = %request_id, actor = %by, "credential revoked");
        // Recorded first, so the worker finishes the job if the cluster does not answer now (or Berth stops).
        match self.cluster.delete_anchor(&self.settings.identities_namespace, id).await {
            Ok(()) => self.store.mark_anchor_deleted(id, self.clock.now()).await?,
            Err(error) => {
                tracing::warn!(credential = %id, error = %error_chain(&error), "cannot delete an anchor now; the worker will");
                self.worker.wake();
            }
        }
        Ok(())
    }
}

#[async_trait::async_trait]
impl CredentialsPort for CredentialsService {
    async fn revoke(&self, caller: &Caller, id: &str, reason: &str) -> Result<(), ApiError> {
        let parsed = CredentialId::parse(id)?;
        let id = parsed.as_str();
        let record = self.store.credential(id).await?.ok_or(ApiError::NotFound)?;
        let grant = self.store.request(&record.request_id).await?.ok_or(ApiError::NotFound)?;
        let target = Target::Credential { owner_id: &record.owner_id, grant_owner_id: &grant.requester_id };
        self.policy.check(caller, UseCase::RevokeCredential, target)?;
        let reason = Reason::parse(reason, "Say why, so the owner knows what happened.")?;
        self.revoke_recorded(&record.request_id, id, &caller.person.id, reason.as_str()).await
    }
}
