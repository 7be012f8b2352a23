//! Types shared by both kinds.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Lifecycle phase of a `SeiNode`.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NodePhase {
    Pending,
    Initializing,
    Running,
    Failed,
    Terminating,
}

impl NodePhase {
    pub fn as_str(self) -> &'static str {
        match self {
            NodePhase::Pending => "Pending",
            NodePhase::Initializing => "Initializing",
            NodePhase::Running => "Running",
            NodePhase::Failed => "Failed",
            NodePhase::Terminating => "Terminating",
        }
    }
}

impl std::fmt::Display for NodePhase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
