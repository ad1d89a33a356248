//! The server's performance requirement, as a benchmark (never a timed test):
//!
//! with 100,000 runs in the store, `GET /apis/v2beta1/runs` (default page, deep page, filtered,
//! by experiment, sorted) at p50 ≤ 10 ms, and `POST /apis/v2beta1/runs` at p50 ≤ 5 ms until the
//! response (the run recorded PENDING and handed to the engine; its execution is not measured).
//!
//! `cargo bench -p weir-server --bench api` (or `bench/run`, which also writes BENCHMARKS.md).
//! The server is `weir_server::serve` in this process on a loopback port; every figure is a
//! full HTTP round trip over a kept-alive connection (client + loopback + server), so it bounds
//! the server's own time from above. The store's own `list_runs_page` is timed beside it.
//!
//! A second section times the web UI's pages on the same server and store (the UI issue's
//! "every page answers from the server in ≤ 100 ms with 100,000 runs in the store"): `/runs`
//! (first page, the page its Next link leads to, state filter, sorted by name, the Archived tab),
//! a run's page, `/pipelines`, `/experiments`, `/recurring` and `/compare` of two runs. Its
//! table goes between the `ui-bench` markers, the API's between the `api-bench` markers.
//!
//! Knobs (environment): `WEIR_BENCH_RUNS` (100000), `WEIR_BENCH_SAMPLES` (300),
//! `WEIR_BENCH_DEEP_PAGE` (1000, capped at the last full page), `WEIR_BENCH_LISTS_ONLY` (set:
//! time the lists only, no UI pages or creates),
//! `WEIR_BENCH_WARMUP` (30), `WEIR_BENCH_DIR` (keep the data dir there instead of a temp dir;
//! a dir that already holds a seeded store is reused).

use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use sqlx::Connection as _;
use tokio_util::sync::CancellationToken;
use weir_control::Control;
use weir_engine::{Engine, EngineConfig, Layout};
use weir_server::ServerConfig;
use weir_store::{
    FilterValue, ListQuery, MetadataStore, NewExperiment, NewRun, PageCursor, Predicate,
    PredicateOp, RunOptions, RuntimeConfig, SortBy, SqliteStore,
};
use weir_types::{ExperimentId, RunId, RunState};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;

const EXPERIMENTS: &[&str] = &[
    "Default",
    "nightly-training",
    "hyperparameter-sweep",
    "data-validation",
    "model-evaluation",
    "feature-backfill",
    "ablation-study",
    "smoke-tests",
];
const NAME_PREFIXES: &[&str] = &[
    "hello", "train", "sweep", "validate", "evaluate", "backfill",
];
const STATE_FILTER: &str =
    r#"{"predicates":[{"operation":"EQUALS","key":"state","string_value":"SUCCEEDED"}]}"#;
/// What the KFP UI asks for when it opens the runs page.
const UI_FILTER: &str = r#"{"predicates":[{"key":"storage_state","operation":"NOT_EQUALS","string_value":"ARCHIVED"}]}"#;

