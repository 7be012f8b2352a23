//! The plan executor (§4.3 of the controller spec): advances a plan task by task, in
//! memory; the caller persists the result with one status write.

use std::future::Future;
use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use sei_api::common::NodePhase;
use sei_api::plan::{FailedTaskInfo, PlanPhase, PlannedTask, TaskPlan, TaskStatus};

/// A failed `execute`: transient ones are retried in 5 s without using a retry,
/// terminal ones fail the plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecError {
    pub message: String,
    pub terminal: bool,
}

impl ExecError {
    pub fn transient(message: impl Into<String>) -> Self {
        ExecError { message: message.into(), terminal: false }
    }

    pub fn terminal(message: impl Into<String>) -> Self {
        ExecError { message: message.into(), terminal: true }
    }
}

/// Where a task stands after `execute`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskState {
    Running,
    Complete,
    Failed(String),
}

/// Carries out tasks. `execute` runs on every reconcile until the task completes, so it
/// must be idempotent.
pub trait TaskRunner {
    fn execute(&mut self, task: &PlannedTask) -> impl Future<Output = Result<(), ExecError>> + Send;
    fn status(&mut self, task: &PlannedTask) -> impl Future<Output = TaskState> + Send;
}

/// What the reconcile does next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Requeue {
    /// Nothing more to do until something changes.
    Never,
    After(Duration),
}

/// The result of one executor call.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub requeue: Requeue,
    /// The phase the node takes (the plan's target or failed phase), if it changes now.
    pub phase: Option<NodePhase>,
    /// A transient error of this step, for logging.
    pub transient: Option<String>,
}

pub const POLL: Duration = Duration::from_secs(5);
pub const IMMEDIATELY: Duration = Duration::from_millis(1);

/// 10 s, 20 s, then 30 s.
pub fn backoff(retry: i64) -> Duration {
    let n = retry.clamp(0, 5) as u32;
    Duration::from_secs(5 * 2u64.pow(n)).min(Duration::from_secs(30))
}

fn fail(plan: &mut TaskPlan, index: usize, message: String) -> Step {
    let task = &mut plan.tasks[index];
    task.status = TaskStatus::Failed;
    task.error = Some(message.clone());
    plan.failed_task_detail = Some(FailedTaskInfo {
        task_type: task.task_type.clone(),
        id: task.id.clone(),
        error: message,
        retry_count: task.retry_count.unwrap_or(0),
        max_retries: task.max_retries.unwrap_or(0),
    });
    plan.phase = PlanPhase::Failed;
    plan.failed_task_index = Some(index as i64);
    Step { requeue: Requeue::Never, phase: plan.failed_phase, transient: None }
}

