-- Up Migration
-- A run's options column now keeps only the options no other column holds (see the
-- scheduler's core/stored-options.ts): parsing the whole document into jsonb was a
-- third of PostgreSQL's work per inserted run. The two attempt functions of migration
-- 006 read the maximum duration and the retry policy from that document; they now
-- read the run's max_duration_ms and retry columns, which every row has held with the
-- same values since migration 001 (0 is stored as NULL, which the function treated
-- as no limit already).
--
-- Each function is compiled again from its stored definition with that one
-- expression replaced, rather than restating both in full; the migration fails if
-- the expression is not where it was.
DO $$
DECLARE
	v_definition text;
BEGIN
	v_definition := pg_get_functiondef('start_attempt'::regproc);
	IF position($old$(run.options ->> 'maxDurationMs')::float8$old$ IN v_definition) = 0 THEN
		RAISE EXCEPTION 'start_attempt no longer reads maxDurationMs from options; migration 008 needs updating';
	END IF;
	EXECUTE replace(v_definition, $old$(run.options ->> 'maxDurationMs')::float8$old$, 'run.max_duration_ms::float8');

	v_definition := pg_get_functiondef('complete_attempt'::regproc);
	IF position($old$r.options -> 'retry'$old$ IN v_definition) = 0 THEN
		RAISE EXCEPTION 'complete_attempt no longer reads retry from options; migration 008 needs updating';
	END IF;
	EXECUTE replace(v_definition, $old$r.options -> 'retry'$old$, 'r.retry');
END
$$;
