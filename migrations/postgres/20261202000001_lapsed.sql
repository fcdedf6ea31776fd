-- A request nobody decided within `requests.pending_lapse_days` lapses: a new final state, 'lapsed'.
ALTER TABLE requests DROP CONSTRAINT requests_state_check;
ALTER TABLE requests ADD CONSTRAINT requests_state_check CHECK (state IN ('pending', 'approved', 'provisioning',
    'ready', 'failed', 'revoking', 'revoked', 'expired', 'denied', 'cancelled', 'lapsed'));
