//! Why a reconcile stopped, sorted into what the operator should do about it.

use std::time::Duration;

/// A reconcile that could not finish.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("kubernetes API: {0}")]
    Kube(#[from] kube::Error),
    /// Something that may resolve by itself: retried with backoff.
    #[error("{0}")]
    Transient(String),
    /// Something in the cluster a person must fix (e.g. a Secret in a bad state).
    #[error("{0}")]
    Misconfigured(String),
}

/// What kind of failure an error is, which decides how it is retried and reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Category {
    /// Network trouble, API server overloaded or restarting: back off and retry.
    Transient,
    /// The object changed under the reconcile (HTTP 409): retry soon on fresh data.
    Conflict,
    /// The operator lacks a permission (HTTP 401/403): a person must fix RBAC.
    Permission,
    /// A kind or namespace the reconcile needs does not exist (HTTP 404).
    NotFound,
    /// The API server refused what the operator sent (HTTP 400/422).
    Invalid,
}

impl Category {
    /// Whether retrying without a change by a person can help.
    pub fn needs_a_person(self) -> bool {
        matches!(self, Category::Permission | Category::NotFound | Category::Invalid)
    }

    /// The condition reason that reports it.
    pub fn reason(self) -> &'static str {
        match self {
            Category::Transient => "Transient",
            Category::Conflict => "Conflict",
            Category::Permission => "Forbidden",
            Category::NotFound => "NotFound",
            Category::Invalid => "Invalid",
        }
    }
}

impl Error {
    pub fn category(&self) -> Category {
        match self {
            Error::Kube(kube::Error::Api(s)) => match s.code {
                409 => Category::Conflict,
                // Creating in a namespace that is being deleted: it will be gone shortly.
                403 if s.message.contains("being terminated") => Category::Transient,
                401 | 403 => Category::Permission,
                404 => Category::NotFound,
                400 | 422 => Category::Invalid,
                _ => Category::Transient,
            },
            Error::Misconfigured(_) => Category::Invalid,
            _ => Category::Transient,
        }
    }

    /// Whether this is the API server saying that SeiNode `name` itself does not exist (it
    /// was deleted while the reconcile ran): nothing left to do, nobody to tell.
    pub fn is_gone(&self, name: &str) -> bool {
        matches!(self, Error::Kube(kube::Error::Api(s)) if s.code == 404
            && s.details.as_ref().is_some_and(|d| d.kind == "seinodes" && d.name == name))
    }

    /// A short hint on what to do, for the condition message.
    pub fn hint(&self) -> &'static str {
        match self.category() {
            Category::Permission => {
                " (grant the operator's ServiceAccount this permission: see deploy/rbac/role.yaml; retried every 5 minutes)"
            }
            Category::NotFound => " (a kind or namespace the operator needs is missing; retried every 5 minutes)",
            Category::Invalid => " (retried every 5 minutes)",
            _ => "",
        }
    }
}

/// Per-object retry delays for errors: exponential from `BASE`, capped at `CAP`.
pub const BACKOFF_BASE: Duration = Duration::from_millis(500);
pub const BACKOFF_CAP: Duration = Duration::from_secs(60);
/// How often an error that needs a person is retried (it is reported in a condition).
pub const PERSON_RETRY: Duration = Duration::from_secs(300);

/// The delay before retry number `attempt` (1 for the first retry).
pub fn backoff(attempt: u32) -> Duration {
    let factor = 1u32.checked_shl(attempt.saturating_sub(1).min(16)).unwrap_or(u32::MAX);
    BACKOFF_BASE.saturating_mul(factor).min(BACKOFF_CAP)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(code: u16) -> Error {
        Error::Kube(kube::Error::Api(kube::core::Status::failure("x", "y").with_code(code).boxed()))
    }

    #[test]
    fn http_codes_sort_into_categories() {
        assert_eq!(api(409).category(), Category::Conflict);
        assert_eq!(api(403).category(), Category::Permission);
        assert_eq!(api(404).category(), Category::NotFound);
        assert_eq!(api(422).category(), Category::Invalid);
        assert_eq!(api(500).category(), Category::Transient);
        assert_eq!(api(429).category(), Category::Transient);
        assert_eq!(Error::Transient("x".into()).category(), Category::Transient);
        assert_eq!(Error::Misconfigured("x".into()).category(), Category::Invalid);
        let terminating = kube::core::Status::failure("namespaces \"x\" is being terminated", "Forbidden");
        assert_eq!(Error::Kube(kube::Error::Api(terminating.with_code(403).boxed())).category(), Category::Transient);
        assert!(api(403).category().needs_a_person() && !api(503).category().needs_a_person());
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let delays: Vec<u64> = (1..=10).map(|n| backoff(n).as_millis() as u64).collect();
        assert_eq!(delays, [500, 1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000]);
        assert_eq!(backoff(u32::MAX), BACKOFF_CAP);
    }
}
