-- Members and robots of a grant (server/src/store/access.rs). Each member and each robot gets an identity of
-- its own in the cluster (a ServiceAccount in the identities namespace, bound in the grant's namespace), so the
-- API server's audit log names who acted and removing one touches no one else.

-- People the grant's owner added by hand (besides the requester). Removing one deletes the row: the audit
-- trail keeps who added and removed whom.
CREATE TABLE grant_members (
    request_id TEXT NOT NULL REFERENCES requests (id),
    person_id  TEXT NOT NULL REFERENCES users (id),
    added_by   TEXT NOT NULL REFERENCES users (id),
    added_at   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (request_id, person_id)
);

-- "Grants I am a member of", for My access and the home page.
CREATE INDEX grant_members_by_person ON grant_members (person_id, request_id);

-- Robots: named identities of a grant for CI systems, owned by the grant rather than by a person, so they keep
-- working when their creator leaves. A removed robot keeps its row (its kubeconfigs name it); its name is free
-- again for a new robot.
CREATE TABLE robots (
    id         TEXT PRIMARY KEY NOT NULL,
    request_id TEXT NOT NULL REFERENCES requests (id),
    name       TEXT NOT NULL,
    created_by TEXT NOT NULL REFERENCES users (id),
    created_at TIMESTAMPTZ NOT NULL,
    removed_at TIMESTAMPTZ,
    removed_by TEXT REFERENCES users (id)
);

CREATE UNIQUE INDEX robots_live_name ON robots (request_id, name) WHERE removed_at IS NULL;

-- A robot's kubeconfig: its token is the robot's; owner_id stays the person who downloaded it.
ALTER TABLE credentials ADD COLUMN robot_id TEXT REFERENCES robots (id);
CREATE INDEX credentials_by_robot ON credentials (robot_id) WHERE robot_id IS NOT NULL;

-- The team that owns a grant: one of its requester's groups the configuration allows as a team
-- (requests.team_groups). Everyone in that group (at their last sign-in) is a member.
ALTER TABLE requests ADD COLUMN team TEXT;
CREATE INDEX requests_by_team ON requests (team) WHERE team IS NOT NULL;
