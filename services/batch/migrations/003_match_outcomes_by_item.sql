-- Up Migration
-- Matching outcomes to items without an index entry per item. batch_items_run_idx
-- (run id -> open item) cost every item an index entry, about a sixth of the
-- PostgreSQL work of recording a batch's items. Only cached items need it: a child
-- made for its item carries that item's batch and index (the feed names them, and
-- recordItems marks an item cached only when its run was made for another batch or
-- index), so it is found by the primary key. The index now holds open cached items
-- only, and record_outcomes matches the two kinds apart (disjoint rows, so both
-- updates run in one statement).
DROP INDEX batch_items_run_idx;
CREATE INDEX batch_items_cached_run_idx ON batch_items (run_id) WHERE cached AND NOT final;

CREATE OR REPLACE FUNCTION record_outcomes(
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
	WITH own AS (
		-- A run's own item: where the feed says the run was made, found by the key.
		UPDATE batch_items i SET final = true, status = o.status
		FROM unnest(p_run_ids, p_batch_ids, p_batch_indexes, p_statuses) AS o(run_id, batch_id, batch_index, status)
		WHERE i.batch_id = o.batch_id AND i.item_index = o.batch_index AND i.run_id = o.run_id
			AND NOT i.final AND NOT i.cached
		RETURNING i.batch_id, i.run_id, i.status
	), reused AS (
		-- Items of other batches that an item idempotency key gave the same run.
		UPDATE batch_items i SET final = true, status = o.status
		FROM unnest(p_run_ids, p_statuses) AS o(run_id, status)
		WHERE i.run_id = o.run_id AND i.cached AND NOT i.final
		RETURNING i.batch_id, i.run_id, i.status
	), matched AS (
		SELECT * FROM own UNION ALL SELECT * FROM reused
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
