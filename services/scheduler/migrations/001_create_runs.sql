-- Up Migration
-- Runs, their attempts and the outbox of batch outcomes: the scheduler's record of
-- every run. Status changes are guarded updates (WHERE status = ...), so two
-- callers can never move one run twice.

CREATE TABLE runs (
	id text PRIMARY KEY,
	environment_id text NOT NULL,
	task_id text NOT NULL,
	status text NOT NULL,
	payload bytea NOT NULL,
	payload_type text NOT NULL,
	output bytea,
	output_type text,
	error jsonb,
	options jsonb NOT NULL,
	queue text NOT NULL,
	concurrency_key text NOT NULL DEFAULT '',
	priority integer NOT NULL DEFAULT 0,
	tags text[] NOT NULL DEFAULT '{}',
	machine_name text NOT NULL,
	cpu double precision NOT NULL,
	memory_gb double precision NOT NULL,
	max_attempts integer NOT NULL,
	retry jsonb NOT NULL,
	max_duration_ms bigint,
	ttl_ms bigint,
	idempotency_key text,
	idempotency_key_expires_at timestamptz,
	attempt_count integer NOT NULL DEFAULT 0,
	-- Each enqueue of the run takes the next sequence number; the queue message id is "<run id>:<seq>".
	queue_seq integer NOT NULL DEFAULT 0,
	queue_receipt text,
	queue_consumer_id text,
	worker_id text,
	current_attempt_id text,
	-- Set while a resumed run waits for a worker to continue its attempt.
	resume_attempt_id text,
	parent_run_id text,
	parent_attempt_id text,
	root_run_id text NOT NULL,
	batch_id text,
	batch_index integer,
	replay_of_run_id text,
	deployment_version text NOT NULL DEFAULT '',
	schedule_id text,
	created_at timestamptz NOT NULL,
	updated_at timestamptz NOT NULL,
	queued_at timestamptz,
	delay_until timestamptz,
	next_attempt_at timestamptz,
	expires_at timestamptz,
	started_at timestamptz,
	deadline_at timestamptz,
	completed_at timestamptz
);

-- Live idempotency keys are unique per environment; a released key is set to NULL.
CREATE UNIQUE INDEX runs_idempotency_key_idx ON runs (environment_id, idempotency_key)
	WHERE idempotency_key IS NOT NULL;
-- A restarted batch ingestion finds the child it already created.
CREATE UNIQUE INDEX runs_batch_item_idx ON runs (batch_id, batch_index) WHERE batch_id IS NOT NULL;
-- ListRuns: newest first per environment (ids sort by creation time).
CREATE INDEX runs_environment_id_idx ON runs (environment_id, id DESC);
CREATE INDEX runs_tags_idx ON runs USING gin (tags);
CREATE INDEX runs_parent_idx ON runs (parent_run_id) WHERE parent_run_id IS NOT NULL;
-- Placement: what runs on a worker now.
CREATE INDEX runs_worker_executing_idx ON runs (worker_id) WHERE status = 'EXECUTING';
-- Maintenance sweeps, each over the few rows it can act on.
CREATE INDEX runs_delayed_due_idx ON runs (delay_until) WHERE status = 'DELAYED';
CREATE INDEX runs_reattempt_due_idx ON runs (next_attempt_at) WHERE status = 'REATTEMPTING';
CREATE INDEX runs_expiry_idx ON runs (expires_at) WHERE status = 'QUEUED' AND expires_at IS NOT NULL;
CREATE INDEX runs_deadline_idx ON runs (deadline_at) WHERE status = 'EXECUTING' AND deadline_at IS NOT NULL;
CREATE INDEX runs_queued_idx ON runs (queued_at) WHERE status = 'QUEUED';

CREATE TABLE attempts (
	id text PRIMARY KEY,
	run_id text NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
	number integer NOT NULL,
	status text NOT NULL,
	worker_id text NOT NULL,
	started_at timestamptz NOT NULL,
	completed_at timestamptz,
	error jsonb,
	UNIQUE (run_id, number)
);

-- Final outcomes of batch runs, read by the batch service in cursor order.
CREATE TABLE run_completions (
	cursor bigserial PRIMARY KEY,
	run_id text NOT NULL UNIQUE,
	environment_id text NOT NULL,
	batch_id text NOT NULL,
	batch_index integer NOT NULL,
	status text NOT NULL,
	completed_at timestamptz NOT NULL
);
CREATE INDEX run_completions_batch_idx ON run_completions (batch_id, cursor);
