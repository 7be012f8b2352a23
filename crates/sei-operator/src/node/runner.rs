//! Carries out the tasks of a SeiNode plan: controller-side tasks against the Kubernetes
//! API, sidecar tasks over HTTP.

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{PersistentVolume, PersistentVolumeClaim, Secret, Service};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams, PropagationPolicy};
use kube::{Resource, ResourceExt};
use sei_api::plan::PlannedTask;
use sei_api::{SeiNode, SeiNodeStatus};
use sei_planner::executor::{ExecError, TaskRunner, TaskState};
use sei_planner::plan::task::*;
use sei_planner::status::set_condition;
use sei_planner::{names, resources};
use sei_tasks::{StoredTask, TaskStatus, TaskType};
use serde_json::Value;

use crate::context::Context;
use crate::error::{Category, Error};
use crate::sidecar::{SidecarClient, SidecarError};

pub struct NodeRunner<'a> {
    pub ctx: &'a Context,
    pub node: &'a SeiNode,
    pub status: &'a mut SeiNodeStatus,
    pub sidecar: SidecarClient,
    pub now: Time,
    /// The last sidecar call that could not reach the sidecar, with its task type.
    pub trouble: Option<(String, SidecarError)>,
    /// Whether a sidecar call got an answer.
    pub reached: bool,
    /// An API error a person must fix, for the reconcile to report.
    pub escalated: std::sync::Mutex<Option<Error>>,
}

/// The image of the `seid` container of a StatefulSet.
pub fn seid_image(sts: &StatefulSet) -> Option<String> {
    let pod = sts.spec.as_ref()?.template.spec.as_ref()?;
    pod.containers.iter().find(|c| c.name == "seid").and_then(|c| c.image.clone())
}

fn is_status(e: &kube::Error, code: u16) -> bool {
    matches!(e, kube::Error::Api(s) if s.code == code)
}

/// Parses a quantity such as `2000Gi` into bytes (enough for comparing volume sizes).
pub fn quantity_bytes(q: &Quantity) -> Option<f64> {
    let s = q.0.trim();
    let split = s.find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '+' || c == '-')).unwrap_or(s.len());
    let (num, suffix) = s.split_at(split);
    let n: f64 = num.parse().ok()?;
    let mult = match suffix {
        "" => 1.0,
        "Ki" => 1024f64,
        "Mi" => 1024f64.powi(2),
        "Gi" => 1024f64.powi(3),
        "Ti" => 1024f64.powi(4),
        "Pi" => 1024f64.powi(5),
        "Ei" => 1024f64.powi(6),
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        "m" => 1e-3,
        s if s.starts_with(['e', 'E']) => 10f64.powi(s[1..].parse().ok()?),
        _ => return None,
    };
    Some(n * mult)
}

/// Whether `obj` is controlled by a SeiNode of `node`'s name that is not `node` (an
/// earlier node of the same name, whose objects the garbage collector is about to remove).
fn owned_by_namesake(obj: &impl Resource, node: &SeiNode) -> bool {
    obj.owner_references().iter().any(|r| {
        r.controller == Some(true)
            && r.kind == "SeiNode"
            && r.name == node.name_any()
            && Some(&r.uid) != node.uid().as_ref()
    })
}

