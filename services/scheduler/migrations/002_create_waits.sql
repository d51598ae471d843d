-- Up Migration
-- Waits: a running attempt paused for a child run, a batch or a time. Resolving
-- is a guarded update (status PENDING -> RESOLVED), so a parent resumes once.

CREATE TABLE waits (
	id text PRIMARY KEY,
	run_id text NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
	attempt_id text NOT NULL,
	status text NOT NULL,
	child_run_id text,
	batch_id text,
	resume_at timestamptz,
	results jsonb,
	error jsonb,
	created_at timestamptz NOT NULL,
	resolved_at timestamptz
);

-- One pending wait per attempt: a second is a concurrent wait and is refused.
CREATE UNIQUE INDEX waits_one_pending_idx ON waits (attempt_id) WHERE status = 'PENDING';
CREATE INDEX waits_child_idx ON waits (child_run_id) WHERE status = 'PENDING' AND child_run_id IS NOT NULL;
CREATE INDEX waits_time_due_idx ON waits (resume_at) WHERE status = 'PENDING' AND resume_at IS NOT NULL;
CREATE INDEX waits_attempt_idx ON waits (attempt_id, created_at);
CREATE INDEX waits_run_pending_idx ON waits (run_id) WHERE status = 'PENDING';
