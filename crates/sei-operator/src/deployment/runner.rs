//! The group tasks of a SeiNodeDeployment plan (§6.4), carried out by the executor the
//! node plans use: roll-out tasks against the child SeiNodes, and the genesis ceremony
//! (its one sidecar task runs on the assembler node).

use std::sync::Arc;

use kube::ResourceExt;
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::runtime::reflector::ObjectRef;
use sei_api::common::NodePhase;
use sei_api::plan::{PlannedTask, TaskStatus as PlanTaskStatus};
use sei_api::{SeiNode, SeiNodeDeployment};
use sei_planner::executor::{ExecError, TaskRunner, TaskState};
use sei_planner::group::genesis;
use sei_planner::names;
use sei_planner::plan::sub_task_id;
use sei_planner::plan::task;
use sei_tasks::params::{AwaitAction, AwaitCondition, AwaitConditionParams};
use sei_tasks::{NodeStatus, StoredTask, Task, TaskRequest, TaskStatus, TaskType};
use serde_json::json;

use crate::context::Context;
use crate::node::token::sidecar_token;
use crate::sidecar::SidecarClient;

/// Carries out the controller-side group tasks.
pub struct GroupRunner<'a> {
    pub ctx: &'a Context,
    pub d: &'a SeiNodeDeployment,
    /// Set by `switch-traffic`: the revision the internal Service now selects, for the
    /// roll-out's status (written with the plan's progress).
    pub switched_to: Option<String>,
}

impl<'a> GroupRunner<'a> {
    pub fn new(ctx: &'a Context, d: &'a SeiNodeDeployment) -> Self {
        GroupRunner { ctx, d, switched_to: None }
    }
}

/// Sub-task kinds of the hard-fork tasks (their sidecar task IDs derive from them).
const HALT_SIGNAL: &str = "halt-signal";
const AWAIT_HEIGHT: &str = "await-height";

fn node_names(task: &PlannedTask) -> Vec<String> {
    task.params
        .as_ref()
        .and_then(|p| p.get("nodeNames"))
        .and_then(|n| serde_json::from_value(n.clone()).ok())
        .unwrap_or_default()
}

fn phase(n: &SeiNode) -> Option<NodePhase> {
    n.status.as_ref().and_then(|s| s.phase)
}

