-- Weir metadata schema, version 1. Times are milliseconds since the Unix epoch (UTC).
-- JSON columns hold serde_json text. States mirror the enums of weir-types.

CREATE TABLE experiments (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL UNIQUE,
    description   TEXT NOT NULL DEFAULT '',
    storage_state TEXT NOT NULL DEFAULT 'AVAILABLE' CHECK (storage_state IN ('AVAILABLE', 'ARCHIVED')),
    created_at    INTEGER NOT NULL
);

CREATE TABLE runs (
    id                  TEXT PRIMARY KEY,
    experiment_id       TEXT REFERENCES experiments(id) ON DELETE CASCADE,
    display_name        TEXT NOT NULL,
    description         TEXT NOT NULL DEFAULT '',
    pipeline_name       TEXT NOT NULL,
    pipeline_spec       TEXT NOT NULL,
    runtime_config      TEXT NOT NULL,
    options             TEXT NOT NULL,
    state               TEXT NOT NULL CHECK (state IN ('PENDING', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELING', 'CANCELED')),
    error               TEXT,
    storage_state       TEXT NOT NULL DEFAULT 'AVAILABLE' CHECK (storage_state IN ('AVAILABLE', 'ARCHIVED')),
    pipeline_version_id TEXT,
    recurring_run_id    TEXT,
    created_at          INTEGER NOT NULL,
    started_at          INTEGER,
    finished_at         INTEGER
);
CREATE INDEX runs_by_created ON runs (created_at, id);
CREATE INDEX runs_by_state ON runs (state);

CREATE TABLE run_state_history (
    run_id  TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    seq     INTEGER NOT NULL,
    state   TEXT NOT NULL,
    at      INTEGER NOT NULL,
    message TEXT,
    PRIMARY KEY (run_id, seq)
);

CREATE TABLE tasks (
    id              TEXT PRIMARY KEY,
    run_id          TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    parent_id       TEXT REFERENCES tasks(id) ON DELETE CASCADE,
    -- Stable position in the run: root/exit-handler-1/for-loop-2[3]/square. Unique per run, so a
    -- resumed run finds the executions it already has instead of creating them again.
    path            TEXT NOT NULL,
    name            TEXT NOT NULL,
    display_name    TEXT NOT NULL,
    kind            TEXT NOT NULL CHECK (kind IN ('ROOT', 'DAG', 'LOOP', 'ITERATION', 'CONTAINER', 'IMPORTER')),
    iteration_index INTEGER,
    state           TEXT NOT NULL CHECK (state IN ('PENDING', 'RUNNING', 'SUCCEEDED', 'CACHED', 'FAILED', 'SKIPPED', 'CANCELED')),
    inputs          TEXT NOT NULL DEFAULT '{}',
    outputs         TEXT NOT NULL DEFAULT '{}',
    details         TEXT NOT NULL DEFAULT '{}',
    error           TEXT,
    attempt         INTEGER NOT NULL DEFAULT 0,
    log_path        TEXT,
    created_at      INTEGER NOT NULL,
    started_at      INTEGER,
    finished_at     INTEGER,
    UNIQUE (run_id, path)
);
CREATE INDEX tasks_by_parent ON tasks (parent_id);

CREATE TABLE task_state_history (
    task_id TEXT NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
    seq     INTEGER NOT NULL,
    state   TEXT NOT NULL,
    at      INTEGER NOT NULL,
    message TEXT,
    PRIMARY KEY (task_id, seq)
);

CREATE TABLE artifacts (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id       TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    task_id      TEXT REFERENCES tasks(id) ON DELETE SET NULL,
    name         TEXT NOT NULL,
    uri          TEXT NOT NULL,
    schema_title TEXT NOT NULL,
    metadata     TEXT NOT NULL DEFAULT '{}',
    created_at   INTEGER NOT NULL
);
CREATE INDEX artifacts_by_run ON artifacts (run_id);

CREATE TABLE cache_entries (
    fingerprint   TEXT NOT NULL,
    pipeline_name TEXT NOT NULL,
    task_id       TEXT NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
    run_id        TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    created_at    INTEGER NOT NULL,
    PRIMARY KEY (fingerprint, pipeline_name, task_id)
);

CREATE TABLE secrets (
    name       TEXT PRIMARY KEY,
    data       TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
