//! The durable task store: SQLite at `<home>/sidecar.db`, schema-compatible with the
//! reference sidecar's (`task_results`, `PRAGMA user_version` 3), plus one table of ours
//! for state that must survive restarts (readiness).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
use sei_tasks::{TaskResult, TaskStatus};
use serde_json::Value;

fn parse_status(s: &str) -> TaskStatus {
    match s {
        "completed" => TaskStatus::Completed,
        "failed" => TaskStatus::Failed,
        _ => TaskStatus::Running,
    }
}

/// One task record.
#[derive(Clone, Debug, PartialEq)]
pub struct TaskRecord {
    pub id: String,
    pub task_type: String,
    pub status: TaskStatus,
    pub run: i64,
    pub params: Option<Value>,
    pub error: String,
    /// RFC 3339 with nanoseconds, UTC.
    pub submitted_at: String,
    pub completed_at: Option<String>,
}

impl From<TaskRecord> for TaskResult {
    fn from(r: TaskRecord) -> Self {
        TaskResult {
            id: r.id,
            task_type: r.task_type,
            status: r.status,
            run: r.run,
            params: r.params,
            error: r.error,
            submitted_at: r.submitted_at,
            completed_at: r.completed_at,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("task store: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("task store: {0}")]
    Worker(String),
}

/// The schema version written by the reference; ours adds version 4.
const REFERENCE_VERSION: i64 = 3;
const VERSION: i64 = 4;

/// The store. Every call runs on the blocking thread pool (SQLite blocks, up to its 5 s
/// busy timeout, and fsyncs), never on the async runtime's threads.
#[derive(Clone)]
pub struct Store {
    conn: Arc<Mutex<Connection>>,
    path: PathBuf,
}

/// How long the liveness probe waits for a lock held by another connection.
const PROBE_BUSY_TIMEOUT: Duration = Duration::from_millis(500);

impl Store {
    /// Opens (creating if needed) the store and brings its schema up to date. Databases
    /// written by the reference sidecar (user_version 3) are migrated in place.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let conn = Connection::open(path)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
        if version < REFERENCE_VERSION {
            // A fresh store gets the reference's final schema directly.
            conn.execute_batch(
                "BEGIN;
                 CREATE TABLE IF NOT EXISTS task_results (
                     id TEXT PRIMARY KEY,
                     type TEXT NOT NULL,
                     status TEXT NOT NULL,
                     params TEXT,
                     error TEXT NOT NULL DEFAULT '',
                     submitted_at TEXT NOT NULL,
                     completed_at TEXT,
                     run INTEGER NOT NULL DEFAULT 1
                 );
                 CREATE INDEX IF NOT EXISTS idx_task_results_submitted_at ON task_results(submitted_at DESC);
                 PRAGMA user_version = 3;
                 COMMIT;",
            )?;
        }
        // A store of the reference at schema 1 or 2 lacks `run` (3 added it).
        let has_run = conn.prepare("SELECT run FROM task_results LIMIT 0").is_ok();
        if !has_run {
            conn.execute_batch(
                "ALTER TABLE task_results ADD COLUMN run INTEGER NOT NULL DEFAULT 1; PRAGMA user_version = 3;",
            )?;
        }
        if version < VERSION {
            conn.execute_batch(
                "BEGIN;
                 CREATE TABLE IF NOT EXISTS sidecar_state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
                 PRAGMA user_version = 4;
                 COMMIT;",
            )?;
        }
        Ok(Store { conn: Arc::new(Mutex::new(conn)), path: path.to_path_buf() })
    }

    /// Runs `f` on the store's connection, on the blocking pool.
    async fn call<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        let conn = self.conn.clone();
        let job = tokio::task::spawn_blocking(move || {
            let conn = conn.lock().unwrap_or_else(|p| p.into_inner());
            f(&conn)
        });
        Ok(job.await.map_err(|e| StoreError::Worker(e.to_string()))??)
    }

    /// Liveness: reads the schema through a connection of its own, opened for the probe,
    /// so that it never waits behind the store's queries (a WAL reader is not blocked by a
    /// writer) and notices a file or volume that went away or is no database any more.
    pub async fn probe(&self) -> Result<(), StoreError> {
        let path = self.path.clone();
        let job = tokio::task::spawn_blocking(move || -> rusqlite::Result<()> {
            let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
            let conn = Connection::open_with_flags(&path, flags)?;
            conn.busy_timeout(PROBE_BUSY_TIMEOUT)?;
            conn.query_row("SELECT count(*) FROM sqlite_master", [], |_| Ok(()))
        });
        Ok(job.await.map_err(|e| StoreError::Worker(e.to_string()))??)
    }

    pub async fn put(&self, r: TaskRecord) -> Result<(), StoreError> {
        self.call(move |conn| {
            let params = r.params.as_ref().map(Value::to_string).unwrap_or_else(|| "null".into());
            conn.execute(
                "INSERT OR REPLACE INTO task_results (id, type, status, params, error, submitted_at, completed_at, run)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![r.id, r.task_type, r.status.as_str(), params, r.error, r.submitted_at, r.completed_at, r.run],
            )
        })
        .await?;
        Ok(())
    }

    fn row(row: &rusqlite::Row<'_>) -> rusqlite::Result<TaskRecord> {
        let params: Option<String> = row.get(3)?;
        Ok(TaskRecord {
            id: row.get(0)?,
            task_type: row.get(1)?,
            status: parse_status(&row.get::<_, String>(2)?),
            params: params.and_then(|p| serde_json::from_str(&p).ok()).filter(|v: &Value| !v.is_null()),
            error: row.get(4)?,
            submitted_at: row.get(5)?,
            completed_at: row.get(6)?,
            run: row.get(7)?,
        })
    }

    const COLUMNS: &'static str = "id, type, status, params, error, submitted_at, completed_at, run";

    pub async fn get(&self, id: &str) -> Result<Option<TaskRecord>, StoreError> {
        let id = id.to_string();
        self.call(move |conn| {
            let sql = format!("SELECT {} FROM task_results WHERE id = ?1", Self::COLUMNS);
            conn.query_row(&sql, [id], Self::row).optional()
        })
        .await
    }

    /// Newest first, at most `limit`.
    pub async fn list(&self, limit: usize) -> Result<Vec<TaskRecord>, StoreError> {
        self.call(move |conn| {
            let sql = format!("SELECT {} FROM task_results ORDER BY submitted_at DESC LIMIT ?1", Self::COLUMNS);
            let mut stmt = conn.prepare(&sql)?;
            stmt.query_map([limit as i64], Self::row)?.collect()
        })
        .await
    }

    pub async fn running(&self) -> Result<Vec<TaskRecord>, StoreError> {
        self.call(|conn| {
            let sql = format!("SELECT {} FROM task_results WHERE status = 'running'", Self::COLUMNS);
            let mut stmt = conn.prepare(&sql)?;
            stmt.query_map([], Self::row)?.collect()
        })
        .await
    }

    /// True if a row was deleted.
    pub async fn delete(&self, id: &str) -> Result<bool, StoreError> {
        let id = id.to_string();
        self.call(move |conn| Ok(conn.execute("DELETE FROM task_results WHERE id = ?1", [id])? > 0)).await
    }

    /// Keeps the newest `keep` finished records; running ones are never pruned.
    pub async fn prune(&self, keep: usize) -> Result<usize, StoreError> {
        self.call(move |conn| {
            conn.execute(
                "DELETE FROM task_results WHERE status != 'running' AND id NOT IN (
                     SELECT id FROM task_results WHERE status != 'running' ORDER BY submitted_at DESC LIMIT ?1)",
                [keep as i64],
            )
        })
        .await
    }

