//! Validation: every finding at once, each naming the unified key it concerns.

use serde::{Deserialize, Serialize};

use crate::mode::Mode;
use crate::model::NodeConfig;

/// How serious a finding is. Errors block writing; warnings are logged.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Severity {
    Error,
    Warning,
    Info,
}

/// One finding. `field` is contractual (callers match on it); the wording is not.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diagnostic {
    pub severity: Severity,
    pub field: String,
    pub message: String,
}

impl std::fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let sev = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        };
        write!(f, "{sev}: {}: {}", self.field, self.message)
    }
}

/// True when no finding is an error.
pub fn is_valid(diagnostics: &[Diagnostic]) -> bool {
    diagnostics.iter().all(|d| d.severity != Severity::Error)
}

struct Findings(Vec<Diagnostic>);

impl Findings {
    fn error(&mut self, field: &str, message: impl Into<String>) {
        self.0.push(Diagnostic { severity: Severity::Error, field: field.into(), message: message.into() });
    }
    fn warning(&mut self, field: &str, message: impl Into<String>) {
        self.0.push(Diagnostic { severity: Severity::Warning, field: field.into(), message: message.into() });
    }
    fn non_negative(&mut self, cfg: &NodeConfig, keys: &[&str]) {
        for key in keys {
            let n = cfg.int(key);
            if n < 0 {
                self.error(
                    key,
                    format!("must be >= 0, got {}", cfg.get(key).map(ToString::to_string).unwrap_or_default()),
                );
            }
        }
    }
}

const WRITE_MODES: [&str; 4] = ["cosmos_only", "dual_write", "split_write", "evm_only"];
const READ_MODES: [&str; 3] = ["cosmos_only", "evm_first", "split_read"];

