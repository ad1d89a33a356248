-- Run tags: short labels a user puts on runs to find them again (a Weir addition; KFP runs
-- have none). `runs.tags` is the JSON array shown with the run; `run_tags` holds one row per
-- tag for filtering, kept in step with `runs.tags` by the store in the same transaction.
ALTER TABLE runs ADD COLUMN tags TEXT NOT NULL DEFAULT '[]';

CREATE TABLE run_tags (
    tag    TEXT NOT NULL,
    run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    PRIMARY KEY (tag, run_id)
) WITHOUT ROWID;
CREATE INDEX run_tags_by_run ON run_tags (run_id);
