//! What every handler shares.

use std::net::IpAddr;
use std::sync::Arc;

use weir_engine::Engine;
use weir_store::MetadataStore;

use crate::runs::RunManager;

/// How the server listens.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub host: IpAddr,
    pub port: u16,
    /// When set, every API call must carry `Authorization: Bearer <token>`.
    pub auth_token: Option<String>,
}

pub struct AppState {
    pub engine: Engine,
    pub store: Arc<dyn MetadataStore>,
    pub runs: RunManager,
}

impl AppState {
    pub fn new(engine: Engine) -> AppState {
        let store = engine.store().clone();
        AppState {
            runs: RunManager::new(engine.clone()),
            engine,
            store,
        }
    }
}