/// Checks `cfg`; `ceiling` is the highest schema version accepted.
pub fn validate(cfg: &NodeConfig, ceiling: i64) -> Vec<Diagnostic> {
    let mut f = Findings(Vec::new());
    let mode = cfg.mode_str();
    if mode.is_empty() {
        f.error("mode", "must be set (validator, full, seed or archive)");
    } else if mode.parse::<Mode>().is_err() {
        f.error("mode", format!("{mode:?} is not one of validator, full, seed, archive"));
    }
    let version = cfg.version();
    if version < 1 {
        f.error("version", format!("must be >= 1, got {version}"));
    } else if version > ceiling {
        f.error(
            "version",
            format!("{version} is newer than this tool supports ({ceiling}); upgrade it or migrate the config"),
        );
    }
    if cfg.str("chain.min_gas_prices").is_empty() {
        f.error("chain.min_gas_prices", "must not be empty (e.g. 0.01usei)");
    }
    if cfg.int("chain.concurrency_workers") < -1 {
        f.error("chain.concurrency_workers", "must be >= -1");
    }
    f.non_negative(
        cfg,
        &[
            "network.rpc.max_open_connections",
            "network.rpc.max_subscription_clients",
            "network.rpc.max_subscriptions_per_client",
            "network.rpc.timeout_broadcast_tx_commit",
            "network.rpc.max_body_bytes",
            "network.rpc.max_header_bytes",
            "network.p2p.flush_throttle_timeout",
            "network.p2p.max_packet_msg_payload_size",
            "network.p2p.send_rate",
            "network.p2p.recv_rate",
            "consensus.unsafe_propose_timeout_override",
            "consensus.unsafe_commit_timeout_override",
            "consensus.create_empty_blocks_interval",
            "consensus.peer_gossip_sleep_duration",
            "consensus.double_sign_check_height",
            "mempool.size",
            "mempool.max_txs_bytes",
            "mempool.cache_size",
            "mempool.max_tx_bytes",
            "mempool.ttl_duration",
            "mempool.ttl_num_blocks",
            "metrics.max_open_connections",
        ],
    );
    let drop = cfg.float("mempool.drop_utilisation_threshold");
    if !(0.0..=1.0).contains(&drop) {
        f.error("mempool.drop_utilisation_threshold", format!("must be between 0.0 and 1.0, got {drop}"));
    }
    if cfg.bool("state_sync.enable") {
        let servers = cfg.list("state_sync.rpc_servers").map_or(0, <[String]>::len);
        if !cfg.bool("state_sync.use_p2p") && servers < 2 {
            f.error("state_sync.rpc_servers", format!("state sync over RPC needs at least two servers, got {servers}"));
        }
        if cfg.int("state_sync.trust_period") <= 0 {
            f.error("state_sync.trust_period", "must be > 0 when state sync is enabled");
        }
        if cfg.int("state_sync.trust_height") <= 0 {
            f.error("state_sync.trust_height", "must be > 0 when state sync is enabled");
        }
        let hash = cfg.str("state_sync.trust_hash");
        if hash.is_empty() || !hash.len().is_multiple_of(2) || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
            f.error(
                "state_sync.trust_hash",
                format!("must be a hex block hash when state sync is enabled, got {hash:?}"),
            );
        }
        if cfg.int("state_sync.fetchers") <= 0 {
            f.error("state_sync.fetchers", "must be > 0 when state sync is enabled");
        }
        if cfg.int("state_sync.backfill_blocks") < 0 {
            f.error("state_sync.backfill_blocks", "must be >= 0");
        }
    }
    let pruning = cfg.str("storage.pruning");
    if !["default", "nothing", "everything", "custom"].contains(&pruning) {
        f.error("storage.pruning", format!("{pruning:?} is not one of default, nothing, everything, custom"));
    }
    for key in ["storage.state_commit.write_mode", "storage.state_store.write_mode"] {
        let v = cfg.str(key);
        if !v.is_empty() && !WRITE_MODES.contains(&v) {
            f.error(key, format!("{v:?} is not one of {}", WRITE_MODES.join(", ")));
        }
    }
    for key in ["storage.state_commit.read_mode", "storage.state_store.read_mode"] {
        let v = cfg.str(key);
        if !v.is_empty() && !READ_MODES.contains(&v) {
            f.error(key, format!("{v:?} is not one of {}", READ_MODES.join(", ")));
        }
    }
    let backend = cfg.str("storage.state_store.backend");
    if !backend.is_empty() && backend != "pebbledb" && backend != "rocksdb" {
        f.warning("storage.state_store.backend", format!("{backend:?} is neither pebbledb nor rocksdb"));
    }
    let http = cfg.bool("evm.http_enabled");
    let ws = cfg.bool("evm.ws_enabled");
    if http && cfg.int("evm.http_port") <= 0 {
        f.error("evm.http_port", "must be > 0 when EVM HTTP is enabled");
    }
    if ws && cfg.int("evm.ws_port") <= 0 {
        f.error("evm.ws_port", "must be > 0 when EVM WebSocket is enabled");
    }
    if mode == "validator" && (http || ws) {
        f.warning("evm", "EVM RPC on a validator is unusual and widens its attack surface");
    }
    let format = cfg.str("logging.format");
    if !["plain", "text", "json"].contains(&format) {
        f.error("logging.format", format!("{format:?} is not one of plain, text, json"));
    }
    if pruning == "everything" && cfg.int("storage.snapshot_interval") > 0 {
        f.error(
            "storage",
            "snapshots (storage.snapshot_interval > 0) need history that pruning \"everything\" removes",
        );
    }
    // Beyond the reference: an archive node that prunes is not an archive node. seid
    // derives receipt retention from min-retain-blocks, which silently deleted receipts.
    if mode == "archive" {
        if pruning != "nothing" {
            f.error("storage.pruning", format!("must be \"nothing\" on an archive node, got {pruning:?}"));
        }
        for key in ["chain.min_retain_blocks", "storage.receipt_store.keep_recent", "storage.state_store.keep_recent"] {
            if cfg.int(key) != 0 {
                f.error(key, "must be 0 on an archive node, which keeps all history (use mode full to prune)");
            }
        }
    }
    f.0
}
