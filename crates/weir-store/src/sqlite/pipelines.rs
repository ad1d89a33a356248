//! Pipelines and their versions.

use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqliteConnection, SqlitePool};
use weir_types::{PipelineId, PipelineVersionId};

use super::convert::{conflict_or_backend, json, now_millis, parsed, time, to_json};
use super::list::{list_page, Field, Resource};
use crate::{
    ListQuery, NewPipeline, NewPipelineVersion, Page, Pipeline, PipelineUpdate, PipelineVersion,
    PipelineVersionUpdate, Result, StoreError,
};

pub(super) const PIPELINES: Resource = Resource {
    what: "pipelines",
    table: "pipelines",
    fields: &[
        Field::text(&["pipeline_id", "id"], "id"),
        Field::text(&["display_name"], "display_name"),
        Field::text(&["name"], "name"),
        Field::text(&["description"], "description"),
        Field::time(&["created_at"], "created_at"),
        Field::text(&["namespace"], "namespace"),
    ],
};

pub(super) const PIPELINE_VERSIONS: Resource = Resource {
    what: "pipeline versions",
    table: "pipeline_versions",
    fields: &[
        Field::text(&["pipeline_version_id", "id"], "id"),
        Field::text(&["display_name"], "display_name"),
        Field::text(&["name"], "name"),
        Field::text(&["description"], "description"),
        Field::time(&["created_at"], "created_at"),
    ],
};

pub(super) async fn create_pipeline(pool: &SqlitePool, new: &NewPipeline) -> Result<Pipeline> {
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    insert_pipeline(&mut tx, new).await?;
    tx.commit().await?;
    get_pipeline(pool, new.id).await
}

pub(super) async fn create_pipeline_with_version(
    pool: &SqlitePool,
    pipeline: &NewPipeline,
    version: &NewPipelineVersion,
) -> Result<(Pipeline, PipelineVersion)> {
    if version.pipeline_id != pipeline.id {
        return Err(StoreError::InvalidArgument(format!(
            "the version names pipeline {} but the new pipeline is {}",
            version.pipeline_id, pipeline.id
        )));
    }
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    insert_pipeline(&mut tx, pipeline).await?;
    insert_version(&mut tx, version).await?;
    tx.commit().await?;
    Ok((
        get_pipeline(pool, pipeline.id).await?,
        get_pipeline_version(pool, version.id).await?,
    ))
}

