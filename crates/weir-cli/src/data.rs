//! Opening the data dir: the store, the engine, and the control layer over them.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result};
use weir_control::Control;
use weir_engine::{Engine, EngineConfig, Layout};
use weir_store::{MetadataStore, SqliteStore};

/// `--data-dir`, `WEIR_DATA_DIR`, or `~/.local/share/weir`.
pub fn data_dir(flag: Option<PathBuf>) -> PathBuf {
    if let Some(dir) = flag {
        return dir;
    }
    if let Some(data_home) = std::env::var_os("XDG_DATA_HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(data_home).join("weir");
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."));
    home.join(".local/share/weir")
}

pub async fn open_store(data_dir: &std::path::Path) -> Result<Arc<dyn MetadataStore>> {
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("failed to create the data dir {}", data_dir.display()))?;
    let data_dir = std::fs::canonicalize(data_dir)
        .with_context(|| format!("failed to resolve {}", data_dir.display()))?;
    let layout = Layout::new(&data_dir);
    let store = SqliteStore::open(&layout.database())
        .await
        .with_context(|| {
            format!(
                "failed to open the database at {}",
                layout.database().display()
            )
        })?;
    Ok(Arc::new(store))
}

pub async fn open_engine(
    data_dir: &std::path::Path,
    max_parallel: Option<usize>,
) -> Result<Engine> {
    let store = open_store(data_dir).await?;
    let data_dir = std::fs::canonicalize(data_dir)?;
    let mut config = EngineConfig::default();
    if let Some(max) = max_parallel {
        config.max_parallel = max.max(1);
    }
    config.executor = crate::executor::config()?;
    config.warm_python = crate::executor::warm_python();
    let engine = Engine::new(store, Layout::new(data_dir), config);
    if let Some(host) = engine.check_executor().await.map_err(anyhow::Error::msg)? {
        tracing::info!(%host, "steps run in containers");
    }
    Ok(engine)
}

/// The control layer over [`open_engine`]: what `weir run` and the local `weir runs` act through.
pub async fn open_control(
    data_dir: &std::path::Path,
    max_parallel: Option<usize>,
) -> Result<Control> {
    Ok(Control::new(open_engine(data_dir, max_parallel).await?))
}