/// The runs table sorted by name: its Name column's link.
const SORT_BY_NAME: &str = "/runs?sort=display_name";
/// Seeded runs archived (for the UI section only) so the Archived tab has more than a page.
const ARCHIVED_FOR_UI: u32 = 25;
/// The UI's requirement: every page answers from the server in ≤ 100 ms.
const UI_TARGET_MS: f64 = 100.0;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() -> Result<()> {
    // `cargo bench` passes `--bench`; `cargo test --all-targets` runs this binary without it,
    // and a test run must not seed 100,000 runs.
    if !std::env::args().any(|a| a == "--bench") {
        eprintln!("api bench: skipped (run it with `cargo bench -p weir-server --bench api`)");
        return Ok(());
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(bench())
}

async fn bench() -> Result<()> {
    let runs = env_usize("WEIR_BENCH_RUNS", 100_000).max(2);
    let samples = env_usize("WEIR_BENCH_SAMPLES", 300).max(1);
    let warmup = env_usize("WEIR_BENCH_WARMUP", 30);
    let (_temp, dir) = match std::env::var_os("WEIR_BENCH_DIR") {
        Some(dir) => {
            std::fs::create_dir_all(&dir)?;
            (None, std::path::PathBuf::from(dir))
        }
        None => {
            let temp = tempfile::Builder::new().prefix("weir-bench-").tempdir()?;
            let path = temp.path().to_path_buf();
            (Some(temp), path)
        }
    };
    let spec = hello_spec()?;
    let spec_bytes = serde_json::to_vec(&spec)?.len();
    let layout = Layout::new(&dir);
    let sqlite = SqliteStore::open(&layout.database()).await?;
    let store: Arc<dyn MetadataStore> = Arc::new(sqlite);

    // 1. Seed.
    let seeded = Instant::now();
    let experiments = seed(&store, &layout.database(), &spec, runs).await?;
    let seed_time = seeded.elapsed();
    let db_bytes = file_size(&layout.database());
    eprintln!(
        "seeded {runs} runs in {:.1} s ({} MiB database)",
        seed_time.as_secs_f64(),
        db_bytes >> 20
    );

    // 2. Serve in this process on a loopback port.
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let engine = Engine::new(store.clone(), layout.clone(), EngineConfig::default());
    let shutdown = CancellationToken::new();
    let config = ServerConfig {
        host: "127.0.0.1".parse()?,
        port,
        auth_token: None,
    };
    let server = tokio::spawn(weir_server::serve(
        config,
        Control::new(engine),
        shutdown.clone(),
    ));
    let base = format!("http://127.0.0.1:{port}/apis/v2beta1");
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(1)
        .build()?;
    wait_healthy(&client, &base).await?;

    // 3. Lists.
    let experiment = experiments[1];
    // Page 1,000 (or the last full page of a smaller store), by following next_page_token.
    let deep_page = env_usize("WEIR_BENCH_DEEP_PAGE", 1000).clamp(2, (runs / 20).max(2));
    let state_filter = format!("filter={}", encode(STATE_FILTER));
    let succeeded = Predicate::new(
        "state",
        PredicateOp::Equals,
        FilterValue::String("SUCCEEDED".into()),
    );
    let (deep_url, deep_cursor) = walk_pages(&client, &store, &base, None, deep_page).await?;
    let (deep_filtered_url, deep_filtered_cursor) = walk_pages(
        &client,
        &store,
        &base,
        Some((&state_filter, &succeeded)),
        deep_page * 65 / 100,
    )
    .await?;
    let equals = |field: &str, value: &str| {
        Predicate::new(
            field,
            PredicateOp::Equals,
            FilterValue::String(value.into()),
        )
    };
    let scenarios: Vec<(String, String, ListQuery)> = vec![
        (
            "first page (default, 20)".into(),
            format!("{base}/runs"),
            ListQuery::default(),
        ),
        (
            format!("page {deep_page} (next_page_token ×{})", deep_page - 1),
            deep_url,
            ListQuery {
                after: deep_cursor,
                ..Default::default()
            },
        ),
        (
            format!("filter state = SUCCEEDED, page {}", deep_page * 65 / 100),
            deep_filtered_url,
            ListQuery {
                after: deep_filtered_cursor,
                ..ListQuery::default().with_predicate(succeeded.clone())
            },
        ),
        (
            "filter state = SUCCEEDED".into(),
            format!("{base}/runs?filter={}", encode(STATE_FILTER)),
            ListQuery::default().with_predicate(equals("state", "SUCCEEDED")),
        ),
        (
            "experiment_id".into(),
            format!("{base}/runs?experiment_id={experiment}"),
            ListQuery::default().with_predicate(equals("experiment_id", &experiment.to_string())),
        ),
        (
            "sort_by display_name desc".into(),
            format!("{base}/runs?sort_by={}", encode("display_name desc")),
            ListQuery::default().sorted_by(SortBy::descending("display_name")),
        ),
        (
            "KFP UI: 10, created_at desc, not archived".into(),
            format!(
                "{base}/runs?page_size=10&sort_by={}&filter={}",
                encode("created_at desc"),
                encode(UI_FILTER)
            ),
            ListQuery::default()
                .with_page_size(10)
                .sorted_by(SortBy::descending("created_at"))
                .with_predicate(Predicate::new(
                    "storage_state",
                    PredicateOp::NotEquals,
                    FilterValue::String("ARCHIVED".into()),
                )),
        ),
    ];
    let mut rows = Vec::new();
    for (name, url, query) in &scenarios {
        // Check once that the request works and returns a full page.
        let page: Value = get_json(&client, url).await?;
        let items = page["runs"].as_array().map_or(0, Vec::len);
        let total = page["total_size"].as_i64().unwrap_or(-1);
        let response_bytes = get_bytes(&client, url).await?;
        for _ in 0..warmup {
            get_bytes(&client, url).await?;
            store.list_runs_page(query).await?;
        }
        let mut http = Vec::with_capacity(samples);
        let mut in_store = Vec::with_capacity(samples);
        for _ in 0..samples {
            let start = Instant::now();
            get_bytes(&client, url).await?;
            http.push(start.elapsed());
            let start = Instant::now();
            std::hint::black_box(store.list_runs_page(query).await?);
            in_store.push(start.elapsed());
        }
        eprintln!("GET {name}: {}", summary(&mut http));
        rows.push(Row {
            what: format!("GET runs: {name}"),
            note: format!("{items} runs of {total}, {} KiB", response_bytes >> 10),
            http,
            store: Some(in_store),
        });
    }

    // The suite's fast subset (bench/suite) wants the lists alone.
    if std::env::var_os("WEIR_BENCH_LISTS_ONLY").is_some() {
        shutdown.cancel();
        let _ = tokio::time::timeout(Duration::from_secs(30), server).await;
        let report = report(
            &rows, runs, samples, warmup, seed_time, db_bytes, spec_bytes,
        );
        println!("{report}");
        return Ok(());
    }

    // 4. The web UI's pages, on the same server and store. A few seeded runs are archived for
    // the Archived tab (and restored at the end), so that tab shows a full page too.
    let site = format!("http://127.0.0.1:{port}");
    let seeded_runs = store
        .list_runs_page(
            &ListQuery::default()
                .with_predicate(equals("state", "SUCCEEDED"))
                .with_page_size(2),
        )
        .await?
        .items;
    if seeded_runs.len() < 2 {
        return Err("fewer than two SUCCEEDED runs in the store".into());
    }
    let (run_a, run_b) = (seeded_runs[0].id, seeded_runs[1].id);
    let to_archive: Vec<RunId> = store
        .list_runs_page(
            &ListQuery::default()
                .with_predicate(equals("state", "FAILED"))
                .with_page_size(ARCHIVED_FOR_UI),
        )
        .await?
        .items
        .into_iter()
        .map(|r| r.id)
        .collect();
    for id in &to_archive {
        post_ok(&client, &format!("{base}/runs/{id}:archive")).await?;
    }
    let first_page = get_page(&client, &format!("{site}/runs")).await?;
    let next_href = next_link(&first_page).ok_or("the first /runs page has no Next link")?;
    if !first_page.contains(&format!("href=\"{SORT_BY_NAME}\"")) {
        eprintln!("warning: the /runs page has no link to {SORT_BY_NAME}; timing it anyway");
    }
    let pages: Vec<(String, String)> = vec![
        ("runs: first page".into(), "/runs".into()),
        ("runs: next page (its Next link)".into(), next_href),
        ("runs: state = FAILED".into(), "/runs?state=FAILED".into()),
        ("runs: sorted by name".into(), SORT_BY_NAME.into()),
        ("runs: Archived tab".into(), "/runs?view=archived".into()),
        ("run detail (seeded run)".into(), format!("/runs/{run_a}")),
        ("pipelines".into(), "/pipelines".into()),
        ("experiments".into(), "/experiments".into()),
        ("recurring".into(), "/recurring".into()),
        (
            "compare two seeded runs".into(),
            format!("/compare?run={run_a}&run={run_b}"),
        ),
    ];
    let mut ui_rows = Vec::new();
    for (name, path) in &pages {
        ui_rows.push(time_page(&client, &site, name, path, warmup, samples).await?);
    }
    for id in &to_archive {
        post_ok(&client, &format!("{base}/runs/{id}:unarchive")).await?;
    }

    // 5. Creates, one at a time; each run is terminated and left to end between two creates
    // (untimed), so no run executes while a create is being timed.
    let mut creates = Vec::with_capacity(samples);
    let mut first_state = String::new();
    let mut last_created = String::new();
    for i in 0..(warmup + samples) {
        let body = json!({
            "display_name": format!("bench create {i:04}"),
            "experiment_id": experiment.to_string(),
            "pipeline_spec": spec,
            "runtime_config": {"parameters": {"count": 3, "threshold": 10}},
        });
        let body = serde_json::to_vec(&body)?;
        let start = Instant::now();
        let response = client
            .post(format!("{base}/runs"))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await?;
        let status = response.status();
        let bytes = response.bytes().await?;
        let elapsed = start.elapsed();
        if !status.is_success() {
            return Err(format!("create: {status}: {}", String::from_utf8_lossy(&bytes)).into());
        }
        let run: Value = serde_json::from_slice(&bytes)?;
        let id = run["run_id"]
            .as_str()
            .ok_or("a created run without run_id")?;
        if first_state.is_empty() {
            first_state = run["state"].as_str().unwrap_or("?").to_owned();
        }
        if i >= warmup {
            creates.push(elapsed);
        }
        let _ = client
            .post(format!("{base}/runs/{id}:terminate"))
            .send()
            .await?;
        wait_ended(&store, id.parse()?).await?;
        last_created = id.to_owned();
    }
    eprintln!("POST create run: {}", summary(&mut creates));
    rows.push(Row {
        what: "POST runs: create (inline hello spec)".into(),
        note: format!("{spec_bytes} B spec; answered {first_state}"),
        http: creates,
        store: None,
    });

    // A run with tasks (the last create, terminated after its first step or two): the seeded
    // runs carry no tasks, so their page is the lighter one.
    ui_rows.push(
        time_page(
            &client,
            &site,
            "run detail (a created run, with tasks)",
            &format!("/runs/{last_created}"),
            warmup,
            samples,
        )
        .await?,
    );

    shutdown.cancel();
    let _ = tokio::time::timeout(Duration::from_secs(30), server).await;

    let report = report(
        &rows, runs, samples, warmup, seed_time, db_bytes, spec_bytes,
    );
    println!("{report}");
    println!();
    println!("{}", ui_report(&ui_rows, runs, samples, warmup));
    Ok(())
}

/// The compiled hello pipeline, as the bare PipelineSpec JSON object the API takes inline.
fn hello_spec() -> Result<Value> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/hello/hello.yaml");
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    Ok(serde_norway::from_str(&text)?)
}

