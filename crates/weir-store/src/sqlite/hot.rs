//! The connection of the per-step path (tasks and cache entries): one round trip to SQLite's
//! worker thread per store call where sqlx would take four or five.
//!
//! A write is one statement list, `BEGIN IMMEDIATE; ...; COMMIT`, sent in one piece instead of
//! sqlx's transaction (a BEGIN and a COMMIT of their own, each acknowledged). A list stopped
//! half-way (an error, or the caller's future dropped) would leave its transaction open on the
//! connection, so the connection is marked unsure while a list runs and rolled back before its
//! next use when the mark is still there. On a file, the path has a connection of its own: no
//! wait for a pooled one, no ping when it is given back, and a page cache that only this
//! connection's writes invalidate.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use sqlx::pool::PoolConnection;
use sqlx::query::Query;
use sqlx::sqlite::{SqliteArguments, SqliteConnectOptions, SqliteRow};
use sqlx::{Connection, Executor, Sqlite, SqliteConnection, SqlitePool};
use tokio::sync::{Mutex, MutexGuard};

use crate::Result;

pub(super) type SqliteQuery<'q> = Query<'q, Sqlite, SqliteArguments<'q>>;

#[derive(Debug)]
pub(super) enum Hot {
    /// A database file: a connection of its own.
    Own(Mutex<Own>),
    /// A private in-memory database: the pool's only connection (a second connection would be
    /// another database). `unsure` marks that one connection; the pool rolls it back before
    /// handing it out while the mark is there (`rollback_if_unsure`).
    Shared {
        pool: SqlitePool,
        unsure: Arc<AtomicBool>,
    },
}

#[derive(Debug)]
pub(super) struct Own {
    conn: SqliteConnection,
    unsure: bool,
}

impl Hot {
    pub(super) async fn own(options: &SqliteConnectOptions) -> Result<Self> {
        let conn = SqliteConnection::connect_with(options).await?;
        Ok(Hot::Own(Mutex::new(Own {
            conn,
            unsure: false,
        })))
    }

    /// Runs a statement list that begins and commits its own transaction, as one round trip;
    /// the rows it returns.
    pub(super) async fn transaction(&self, query: SqliteQuery<'_>) -> Result<Vec<SqliteRow>> {
        let mut conn = self.acquire().await?;
        conn.set_unsure(true);
        match query.fetch_all(conn.conn()).await {
            Ok(rows) => {
                conn.set_unsure(false);
                Ok(rows)
            }
            Err(error) => {
                rollback(conn.conn()).await;
                conn.set_unsure(false);
                Err(error.into())
            }
        }
    }

    /// One statement that needs no transaction of its own (a read).
    pub(super) async fn fetch_optional(&self, query: SqliteQuery<'_>) -> Result<Option<SqliteRow>> {
        let mut conn = self.acquire().await?;
        Ok(query.fetch_optional(conn.conn()).await?)
    }

    async fn acquire(&self) -> Result<Conn<'_>> {
        let mut conn = match self {
            Hot::Own(own) => Conn::Own(own.lock().await),
            Hot::Shared { pool, unsure } => Conn::Shared(pool.acquire().await?, unsure),
        };
        if conn.unsure() {
            rollback(conn.conn()).await;
            conn.set_unsure(false);
        }
        Ok(conn)
    }
}

/// For the in-memory pool's `before_acquire`: rolls back what a stopped statement list left.
pub(super) async fn rollback_if_unsure(conn: &mut SqliteConnection, unsure: &AtomicBool) {
    if unsure.swap(false, Ordering::AcqRel) {
        rollback(conn).await;
    }
}

/// Rolls back an open transaction, if any ("no transaction is active" is no error here).
async fn rollback(conn: &mut SqliteConnection) {
    let _ = conn.execute("ROLLBACK").await;
}

enum Conn<'a> {
    Own(MutexGuard<'a, Own>),
    Shared(PoolConnection<Sqlite>, &'a AtomicBool),
}

impl Conn<'_> {
    fn conn(&mut self) -> &mut SqliteConnection {
        match self {
            Conn::Own(own) => &mut own.conn,
            Conn::Shared(conn, _) => conn,
        }
    }

    fn unsure(&self) -> bool {
        match self {
            Conn::Own(own) => own.unsure,
            Conn::Shared(_, unsure) => unsure.load(Ordering::Acquire),
        }
    }

    fn set_unsure(&mut self, value: bool) {
        match self {
            Conn::Own(own) => own.unsure = value,
            Conn::Shared(_, unsure) => unsure.store(value, Ordering::Release),
        }
    }
}
