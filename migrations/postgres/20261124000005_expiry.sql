-- Expiry of grants: when the owner was warned (once), and the worker's lookup of grants reaching their end. (The same schema as migrations/sqlite/.)
ALTER TABLE requests ADD COLUMN expiry_warned_at TIMESTAMPTZ;

CREATE INDEX requests_ready_by_expiry ON requests (expires_at) WHERE state = 'ready';