/// Seeds `runs` runs over the experiments: one template run through the store, the rest copies
/// of its row (new id, experiment, name, state, times) in one transaction on a separate
/// connection to the same file, with a three-entry state history each. Every run ends in a
/// terminal state, so the server resumes none of them at startup. Returns the experiments.
async fn seed(
    store: &Arc<dyn MetadataStore>,
    database: &Path,
    spec: &Value,
    runs: usize,
) -> Result<Vec<ExperimentId>> {
    let mut experiments = Vec::new();
    for name in EXPERIMENTS {
        let experiment = match store.ensure_experiment(name).await {
            Ok(e) => e,
            Err(_) => {
                store
                    .create_experiment(&NewExperiment {
                        name: (*name).into(),
                        ..Default::default()
                    })
                    .await?
            }
        };
        experiments.push(experiment.id);
    }
    let existing = store
        .list_runs_page(&ListQuery::default().with_page_size(1))
        .await?
        .total_size;
    if existing as usize >= runs {
        eprintln!(
            "reusing the {existing} runs already in {}",
            database.display()
        );
        return Ok(experiments);
    }
    let mut parameters = serde_json::Map::new();
    parameters.insert("count".into(), json!(4));
    parameters.insert("threshold".into(), json!(20));
    let template = store
        .create_run(&NewRun {
            id: RunId::new(),
            experiment_id: Some(experiments[0]),
            display_name: "template".into(),
            description: "Squares numbers in parallel and sums them.".into(),
            pipeline_name: "hello-weir".into(),
            pipeline_spec: json!({ "pipeline_spec": spec }).into(),
            runtime_config: RuntimeConfig {
                parameters,
                pipeline_root: None,
            },
            options: RunOptions::default(),
            ..Default::default()
        })
        .await?;
    store
        .set_run_state(template.id, RunState::Running, None)
        .await?;
    store
        .set_run_state(template.id, RunState::Succeeded, None)
        .await?;

    let mut connection = sqlx::SqliteConnection::connect_with(
        &sqlx::sqlite::SqliteConnectOptions::new()
            .filename(database)
            .busy_timeout(Duration::from_secs(30)),
    )
    .await?;
    sqlx::query("CREATE TEMP TABLE seed AS SELECT * FROM runs WHERE id = ?")
        .bind(template.id.to_string())
        .execute(&mut connection)
        .await?;
    let now = chrono::Utc::now().timestamp_millis();
    let span: i64 = 90 * 24 * 3600 * 1000;
    let copies = runs - 1;
    let mut tx = connection.begin().await?;
    for i in 0..copies {
        // Oldest first, spread over the last 90 days; ids are UUIDv7 of the creation time.
        let created = now - span + span * i as i64 / copies as i64;
        let id = uuid::Uuid::new_v7(uuid::Timestamp::from_unix(
            uuid::NoContext,
            (created / 1000) as u64,
            ((created % 1000) * 1_000_000) as u32,
        ));
        let started = created + 1_000 + (i as i64 * 7919) % 60_000;
        let finished = started + 5_000 + (i as i64 * 104_729) % 3_600_000;
        let (state, error) = match i % 20 {
            0..=12 => ("SUCCEEDED", None),
            13..=17 => ("FAILED", Some("task square failed: exit code 1")),
            _ => ("CANCELED", None),
        };
        let experiment = experiments[(i * 7 + i / 13) % experiments.len()].to_string();
        let name = format!(
            "{}-{:06} {}",
            NAME_PREFIXES[i % NAME_PREFIXES.len()],
            (i * 7_919) % 1_000_003,
            chrono::DateTime::from_timestamp_millis(created)
                .unwrap_or_default()
                .format("%Y-%m-%d %H-%M-%S")
        );
        sqlx::query(
            "UPDATE seed SET id = ?, experiment_id = ?, display_name = ?, state = ?, error = ?, \
             created_at = ?, started_at = ?, finished_at = ?",
        )
        .bind(id.to_string())
        .bind(&experiment)
        .bind(&name)
        .bind(state)
        .bind(error)
        .bind(created)
        .bind(started)
        .bind(finished)
        .execute(&mut *tx)
        .await?;
        sqlx::query("INSERT INTO runs SELECT * FROM seed")
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO run_state_history (run_id, seq, state, at, message) \
             VALUES (?1, 1, 'PENDING', ?2, NULL), (?1, 2, 'RUNNING', ?3, NULL), \
             (?1, 3, ?4, ?5, ?6)",
        )
        .bind(id.to_string())
        .bind(created)
        .bind(started)
        .bind(state)
        .bind(finished)
        .bind(error)
        .execute(&mut *tx)
        .await?;
    }
    sqlx::query(
        "UPDATE experiments SET last_run_created_at = \
         (SELECT MAX(created_at) FROM runs WHERE runs.experiment_id = experiments.id)",
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
        .execute(&mut connection)
        .await?;
    connection.close().await?;
    Ok(experiments)
}

