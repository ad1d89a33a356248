//! How the server listens.

use std::net::IpAddr;

/// How the server listens.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub host: IpAddr,
    pub port: u16,
    /// When set, every API call must carry `Authorization: Bearer <token>`.
    pub auth_token: Option<String>,
}
