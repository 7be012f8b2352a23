use serde_json::Value;

use super::{TaskContext, TaskError};

/// Always succeeds; the engine then marks the node ready (and remembers it).
pub async fn mark_ready(_: TaskContext, _: Value) -> Result<(), TaskError> {
    Ok(())
}
