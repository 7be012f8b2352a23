//! Pure planning and resource building for the Sei operator. Nothing here talks to the
//! cluster or reads the clock: the controllers feed objects in and apply what comes out.

pub mod executor;
pub mod group;
pub mod names;
pub mod plan;
pub mod platform;
pub mod rbac;
pub mod resources;
pub mod shell;
pub mod status;

pub use platform::{Platform, PlatformError};
