//! The task engine: tasks keyed by ID, run concurrently, recorded durably, resumed after
//! a crash, cancellable, with bounded history.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use futures::FutureExt;
use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::metrics::{Metrics, TypeLabel, TypeStatusLabel};
use crate::settings::Settings;
use crate::store::{Status, Store, StoreError, TaskRecord};
use crate::tasks::{Handler, TaskContext, TaskError, registry};

/// What a submission did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Submitted {
    /// A new task started.
    Started,
    /// A failed task started again (`run` + 1).
    Rerun,
    /// The ID is already running or completed: nothing happened.
    Existing(Status),
}

#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    #[error("type is required")]
    TypeRequired,
    #[error("unknown task type: {0}")]
    UnknownType(String),
    #[error("task ID must be a valid UUID: {0:?}")]
    InvalidId(String),
    #[error("params must be a JSON object")]
    ParamsNotObject,
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
    handlers: HashMap<&'static str, Handler>,
    settings: Arc<Settings>,
    http: reqwest::Client,
    root: CancellationToken,
    /// Guards submission, deletion and the final write of a run, so that one ID never has
    /// two runs at once and a deleted task's result is never written back.
    active: Mutex<HashMap<String, Active>>,
    generation: AtomicU64,
    ready: AtomicBool,
    pub metrics: Metrics,
    tracker: TaskTracker,
}

impl Engine {
    /// Builds the engine and resumes every task left running by a previous process.
    pub fn start(store: Store, settings: Arc<Settings>, root: CancellationToken) -> Result<Arc<Engine>, StoreError> {
        let ready = store.state(READY_KEY)?.as_deref() == Some("true");
        let engine = Arc::new(Engine {
            store,
            handlers: registry(),
            settings,
            http: reqwest::Client::builder().timeout(std::time::Duration::from_secs(10)).build().expect("HTTP client"),
            root,
            active: Mutex::new(HashMap::new()),
            generation: AtomicU64::new(0),
            ready: AtomicBool::new(ready),
            metrics: Metrics::new(),
            tracker: TaskTracker::new(),
        });
        for record in engine.store.running()? {
            match engine.handlers.get(record.task_type.as_str()) {
                Some(_) => {
                    tracing::info!(id = %record.id, r#type = %record.task_type, run = record.run, "resuming task");
                    let mut active = engine.lock();
                    engine.launch(&mut active, record);
                }
                None => engine.store.put(&TaskRecord {
                    status: Status::Failed,
                    error: "no handler registered for task type".into(),
                    completed_at: Some(now()),
                    ..record
                })?,
            }
        }
        Ok(engine)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Active>> {
        self.active.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::SeqCst)
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub(crate) fn settings_ref(&self) -> &Settings {
        &self.settings
    }

    /// Submits a task. Submitting an ID again is idempotent: a running or completed task
    /// is left alone; a failed one runs again with the new parameters.
    pub fn submit(
        self: &Arc<Self>,
        id: Option<String>,
        task_type: &str,
        params: Option<Value>,
    ) -> Result<(String, Submitted), SubmitError> {
        if task_type.is_empty() {
            return Err(SubmitError::TypeRequired);
        }
        if !self.handlers.contains_key(task_type) {
            return Err(SubmitError::UnknownType(task_type.to_string()));
        }
        if params.as_ref().is_some_and(|p| !p.is_object() && !p.is_null()) {
            return Err(SubmitError::ParamsNotObject);
        }
        let id = match id.filter(|i| !i.is_empty()) {
            Some(i) => {
                uuid::Uuid::parse_str(&i).map_err(|_| SubmitError::InvalidId(i.clone()))?;
                i
            }
            None => uuid::Uuid::new_v4().to_string(),
        };
        let mut active = self.lock();
        let (run, outcome) = match self.store.get(&id)? {
            Some(r) if r.status != Status::Failed => {
                return Ok((id, Submitted::Existing(r.status)));
            }
            Some(r) => (r.run + 1, Submitted::Rerun),
            None => (1, Submitted::Started),
        };
        let record = TaskRecord {
            id: id.clone(),
            task_type: task_type.to_string(),
            status: Status::Running,
            run,
            params: params.filter(|p| p.as_object().is_some_and(|o| !o.is_empty())),
            error: String::new(),
            submitted_at: now(),
            completed_at: None,
        };
        self.store.put(&record)?;
        self.metrics.submissions.get_or_create(&TypeLabel { r#type: task_type.to_string() }).inc();
        self.launch(&mut active, record);
        Ok((id, outcome))
    }

    /// Starts a run; the caller holds the lock.
    fn launch(self: &Arc<Self>, active: &mut HashMap<String, Active>, record: TaskRecord) {
        let generation = self.generation.fetch_add(1, Ordering::SeqCst);
        let cancel = self.root.child_token();
        active.insert(record.id.clone(), Active { generation, cancel: cancel.clone() });
        let handler = self.handlers[record.task_type.as_str()].clone();
        let task: &'static str =
            self.handlers.get_key_value(record.task_type.as_str()).map(|(k, _)| *k).expect("checked");
        let ctx =
            TaskContext { task, settings: self.settings.clone(), http: self.http.clone(), cancel: cancel.clone() };
        let engine = self.clone();
        self.tracker.spawn(async move {
            let started = Instant::now();
            let params = record.params.clone().unwrap_or(Value::Null);
            // A panicking handler fails its task instead of leaving it `running` forever.
            let run = std::panic::AssertUnwindSafe(handler(ctx, params)).catch_unwind();
            let result = tokio::select! {
                r = run => r.unwrap_or_else(|panic| {
                    let what = panic.downcast_ref::<String>().map(String::as_str)
                        .or_else(|| panic.downcast_ref::<&str>().copied())
                        .unwrap_or("unknown panic");
                    Err(TaskError::new(task, "internal error", format!("the handler panicked: {what}")))
                }),
                _ = cancel.cancelled() => Err(TaskError::new(task, "cancelled", "the task was cancelled")),
            };
            engine.finish(record, generation, result, started.elapsed().as_secs_f64());
        });
    }

    fn finish(&self, record: TaskRecord, generation: u64, result: Result<(), TaskError>, seconds: f64) {
        let mut active = self.lock();
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
            status: if ok { Status::Completed } else { Status::Failed },
            error,
            completed_at: Some(now()),
            ..record
        };
        if ok && done.task_type == "mark-ready" {
            if let Err(e) = self.store.set_state(READY_KEY, "true") {
                tracing::error!(error = %e, "cannot persist readiness");
            }
            self.ready.store(true, Ordering::SeqCst);
        }
        if let Err(e) = self.store.put(&done) {
            tracing::error!(id = %done.id, error = %e, "cannot record the task result");
        }
        if let Err(e) = self.store.prune(self.settings.history) {
            tracing::warn!(error = %e, "cannot prune task history");
        }
    }

    /// Deletes a task record, cancelling the run if it is active. False if unknown.
    pub fn delete(&self, id: &str) -> Result<bool, StoreError> {
        let mut active = self.lock();
        if let Some(a) = active.remove(id) {
            a.cancel.cancel();
        }
        self.store.delete(id)
    }

    /// Waits for every run to wind down after the root token was cancelled.
    pub async fn drain(&self, timeout: std::time::Duration) {
        self.tracker.close();
        let _ = tokio::time::timeout(timeout, self.tracker.wait()).await;
    }
}
