-- Up Migration
-- A StartAttempt the worker sends again (its answer was lost, or its client retried)
-- returns the attempt that start began, rather than refusing it. The run is already
-- EXECUTING on that worker by that very queue delivery, so refusing it as
-- run_not_queued made the service acknowledge the live delivery as REJECTED, which
-- freed the queue's concurrency slot while the run still executed, and told the
-- worker to drop a run it was running. A start by another worker, or by the same
-- worker with another delivery (a redelivery after the visibility timeout), is still
-- refused as before.
--
-- The repeat is recognized under the run's row lock by the receipt stored at the
-- first start (a receipt names one delivery), and answered before any write, so it
-- changes nothing. A continuation's repeat says resumed again: its attempt is the
-- only kind that has resolved waits when it starts.
--
-- start_attempt is compiled again from its stored definition with the QUEUED check
-- replaced (as migration 008 did), rather than restated in full; the migration fails
-- if the check is not where it was.
DO $$
DECLARE
	v_definition text;
	v_check text := $old$	IF run.status <> 'QUEUED' THEN
		refusal := 'run_not_queued';
		RETURN;
	END IF;$old$;
BEGIN
	v_definition := pg_get_functiondef('start_attempt'::regproc);
	IF position(v_check IN v_definition) = 0 THEN
		RAISE EXCEPTION 'start_attempt no longer checks QUEUED as migration 006 wrote it; migration 010 needs updating';
	END IF;
	EXECUTE replace(v_definition, v_check, $new$	IF run.status = 'EXECUTING' AND p_receipt IS NOT NULL AND run.queue_receipt = p_receipt
		AND run.worker_id = p_worker_id THEN
		SELECT * INTO attempt FROM attempts WHERE id = run.current_attempt_id;
		resumed := EXISTS (SELECT 1 FROM waits WHERE attempt_id = attempt.id AND status = 'RESOLVED');
		RETURN;
	END IF;
	IF run.status <> 'QUEUED' THEN
		refusal := 'run_not_queued';
		RETURN;
	END IF;$new$);
END
$$;
