//! The task engine: tasks keyed by ID, run concurrently, recorded durably, resumed after
//! a crash, cancellable, with bounded history.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Instant;

use futures::FutureExt;
use sei_tasks::{Submission, Task, TaskRequest, TaskStatus, TaskType};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::metrics::{Metrics, TypeLabel, TypeStatusLabel};
use crate::settings::Settings;
use crate::store::{Store, StoreError, TaskRecord};
use crate::tasks::{TaskContext, TaskError};

#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    #[error("task ID must be a valid UUID: {0:?}")]
    InvalidId(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub(crate) fn now() -> String {
    OffsetDateTime::now_utc().format(&Rfc3339).expect("RFC 3339 always formats")
}

const READY_KEY: &str = "ready";

struct Active {
    generation: u64,
    cancel: CancellationToken,
}

pub struct Engine {
    store: Store,
    settings: Arc<Settings>,
    http: reqwest::Client,
    root: CancellationToken,
    /// Guards submission, deletion and the final write of a run, so that one ID never has
    /// two runs at once and a deleted task's result is never written back. Held across
    /// store calls, which run on the blocking pool.
    active: tokio::sync::Mutex<HashMap<String, Active>>,
    generation: AtomicU64,
    ready: AtomicBool,
    pub metrics: Metrics,
    tracker: TaskTracker,
}

impl Engine {
    /// Builds the engine and resumes every task left running by a previous process.
    pub async fn start(
        store: Store,
        settings: Arc<Settings>,
        root: CancellationToken,
    ) -> Result<Arc<Engine>, StoreError> {
        let ready = store.state(READY_KEY).await?.as_deref() == Some("true");
        let engine = Arc::new(Engine {
            store,
            settings,
            http: reqwest::Client::builder().timeout(std::time::Duration::from_secs(10)).build().expect("HTTP client"),
            root,
            active: tokio::sync::Mutex::new(HashMap::new()),
            generation: AtomicU64::new(0),
            ready: AtomicBool::new(ready),
            metrics: Metrics::new(),
            tracker: TaskTracker::new(),
        });
        let mut active = engine.active.lock().await;
        for record in engine.store.running().await? {
            // A record of a type this version does not run, or whose params it no longer
            // accepts (written by another version), fails instead of running half-understood.
            let resumable = match record.task_type.parse::<TaskType>() {
                Err(_) => Err("no handler registered for task type".to_string()),
                Ok(t) => Task::decode(t, record.params.clone()).map_err(|e| {
                    TaskError::new(
                        t.name(),
                        "resume",
                        format!("the stored params no longer decode: {e}; submit the task again"),
                    )
                    .to_string()
                }),
            };
            match resumable {
                Ok(task) => {
                    tracing::info!(id = %record.id, r#type = %record.task_type, run = record.run, "resuming task");
                    engine.launch(&mut active, record, task);
                }
                Err(error) => {
                    tracing::warn!(id = %record.id, r#type = %record.task_type, %error, "cannot resume task");
                    engine
                        .store
                        .put(TaskRecord { status: TaskStatus::Failed, error, completed_at: Some(now()), ..record })
                        .await?;
                }
            }
        }
        drop(active);
        Ok(engine)
    }

    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::SeqCst)
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// seid's sync state, from its RPC.
    pub async fn sync_info(&self, timeout: std::time::Duration) -> Result<crate::tasks::wait::SyncInfo, String> {
        crate::tasks::wait::sync_info(&self.http, &self.settings.node_rpc, timeout).await
    }

    pub(crate) fn settings_ref(&self) -> &Settings {
        &self.settings
    }

    /// Submits a task. Submitting an ID again is idempotent: a running or completed task
    /// is left alone; a failed one runs again with the new parameters.
    pub async fn submit(self: &Arc<Self>, request: TaskRequest) -> Result<(String, Submission), SubmitError> {
        let id = match request.id.filter(|i| !i.is_empty()) {
            Some(i) => {
                uuid::Uuid::parse_str(&i).map_err(|_| SubmitError::InvalidId(i.clone()))?;
                i
            }
            None => uuid::Uuid::new_v4().to_string(),
        };
        let task = request.task;
        let mut active = self.active.lock().await;
        let (run, outcome) = match self.store.get(&id).await? {
            Some(r) if r.status != TaskStatus::Failed => return Ok((id, Submission::Deduplicated)),
            Some(r) => (r.run + 1, Submission::Rerun),
            None => (1, Submission::Started),
        };
        let task_type = task.task_type().name();
        let record = TaskRecord {
            id: id.clone(),
            task_type: task_type.to_string(),
            status: TaskStatus::Running,
            run,
            params: task.params(),
            error: String::new(),
            submitted_at: now(),
            completed_at: None,
        };
        self.store.put(record.clone()).await?;
        self.metrics.submissions.get_or_create(&TypeLabel { r#type: task_type.to_string() }).inc();
        self.launch(&mut active, record, task);
        Ok((id, outcome))
    }

    /// Starts a run; the caller holds the lock.
    fn launch(self: &Arc<Self>, active: &mut HashMap<String, Active>, record: TaskRecord, task: Task) {
        let generation = self.generation.fetch_add(1, Ordering::SeqCst);
        let cancel = self.root.child_token();
        active.insert(record.id.clone(), Active { generation, cancel: cancel.clone() });
        let name = task.task_type().name();
        let ctx = TaskContext {
            task: name,
            settings: self.settings.clone(),
            http: self.http.clone(),
            cancel: cancel.clone(),
        };
        let engine = self.clone();
        self.tracker.spawn(async move {
            let started = Instant::now();
            // A panicking handler fails its task instead of leaving it `running` forever.
            let run = std::panic::AssertUnwindSafe(crate::tasks::run(ctx, task)).catch_unwind();
            let result = tokio::select! {
                r = run => r.unwrap_or_else(|panic| {
                    let what = panic.downcast_ref::<String>().map(String::as_str)
                        .or_else(|| panic.downcast_ref::<&str>().copied())
                        .unwrap_or("unknown panic");
                    Err(TaskError::new(name, "internal error", format!("the handler panicked: {what}")))
                }),
                _ = cancel.cancelled() => Err(TaskError::new(name, "cancelled", "the task was cancelled")),
            };
            engine.finish(record, generation, result, started.elapsed().as_secs_f64()).await;
        });
    }

    async fn finish(&self, record: TaskRecord, generation: u64, result: Result<(), TaskError>, seconds: f64) {
        let mut active = self.active.lock().await;
        if active.get(&record.id).map(|a| a.generation) != Some(generation) {
            return; // deleted (and cancelled) while running: its record stays gone
        }
        active.remove(&record.id);
        if self.root.is_cancelled() {
            // Shutting down: the record stays `running` and resumes on the next start.
            return;
        }
        let ok = result.is_ok();
        let status = if ok { "completed" } else { "failed" };
        let labels = TypeStatusLabel { r#type: record.task_type.clone(), status: status.into() };
        self.metrics.duration.get_or_create(&labels).observe(seconds);
        if !ok {
            self.metrics.failures.get_or_create(&TypeLabel { r#type: record.task_type.clone() }).inc();
        }
        let error = result.as_ref().err().map(ToString::to_string).unwrap_or_default();
        if let Err(e) = &result {
            tracing::warn!(id = %record.id, r#type = %record.task_type, error = %e, "task failed");
        }
        let done = TaskRecord {
            status: if ok { TaskStatus::Completed } else { TaskStatus::Failed },
            error,
            completed_at: Some(now()),
            ..record
        };
        if ok && done.task_type == TaskType::MarkReady.name() {
            if let Err(e) = self.store.set_state(READY_KEY, "true").await {
                tracing::error!(error = %e, "cannot persist readiness");
            }
            self.ready.store(true, Ordering::SeqCst);
        }
        let id = done.id.clone();
        if let Err(e) = self.store.put(done).await {
            tracing::error!(%id, error = %e, "cannot record the task result");
        }
        if let Err(e) = self.store.prune(self.settings.history).await {
            tracing::warn!(error = %e, "cannot prune task history");
        }
    }

    /// Deletes a task record, cancelling the run if it is active. False if unknown.
    pub async fn delete(&self, id: &str) -> Result<bool, StoreError> {
        let mut active = self.active.lock().await;
        if let Some(a) = active.remove(id) {
            a.cancel.cancel();
        }
        self.store.delete(id).await
    }

    /// Waits for every run to wind down after the root token was cancelled.
    pub async fn drain(&self, timeout: std::time::Duration) {
        self.tracker.close();
        let _ = tokio::time::timeout(timeout, self.tracker.wait()).await;
    }
}