/// Advances `plan` as far as it can go now. Synchronous tasks complete in the same call,
/// so several can finish in one reconcile.
pub async fn execute<R: TaskRunner>(plan: &mut TaskPlan, runner: &mut R, now: Time) -> Step {
    if plan.phase != PlanPhase::Active {
        return Step { requeue: Requeue::Never, phase: None, transient: None };
    }
    loop {
        let Some(index) = plan.tasks.iter().position(|t| t.status != TaskStatus::Complete) else {
            plan.phase = PlanPhase::Complete;
            return Step { requeue: Requeue::After(IMMEDIATELY), phase: plan.target_phase, transient: None };
        };
        if plan.tasks[index].status == TaskStatus::Failed {
            // A failed task in an active plan (written by another operator): fail the plan.
            let message = plan.tasks[index].error.clone().unwrap_or_else(|| "unknown error".into());
            return fail(plan, index, message);
        }
        match runner.execute(&plan.tasks[index]).await {
            Err(e) if e.terminal => return fail(plan, index, e.message),
            Err(e) => return Step { requeue: Requeue::After(POLL), phase: None, transient: Some(e.message) },
            Ok(()) => {
                let task = &mut plan.tasks[index];
                if task.submitted_at.is_none() {
                    task.submitted_at = Some(now.clone());
                }
            }
        }
        match runner.status(&plan.tasks[index]).await {
            TaskState::Running => return Step { requeue: Requeue::After(POLL), phase: None, transient: None },
            TaskState::Complete => plan.tasks[index].status = TaskStatus::Complete,
            TaskState::Failed(message) => {
                let task = &mut plan.tasks[index];
                let (retries, max) = (task.retry_count.unwrap_or(0), task.max_retries.unwrap_or(0));
                if max > 0 && retries < max {
                    task.retry_count = Some(retries + 1);
                    task.status = TaskStatus::Pending;
                    task.error = None;
                    task.submitted_at = None;
                    return Step {
                        requeue: Requeue::After(backoff(retries + 1)),
                        phase: None,
                        transient: Some(message),
                    };
                }
                let message = if message.is_empty() { "unknown error".to_string() } else { message };
                return fail(plan, index, message);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use k8s_openapi::jiff::Timestamp;

    use super::*;
    use crate::plan::build_init_plan;

    /// Scripted outcomes per task type; everything else completes at once.
    #[derive(Default)]
    struct Script {
        exec: HashMap<&'static str, ExecError>,
        states: HashMap<&'static str, Vec<TaskState>>,
        executed: Vec<String>,
    }

    impl TaskRunner for Script {
        async fn execute(&mut self, task: &PlannedTask) -> Result<(), ExecError> {
            self.executed.push(task.task_type.clone());
            match self.exec.get(task.task_type.as_str()) {
                Some(e) => Err(e.clone()),
                None => Ok(()),
            }
        }
        async fn status(&mut self, task: &PlannedTask) -> TaskState {
            match self.states.get_mut(task.task_type.as_str()) {
                Some(v) if !v.is_empty() => v.remove(0),
                _ => TaskState::Complete,
            }
        }
    }

    fn plan() -> TaskPlan {
        let spec = serde_json::from_value(serde_json::json!({"chainId": "c", "image": "i", "fullNode": {}})).unwrap();
        let mut n = sei_api::SeiNode::new("n", spec);
        n.metadata.namespace = Some("ns".into());
        build_init_plan(&n, "p").unwrap()
    }

    fn now() -> Time {
        Time(Timestamp::from_second(1_700_000_000).unwrap())
    }

    fn block_on<F: Future>(f: F) -> F::Output {
        // The runner never awaits anything real: one poll is enough.
        let waker = std::task::Waker::noop();
        let mut cx = std::task::Context::from_waker(waker);
        let mut f = std::pin::pin!(f);
        match f.as_mut().poll(&mut cx) {
            std::task::Poll::Ready(v) => v,
            std::task::Poll::Pending => panic!("the scripted runner never blocks"),
        }
    }

    #[test]
    fn synchronous_tasks_finish_in_one_call_and_the_plan_completes() {
        let mut p = plan();
        let step = block_on(execute(&mut p, &mut Script::default(), now()));
        assert_eq!(p.phase, PlanPhase::Complete);
        assert_eq!(
            step,
            Step { requeue: Requeue::After(IMMEDIATELY), phase: Some(NodePhase::Running), transient: None }
        );
        assert!(p.tasks.iter().all(|t| t.submitted_at.is_some()));
    }

    #[test]
    fn a_running_task_stops_the_call_and_is_executed_again_next_time() {
        let mut p = plan();
        let mut s = Script::default();
        s.states.insert("config-apply", vec![TaskState::Running]);
        let step = block_on(execute(&mut p, &mut s, now()));
        assert_eq!(step.requeue, Requeue::After(POLL));
        let idx = p.tasks.iter().position(|t| t.task_type == "config-apply").unwrap();
        assert_eq!(p.tasks[idx].status, TaskStatus::Pending, "no Running status exists");
        let submitted = p.tasks[idx].submitted_at.clone();
        block_on(execute(&mut p, &mut s, Time(Timestamp::from_second(1_800_000_000).unwrap())));
        assert_eq!(p.tasks[idx].submitted_at, submitted, "the first submission time is kept");
        assert_eq!(s.executed.iter().filter(|t| *t == "config-apply").count(), 2, "re-executed (idempotent re-submit)");
        assert_eq!(p.phase, PlanPhase::Complete);
    }

    #[test]
    fn transient_errors_retry_without_using_retries_and_terminal_ones_fail_the_plan() {
        let mut p = plan();
        let mut s = Script::default();
        s.exec.insert("ensure-data-pvc", ExecError::transient("API unavailable"));
        let step = block_on(execute(&mut p, &mut s, now()));
        assert_eq!((step.requeue, step.transient.as_deref()), (Requeue::After(POLL), Some("API unavailable")));
        assert_eq!(p.phase, PlanPhase::Active);
        s.exec.insert("ensure-data-pvc", ExecError::terminal("PVC owned by someone else"));
        let step = block_on(execute(&mut p, &mut s, now()));
        assert_eq!((step.requeue, step.phase), (Requeue::Never, Some(NodePhase::Failed)));
        assert_eq!(p.phase, PlanPhase::Failed);
        assert_eq!(p.failed_task_index, Some(0));
        let detail = p.failed_task_detail.as_ref().unwrap();
        assert_eq!(
            (detail.task_type.as_str(), detail.error.as_str()),
            ("ensure-data-pvc", "PVC owned by someone else")
        );
        // A failed plan is left alone.
        assert_eq!(block_on(execute(&mut p, &mut Script::default(), now())).requeue, Requeue::Never);
    }

    #[test]
    fn failures_use_retries_with_backoff_then_fail() {
        let mut p = plan();
        let idx = p.tasks.iter().position(|t| t.task_type == "configure-genesis").unwrap();
        p.tasks[idx].max_retries = Some(2);
        let mut s = Script::default();
        s.states.insert("configure-genesis", vec![TaskState::Failed("not yet".into()); 3]);
        let first = block_on(execute(&mut p, &mut s, now()));
        assert_eq!(first.requeue, Requeue::After(Duration::from_secs(10)));
        assert_eq!((p.tasks[idx].retry_count, p.tasks[idx].status), (Some(1), TaskStatus::Pending));
        assert_eq!(block_on(execute(&mut p, &mut s, now())).requeue, Requeue::After(Duration::from_secs(20)));
        let last = block_on(execute(&mut p, &mut s, now()));
        assert_eq!((last.requeue, p.phase), (Requeue::Never, PlanPhase::Failed));
        assert_eq!(p.failed_task_detail.as_ref().unwrap().retry_count, 2);
    }

    #[test]
    fn backoff_values() {
        assert_eq!([1, 2, 3, 9].map(backoff), [10, 20, 30, 30].map(Duration::from_secs));
    }
}
