-- Up Migration
-- StartAttempt and CompleteAttempt each in one round trip: every read, check and
-- write of the call is a statement of one plpgsql function, called as one
-- autocommit statement, so the call is atomic without BEGIN/COMMIT round trips.
-- Each statement of a VOLATILE plpgsql function takes a fresh snapshot, which is
-- what the two lock orderings below rely on (the same as separate statements in
-- one transaction).
--
-- A refusal is returned, not raised: the function stops before its first write
-- and names the check that failed (refusal), with what the caller needs for its
-- message; the service maps it to the gRPC status. Nothing is written then.

-- Start: lock the run, check it and the worker, take the worker's placement lock
-- and sum what else executes there (worker_used_after_lock, migration 005: the sum
-- is read after the lock, so concurrent starts never over-commit a worker), then
-- write the attempt and move the run QUEUED -> EXECUTING (guarded).
-- Refusals: run_not_found, run_not_queued, worker_unknown, worker_task,
-- worker_version, worker_full.
CREATE FUNCTION start_attempt(
	p_run_id text,
	p_worker_id text,
	p_now timestamptz,
	p_attempt_id text,
	p_receipt text,
	p_consumer_id text,
	OUT refusal text,
	OUT run runs,
	OUT attempt attempts,
	OUT resumed boolean,
	OUT needed_version text,
	OUT worker_version text,
	OUT worker_cpu float8,
	OUT worker_memory_gb float8,
	OUT placed_cpu float8,
	OUT placed_memory_gb float8
)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
	w workers;
	v_max_ms float8;
	v_deadline timestamptz;
BEGIN
	SELECT * INTO run FROM runs WHERE id = p_run_id FOR UPDATE;
	IF NOT FOUND THEN
		refusal := 'run_not_found';
		RETURN;
	END IF;
	IF run.status <> 'QUEUED' THEN
		refusal := 'run_not_queued';
		RETURN;
	END IF;
	SELECT * INTO w FROM workers WHERE id = p_worker_id;
	IF NOT FOUND OR w.dead_at IS NOT NULL THEN
		refusal := 'worker_unknown';
		RETURN;
	END IF;
	worker_version := w.deployment_version;
	worker_cpu := w.cpu;
	worker_memory_gb := w.memory_gb;
	IF w.environment_id <> run.environment_id OR NOT (run.task_id = ANY (w.task_ids)) THEN
		refusal := 'worker_task';
		RETURN;
	END IF;
	-- An unlocked run is locked to the current deployment when it first starts
	-- (partial unique index deployments_current_idx answers the lookup).
	needed_version := run.deployment_version;
	IF needed_version = '' THEN
		needed_version := COALESCE(
			(SELECT d.version FROM deployments d WHERE d.environment_id = run.environment_id AND d.is_current), '');
	END IF;
	IF w.deployment_version <> needed_version THEN
		refusal := 'worker_version';
		RETURN;
	END IF;
	SELECT u.cpu, u.memory_gb INTO placed_cpu, placed_memory_gb FROM worker_used_after_lock(p_worker_id, p_run_id) u;
	-- A tiny epsilon keeps sums of quarter-cores from refusing an exact fit.
	IF placed_cpu + run.cpu > w.cpu + 1e-9 OR placed_memory_gb + run.memory_gb > w.memory_gb + 1e-9 THEN
		refusal := 'worker_full';
		RETURN;
	END IF;
	resumed := run.resume_attempt_id IS NOT NULL;
	IF resumed THEN
		UPDATE attempts SET worker_id = p_worker_id WHERE id = run.resume_attempt_id RETURNING * INTO attempt;
	ELSE
		INSERT INTO attempts (id, run_id, number, status, worker_id, started_at)
		VALUES (p_attempt_id, p_run_id, run.attempt_count + 1, 'EXECUTING', p_worker_id, p_now)
		RETURNING * INTO attempt;
	END IF;
	IF attempt.id IS NULL THEN
		RAISE EXCEPTION 'run "%" resumes attempt "%", which does not exist', p_run_id, run.resume_attempt_id;
	END IF;
	v_max_ms := COALESCE((run.options ->> 'maxDurationMs')::float8, 0);
	IF v_max_ms > 0 THEN
		v_deadline := p_now + trunc(v_max_ms) * interval '1 millisecond';
	END IF;
	UPDATE runs SET status = 'EXECUTING', updated_at = p_now, worker_id = p_worker_id,
		current_attempt_id = attempt.id, resume_attempt_id = NULL, attempt_count = attempt.number,
		started_at = COALESCE(started_at, p_now), deadline_at = v_deadline, queue_receipt = p_receipt,
		queue_consumer_id = p_consumer_id, deployment_version = needed_version, expires_at = NULL
	WHERE id = p_run_id AND status = 'QUEUED'
	RETURNING * INTO run;
