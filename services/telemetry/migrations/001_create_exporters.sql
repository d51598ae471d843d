-- Up Migration
-- The exporter registry: one row per exporter of an environment. config holds
-- the taskmesh.telemetry.v1.ExporterConfig message in its proto JSON form, so
-- it stays readable in SQL and decodes back to the exact message.
CREATE TABLE exporters (
	id uuid PRIMARY KEY,
	environment_id text NOT NULL,
	name text NOT NULL,
	config jsonb NOT NULL,
	revision bigint NOT NULL DEFAULT 1,
	created_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now(),
	-- Also the index of every lookup (environment, name) and listing (environment).
	CONSTRAINT exporters_environment_name_key UNIQUE (environment_id, name)
);
