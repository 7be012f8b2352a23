//! API types of the Sei operator (`sei.io/v1alpha1`).
//!
//! Wire-compatible with the reference operator's CRDs: every field name, type, enum,
//! bound and CEL rule matches, except for the deliberate fixes listed in
//! [`crd::FIXES`] and `docs/api-compatibility.md`.

pub mod common;
pub mod crd;
pub mod deployment;
pub mod node;
pub mod plan;
mod schema;

pub use deployment::{SeiNodeDeployment, SeiNodeDeploymentSpec, SeiNodeDeploymentStatus};
pub use node::{SeiNode, SeiNodeSpec, SeiNodeStatus};
pub use plan::{PlannedTask, TaskPlan};

/// API group of both kinds.
pub const GROUP: &str = "sei.io";
/// The only served and stored version.
pub const VERSION: &str = "v1alpha1";
