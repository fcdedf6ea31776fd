-- The admin dashboard, the audit log, extensions and namespace deletion. (The same schema as migrations/sqlite/.)

-- The audit trail also records what happens to a grant's kubeconfigs, its extensions and its namespace.
-- Such records leave the request's state as it was (from_state = to_state); a kubeconfig's record names it.
ALTER TABLE audit_events ADD COLUMN credential_id TEXT REFERENCES credentials (id);

-- More time the owner of a ready grant asked for, until an approver decides (one ask at a time).
ALTER TABLE requests ADD COLUMN extension_days INTEGER;
ALTER TABLE requests ADD COLUMN extension_reason TEXT;
ALTER TABLE requests ADD COLUMN extension_requested_at TIMESTAMPTZ;

-- An admin's deletion of the namespace: asked for, then done by the worker once the grant's access is gone.
ALTER TABLE requests ADD COLUMN namespace_delete_requested_at TIMESTAMPTZ;
ALTER TABLE requests ADD COLUMN namespace_deleted_at TIMESTAMPTZ;

-- The dashboard's orders (each with the id as tie-break, so pages never overlap): newest first, ending
-- soonest, by name. Filters by state and by owner use requests_by_state and requests_by_requester.
CREATE INDEX requests_by_created ON requests (created_at DESC, id DESC);
CREATE INDEX requests_by_expiry ON requests (expires_at, id);
CREATE INDEX requests_by_namespace ON requests (namespace, id);
-- The Approvals page's extensions, and the worker's namespaces to delete: short lists, partial indexes.
CREATE INDEX requests_extensions_pending ON requests (extension_requested_at) WHERE extension_requested_at IS NOT NULL;
CREATE INDEX requests_namespaces_to_delete ON requests (namespace_delete_requested_at)
    WHERE namespace_delete_requested_at IS NOT NULL AND namespace_deleted_at IS NULL;

-- The audit log: newest first, and by person.
CREATE INDEX audit_events_by_time ON audit_events (at DESC, id DESC);
CREATE INDEX audit_events_by_actor ON audit_events (actor_id, at DESC);
