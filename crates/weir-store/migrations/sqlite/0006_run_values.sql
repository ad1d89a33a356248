-- A run's parameters and metrics as rows, so that list filters such as `accuracy >= 0.9` or
-- `param.lr = 0.1` are index lookups instead of decoding every run's JSON. `num` is the value
-- as a number when it is one (or a string that reads as one), `text` the value as shown: a
-- string as it is, anything else as JSON. Metrics are the numeric entries of a run's
-- system.Metrics artifacts; a later artifact's entry replaces an earlier one of the same name.
-- (0005 is left to the benchmark work that runs beside this change.)
CREATE TABLE run_values (
    run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    kind   TEXT NOT NULL CHECK (kind IN ('param', 'metric')),
    name   TEXT NOT NULL,
    num    REAL,
    text   TEXT NOT NULL,
    PRIMARY KEY (run_id, kind, name)
) WITHOUT ROWID;
-- `num` then `text`: numbers compare by range, and values that are not numbers (num IS NULL)
-- by a text range in the same index.
CREATE INDEX run_values_by_number ON run_values (kind, name, num, text);
CREATE INDEX run_values_by_text ON run_values (kind, name, text);

-- The runs and artifacts stored before this migration.
INSERT INTO run_values (run_id, kind, name, num, text)
SELECT runs.id, 'param', p.key,
       CASE
           WHEN p.type IN ('integer', 'real') THEN p.value
           WHEN p.type = 'text' AND trim(p.value) <> '' AND trim(p.value) NOT GLOB '*[^-+0-9.eE]*'
                AND trim(p.value) GLOB '*[0-9]*'
               THEN CAST(trim(p.value) AS REAL)
       END,
       CASE
           WHEN p.type = 'text' THEN p.value
           WHEN p.type IN ('true', 'false', 'null') THEN p.type
           WHEN p.type IN ('object', 'array') THEN p.value
           ELSE CAST(p.value AS TEXT)
       END
FROM runs, json_each(runs.runtime_config, '$.parameters') AS p;

INSERT INTO run_values (run_id, kind, name, num, text)
SELECT artifacts.run_id, 'metric', m.key, m.value, CAST(m.value AS TEXT)
FROM artifacts, json_each(artifacts.metadata) AS m
WHERE artifacts.schema_title = 'system.Metrics' AND m.type IN ('integer', 'real')
ORDER BY artifacts.id
ON CONFLICT (run_id, kind, name) DO UPDATE SET num = excluded.num, text = excluded.text;
