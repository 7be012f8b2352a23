//! The operator's Prometheus metrics (§12 of the controller spec), with the reference's
//! names and labels. Its quirks are fixed: phase durations measure the time spent in the
//! phase left, `plan_active` counts nodes with an active plan instead of drifting upward,
//! `sidecar_ready` entries go with their node, and `reconcile_errors_total` counts.

use std::collections::HashMap;
use std::sync::Mutex;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};
use sei_api::common::NodePhase;
use sei_api::plan::{PlanPhase, TaskPlan};

const CONTROLLER: &str = "seinode";
const PHASES: [NodePhase; 5] =
    [NodePhase::Pending, NodePhase::Initializing, NodePhase::Running, NodePhase::Failed, NodePhase::Terminating];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct NodePhaseLabels {
    namespace: String,
    name: String,
    phase: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TransitionLabels {
    controller: String,
    namespace: String,
    from_phase: String,
    to_phase: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PhaseDurationLabels {
    namespace: String,
    chain_id: String,
    phase: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PlanLabels {
    controller: String,
    namespace: String,
    plan_type: String,
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct ControllerNamespace {
    pub controller: String,
    pub namespace: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ProbeLabels {
    controller: String,
    namespace: String,
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct NodeLabels {
    namespace: String,
    name: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ControllerLabel {
    controller: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TaskLabels {
    controller: String,
    task_type: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct UnreachableLabels {
    controller: String,
    task_type: String,
    cause: String,
}

type Hist = Family<PhaseDurationLabels, Histogram, fn() -> Histogram>;
type PlanHist = Family<PlanLabels, Histogram, fn() -> Histogram>;

fn phase_buckets() -> Histogram {
    Histogram::new([10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1200.0, 1800.0, 3600.0])
}

fn plan_buckets() -> Histogram {
    Histogram::new([1.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0])
}

/// Outcome of one sidecar health probe.
#[derive(Clone, Copy, Debug)]
pub enum Probe {
    Ready,
    NotReady,
    Unreachable,
}

pub struct Metrics {
    registry: Registry,
    /// The SeiNodeDeployment controller's series.
    pub fleets: crate::fleet_metrics::FleetMetrics,
    phase: Family<NodePhaseLabels, Gauge>,
    transitions: Family<TransitionLabels, Counter>,
    phase_duration: Hist,
    plan_duration: PlanHist,
    plan_active: Family<ControllerNamespace, Gauge>,
    probes: Family<ProbeLabels, Counter>,
    sidecar_ready: Family<NodeLabels, Gauge>,
    reconciles: Family<ControllerLabel, Counter>,
    reconcile_errors: Family<ControllerLabel, Counter>,
    status_writes: Family<ControllerLabel, Counter>,
    sidecar_unreachable: Family<UnreachableLabels, Counter>,
    sidecar_throttled: Family<ControllerLabel, Counter>,
    task_failures: Family<TaskLabels, Counter>,
    /// `(namespace, name)` of nodes with an active plan, for `plan_active`.
    active: Mutex<HashMap<(String, String), bool>>,
    /// `(namespace, name)` of every node with per-node series.
    nodes: Mutex<std::collections::HashSet<(String, String)>>,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::default();
        let phase = Family::<NodePhaseLabels, Gauge>::default();
        let transitions = Family::<TransitionLabels, Counter>::default();
        let phase_duration = Hist::new_with_constructor(phase_buckets as fn() -> Histogram);
        let plan_duration = PlanHist::new_with_constructor(plan_buckets as fn() -> Histogram);
        let plan_active = Family::<ControllerNamespace, Gauge>::default();
        let probes = Family::<ProbeLabels, Counter>::default();
        let sidecar_ready = Family::<NodeLabels, Gauge>::default();
        let reconciles = Family::<ControllerLabel, Counter>::default();
        let reconcile_errors = Family::<ControllerLabel, Counter>::default();
        let status_writes = Family::<ControllerLabel, Counter>::default();
        let sidecar_unreachable = Family::<UnreachableLabels, Counter>::default();
        let sidecar_throttled = Family::<ControllerLabel, Counter>::default();
        let task_failures = Family::<TaskLabels, Counter>::default();
        // Counters an alert takes a rate of exist from the start, at 0, so that the alert
        // and the dashboard see them before the first event.
        for family in [&reconciles, &reconcile_errors, &status_writes, &sidecar_throttled] {
            let _ = family.get_or_create(&controller());
        }
        let r = &mut registry;
        r.register("sei_controller_seinode_phase", "1 for the node's current phase, 0 for the others", phase.clone());
        r.register("sei_controller_seinode_phase_transitions", "Observed node phase changes", transitions.clone());
        r.register_with_unit(
            "sei_controller_seinode_phase_duration",
            "Time a node spent in the phase it left",
            Unit::Seconds,
            phase_duration.clone(),
        );
        r.register_with_unit(
            "sei_controller_plan_duration",
            "Time from a plan's first task submission to its end",
            Unit::Seconds,
            plan_duration.clone(),
        );
        r.register(
            "sei_controller_plan_active",
            "Nodes (controller seinode) and deployments (seinodedeployment) with an active plan",
            plan_active.clone(),
        );
        r.register("sei_controller_seinode_sidecar_health_probes", "Sidecar health probes by outcome", probes.clone());
        r.register(
            "sei_controller_seinode_sidecar_ready",
            "1 if the node's sidecar reports ready",
            sidecar_ready.clone(),
        );
        r.register("sei_controller_reconciles", "Reconciles run", reconciles.clone());
        r.register(
            "sei_controller_reconcile_errors",
            "Reconciles that failed and were retried",
            reconcile_errors.clone(),
        );
        r.register("sei_controller_status_writes", "Status writes to the API server", status_writes.clone());
        r.register(
            "sei_controller_sidecar_unreachable",
            "Sidecar task calls that could not reach the sidecar, by task type and cause",
            sidecar_unreachable.clone(),
        );
        r.register(
            "sei_controller_sidecar_calls_throttled",
            "Sidecar calls not made because too many were in flight (the node is polled again later)",
            sidecar_throttled.clone(),
        );
        r.register(
            "sei_controller_task_failures",
            "Plan task attempts that failed, by task type (a retried task counts once per failed attempt)",
            task_failures.clone(),
        );
        let fleets = crate::fleet_metrics::FleetMetrics::new(plan_active.clone());
        fleets.register(r);
        Metrics {
            registry,
            fleets,
            phase,
            transitions,
            phase_duration,
            plan_duration,
            plan_active,
            probes,
            sidecar_ready,
            reconciles,
            reconcile_errors,
            status_writes,
            sidecar_unreachable,
            sidecar_throttled,
            task_failures,
            active: Mutex::new(HashMap::new()),
            nodes: Mutex::default(),
        }
    }
}

fn controller() -> ControllerLabel {
    ControllerLabel { controller: CONTROLLER.into() }
}

/// The reference's plan classification: `observe-image` anywhere → `node-update`, else
/// `ensure-data-pvc` → `init`, a lone `mark-ready` → `mark-ready-reapply`.
pub fn plan_type(plan: &TaskPlan) -> &'static str {
    if plan.tasks.iter().any(|t| t.task_type == "observe-image") {
        "node-update"
    } else if plan.tasks.iter().any(|t| t.task_type == "ensure-data-pvc") {
        "init"
    } else if plan.tasks.len() == 1 && plan.tasks[0].task_type == "mark-ready" {
        "mark-ready-reapply"
    } else {
        "unknown"
    }
}

impl Metrics {
    /// The Prometheus text exposition of every metric.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry).expect("writing to a String");
        out
    }

    pub fn reconciled(&self) {
        self.reconciles.get_or_create(&controller()).inc();
    }

    pub fn reconcile_failed(&self) {
        self.reconcile_errors.get_or_create(&controller()).inc();
    }

    pub fn status_written(&self) {
        self.status_writes.get_or_create(&controller()).inc();
    }

    /// A failed attempt of a plan task (retried or failing its plan).
    pub fn task_failed(&self, task_type: &str) {
        self.task_failures
            .get_or_create(&TaskLabels { controller: CONTROLLER.into(), task_type: task_type.into() })
            .inc();
    }

    /// A task call that could not reach its sidecar (or, throttled, was not made).
    pub fn sidecar_unreachable(&self, task_type: &str, cause: crate::reach::Cause) {
        if cause == crate::reach::Cause::Throttled {
            self.sidecar_throttled.get_or_create(&controller()).inc();
            return;
        }
        let labels = UnreachableLabels {
            controller: CONTROLLER.into(),
            task_type: task_type.into(),
            cause: cause.reason().into(),
        };
        self.sidecar_unreachable.get_or_create(&labels).inc();
    }

    fn track(&self, namespace: &str, name: &str) {
        self.nodes.lock().unwrap_or_else(|p| p.into_inner()).insert((namespace.into(), name.into()));
    }

    /// Drops the series of every node not in `alive` (deleted while another replica led,
    /// or without the finalizer's help).
    pub fn retain_nodes(&self, alive: &std::collections::HashSet<(String, String)>) {
        let gone: Vec<(String, String)> = self
            .nodes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .filter(|k| !alive.contains(*k))
            .cloned()
            .collect();
        for (ns, name) in gone {
            self.forget(&ns, &name);
        }
    }

    pub fn probe(&self, namespace: &str, name: &str, outcome: Probe) {
        self.track(namespace, name);
        let label = match outcome {
            Probe::Ready => "ready",
            Probe::NotReady => "not_ready",
            Probe::Unreachable => "unreachable",
        };
        let labels = ProbeLabels { controller: CONTROLLER.into(), namespace: namespace.into(), outcome: label.into() };
        self.probes.get_or_create(&labels).inc();
        let node = NodeLabels { namespace: namespace.into(), name: name.into() };
        self.sidecar_ready.get_or_create(&node).set(i64::from(matches!(outcome, Probe::Ready)));
    }

    /// A terminal plan cleared by the planner; `seconds` since its first submission.
    pub fn plan_finished(&self, namespace: &str, plan: &TaskPlan, seconds: Option<f64>) {
        let outcome = match plan.phase {
            PlanPhase::Complete => "complete",
            PlanPhase::Failed => "failed",
            PlanPhase::Active => return,
        };
        if let Some(s) = seconds {
            let labels = PlanLabels {
                controller: CONTROLLER.into(),
                namespace: namespace.into(),
                plan_type: plan_type(plan).into(),
                outcome: outcome.into(),
            };
            self.plan_duration.get_or_create(&labels).observe(s.max(0.0));
        }
    }

    /// A phase change; `seconds` spent in `from`.
    pub fn transition(
        &self,
        namespace: &str,
        chain_id: &str,
        from: Option<NodePhase>,
        to: NodePhase,
        seconds: Option<f64>,
    ) {
        let from_label = from.map(|p| p.as_str()).unwrap_or("");
        let labels = TransitionLabels {
            controller: CONTROLLER.into(),
            namespace: namespace.into(),
            from_phase: from_label.into(),
            to_phase: to.as_str().into(),
        };
        self.transitions.get_or_create(&labels).inc();
        if let (Some(from), Some(s)) = (from, seconds) {
            let labels = PhaseDurationLabels {
                namespace: namespace.into(),
                chain_id: chain_id.into(),
                phase: from.as_str().into(),
            };
            self.phase_duration.get_or_create(&labels).observe(s.max(0.0));
        }
    }

    /// The node's state after a reconcile: its phase (one-hot) and whether a plan is active.
    pub fn observe(&self, namespace: &str, name: &str, phase: Option<NodePhase>, plan_active: bool) {
        self.track(namespace, name);
        if let Some(current) = phase {
            for p in PHASES {
                let labels =
                    NodePhaseLabels { namespace: namespace.into(), name: name.into(), phase: p.as_str().into() };
                self.phase.get_or_create(&labels).set(i64::from(p == current));
            }
        }
        self.set_active(namespace, name, plan_active);
    }

    /// Drops every per-node series of a deleted node.
    pub fn forget(&self, namespace: &str, name: &str) {
        self.nodes.lock().unwrap_or_else(|p| p.into_inner()).remove(&(namespace.to_string(), name.to_string()));
        for p in PHASES {
            self.phase.remove(&NodePhaseLabels {
                namespace: namespace.into(),
                name: name.into(),
                phase: p.as_str().into(),
            });
        }
        self.sidecar_ready.remove(&NodeLabels { namespace: namespace.into(), name: name.into() });
        self.set_active(namespace, name, false);
    }

    fn set_active(&self, namespace: &str, name: &str, active: bool) {
        let mut map = self.active.lock().unwrap_or_else(|p| p.into_inner());
        if active {
            map.insert((namespace.into(), name.into()), true);
        } else {
            map.remove(&(namespace.to_string(), name.to_string()));
        }
        let count = map.keys().filter(|(ns, _)| ns == namespace).count();
        let labels = ControllerNamespace { controller: CONTROLLER.into(), namespace: namespace.into() };
        self.plan_active.get_or_create(&labels).set(count as i64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(types: &[&str], phase: PlanPhase) -> TaskPlan {
        serde_json::from_value(serde_json::json!({
            "phase": phase,
            "tasks": types.iter().map(|t| serde_json::json!({"type": t, "id": t, "status": "Complete"})).collect::<Vec<_>>(),
        }))
        .unwrap()
    }

    #[test]
    fn controller_counters_exist_at_zero_before_the_first_event() {
        let text = Metrics::default().encode();
        for name in ["reconciles", "reconcile_errors", "status_writes", "sidecar_calls_throttled"] {
            let line = format!("sei_controller_{name}_total{{controller=\"seinode\"}} 0");
            assert!(text.contains(&line), "{line} missing from\n{text}");
        }
    }

    #[test]
    fn plans_are_classified_like_the_reference() {
        assert_eq!(plan_type(&plan(&["ensure-data-pvc", "observe-image"], PlanPhase::Complete)), "node-update");
        assert_eq!(plan_type(&plan(&["ensure-data-pvc", "mark-ready"], PlanPhase::Complete)), "init");
        assert_eq!(plan_type(&plan(&["mark-ready"], PlanPhase::Complete)), "mark-ready-reapply");
        assert_eq!(plan_type(&plan(&["config-apply"], PlanPhase::Complete)), "unknown");
    }

    #[test]
    fn phase_gauge_is_one_hot_and_goes_with_the_node() {
        let m = Metrics::default();
        m.observe("ns", "a", Some(NodePhase::Running), true);
        m.observe("ns", "b", Some(NodePhase::Initializing), true);
        let text = m.encode();
        assert!(text.contains(r#"sei_controller_seinode_phase{namespace="ns",name="a",phase="Running"} 1"#), "{text}");
        assert!(text.contains(r#"sei_controller_seinode_phase{namespace="ns",name="a",phase="Pending"} 0"#));
        assert!(text.contains(r#"sei_controller_plan_active{controller="seinode",namespace="ns"} 2"#), "{text}");
        m.observe("ns", "a", Some(NodePhase::Running), false);
        m.forget("ns", "b");
        let text = m.encode();
        assert!(!text.contains(r#"name="b""#), "{text}");
        assert!(text.contains(r#"sei_controller_plan_active{controller="seinode",namespace="ns"} 0"#), "{text}");
    }

    #[test]
    fn transitions_record_time_spent_in_the_phase_left() {
        let m = Metrics::default();
        m.transition("ns", "pacific-1", Some(NodePhase::Initializing), NodePhase::Running, Some(42.0));
        m.probe("ns", "a", Probe::Unreachable);
        m.reconcile_failed();
        m.task_failed("snapshot-restore");
        let text = m.encode();
        assert!(
            text.contains(r#"sei_controller_task_failures_total{controller="seinode",task_type="snapshot-restore"} 1"#)
        );
        assert!(text.contains(
            r#"sei_controller_seinode_phase_transitions_total{controller="seinode",namespace="ns",from_phase="Initializing",to_phase="Running"} 1"#
        ), "{text}");
        assert!(text.contains(
            r#"sei_controller_seinode_phase_duration_seconds_sum{namespace="ns",chain_id="pacific-1",phase="Initializing"} 42.0"#
        ), "{text}");
        assert!(text.contains(r#"sei_controller_seinode_sidecar_ready{namespace="ns",name="a"} 0"#));
        assert!(text.contains(r#"sei_controller_reconcile_errors_total{controller="seinode"} 1"#));
    }
}
