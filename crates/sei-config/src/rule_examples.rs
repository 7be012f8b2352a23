//! One input per validation rule that breaks it: mode defaults plus a few overrides, and
//! the field the finding must name. They are the source of `docs/config-validation.md`
//! ([`markdown`], written by `make generate`), and the crate's tests prove each example
//! gives its finding and nothing else, so the document shows real output.

use crate::{CURRENT_VERSION, ConfigError, Diagnostic, Host, Mode, Severity, apply_one, defaults, validate};

/// An input that breaks one rule.
#[derive(Debug)]
pub struct RuleExample {
    /// Rule number and name; continuation rows give only the number.
    pub rule: &'static str,
    /// Mode whose defaults the overrides apply to.
    pub mode: Mode,
    /// Dotted-key overrides that break the rule.
    pub overrides: &'static [(&'static str, &'static str)],
    /// The field the finding names.
    pub field: &'static str,
    pub severity: Severity,
}

const fn case(
    rule: &'static str,
    mode: Mode,
    overrides: &'static [(&'static str, &'static str)],
    field: &'static str,
    severity: Severity,
) -> RuleExample {
    RuleExample { rule, mode, overrides, field, severity }
}

use Mode::*;
use Severity::{Error as E, Warning as W};

/// A complete, valid state-sync setup; the state-sync examples change one setting of it.
pub const STATE_SYNC: [(&str, &str); 5] = [
    ("state_sync.enable", "true"),
    ("state_sync.rpc_servers", "a:26657,b:26657"),
    ("state_sync.trust_height", "100"),
    ("state_sync.trust_hash", "ABCDEF12"),
    ("state_sync.trust_period", "168h"),
];

macro_rules! with_state_sync {
    ($($k:expr => $v:expr),*) => {
        &[STATE_SYNC[0], STATE_SYNC[1], STATE_SYNC[2], STATE_SYNC[3], STATE_SYNC[4], $(($k, $v)),*]
    };
}

/// Every rule of [`validate`], broken at least once.
pub static EXAMPLES: &[RuleExample] = &[
    case("1 mode set", Full, &[("mode", "")], "mode", E),
    case("2 mode known", Full, &[("mode", "observer")], "mode", E),
    case("3 version >= 1", Full, &[("version", "0")], "version", E),
    case("4 version <= supported", Full, &[("version", "2")], "version", E),
    case("5 gas prices set", Full, &[("chain.min_gas_prices", "")], "chain.min_gas_prices", E),
    case("6 concurrency >= -1", Validator, &[("chain.concurrency_workers", "-2")], "chain.concurrency_workers", E),
    case(
        "7 RPC limits >= 0",
        Full,
        &[("network.rpc.max_open_connections", "-1")],
        "network.rpc.max_open_connections",
        E,
    ),
    case("7", Full, &[("network.rpc.max_subscription_clients", "-1")], "network.rpc.max_subscription_clients", E),
    case(
        "7",
        Full,
        &[("network.rpc.max_subscriptions_per_client", "-1")],
        "network.rpc.max_subscriptions_per_client",
        E,
    ),
    case(
        "7",
        Full,
        &[("network.rpc.timeout_broadcast_tx_commit", "-1s")],
        "network.rpc.timeout_broadcast_tx_commit",
        E,
    ),
    case("7", Full, &[("network.rpc.max_body_bytes", "-1")], "network.rpc.max_body_bytes", E),
    case("7", Full, &[("network.rpc.max_header_bytes", "-1")], "network.rpc.max_header_bytes", E),
    case(
        "8 P2P limits >= 0",
        Full,
        &[("network.p2p.flush_throttle_timeout", "-1ms")],
        "network.p2p.flush_throttle_timeout",
        E,
    ),
    case("8", Full, &[("network.p2p.max_packet_msg_payload_size", "-1")], "network.p2p.max_packet_msg_payload_size", E),
    case("8", Full, &[("network.p2p.send_rate", "-1")], "network.p2p.send_rate", E),
    case("8", Full, &[("network.p2p.recv_rate", "-1")], "network.p2p.recv_rate", E),
    case(
        "9 consensus timeouts >= 0",
        Full,
        &[("consensus.unsafe_propose_timeout_override", "-1s")],
        "consensus.unsafe_propose_timeout_override",
        E,
    ),
    case(
        "9",
        Full,
        &[("consensus.unsafe_commit_timeout_override", "-1s")],
        "consensus.unsafe_commit_timeout_override",
        E,
    ),
    case("9", Full, &[("consensus.create_empty_blocks_interval", "-1s")], "consensus.create_empty_blocks_interval", E),
    case("9", Full, &[("consensus.peer_gossip_sleep_duration", "-1s")], "consensus.peer_gossip_sleep_duration", E),
    case("9", Full, &[("consensus.double_sign_check_height", "-1")], "consensus.double_sign_check_height", E),
    case("10 mempool limits >= 0", Full, &[("mempool.size", "-1")], "mempool.size", E),
    case("10", Full, &[("mempool.max_txs_bytes", "-1")], "mempool.max_txs_bytes", E),
    case("10", Full, &[("mempool.cache_size", "-1")], "mempool.cache_size", E),
    case("10", Full, &[("mempool.max_tx_bytes", "-1")], "mempool.max_tx_bytes", E),
    case("10", Full, &[("mempool.ttl_duration", "-5s")], "mempool.ttl_duration", E),
    case("10", Full, &[("mempool.ttl_num_blocks", "-1")], "mempool.ttl_num_blocks", E),
    case(
        "11 drop threshold in [0,1]",
        Full,
        &[("mempool.drop_utilisation_threshold", "1.5")],
        "mempool.drop_utilisation_threshold",
        E,
    ),
    case(
        "12 two RPC servers for state sync",
        Full,
        with_state_sync!("state_sync.rpc_servers" => "a:26657"),
        "state_sync.rpc_servers",
        E,
    ),
    case(
        "13 trust period > 0",
        Full,
        with_state_sync!("state_sync.trust_period" => "0s"),
        "state_sync.trust_period",
        E,
    ),
    case("14 trust height > 0", Full, with_state_sync!("state_sync.trust_height" => "0"), "state_sync.trust_height", E),
    case("15 trust hash is hex", Full, with_state_sync!("state_sync.trust_hash" => "XYZ"), "state_sync.trust_hash", E),
    case("16 fetchers > 0", Full, with_state_sync!("state_sync.fetchers" => "0"), "state_sync.fetchers", E),
    case(
        "17 backfill >= 0",
        Full,
        with_state_sync!("state_sync.backfill_blocks" => "-1"),
        "state_sync.backfill_blocks",
        E,
    ),
    case("18 pruning strategy known", Full, &[("storage.pruning", "some")], "storage.pruning", E),
    case(
        "19 write mode known",
        Full,
        &[("storage.state_commit.write_mode", "evm_first")],
        "storage.state_commit.write_mode",
        E,
    ),
    case("19", Full, &[("storage.state_store.write_mode", "both")], "storage.state_store.write_mode", E),
    case(
        "20 read mode known",
        Full,
        &[("storage.state_commit.read_mode", "dual_write")],
        "storage.state_commit.read_mode",
        E,
    ),
    case("20", Full, &[("storage.state_store.read_mode", "x")], "storage.state_store.read_mode", E),
    case(
        "21 state-store backend",
        Full,
        &[("storage.state_store.backend", "goleveldb")],
        "storage.state_store.backend",
        W,
    ),
    case("22 EVM HTTP port", Full, &[("evm.http_port", "0")], "evm.http_port", E),
    case("23 EVM WS port", Full, &[("evm.ws_port", "-1")], "evm.ws_port", E),
    case("24 EVM on a validator", Validator, &[("evm.http_enabled", "true")], "evm", W),
    case(
        "25 metrics connections >= 0",
        Full,
        &[("metrics.max_open_connections", "-1")],
        "metrics.max_open_connections",
        E,
    ),
    case("26 log format", Full, &[("logging.format", "xml")], "logging.format", E),
    case("27 snapshots need history", Seed, &[("storage.snapshot_interval", "2000")], "storage", E),
    case(
        "28 archive keeps all blocks (ours)",
        Archive,
        &[("chain.min_retain_blocks", "100")],
        "chain.min_retain_blocks",
        E,
    ),
    case("28", Archive, &[("storage.receipt_store.keep_recent", "100")], "storage.receipt_store.keep_recent", E),
    case("28", Archive, &[("storage.state_store.keep_recent", "100")], "storage.state_store.keep_recent", E),
    case("28", Archive, &[("storage.pruning", "custom")], "storage.pruning", E),
];

