-- Decisions by policy (app/src/policy/approvals.rs, stages.rs).

-- The groups of a person's last sign-in, as a JSON array of strings: the approvals a stage needs are by group.
ALTER TABLE users ADD COLUMN groups TEXT NOT NULL DEFAULT '[]';

-- Who approved so far what waits for a decision (a pending request, or a ready grant's change), with the groups
-- (of those the stage's policy names) they had when they approved; cleared when it is decided (the audit log
-- keeps who approved) and when a new change is asked for. A person approves once. The approval that completes the request is written in the
-- same transaction as the request's move to approved, and every approval moves the request's version, so
-- two approvers racing for the last seat end with exactly one transition.
CREATE TABLE approvals (
    request_id TEXT NOT NULL REFERENCES requests (id),
    person_id  TEXT NOT NULL REFERENCES users (id),
    groups     TEXT NOT NULL,
    at         TEXT NOT NULL,
    PRIMARY KEY (request_id, person_id)
);

-- The Approvals page leaves out what the approver already approved.
CREATE INDEX approvals_by_person ON approvals (person_id, request_id);

-- An auto-approval rule that approved a request (its name), where a person would be named.
ALTER TABLE requests ADD COLUMN decided_by_rule TEXT;
ALTER TABLE audit_events ADD COLUMN actor_rule TEXT;

-- Change requests on a live grant: today's extension became one kind of change. The owner asks for any of
-- more days, another quota profile, Helm 3 instead of Tiller; the decision policy decides who approves.
ALTER TABLE requests RENAME COLUMN extension_days TO change_days;
ALTER TABLE requests RENAME COLUMN extension_reason TO change_reason;
ALTER TABLE requests RENAME COLUMN extension_requested_at TO change_requested_at;
ALTER TABLE requests ADD COLUMN change_quota_profile TEXT;
ALTER TABLE requests ADD COLUMN change_helm_mode TEXT;
-- Set when an approved change of profile or Helm mode is not yet applied in the cluster: what the grant had
-- before (`profile helm_mode`), so the worker applies exactly the difference, then clears it.
ALTER TABLE requests ADD COLUMN applying_change_from TEXT;
