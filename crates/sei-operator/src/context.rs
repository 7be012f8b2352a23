//! What every reconcile shares.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use kube::Client;
use sei_planner::Platform;

pub struct Context {
    pub client: Client,
    pub platform: Platform,
    pub http: reqwest::Client,
    /// Development and test setting: a JSON file mapping `namespace/name` to a sidecar base
    /// URL, used instead of the pod's DNS name (see docs/operator.md).
    pub sidecar_addresses: Option<PathBuf>,
    pub metrics: crate::metrics::Metrics,
    /// Publishes Events as `seinode-controller`.
    pub recorder: kube::runtime::events::Recorder,
    /// Sidecar tokens by node UID, so that a reconcile does not read the token Secret
    /// every time (it did: the most frequent request of a fleet).
    pub tokens: TokenCache,
    /// Resource versions this operator has replaced by its own writes, by node UID.
    pub superseded: Superseded,
}

/// The watch cache lags behind the operator's own writes: a reconcile requeued right after
/// a status write would otherwise see the node as it was before, redo the last step and
/// have its write refused (409) — measured at 1.7 conflicts per node while a fleet
/// initialised. A reconcile of a version listed here waits for the cache instead.
#[derive(Default)]
pub struct Superseded(Mutex<HashMap<String, (String, Instant)>>);

/// How long the cache may lag before a reconcile goes ahead anyway (its write then meets
/// the resourceVersion precondition, as without this guard): nothing waits forever.
const CACHE_PATIENCE: Duration = Duration::from_secs(5);

impl Superseded {
    /// `uid`'s version `old` was replaced by a successful write.
    pub fn wrote(&self, uid: &str, old: &str) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).insert(uid.into(), (old.into(), Instant::now()));
    }

    /// Whether `version` of `uid` is one the operator already replaced, within the last
    /// few seconds.
    pub fn is_stale(&self, uid: &str, version: &str) -> bool {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        match map.get(uid) {
            Some((old, at)) if old == version && at.elapsed() < CACHE_PATIENCE => true,
            Some(_) => {
                map.remove(uid);
                false
            }
            None => false,
        }
    }

    pub fn forget(&self, uid: &str) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).remove(uid);
    }
}

/// How long a cached sidecar token is trusted before its Secret is read again (and
/// re-created if someone deleted it).
const TOKEN_TTL: Duration = Duration::from_secs(600);

#[derive(Default)]
pub struct TokenCache(Mutex<HashMap<String, (String, Instant)>>);

impl TokenCache {
    pub fn get(&self, uid: &str) -> Option<String> {
        let map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.get(uid).filter(|(_, at)| at.elapsed() < TOKEN_TTL).map(|(t, _)| t.clone())
    }

    pub fn put(&self, uid: &str, token: &str) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).insert(uid.into(), (token.into(), Instant::now()));
    }

    pub fn forget(&self, uid: &str) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).remove(uid);
    }
}

/// Starts the user agent of every API request, so that the operator's requests stand out
/// in the API server's audit log and metrics.
pub const USER_AGENT: &str = concat!("sei-operator/", env!("CARGO_PKG_VERSION"));

/// The operator's API client: `config` plus the operator's user agent, which names the
/// replica (`sei-operator/0.1.0 (pod-name)`) when `replica` is given.
pub fn client(mut config: kube::Config, replica: Option<&str>) -> Result<Client, kube::Error> {
    let agent = match replica {
        Some(name) => format!("{USER_AGENT} ({name})"),
        None => USER_AGENT.to_string(),
    };
    let value = http::HeaderValue::from_str(&agent).unwrap_or(http::HeaderValue::from_static(USER_AGENT));
    config.headers.push((http::header::USER_AGENT, value));
    Client::try_from(config)
}

/// The Event recorder of the SeiNode controller.
pub fn recorder(client: &Client) -> kube::runtime::events::Recorder {
    kube::runtime::events::Recorder::new(client.clone(), sei_planner::names::MANAGER_NODE.into())
}

impl Context {
    /// A context for `client`, with a sidecar HTTP client that gives up after 10 s.
    pub fn new(
        client: Client,
        platform: Platform,
        sidecar_addresses: Option<PathBuf>,
    ) -> Result<Context, reqwest::Error> {
        Ok(Context {
            recorder: recorder(&client),
            client,
            platform,
            // Idle connections are dropped before the sidecar's 5 s header-read timeout
            // would close them under a request.
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .pool_idle_timeout(Duration::from_secs(4))
                .build()?,
            sidecar_addresses,
            metrics: Default::default(),
            tokens: Default::default(),
            superseded: Default::default(),
        })
    }

    /// The sidecar base URL of a node: its pod DNS name, unless the address file names it.
    pub fn sidecar_url(&self, namespace: &str, name: &str, default: String) -> String {
        let Some(path) = &self.sidecar_addresses else { return default };
        let map: HashMap<String, String> =
            std::fs::read(path).ok().and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or_default();
        map.get(&format!("{namespace}/{name}")).cloned().unwrap_or(default)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_replaced_version_is_stale_and_only_until_a_newer_one_is_seen() {
        let s = Superseded::default();
        assert!(!s.is_stale("u", "1"));
        s.wrote("u", "1");
        assert!(s.is_stale("u", "1"), "the cache still shows what was replaced");
        assert!(s.is_stale("u", "1"));
        assert!(!s.is_stale("v", "1"), "per node");
        assert!(!s.is_stale("u", "2"), "the cache caught up");
        assert!(!s.is_stale("u", "1"), "forgotten once caught up");
        // A cache that never catches up does not hold the node back for ever.
        s.0.lock().unwrap().insert("w".into(), ("7".into(), Instant::now() - CACHE_PATIENCE));
        assert!(!s.is_stale("w", "7"));
    }
}
