//! The DNS gate of fleet networking (§8.7): a fleet with public routes gets no children
//! until its first route's hostname resolves, so that nodes do not start behind a name
//! nobody can reach yet.

use std::time::Duration;

use hickory_resolver::TokioResolver;
use hickory_resolver::config::{NameServerConfigGroup, ResolverConfig};
use hickory_resolver::name_server::TokioConnectionProvider;

pub struct DnsGate(TokioResolver);

impl DnsGate {
    /// Asks `server` when given (`SEI_GATEWAY_RESOLVER`), else the system's resolver.
    pub fn new(server: Option<std::net::SocketAddr>) -> DnsGate {
        let mut builder = match server {
            Some(addr) => {
                let servers = NameServerConfigGroup::from_ips_clear(&[addr.ip()], addr.port(), true);
                TokioResolver::builder_with_config(
                    ResolverConfig::from_parts(None, vec![], servers),
                    TokioConnectionProvider::default(),
                )
            }
            None => TokioResolver::builder_tokio().unwrap_or_else(|e| {
                tracing::warn!(error = %e, "cannot read the system DNS configuration; using defaults");
                TokioResolver::builder_with_config(Default::default(), Default::default())
            }),
        };
        let options = builder.options_mut();
        options.timeout = Duration::from_secs(2);
        options.attempts = 2;
        // A name that appears must open the gate at the next look, not after a cached "no".
        options.negative_max_ttl = Some(Duration::from_secs(1));
        options.cache_size = 0;
        DnsGate(builder.build())
    }

    /// Whether `host` resolves to an address now.
    pub async fn resolves(&self, host: &str) -> bool {
        self.0.lookup_ip(host).await.is_ok_and(|found| found.iter().next().is_some())
    }
}