async fn wait_healthy(client: &reqwest::Client, base: &str) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(r) = client.get(format!("{base}/healthz")).send().await {
            if r.status().is_success() {
                return Ok(());
            }
        }
        if Instant::now() > deadline {
            return Err("the server did not come up in 30 s".into());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn wait_ended(store: &Arc<dyn MetadataStore>, id: RunId) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !store.get_run(id).await?.state.is_terminal() {
        if Instant::now() > deadline {
            return Err(format!("run {id} did not end within 60 s of terminate").into());
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    Ok(())
}

async fn get_bytes(client: &reqwest::Client, url: &str) -> Result<usize> {
    let response = client.get(url).send().await?;
    let status = response.status();
    let body = response.bytes().await?;
    if !status.is_success() {
        return Err(format!("GET {url}: {status}: {}", String::from_utf8_lossy(&body)).into());
    }
    Ok(body.len())
}

async fn get_json(client: &reqwest::Client, url: &str) -> Result<Value> {
    let response = client.get(url).send().await?;
    let status = response.status();
    let body = response.bytes().await?;
    if !status.is_success() {
        return Err(format!("GET {url}: {status}: {}", String::from_utf8_lossy(&body)).into());
    }
    Ok(serde_json::from_slice(&body)?)
}

async fn post_ok(client: &reqwest::Client, url: &str) -> Result<()> {
    let response = client.post(url).send().await?;
    let status = response.status();
    let body = response.bytes().await?;
    if !status.is_success() {
        return Err(format!("POST {url}: {status}: {}", String::from_utf8_lossy(&body)).into());
    }
    Ok(())
}

/// A page's HTML; anything but a non-empty 200 is an error.
async fn get_page(client: &reqwest::Client, url: &str) -> Result<String> {
    let response = client.get(url).send().await?;
    let status = response.status();
    let body = response.text().await?;
    if status != reqwest::StatusCode::OK {
        return Err(format!("GET {url}: {status}: {body}").into());
    }
    if body.trim().is_empty() {
        return Err(format!("GET {url}: 200 with an empty body").into());
    }
    Ok(body)
}

/// The href of the runs page's Next link (`<a href="…" id="next-page">`), unescaped.
fn next_link(html: &str) -> Option<String> {
    let at = html.find(r#"id="next-page""#)?;
    let tag = &html[html[..at].rfind("<a ")?..at];
    let start = tag.find(r#"href=""#)? + r#"href=""#.len();
    let end = start + tag[start..].find('"')?;
    Some(unescape(&tag[start..end]))
}

fn unescape(text: &str) -> String {
    text.replace("&#34;", "\"")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&#38;", "&")
        .replace("&amp;", "&")
}

struct UiRow {
    what: String,
    path: String,
    note: String,
    http: Vec<Duration>,
}

/// Checks a page once (200, non-empty), warms it up, then times `samples` GETs of it.
async fn time_page(
    client: &reqwest::Client,
    site: &str,
    name: &str,
    path: &str,
    warmup: usize,
    samples: usize,
) -> Result<UiRow> {
    let url = format!("{site}{path}");
    let html = get_page(client, &url).await?;
    let run_rows = html.matches(r#"class="run-link""#).count();
    let note = if path.starts_with("/runs?") || path == "/runs" {
        format!("{run_rows} runs listed, {} KiB", html.len() >> 10)
    } else {
        format!("{} KiB", html.len() >> 10)
    };
    for _ in 0..warmup {
        get_bytes(client, &url).await?;
    }
    let mut http = Vec::with_capacity(samples);
    for _ in 0..samples {
        let start = Instant::now();
        get_bytes(client, &url).await?;
        http.push(start.elapsed());
    }
    eprintln!("UI GET {name}: {}", summary(&mut http));
    Ok(UiRow {
        what: name.to_owned(),
        path: path.to_owned(),
        note,
        http,
    })
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 3);
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.~".contains(&byte) {
            out.push(byte as char);
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
    out
}

fn file_size(path: &Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

struct Row {
    what: String,
    note: String,
    http: Vec<Duration>,
    store: Option<Vec<Duration>>,
}

/// Nearest-rank percentile of sorted samples, in milliseconds.
fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted[rank.min(sorted.len()) - 1].as_secs_f64() * 1e3
}

fn summary(samples: &mut [Duration]) -> String {
    samples.sort();
    format!(
        "p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms",
        percentile(samples, 50.0),
        percentile(samples, 90.0),
        percentile(samples, 99.0)
    )
}

fn machine() -> (usize, String, String) {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let memory = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kib| kib.parse::<u64>().ok())
        })
        .map_or("?".into(), |kib| {
            format!("{:.1} GiB", kib as f64 / 1048576.0)
        });
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_owned())
        })
        .unwrap_or_else(|| "?".into());
    (cores, memory, cpu)
}

