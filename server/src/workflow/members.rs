//! Adding and removing a grant's members and robots (its owner or an admin, while it is ready).
//!
//! A member's identity is made when they first download a kubeconfig; a robot's when it is created. Removing
//! either is recorded first (their kubeconfigs revoked in the same transaction, anchors still to delete), then
//! their binding, anchors and identity are deleted at once; if the cluster does not answer, the worker deletes
//! the anchors (which kills every token) and the grant's revocation removes what is left.

use app::auth::Caller;
use app::error::ApiError;
use app::model::{PersonId, RobotId};
use app::policy::{Policy, UseCase};
use app::ports::MembersPort;
use app::requests::members::{self, GrantMembers, field};

use super::requests::authorized_request;
use super::worker::{Waker, grant_ref};
use crate::clock::Clock;
use crate::cluster::Cluster;
use crate::cluster::manifests::{Settings, Subject, service_account_username};
use crate::store::Store;
use crate::store::members::{Removed, RobotRecord};
use crate::store::requests::RequestRecord;
use crate::telemetry::error_chain;
use crate::workflow::validation::Rules;

pub struct MembersService {
    pub store: Store,
    pub policy: Policy,
    pub cluster: Cluster,
    pub rules: Rules,
    pub settings: Settings,
    /// Wakes the worker to delete anchors the cluster did not let Berth delete at once.
    pub worker: Waker,
    pub clock: Clock,
}

/// The grant's owner, members and robots, for its page.
pub(crate) async fn grant_members(
    store: &Store,
    record: &RequestRecord,
    identities_namespace: &str,
) -> Result<GrantMembers, ApiError> {
    let members = store.members_of(&record.summary.id).await?;
    let mut robots = store.robots_of(&record.summary.id).await?;
    let tokens = store.robot_tokens_of(&record.summary.id).await?;
    for robot in &mut robots {
        robot.tokens = tokens.iter().filter(|(of, _)| *of == robot.id).map(|(_, token)| token.clone()).collect();
        let subject = Subject::Robot { id: &robot.id, name: &robot.name };
        robot.username =
            service_account_username(identities_namespace, &subject.identity_name(&record.summary.namespace));
    }
    Ok(GrantMembers { team: record.summary.team.clone(), members, robots })
}

impl MembersService {
    async fn grant(&self, caller: &Caller, request_id: &str) -> Result<RequestRecord, ApiError> {
        authorized_request(&self.store, &self.policy, caller, request_id, UseCase::ManageAccess).await
    }

    /// Takes `subject`'s access to `record` away in the cluster now, or leaves it to the worker (anchors)
    /// and the grant's revocation (binding and identity) if the cluster does not answer.
    async fn remove_identity(&self, record: &RequestRecord, subject: Subject<'_>, removed: &Removed) {
        match self.cluster.remove_identity(&grant_ref(record), subject, &removed.credential_ids, &self.settings).await {
            Ok(()) => {
                for id in &removed.credential_ids {
                    if let Err(error) = self.store.mark_anchor_deleted(id, self.clock.now()).await {
                        tracing::warn!(credential = %id, error = %error_chain(&error), "cannot record a deleted anchor");
                    }
                }
            }
            Err(error) => {
                tracing::warn!(request = %record.summary.id, error = %error_chain(&error), "cannot remove an identity now; the worker deletes its anchors");
                self.worker.wake();
            }
        }
    }

    /// Creates robot `name` on `record` (recorded, then its identity applied): for [`MembersPort::add_robot`]
    /// and for a CI kubeconfig naming a robot the grant does not have yet.
    pub async fn create_robot(
        &self,
        caller: &Caller,
        record: &RequestRecord,
        name: &str,
    ) -> Result<RobotRecord, ApiError> {
        if let Some(problem) = members::robot_name_problem(name) {
            return Err(ApiError::invalid(field::ROBOT_NAME, problem));
        }
        let robot = RobotRecord {
            id: uuid::Uuid::new_v4().to_string(),
            request_id: record.summary.id.clone(),
            name: name.to_string(),
            created_by: caller.person.id.clone(),
            created_at: self.clock.now(),
        };
        if !self.store.create_robot(&robot).await? {
            return Err(ApiError::invalid(field::ROBOT_NAME, format!("This grant has a robot named {name} already.")));
        }
        let subject = Subject::Robot { id: &robot.id, name: &robot.name };
        if let Err(error) = self.cluster.ensure_identity(&grant_ref(record), subject, &self.settings).await {
            // Nothing half-made: the robot goes again (its kubeconfigs would have no identity).
            tracing::error!(request = %record.summary.id, error = %error_chain(&error), "cannot create a robot's identity");
            self.store.remove_robot(&robot, &caller.person.id, self.clock.now()).await?;
            return Err(ApiError::Unavailable(
                "Berth could not create the robot's identity in the cluster, so the robot was not added. Try again \
                 in a minute."
                    .to_string(),
            ));
        }
        tracing::info!(request = %record.summary.id, robot = %robot.name, actor = %caller.person.id, "robot created");
        Ok(robot)
    }
}

