-- Up Migration
-- The tags GIN index took an entry for every run, tagged or not (GIN indexes an empty
-- array too), which a batch of 100,000 untagged children paid for on every insert. It
-- now holds tagged runs only. ListRuns' tag filter (`tags && ...`) can only match a
-- run with tags, and it says so (`tags <> '{}'`), so the planner still uses the index.
DROP INDEX runs_tags_idx;
CREATE INDEX runs_tags_idx ON runs USING gin (tags) WHERE tags <> '{}';