END
$$;

-- Complete: lock the run of the attempt, check that the attempt is the run's
-- running one on this worker, then end it: COMPLETED with the output, REATTEMPTING
-- after the backoff delay for a retryable error with attempts left, else FAILED.
-- A final run ends its attempt, is recorded in the batch outbox (batch runs) and
-- resolves the pending waits on it. The waits are read by a statement of their
-- own, after the run's row lock is held: BeginWait locks the child row FOR SHARE,
-- so a wait committed before this lock was granted is seen here, and a BeginWait
-- that locks after us reads the final status itself. Each wait is resolved with a
-- guarded PENDING -> RESOLVED update, so a parent resumes exactly once.
-- The delay is min(max, r × min × factor^(attempt−1)) rounded to ms, r = p_jitter
-- when the run's retry settings randomize, else 1 (as retryDelayMs in TypeScript).
-- Refusals: attempt_not_found, attempt_not_running, attempt_other_worker.
CREATE FUNCTION complete_attempt(
	p_attempt_id text,
	p_worker_id text,
	p_now timestamptz,
	p_output bytea,
	p_output_type text,
	p_error jsonb,
	p_retryable boolean,
	p_jitter float8,
	OUT refusal text,
	OUT run runs,
	OUT attempt_status text,
	OUT attempt_worker text,
	OUT found_status text,
	OUT prev_receipt text,
	OUT prev_consumer text,
	OUT retry_at timestamptz,
	OUT resolved_waits text[],
	OUT resumed_runs jsonb
)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
	v_run_id text;
	v_current text;
	v_count integer;
	v_retry jsonb;
	v_final text;
	v_delay float8;
	v_result jsonb;
	v_wait record;
	v_parent_id text;
	v_parent runs;
