//! Every validation rule, each with an input that breaks it and the finding it produces.
//! `docs/config-validation.md` is generated from these cases (run with
//! `UPDATE_DOCS=1`) and checked for drift.

use sei_config::{CURRENT_VERSION, Diagnostic, Host, Mode, Severity, apply_one, defaults, validate};

struct Case {
    rule: &'static str,
    mode: Mode,
    overrides: &'static [(&'static str, &'static str)],
    field: &'static str,
    severity: Severity,
}

const fn case(
    rule: &'static str,
    mode: Mode,
    overrides: &'static [(&'static str, &'static str)],
    field: &'static str,
    severity: Severity,
) -> Case {
    Case { rule, mode, overrides, field, severity }
}

use Mode::*;
use Severity::{Error as E, Warning as W};

const STATE_SYNC: [(&str, &str); 5] = [
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

static CASES: &[Case] = &[
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

fn findings(c: &Case) -> Vec<Diagnostic> {
    let mut cfg = defaults(c.mode, &Host::fixed(2, "node-0"));
    for (k, v) in c.overrides {
        apply_one(&mut cfg, k, v).unwrap_or_else(|e| panic!("rule {}: {e}", c.rule));
    }
    validate(&cfg, CURRENT_VERSION)
}

#[test]
fn every_rule_fires_on_its_example_and_only_there() {
    for c in CASES {
        let found = findings(c);
        assert!(
            found.iter().any(|d| d.field == c.field && d.severity == c.severity),
            "rule {}: expected a {:?} on {}, got {found:?}",
            c.rule,
            c.severity,
            c.field
        );
        assert!(found.iter().all(|d| d.field == c.field), "rule {}: unrelated findings {found:?}", c.rule);
    }
}

#[test]
fn defaults_of_every_mode_have_no_findings() {
    for mode in sei_config::ALL_MODES {
        let cfg = defaults(mode, &Host::fixed(2, "node-0"));
        assert_eq!(validate(&cfg, CURRENT_VERSION), vec![], "{mode}");
    }
    let mut synced = defaults(Mode::Full, &Host::fixed(2, "node-0"));
    for (k, v) in STATE_SYNC {
        apply_one(&mut synced, k, v).unwrap();
    }
    assert_eq!(validate(&synced, CURRENT_VERSION), vec![], "a complete state-sync setup is valid");
}

#[test]
fn findings_are_all_reported_at_once() {
    let mut cfg = defaults(Mode::Full, &Host::fixed(2, "node-0"));
    apply_one(&mut cfg, "logging.format", "xml").unwrap();
    apply_one(&mut cfg, "mempool.size", "-1").unwrap();
    apply_one(&mut cfg, "storage.pruning", "x").unwrap();
    assert_eq!(validate(&cfg, CURRENT_VERSION).len(), 3);
}

fn document() -> String {
    let mut out = String::from(
        "# Config validation rules\n\n\
         Generated by `UPDATE_DOCS=1 cargo test -p sei-config --test validation`; do not edit.\n\
         Each row is a real input (mode defaults plus the overrides shown) and the finding\n\
         `seictl config validate` prints for it. Errors stop a config from being written;\n\
         warnings are reported only. Rules 1-27 are the reference's; 28 is ours.\n\n\
         | Rule | Mode | Overrides | Finding |\n|---|---|---|---|\n",
    );
    for c in CASES {
        // State-sync cases are a complete setup plus one changed setting, listed last.
        let synced = c.overrides.len() > STATE_SYNC.len();
        let skip = if synced { STATE_SYNC.len() } else { 0 };
        let shown: Vec<String> = c.overrides[skip..].iter().map(|(k, v)| format!("`{k}={v}`")).collect();
        let extra = if synced { " (with state sync enabled)" } else { "" };
        let finding = findings(c).into_iter().find(|d| d.field == c.field).expect("checked above");
        out += &format!("| {} | {} | {}{extra} | `{finding}` |\n", c.rule, c.mode, shown.join(" "));
    }
    out
}

#[test]
fn validation_doc_is_current() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/config-validation.md");
    let expected = document();
    if std::env::var_os("UPDATE_DOCS").is_some() {
        std::fs::write(path, &expected).unwrap();
    }
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(committed == expected, "{path} is stale: run UPDATE_DOCS=1 cargo test -p sei-config --test validation");
}