async fn insert_pipeline(connection: &mut SqliteConnection, new: &NewPipeline) -> Result<()> {
    let display_name = if new.display_name.is_empty() {
        &new.name
    } else {
        &new.display_name
    };
    sqlx::query(
        "INSERT INTO pipelines (id, name, display_name, description, namespace, tags, created_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(new.id.to_string())
    .bind(&new.name)
    .bind(display_name)
    .bind(&new.description)
    .bind(&new.namespace)
    .bind(to_json(&new.tags)?)
    .bind(now_millis())
    .execute(connection)
    .await
    .map_err(|e| {
        conflict_or_backend(e, || {
            format!(
                "a pipeline named `{}` already exists in namespace `{}` (or the id {} is taken); choose another name",
                new.name, new.namespace, new.id
            )
        })
    })?;
    Ok(())
}

pub(super) async fn get_pipeline(pool: &SqlitePool, id: PipelineId) -> Result<Pipeline> {
    let row = sqlx::query("SELECT * FROM pipelines WHERE id = ?")
        .bind(id.to_string())
        .fetch_optional(pool)
        .await?
        .ok_or_else(|| StoreError::not_found("pipeline", id))?;
    pipeline(&row)
}

pub(super) async fn get_pipeline_by_name(
    pool: &SqlitePool,
    namespace: &str,
    name: &str,
) -> Result<Pipeline> {
    let row = sqlx::query("SELECT * FROM pipelines WHERE namespace = ? AND name = ?")
        .bind(namespace)
        .bind(name)
        .fetch_optional(pool)
        .await?
        .ok_or_else(|| match namespace {
            "" => StoreError::not_found("pipeline", name),
            _ => StoreError::not_found("pipeline", format!("{namespace}/{name}")),
        })?;
    pipeline(&row)
}

pub(super) async fn list_pipelines(pool: &SqlitePool, query: &ListQuery) -> Result<Page<Pipeline>> {
    list_page(pool, &PIPELINES, None, query, pipeline).await
}

pub(super) async fn update_pipeline(
    pool: &SqlitePool,
    id: PipelineId,
    update: &PipelineUpdate,
) -> Result<Pipeline> {
    update_names(pool, "pipelines", "pipeline", &id.to_string(), update).await?;
    get_pipeline(pool, id).await
}

/// Pipelines and versions share the editable fields: display name, description, tags.
async fn update_names(
    pool: &SqlitePool,
    table: &'static str,
    kind: &'static str,
    id: &str,
    update: &PipelineUpdate,
) -> Result<()> {
    let sql = format!(
        "UPDATE {table} SET display_name = COALESCE(?, display_name), \
         description = COALESCE(?, description), tags = COALESCE(?, tags) WHERE id = ?"
    );
    let updated = sqlx::query(&sql)
        .bind(&update.display_name)
        .bind(&update.description)
        .bind(update.tags.as_ref().map(to_json).transpose()?)
        .bind(id)
        .execute(pool)
        .await?;
    if updated.rows_affected() == 0 {
        return Err(StoreError::not_found(kind, id));
    }
    Ok(())
}

pub(super) async fn delete_pipeline(
    pool: &SqlitePool,
    id: PipelineId,
    cascade: bool,
) -> Result<()> {
    let key = id.to_string();
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    let versions: Option<i64> = sqlx::query_scalar(
        "SELECT (SELECT count(*) FROM pipeline_versions WHERE pipeline_id = pipelines.id) \
         FROM pipelines WHERE id = ?",
    )
    .bind(&key)
    .fetch_optional(&mut *tx)
    .await?;
    let versions = versions.ok_or_else(|| StoreError::not_found("pipeline", id))?;
    if versions > 0 && !cascade {
        return Err(StoreError::FailedPrecondition(format!(
            "pipeline {id} still has {versions} version(s); delete them first, or delete with cascade"
        )));
    }
    // Versions go with it through ON DELETE CASCADE.
    sqlx::query("DELETE FROM pipelines WHERE id = ?")
        .bind(&key)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

pub(super) async fn create_pipeline_version(
    pool: &SqlitePool,
    new: &NewPipelineVersion,
) -> Result<PipelineVersion> {
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    ensure_pipeline_exists(&mut tx, new.pipeline_id).await?;
    insert_version(&mut tx, new).await?;
    tx.commit().await?;
    get_pipeline_version(pool, new.id).await
}

async fn ensure_pipeline_exists(connection: &mut SqliteConnection, id: PipelineId) -> Result<()> {
    let exists: Option<i64> = sqlx::query_scalar("SELECT 1 FROM pipelines WHERE id = ?")
        .bind(id.to_string())
        .fetch_optional(connection)
        .await?;
    exists
        .map(|_| ())
        .ok_or_else(|| StoreError::not_found("pipeline", id))
}

async fn insert_version(connection: &mut SqliteConnection, new: &NewPipelineVersion) -> Result<()> {
    let display_name = if new.display_name.is_empty() {
        &new.name
    } else {
        &new.display_name
    };
    sqlx::query(
        "INSERT INTO pipeline_versions (id, pipeline_id, name, display_name, description, package_url, \
         code_source_url, tags, created_at, pipeline_spec) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(new.id.to_string())
    .bind(new.pipeline_id.to_string())
    .bind(&new.name)
    .bind(display_name)
    .bind(&new.description)
    .bind(&new.package_url)
    .bind(&new.code_source_url)
    .bind(to_json(&new.tags)?)
    .bind(now_millis())
    .bind(to_json(&new.pipeline_spec)?)
    .execute(connection)
    .await
    .map_err(|e| {
        conflict_or_backend(e, || {
            format!(
                "pipeline {} already has a version named `{}` (or the id {} is taken); choose another name",
                new.pipeline_id, new.name, new.id
            )
        })
    })?;
    Ok(())
}

pub(super) async fn get_pipeline_version(
    pool: &SqlitePool,
    id: PipelineVersionId,
) -> Result<PipelineVersion> {
    let row = sqlx::query("SELECT * FROM pipeline_versions WHERE id = ?")
        .bind(id.to_string())
        .fetch_optional(pool)
        .await?
        .ok_or_else(|| StoreError::not_found("pipeline version", id))?;
    version(&row)
}

pub(super) async fn list_pipeline_versions(
    pool: &SqlitePool,
    pipeline_id: PipelineId,
    query: &ListQuery,
) -> Result<Page<PipelineVersion>> {
    get_pipeline(pool, pipeline_id).await?;
    let key = pipeline_id.to_string();
    list_page(
        pool,
        &PIPELINE_VERSIONS,
        Some(("pipeline_id", &key)),
        query,
        version,
    )
    .await
}

pub(super) async fn latest_pipeline_version(
    pool: &SqlitePool,
    pipeline_id: PipelineId,
) -> Result<Option<PipelineVersion>> {
    get_pipeline(pool, pipeline_id).await?;
    let row = sqlx::query(
        "SELECT * FROM pipeline_versions WHERE pipeline_id = ? ORDER BY created_at DESC, id DESC LIMIT 1",
    )
    .bind(pipeline_id.to_string())
    .fetch_optional(pool)
    .await?;
    row.as_ref().map(version).transpose()
}

pub(super) async fn update_pipeline_version(
    pool: &SqlitePool,
    id: PipelineVersionId,
    update: &PipelineVersionUpdate,
) -> Result<PipelineVersion> {
    update_names(
        pool,
        "pipeline_versions",
        "pipeline version",
        &id.to_string(),
        update,
    )
    .await?;
    get_pipeline_version(pool, id).await
}

pub(super) async fn delete_pipeline_version(
    pool: &SqlitePool,
    id: PipelineVersionId,
) -> Result<()> {
    let deleted = sqlx::query("DELETE FROM pipeline_versions WHERE id = ?")
        .bind(id.to_string())
        .execute(pool)
        .await?;
    if deleted.rows_affected() == 0 {
        return Err(StoreError::not_found("pipeline version", id));
    }
    Ok(())
}

fn pipeline(row: &SqliteRow) -> Result<Pipeline> {
    Ok(Pipeline {
        id: parsed(row, "id")?,
        name: row.try_get("name")?,
        display_name: row.try_get("display_name")?,
        description: row.try_get("description")?,
        namespace: row.try_get("namespace")?,
        tags: json(row, "tags")?,
        created_at: time(row.try_get("created_at")?),
    })
}

fn version(row: &SqliteRow) -> Result<PipelineVersion> {
    Ok(PipelineVersion {
        id: parsed(row, "id")?,
        pipeline_id: parsed(row, "pipeline_id")?,
        name: row.try_get("name")?,
        display_name: row.try_get("display_name")?,
        description: row.try_get("description")?,
        pipeline_spec: json(row, "pipeline_spec")?,
        package_url: row.try_get("package_url")?,
        code_source_url: row.try_get("code_source_url")?,
        tags: json(row, "tags")?,
        created_at: time(row.try_get("created_at")?),
    })
}
