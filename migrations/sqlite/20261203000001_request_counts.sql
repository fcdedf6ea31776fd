-- How many requests are in each state, by stage: kept by triggers in the transaction of every change, so the
-- Approvals page, the home page, the admin overview and /metrics read a handful of rows instead of counting
-- every pending request at every view.
CREATE TABLE request_counts (
    state TEXT NOT NULL,
    stage TEXT NOT NULL,
    n     INTEGER NOT NULL,
    PRIMARY KEY (state, stage)
);

INSERT INTO request_counts (state, stage, n) SELECT state, stage, COUNT(*) FROM requests GROUP BY state, stage;

CREATE TRIGGER request_counts_insert AFTER INSERT ON requests
BEGIN
    INSERT INTO request_counts (state, stage, n) VALUES (NEW.state, NEW.stage, 1)
        ON CONFLICT (state, stage) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER request_counts_update AFTER UPDATE OF state, stage ON requests
    WHEN OLD.state IS NOT NEW.state OR OLD.stage IS NOT NEW.stage
BEGIN
    UPDATE request_counts SET n = n - 1 WHERE state = OLD.state AND stage = OLD.stage;
    INSERT INTO request_counts (state, stage, n) VALUES (NEW.state, NEW.stage, 1)
        ON CONFLICT (state, stage) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER request_counts_delete AFTER DELETE ON requests
BEGIN
    UPDATE request_counts SET n = n - 1 WHERE state = OLD.state AND stage = OLD.stage;
END;