impl GroupRunner<'_> {
    fn ns(&self) -> String {
        self.d.namespace().unwrap_or_default()
    }

    fn nodes(&self) -> Api<SeiNode> {
        Api::namespaced(self.ctx.client.clone(), &self.ns())
    }

    /// A child as the deployment controller's watch last saw it.
    fn cached(&self, name: &str) -> Option<Arc<SeiNode>> {
        self.ctx.children.get()?.get(&ObjectRef::new(name).within(&self.ns()))
    }

    fn writing(&self) -> Result<(), ExecError> {
        self.ctx.check_writing().map_err(|e| ExecError::transient(e.to_string()))
    }

    /// Gives each listed node the template's rolled-out fields.
    async fn update_node_specs(&self, task: &PlannedTask) -> Result<(), ExecError> {
        let template = &self.d.spec.template.spec;
        for name in node_names(task) {
            let transient = |e: kube::Error| ExecError::transient(format!("updating SeiNode {name}: {e}"));
            let Some(mut node) = self.nodes().get_opt(&name).await.map_err(transient)? else { continue };
            let before = node.spec.clone();
            node.spec.image = template.image.clone();
            node.spec.entrypoint = template.entrypoint.clone();
            if let (Some(want), Some(have)) = (&template.sidecar, node.spec.sidecar.as_mut()) {
                have.image = want.image.clone();
            }
            if node.spec != before {
                self.writing()?;
                node.metadata.managed_fields = None;
                self.nodes().replace(&name, &PostParams::default(), &node).await.map_err(transient)?;
            }
        }
        Ok(())
    }

    /// Complete once every listed node reports running its own spec's image.
    async fn specs_rolled_out(&self, task: &PlannedTask) -> TaskState {
        for name in node_names(task) {
            match self.nodes().get_opt(&name).await {
                Ok(Some(n)) if n.status.as_ref().and_then(|s| s.current_image.as_deref()) == Some(&n.spec.image) => {}
                // Gone (scaled down meanwhile): nothing to wait for.
                Ok(None) => {}
                _ => return TaskState::Running,
            }
        }
        TaskState::Complete
    }

    /// The sidecar of the assembler node (§8.5): the smallest name among `names`.
    async fn assembler(&self, names: &[String]) -> Result<SidecarClient, ExecError> {
        let name = genesis::assembler(names.iter().map(String::as_str))
            .ok_or_else(|| ExecError::transient("no assembler node found"))?;
        let node = self.cached(name).ok_or_else(|| ExecError::transient(format!("assembler node {name} not found")))?;
        let token = sidecar_token(self.ctx, &node).await.map_err(|e| ExecError::transient(e.to_string()))?;
        let url = self.ctx.sidecar_url(&self.ns(), name, names::sidecar_url(&node));
        Ok(SidecarClient::new(self.ctx.sidecar.clone(), url, Some(token)))
    }

    fn validators(task: &PlannedTask) -> Vec<String> {
        task.params
            .as_ref()
            .and_then(|p| p.get("Nodes").or_else(|| p.get("nodes")))
            .and_then(|n| n.as_array())
            .into_iter()
            .flatten()
            .filter_map(|n| n["name"].as_str().map(String::from))
            .collect()
    }

    /// Waits until every validator has uploaded its gentx, so that the assembly runs once
    /// instead of failing and retrying until the last one arrives (the reference's way).
    fn gentxs_uploaded(&self, validators: &[String]) -> Result<(), ExecError> {
        let mut waiting = Vec::new();
        for name in validators {
            let Some(node) = self.cached(name) else {
                waiting.push(name.clone());
                continue;
            };
            let status = node.status.as_ref();
            if phase(&node) == Some(NodePhase::Running) {
                continue;
            }
            if phase(&node) == Some(NodePhase::Failed) {
                let why = status.and_then(|s| s.plan.as_ref()).and_then(|p| p.failed_task_detail.as_ref());
                let why = why.map(|f| format!("{}: {}", f.task_type, f.error)).unwrap_or_default();
                return Err(ExecError::terminal(format!(
                    "validator {name} failed before the genesis was assembled: {why}"
                )));
            }
            let uploaded = status.and_then(|s| s.plan.as_ref()).is_some_and(|p| {
                p.tasks.iter().any(|t| {
                    t.task_type == TaskType::UploadGenesisArtifacts.name() && t.status == PlanTaskStatus::Complete
                })
            });
            if !uploaded {
                waiting.push(name.clone());
            }
        }
        if waiting.is_empty() {
            Ok(())
        } else {
            Err(ExecError::transient(format!("waiting for the gentx of {}", waiting.join(", "))))
        }
    }

    /// Posts the group's sidecar task to the assembler, once per attempt.
    async fn submit_to_assembler(&self, task: &PlannedTask, sidecar_task: TaskType) -> Result<(), ExecError> {
        let request = StoredTask::decode(sidecar_task, task.params.as_ref())
            .and_then(|stored| stored.to_request(task.id.clone()))
            .map_err(|e| ExecError::terminal(e.to_string()))?;
        let validators = Self::validators(task);
        match self.assembler(&validators).await?.submit(&request).await {
            Ok(()) => Ok(()),
            Err(e) if e.rejected => Err(ExecError::terminal(e.to_string())),
            Err(e) => Err(ExecError::transient(e.to_string())),
        }
    }

    async fn assembler_task_state(&self, task: &PlannedTask, sidecar_task: TaskType) -> TaskState {
        let Ok(sidecar) = self.assembler(&Self::validators(task)).await else { return TaskState::Running };
        match sidecar.task(&task.id).await {
            Ok(Some(r)) => match r.status {
                TaskStatus::Completed => TaskState::Complete,
                TaskStatus::Failed => TaskState::Failed(r.failure().unwrap_or_default()),
                TaskStatus::Running => TaskState::Running,
            },
            Ok(None) => {
                // Lost by the sidecar (a new pod without its store): post it again.
                let _ = self.submit_to_assembler(task, sidecar_task).await;
                TaskState::Running
            }
            Err(_) => TaskState::Running,
        }
    }

    /// Reads every validator's node ID from its sidecar, then gives each validator all
    /// the others as static peers in its spec.
    async fn collect_and_set_peers(&self, task: &PlannedTask) -> Result<(), ExecError> {
        let ns = self.ns();
        let validators = node_names(task);
        let mut addresses = Vec::new();
        for name in &validators {
            let node = self.cached(name).ok_or_else(|| ExecError::transient(format!("SeiNode {name} not found")))?;
            let token = sidecar_token(self.ctx, &node).await.map_err(|e| ExecError::transient(e.to_string()))?;
            let url = self.ctx.sidecar_url(&ns, name, names::sidecar_url(&node));
            let id = SidecarClient::new(self.ctx.sidecar.clone(), url, Some(token))
                .node_id()
                .await
                .map_err(|e| ExecError::transient(format!("node ID of {name}: {e}")))?;
            addresses.push((name.clone(), genesis::peer_address(&id, name, &ns)));
        }
        for name in &validators {
            let others = genesis::peers_of(name, &addresses);
            // A chain of one validator has nobody to peer with (and an empty static list
            // is not a valid peer source).
            if others.is_empty() {
                continue;
            }
            let peers = json!([{"static": {"addresses": others}}]);
            let current = self.cached(name).and_then(|n| serde_json::to_value(&n.spec.peers).ok());
            if current.as_ref() == Some(&peers) {
                continue;
            }
            self.writing()?;
            let patch = json!({"spec": {"peers": peers}});
            self.nodes()
                .patch(name, &PatchParams::default(), &Patch::Merge(&patch))
                .await
                .map_err(|e| ExecError::transient(format!("setting the peers of SeiNode {name}: {e}")))?;
        }
        Ok(())
    }

    /// A node's sidecar client (its pod's address, its token).
    async fn sidecar_of(&self, name: &str) -> Result<SidecarClient, ExecError> {
        let node = self.cached(name).ok_or_else(|| ExecError::transient(format!("SeiNode {name} not found")))?;
        let token = sidecar_token(self.ctx, &node).await.map_err(|e| ExecError::transient(e.to_string()))?;
        let url = self.ctx.sidecar_url(&self.ns(), name, names::sidecar_url(&node));
        Ok(SidecarClient::new(self.ctx.sidecar.clone(), url, Some(token)))
    }

    fn param_str(task: &PlannedTask, key: &str) -> String {
        task.params.as_ref().and_then(|p| p[key].as_str()).unwrap_or_default().to_string()
    }

    fn param_i64(task: &PlannedTask, key: &str) -> i64 {
        task.params.as_ref().and_then(|p| p[key].as_i64()).unwrap_or_default()
    }

    /// Creates the entrants that do not exist yet, from the template, at the entrant
    /// revision (no ceremony block: entrants join a chain that exists).
    async fn create_entrants(&self, task: &PlannedTask) -> Result<(), ExecError> {
        let revision = Self::param_str(task, "entrantRevision");
        if revision.is_empty() {
            return Err(ExecError::terminal("create-entrant-nodes: entrantRevision is required"));
        }
        for (ordinal, name) in node_names(task).iter().enumerate() {
            if self.cached(name).is_some() {
                continue;
            }
            let mut node = sei_planner::group::child_named(self.d, ordinal as i32, &revision, name);
            if let Some(v) = node.spec.validator.as_mut() {
                v.genesis_ceremony = None;
            }
            self.writing()?;
            match self.nodes().create(&PostParams::default(), &node).await {
                Ok(_) => {}
                Err(kube::Error::Api(s)) if s.code == 409 => {}
                Err(e) => return Err(ExecError::transient(format!("creating entrant {name}: {e}"))),
            }
        }
        Ok(())
    }

    /// Complete once every listed node's sidecar is ready and its seid has caught up.
    async fn caught_up(&self, task: &PlannedTask) -> TaskState {
        for name in node_names(task) {
            let Ok(sidecar) = self.sidecar_of(&name).await else { return TaskState::Running };
            match sidecar.status().await {
                Ok(s) if s.status == NodeStatus::Ready && s.catching_up == Some(false) => {}
                _ => return TaskState::Running,
            }
        }
        TaskState::Complete
    }

    /// Moves the internal Service to the entrants' revision.
    async fn switch_traffic(&mut self, task: &PlannedTask) -> Result<(), ExecError> {
        let revision = Self::param_str(task, "entrantRevision");
        if revision.is_empty() {
            return Err(ExecError::terminal("switch-traffic: entrantRevision is required"));
        }
        super::apply_internal_service(self.ctx, self.d, &revision)
            .await
            .map_err(|e| ExecError::transient(format!("switching the internal Service: {e}")))?;
        self.switched_to = Some(revision);
        Ok(())
    }

    async fn teardown(&self, task: &PlannedTask) -> Result<(), ExecError> {
        for name in node_names(task) {
            let Some(node) = self.cached(&name) else { continue };
            if node.metadata.deletion_timestamp.is_some() {
                continue;
            }
            super::children::delete(self.ctx, &node)
                .await
                .map_err(|e| ExecError::transient(format!("deleting {name}: {e}")))?;
        }
        Ok(())
    }

    /// `await-condition` on a node's sidecar under the sub-task ID of `kind`.
    async fn await_height(&self, task: &PlannedTask, node: &str, kind: &str, stop: bool) -> Result<(), String> {
        let params = AwaitConditionParams {
            condition: AwaitCondition::Height,
            target_height: Self::param_i64(task, if stop { "haltHeight" } else { "targetHeight" }),
            action: stop.then_some(AwaitAction::SigtermSeid),
        };
        let request = TaskRequest::new(sub_task_id(node, kind, &task.id), Task::AwaitCondition(params));
        let sidecar = self.sidecar_of(node).await.map_err(|e| e.message)?;
        sidecar.submit(&request).await.map_err(|e| e.to_string())
    }

    /// Tells each incumbent to stop seid at the halt height. Best effort, as in the
    /// reference: a node that cannot be told is logged and left to its teardown.
    async fn halt_signal(&self, task: &PlannedTask) {
        for name in node_names(task) {
            if let Err(e) = self.await_height(task, &name, HALT_SIGNAL, true).await {
                tracing::warn!(deployment = %self.d.name_any(), node = %name, error = %e, "cannot submit the halt signal");
            }
        }
    }

    /// Submits the height wait to every entrant, once per attempt (a re-post would run a
    /// failed one again).
    async fn submit_height_waits(&self, task: &PlannedTask) -> Result<(), ExecError> {
        for name in node_names(task) {
            self.await_height(task, &name, AWAIT_HEIGHT, false).await.map_err(ExecError::transient)?;
        }
        Ok(())
    }

    async fn at_height(&self, task: &PlannedTask) -> TaskState {
        for name in node_names(task) {
            let id = sub_task_id(&name, AWAIT_HEIGHT, &task.id);
            let Ok(sidecar) = self.sidecar_of(&name).await else { return TaskState::Running };
            match sidecar.task(&id).await {
                Ok(Some(r)) if r.status == TaskStatus::Completed => {}
                Ok(Some(r)) if r.status == TaskStatus::Failed => {
                    let why = r.failure().unwrap_or_default();
                    return TaskState::Failed(format!("await-height failed on {name}: {why}"));
                }
                Ok(None) => {
                    // Lost (a new pod without its store): post it again.
                    let _ = self.await_height(task, &name, AWAIT_HEIGHT, false).await;
                    return TaskState::Running;
                }
                _ => return TaskState::Running,
            }
        }
        TaskState::Complete
    }

    /// Complete once `expected` of the listed nodes run; fails when one of them failed.
    fn nodes_running(&self, task: &PlannedTask) -> TaskState {
        let expected = task.params.as_ref().and_then(|p| p["expected"].as_u64()).unwrap_or(0);
        let mut running = 0;
        for name in node_names(task) {
            match self.cached(&name).as_deref().and_then(phase) {
                Some(NodePhase::Running) => running += 1,
                Some(NodePhase::Failed) => return TaskState::Failed(format!("node {name} is in Failed phase")),
                _ => {}
            }
        }
        if running >= expected { TaskState::Complete } else { TaskState::Running }
    }
}

