-- How many requests are in each state, by stage: kept by a trigger in the transaction of every change, so the
-- Approvals page, the home page, the admin overview and /metrics read a handful of rows instead of counting
-- every pending request at every view. Two transactions moving requests into the same (state, stage) wait
-- for each other on its row until the first commits: a few milliseconds, at Berth's rate of decisions.
CREATE TABLE request_counts (
    state TEXT NOT NULL,
    stage TEXT NOT NULL,
    n     BIGINT NOT NULL,
    PRIMARY KEY (state, stage)
);

INSERT INTO request_counts (state, stage, n) SELECT state, stage, COUNT(*) FROM requests GROUP BY state, stage;

CREATE FUNCTION request_counts_follow() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE request_counts SET n = n - 1 WHERE state = OLD.state AND stage = OLD.stage;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO request_counts (state, stage, n) VALUES (NEW.state, NEW.stage, 1)
            ON CONFLICT (state, stage) DO UPDATE SET n = request_counts.n + 1;
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER request_counts_insert_delete AFTER INSERT OR DELETE ON requests
    FOR EACH ROW EXECUTE FUNCTION request_counts_follow();
CREATE TRIGGER request_counts_update AFTER UPDATE OF state, stage ON requests
    FOR EACH ROW WHEN (OLD.state IS DISTINCT FROM NEW.state OR OLD.stage IS DISTINCT FROM NEW.stage)
    EXECUTE FUNCTION request_counts_follow();
