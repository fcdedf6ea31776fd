-- Identifies this installation of Berth: created with the database, never changed. Shown on the status card,
-- and meant for labelling what this installation creates in a cluster that several installations share.
-- (The same schema as migrations/sqlite/, in PostgreSQL's types.)
CREATE TABLE installation (
    singleton  INTEGER PRIMARY KEY CHECK (singleton = 1),
    id         TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
