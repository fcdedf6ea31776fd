//! A grant's members and robots, on its page: who has access besides its owner, and, for the owner (and
//! admins), the forms that add and remove them. Every form is an [`EnhancedForm`]: it works without
//! JavaScript, and with it shows the server's problem next to its field.

use leptos::prelude::*;
use leptos::server_fn::ServerFn as _;

use crate::api::members::{AddMember, AddRobot, RemoveMember, RemoveRobot, RevokeRobotToken};
use crate::components::forms::{AfterSuccess, EnhancedForm, FieldProblem};
use crate::components::requests::minute;
use crate::requests::credentials::MAX_NAME_CHARS;
use crate::requests::members::{ApiTokenSummary, GrantMembers, field};

/// The members and robots of grant `id`; with `manage`, the forms to add and remove them.
#[component]
pub fn MembersSection(id: String, members: GrantMembers, manage: bool) -> impl IntoView {
    let GrantMembers { team, members, robots } = members;
    let member_rows = members
        .into_iter()
        .map(|member| {
            let id = id.clone();
            let label = format!("Remove {}", member.display_name);
            let added = match &member.added_by {
                None => "Owner (requested it)".to_string(),
                Some(by) => format!("Added by {by}, {}", minute(member.added_at)),
            };
            let person = member.person_id.clone();
            let remove = (manage && member.added_by.is_some()).then(move || {
                view! {
                    <EnhancedForm action=RemoveMember::url() after=AfterSuccess::Reload class="inline">
                        <input type="hidden" name="id" value=id />
                        <input type="hidden" name="person" value=person />
                        <button type="submit" class="button danger" aria-label=label>"Remove"</button>
                    </EnhancedForm>
                }
            });
            view! {
                <tr data-testid="member">
                    <td data-label="Person">{member.display_name}</td>
                    <td data-label="Email">{member.email.unwrap_or_default()}</td>
                    <td data-label="Access">{added}</td>
                    {manage.then(|| view! { <td data-label="Actions">{remove}</td> })}
                </tr>
            }
        })
        .collect::<Vec<_>>();
    let robot_rows = robots
        .into_iter()
        .map(|robot| {
            let id = id.clone();
            let label = format!("Remove robot {}", robot.name);
            let robot_id = robot.id.clone();
            let tokens = view! {
                <RobotTokens id=id.clone() robot_id=robot.id.clone() robot=robot.name.clone() tokens=robot.tokens.clone()
                    manage />
            };
            let remove = manage.then(move || {
                view! {
                    <td data-label="Actions">
                        <EnhancedForm action=RemoveRobot::url() after=AfterSuccess::Reload class="inline">
                            <input type="hidden" name="id" value=id />
                            <input type="hidden" name="robot" value=robot_id />
                            <button type="submit" class="button danger" aria-label=label>"Remove"</button>
                        </EnhancedForm>
                    </td>
                }
            });
            view! {
                <tr data-testid="robot">
                    <td data-label="Robot">
                        <strong>{robot.name}</strong>
                        <br /><code class="username">{robot.username}</code>
                        <br /><span class="muted">{format!("Created by {}, {}", robot.created_by, minute(robot.created_at))}</span>
                    </td>
                    <td data-label="API tokens">{tokens}</td>
                    {remove}
                </tr>
            }
        })
        .collect::<Vec<_>>();
    let robot_form_id = id.clone();
    view! {
        <h2 id="members">"Members and robots"</h2>
        <p class="help">
            "Members see this grant, download kubeconfigs of their own and ask for changes. Each person and each "
            "robot has its own identity in the cluster: the API server's audit log names who acted, and removing "
            "one takes away exactly their access."
        </p>
        {team.map(|team| view! {
            <p data-testid="team">
                "Owned by the team " <strong>{team.clone()}</strong>
                ": everyone in this group at their sign-in is a member, and loses access at the first sign-in after leaving it."
            </p>
        })}
        <table class="table members" data-testid="members">
            <thead><tr><th>"Person"</th><th>"Email"</th><th>"Access"</th>{manage.then(|| view! { <th><span class="visually-hidden">"Actions"</span></th> })}</tr></thead>
            <tbody>{member_rows}</tbody>
        </table>
        {manage.then(|| view! {
            <EnhancedForm action=AddMember::url() after=AfterSuccess::Reload class="form inline-form"
                testid="add-member" novalidate=true fields=&[field::EMAIL]>
                <input type="hidden" name="id" value=id.clone() />
                <div class="field">
                    <label for="member-email">"Add a member by email"</label>
                    <input id="member-email" name=field::EMAIL type="email" autocomplete="off"
                        placeholder="dave@example.com" required=true />
                    <FieldProblem field=field::EMAIL />
                </div>
                <button type="submit" class="button">"Add member"</button>
            </EnhancedForm>
        })}
        <h3>"Robots"</h3>
        {if robot_rows.is_empty() {
            view! { <p class="muted" data-testid="no-robots">"No robots yet. A robot is an identity for a CI system, such as Jenkins; it belongs to the grant, so it keeps working when people leave."</p> }.into_any()
        } else {
            view! {
                <table class="table robots" data-testid="robots">
                    <thead><tr><th>"Robot (Kubernetes user)"</th><th>"API tokens"</th>{manage.then(|| view! { <th><span class="visually-hidden">"Actions"</span></th> })}</tr></thead>
                    <tbody>{robot_rows}</tbody>
                </table>
            }.into_any()
        }}
        {manage.then(|| view! {
            <EnhancedForm action=AddRobot::url() after=AfterSuccess::Reload class="form inline-form"
                testid="add-robot" novalidate=true fields=&[field::ROBOT_NAME]>
                <input type="hidden" name="id" value=robot_form_id />
                <div class="field">
                    <label for="robot-name">"Add a robot"</label>
                    <input id="robot-name" name=field::ROBOT_NAME placeholder="jenkins-prod" maxlength=MAX_NAME_CHARS
                        autocomplete="off" spellcheck="false" required=true />
                    <FieldProblem field=field::ROBOT_NAME />
                </div>
                <button type="submit" class="button">"Add robot"</button>
            </EnhancedForm>
        })}
    }
}