impl RuleExample {
    /// What [`validate`] reports for this example.
    pub fn findings(&self) -> Result<Vec<Diagnostic>, ConfigError> {
        let mut cfg = defaults(self.mode, &Host::fixed(2, "node-0"));
        for (k, v) in self.overrides {
            apply_one(&mut cfg, k, v)?;
        }
        Ok(validate(&cfg, CURRENT_VERSION))
    }

    /// Overrides as shown in the document: state-sync examples show only the changed setting.
    fn shown(&self) -> String {
        let synced = self.overrides.len() > STATE_SYNC.len();
        let skip = if synced { STATE_SYNC.len() } else { 0 };
        let shown: Vec<String> = self.overrides[skip..].iter().map(|(k, v)| format!("`{k}={v}`")).collect();
        let extra = if synced { " (with state sync enabled)" } else { "" };
        shown.join(" ") + extra
    }
}

/// `docs/config-validation.md`: every example with the finding it produces.
pub fn markdown() -> String {
    let mut out = String::from(
        "# Config validation rules\n\n\
         Generated by `make generate` from `crates/sei-config/src/rule_examples.rs`; do not edit.\n\
         Each row is a real input (mode defaults plus the overrides shown) and the finding\n\
         `seictl config validate` prints for it. Errors stop a config from being written;\n\
         warnings are reported only. Rules 1-27 are the reference's; 28 is ours.\n\n\
         | Rule | Mode | Overrides | Finding |\n|---|---|---|---|\n",
    );
    for example in EXAMPLES {
        // The tests prove each example yields its finding; a broken one shows as such.
        let finding = match example.findings() {
            Ok(found) => found
                .into_iter()
                .find(|d| d.field == example.field)
                .map_or_else(|| format!("no finding on {}", example.field), |d| d.to_string()),
            Err(e) => format!("invalid example: {e}"),
        };
        out += &format!("| {} | {} | {} | `{finding}` |\n", example.rule, example.mode, example.shown());
    }
    out
}
