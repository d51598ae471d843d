-- Up Migration
-- A digest of the inline items a keyed CreateBatch was made with (NULL for a streamed
-- batch, or one made before this migration). A retried create with the same key carries
-- on creating the first batch's items only when it sends the very same items (the first
-- call died half-way); a retry with other items, or inline items for a streamed batch,
-- used to become the first batch's children, seal it or fail it.
ALTER TABLE batches ADD COLUMN inline_items_digest text;
