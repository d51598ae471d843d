-- Up Migration
-- Workers (capacity, heartbeats), deployments and the task definitions each
-- deployment version (or a development worker, version '') declares.

CREATE TABLE workers (
	id text PRIMARY KEY,
	environment_id text NOT NULL,
	deployment_version text NOT NULL,
	task_ids text[] NOT NULL,
	cpu double precision NOT NULL,
	memory_gb double precision NOT NULL,
	registered_at timestamptz NOT NULL,
	last_heartbeat_at timestamptz NOT NULL,
	-- Set when the worker missed its heartbeats and its runs were queued again.
	dead_at timestamptz
);
CREATE INDEX workers_alive_idx ON workers (last_heartbeat_at) WHERE dead_at IS NULL;

CREATE TABLE deployments (
	id text PRIMARY KEY,
	environment_id text NOT NULL,
	version text NOT NULL,
	tasks jsonb NOT NULL,
	is_current boolean NOT NULL DEFAULT false,
	created_at timestamptz NOT NULL,
	promoted_at timestamptz,
	UNIQUE (environment_id, version)
);
-- The lookup every dequeue makes: at most one current deployment per environment,
-- and the index carries the version so the lookup never reads the table's rows.
CREATE UNIQUE INDEX deployments_current_idx ON deployments (environment_id) INCLUDE (version)
	WHERE is_current;
CREATE INDEX deployments_created_idx ON deployments (environment_id, created_at DESC, id DESC);

CREATE TABLE task_definitions (
	environment_id text NOT NULL,
	deployment_version text NOT NULL,
	task_id text NOT NULL,
	definition jsonb NOT NULL,
	PRIMARY KEY (environment_id, deployment_version, task_id)
);
