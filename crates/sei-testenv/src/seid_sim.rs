//! A stand-in for seid's CometBFT RPC, for tests only: `/status`, `/net_info`, `/block`
//! and `/block_results`. It answers in seid's flat format, or wrapped in a JSON-RPC
//! envelope like upstream CometBFT when asked. It also accepts proxy-style
//! (absolute-form) request lines, so it can stand behind [`crate::PeerNetwork`].
//!
//! Its height is either set by the test, or follows a live chain ([`LiveChain`]): the
//! chain's tip advances one block per [`BLOCK_TIME`] from the chain's epoch, and a node
//! that joins catches up with it over [`CATCH_UP`] (reporting `catching_up` meanwhile).
//! Run as its own process (`seid-sim`), it stops when sent SIGTERM, as seid does, and
//! notes the height it stopped at.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use sei_sidecar::keys;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// A running simulator; stops when dropped.
pub struct SeidSimulator {
    pub port: u16,
    state: Arc<State>,
    task: tokio::task::JoinHandle<()>,
}

/// One block per this long on a live chain.
pub const BLOCK_TIME: Duration = Duration::from_millis(200);
/// How long a node joining a live chain takes to reach its tip.
pub const CATCH_UP: Duration = Duration::from_secs(3);

/// A chain whose tip moves with the wall clock, shared by every simulator (and process)
/// given the same epoch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LiveChain {
    /// When the chain was at height 0, in milliseconds since the Unix epoch.
    pub epoch_ms: u64,
}

impl LiveChain {
    /// A chain starting now.
    pub fn starting_now() -> LiveChain {
        LiveChain { epoch_ms: SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_millis() as u64 }
    }

    /// The chain's tip now.
    pub fn tip(&self) -> i64 {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_millis() as u64;
        (now.saturating_sub(self.epoch_ms) / BLOCK_TIME.as_millis() as u64) as i64 + 1
    }
}

struct Live {
    chain: LiveChain,
    joined: Instant,
    catch_up: Duration,
}

impl Live {
    /// The node's height and whether it is still catching up.
    fn height(&self) -> (i64, bool) {
        let tip = self.chain.tip();
        let elapsed = self.joined.elapsed();
        if elapsed >= self.catch_up {
            return (tip, false);
        }
        let synced = (tip as f64 * elapsed.as_secs_f64() / self.catch_up.as_secs_f64()) as i64;
        (synced.max(1), true)
    }
}

struct State {
    requests: AtomicI64,
    height: AtomicI64,
    /// Following a live chain (until a test sets a height).
    live: std::sync::Mutex<Option<Live>>,
    /// From this height on, blocks get another app hash and transactions another gas use.
    diverge_from: AtomicI64,
    catching_up: AtomicBool,
    jsonrpc: AtomicBool,
    node_id: NodeId,
    /// Operator addresses the staking REST API knows (seid's API server on :1317).
    validators: std::sync::Mutex<std::collections::BTreeSet<String>>,
}

enum NodeId {
    Fixed(String),
    /// The ID of the home's `config/node_key.json`; like seid on its first start, the
    /// simulator creates that key if nobody has placed one.
    KeyFile(PathBuf),
}

impl NodeId {
    fn get(&self) -> Result<String, String> {
        match self {
            NodeId::Fixed(id) => Ok(id.clone()),
            NodeId::KeyFile(path) => {
                // One creator at a time within this process; the sidecar is kept apart by
                // the no-clobber link below.
                static CREATING: std::sync::Mutex<()> = std::sync::Mutex::new(());
                let _guard = CREATING.lock().unwrap_or_else(|p| p.into_inner());
                let key = match std::fs::read_to_string(path) {
                    Ok(text) => keys::parse_key_file(&text)?,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                        let key = keys::generate()?;
                        match place_new(path, &keys::node_key_json(&key).to_string())? {
                            true => key,
                            // Someone placed a key meanwhile: that one counts.
                            false => keys::parse_key_file(&std::fs::read_to_string(path).map_err(|e| e.to_string())?)?,
                        }
                    }
                    Err(e) => return Err(format!("{}: {e}", path.display())),
                };
                Ok(keys::node_id(&key))
            }
        }
    }
}