fn report(
    rows: &[Row],
    runs: usize,
    samples: usize,
    warmup: usize,
    seed_time: Duration,
    db_bytes: u64,
    spec_bytes: usize,
) -> String {
    let (cores, memory, cpu) = machine();
    let profile = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release (bench profile)"
    };
    let mut out = String::new();
    let _ = writeln!(out, "<!-- api-bench:start -->");
    let _ = writeln!(
        out,
        "- Date: {} UTC",
        chrono::Utc::now().format("%Y-%m-%d %H:%M")
    );
    let _ = writeln!(
        out,
        "- Machine: {cores} cores (nproc), {memory} memory, {cpu}"
    );
    let knobs: Vec<String> = ["WEIR_BENCH_RUNS", "WEIR_BENCH_SAMPLES", "WEIR_BENCH_WARMUP"]
        .iter()
        .filter_map(|k| std::env::var(k).ok().map(|v| format!("{k}={v} ")))
        .collect();
    let _ = writeln!(
        out,
        "- Command: `{}cargo bench -p weir-server --bench api` (what `bench/run` runs)",
        knobs.concat()
    );
    let _ = writeln!(out, "- Build: {profile}");
    let _ = writeln!(
        out,
        "- Store: {runs} runs in 8 experiments (65% SUCCEEDED, 25% FAILED, 10% CANCELED), \
         each with the hello spec ({spec_bytes} B of JSON); {} MiB SQLite file; seeded in {:.1} s",
        db_bytes >> 20,
        seed_time.as_secs_f64()
    );
    let _ = writeln!(
        out,
        "- Samples: {samples} per row after {warmup} warm-up requests, one at a time"
    );
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "| Request | HTTP p50 | p90 | p99 | store p50 | Result |"
    );
    let _ = writeln!(out, "|---|---:|---:|---:|---:|---|");
    for row in rows {
        let mut http = row.http.clone();
        http.sort();
        let store = row.store.as_ref().map_or("–".to_owned(), |s| {
            let mut s = s.clone();
            s.sort();
            format!("{:.2} ms", percentile(&s, 50.0))
        });
        let _ = writeln!(
            out,
            "| {} | {:.2} ms | {:.2} ms | {:.2} ms | {} | {} |",
            row.what,
            percentile(&http, 50.0),
            percentile(&http, 90.0),
            percentile(&http, 99.0),
            store,
            row.note
        );
    }
    let _ = write!(out, "<!-- api-bench:end -->");
    out
}

