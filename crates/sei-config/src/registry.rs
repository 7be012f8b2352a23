//! The field registry: every setting of the unified model, its type, base default,
//! hot-reload flag and unit. Keys are dotted snake_case paths (`evm.http_port`), the only
//! syntax accepted by overrides and environment variables.

use std::collections::HashMap;
use std::sync::OnceLock;

use crate::value::Kind;

/// A base default, before the mode's block is applied (see `defaults.rs`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Def {
    Str(&'static str),
    Bool(bool),
    Int(i64),
    Uint(u64),
    Float(f64),
    Duration(&'static str),
    List(&'static [&'static str]),
    /// Unset list or optional bool: omitted from the file.
    Unset,
    /// Empty list of pairs.
    Pairs,
    /// clamp(2 × CPUs, 10, 128).
    CpuWorkers,
    /// min(64, 2 × CPUs).
    CpuPool,
    /// The rendering host's name (`anonymous` if unknown).
    Hostname,
}

/// One setting.
#[derive(Clone, Copy, Debug)]
pub struct Field {
    /// Unified dotted key.
    pub key: &'static str,
    pub kind: Kind,
    pub default: Def,
    /// seid applies a change without a restart.
    pub hot_reload: bool,
    pub unit: Option<&'static str>,
}

impl Field {
    /// `SEI_` + the key upper-cased with `.` replaced by `_`.
    pub fn env_var(&self) -> String {
        format!("SEI_{}", self.key.to_ascii_uppercase().replace('.', "_"))
    }

    /// The first segment of the key.
    pub fn section(&self) -> &'static str {
        self.key.split('.').next().unwrap_or(self.key)
    }
}

const fn field(key: &'static str, kind: Kind, default: Def, hot_reload: bool, unit: Option<&'static str>) -> Field {
    Field { key, kind, default, hot_reload, unit }
}

