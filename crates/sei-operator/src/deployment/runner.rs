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
use sei_planner::plan::task;
use sei_tasks::{StoredTask, TaskStatus, TaskType};
use serde_json::json;

use crate::context::Context;
use crate::node::token::sidecar_token;
use crate::sidecar::SidecarClient;

/// Carries out the controller-side group tasks.
pub struct GroupRunner<'a> {
    pub ctx: &'a Context,
    pub d: &'a SeiNodeDeployment,
}

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
            let peers = json!([{"static": {"addresses": genesis::peers_of(name, &addresses)}}]);
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
            task::AWAIT_SPEC_UPDATE | task::AWAIT_NODES_RUNNING => Ok(()),
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
            _ => TaskState::Complete,
        }
    }
}
