-- Namespace requests and their audit trail.
--
-- A request's state follows the lifecycle in app/src/requests/lifecycle.rs. Every change of state is one
-- transaction that updates the row only if its version is still the one read (so two racing decisions
-- record exactly one) and appends an audit event.
CREATE TABLE requests (
    id              TEXT PRIMARY KEY NOT NULL,
    namespace       TEXT NOT NULL,
    purpose         TEXT NOT NULL,
    stage           TEXT NOT NULL,
    helm_mode       TEXT NOT NULL CHECK (helm_mode IN ('tiller', 'none')),
    quota_profile   TEXT NOT NULL,
    lifetime_days   INTEGER NOT NULL CHECK (lifetime_days > 0),
    requester_id    TEXT NOT NULL REFERENCES users (id),
    state           TEXT NOT NULL CHECK (state IN ('pending', 'approved', 'provisioning', 'ready', 'failed',
                                                   'revoking', 'revoked', 'expired', 'denied', 'cancelled')),
    -- Incremented by every change of state; the guard of the conditional update.
    version         BIGINT NOT NULL DEFAULT 1,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    -- The approver's decision (approve or deny), shown with the request; the audit trail has it too.
    decided_by      TEXT REFERENCES users (id),
    decided_at      TEXT,
    decision_reason TEXT
);

-- A name is held by at most one request that is not over; the check before the insert gives the clear
-- message, this index decides between two submissions racing for the same name. Keep the list of states in
-- step with RequestState::holds_name.
CREATE UNIQUE INDEX requests_namespace_held ON requests (namespace)
    WHERE state IN ('pending', 'approved', 'provisioning', 'ready', 'failed', 'revoking');

-- The Approvals page (pending, oldest first) and the worker (approved, oldest first).
CREATE INDEX requests_by_state ON requests (state, created_at, id);
-- My requests (newest first).
CREATE INDEX requests_by_requester ON requests (requester_id, created_at DESC, id);

-- Append-only: who did what to which request, when, from which state to which, and why.
CREATE TABLE audit_events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    request_id  TEXT NOT NULL REFERENCES requests (id),
    -- NULL: Berth itself (its background worker).
    actor_id    TEXT REFERENCES users (id),
    action      TEXT NOT NULL,
    -- NULL for the submission.
    from_state  TEXT,
    to_state    TEXT NOT NULL,
    reason      TEXT,
    at          TEXT NOT NULL
);

CREATE INDEX audit_events_by_request ON audit_events (request_id, id);
