-- Up Migration
-- batch_items no longer has a foreign key to batches. The key's check ran once per
-- inserted item (a lookup and a KEY SHARE lock of the batch row for every row), which
-- tripled the cost of loading a batch's items: 100,000 items by binary COPY took
-- 410–424 ms with it against 135–144 ms without. It guarded nothing the insert path
-- does not: items are recorded only after their batch's row is locked FOR UPDATE in the
-- same transaction, and that fails when the batch does not exist (item-recorder.ts).
-- Batches are never deleted, so nothing relied on ON DELETE CASCADE.
ALTER TABLE batch_items DROP CONSTRAINT batch_items_batch_id_fkey;
