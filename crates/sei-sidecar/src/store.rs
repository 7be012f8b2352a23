//! The durable task store: SQLite at `<home>/sidecar.db`, schema-compatible with the
//! reference sidecar's (`task_results`, `PRAGMA user_version` 3), plus one table of ours
//! for state that must survive restarts (readiness).

use std::path::Path;
use std::sync::Mutex;

use rusqlite::{Connection, OptionalExtension, params};
use serde_json::Value;

/// Lifecycle of a task record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Running,
    Completed,
    Failed,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Running => "running",
            Status::Completed => "completed",
            Status::Failed => "failed",
        }
    }

    fn parse(s: &str) -> Status {
        match s {
            "completed" => Status::Completed,
            "failed" => Status::Failed,
            _ => Status::Running,
        }
    }
}

/// One task record.
#[derive(Clone, Debug, PartialEq)]
pub struct TaskRecord {
    pub id: String,
    pub task_type: String,
    pub status: Status,
    pub run: i64,
    pub params: Option<Value>,
    pub error: String,
    /// RFC 3339 with nanoseconds, UTC.
    pub submitted_at: String,
    pub completed_at: Option<String>,
}

#[derive(Debug, thiserror::Error)]
#[error("task store: {0}")]
pub struct StoreError(#[from] rusqlite::Error);

/// The schema version written by the reference; ours adds version 4.
const REFERENCE_VERSION: i64 = 3;
const VERSION: i64 = 4;

pub struct Store {
    conn: Mutex<Connection>,
}

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
        Ok(Store { conn: Mutex::new(conn) })
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Liveness: a trivial query.
    pub fn ping(&self) -> Result<(), StoreError> {
        self.conn().query_row("SELECT 1", [], |_| Ok(()))?;
        Ok(())
    }

    pub fn put(&self, r: &TaskRecord) -> Result<(), StoreError> {
        let params = r.params.as_ref().map(Value::to_string).unwrap_or_else(|| "null".into());
        self.conn().execute(
            "INSERT OR REPLACE INTO task_results (id, type, status, params, error, submitted_at, completed_at, run)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![r.id, r.task_type, r.status.as_str(), params, r.error, r.submitted_at, r.completed_at, r.run],
        )?;
        Ok(())
    }

    fn row(row: &rusqlite::Row<'_>) -> rusqlite::Result<TaskRecord> {
        let params: Option<String> = row.get(3)?;
        Ok(TaskRecord {
            id: row.get(0)?,
            task_type: row.get(1)?,
            status: Status::parse(&row.get::<_, String>(2)?),
            params: params.and_then(|p| serde_json::from_str(&p).ok()).filter(|v: &Value| !v.is_null()),
            error: row.get(4)?,
            submitted_at: row.get(5)?,
            completed_at: row.get(6)?,
            run: row.get(7)?,
        })
    }

    const COLUMNS: &'static str = "id, type, status, params, error, submitted_at, completed_at, run";

    pub fn get(&self, id: &str) -> Result<Option<TaskRecord>, StoreError> {
        let sql = format!("SELECT {} FROM task_results WHERE id = ?1", Self::COLUMNS);
        Ok(self.conn().query_row(&sql, [id], Self::row).optional()?)
    }

    /// Newest first, at most `limit`.
    pub fn list(&self, limit: usize) -> Result<Vec<TaskRecord>, StoreError> {
        let sql = format!("SELECT {} FROM task_results ORDER BY submitted_at DESC LIMIT ?1", Self::COLUMNS);
        let conn = self.conn();
        let mut stmt = conn.prepare(&sql)?;
        let rows = stmt.query_map([limit as i64], Self::row)?.collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    pub fn running(&self) -> Result<Vec<TaskRecord>, StoreError> {
        let sql = format!("SELECT {} FROM task_results WHERE status = 'running'", Self::COLUMNS);
        let conn = self.conn();
        let mut stmt = conn.prepare(&sql)?;
        let rows = stmt.query_map([], Self::row)?.collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    /// True if a row was deleted.
    pub fn delete(&self, id: &str) -> Result<bool, StoreError> {
        Ok(self.conn().execute("DELETE FROM task_results WHERE id = ?1", [id])? > 0)
    }

    /// Keeps the newest `keep` finished records; running ones are never pruned.
    pub fn prune(&self, keep: usize) -> Result<usize, StoreError> {
        Ok(self.conn().execute(
            "DELETE FROM task_results WHERE status != 'running' AND id NOT IN (
                 SELECT id FROM task_results WHERE status != 'running' ORDER BY submitted_at DESC LIMIT ?1)",
            [keep as i64],
        )?)
    }

    pub fn state(&self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(self.conn().query_row("SELECT value FROM sidecar_state WHERE key = ?1", [key], |r| r.get(0)).optional()?)
    }

    pub fn set_state(&self, key: &str, value: &str) -> Result<(), StoreError> {
        self.conn().execute("INSERT OR REPLACE INTO sidecar_state (key, value) VALUES (?1, ?2)", [key, value])?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_store_of_the_reference_at_schema_2_is_migrated() {
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
        let r = store.get("a").unwrap().unwrap();
        assert_eq!((r.run, r.status), (1, Status::Completed));
        store.set_state("ready", "true").unwrap();
        drop(store);
        let again = Store::open(&path).unwrap();
        assert_eq!(again.state("ready").unwrap().as_deref(), Some("true"));
    }

    #[test]
    fn pruning_keeps_the_newest_finished_and_every_running_task() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("s.db")).unwrap();
        for i in 0..5 {
            let status = if i == 0 { Status::Running } else { Status::Completed };
            store
                .put(&TaskRecord {
                    id: format!("t{i}"),
                    task_type: "mark-ready".into(),
                    status,
                    run: 1,
                    params: None,
                    error: String::new(),
                    submitted_at: format!("2026-01-01T00:00:0{i}Z"),
                    completed_at: None,
                })
                .unwrap();
        }
        assert_eq!(store.prune(2).unwrap(), 2);
        let ids: Vec<String> = store.list(10).unwrap().into_iter().map(|r| r.id).collect();
        assert_eq!(ids, ["t4", "t3", "t0"]);
    }
}