/// Every field, sorted by key.
pub static FIELDS: &[Field] = &[
    field("api.grpc.address", Kind::Str, Def::Str("0.0.0.0:9090"), false, None),
    field("api.grpc.enable", Kind::Bool, Def::Bool(true), false, None),
    field("api.grpc_web.address", Kind::Str, Def::Str("0.0.0.0:9091"), false, None),
    field("api.grpc_web.enable", Kind::Bool, Def::Bool(true), false, None),
    field("api.grpc_web.enable_unsafe_cors", Kind::Bool, Def::Bool(false), false, None),
    field("api.rest.address", Kind::Str, Def::Str("tcp://0.0.0.0:1317"), false, None),
    field("api.rest.enable", Kind::Bool, Def::Bool(false), false, None),
    field("api.rest.enable_unsafe_cors", Kind::Bool, Def::Bool(false), false, None),
    field("api.rest.max_open_connections", Kind::Uint, Def::Uint(1000), false, None),
    field("api.rest.rpc_max_body_bytes", Kind::Uint, Def::Uint(1000000), false, None),
    field("api.rest.rpc_read_timeout", Kind::Uint, Def::Uint(10), false, None),
    field("api.rest.rpc_write_timeout", Kind::Uint, Def::Uint(0), false, None),
    field("api.rest.swagger", Kind::Bool, Def::Bool(true), false, None),
    field("chain.abci", Kind::Str, Def::Str("socket"), false, None),
    field("chain.chain_id", Kind::Str, Def::Str(""), false, None),
    field("chain.concurrency_workers", Kind::Int, Def::CpuWorkers, false, None),
    field("chain.filter_peers", Kind::Bool, Def::Bool(false), false, None),
    field("chain.halt_height", Kind::Uint, Def::Uint(0), false, Some("blocks")),
    field("chain.halt_time", Kind::Uint, Def::Uint(0), false, Some("seconds")),
    field("chain.index_events", Kind::List, Def::Unset, false, None),
    field("chain.inter_block_cache", Kind::Bool, Def::Bool(true), false, None),
    field("chain.min_gas_prices", Kind::Str, Def::Str("0.01usei"), false, None),
    field("chain.min_retain_blocks", Kind::Uint, Def::Uint(0), false, Some("blocks")),
    field("chain.moniker", Kind::Str, Def::Hostname, false, None),
    field("chain.occ_enabled", Kind::Bool, Def::Bool(true), false, None),
    field("chain.proxy_app", Kind::Str, Def::Str("tcp://127.0.0.1:26658"), false, None),
    field("consensus.create_empty_blocks", Kind::Bool, Def::Bool(true), false, None),
    field("consensus.create_empty_blocks_interval", Kind::Duration, Def::Duration("0s"), false, None),
    field("consensus.double_sign_check_height", Kind::Int, Def::Int(0), false, Some("blocks")),
    field("consensus.gossip_transaction_key_only", Kind::Bool, Def::Bool(true), false, None),
    field("consensus.peer_gossip_sleep_duration", Kind::Duration, Def::Duration("100ms"), false, None),
    field("consensus.peer_query_maj23_sleep_duration", Kind::Duration, Def::Duration("2s"), false, None),
    field("consensus.unsafe_bypass_commit_timeout_override", Kind::OptBool, Def::Unset, false, None),
    field("consensus.unsafe_commit_timeout_override", Kind::Duration, Def::Duration("0s"), false, None),
    field("consensus.unsafe_propose_timeout_delta_override", Kind::Duration, Def::Duration("0s"), false, None),
    field("consensus.unsafe_propose_timeout_override", Kind::Duration, Def::Duration("0s"), false, None),
    field("consensus.unsafe_vote_timeout_delta_override", Kind::Duration, Def::Duration("0s"), false, None),
    field("consensus.unsafe_vote_timeout_override", Kind::Duration, Def::Duration("0s"), false, None),
    field("consensus.wal_path", Kind::Str, Def::Str("data/cs.wal/wal"), false, None),
    field("evm.block_test.enabled", Kind::Bool, Def::Bool(false), false, None),
    field("evm.block_test.test_data_path", Kind::Str, Def::Str("~/testdata/"), false, None),
    field("evm.checktx_timeout", Kind::Duration, Def::Duration("5s"), false, None),
    field("evm.cors_origins", Kind::Str, Def::Str("*"), true, None),
    field("evm.deny_list", Kind::List, Def::List(&[]), true, None),
    field("evm.enable_test_api", Kind::Bool, Def::Bool(false), false, None),
    field("evm.filter_timeout", Kind::Duration, Def::Duration("2m0s"), false, None),
    field("evm.http_enabled", Kind::Bool, Def::Bool(true), false, None),
    field("evm.http_port", Kind::Int, Def::Int(8545), false, None),
    field("evm.idle_timeout", Kind::Duration, Def::Duration("2m0s"), false, None),
    field("evm.max_blocks_for_log", Kind::Int, Def::Int(2000), false, Some("blocks")),
    field("evm.max_concurrent_simulation_calls", Kind::Int, Def::CpuPool, false, None),
    field("evm.max_concurrent_trace_calls", Kind::Uint, Def::Uint(10), false, None),
    field("evm.max_log_no_block", Kind::Int, Def::Int(10000), false, None),
    field("evm.max_subscriptions_new_head", Kind::Uint, Def::Uint(10000), false, None),
    field("evm.max_trace_lookback_blocks", Kind::Int, Def::Int(10000), false, Some("blocks")),
    field("evm.max_tx_pool_txs", Kind::Uint, Def::Uint(1000), false, Some("transactions")),
    field("evm.query.gas_limit", Kind::Uint, Def::Uint(300000), false, None),
    field("evm.read_header_timeout", Kind::Duration, Def::Duration("30s"), false, None),
    field("evm.read_timeout", Kind::Duration, Def::Duration("30s"), false, None),
    field("evm.replay.contract_state_checks", Kind::Bool, Def::Bool(false), false, None),
    field("evm.replay.enabled", Kind::Bool, Def::Bool(false), false, None),
    field("evm.replay.eth_data_dir", Kind::Str, Def::Str("/root/.ethereum/chaindata"), false, None),
    field("evm.replay.eth_rpc", Kind::Str, Def::Str("http://44.234.105.54:18545"), false, None),
    field("evm.rpc_stats_interval", Kind::Duration, Def::Duration("10s"), false, None),
    field("evm.simulation_evm_timeout", Kind::Duration, Def::Duration("1m0s"), false, None),
    field("evm.simulation_gas_limit", Kind::Uint, Def::Uint(10000000), false, Some("gas")),
    field("evm.slow", Kind::Bool, Def::Bool(false), false, None),
    field("evm.trace_timeout", Kind::Duration, Def::Duration("30s"), false, None),
    field("evm.worker_pool_size", Kind::Int, Def::CpuPool, false, None),
    field("evm.worker_queue_size", Kind::Int, Def::Int(1000), false, None),
    field("evm.write_timeout", Kind::Duration, Def::Duration("30s"), false, None),
    field("evm.ws_enabled", Kind::Bool, Def::Bool(true), false, None),
    field("evm.ws_origins", Kind::Str, Def::Str("*"), false, None),
    field("evm.ws_port", Kind::Int, Def::Int(8546), false, None),
    field("genesis.genesis_stream_file", Kind::Str, Def::Str(""), false, None),
    field("genesis.stream_import", Kind::Bool, Def::Bool(false), false, None),
    field("giga_executor.enabled", Kind::Bool, Def::Bool(false), false, None),
    field("giga_executor.occ_enabled", Kind::Bool, Def::Bool(false), false, None),
    field("light_invariance.supply_enabled", Kind::Bool, Def::Bool(true), false, None),
    field("logging.format", Kind::Str, Def::Str("plain"), false, None),
    field("logging.level", Kind::Str, Def::Str("info"), true, None),
    field("mempool.broadcast", Kind::Bool, Def::Bool(true), false, None),
    field("mempool.cache_size", Kind::Int, Def::Int(10000), false, None),
    field("mempool.check_tx_error_blacklist_enabled", Kind::Bool, Def::Bool(true), false, None),
    field("mempool.check_tx_error_threshold", Kind::Int, Def::Int(50), false, None),
    field("mempool.drop_priority_reservoir_size", Kind::Int, Def::Int(10240), false, None),
    field("mempool.drop_priority_threshold", Kind::Float, Def::Float(0.1), false, None),
    field("mempool.drop_utilisation_threshold", Kind::Float, Def::Float(1.0), false, None),
    field("mempool.duplicate_txs_cache_size", Kind::Int, Def::Int(100000), false, None),
    field("mempool.keep_invalid_txs_in_cache", Kind::Bool, Def::Bool(false), false, None),
    field("mempool.max_batch_bytes", Kind::Int, Def::Int(0), false, None),
    field("mempool.max_pending_txs_bytes", Kind::Int, Def::Int(1073741824), false, None),
    field("mempool.max_tx_bytes", Kind::Int, Def::Int(1048576), false, Some("bytes")),
    field("mempool.max_txs_bytes", Kind::Int, Def::Int(1073741824), false, Some("bytes")),
    field("mempool.pending_size", Kind::Int, Def::Int(5000), false, None),
    field("mempool.pending_ttl_duration", Kind::Duration, Def::Duration("0s"), false, None),
    field("mempool.pending_ttl_num_blocks", Kind::Int, Def::Int(0), false, None),
    field("mempool.remove_expired_txs_from_queue", Kind::Bool, Def::Bool(true), false, None),
    field("mempool.size", Kind::Int, Def::Int(5000), true, Some("transactions")),
    field("mempool.ttl_duration", Kind::Duration, Def::Duration("5s"), false, None),
    field("mempool.ttl_num_blocks", Kind::Int, Def::Int(10), false, Some("blocks")),
    field("mempool.tx_notify_threshold", Kind::Uint, Def::Uint(0), false, None),
    field("metrics.enable_hostname", Kind::Bool, Def::Bool(false), false, None),
    field("metrics.enable_hostname_label", Kind::Bool, Def::Bool(false), false, None),
    field("metrics.enable_service_label", Kind::Bool, Def::Bool(false), false, None),
    field("metrics.enabled", Kind::Bool, Def::Bool(true), false, None),
    field("metrics.global_labels", Kind::Pairs, Def::Pairs, false, None),
    field("metrics.max_open_connections", Kind::Int, Def::Int(3), false, None),
    field("metrics.namespace", Kind::Str, Def::Str("tendermint"), false, None),
    field("metrics.prometheus_listen_addr", Kind::Str, Def::Str(":26660"), false, None),
    field("metrics.prometheus_retention_time", Kind::Int, Def::Int(7200), false, Some("seconds")),
    field("metrics.service_name", Kind::Str, Def::Str(""), false, None),
    field("mode", Kind::Str, Def::Str("full"), false, None),
    field("network.p2p.allow_duplicate_ip", Kind::Bool, Def::Bool(false), false, None),
    field("network.p2p.blocksync_peers", Kind::Str, Def::Str(""), false, None),
    field("network.p2p.bootstrap_peers", Kind::Str, Def::Str(""), false, None),
    field("network.p2p.dial_interval", Kind::Duration, Def::Duration("10s"), false, None),
    field("network.p2p.dial_timeout", Kind::Duration, Def::Duration("3s"), false, None),
    field("network.p2p.external_address", Kind::Str, Def::Str(""), false, None),
    field("network.p2p.flush_throttle_timeout", Kind::Duration, Def::Duration("100ms"), false, None),
    field("network.p2p.handshake_timeout", Kind::Duration, Def::Duration("10s"), false, None),
    field("network.p2p.listen_address", Kind::Str, Def::Str("tcp://127.0.0.1:26656"), false, None),
    field("network.p2p.max_connections", Kind::Uint16, Def::Uint(100), false, Some("connections")),
    field("network.p2p.max_incoming_connection_attempts", Kind::Uint, Def::Uint(100), false, None),
    field("network.p2p.max_packet_msg_payload_size", Kind::Int, Def::Int(1000000), false, None),
    field("network.p2p.persistent_peers", Kind::Str, Def::Str(""), true, None),
    field("network.p2p.pex", Kind::Bool, Def::Bool(true), false, None),
    field("network.p2p.private_peer_ids", Kind::Str, Def::Str(""), false, None),
    field("network.p2p.queue_type", Kind::Str, Def::Str("simple-priority"), false, None),
    field("network.p2p.recv_rate", Kind::Int, Def::Int(20971520), false, Some("bytes/sec")),
    field("network.p2p.send_rate", Kind::Int, Def::Int(20971520), false, Some("bytes/sec")),
    field("network.p2p.unconditional_peer_ids", Kind::Str, Def::Str(""), false, None),
    field("network.p2p.upnp", Kind::Bool, Def::Bool(false), false, None),
    field(
        "network.rpc.cors_allowed_headers",
        Kind::List,
        Def::List(&["Origin", "Accept", "Content-Type", "X-Requested-With", "X-Server-Time"]),
        false,
        None,
    ),
    field("network.rpc.cors_allowed_methods", Kind::List, Def::List(&["HEAD", "GET", "POST"]), false, None),
    field("network.rpc.cors_allowed_origins", Kind::List, Def::List(&[]), true, None),
    field("network.rpc.event_log_max_items", Kind::Int, Def::Int(0), false, None),
    field("network.rpc.event_log_window_size", Kind::Duration, Def::Duration("30s"), false, None),
    field("network.rpc.experimental_disable_websocket", Kind::Bool, Def::Bool(false), false, None),
    field("network.rpc.lag_threshold", Kind::Int, Def::Int(300), true, Some("blocks")),
    field("network.rpc.listen_address", Kind::Str, Def::Str("tcp://127.0.0.1:26657"), true, None),
    field("network.rpc.max_body_bytes", Kind::Int, Def::Int(1000000), false, Some("bytes")),
    field("network.rpc.max_header_bytes", Kind::Int, Def::Int(1048576), false, None),
    field("network.rpc.max_open_connections", Kind::Int, Def::Int(900), true, Some("connections")),
    field("network.rpc.max_subscription_clients", Kind::Int, Def::Int(100), false, None),
    field("network.rpc.max_subscriptions_per_client", Kind::Int, Def::Int(5), false, None),
    field("network.rpc.pprof_listen_address", Kind::Str, Def::Str(""), false, None),
    field("network.rpc.timeout_broadcast_tx_commit", Kind::Duration, Def::Duration("10s"), false, None),
    field("network.rpc.timeout_read", Kind::Duration, Def::Duration("10s"), false, None),
    field("network.rpc.tls_cert_file", Kind::Str, Def::Str(""), false, None),
    field("network.rpc.tls_key_file", Kind::Str, Def::Str(""), false, None),
    field("network.rpc.unsafe", Kind::Bool, Def::Bool(false), false, None),
    field("priv_validator.client_certificate_file", Kind::Str, Def::Str(""), false, None),
    field("priv_validator.client_key_file", Kind::Str, Def::Str(""), false, None),
    field("priv_validator.key_file", Kind::Str, Def::Str("config/priv_validator_key.json"), false, None),
    field("priv_validator.listen_addr", Kind::Str, Def::Str(""), false, None),
    field("priv_validator.root_ca_file", Kind::Str, Def::Str(""), false, None),
    field("priv_validator.state_file", Kind::Str, Def::Str("data/priv_validator_state.json"), false, None),
    field("self_remediation.blocks_behind_check_interval_seconds", Kind::Uint, Def::Uint(60), false, None),
    field("self_remediation.blocks_behind_threshold", Kind::Uint, Def::Uint(0), false, Some("blocks")),
    field("self_remediation.p2p_no_peers_restart_window_seconds", Kind::Uint, Def::Uint(0), false, Some("seconds")),
    field("self_remediation.restart_cooldown_seconds", Kind::Uint, Def::Uint(600), false, Some("seconds")),
    field("self_remediation.statesync_no_peers_restart_window_seconds", Kind::Uint, Def::Uint(0), false, None),
    field("state_sync.backfill_blocks", Kind::Int, Def::Int(0), false, None),
    field("state_sync.backfill_duration", Kind::Duration, Def::Duration("0s"), false, None),
    field("state_sync.blacklist_ttl", Kind::Duration, Def::Duration("5m0s"), false, None),
    field("state_sync.chunk_request_timeout", Kind::Duration, Def::Duration("15s"), false, None),
    field("state_sync.discovery_time", Kind::Duration, Def::Duration("15s"), false, None),
    field("state_sync.enable", Kind::Bool, Def::Bool(false), false, None),
    field("state_sync.fetchers", Kind::Int, Def::Int(2), false, None),
    field("state_sync.light_block_response_timeout", Kind::Duration, Def::Duration("10s"), false, None),
    field("state_sync.rpc_servers", Kind::List, Def::Unset, false, None),
    field("state_sync.temp_dir", Kind::Str, Def::Str(""), false, None),
    field("state_sync.trust_hash", Kind::Str, Def::Str(""), false, None),
    field("state_sync.trust_height", Kind::Int, Def::Int(0), false, Some("blocks")),
    field("state_sync.trust_period", Kind::Duration, Def::Duration("168h0m0s"), false, None),
    field("state_sync.use_local_snapshot", Kind::Bool, Def::Bool(false), false, None),
    field("state_sync.use_p2p", Kind::Bool, Def::Bool(false), false, None),
    field("state_sync.verify_light_block_timeout", Kind::Duration, Def::Duration("1m0s"), false, None),
    field("storage.compaction_interval", Kind::Uint, Def::Uint(0), false, Some("seconds")),
    field("storage.db_backend", Kind::Str, Def::Str("goleveldb"), false, None),
    field("storage.db_path", Kind::Str, Def::Str("data"), false, None),
    field("storage.iavl_disable_fast_node", Kind::Bool, Def::Bool(true), false, None),
    field("storage.pruning", Kind::Str, Def::Str("nothing"), false, None),
    field("storage.pruning_interval", Kind::Str, Def::Str("0"), false, Some("blocks")),
    field("storage.pruning_keep_every", Kind::Str, Def::Str("0"), false, None),
    field("storage.pruning_keep_recent", Kind::Str, Def::Str("0"), false, None),
    field("storage.receipt_store.async_write_buffer", Kind::Int, Def::Int(100), false, None),
    field("storage.receipt_store.backend", Kind::Str, Def::Str("pebbledb"), false, None),
    field("storage.receipt_store.db_directory", Kind::Str, Def::Str(""), false, None),
    field("storage.receipt_store.keep_recent", Kind::Int, Def::Int(100000), false, Some("versions")),
    field("storage.receipt_store.prune_interval_seconds", Kind::Int, Def::Int(600), false, Some("seconds")),
    field("storage.receipt_store.tx_index_backend", Kind::Str, Def::Str("pebbledb"), false, None),
    field("storage.snapshot_directory", Kind::Str, Def::Str(""), false, None),
    field("storage.snapshot_interval", Kind::Uint, Def::Uint(0), false, Some("blocks")),
    field("storage.snapshot_keep_recent", Kind::Uint, Def::Uint(2), false, None),
    field("storage.state_commit.async_commit_buffer", Kind::Int, Def::Int(0), false, None),
    field("storage.state_commit.directory", Kind::Str, Def::Str(""), false, None),
    field("storage.state_commit.enable", Kind::Bool, Def::Bool(true), false, None),
    field("storage.state_commit.memiavl.snapshot_interval", Kind::Uint, Def::Uint(0), false, None),
    field("storage.state_commit.memiavl.snapshot_keep_recent", Kind::Uint, Def::Uint(0), false, None),
    field("storage.state_commit.memiavl.snapshot_min_time_interval", Kind::Uint, Def::Uint(0), false, None),
    field("storage.state_commit.memiavl.snapshot_prefetch_threshold", Kind::Float, Def::Float(0.0), false, None),
    field("storage.state_commit.memiavl.snapshot_writer_limit", Kind::Int, Def::Int(0), false, None),
    field("storage.state_commit.read_mode", Kind::Str, Def::Str("cosmos_only"), false, None),
    field("storage.state_commit.write_mode", Kind::Str, Def::Str("cosmos_only"), false, None),
    field("storage.state_store.async_write_buffer", Kind::Int, Def::Int(100), false, None),
    field("storage.state_store.backend", Kind::Str, Def::Str("pebbledb"), false, None),
    field("storage.state_store.db_directory", Kind::Str, Def::Str(""), false, None),
    field("storage.state_store.enable", Kind::Bool, Def::Bool(true), false, None),
    field("storage.state_store.evm_db_directory", Kind::Str, Def::Str(""), false, None),
    field("storage.state_store.import_num_workers", Kind::Int, Def::Int(1), false, None),
    field("storage.state_store.keep_last_version", Kind::Bool, Def::Bool(true), false, None),
    field("storage.state_store.keep_recent", Kind::Int, Def::Int(100000), false, Some("versions")),
    field("storage.state_store.prune_interval_seconds", Kind::Int, Def::Int(600), false, Some("seconds")),
    field("storage.state_store.read_mode", Kind::Str, Def::Str("cosmos_only"), false, None),
    field("storage.state_store.use_default_comparer", Kind::Bool, Def::Bool(false), false, None),
    field("storage.state_store.write_mode", Kind::Str, Def::Str("cosmos_only"), false, None),
    field("tx_index.indexer", Kind::List, Def::List(&["kv"]), false, None),
    field("tx_index.psql_conn", Kind::Str, Def::Str(""), false, None),
    field("version", Kind::Int, Def::Int(1), false, None),
    field("wasm.lru_size", Kind::Uint, Def::Uint(1), false, None),
    field("wasm.query_gas_limit", Kind::Uint, Def::Uint(300000), false, Some("gas")),
];