impl NodeRunner<'_> {
    fn ns(&self) -> String {
        self.node.namespace().unwrap_or_default()
    }

    fn api<K>(&self) -> Api<K>
    where
        K: Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>
            + Clone
            + serde::de::DeserializeOwned
            + std::fmt::Debug,
    {
        Api::namespaced(self.ctx.client.clone(), &self.ns())
    }

    fn condition(&mut self, type_: &str, ok: bool, reason: &str, message: String) {
        let conditions = self.status.conditions.get_or_insert_with(Vec::new);
        let status = if ok { "True" } else { "False" };
        set_condition(conditions, type_, status, reason, &message, self.node.metadata.generation, &self.now);
    }

    async fn apply<K>(&self, obj: &K) -> Result<(), ExecError>
    where
        K: Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>
            + Clone
            + serde::de::DeserializeOwned
            + serde::Serialize
            + std::fmt::Debug,
    {
        self.writing()?;
        let params = PatchParams::apply(names::MANAGER_NODE).force();
        let (kind, name) = (K::kind(&()), obj.name_any());
        match self.api::<K>().patch(&name, &params, &Patch::Apply(obj)).await {
            // Applied onto the object of an earlier node of this name that is going away:
            // wait until it is gone, then the next apply creates this node's own.
            Ok(applied) if applied.meta().deletion_timestamp.is_some() => Err(ExecError::transient(format!(
                "{kind} \"{name}\" is being deleted (left by an earlier SeiNode of this name?); waiting for it to go"
            ))),
            Ok(_) => Ok(()),
            Err(kube::Error::Api(s))
                if s.code == 422 && s.message.contains("Only one reference can have Controller") =>
            {
                Err(ExecError::transient(format!(
                    "{kind} \"{name}\" belongs to an earlier SeiNode of this name; waiting for the garbage collector"
                )))
            }
            Err(e) => Err(self.kube_error(e)),
        }
    }

    /// Creates `obj`, unless this replica does not lead.
    async fn create<K>(&self, api: &Api<K>, obj: &K) -> Result<K, kube::Error>
    where
        K: Resource + Clone + serde::de::DeserializeOwned + serde::Serialize + std::fmt::Debug,
    {
        if !self.ctx.leadership.may_write() {
            return Err(kube::Error::Service("not writing: this replica does not hold the leader Lease".into()));
        }
        api.create(&PostParams::default(), obj).await
    }

    /// Refuses a write while this replica does not lead.
    fn writing(&self) -> Result<(), ExecError> {
        self.ctx.check_writing().map_err(|e| ExecError::transient(e.to_string()))
    }

    /// A Kubernetes API error of a task. A request the server refuses (400, 422) would be
    /// refused again: the task fails. A missing permission or kind is raised to the
    /// reconcile, which reports it on the node. Anything else is retried.
    fn kube_error(&self, e: kube::Error) -> ExecError {
        let error = Error::Kube(e);
        let message = error.to_string();
        match error.category() {
            Category::Invalid => ExecError::terminal(message),
            Category::Permission | Category::NotFound => {
                *self.escalated.lock().unwrap_or_else(|p| p.into_inner()) = Some(error);
                ExecError::transient(message)
            }
            Category::Transient | Category::Conflict => ExecError::transient(message),
        }
    }

    async fn ensure_pvc(&mut self) -> Result<(), ExecError> {
        let api = self.api::<PersistentVolumeClaim>();
        let imported = self.node.spec.data_volume.as_ref().and_then(|d| d.import.as_ref()).map(|i| i.pvc_name.clone());
        let Some(name) = imported else {
            let pvc =
                resources::data_pvc(self.node, &self.ctx.platform).map_err(|e| ExecError::terminal(e.to_string()))?;
            let name = pvc.name_any();
            return match api.get_opt(&name).await.map_err(|e| self.kube_error(e))? {
                // Deleted with an earlier node of this name (or by someone): wait until it
                // is gone, then make a new one.
                Some(existing) if existing.metadata.deletion_timestamp.is_some() => Err(ExecError::transient(format!(
                    "data PVC \"{name}\" is being deleted (left by an earlier SeiNode of this name?); waiting for it to go"
                ))),
                Some(existing) if owned_by_namesake(&existing, self.node) => Err(ExecError::transient(format!(
                    "data PVC \"{name}\" belongs to an earlier SeiNode of this name; waiting for the garbage collector"
                ))),
                Some(existing) => {
                    let uid = self.node.uid();
                    let owned = existing
                        .owner_references()
                        .iter()
                        .any(|o| o.controller == Some(true) && Some(&o.uid) == uid.as_ref());
                    if owned {
                        Ok(())
                    } else {
                        Err(ExecError::terminal(format!(
                            "data PVC \"{name}\" already exists and is not owned by SeiNode \"{}\"; set spec.dataVolume.import.pvcName to adopt, or delete the PVC",
                            self.node.name_any()
                        )))
                    }
                }
                None => match self.create(&api, &pvc).await {
                    Ok(_) => Ok(()),
                    Err(e) if is_status(&e, 409) => {
                        Err(ExecError::transient(format!("data PVC created concurrently: {e}")))
                    }
                    Err(e) => Err(self.kube_error(e)),
                },
            };
        };
        match self.validate_import(&name).await {
            Ok(()) => {
                self.condition(
                    "ImportPVCReady",
                    true,
                    "PVCValidated",
                    format!("PVC \"{name}\" passes all import requirements"),
                );
                Ok(())
            }
            Err(e) => {
                let reason = if e.terminal { "PVCInvalid" } else { "PVCNotReady" };
                self.condition("ImportPVCReady", false, reason, e.message.clone());
                Err(e)
            }
        }
    }

    async fn validate_import(&self, name: &str) -> Result<(), ExecError> {
        let ns = self.ns();
        let pvc = self
            .api::<PersistentVolumeClaim>()
            .get_opt(name)
            .await
            .map_err(|e| self.kube_error(e))?
            .ok_or_else(|| ExecError::transient(format!("PVC \"{name}\" not found in namespace \"{ns}\"")))?;
        if pvc.metadata.deletion_timestamp.is_some() {
            return Err(ExecError::transient(format!("PVC \"{name}\" is being deleted")));
        }
        let phase = pvc.status.as_ref().and_then(|s| s.phase.clone()).unwrap_or_default();
        match phase.as_str() {
            "Bound" => {}
            "Lost" => return Err(ExecError::terminal(format!("PVC \"{name}\" is Lost"))),
            other => return Err(ExecError::transient(format!("PVC \"{name}\" is {other:?}, waiting for Bound"))),
        }
        let spec = pvc.spec.clone().unwrap_or_default();
        if !spec.access_modes.unwrap_or_default().iter().any(|m| m == "ReadWriteOnce") {
            return Err(ExecError::terminal(format!("PVC \"{name}\" must allow ReadWriteOnce")));
        }
        let capacity = pvc
            .status
            .as_ref()
            .and_then(|s| s.capacity.as_ref())
            .and_then(|c| c.get("storage"))
            .cloned()
            .ok_or_else(|| ExecError::transient(format!("PVC \"{name}\" reports no capacity yet")))?;
        let required = if self.node.spec.archive.is_some() {
            &self.ctx.platform.storage_size_archive
        } else {
            &self.ctx.platform.storage_size_default
        };
        let (have, need) = (quantity_bytes(&capacity), quantity_bytes(required));
        match (have, need) {
            (Some(h), Some(n)) if h >= n => {}
            (Some(_), Some(_)) => {
                return Err(ExecError::terminal(format!(
                    "PVC \"{name}\" has {} but this node needs at least {}",
                    capacity.0, required.0
                )));
            }
            _ => {
                return Err(ExecError::terminal(format!("cannot compare capacity {} with {}", capacity.0, required.0)));
            }
        }
        let volume = spec
            .volume_name
            .filter(|v| !v.is_empty())
            .ok_or_else(|| ExecError::transient(format!("PVC \"{name}\" has no volume yet")))?;
        let pv = Api::<PersistentVolume>::all(self.ctx.client.clone())
            .get_opt(&volume)
            .await
            .map_err(|e| self.kube_error(e))?
            .ok_or_else(|| ExecError::transient(format!("volume {volume} of PVC \"{name}\" not found")))?;
        if pv.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Failed") {
            return Err(ExecError::terminal(format!("volume {volume} of PVC \"{name}\" has failed")));
        }
        let pv_capacity =
            pv.spec.as_ref().and_then(|s| s.capacity.as_ref()).and_then(|c| c.get("storage")).map(|q| q.0.clone());
        if pv_capacity.as_deref() != Some(capacity.0.as_str()) {
            return Err(ExecError::terminal(format!(
                "volume {volume} capacity {pv_capacity:?} differs from PVC \"{name}\" ({})",
                capacity.0
            )));
        }
        Ok(())
    }

    async fn validate_key(&mut self, task: &PlannedTask, signing: bool) -> Result<(), ExecError> {
        let (cond, prefix, file, fields): (&str, &str, &str, &[&[&str]]) = if signing {
            (
                "SigningKeyReady",
                "SigningKey",
                "priv_validator_key.json",
                &[
                    &["address"],
                    &["pub_key", "type"],
                    &["pub_key", "value"],
                    &["priv_key", "type"],
                    &["priv_key", "value"],
                ],
            )
        } else {
            ("NodeKeyReady", "NodeKey", "node_key.json", &[&["priv_key", "type"], &["priv_key", "value"]])
        };
        let name = task.params.as_ref().and_then(|p| p["secretName"].as_str()).unwrap_or_default().to_string();
        let label = if signing { "signing-key" } else { "node-key" };
        let outcome: Result<(), ExecError> = async {
            if name.is_empty() {
                return Err(ExecError::terminal(format!("{label} secretName is empty")));
            }
            let secret = self.api::<Secret>().get_opt(&name).await.map_err(|e| self.kube_error(e))?;
            let secret = secret.ok_or_else(|| ExecError::transient(format!("Secret \"{name}\" not found")))?;
            if secret.metadata.deletion_timestamp.is_some() {
                return Err(ExecError::transient(format!("Secret \"{name}\" is being deleted")));
            }
            let bytes = secret.data.as_ref().and_then(|d| d.get(file)).map(|b| b.0.clone()).filter(|b| !b.is_empty());
            let bytes = bytes.ok_or_else(|| ExecError::terminal(format!("Secret \"{name}\" has no {file}")))?;
            let doc: Value = serde_json::from_slice(&bytes)
                .map_err(|e| ExecError::terminal(format!("Secret \"{name}\" {file} is not JSON: {e}")))?;
            for path in fields {
                let v = path.iter().fold(&doc, |v, k| &v[*k]);
                if v.as_str().is_none_or(str::is_empty) {
                    return Err(ExecError::terminal(format!("Secret \"{name}\" {file} lacks {}", path.join("."))));
                }
            }
            Ok(())
        }
        .await;
        match &outcome {
            Ok(()) => self.condition(
                cond,
                true,
                &format!("{prefix}Validated"),
                format!("Secret \"{name}\" passes all {label} validation rules"),
            ),
            Err(e) => {
                let reason = if e.terminal { format!("{prefix}Invalid") } else { format!("{prefix}NotReady") };
                self.condition(cond, false, &reason, e.message.clone());
            }
        }
        outcome
    }

    async fn observe_image(&mut self) -> TaskState {
        let Ok(Some(sts)) = self.api::<StatefulSet>().get_opt(&names::statefulset(&self.node.name_any())).await else {
            return TaskState::Running;
        };
        let applied = seid_image(&sts);
        let generation = sts.metadata.generation.unwrap_or(0);
        let status = sts.status.clone().unwrap_or_default();
        let replicas = sts.spec.as_ref().and_then(|s| s.replicas);
        let done = status.observed_generation.unwrap_or(0) >= generation
            && replicas.is_some_and(|r| status.updated_replicas.unwrap_or(0) >= r);
        if !done {
            return TaskState::Running;
        }
        // What the StatefulSet runs, not what the spec says now: an image edited after
        // `apply-statefulset` is not rolled out yet, and the next plan must see the drift.
        self.status.current_image = applied;
        TaskState::Complete
    }

    async fn await_bootstrap(&self, task: &PlannedTask) -> TaskState {
        let job = task.params.as_ref().and_then(|p| p["jobName"].as_str()).unwrap_or_default().to_string();
        match self.api::<Job>().get_opt(&job).await {
            Ok(None) => TaskState::Failed(format!("bootstrap job {job} not found")),
            Err(_) => TaskState::Running,
            Ok(Some(j)) => {
                let conditions = j.status.and_then(|s| s.conditions).unwrap_or_default();
                if conditions.iter().any(|c| c.type_ == "Complete" && c.status == "True") {
                    TaskState::Complete
                } else if let Some(c) = conditions.iter().find(|c| c.type_ == "Failed" && c.status == "True") {
                    TaskState::Failed(format!(
                        "bootstrap job failed: {}",
                        c.message.clone().unwrap_or_else(|| "bootstrap job failed".into())
                    ))
                } else {
                    TaskState::Running
                }
            }
        }
    }
}

