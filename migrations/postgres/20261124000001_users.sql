-- Everyone who has signed in. One row per person at an identity provider (issuer + subject); updated at every
-- sign-in. No tokens: the ID token is verified and dropped. (The same schema as migrations/sqlite/.)
CREATE TABLE users (
    id               TEXT PRIMARY KEY NOT NULL,
    issuer           TEXT NOT NULL,
    subject          TEXT NOT NULL,
    email            TEXT,
    display_name     TEXT NOT NULL,
    -- The role the person's groups granted at their last sign-in (roles are cumulative: admin includes
    -- approver includes developer); NULL: signed in, but no group grants a role.
    role             TEXT CHECK (role IN ('developer', 'approver', 'admin')),
    first_sign_in_at TIMESTAMPTZ NOT NULL,
    last_sign_in_at  TIMESTAMPTZ NOT NULL,
    UNIQUE (issuer, subject)
);

CREATE INDEX users_last_sign_in ON users (last_sign_in_at DESC);
