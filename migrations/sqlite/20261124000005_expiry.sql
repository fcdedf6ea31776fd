-- Expiry of grants: when the owner was warned (once), and the worker's lookup of grants reaching their end.
ALTER TABLE requests ADD COLUMN expiry_warned_at TEXT;

CREATE INDEX requests_ready_by_expiry ON requests (expires_at) WHERE state = 'ready';