    pub async fn state(&self, key: &str) -> Result<Option<String>, StoreError> {
        let key = key.to_string();
        self.call(move |conn| {
            conn.query_row("SELECT value FROM sidecar_state WHERE key = ?1", [key], |r| r.get(0)).optional()
        })
        .await
    }

    pub async fn set_state(&self, key: &str, value: &str) -> Result<(), StoreError> {
        let (key, value) = (key.to_string(), value.to_string());
        self.call(move |conn| {
            conn.execute("INSERT OR REPLACE INTO sidecar_state (key, value) VALUES (?1, ?2)", [key, value])
        })
        .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_store_of_the_reference_at_schema_2_is_migrated() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sidecar.db");
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(
                "CREATE TABLE task_results (id TEXT PRIMARY KEY, type TEXT NOT NULL, status TEXT NOT NULL, params TEXT,
                     error TEXT NOT NULL DEFAULT '', submitted_at TEXT NOT NULL, completed_at TEXT);
                 INSERT INTO task_results VALUES ('a', 'mark-ready', 'completed', 'null', '', '2026-01-01T00:00:00Z', NULL);
                 PRAGMA user_version = 2;",
            )
            .unwrap();
        }
        let store = Store::open(&path).unwrap();
        let r = store.get("a").await.unwrap().unwrap();
        assert_eq!((r.run, r.status), (1, TaskStatus::Completed));
        store.set_state("ready", "true").await.unwrap();
        drop(store);
        let again = Store::open(&path).unwrap();
        assert_eq!(again.state("ready").await.unwrap().as_deref(), Some("true"));
    }

    #[tokio::test]
    async fn pruning_keeps_the_newest_finished_and_every_running_task() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("s.db")).unwrap();
        for i in 0..5 {
            let status = if i == 0 { TaskStatus::Running } else { TaskStatus::Completed };
            store
                .put(TaskRecord {
                    id: format!("t{i}"),
                    task_type: "mark-ready".into(),
                    status,
                    run: 1,
                    params: None,
                    error: String::new(),
                    submitted_at: format!("2026-01-01T00:00:0{i}Z"),
                    completed_at: None,
                })
                .await
                .unwrap();
        }
        assert_eq!(store.prune(2).await.unwrap(), 2);
        let ids: Vec<String> = store.list(10).await.unwrap().into_iter().map(|r| r.id).collect();
        assert_eq!(ids, ["t4", "t3", "t0"]);
    }
}