impl NodeRunner<'_> {
    /// Posts a sidecar task (idempotent on the sidecar for a running or completed ID).
    async fn submit(&mut self, task: &PlannedTask, sidecar_task: TaskType) -> Result<(), ExecError> {
        // Stored params that do not decode or fail the client-side checks never will.
        let request = StoredTask::decode(sidecar_task, task.params.as_ref())
            .and_then(|stored| stored.to_request(task.id.clone()))
            .map_err(|e| ExecError::terminal(e.to_string()))?;
        match self.sidecar.submit(&request).await {
            Ok(()) => {
                self.reached = true;
                Ok(())
            }
            Err(e) if e.rejected => {
                self.reached = true;
                Err(ExecError::terminal(e.to_string()))
            }
            Err(e) => {
                let message = e.to_string();
                self.trouble = Some((task.task_type.clone(), e));
                Err(ExecError::transient(message))
            }
        }
    }
}

impl TaskRunner for NodeRunner<'_> {
    async fn execute(&mut self, task: &PlannedTask) -> Result<(), ExecError> {
        let t = task.task_type.as_str();
        if let Ok(sidecar_task) = t.parse::<TaskType>() {
            // Submitted in this attempt already: posting again would start a failed run
            // over (our sidecar reruns a failed ID), so the failure would never be seen
            // and `maxRetries` would mean nothing. `status` resubmits a task the sidecar
            // lost.
            if task.submitted_at.is_some() {
                return Ok(());
            }
            return self.submit(task, sidecar_task).await;
        }
        let build = |e: resources::BuildError| ExecError::terminal(e.to_string());
        match t {
            ENSURE_DATA_PVC => self.ensure_pvc().await,
            VALIDATE_SIGNING_KEY => self.validate_key(task, true).await,
            VALIDATE_NODE_KEY => self.validate_key(task, false).await,
            APPLY_STATEFULSET => {
                let sts = resources::statefulset(self.node, &self.ctx.platform).map_err(build)?;
                self.apply(&sts).await?;
                let image = seid_image(&sts);
                self.ctx.memory.with(&self.node.uid().unwrap_or_default(), |n| n.applied_image = image);
                Ok(())
            }
            APPLY_SERVICE => self.apply(&resources::headless_service(self.node).map_err(build)?).await,
            OBSERVE_IMAGE | AWAIT_BOOTSTRAP_COMPLETE => Ok(()),
            DEPLOY_BOOTSTRAP_SERVICE => {
                self.writing()?;
                let svc = resources::bootstrap_service(self.node).map_err(build)?;
                match self.api::<Service>().create(&PostParams::default(), &svc).await {
                    Ok(_) => Ok(()),
                    Err(e) if is_status(&e, 409) => Ok(()),
                    Err(e) => Err(self.kube_error(e)),
                }
            }
            DEPLOY_BOOTSTRAP_JOB => {
                self.writing()?;
                let job = resources::bootstrap_job(self.node, &self.ctx.platform).map_err(build)?;
                match self.api::<Job>().create(&PostParams::default(), &job).await {
                    Ok(_) => Ok(()),
                    Err(e) if is_status(&e, 409) => Ok(()),
                    Err(e) => Err(self.kube_error(e)),
                }
            }
            TEARDOWN_BOOTSTRAP => {
                self.writing()?;
                let name = self.node.name_any();
                let fg = DeleteParams { propagation_policy: Some(PropagationPolicy::Foreground), ..Default::default() };
                for result in [
                    self.api::<Job>().delete(&names::bootstrap_job(&name), &fg).await.map(|_| ()),
                    self.api::<Service>().delete(&names::service(&name), &DeleteParams::default()).await.map(|_| ()),
                ] {
                    match result {
                        Ok(()) => {}
                        Err(e) if is_status(&e, 404) => {}
                        Err(e) => return Err(self.kube_error(e)),
                    }
                }
                Ok(())
            }
            other => Err(ExecError::terminal(format!("unknown task type {other:?}"))),
        }
    }

    async fn status(&mut self, task: &PlannedTask) -> TaskState {
        let t = task.task_type.as_str();
        match t {
            OBSERVE_IMAGE => return self.observe_image().await,
            AWAIT_BOOTSTRAP_COMPLETE => return self.await_bootstrap(task).await,
            _ => {}
        }
        let sidecar_task = match t.parse::<TaskType>() {
            Err(_) => return TaskState::Complete,
            Ok(sidecar_task) if sidecar_task.is_fire_and_forget() => return TaskState::Complete,
            Ok(sidecar_task) => sidecar_task,
        };
        let state = self.sidecar.task(&task.id).await;
        if matches!(state, Ok(None)) {
            // The sidecar does not know the task (a new pod without its store): post it
            // again; it is still running as far as the plan is concerned.
            if let Err(e) = self.submit(task, sidecar_task).await {
                tracing::debug!(node = %self.node.name_any(), task = %t, error = %e.message, "resubmitting");
            }
        }
        match &state {
            Ok(_) => self.reached = true,
            Err(e) => self.trouble = Some((t.to_string(), e.clone())),
        }
        // Not found yet and unreachable both mean "still running", as in the reference.
        match state {
            Ok(Some(r)) => match r.status {
                TaskStatus::Completed => TaskState::Complete,
                TaskStatus::Failed => TaskState::Failed(r.failure().unwrap_or_default()),
                TaskStatus::Running => TaskState::Running,
            },
            Ok(None) | Err(_) => TaskState::Running,
        }
    }
}
