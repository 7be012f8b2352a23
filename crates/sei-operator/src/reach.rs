//! How the operator reaches sidecars: one HTTP client with asynchronous name resolution,
//! short timeouts and a bound on calls in flight, and failures sorted by cause.
//!
//! At fleet scale most sidecars are unreachable for a while (pods starting): with the
//! system resolver every lookup held a blocking thread (515 threads at 1,000 nodes), so
//! names are resolved asynchronously and calls wait for a permit instead of piling up.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Sidecar calls in flight at once, across every node.
pub const CALLS_IN_FLIGHT: usize = 64;
/// How long a connection attempt may take (a pod's sidecar answers in milliseconds).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// How long a whole task request may take.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a health probe may take.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// Why a sidecar could not be reached or answered wrongly.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Cause {
    /// Its DNS name does not resolve (the pod does not exist or is not scheduled yet).
    NameNotFound,
    /// Nothing listens at its address (the pod runs, the sidecar has not started).
    Refused,
    /// No answer in time.
    TimedOut,
    /// It answered with an unexpected HTTP status.
    Http,
    /// Anything else on the way (TLS, reset connections, bad bodies).
    Other,
}

impl Cause {
    /// The condition reason and metric label.
    pub fn reason(self) -> &'static str {
        match self {
            Cause::NameNotFound => "NameNotFound",
            Cause::Refused => "ConnectionRefused",
            Cause::TimedOut => "Timeout",
            Cause::Http => "UnexpectedResponse",
            Cause::Other => "Unreachable",
        }
    }

    /// Words for a person.
    pub fn describe(self) -> &'static str {
        match self {
            Cause::NameNotFound => "its DNS name does not resolve (is the pod scheduled?)",
            Cause::Refused => "the connection was refused (is the sidecar container running?)",
            Cause::TimedOut => "it did not answer in time",
            Cause::Http => "it answered with an unexpected HTTP status",
            Cause::Other => "the request failed",
        }
    }

    /// Sorts a failed request by walking its chain of causes.
    pub fn of(error: &reqwest::Error) -> Cause {
        if error.is_timeout() {
            return Cause::TimedOut;
        }
        let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
        while let Some(e) = source {
            if let Some(io) = e.downcast_ref::<std::io::Error>() {
                match io.kind() {
                    std::io::ErrorKind::ConnectionRefused => return Cause::Refused,
                    std::io::ErrorKind::TimedOut => return Cause::TimedOut,
                    _ => {}
                }
            }
            let text = e.to_string().to_ascii_lowercase();
            if text.contains("dns error")
                || text.contains("no record found")
                || text.contains("failed to lookup")
                || text.contains("name or service not known")
            {
                return Cause::NameNotFound;
            }
            source = e.source();
        }
        Cause::Other
    }
}

/// The shared HTTP client of every sidecar call.
#[derive(Clone)]
pub struct SidecarHttp {
    pub client: reqwest::Client,
    permits: Arc<Semaphore>,
}

impl SidecarHttp {
    pub fn new() -> Result<SidecarHttp, reqwest::Error> {
        let client = reqwest::Client::builder()
            .hickory_dns(true)
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            // Idle connections are dropped before the sidecar's 5 s header-read timeout
            // would close them under a request.
            .pool_idle_timeout(Duration::from_secs(4))
            .pool_max_idle_per_host(1)
            .build()?;
        Ok(SidecarHttp { client, permits: Arc::new(Semaphore::new(CALLS_IN_FLIGHT)) })
    }

    /// Waits for a place among the calls in flight.
    pub async fn permit(&self) -> OwnedSemaphorePermit {
        self.permits.clone().acquire_owned().await.expect("the semaphore is never closed")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn cause_of(url: &str) -> Cause {
        let http = SidecarHttp::new().unwrap();
        let err = http.client.get(url).timeout(Duration::from_millis(500)).send().await.unwrap_err();
        Cause::of(&err)
    }

    #[tokio::test]
    async fn failures_are_sorted_by_cause() {
        // A port nobody listens on.
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        assert_eq!(cause_of(&format!("http://127.0.0.1:{port}/")).await, Cause::Refused);
        // A listener that accepts and never answers.
        let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = silent.local_addr().unwrap();
        let _keep = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((s, _)) = silent.accept().await {
                held.push(s);
            }
        });
        assert_eq!(cause_of(&format!("http://{addr}/")).await, Cause::TimedOut);
        // `.invalid` never resolves (RFC 2606).
        assert_eq!(cause_of("http://sidecar-0.sidecar.ns.svc.cluster.invalid:7777/").await, Cause::NameNotFound);
    }
}
