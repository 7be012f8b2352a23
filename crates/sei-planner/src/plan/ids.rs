//! Deterministic task IDs (UUIDv5), stable within a plan and new for every rebuilt plan.

use uuid::Uuid;

/// Namespace of task IDs.
pub const TASK_NAMESPACE: Uuid = Uuid::from_u128(0xb7e89c3a_4f12_4d8b_9a6e_1c2d3e4f5a6b);
/// Namespace of the per-node sub-task IDs of roll-out tasks.
pub const SUB_TASK_NAMESPACE: Uuid = Uuid::from_u128(0xd4a7e1f3_8b29_4c6d_a5e0_2f1d3c4b5a6e);

/// The ID of the task at `index` of plan `plan_id`: UUIDv5 of `<planID>/<type>/<index>`.
pub fn task_id(plan_id: &str, task_type: &str, index: usize) -> String {
    Uuid::new_v5(&TASK_NAMESPACE, format!("{plan_id}/{task_type}/{index}").as_bytes()).to_string()
}

/// The ID of a per-node sub-task (`kind` is `await-height` or `halt-signal`).
pub fn sub_task_id(node: &str, kind: &str, parent: &str) -> String {
    Uuid::new_v5(&SUB_TASK_NAMESPACE, format!("{node}/{kind}/{parent}").as_bytes()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_version_5_deterministic_and_distinct() {
        let plan = "0b9f6a53-3c1e-4c52-9d54-1f1f4c4b2a10";
        let a = task_id(plan, "config-apply", 3);
        assert_eq!(a, task_id(plan, "config-apply", 3));
        assert_ne!(a, task_id(plan, "config-apply", 4));
        assert_ne!(a, task_id("another-plan", "config-apply", 3));
        assert_eq!(Uuid::parse_str(&a).unwrap().get_version_num(), 5);
        assert_eq!(TASK_NAMESPACE.to_string(), "b7e89c3a-4f12-4d8b-9a6e-1c2d3e4f5a6b");
        assert_eq!(SUB_TASK_NAMESPACE.to_string(), "d4a7e1f3-8b29-4c6d-a5e0-2f1d3c4b5a6e");
    }
}