fn index() -> &'static HashMap<&'static str, &'static Field> {
    static INDEX: OnceLock<HashMap<&'static str, &'static Field>> = OnceLock::new();
    INDEX.get_or_init(|| FIELDS.iter().map(|f| (f.key, f)).collect())
}

/// The field with this unified key.
pub fn lookup(key: &str) -> Option<&'static Field> {
    index().get(key).copied()
}

/// The field set by this environment variable (`SEI_…`).
pub fn lookup_env(var: &str) -> Option<&'static Field> {
    FIELDS.iter().find(|f| f.env_var() == var)
}

/// Fields whose key starts with `section`.
pub fn section(section: &str) -> impl Iterator<Item = &'static Field> + '_ {
    FIELDS.iter().filter(move |f| f.section() == section)
}

/// Fields seid applies without a restart.
pub fn hot_reloadable() -> impl Iterator<Item = &'static Field> {
    FIELDS.iter().filter(|f| f.hot_reload)
}

/// The distinct first key segments, sorted.
pub fn sections() -> Vec<&'static str> {
    let mut s: Vec<_> = FIELDS.iter().map(Field::section).collect();
    s.dedup();
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_shape() {
        assert_eq!(FIELDS.len(), 223);
        assert!(FIELDS.windows(2).all(|w| w[0].key < w[1].key), "sorted and unique");
        let hot: Vec<_> = hot_reloadable().map(|f| f.key).collect();
        assert_eq!(hot.len(), 9, "{hot:?}");
        assert_eq!(sections().len(), 19);
        assert_eq!(lookup("evm.http_port").unwrap().env_var(), "SEI_EVM_HTTP_PORT");
        assert_eq!(lookup_env("SEI_CHAIN_CHAIN_ID").unwrap().key, "chain.chain_id");
        assert!(lookup("mempool.max-tx-bytes").is_none(), "legacy keys are not unified keys");
    }
}