impl MembersService {
    /// After `person` signed in with `groups`: the kubeconfigs they hold of team grants whose team they
    /// left are revoked and their identity there removed, within the revocation bound; everyone else's stay.
    pub async fn settle_after_sign_in(&self, person_id: &str, groups: &[String]) {
        let settled = async {
            let Some(person) = self.store.person(person_id).await? else { return Ok(()) };
            let left = self.store.revoke_left_teams(&person, groups, self.clock.now()).await?;
            for (request_id, removed) in left {
                let Some(record) = self.store.request(&request_id).await? else { continue };
                let hint = person.email.as_deref().unwrap_or(&person.display_name);
                tracing::info!(request = %request_id, person = %person.id, revoked = removed.credential_ids.len(), "left the owning team: access removed");
                self.remove_identity(&record, Subject::Person { id: &person.id, hint }, &removed).await;
            }
            Ok::<(), crate::store::StoreError>(())
        };
        if let Err(error) = settled.await {
            // The sign-in itself stands; the worker is not involved, so say it loudly.
            tracing::error!(person = %person_id, error = %error_chain(&error), "cannot settle a person's team access after sign-in");
        }
    }
}

#[async_trait::async_trait]
impl MembersPort for MembersService {
    async fn add_member(&self, caller: &Caller, request_id: &str, email: &str) -> Result<(), ApiError> {
        let record = self.grant(caller, request_id).await?;
        let email = email.trim();
        if let Some(problem) = members::email_problem(email) {
            return Err(ApiError::invalid(field::EMAIL, problem));
        }
        let Some(person) = self.store.person_by_email(email).await? else {
            return Err(ApiError::invalid(
                field::EMAIL,
                format!("Nobody has signed in to Berth as {email} yet. Ask them to sign in once, then add them."),
            ));
        };
        if person.id == record.requester_id {
            return Err(ApiError::invalid(field::EMAIL, format!("{} owns this grant already.", person.display_name)));
        }
        if !self.store.add_member(&record.summary.id, &person, &caller.person.id, self.clock.now()).await? {
            return Err(ApiError::invalid(field::EMAIL, format!("{} is a member already.", person.display_name)));
        }
        tracing::info!(request = %record.summary.id, member = %person.id, actor = %caller.person.id, "member added");
        Ok(())
    }

    async fn remove_member(&self, caller: &Caller, request_id: &str, person_id: &str) -> Result<(), ApiError> {
        let record = self.grant(caller, request_id).await?;
        let person_id = PersonId::parse(person_id)?;
        let person = self.store.person(person_id.as_str()).await?.ok_or(ApiError::NotFound)?;
        let at = self.clock.now();
        let Some(removed) = self.store.remove_member(&record.summary.id, &person, &caller.person.id, at).await? else {
            return Err(ApiError::Conflict(format!("{} is not a member of this grant.", person.display_name)));
        };
        let hint = person.email.as_deref().unwrap_or(&person.display_name);
        self.remove_identity(&record, Subject::Person { id: &person.id, hint }, &removed).await;
        tracing::info!(request = %record.summary.id, member = %person.id, actor = %caller.person.id, revoked = removed.credential_ids.len(), "member removed");
        Ok(())
    }

    async fn add_robot(&self, caller: &Caller, request_id: &str, name: &str) -> Result<(), ApiError> {
        let record = self.grant(caller, request_id).await?;
        self.create_robot(caller, &record, name.trim()).await.map(drop)
    }

    async fn remove_robot(&self, caller: &Caller, request_id: &str, robot_id: &str) -> Result<(), ApiError> {
        let record = self.grant(caller, request_id).await?;
        let robot_id = RobotId::parse(robot_id)?;
        let robot = self.store.robot(&record.summary.id, robot_id.as_str()).await?.ok_or(ApiError::NotFound)?;
        let Some(removed) = self.store.remove_robot(&robot, &caller.person.id, self.clock.now()).await? else {
            return Err(ApiError::Conflict(format!("The robot {} was removed already.", robot.name)));
        };
        self.remove_identity(&record, Subject::Robot { id: &robot.id, name: &robot.name }, &removed).await;
        tracing::info!(request = %record.summary.id, robot = %robot.name, actor = %caller.person.id, revoked = removed.credential_ids.len(), "robot removed");
        Ok(())
    }

    async fn revoke_token(
        &self,
        caller: &Caller,
        request_id: &str,
        robot_id: &str,
        token_id: &str,
    ) -> Result<(), ApiError> {
        let record = self.grant(caller, request_id).await?;
        let robot_id = RobotId::parse(robot_id)?;
        let robot = self.store.robot(&record.summary.id, robot_id.as_str()).await?.ok_or(ApiError::NotFound)?;
        let at = self.clock.now();
        if !self.store.revoke_robot_token(&record.summary.id, &robot.id, token_id, &caller.person.id, at).await? {
            return Err(ApiError::Conflict("This token was revoked already (or is not this robot's).".to_string()));
        }
        tracing::info!(request = %record.summary.id, robot = %robot.name, token = %token_id, actor = %caller.person.id, "robot API token revoked");
        Ok(())
    }
}
