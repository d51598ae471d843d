-- Up Migration
-- A task replays the results of its resolved waits in the order it began them, so
-- that order must be exact. created_at (with the random part of the id breaking
-- ties) is not: two waits begun in the same millisecond, or on two scheduler
-- replicas whose clocks differ, could come back swapped, and the task would get one
-- wait's result for the other. An attempt has one pending wait at a time, so its
-- next wait is inserted after the last one was resolved: a sequence orders them.
-- Existing rows are numbered in the order they are stored in.
ALTER TABLE waits ADD COLUMN ordinal bigint GENERATED ALWAYS AS IDENTITY;
CREATE INDEX waits_attempt_order_idx ON waits (attempt_id, ordinal);
DROP INDEX waits_attempt_idx;
