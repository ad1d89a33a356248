-- Weir metadata schema, version 2: what the KFP v2beta1 REST API needs besides runs.
-- Experiments gain namespaces (names become unique per namespace), runs gain their namespace,
-- service account and pipeline; pipelines, pipeline versions and recurring runs are new.
-- Indexes serve the lists' common queries (keyset pages sorted by a column, then id).
--
-- Runs with foreign keys OFF (SqliteStore runs migrations on such a connection and checks
-- `PRAGMA foreign_key_check` afterwards): the experiments table is rebuilt, and with foreign keys
-- on, dropping the old table would delete every run through ON DELETE CASCADE.

CREATE TABLE experiments_v2 (
    id                  TEXT PRIMARY KEY,
    name                TEXT NOT NULL,
    description         TEXT NOT NULL DEFAULT '',
    namespace           TEXT NOT NULL DEFAULT '',
    storage_state       TEXT NOT NULL DEFAULT 'AVAILABLE' CHECK (storage_state IN ('AVAILABLE', 'ARCHIVED')),
    created_at          INTEGER NOT NULL,
    last_run_created_at INTEGER,
    UNIQUE (namespace, name)
);
INSERT INTO experiments_v2 (id, name, description, storage_state, created_at, last_run_created_at)
SELECT id, name, description, storage_state, created_at,
       (SELECT MAX(runs.created_at) FROM runs WHERE runs.experiment_id = experiments.id)
FROM experiments;
DROP TABLE experiments;
ALTER TABLE experiments_v2 RENAME TO experiments;
CREATE INDEX experiments_by_created ON experiments (created_at, id);
CREATE INDEX experiments_by_name ON experiments (name, id);

ALTER TABLE runs ADD COLUMN namespace TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN service_account TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN pipeline_id TEXT;
-- The UI's run lists (all runs, or an experiment's, without the archived ones, newest first)
-- come with a name search (IS_SUBSTRING on display_name): display_name at the end of their
-- indexes lets that search run over the index alone, without reading each run's row.
DROP INDEX runs_by_created;
CREATE INDEX runs_by_created ON runs (created_at, id, display_name);
DROP INDEX runs_by_state;
CREATE INDEX runs_by_state ON runs (state, created_at, id);
CREATE INDEX runs_by_display_name ON runs (display_name, id);
CREATE INDEX runs_by_experiment ON runs (experiment_id, created_at, id, display_name);
CREATE INDEX runs_by_experiment_storage_state ON runs (experiment_id, storage_state, created_at, id, display_name);
CREATE INDEX runs_by_storage_state ON runs (storage_state, created_at, id, display_name);
CREATE INDEX runs_by_namespace ON runs (namespace, created_at, id);
CREATE INDEX runs_by_recurring_run ON runs (recurring_run_id, state);

-- Deleting runs and tasks cascades into these tables; without an index on the referencing
-- column every cascaded delete scans them.
CREATE INDEX cache_entries_by_run ON cache_entries (run_id);
CREATE INDEX cache_entries_by_task ON cache_entries (task_id);
CREATE INDEX artifacts_by_task ON artifacts (task_id);

CREATE TABLE pipelines (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    display_name TEXT NOT NULL,
    description  TEXT NOT NULL DEFAULT '',
    namespace    TEXT NOT NULL DEFAULT '',
    tags         TEXT NOT NULL DEFAULT '{}',
    created_at   INTEGER NOT NULL,
    UNIQUE (namespace, name)
);
CREATE INDEX pipelines_by_created ON pipelines (created_at, id);
CREATE INDEX pipelines_by_display_name ON pipelines (display_name, id);

-- Large JSON columns come last, so that filters on the others never read overflow pages.
CREATE TABLE pipeline_versions (
    id              TEXT PRIMARY KEY,
    pipeline_id     TEXT NOT NULL REFERENCES pipelines(id) ON DELETE CASCADE,
    name            TEXT NOT NULL,
    display_name    TEXT NOT NULL,
    description     TEXT NOT NULL DEFAULT '',
    package_url     TEXT,
    code_source_url TEXT,
    tags            TEXT NOT NULL DEFAULT '{}',
    created_at      INTEGER NOT NULL,
    pipeline_spec   TEXT NOT NULL,
    UNIQUE (pipeline_id, name)
);
CREATE INDEX pipeline_versions_by_created ON pipeline_versions (pipeline_id, created_at, id);
CREATE INDEX pipeline_versions_by_display_name ON pipeline_versions (pipeline_id, display_name, id);

-- KFP's "jobs". pipeline_id and pipeline_version_id are references by value: deleting a
-- pipeline leaves its recurring runs (they carry their spec or fail when they fire).
CREATE TABLE recurring_runs (
    id                  TEXT PRIMARY KEY,
    display_name        TEXT NOT NULL,
    description         TEXT NOT NULL DEFAULT '',
    namespace           TEXT NOT NULL DEFAULT '',
    experiment_id       TEXT REFERENCES experiments(id) ON DELETE CASCADE,
    pipeline_id         TEXT,
    pipeline_version_id TEXT,
    service_account     TEXT NOT NULL DEFAULT '',
    max_concurrency     INTEGER NOT NULL,
    status              TEXT NOT NULL CHECK (status IN ('ENABLED', 'DISABLED')),
    no_catchup          INTEGER NOT NULL,
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL,
    trigger_spec        TEXT NOT NULL,
    runtime_config      TEXT NOT NULL,
    pipeline_spec       TEXT
);
CREATE INDEX recurring_runs_by_created ON recurring_runs (created_at, id);
CREATE INDEX recurring_runs_by_experiment ON recurring_runs (experiment_id);

-- Schedule slots that have fired: at most one run per (recurring run, slot), across restarts.
-- run_id is not a foreign key: deleting the run must not free its slot.
CREATE TABLE recurring_run_slots (
    recurring_run_id TEXT NOT NULL REFERENCES recurring_runs(id) ON DELETE CASCADE,
    slot             INTEGER NOT NULL,
    run_id           TEXT NOT NULL,
    claimed_at       INTEGER NOT NULL,
    PRIMARY KEY (recurring_run_id, slot)
);