/// A robot's API tokens (for `/api/v1`): each with its end, its last use and, for the owner, a revoke button;
/// and the form that makes a new one, answered with a page that shows it once.
#[component]
fn RobotTokens(
    id: String,
    robot_id: String,
    robot: String,
    tokens: Vec<ApiTokenSummary>,
    manage: bool,
) -> impl IntoView {
    let in_force: Vec<ApiTokenSummary> = tokens.into_iter().filter(|token| token.revoked_at.is_none()).collect();
    let listed = in_force
        .into_iter()
        .map(|token| {
            let used =
                token.last_used_at.map_or_else(|| "never used".to_string(), |at| format!("last used {}", minute(at)));
            let (id, robot_id) = (id.clone(), robot_id.clone());
            let line = format!("{}: until {}, {used}", token.name, minute(token.expires_at));
            let label = format!("Revoke token {}", token.name);
            let revoke = manage.then(move || {
                view! {
                    <EnhancedForm action=RevokeRobotToken::url() after=AfterSuccess::Reload class="inline">
                        <input type="hidden" name="id" value=id />
                        <input type="hidden" name="robot" value=robot_id />
                        <input type="hidden" name="token" value=token.id.clone() />
                        <button type="submit" class="button danger small" aria-label=label>"Revoke"</button>
                    </EnhancedForm>
                }
            });
            view! {
                <li data-testid="api-token-row">
                    {line} {revoke}
                </li>
            }
        })
        .collect::<Vec<_>>();
    let form_id = format!("token-name-{robot}");
    let days_id = format!("{form_id}-days");
    view! {
        {if listed.is_empty() { view! { <span class="muted">"none"</span> }.into_any() } else { view! { <ul class="plain">{listed}</ul> }.into_any() }}
        {manage.then(|| view! {
            <form method="post" action=format!("/requests/{id}/robots/{robot_id}/tokens") class="inline" data-testid="new-api-token">
                <label class="visually-hidden" for=form_id.clone()>{format!("What the new token of {robot} is for")}</label>
                <input id=form_id.clone() name="name" placeholder="what for" required=true maxlength="80" />
                <label class="visually-hidden" for=days_id.clone()>"Days"</label>
                <input id=days_id name="days" type="number" min="1" max="90" value="30" required=true />
                <button type="submit" class="button small">"New API token"</button>
            </form>
        })}
    }
}
