-- Up Migration
-- Tables of the log-ingest service: per-run cursors, log messages and the chunks of
-- bodies too large to keep inline. Everything lives in the service's own schema.

-- One row per run that ever sent a chunk. last_seq hands out the run's cursor values;
-- the row lock taken to bump it makes a run's messages commit in cursor order, which
-- is what lets Tail read "run_seq > cursor" without ever skipping a message.
CREATE TABLE log_runs (
	environment_id text NOT NULL,
	run_id text NOT NULL,
	last_seq bigint NOT NULL DEFAULT 0,
	PRIMARY KEY (environment_id, run_id)
);

-- state: 0 receiving chunks, 1 complete, 2 incomplete (chunks stopped arriving),
-- 3 rejected (bad data or over a cap; its chunks are deleted). run_seq is set once a
-- message becomes visible (complete or incomplete) and is its Tail/Query cursor.
CREATE TABLE log_messages (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	environment_id text NOT NULL,
	run_id text NOT NULL,
	message_id text NOT NULL,
	state smallint NOT NULL DEFAULT 0,
	run_seq bigint,
	level smallint NOT NULL DEFAULT 0,
	logged_at_us bigint NOT NULL,
	attributes jsonb NOT NULL DEFAULT '{}',
	task_id text NOT NULL DEFAULT '',
	attempt_id text NOT NULL DEFAULT '',
	trace_id text NOT NULL DEFAULT '',
	has_header boolean NOT NULL DEFAULT false,
	declared_size bigint,
	chunk_count integer NOT NULL DEFAULT 0,
	received_chunks integer NOT NULL DEFAULT 0,
	received_bytes bigint NOT NULL DEFAULT 0,
	-- True when body_head is the whole body and no chunk rows exist.
	body_inline boolean NOT NULL DEFAULT false,
	-- The body's first LOG_INGEST_INLINE_BODY_BYTES, what Query and Tail return.
	body_head bytea,
	-- For text search: NULL when body_head is valid UTF-8 without NUL (searched as is),
	-- else body_head decoded with bad bytes replaced and NULs dropped.
	search_text text,
	reject_reason text,
	last_chunk_at_ms bigint NOT NULL,
	UNIQUE (environment_id, run_id, message_id)
);

-- Tail: a run's visible messages in cursor order.
CREATE UNIQUE INDEX log_messages_tail ON log_messages (environment_id, run_id, run_seq)
	WHERE run_seq IS NOT NULL;
-- Query by run (and time), and Query by time across an environment, paged by (time, id).
CREATE INDEX log_messages_run_time ON log_messages (environment_id, run_id, logged_at_us, id)
	WHERE run_seq IS NOT NULL;
CREATE INDEX log_messages_env_time ON log_messages (environment_id, logged_at_us, id)
	WHERE run_seq IS NOT NULL;
-- The sweeper: messages still receiving, oldest activity first.
CREATE INDEX log_messages_receiving ON log_messages (last_chunk_at_ms) WHERE state = 0;

-- Chunks of multi-chunk bodies, stored as sent (compressed or raw). No foreign key:
-- chunks are only written in the transaction that locks their message row, and a
-- per-row key check would cost the hot path for nothing.
CREATE TABLE log_chunks (
	message_pk bigint NOT NULL,
	sequence integer NOT NULL,
	compression smallint NOT NULL,
	raw_size integer NOT NULL,
	data bytea NOT NULL,
	PRIMARY KEY (message_pk, sequence)
);
-- Data is already compressed by the sender (or did not compress): skip pglz.
ALTER TABLE log_chunks ALTER COLUMN data SET STORAGE EXTERNAL;
ALTER TABLE log_messages ALTER COLUMN body_head SET STORAGE EXTERNAL;
