//! The Sei operator.
pub mod sidecar;
