-- no-transaction
-- A request nobody decided within `requests.pending_lapse_days` lapses: a new final state, 'lapsed'.
--
-- SQLite cannot change a CHECK constraint, so the table is rebuilt the way SQLite documents it
-- (https://www.sqlite.org/lang_altertable.html#otheralter): foreign keys off outside a transaction, then in one
-- transaction a new table, the rows copied, the old table dropped, the new one renamed, its indexes made
-- again, the foreign keys checked; then foreign keys on. (Hence no transaction around this file.) The columns
-- are those of every earlier migration, in their order.
PRAGMA foreign_keys = OFF;
BEGIN;
CREATE TABLE requests_new (
    id              TEXT PRIMARY KEY NOT NULL,
    namespace       TEXT NOT NULL,
    purpose         TEXT NOT NULL,
    stage           TEXT NOT NULL,
    helm_mode       TEXT NOT NULL CHECK (helm_mode IN ('tiller', 'none')),
    quota_profile   TEXT NOT NULL,
    lifetime_days   INTEGER NOT NULL CHECK (lifetime_days > 0),
    requester_id    TEXT NOT NULL REFERENCES users (id),
    state           TEXT NOT NULL CHECK (state IN ('pending', 'approved', 'provisioning', 'ready', 'failed',
                                                   'revoking', 'revoked', 'expired', 'denied', 'cancelled',
                                                   'lapsed')),
    version         BIGINT NOT NULL DEFAULT 1,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    decided_by      TEXT REFERENCES users (id),
    decided_at      TEXT,
    decision_reason TEXT,
    objects_applied INTEGER,
    objects_total   INTEGER,
    last_error      TEXT,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT,
    lease_until     TEXT,
    ready_at        TEXT,
    expires_at      TEXT,
    expiry_warned_at TEXT,
    extension_days  INTEGER,
    extension_reason TEXT,
    extension_requested_at TEXT,
    namespace_delete_requested_at TEXT,
    namespace_deleted_at TEXT
);
INSERT INTO requests_new (id, namespace, purpose, stage, helm_mode, quota_profile, lifetime_days, requester_id,
    state, version, created_at, updated_at, decided_by, decided_at, decision_reason, objects_applied,
    objects_total, last_error, attempts, next_attempt_at, lease_until, ready_at, expires_at, expiry_warned_at,
    extension_days, extension_reason, extension_requested_at, namespace_delete_requested_at, namespace_deleted_at)
SELECT id, namespace, purpose, stage, helm_mode, quota_profile, lifetime_days, requester_id,
    state, version, created_at, updated_at, decided_by, decided_at, decision_reason, objects_applied,
    objects_total, last_error, attempts, next_attempt_at, lease_until, ready_at, expires_at, expiry_warned_at,
    extension_days, extension_reason, extension_requested_at, namespace_delete_requested_at, namespace_deleted_at
FROM requests;
DROP TABLE requests;
ALTER TABLE requests_new RENAME TO requests;
CREATE UNIQUE INDEX requests_namespace_held ON requests (namespace)
    WHERE state IN ('pending', 'approved', 'provisioning', 'ready', 'failed', 'revoking');
CREATE INDEX requests_by_state ON requests (state, created_at, id);
CREATE INDEX requests_by_requester ON requests (requester_id, created_at DESC, id);
CREATE INDEX requests_ready_by_expiry ON requests (expires_at) WHERE state = 'ready';
CREATE INDEX requests_by_created ON requests (created_at DESC, id DESC);
CREATE INDEX requests_by_expiry ON requests (expires_at, id);
CREATE INDEX requests_by_namespace ON requests (namespace, id);
CREATE INDEX requests_extensions_pending ON requests (extension_requested_at) WHERE extension_requested_at IS NOT NULL;
CREATE INDEX requests_namespaces_to_delete ON requests (namespace_delete_requested_at)
    WHERE namespace_delete_requested_at IS NOT NULL AND namespace_deleted_at IS NULL;
COMMIT;
PRAGMA foreign_keys = ON;
