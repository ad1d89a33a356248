//! Secrets: named key/value sets that tasks receive as environment variables or files.

use sqlx::SqlitePool;

use super::convert::{now_millis, to_json};
use crate::{Result, SecretData, StoreError};

pub(super) async fn set_secret(pool: &SqlitePool, name: &str, data: &SecretData) -> Result<()> {
    let now = now_millis();
    sqlx::query(
        "INSERT INTO secrets (name, data, created_at, updated_at) VALUES (?, ?, ?, ?) \
         ON CONFLICT (name) DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at",
    )
    .bind(name)
    .bind(to_json(data)?)
    .bind(now)
    .bind(now)
    .execute(pool)
    .await?;
    Ok(())
}

pub(super) async fn get_secret(pool: &SqlitePool, name: &str) -> Result<Option<SecretData>> {
    let text: Option<String> = sqlx::query_scalar("SELECT data FROM secrets WHERE name = ?")
        .bind(name)
        .fetch_optional(pool)
        .await?;
    text.map(|t| {
        serde_json::from_str(&t).map_err(|e| StoreError::Corrupt {
            what: "secret",
            message: e.to_string(),
        })
    })
    .transpose()
}

pub(super) async fn list_secrets(pool: &SqlitePool) -> Result<Vec<String>> {
    Ok(sqlx::query_scalar("SELECT name FROM secrets ORDER BY name")
        .fetch_all(pool)
        .await?)
}

pub(super) async fn delete_secret(pool: &SqlitePool, name: &str) -> Result<bool> {
    let deleted = sqlx::query("DELETE FROM secrets WHERE name = ?")
        .bind(name)
        .execute(pool)
        .await?;
    Ok(deleted.rows_affected() > 0)
}