/// Writes `path` whole (temp file, then a hard link that never replaces an existing file);
/// false if it existed by then.
fn place_new(path: &std::path::Path, text: &str) -> Result<bool, String> {
    let parent = path.parent().ok_or("no parent directory")?;
    std::fs::create_dir_all(parent).map_err(|e| e.to_string())?;
    let tmp = parent.join(format!(".node_key.{}.tmp", std::process::id()));
    std::fs::write(&tmp, text).map_err(|e| e.to_string())?;
    let linked = std::fs::hard_link(&tmp, path);
    let _ = std::fs::remove_file(&tmp);
    match linked {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(e.to_string()),
    }
}

impl SeidSimulator {
    /// Listens on a free loopback port and reports `node_id`.
    pub async fn start(node_id: &str) -> std::io::Result<SeidSimulator> {
        Self::start_with(NodeId::Fixed(node_id.to_string()), ([127, 0, 0, 1], 0)).await
    }

    /// Plays the seid of the node whose home is `home`: it reports the node ID of the
    /// node key the sidecar placed there.
    pub async fn for_home(home: &std::path::Path) -> std::io::Result<SeidSimulator> {
        Self::for_home_on(home, 0).await
    }

    /// [`for_home`](SeidSimulator::for_home) on loopback port `port` (0: a free one).
    pub async fn for_home_on(home: &std::path::Path, port: u16) -> std::io::Result<SeidSimulator> {
        Self::for_home_at(home, ([127, 0, 0, 1], port).into()).await
    }

    /// [`for_home`](SeidSimulator::for_home) listening on `addr` (seid in a pod: every
    /// address, port 26657).
    pub async fn for_home_at(home: &std::path::Path, addr: std::net::SocketAddr) -> std::io::Result<SeidSimulator> {
        Self::start_with(NodeId::KeyFile(home.join("config").join("node_key.json")), addr).await
    }

