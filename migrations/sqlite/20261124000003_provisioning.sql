-- Provisioning progress on the request, and the metadata of every kubeconfig handed out.

-- The worker's progress through the grant's objects, shown live on the request's page.
ALTER TABLE requests ADD COLUMN objects_applied INTEGER;
ALTER TABLE requests ADD COLUMN objects_total INTEGER;
-- The last error the cluster gave; kept when the request fails, cleared by a retry.
ALTER TABLE requests ADD COLUMN last_error TEXT;
-- Attempts since the approval (or the last retry), and when the next one is due after a transient error.
ALTER TABLE requests ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE requests ADD COLUMN next_attempt_at TEXT;
-- A worker holds a request it is provisioning until this moment (renewed as it goes), so two replicas never
-- work on one request at once and a crashed worker's request is taken over once the lease runs out.
ALTER TABLE requests ADD COLUMN lease_until TEXT;
-- When the grant became ready, and when it expires (ready_at plus the lifetime asked for).
ALTER TABLE requests ADD COLUMN ready_at TEXT;
ALTER TABLE requests ADD COLUMN expires_at TEXT;

-- Every kubeconfig download is a credential of its own: an anchor Secret in the identities namespace and a
-- token bound to it. Only the metadata is kept here, never the token.
CREATE TABLE credentials (
    id          TEXT PRIMARY KEY NOT NULL,
    request_id  TEXT NOT NULL REFERENCES requests (id),
    owner_id    TEXT NOT NULL REFERENCES users (id),
    purpose     TEXT NOT NULL CHECK (purpose IN ('personal', 'ci')),
    -- 'personal', or the CI system's name (jenkins-prod); also in the anchor Secret's labels.
    name        TEXT NOT NULL,
    issued_at   TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    revoked_at  TEXT,
    revoked_by  TEXT REFERENCES users (id)
);

CREATE INDEX credentials_by_request ON credentials (request_id, issued_at DESC);
