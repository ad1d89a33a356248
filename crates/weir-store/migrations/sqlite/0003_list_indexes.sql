-- Indexes for the lists the UI and clients combine: state within active/archived runs, and
-- name order within active/archived runs.
CREATE INDEX runs_by_storage_state_state ON runs (storage_state, state, created_at, id);
CREATE INDEX runs_by_storage_state_name ON runs (storage_state, display_name, id);
