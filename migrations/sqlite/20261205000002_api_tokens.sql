-- Tokens of Berth's machine API (/api/v1; server/src/store/tokens.rs). The secret part of a token is shown
-- once, when it is made, and only its SHA-256 is kept: the database alone lets nobody call the API.
--   robot:     made by a grant's owner for one robot; acts as that robot on that grant only.
--   person:    made by the command line's sign-in (berth login); acts as that person, with the role of their
--              last sign-in.
--   federated: exchanged for a CI system's OIDC token under a trust rule; acts as the rule's robot.
CREATE TABLE api_tokens (
    id          TEXT PRIMARY KEY NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('robot', 'person', 'federated')),
    secret_hash TEXT NOT NULL,
    -- What it acts as: the robot (robot, federated) or the person (person).
    robot_id    TEXT REFERENCES robots (id),
    person_id   TEXT REFERENCES users (id),
    -- A name for people to tell tokens apart (the robot's tokens on the grant page; the CLI's host).
    name        TEXT NOT NULL,
    created_by  TEXT REFERENCES users (id),
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    last_used_at TEXT,
    revoked_at  TEXT,
    revoked_by  TEXT REFERENCES users (id)
);

CREATE INDEX api_tokens_by_robot ON api_tokens (robot_id) WHERE robot_id IS NOT NULL;
