-- The reconciler's leader lease: one row per lease name, held by one replica until `expires_at` unless it
-- renews. `term` counts the changes of holder (a new leader's first act), for logs and metrics.
CREATE TABLE leader_leases (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    term INTEGER NOT NULL,
    acquired_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
