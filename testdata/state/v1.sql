-- Golden state of a pipeline at schema version 1, as `kontor` v1 wrote it.
-- duckstate's TestGoldenMigration loads it into a fresh DuckDB file,
-- migrates it to the current version and checks every row. A SQL dump
-- (not a binary .duckdb file) so it stays readable across DuckDB versions.
-- Never edit it; add a v2.sql golden when the schema changes again.
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
INSERT INTO schema_version VALUES (1, TIMESTAMP '2026-01-05 06:00:00');
INSERT INTO runs VALUES
 (1, '1', 'abo_lastschrift', 'aa11', 'OK', TIMESTAMP '2026-01-05 06:00:00', TIMESTAMP '2026-01-05 06:00:04', false, '',
  '[{"step":"source","in":0,"out":2,"rejected":0}]', '[{"step":"sinks[0]","path":"out/pain008-1.xml","sha256":"ab","bytes":1200,"records":2}]', 0, NULL),
 (2, '2', 'abo_lastschrift', 'aa11', 'WARNING', TIMESTAMP '2026-02-05 06:00:00', TIMESTAMP '2026-02-05 06:00:03', false, '',
  '[{"step":"validate","in":3,"out":2,"rejected":1}]', '[]', 1, NULL),
 (3, '3', 'abo_lastschrift', 'aa11', 'ERROR', TIMESTAMP '2026-03-05 06:00:00', TIMESTAMP '2026-03-05 06:00:01', false, 'sinks[0]: disk full', '[]', '[]', 0, NULL),
 (4, '4', 'abo_lastschrift', 'aa12', 'OK', TIMESTAMP '2026-03-06 06:00:00', TIMESTAMP '2026-03-06 06:00:01', true, '', '[]', '[]', 0, NULL),
 (5, '5', 'abo_lastschrift', 'aa12', 'COMMITTING', TIMESTAMP '2026-04-05 06:00:00', NULL, false, '', '[]', '[]', 0,
  '{"final":"OK","counters":{"pain008_msg":3},"checkpoints":{"source/page":"7"},"ledger":{"abo":{"A-3|2026-04":"h3","A-1|2026-01":"h1b"}}}');
INSERT INTO rejects VALUES ('2', 1, 'in/abos.csv:4:12', 'validate', 'iban', 'invalid IBAN check digits', '{"abo_nr":"A-9","iban":"DE00 1234"}');
INSERT INTO ledger VALUES
 ('abo', 'A-1|2026-01', 'h1', '1', TIMESTAMP '2026-01-05 06:00:04'),
 ('abo', 'A-2|2026-01', 'h2', '1', TIMESTAMP '2026-01-05 06:00:04');
INSERT INTO sequences VALUES ('pain008_msg', 2);
INSERT INTO checkpoints VALUES ('source/page', '5');