    async fn start_with(node_id: NodeId, addr: impl Into<std::net::SocketAddr>) -> std::io::Result<SeidSimulator> {
        let listener = TcpListener::bind(addr.into()).await?;
        let port = listener.local_addr()?.port();
        let state = Arc::new(State {
            requests: AtomicI64::new(0),
            height: AtomicI64::new(1),
            live: std::sync::Mutex::new(None),
            diverge_from: AtomicI64::new(i64::MAX),
            validators: Default::default(),
            catching_up: AtomicBool::new(false),
            jsonrpc: AtomicBool::new(false),
            node_id,
        });
        let shared = state.clone();
        let task = tokio::spawn(async move {
            while let Ok((mut conn, _)) = listener.accept().await {
                let state = shared.clone();
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 4096];
                    let n = conn.read(&mut buf).await.unwrap_or(0);
                    let request = String::from_utf8_lossy(&buf[..n]);
                    let target = request.split_whitespace().nth(1).unwrap_or("/");
                    let path = origin_form(target);
                    // Like seid's Prometheus endpoint: its height, in the text format.
                    let validator = path.strip_prefix("/cosmos/staking/v1beta1/validators/");
                    let (code, body, content_type) = if let Some(addr) = validator {
                        // As the Cosmos REST gateway answers: 400 for a malformed address,
                        // 404 for an unknown one.
                        let known = state.validators.lock().unwrap_or_else(|p| p.into_inner()).contains(addr);
                        match (addr.starts_with("seivaloper1"), known) {
                            (false, _) => (
                                "400 Bad Request",
                                json!({"code": 3, "message": "decoding bech32 failed"}).to_string(),
                                "application/json",
                            ),
                            (true, false) => (
                                "404 Not Found",
                                json!({"code": 5, "message": format!("validator {addr} not found")}).to_string(),
                                "application/json",
                            ),
                            (true, true) => (
                                "200 OK",
                                json!({"validator": {"operator_address": addr, "status": "BOND_STATUS_BONDED"}})
                                    .to_string(),
                                "application/json",
                            ),
                        }
                    } else if path == "/metrics" {
                        let (height, catching_up) = state.sync_info();
                        let text = format!(
                            "# TYPE tendermint_consensus_height gauge\ntendermint_consensus_height {height}\n\
                             # TYPE tendermint_consensus_fast_syncing gauge\ntendermint_consensus_fast_syncing {}\n",
                            u8::from(catching_up)
                        );
                        ("200 OK", text, "text/plain; version=0.0.4")
                    } else {
                        let (code, body) = state.answer(path);
                        (code, body, "application/json")
                    };
                    let response = format!(
                        "HTTP/1.1 {code}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = conn.write_all(response.as_bytes()).await;
                });
            }
        });
        Ok(SeidSimulator { port, state, task })
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Fixes the height (and stops following a live chain).
    pub fn set_height(&self, height: i64) {
        *self.state.live.lock().unwrap_or_else(|p| p.into_inner()) = None;
        self.state.height.store(height, Ordering::SeqCst);
    }

    /// Fixes the `catching_up` flag (and stops following a live chain).
    pub fn set_catching_up(&self, catching_up: bool) {
        let mut live = self.state.live.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(l) = live.take() {
            self.state.height.store(l.height().0, Ordering::SeqCst);
        }
        self.state.catching_up.store(catching_up, Ordering::SeqCst);
    }

    /// Joins `chain` now: catches up with its tip over [`CATCH_UP`], then follows it.
    pub fn follow(&self, chain: LiveChain) {
        self.follow_catching_up_for(chain, CATCH_UP);
    }

    /// [`follow`](SeidSimulator::follow), taking `catch_up` to reach the tip.
    pub fn follow_catching_up_for(&self, chain: LiveChain, catch_up: Duration) {
        let live = Live { chain, joined: Instant::now(), catch_up: catch_up.max(Duration::from_millis(1)) };
        *self.state.live.lock().unwrap_or_else(|p| p.into_inner()) = Some(live);
    }

    /// The height and `catching_up` flag `/status` reports now.
    pub fn sync_info(&self) -> (i64, bool) {
        self.state.sync_info()
    }

    /// Requests answered so far.
    pub fn requests(&self) -> i64 {
        self.state.requests.load(Ordering::SeqCst)
    }

    /// Makes blocks from `height` on differ from every other simulator's.
    pub fn diverge_from(&self, height: i64) {
        self.state.diverge_from.store(height, Ordering::SeqCst);
    }

    /// From now on the staking API knows this validator (`seivaloper1...`).
    pub fn add_validator(&self, operator_address: &str) {
        self.state.validators.lock().unwrap_or_else(|p| p.into_inner()).insert(operator_address.to_string());
    }

    /// Wrap answers in a JSON-RPC envelope (upstream CometBFT) instead of seid's flat form.
    pub fn set_jsonrpc(&self, on: bool) {
        self.state.jsonrpc.store(on, Ordering::SeqCst);
    }
}

