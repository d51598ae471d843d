-- Up Migration
-- StartAttempt's placement check: takes the per-worker transaction lock, then sums
-- what else executes on the worker. Each statement of a VOLATILE plpgsql function
-- takes a fresh snapshot, so the sum is read after the lock is held: every start
-- that held the lock before has committed and is counted, and the lock is kept
-- until this transaction commits. Being one call, it lets the start's write and
-- the check share a round trip. The calling run is excluded (the caller adds its
-- own machine), because whether the calling statement's own update is visible here
-- depends on the order PostgreSQL runs that statement's parts in.

CREATE FUNCTION worker_used_after_lock(p_worker_id text, p_run_id text, OUT cpu float8, OUT memory_gb float8)
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
	PERFORM pg_advisory_xact_lock(hashtext('worker:' || p_worker_id));
	SELECT COALESCE(sum(r.cpu), 0)::float8, COALESCE(sum(r.memory_gb), 0)::float8 INTO cpu, memory_gb
	FROM runs r WHERE r.worker_id = p_worker_id AND r.status = 'EXECUTING' AND r.id <> p_run_id;
END
$$;
