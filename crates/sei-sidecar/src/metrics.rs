//! The task metrics of the reference (names, labels and buckets kept).

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TypeLabel {
    pub r#type: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TypeStatusLabel {
    pub r#type: String,
    pub status: String,
}

const BUCKETS: [f64; 11] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

pub struct Metrics {
    pub registry: Registry,
    pub submissions: Family<TypeLabel, Counter>,
    pub failures: Family<TypeLabel, Counter>,
    pub duration: Family<TypeStatusLabel, Histogram>,
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::default();
        let submissions = Family::<TypeLabel, Counter>::default();
        let failures = Family::<TypeLabel, Counter>::default();
        let duration = Family::<TypeStatusLabel, Histogram>::new_with_constructor(|| Histogram::new(BUCKETS));
        registry.register("seictl_task_submissions", "Task submissions that started a run", submissions.clone());
        registry.register("seictl_task_failures", "Task runs that failed", failures.clone());
        registry.register("seictl_task_execution_duration_seconds", "Task run time", duration.clone());
        Metrics { registry, submissions, failures, duration }
    }

    pub fn encode(&self) -> String {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry).expect("writing to a String");
        out
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}
