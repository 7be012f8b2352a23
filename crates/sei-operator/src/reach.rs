//! How the operator reaches sidecars: one HTTP client with asynchronous name resolution,
//! short timeouts and a bound on calls in flight, and failures sorted by cause.
//!
//! At fleet scale most sidecars are unreachable for a while (pods starting): with the
//! system resolver every lookup held a blocking thread (515 threads at 1,000 nodes), so
//! names are resolved asynchronously, a name that does not exist is remembered for a few
//! seconds, and a call that finds no free place soon is not made at all (the node is
//! polled again later) rather than queueing behind a thousand others.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hickory_resolver::TokioResolver;
use hickory_resolver::config::LookupIpStrategy;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Sidecar calls in flight at once, across every node. A call to a starting pod takes up
/// to the connect timeout; more in flight only means more DNS queries at once, which
/// cluster DNS (and this machine's) answers more slowly or drops.
pub const CALLS_IN_FLIGHT: usize = 16;
/// How long a call waits for a place among those in flight before it is given up as
/// [`Cause::Throttled`] (the reconcile then comes back later instead of holding its slot).
pub const PERMIT_WAIT: Duration = Duration::from_millis(200);
/// How long "this name does not exist" is believed: a pod's DNS record appears when it is
/// scheduled, so not for long.
const NEGATIVE_TTL: Duration = Duration::from_secs(5);
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
    /// Not tried: too many sidecar calls were in flight.
    Throttled,
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
            Cause::Throttled => "Throttled",
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
            Cause::Throttled => "not tried, too many sidecar calls were in flight",
        }
    }

    /// The cause to keep when `self` follows `earlier` for the same sidecar: a timeout
    /// says less than a missing name or a refused connection (a lookup or a connect that
    /// ran out of time under load), and a call not made says nothing new.
    pub fn after(self, earlier: Option<Cause>) -> Cause {
        match (self, earlier) {
            (Cause::TimedOut, Some(e @ (Cause::NameNotFound | Cause::Refused))) => e,
            (Cause::Throttled, Some(e)) => e,
            _ => self,
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

/// Asynchronous lookups with short timeouts and a short negative cache. Settings come
/// from `/etc/resolv.conf` (cluster DNS in a pod); IPv4 is asked for first, as pod
/// addresses are.
struct Resolver(TokioResolver);

impl Resolver {
    fn new() -> Resolver {
        let mut builder = TokioResolver::builder_tokio().unwrap_or_else(|e| {
            tracing::warn!(error = %e, "cannot read the system DNS configuration; using defaults");
            TokioResolver::builder_with_config(Default::default(), Default::default())
        });
        let options = builder.options_mut();
        options.ip_strategy = LookupIpStrategy::Ipv4thenIpv6;
        options.timeout = Duration::from_secs(1);
        options.attempts = 2;
        options.negative_min_ttl = Some(NEGATIVE_TTL);
        options.negative_max_ttl = Some(NEGATIVE_TTL);
        Resolver(builder.build())
    }
}

impl Resolve for Resolver {
    fn resolve(&self, name: Name) -> Resolving {
        let resolver = self.0.clone();
        Box::pin(async move {
            let found = resolver.lookup_ip(name.as_str()).await?;
            let addrs: Addrs = Box::new(found.into_iter().map(|ip| SocketAddr::new(ip, 0)));
            Ok(addrs)
        })
    }
}

impl SidecarHttp {
    pub fn new() -> Result<SidecarHttp, reqwest::Error> {
        let client = reqwest::Client::builder()
            .dns_resolver(Arc::new(Resolver::new()))
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            // Idle connections are dropped before the sidecar's 5 s header-read timeout
            // would close them under a request.
            .pool_idle_timeout(Duration::from_secs(4))
            .pool_max_idle_per_host(1)
            .build()?;
        Ok(SidecarHttp { client, permits: Arc::new(Semaphore::new(CALLS_IN_FLIGHT)) })
    }

    /// A place among the calls in flight, if one frees up within [`PERMIT_WAIT`].
    pub async fn permit(&self) -> Option<OwnedSemaphorePermit> {
        let wait = self.permits.clone().acquire_owned();
        tokio::time::timeout(PERMIT_WAIT, wait).await.ok().map(|p| p.expect("the semaphore is never closed"))
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

    #[test]
    fn a_timeout_or_a_skipped_call_does_not_hide_what_was_known() {
        assert_eq!(Cause::TimedOut.after(Some(Cause::Refused)), Cause::Refused);
        assert_eq!(Cause::TimedOut.after(Some(Cause::NameNotFound)), Cause::NameNotFound);
        assert_eq!(Cause::TimedOut.after(None), Cause::TimedOut);
        assert_eq!(Cause::Throttled.after(Some(Cause::TimedOut)), Cause::TimedOut);
        assert_eq!(Cause::Throttled.after(None), Cause::Throttled);
        // A new, specific answer replaces an older one.
        assert_eq!(Cause::Refused.after(Some(Cause::NameNotFound)), Cause::Refused);
        assert_eq!(Cause::Http.after(Some(Cause::TimedOut)), Cause::Http);
    }

    #[tokio::test]
    async fn a_call_that_finds_no_place_soon_is_not_made() {
        let http = SidecarHttp::new().unwrap();
        let held: Vec<_> = futures::future::join_all((0..CALLS_IN_FLIGHT).map(|_| http.permit())).await;
        assert!(held.iter().all(Option::is_some));
        let started = std::time::Instant::now();
        assert!(http.permit().await.is_none(), "every place is taken");
        assert!(started.elapsed() >= PERMIT_WAIT);
        drop(held);
        assert!(http.permit().await.is_some(), "places are free again");
    }
}
