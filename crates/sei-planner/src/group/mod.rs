//! Pure logic of the SeiNodeDeployment controller (§7.10, §8 of the controller spec): the
//! template hash, the child nodes a deployment wants and how existing ones converge, and
//! the fleet status computed from the children. Nothing here talks to the cluster.

pub mod children;
pub mod genesis;
pub mod hash;
pub mod monitoring;
pub mod networking;
pub mod rollout;
pub mod service;
pub mod status;

pub use children::{
    Convergence, child, child_name, child_named, controlled_by, converge, entrant_name, name_for, not_of_revision,
    of_revision, ordinal_of, revision_of, serving_revision, to_scale_down,
};
pub use hash::template_hash;
pub use rollout::{Detected, detect};
pub use service::{internal_service, internal_service_name, internal_service_status};
pub use status::{FleetView, phase};
