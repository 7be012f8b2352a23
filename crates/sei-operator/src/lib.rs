//! The Sei operator: the SeiNode controller (the SeiNodeDeployment controller follows).
//! Reconciles are plan-driven: plans and resources come from `sei-planner`; this crate
//! reads and writes the cluster and talks to sidecars.

pub mod context;
pub mod error;
pub mod node;
pub mod sidecar;