fn ui_report(rows: &[UiRow], runs: usize, samples: usize, warmup: usize) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "<!-- ui-bench:start -->");
    let _ = writeln!(
        out,
        "- Date: {} UTC; same run, machine, store ({runs} runs) and in-process server as the API table",
        chrono::Utc::now().format("%Y-%m-%d %H:%M")
    );
    let _ = writeln!(
        out,
        "- Samples: {samples} per page after {warmup} warm-up requests, one at a time; each page \
         checked once first (HTTP 200, non-empty HTML). {ARCHIVED_FOR_UI} seeded FAILED runs are \
         archived for this section (restored after it)"
    );
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "| Page | GET | p50 | p90 | p99 | Target | p99 ≤ target | Response |"
    );
    let _ = writeln!(out, "|---|---|---:|---:|---:|---:|---|---|");
    for row in rows {
        let mut http = row.http.clone();
        http.sort();
        let p99 = percentile(&http, 99.0);
        // The run ids and page cursors make the paths long; show their shape.
        let path = if row.path.contains("after=") {
            "/runs?after=…&back=-".to_owned()
        } else if row.path.starts_with("/compare") {
            "/compare?run={a}&run={b}".to_owned()
        } else if row.path.starts_with("/runs/") {
            "/runs/{id}".to_owned()
        } else {
            row.path.clone()
        };
        let _ = writeln!(
            out,
            "| {} | `{}` | {:.2} ms | {:.2} ms | {:.2} ms | {:.0} ms | {} | {} |",
            row.what,
            path,
            percentile(&http, 50.0),
            percentile(&http, 90.0),
            p99,
            UI_TARGET_MS,
            if p99 <= UI_TARGET_MS { "yes" } else { "**no**" },
            row.note
        );
    }
    let _ = write!(out, "<!-- ui-bench:end -->");
    out
}

/// Follows `next_page_token` from the first page to page `page` (1-based), optionally with a
/// filter, through the API and the store alike; returns that page's URL and store cursor.
async fn walk_pages(
    client: &reqwest::Client,
    store: &Arc<dyn MetadataStore>,
    base: &str,
    filter: Option<(&str, &Predicate)>,
    page: usize,
) -> Result<(String, Option<PageCursor>)> {
    let query_string = filter.map(|(q, _)| format!("{q}&")).unwrap_or_default();
    let mut url = format!("{base}/runs?{query_string}");
    let mut cursor: Option<PageCursor> = None;
    for _ in 1..page {
        let listed: Value = get_json(client, &url).await?;
        let token = listed["next_page_token"]
            .as_str()
            .ok_or_else(|| format!("a page without next_page_token before page {page}"))?;
        url = format!("{base}/runs?{query_string}page_token={}", encode(token));
        let mut query = ListQuery {
            after: cursor.clone(),
            ..Default::default()
        };
        if let Some((_, predicate)) = filter {
            query = query.with_predicate(predicate.clone());
        }
        cursor = store.list_runs_page(&query).await?.next;
    }
    Ok((url, cursor))
}