BEGIN
	resolved_waits := '{}';
	resumed_runs := '[]';
	SELECT r.id, r.status, r.current_attempt_id, r.attempt_count, r.options -> 'retry', r.queue_receipt,
		r.queue_consumer_id, a.status, a.worker_id
	INTO v_run_id, found_status, v_current, v_count, v_retry, prev_receipt, prev_consumer, attempt_status,
		attempt_worker
	FROM attempts a JOIN runs r ON r.id = a.run_id WHERE a.id = p_attempt_id FOR UPDATE OF r;
	IF NOT FOUND THEN
		refusal := 'attempt_not_found';
		RETURN;
	END IF;
	IF attempt_status <> 'EXECUTING' OR found_status <> 'EXECUTING' OR v_current IS DISTINCT FROM p_attempt_id THEN
		refusal := 'attempt_not_running';
		RETURN;
	END IF;
	IF attempt_worker <> p_worker_id THEN
		refusal := 'attempt_other_worker';
		RETURN;
	END IF;

	IF p_error IS NOT NULL AND p_retryable AND v_count < (v_retry ->> 'maxAttempts')::integer THEN
		v_delay := LEAST(
			(v_retry ->> 'maxTimeoutMs')::float8,
			CASE WHEN (v_retry ->> 'randomize')::boolean THEN p_jitter ELSE 1 END
				* (v_retry ->> 'minTimeoutMs')::float8 * power((v_retry ->> 'factor')::float8, v_count - 1));
		retry_at := p_now + floor(v_delay + 0.5) * interval '1 millisecond';
		UPDATE attempts SET status = 'FAILED', completed_at = p_now, error = p_error WHERE id = p_attempt_id;
		UPDATE runs SET status = 'REATTEMPTING', updated_at = p_now, error = p_error, next_attempt_at = retry_at,
			worker_id = NULL, queue_receipt = NULL, queue_consumer_id = NULL, deadline_at = NULL
		WHERE id = v_run_id AND status = 'EXECUTING'
		RETURNING * INTO run;
		RETURN;
	END IF;

	v_final := CASE WHEN p_error IS NULL THEN 'COMPLETED' ELSE 'FAILED' END;
	UPDATE attempts SET status = v_final, completed_at = p_now, error = COALESCE(p_error, error)
	WHERE id = p_attempt_id AND status = 'EXECUTING';
	UPDATE runs r SET status = v_final, updated_at = p_now, completed_at = p_now,
		output = COALESCE(p_output, r.output), output_type = COALESCE(p_output_type, r.output_type),
		error = COALESCE(p_error, r.error), worker_id = NULL, queue_receipt = NULL, queue_consumer_id = NULL,
		resume_attempt_id = NULL, expires_at = NULL, deadline_at = NULL, next_attempt_at = NULL
	WHERE r.id = v_run_id AND r.status = 'EXECUTING'
	RETURNING r.* INTO run;
	IF run.batch_id IS NOT NULL THEN
		INSERT INTO run_completions (run_id, environment_id, batch_id, batch_index, status, completed_at)
		VALUES (run.id, run.environment_id, run.batch_id, run.batch_index, run.status, run.completed_at)
		ON CONFLICT (run_id) DO NOTHING;
	END IF;

	-- The child's result as each wait on it stores it (waitResultOf in TypeScript; bytes as base64).
	v_result := jsonb_build_object(
		'runId', run.id,
		'status', run.status,
		'output', translate(encode(run.output, 'base64'), E'\n', ''),
		'outputType', COALESCE(run.output_type, ''),
		'error', run.error);
	FOR v_wait IN
		SELECT w.id FROM waits w WHERE w.child_run_id = run.id AND w.status = 'PENDING' ORDER BY w.id FOR UPDATE
	LOOP
		UPDATE waits SET status = 'RESOLVED', resolved_at = p_now, results = jsonb_build_array(v_result), error = NULL
		WHERE id = v_wait.id AND status = 'PENDING'
		RETURNING run_id INTO v_parent_id;
		CONTINUE WHEN NOT FOUND;
		resolved_waits := resolved_waits || v_wait.id;
		UPDATE runs SET status = 'QUEUED', updated_at = p_now, queued_at = p_now, queue_seq = queue_seq + 1,
			resume_attempt_id = current_attempt_id
		WHERE id = v_parent_id AND status = 'WAITING'
		RETURNING * INTO v_parent;
		CONTINUE WHEN NOT FOUND;
		-- What the continuation's queue message needs (messageFor in TypeScript).
		resumed_runs := resumed_runs || jsonb_build_object(
			'id', v_parent.id, 'environment_id', v_parent.environment_id, 'queue', v_parent.queue,
			'concurrency_key', v_parent.concurrency_key, 'priority', v_parent.priority, 'cpu', v_parent.cpu,
			'memory_gb', v_parent.memory_gb, 'task_id', v_parent.task_id, 'queue_seq', v_parent.queue_seq,
			'attempt_count', v_parent.attempt_count, 'resume_attempt_id', v_parent.resume_attempt_id);
	END LOOP;
END
$$;
