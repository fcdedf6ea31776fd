-- A request nobody decided within `requests.pending_lapse_days` lapses: a new final state, 'lapsed'.
--
-- SQLite cannot ALTER a CHECK constraint, and sqlx runs a SQLite migration inside a transaction, where the
-- table rebuild SQLite documents (foreign keys off) is impossible. Widening the list of allowed values is
-- the case SQLite documents for editing the table's definition in place
-- (https://www.sqlite.org/lang_altertable.html#otheralter): every stored row still satisfies it, so nothing
-- needs rewriting. Store::open runs migrations on a connection of their own and only then opens the pool, so
-- every connection that works with the table reads the new definition.
PRAGMA writable_schema = ON;
UPDATE sqlite_master
   SET sql = replace(sql, '''denied'', ''cancelled''))', '''denied'', ''cancelled'', ''lapsed''))')
 WHERE type = 'table' AND name = 'requests' AND sql NOT LIKE '%''lapsed''%';
PRAGMA writable_schema = OFF;