impl State {
    fn sync_info(&self) -> (i64, bool) {
        match self.live.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
            Some(live) => live.height(),
            None => (self.height.load(Ordering::SeqCst), self.catching_up.load(Ordering::SeqCst)),
        }
    }

    fn requested_height(&self, path: &str) -> i64 {
        path.split_once("height=")
            .and_then(|(_, h)| h.split('&').next())
            .and_then(|h| h.parse().ok())
            .unwrap_or_else(|| self.sync_info().0)
    }

    fn answer(&self, path: &str) -> (&'static str, String) {
        self.requests.fetch_add(1, Ordering::SeqCst);
        let (height, catching_up) = self.sync_info();
        let result = match path.split('?').next().unwrap_or(path) {
            "/status" => json!({
                "node_info": {"id": match self.node_id.get() {
                    Ok(id) => id,
                    Err(e) => return ("500 Internal Server Error", json!({"error": e}).to_string()),
                }, "network": "sim-1"},
                "sync_info": {
                    "latest_block_height": height.to_string(),
                    "catching_up": catching_up
                }
            }),
            "/net_info" => json!({"listening": true, "n_peers": "0", "peers": []}),
            // seid's readiness endpoint: an error while the node lags behind its peers.
            "/lag_status" => {
                let tip =
                    self.live.lock().unwrap_or_else(|p| p.into_inner()).as_ref().map_or(height, |l| l.chain.tip());
                let body = json!({"current_height": height.to_string(), "max_peer_block_height": tip.to_string(), "lag": (tip - height).max(0).to_string()});
                if catching_up {
                    return ("500 Internal Server Error", body.to_string());
                }
                body
            }
            "/block" => {
                let height = self.requested_height(path);
                let app_hash = if height >= self.diverge_from.load(Ordering::SeqCst) {
                    format!("{:064X}", !height)
                } else {
                    format!("{:064X}", height * 7)
                };
                json!({
                    "block_id": {"hash": block_hash(height)},
                    "block": {"header": {"height": height.to_string(), "app_hash": app_hash, "last_results_hash": format!("{:064X}", height * 3)}}
                })
            }
            "/block_results" => {
                let height = self.requested_height(path);
                let gas = if height >= self.diverge_from.load(Ordering::SeqCst) { 22_000 } else { 21_000 };
                json!({
                    "height": height.to_string(),
                    "txs_results": [
                        {"code": 0, "log": "", "gas_used": "50000", "gas_wanted": "60000", "events": [{"type": "transfer"}]},
                        {"code": 0, "log": "", "gas_used": gas.to_string(), "gas_wanted": "30000", "events": []}
                    ]
                })
            }
            _ => return ("404 Not Found", json!({"error": "not found"}).to_string()),
        };
        let body = if self.jsonrpc.load(Ordering::SeqCst) {
            json!({"jsonrpc": "2.0", "id": -1, "result": result})
        } else {
            result
        };
        ("200 OK", body.to_string())
    }
}

impl Drop for SeidSimulator {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// `/path?query` of a request target, also when it is a proxy's `http://host:port/path`.
fn origin_form(target: &str) -> &str {
    match target.strip_prefix("http://") {
        Some(rest) => rest.find('/').map_or("/", |i| &rest[i..]),
        None => target,
    }
}

/// The simulator's (deterministic) hash of block `height`: 64 uppercase hex digits.
pub fn block_hash(height: i64) -> String {
    format!("{:064X}", height as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxy_targets_are_reduced_to_their_path() {
        assert_eq!(origin_form("http://n0-0.n0.default.svc.cluster.local:26657/status"), "/status");
        assert_eq!(origin_form("http://h:1/block?height=3"), "/block?height=3");
        assert_eq!(origin_form("http://h:1"), "/");
        assert_eq!(origin_form("/net_info"), "/net_info");
    }

    #[tokio::test]
    async fn a_node_joining_a_live_chain_catches_up_then_follows_the_tip() {
        // A chain 10 s old: 50 blocks.
        let chain = LiveChain { epoch_ms: LiveChain::starting_now().epoch_ms - 10_000 };
        let sim = SeidSimulator::start("id").await.unwrap();
        sim.follow(chain);
        let (early, catching_up) = sim.sync_info();
        assert!(catching_up && early < chain.tip(), "{early} of {}", chain.tip());
        tokio::time::sleep(CATCH_UP).await;
        let (height, catching_up) = sim.sync_info();
        assert!(!catching_up);
        assert!((chain.tip() - height).abs() <= 1 && height >= 65, "{height}");
        sim.set_height(7);
        assert_eq!(sim.sync_info(), (7, false));
    }

    #[tokio::test]
    async fn a_home_s_simulator_reports_the_node_key_s_id_and_creates_one_like_seid() {
        let home = std::env::temp_dir().join(format!("seid-sim-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&home);
        let sim = SeidSimulator::for_home(&home).await.unwrap();
        let first = sim.state.node_id.get().unwrap();
        let written = std::fs::read_to_string(home.join("config/node_key.json")).unwrap();
        assert_eq!(keys::node_id(&keys::parse_key_file(&written).unwrap()), first);
        assert_eq!(sim.state.node_id.get().unwrap(), first, "the key is created once");
        let placed = keys::generate().unwrap();
        std::fs::write(home.join("config/node_key.json"), keys::node_key_json(&placed).to_string()).unwrap();
        assert_eq!(sim.state.node_id.get().unwrap(), keys::node_id(&placed), "a placed key wins");
        std::fs::remove_dir_all(&home).unwrap();
    }
}
