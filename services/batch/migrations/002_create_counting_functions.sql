-- Up Migration
-- Counting children's outcomes in one round trip. Each page of the completions
-- feed took nine statements (BEGIN, the cursor and batch locks, the item update,
-- early outcomes, the counts, the completion, the cursor, COMMIT), each a round
-- trip that wakes a backend; record_outcomes is those statements in one plpgsql
-- function, called as one autocommit statement, so the page is still atomic.
-- Each statement of a VOLATILE plpgsql function takes a fresh snapshot, like
-- separate statements of one transaction, so the counts are seen by the
-- completion check that follows them. The rules live only here: the feed, the
-- cached-item poll and item ingestion all count through these functions.

-- Completes each of these batches that is sealed with every item final. The guard
-- (PROCESSING and final = expected) makes completion happen once, whoever gets
-- there first. Returns the batches it completed.
CREATE FUNCTION complete_if_done(p_ids text[], p_now timestamptz)
RETURNS SETOF batches
LANGUAGE sql VOLATILE AS $$
	UPDATE batches SET status = 'COMPLETED', completed_at = p_now
	WHERE id = ANY(p_ids) AND status = 'PROCESSING' AND final_item_count = expected_item_count
	RETURNING *
$$;

-- Adds newly final items (one batch id and final status per item) to their
-- batches' counts, then completes the batches that are done. One row per batch
-- counted; `completed` is the batch as this call completed it, else NULL.
CREATE FUNCTION add_final_counts(p_batch_ids text[], p_statuses text[], p_now timestamptz)
RETURNS TABLE (touched_id text, completed batches)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
	v_ids text[];
BEGIN
	SELECT coalesce(array_agg(DISTINCT t.id ORDER BY t.id), '{}') INTO v_ids FROM unnest(p_batch_ids) AS t(id);
	UPDATE batches b SET final_item_count = b.final_item_count + d.f,
		completed_item_count = b.completed_item_count + d.c,
		failed_item_count = b.failed_item_count + d.f - d.c
	FROM (
		SELECT o.id, count(*)::int AS f, (count(*) FILTER (WHERE o.status = 'COMPLETED'))::int AS c
		FROM unnest(p_batch_ids, p_statuses) AS o(id, status) GROUP BY o.id
	) d
	WHERE b.id = d.id;
	-- The CTE runs its data-modifying function once; each batch then finds its row in it.
	RETURN QUERY
	WITH done AS (SELECT c AS batch FROM complete_if_done(v_ids, p_now) c)
	SELECT t.id, (SELECT done.batch FROM done WHERE (done.batch).id = t.id)
	FROM unnest(v_ids) AS t(id) ORDER BY t.id;
END
$$;

-- Marks the items of these runs final (one element per outcome in each array) and
-- moves their batches' counts. The batch rows are locked first: ingestion locks
-- the same row before inserting items and claiming early outcomes, so an outcome
-- is either matched here or stored for that insert to claim, never lost between
-- the two. With p_keep_unmatched, outcomes of runs whose item is not recorded yet
-- (of batches this service holds) are kept in early_outcomes. With a feed cursor,
-- the feed's row is locked first and moved to it (never back) with the counts.
CREATE FUNCTION record_outcomes(
	p_run_ids text[],
	p_batch_ids text[],
	p_batch_indexes int[],
	p_statuses text[],
	p_now timestamptz,
	p_keep_unmatched boolean,
	p_feed_cursor bigint
)
RETURNS TABLE (touched_id text, completed batches)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
	v_batches text[];
	v_statuses text[];
	v_runs text[];
BEGIN
	IF p_feed_cursor IS NOT NULL THEN
		PERFORM 1 FROM feed_cursor WHERE id = 1 FOR UPDATE;
	END IF;
	PERFORM 1 FROM batches WHERE id = ANY(p_batch_ids) ORDER BY id FOR UPDATE;
	WITH matched AS (
		UPDATE batch_items i SET final = true, status = o.status
		FROM unnest(p_run_ids, p_statuses) AS o(run_id, status)
		WHERE i.run_id = o.run_id AND NOT i.final
		RETURNING i.batch_id, i.run_id, i.status
	)
	SELECT coalesce(array_agg(m.batch_id), '{}'), coalesce(array_agg(m.status), '{}'),
		coalesce(array_agg(m.run_id), '{}')
	INTO v_batches, v_statuses, v_runs FROM matched m;
	IF p_keep_unmatched THEN
		-- Only for runs whose own item is not recorded yet (an outcome read again is not
		-- early) and of batches this service holds (a batch row exists before its children).
		INSERT INTO early_outcomes (run_id, batch_id, status, recorded_at)
		SELECT o.run_id, o.batch_id, o.status, p_now
		FROM unnest(p_run_ids, p_batch_ids, p_batch_indexes, p_statuses) AS o(run_id, batch_id, batch_index, status)
		WHERE o.run_id <> ALL (v_runs)
			AND NOT EXISTS (SELECT 1 FROM batch_items i WHERE i.batch_id = o.batch_id AND i.item_index = o.batch_index)
			AND EXISTS (SELECT 1 FROM batches b WHERE b.id = o.batch_id)
		ON CONFLICT (run_id) DO NOTHING;
	END IF;
	RETURN QUERY SELECT a.touched_id, a.completed FROM add_final_counts(v_batches, v_statuses, p_now) a;
	IF p_feed_cursor IS NOT NULL THEN
		UPDATE feed_cursor SET after_cursor = greatest(after_cursor, p_feed_cursor) WHERE id = 1;
	END IF;
END
$$;
