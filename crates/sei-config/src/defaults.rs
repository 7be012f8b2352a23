//! Defaults per mode: the base defaults of the registry, then the mode's block.

use crate::duration::GoDuration;
use crate::mode::Mode;
use crate::model::NodeConfig;
use crate::registry::{Def, FIELDS, lookup};
use crate::value::{Kind, Value};

/// Facts about the machine that renders the config. Three defaults depend on the CPU
/// count and one on the host name; passing them in keeps rendering deterministic.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Host {
    pub cpus: usize,
    pub hostname: String,
}

impl Host {
    /// This machine.
    pub fn detect() -> Host {
        let cpus = std::thread::available_parallelism().map(usize::from).unwrap_or(1);
        let name = gethostname::gethostname().to_string_lossy().trim().to_string();
        Host { cpus, hostname: if name.is_empty() { "anonymous".into() } else { name } }
    }

    /// A fixed host, for tests and reproducible renders.
    pub fn fixed(cpus: usize, hostname: &str) -> Host {
        Host { cpus, hostname: hostname.into() }
    }
}

/// The value of a base default of a `kind` field on `host`.
pub fn resolve_default(def: Def, kind: Kind, host: &Host) -> Value {
    let twice = i64::try_from(host.cpus.max(1)).unwrap_or(i64::MAX).saturating_mul(2);
    match def {
        Def::Str(s) => Value::Str(s.into()),
        Def::Bool(b) => Value::Bool(b),
        Def::Int(n) => Value::Int(n),
        Def::Uint(n) => Value::Uint(n),
        Def::Float(x) => Value::Float(x),
        Def::Duration(d) => Value::Duration(GoDuration::parse(d).expect("registry durations are valid")),
        Def::List(items) => Value::List(Some(items.iter().map(|s| s.to_string()).collect())),
        Def::Unset if kind == Kind::OptBool => Value::OptBool(None),
        Def::Unset => Value::List(None),
        Def::Pairs => Value::Pairs(Vec::new()),
        Def::CpuWorkers => Value::Int(twice.clamp(10, 128)),
        Def::CpuPool => Value::Int(twice.min(64)),
        Def::Hostname => Value::Str(host.hostname.clone()),
    }
}

const fn s(v: &'static str) -> Def {
    Def::Str(v)
}

/// RPC and P2P reachable from other pods.
const LISTEN_ALL: [(&str, Def); 2] = [
    ("network.rpc.listen_address", s("tcp://0.0.0.0:26657")),
    ("network.p2p.listen_address", s("tcp://0.0.0.0:26656")),
];

const NO_CLIENT_APIS: [(&str, Def); 6] = [
    ("api.rest.enable", Def::Bool(false)),
    ("api.grpc.enable", Def::Bool(false)),
    ("api.grpc_web.enable", Def::Bool(false)),
    ("storage.state_store.enable", Def::Bool(false)),
    ("evm.http_enabled", Def::Bool(false)),
    ("evm.ws_enabled", Def::Bool(false)),
];

const VALIDATOR: &[(&str, Def)] =
    &[("tx_index.indexer", Def::List(&["null"])), ("network.p2p.allow_duplicate_ip", Def::Bool(false))];

const SEED: &[(&str, Def)] = &[
    ("tx_index.indexer", Def::List(&["null"])),
    ("network.p2p.max_connections", Def::Uint(1000)),
    ("network.p2p.allow_duplicate_ip", Def::Bool(true)),
    ("storage.pruning", s("everything")),
];

const FULL: &[(&str, Def)] = &[
    ("tx_index.indexer", Def::List(&["kv"])),
    ("chain.concurrency_workers", Def::Int(500)),
    ("storage.pruning", s("custom")),
    ("storage.pruning_keep_recent", s("86400")),
    ("storage.pruning_keep_every", s("500")),
    ("storage.pruning_interval", s("10")),
    ("api.rest.enable", Def::Bool(true)),
    ("api.grpc.enable", Def::Bool(true)),
    ("api.grpc_web.enable", Def::Bool(true)),
    ("storage.state_store.enable", Def::Bool(true)),
    ("storage.state_store.keep_recent", Def::Int(100_000)),
    ("chain.min_retain_blocks", Def::Uint(100_000)),
    ("evm.http_enabled", Def::Bool(true)),
    ("evm.ws_enabled", Def::Bool(true)),
];

/// On top of FULL. seid derives receipt retention from `min-retain-blocks`, so that is
/// what keeps every receipt; the receipt-store values document the intent in the file.
const ARCHIVE: &[(&str, Def)] = &[
    ("storage.pruning", s("nothing")),
    ("storage.state_store.keep_recent", Def::Int(0)),
    ("chain.min_retain_blocks", Def::Uint(0)),
    ("storage.receipt_store.keep_recent", Def::Int(0)),
    ("storage.receipt_store.prune_interval_seconds", Def::Int(0)),
    ("evm.max_trace_lookback_blocks", Def::Int(-1)),
    ("storage.state_commit.async_commit_buffer", Def::Int(100)),
    ("storage.state_commit.memiavl.snapshot_keep_recent", Def::Uint(1)),
    ("storage.state_commit.memiavl.snapshot_min_time_interval", Def::Uint(20_000)),
];

/// The blocks applied, in order, for `mode`.
fn blocks(mode: Mode) -> Vec<&'static [(&'static str, Def)]> {
    match mode {
        Mode::Validator => vec![VALIDATOR, &LISTEN_ALL, &NO_CLIENT_APIS],
        // Seeds listen on all interfaces: on 127.0.0.1 (the reference) no peer reaches them.
        Mode::Seed => vec![SEED, &LISTEN_ALL, &NO_CLIENT_APIS],
        Mode::Full => vec![FULL, &LISTEN_ALL],
        Mode::Archive => vec![FULL, &LISTEN_ALL, ARCHIVE],
    }
}

/// The complete default configuration of `mode` on `host`.
pub fn defaults(mode: Mode, host: &Host) -> NodeConfig {
    let mut cfg = NodeConfig::from_values(FIELDS.iter().map(|f| (f.key, resolve_default(f.default, f.kind, host))));
    for block in blocks(mode) {
        for (key, def) in block {
            let kind = lookup(key).expect("mode blocks name valid fields").kind;
            cfg.set(key, resolve_default(*def, kind, host)).expect("mode blocks fit their fields");
        }
    }
    cfg.set("mode", Value::Str(mode.as_str().into())).expect("mode is a field");
    cfg
}
