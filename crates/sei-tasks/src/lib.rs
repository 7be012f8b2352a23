//! The contract between the operator and the node sidecar, shared by both sides and by
//! the planner:
//!
//! - [`TaskType`]: the sidecar's task types, named once, with their wire names;
//! - [`Task`]: a task with its typed parameters ([`params`]), which refuse unknown keys
//!   and have no defaults for required fields;
//! - [`TaskRequest`]: the body of `POST /v0/tasks`, decoded in one step;
//! - the response bodies ([`TaskResult`], [`SubmitResponse`], ...);
//! - [`StoredTask`]: the parameters as a SeiNode plan stores them (the reference's Go
//!   field names), and their conversion into a request.
//!
//! Serialising these types gives the reference's wire format (sidecar.md §2 and §7,
//! controller.md §9.2); `tests/reference.rs` checks it against the specs' examples.

pub mod params;
mod request;
mod response;
pub mod stored;
mod task;

pub use request::{RequestError, TaskRequest};
pub use response::{
    ErrorResponse, NodeIdResponse, NodeStatus, SUBMISSION_HEADER, StatusResponse, Submission, SubmitResponse,
    TaskResult, TaskStatus,
};
pub use stored::{StoredError, StoredTask};
pub use task::{ParamsError, Task, TaskType, UnknownTaskType};
