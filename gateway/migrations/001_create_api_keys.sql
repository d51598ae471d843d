-- Up Migration
-- API keys of the gateway. Only the SHA-256 of a key is kept; the key itself is
-- shown once, when it is created. Each key belongs to one project environment,
-- and environment_id is the id every service scopes its data by.
CREATE TABLE api_keys (
	id text PRIMARY KEY,
	key_hash bytea NOT NULL,
	key_prefix text NOT NULL,
	project text NOT NULL,
	environment text NOT NULL,
	environment_id text NOT NULL,
	description text NOT NULL DEFAULT '',
	-- Per-key overrides of GATEWAY_RATE_LIMIT_PER_SECOND / _BURST; NULL takes the default.
	rate_per_second integer,
	rate_burst integer,
	created_at timestamptz NOT NULL DEFAULT now(),
	revoked_at timestamptz
);

-- The lookup every request makes.
CREATE UNIQUE INDEX api_keys_key_hash ON api_keys (key_hash);
-- Listing a project's keys.
CREATE INDEX api_keys_project_environment ON api_keys (project, environment, created_at);
