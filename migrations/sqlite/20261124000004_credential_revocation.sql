-- Revoking a kubeconfig: who and why are kept with it; the anchor Secret is deleted (which kills the token)
-- right away, or by the worker if the cluster did not answer.
ALTER TABLE credentials ADD COLUMN revoke_reason TEXT;
-- When Berth saw the anchor Secret gone; NULL for a revoked credential whose anchor is still to be deleted.
ALTER TABLE credentials ADD COLUMN anchor_deleted_at TEXT;

-- The worker's list of anchors still to delete: short, so a partial index keeps it a lookup.
CREATE INDEX credentials_to_withdraw ON credentials (revoked_at)
    WHERE revoked_at IS NOT NULL AND anchor_deleted_at IS NULL;
