-- Up Migration
-- Batches, their items, outcomes that arrived before their item, and the cursor of
-- the scheduler's completions feed. Every status change is a guarded update
-- (WHERE status = ...), so a batch completes, fails and resumes its parent once.

CREATE TABLE batches (
	id text PRIMARY KEY,
	environment_id text NOT NULL,
	status text NOT NULL,
	strategy text NOT NULL,
	expected_item_count integer NOT NULL,
	created_item_count integer NOT NULL DEFAULT 0,
	final_item_count integer NOT NULL DEFAULT 0,
	completed_item_count integer NOT NULL DEFAULT 0,
	failed_item_count integer NOT NULL DEFAULT 0,
	sealed boolean NOT NULL DEFAULT false,
	failure_reason text NOT NULL DEFAULT '',
	-- Machine-readable cause of FAILED, passed to a waiting parent as its error code.
	failure_code text NOT NULL DEFAULT '',
	-- Kept after release (idempotency_key set NULL) so the batch still shows the key it had.
	key_shown text NOT NULL DEFAULT '',
	idempotency_key text,
	idempotency_key_expires_at timestamptz,
	parent_run_id text NOT NULL DEFAULT '',
	parent_attempt_id text NOT NULL DEFAULT '',
	parent_wait boolean NOT NULL DEFAULT false,
	wait_id text,
	wait_resolved_at timestamptz,
	created_at timestamptz NOT NULL,
	sealed_at timestamptz,
	completed_at timestamptz,
	seal_deadline timestamptz NOT NULL
);

-- Live batch keys are unique per environment; a released key is set to NULL.
CREATE UNIQUE INDEX batches_idempotency_key_idx ON batches (environment_id, idempotency_key)
	WHERE idempotency_key IS NOT NULL;
-- The seal sweeper reads only batches still waiting for items.
CREATE INDEX batches_seal_deadline_idx ON batches (seal_deadline) WHERE status = 'PENDING';
-- The wait resolver reads only final batches whose parent is not resumed yet.
CREATE INDEX batches_unresolved_wait_idx ON batches (completed_at)
	WHERE wait_id IS NOT NULL AND wait_resolved_at IS NULL AND status IN ('COMPLETED', 'FAILED');

CREATE TABLE batch_items (
	batch_id text NOT NULL REFERENCES batches (id) ON DELETE CASCADE,
	item_index integer NOT NULL,
	run_id text NOT NULL,
	task_id text NOT NULL,
	-- The child's status as last learned (at creation, then its final one from the feed).
	status text NOT NULL,
	final boolean NOT NULL DEFAULT false,
	-- An item idempotency key returned a run made earlier (not by this batch and index).
	cached boolean NOT NULL DEFAULT false,
	PRIMARY KEY (batch_id, item_index)
);

-- The completions feed names runs; a run may be the child of several items (cached ones).
CREATE INDEX batch_items_run_idx ON batch_items (run_id) WHERE NOT final;
-- The cached-item poller: runs made elsewhere that the feed may never report.
CREATE INDEX batch_items_cached_open_idx ON batch_items (batch_id, item_index) WHERE cached AND NOT final;

-- Final outcomes that reached the feed before their item was recorded (a child can
-- finish between TriggerRuns and the item insert); the item insert claims them.
CREATE TABLE early_outcomes (
	run_id text PRIMARY KEY,
	batch_id text NOT NULL,
	status text NOT NULL,
	recorded_at timestamptz NOT NULL
);
CREATE INDEX early_outcomes_batch_idx ON early_outcomes (batch_id);

-- Where the completions feed was read up to; one row, updated with the counts it moved.
CREATE TABLE feed_cursor (
	id integer PRIMARY KEY CHECK (id = 1),
	after_cursor bigint NOT NULL
);
INSERT INTO feed_cursor (id, after_cursor) VALUES (1, 0);