impl TaskRunner for GroupRunner<'_> {
    async fn execute(&mut self, t: &PlannedTask) -> Result<(), ExecError> {
        if let Ok(sidecar_task) = t.task_type.parse::<TaskType>() {
            if t.submitted_at.is_some() {
                return Ok(());
            }
            if sidecar_task == TaskType::AssembleAndUploadGenesis {
                self.gentxs_uploaded(&Self::validators(t))?;
            }
            return self.submit_to_assembler(t, sidecar_task).await;
        }
        match t.task_type.as_str() {
            task::UPDATE_NODE_SPECS => self.update_node_specs(t).await,
            task::COLLECT_AND_SET_PEERS => self.collect_and_set_peers(t).await,
            task::CREATE_ENTRANT_NODES => self.create_entrants(t).await,
            task::SWITCH_TRAFFIC => self.switch_traffic(t).await,
            task::TEARDOWN_NODES => self.teardown(t).await,
            task::SUBMIT_HALT_SIGNAL => {
                self.halt_signal(t).await;
                Ok(())
            }
            task::AWAIT_NODES_AT_HEIGHT if t.submitted_at.is_none() => self.submit_height_waits(t).await,
            task::AWAIT_SPEC_UPDATE | task::AWAIT_NODES_RUNNING | task::AWAIT_NODES_CAUGHT_UP => Ok(()),
            task::AWAIT_NODES_AT_HEIGHT => Ok(()),
            other => Err(ExecError::terminal(format!("task type {other:?} is not supported in a group plan yet"))),
        }
    }

    async fn status(&mut self, t: &PlannedTask) -> TaskState {
        if let Ok(sidecar_task) = t.task_type.parse::<TaskType>() {
            return self.assembler_task_state(t, sidecar_task).await;
        }
        match t.task_type.as_str() {
            task::AWAIT_SPEC_UPDATE => self.specs_rolled_out(t).await,
            task::AWAIT_NODES_RUNNING => self.nodes_running(t),
            task::AWAIT_NODES_CAUGHT_UP => self.caught_up(t).await,
            task::AWAIT_NODES_AT_HEIGHT => self.at_height(t).await,
            _ => TaskState::Complete,
        }
    }
}
