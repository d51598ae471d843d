-- Up Migration
-- Cron schedules and the ticks they fired. A tick is unique per (schedule,
-- scheduled time), so no hand-over of the tick lease can fire it twice.

CREATE TABLE schedules (
	id text PRIMARY KEY,
	environment_id text NOT NULL,
	task_id text NOT NULL,
	cron text NOT NULL,
	timezone text NOT NULL,
	deduplication_key text,
	external_id text NOT NULL DEFAULT '',
	active boolean NOT NULL DEFAULT true,
	next_run_at timestamptz,
	last_run_at timestamptz,
	created_at timestamptz NOT NULL
);
CREATE UNIQUE INDEX schedules_dedup_idx ON schedules (environment_id, deduplication_key)
	WHERE deduplication_key IS NOT NULL;
CREATE INDEX schedules_due_idx ON schedules (next_run_at) WHERE active;
CREATE INDEX schedules_environment_idx ON schedules (environment_id, id);

CREATE TABLE schedule_ticks (
	schedule_id text NOT NULL,
	scheduled_time timestamptz NOT NULL,
	run_id text NOT NULL,
	fired_at timestamptz NOT NULL,
	PRIMARY KEY (schedule_id, scheduled_time)
);
