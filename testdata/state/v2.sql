-- Golden state of a pipeline at schema version 2, as `kontor` wrote it
-- before runs had a message (schema version 3). duckstate's
-- TestGoldenMigrationV2 loads it into a fresh DuckDB file, checks that its
-- tables are exactly what migrating to version 2 creates, migrates it to
-- the current version and checks every row. A SQL dump (not a binary
-- .duckdb file) so it stays readable across DuckDB versions.
-- Never edit it; add a v3.sql golden when the schema changes again.
CREATE TABLE schema_version (version INTEGER NOT NULL, applied_at TIMESTAMP NOT NULL);
CREATE TABLE runs (
	seq BIGINT PRIMARY KEY,
	id VARCHAR NOT NULL UNIQUE,
	pipeline VARCHAR NOT NULL,
	sha256 VARCHAR NOT NULL,
	status VARCHAR NOT NULL,
	start_at TIMESTAMP NOT NULL,
	end_at TIMESTAMP,
	dry_run BOOLEAN NOT NULL,
	error VARCHAR NOT NULL DEFAULT '',
	counts VARCHAR NOT NULL DEFAULT '[]',
	outputs VARCHAR NOT NULL DEFAULT '[]',
	rejected BIGINT NOT NULL DEFAULT 0,
	pending VARCHAR
);
CREATE TABLE rejects (run_id VARCHAR NOT NULL, n BIGINT NOT NULL, origin VARCHAR NOT NULL, step VARCHAR NOT NULL,
	field VARCHAR NOT NULL, reason VARCHAR NOT NULL, record VARCHAR NOT NULL);
CREATE TABLE ledger (scope VARCHAR NOT NULL, key VARCHAR NOT NULL, hash VARCHAR NOT NULL, run_id VARCHAR NOT NULL,
	exported_at TIMESTAMP NOT NULL, PRIMARY KEY (scope, key));
CREATE TABLE sequences (name VARCHAR PRIMARY KEY, value BIGINT NOT NULL);
CREATE TABLE checkpoints (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL);
CREATE TABLE pending_ledger (run_id VARCHAR NOT NULL, scope VARCHAR NOT NULL, key VARCHAR NOT NULL, hash VARCHAR NOT NULL);
CREATE VIEW watermarks AS
	SELECT pipeline, max(start_at) AS watermark FROM runs
	WHERE status IN ('OK', 'WARNING') AND NOT dry_run GROUP BY pipeline;
INSERT INTO schema_version VALUES (1, TIMESTAMP '2026-01-05 06:00:00'), (2, TIMESTAMP '2026-05-04 09:00:00');
INSERT INTO runs VALUES
 (1, '1', 'orders_inbox', 'bb21', 'OK', TIMESTAMP '2026-05-04 10:00:00', TIMESTAMP '2026-05-04 10:00:02', false, '',
  '[{"step":"source","in":0,"out":2,"rejected":0},{"step":"sinks[0]","in":2,"out":2,"rejected":0}]',
  '[{"step":"sinks[0]","path":"out/orders-1.csv","sha256":"cd","bytes":80,"records":2}]', 0, NULL),
 (2, '2', 'orders_inbox', 'bb21', 'OK', TIMESTAMP '2026-05-04 10:05:00', TIMESTAMP '2026-05-04 10:05:00', false, '',
  '[{"step":"source","in":0,"out":0,"rejected":0},{"step":"sinks[0]","in":0,"out":0,"rejected":0}]', '[]', 0, NULL),
 (3, '3', 'orders_inbox', 'bb21', 'ERROR', TIMESTAMP '2026-05-04 10:10:00', TIMESTAMP '2026-05-04 10:10:01', false,
  'source csv.read: no input ready: inbox in: the before hook refused every complete file matching orders_*.csv (orders_3.csv)', '[]', '[]', 0, NULL),
 (4, '4', 'orders_inbox', 'bb22', 'WARNING', TIMESTAMP '2026-05-04 10:15:00', TIMESTAMP '2026-05-04 10:15:03', false, '',
  '[{"step":"source","in":0,"out":3,"rejected":1}]', '[{"step":"sinks[0]","path":"out/orders-4.csv","sha256":"ef","bytes":60,"records":2}]', 1, NULL),
 (5, '5', 'orders_inbox', 'bb22', 'COMMITTING', TIMESTAMP '2026-05-04 10:20:00', NULL, false, '', '[]', '[]', 0,
  '{"final":"OK","counters":{"batch":5},"checkpoints":{"source/page":"5"}}');
INSERT INTO rejects VALUES ('4', 1, 'in/orders_4.csv:3:5', 'source', 'amount', 'not a decimal: "12,5x"', '{"id":"O-7","amount":"12,5x"}');
INSERT INTO ledger VALUES
 ('orders', 'O-1', 'h1', '1', TIMESTAMP '2026-05-04 10:00:02'),
 ('orders', 'O-2', 'h2', '1', TIMESTAMP '2026-05-04 10:00:02'),
 ('orders', 'O-5', 'h5', '4', TIMESTAMP '2026-05-04 10:15:03');
INSERT INTO pending_ledger VALUES
 ('5', 'orders', 'O-2', 'h2b'),
 ('5', 'orders', 'O-9', 'h9'),
 ('5', 'orders', 'O-9', 'h9b');
INSERT INTO sequences VALUES ('batch', 4);
INSERT INTO checkpoints VALUES ('source/page', '4');
