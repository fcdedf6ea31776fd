-- The reconciler's leader lease: one row per lease name, held by one replica until `expires_at` unless it
-- renews. `term` counts the changes of holder (a new leader's first act), for logs and metrics. (The same
-- schema as migrations/sqlite/.)
CREATE TABLE leader_leases (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    term BIGINT NOT NULL,
    acquired_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);
