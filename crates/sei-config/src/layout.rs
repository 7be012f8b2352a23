//! Where each setting lives in seid's two files, in the order they are written.
//!
//! Key spelling is seid's and must be exact: config.toml is kebab-case throughout (with
//! renames such as `laddr` and `wal-file`); app.toml mixes kebab-case tables, `sc-`/`ss-`
//! prefixed keys, the lone `rs-backend`, and snake_case tables such as `[evm]`.

/// Which file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum File {
    /// `config.toml`: the CometBFT layer.
    Config,
    /// `app.toml`: the Cosmos SDK and Sei application layer.
    App,
}

impl File {
    pub fn name(self) -> &'static str {
        match self {
            File::Config => "config.toml",
            File::App => "app.toml",
        }
    }

    pub fn layout(self) -> &'static [Slot] {
        match self {
            File::Config => CONFIG_TOML,
            File::App => APP_TOML,
        }
    }
}

/// What a slot's value comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Src {
    /// A field, written as its value.
    Field(&'static str),
    /// A constant string that is not part of the model.
    Fixed(&'static str),
    /// A field written only when non-empty (`chain-id`).
    NonEmpty(&'static str),
    /// A list field written as one comma-joined string (`rpc-servers`).
    CommaJoined(&'static str),
    /// The mode as CometBFT knows it: `archive` is written as `full`.
    TendermintMode,
}

impl Src {
    /// The field this slot reads and writes, if any.
    pub fn field(self) -> Option<&'static str> {
        match self {
            Src::Field(k) | Src::NonEmpty(k) | Src::CommaJoined(k) => Some(k),
            Src::TendermintMode => Some("mode"),
            Src::Fixed(_) => None,
        }
    }
}

/// (table, key, source); table `None` is the top level.
pub type Slot = (Option<&'static str>, &'static str, Src);

static CONFIG_TOML: &[Slot] = &[
    (None, "proxy-app", Src::Field("chain.proxy_app")),
    (None, "moniker", Src::Field("chain.moniker")),
    // Not written by the reference, so seid panicked on a chain-ID mismatch.
    (None, "chain-id", Src::NonEmpty("chain.chain_id")),
    (None, "mode", Src::TendermintMode),
    (None, "db-backend", Src::Field("storage.db_backend")),
    (None, "db-dir", Src::Field("storage.db_path")),
    (None, "log-level", Src::Field("logging.level")),
    (None, "log-format", Src::Field("logging.format")),
    (None, "genesis-file", Src::Fixed("config/genesis.json")),
    (None, "node-key-file", Src::Fixed("config/node_key.json")),
    (None, "abci", Src::Field("chain.abci")),
    (None, "filter-peers", Src::Field("chain.filter_peers")),
    (Some("rpc"), "laddr", Src::Field("network.rpc.listen_address")),
    (Some("rpc"), "cors-allowed-origins", Src::Field("network.rpc.cors_allowed_origins")),
    (Some("rpc"), "cors-allowed-methods", Src::Field("network.rpc.cors_allowed_methods")),
    (Some("rpc"), "cors-allowed-headers", Src::Field("network.rpc.cors_allowed_headers")),
    (Some("rpc"), "unsafe", Src::Field("network.rpc.unsafe")),
    (Some("rpc"), "max-open-connections", Src::Field("network.rpc.max_open_connections")),
    (Some("rpc"), "max-subscription-clients", Src::Field("network.rpc.max_subscription_clients")),
    (Some("rpc"), "max-subscriptions-per-client", Src::Field("network.rpc.max_subscriptions_per_client")),
    (Some("rpc"), "experimental-disable-websocket", Src::Field("network.rpc.experimental_disable_websocket")),
    (Some("rpc"), "event-log-window-size", Src::Field("network.rpc.event_log_window_size")),
    (Some("rpc"), "event-log-max-items", Src::Field("network.rpc.event_log_max_items")),
    (Some("rpc"), "timeout-broadcast-tx-commit", Src::Field("network.rpc.timeout_broadcast_tx_commit")),
    (Some("rpc"), "max-body-bytes", Src::Field("network.rpc.max_body_bytes")),
    (Some("rpc"), "max-header-bytes", Src::Field("network.rpc.max_header_bytes")),
    (Some("rpc"), "tls-cert-file", Src::Field("network.rpc.tls_cert_file")),
    (Some("rpc"), "tls-key-file", Src::Field("network.rpc.tls_key_file")),
    (Some("rpc"), "pprof-laddr", Src::Field("network.rpc.pprof_listen_address")),
    (Some("rpc"), "lag-threshold", Src::Field("network.rpc.lag_threshold")),
    (Some("rpc"), "timeout-read", Src::Field("network.rpc.timeout_read")),
    (Some("p2p"), "laddr", Src::Field("network.p2p.listen_address")),
    (Some("p2p"), "external-address", Src::Field("network.p2p.external_address")),
    (Some("p2p"), "bootstrap-peers", Src::Field("network.p2p.bootstrap_peers")),
    (Some("p2p"), "persistent-peers", Src::Field("network.p2p.persistent_peers")),
    (Some("p2p"), "blocksync-peers", Src::Field("network.p2p.blocksync_peers")),
    (Some("p2p"), "upnp", Src::Field("network.p2p.upnp")),
    (Some("p2p"), "max-connections", Src::Field("network.p2p.max_connections")),
    (Some("p2p"), "max-incoming-connection-attempts", Src::Field("network.p2p.max_incoming_connection_attempts")),
    (Some("p2p"), "pex", Src::Field("network.p2p.pex")),
    (Some("p2p"), "private-peer-ids", Src::Field("network.p2p.private_peer_ids")),
    (Some("p2p"), "allow-duplicate-ip", Src::Field("network.p2p.allow_duplicate_ip")),
    (Some("p2p"), "unconditional-peer-ids", Src::Field("network.p2p.unconditional_peer_ids")),
    (Some("p2p"), "flush-throttle-timeout", Src::Field("network.p2p.flush_throttle_timeout")),
    (Some("p2p"), "max-packet-msg-payload-size", Src::Field("network.p2p.max_packet_msg_payload_size")),
    (Some("p2p"), "send-rate", Src::Field("network.p2p.send_rate")),
    (Some("p2p"), "recv-rate", Src::Field("network.p2p.recv_rate")),
    (Some("p2p"), "handshake-timeout", Src::Field("network.p2p.handshake_timeout")),
    (Some("p2p"), "dial-timeout", Src::Field("network.p2p.dial_timeout")),
    (Some("p2p"), "dial-interval", Src::Field("network.p2p.dial_interval")),
    (Some("p2p"), "queue-type", Src::Field("network.p2p.queue_type")),
    (Some("mempool"), "broadcast", Src::Field("mempool.broadcast")),
    (Some("mempool"), "size", Src::Field("mempool.size")),
    (Some("mempool"), "max-txs-bytes", Src::Field("mempool.max_txs_bytes")),
    (Some("mempool"), "cache-size", Src::Field("mempool.cache_size")),
    (Some("mempool"), "duplicate-txs-cache-size", Src::Field("mempool.duplicate_txs_cache_size")),
    (Some("mempool"), "keep-invalid-txs-in-cache", Src::Field("mempool.keep_invalid_txs_in_cache")),
    (Some("mempool"), "max-tx-bytes", Src::Field("mempool.max_tx_bytes")),
    (Some("mempool"), "max-batch-bytes", Src::Field("mempool.max_batch_bytes")),
    (Some("mempool"), "ttl-duration", Src::Field("mempool.ttl_duration")),
    (Some("mempool"), "ttl-num-blocks", Src::Field("mempool.ttl_num_blocks")),
    (Some("mempool"), "tx-notify-threshold", Src::Field("mempool.tx_notify_threshold")),
    (Some("mempool"), "check-tx-error-blacklist-enabled", Src::Field("mempool.check_tx_error_blacklist_enabled")),
    (Some("mempool"), "check-tx-error-threshold", Src::Field("mempool.check_tx_error_threshold")),
    (Some("mempool"), "pending-size", Src::Field("mempool.pending_size")),
    (Some("mempool"), "max-pending-txs-bytes", Src::Field("mempool.max_pending_txs_bytes")),
    (Some("mempool"), "pending-ttl-duration", Src::Field("mempool.pending_ttl_duration")),
    (Some("mempool"), "pending-ttl-num-blocks", Src::Field("mempool.pending_ttl_num_blocks")),
    (Some("mempool"), "remove-expired-txs-from-queue", Src::Field("mempool.remove_expired_txs_from_queue")),
    (Some("mempool"), "drop-priority-threshold", Src::Field("mempool.drop_priority_threshold")),
    (Some("mempool"), "drop-utilisation-threshold", Src::Field("mempool.drop_utilisation_threshold")),
    (Some("mempool"), "drop-priority-reservoir-size", Src::Field("mempool.drop_priority_reservoir_size")),
    (Some("statesync"), "enable", Src::Field("state_sync.enable")),
    (Some("statesync"), "use-p2p", Src::Field("state_sync.use_p2p")),
    (Some("statesync"), "rpc-servers", Src::CommaJoined("state_sync.rpc_servers")),
    (Some("statesync"), "trust-height", Src::Field("state_sync.trust_height")),
    (Some("statesync"), "trust-hash", Src::Field("state_sync.trust_hash")),
    (Some("statesync"), "trust-period", Src::Field("state_sync.trust_period")),
    (Some("statesync"), "backfill-blocks", Src::Field("state_sync.backfill_blocks")),
    (Some("statesync"), "backfill-duration", Src::Field("state_sync.backfill_duration")),
    (Some("statesync"), "discovery-time", Src::Field("state_sync.discovery_time")),
    (Some("statesync"), "temp-dir", Src::Field("state_sync.temp_dir")),
    (Some("statesync"), "chunk-request-timeout", Src::Field("state_sync.chunk_request_timeout")),
    (Some("statesync"), "fetchers", Src::Field("state_sync.fetchers")),
    (Some("statesync"), "verify-light-block-timeout", Src::Field("state_sync.verify_light_block_timeout")),
    (Some("statesync"), "blacklist-ttl", Src::Field("state_sync.blacklist_ttl")),
    (Some("statesync"), "use-local-snapshot", Src::Field("state_sync.use_local_snapshot")),
    (Some("statesync"), "light-block-response-timeout", Src::Field("state_sync.light_block_response_timeout")),
    (Some("consensus"), "wal-file", Src::Field("consensus.wal_path")),
    (Some("consensus"), "create-empty-blocks", Src::Field("consensus.create_empty_blocks")),
    (Some("consensus"), "create-empty-blocks-interval", Src::Field("consensus.create_empty_blocks_interval")),
    (Some("consensus"), "gossip-tx-key-only", Src::Field("consensus.gossip_transaction_key_only")),
    (Some("consensus"), "peer-gossip-sleep-duration", Src::Field("consensus.peer_gossip_sleep_duration")),
    (Some("consensus"), "peer-query-maj23-sleep-duration", Src::Field("consensus.peer_query_maj23_sleep_duration")),
    (Some("consensus"), "double-sign-check-height", Src::Field("consensus.double_sign_check_height")),
    (Some("consensus"), "unsafe-propose-timeout-override", Src::Field("consensus.unsafe_propose_timeout_override")),
    (
        Some("consensus"),
        "unsafe-propose-timeout-delta-override",
        Src::Field("consensus.unsafe_propose_timeout_delta_override"),
    ),
    (Some("consensus"), "unsafe-vote-timeout-override", Src::Field("consensus.unsafe_vote_timeout_override")),
    (
        Some("consensus"),
        "unsafe-vote-timeout-delta-override",
        Src::Field("consensus.unsafe_vote_timeout_delta_override"),
    ),
    (Some("consensus"), "unsafe-commit-timeout-override", Src::Field("consensus.unsafe_commit_timeout_override")),
    (
        Some("consensus"),
        "unsafe-bypass-commit-timeout-override",
        Src::Field("consensus.unsafe_bypass_commit_timeout_override"),
    ),
    (Some("tx-index"), "indexer", Src::Field("tx_index.indexer")),
    (Some("tx-index"), "psql-conn", Src::Field("tx_index.psql_conn")),
    (Some("instrumentation"), "prometheus", Src::Field("metrics.enabled")),
    (Some("instrumentation"), "prometheus-listen-addr", Src::Field("metrics.prometheus_listen_addr")),
    (Some("instrumentation"), "max-open-connections", Src::Field("metrics.max_open_connections")),
    (Some("instrumentation"), "namespace", Src::Field("metrics.namespace")),
    (Some("priv-validator"), "key-file", Src::Field("priv_validator.key_file")),
    (Some("priv-validator"), "state-file", Src::Field("priv_validator.state_file")),
    (Some("priv-validator"), "laddr", Src::Field("priv_validator.listen_addr")),
    (Some("priv-validator"), "client-certificate-file", Src::Field("priv_validator.client_certificate_file")),
    (Some("priv-validator"), "client-key-file", Src::Field("priv_validator.client_key_file")),
    (Some("priv-validator"), "root-ca-file", Src::Field("priv_validator.root_ca_file")),
    (
        Some("self-remediation"),
        "p2p-no-peers-available-window-seconds",
        Src::Field("self_remediation.p2p_no_peers_restart_window_seconds"),
    ),
    (
        Some("self-remediation"),
        "statesync-no-peers-available-window-seconds",
        Src::Field("self_remediation.statesync_no_peers_restart_window_seconds"),
    ),
    (Some("self-remediation"), "blocks-behind-threshold", Src::Field("self_remediation.blocks_behind_threshold")),
    (
        Some("self-remediation"),
        "blocks-behind-check-interval",
        Src::Field("self_remediation.blocks_behind_check_interval_seconds"),
    ),
    (Some("self-remediation"), "restart-cooldown-seconds", Src::Field("self_remediation.restart_cooldown_seconds")),
];

static APP_TOML: &[Slot] = &[
    (None, "minimum-gas-prices", Src::Field("chain.min_gas_prices")),
    (None, "pruning", Src::Field("storage.pruning")),
    (None, "pruning-keep-recent", Src::Field("storage.pruning_keep_recent")),
    (None, "pruning-keep-every", Src::Field("storage.pruning_keep_every")),
    (None, "pruning-interval", Src::Field("storage.pruning_interval")),
    (None, "halt-height", Src::Field("chain.halt_height")),
    (None, "halt-time", Src::Field("chain.halt_time")),
    (None, "min-retain-blocks", Src::Field("chain.min_retain_blocks")),
    (None, "inter-block-cache", Src::Field("chain.inter_block_cache")),
    (None, "index-events", Src::Field("chain.index_events")),
    (None, "iavl-disable-fastnode", Src::Field("storage.iavl_disable_fast_node")),
    (None, "compaction-interval", Src::Field("storage.compaction_interval")),
    (None, "concurrency-workers", Src::Field("chain.concurrency_workers")),
    (None, "occ-enabled", Src::Field("chain.occ_enabled")),
    (Some("telemetry"), "service-name", Src::Field("metrics.service_name")),
    (Some("telemetry"), "enabled", Src::Field("metrics.enabled")),
    (Some("telemetry"), "enable-hostname", Src::Field("metrics.enable_hostname")),
    (Some("telemetry"), "enable-hostname-label", Src::Field("metrics.enable_hostname_label")),
    (Some("telemetry"), "enable-service-label", Src::Field("metrics.enable_service_label")),
    (Some("telemetry"), "prometheus-retention-time", Src::Field("metrics.prometheus_retention_time")),
    (Some("telemetry"), "global-labels", Src::Field("metrics.global_labels")),
    (Some("api"), "enable", Src::Field("api.rest.enable")),
    (Some("api"), "swagger", Src::Field("api.rest.swagger")),
    (Some("api"), "address", Src::Field("api.rest.address")),
    (Some("api"), "max-open-connections", Src::Field("api.rest.max_open_connections")),
    (Some("api"), "rpc-read-timeout", Src::Field("api.rest.rpc_read_timeout")),
    (Some("api"), "rpc-write-timeout", Src::Field("api.rest.rpc_write_timeout")),
    (Some("api"), "rpc-max-body-bytes", Src::Field("api.rest.rpc_max_body_bytes")),
    (Some("api"), "enabled-unsafe-cors", Src::Field("api.rest.enable_unsafe_cors")),
    (Some("grpc"), "enable", Src::Field("api.grpc.enable")),
    (Some("grpc"), "address", Src::Field("api.grpc.address")),
    (Some("grpc-web"), "enable", Src::Field("api.grpc_web.enable")),
    (Some("grpc-web"), "address", Src::Field("api.grpc_web.address")),
    (Some("grpc-web"), "enable-unsafe-cors", Src::Field("api.grpc_web.enable_unsafe_cors")),
    (Some("state-sync"), "snapshot-interval", Src::Field("storage.snapshot_interval")),
    (Some("state-sync"), "snapshot-keep-recent", Src::Field("storage.snapshot_keep_recent")),
    (Some("state-sync"), "snapshot-directory", Src::Field("storage.snapshot_directory")),
    (Some("state-commit"), "sc-enable", Src::Field("storage.state_commit.enable")),
    (Some("state-commit"), "sc-directory", Src::Field("storage.state_commit.directory")),
    (Some("state-commit"), "sc-async-commit-buffer", Src::Field("storage.state_commit.async_commit_buffer")),
    (Some("state-commit"), "sc-write-mode", Src::Field("storage.state_commit.write_mode")),
    (Some("state-commit"), "sc-read-mode", Src::Field("storage.state_commit.read_mode")),
    (Some("state-commit"), "sc-keep-recent", Src::Field("storage.state_commit.memiavl.snapshot_keep_recent")),
    (Some("state-commit"), "sc-snapshot-interval", Src::Field("storage.state_commit.memiavl.snapshot_interval")),
    (
        Some("state-commit"),
        "sc-snapshot-min-time-interval",
        Src::Field("storage.state_commit.memiavl.snapshot_min_time_interval"),
    ),
    (
        Some("state-commit"),
        "sc-snapshot-writer-limit",
        Src::Field("storage.state_commit.memiavl.snapshot_writer_limit"),
    ),
    (
        Some("state-commit"),
        "sc-snapshot-prefetch-threshold",
        Src::Field("storage.state_commit.memiavl.snapshot_prefetch_threshold"),
    ),
    (Some("state-store"), "ss-enable", Src::Field("storage.state_store.enable")),
    (Some("state-store"), "ss-db-directory", Src::Field("storage.state_store.db_directory")),
    (Some("state-store"), "ss-backend", Src::Field("storage.state_store.backend")),
    (Some("state-store"), "ss-async-write-buffer", Src::Field("storage.state_store.async_write_buffer")),
    (Some("state-store"), "ss-keep-recent", Src::Field("storage.state_store.keep_recent")),
    (Some("state-store"), "ss-prune-interval", Src::Field("storage.state_store.prune_interval_seconds")),
    (Some("state-store"), "ss-import-num-workers", Src::Field("storage.state_store.import_num_workers")),
    (Some("state-store"), "ss-keep-last-version", Src::Field("storage.state_store.keep_last_version")),
    (Some("state-store"), "ss-use-default-comparer", Src::Field("storage.state_store.use_default_comparer")),
    (Some("state-store"), "ss-write-mode", Src::Field("storage.state_store.write_mode")),
    (Some("state-store"), "ss-read-mode", Src::Field("storage.state_store.read_mode")),
    (Some("state-store"), "ss-evm-db-directory", Src::Field("storage.state_store.evm_db_directory")),
    (Some("receipt-store"), "rs-backend", Src::Field("storage.receipt_store.backend")),
    (Some("receipt-store"), "db-directory", Src::Field("storage.receipt_store.db_directory")),
    (Some("receipt-store"), "async-write-buffer", Src::Field("storage.receipt_store.async_write_buffer")),
    (Some("receipt-store"), "keep-recent", Src::Field("storage.receipt_store.keep_recent")),
    (Some("receipt-store"), "prune-interval-seconds", Src::Field("storage.receipt_store.prune_interval_seconds")),
    (Some("receipt-store"), "tx-index-backend", Src::Field("storage.receipt_store.tx_index_backend")),
    (Some("evm"), "http_enabled", Src::Field("evm.http_enabled")),
    (Some("evm"), "http_port", Src::Field("evm.http_port")),
    (Some("evm"), "ws_enabled", Src::Field("evm.ws_enabled")),
    (Some("evm"), "ws_port", Src::Field("evm.ws_port")),
    (Some("evm"), "read_timeout", Src::Field("evm.read_timeout")),
    (Some("evm"), "read_header_timeout", Src::Field("evm.read_header_timeout")),
    (Some("evm"), "write_timeout", Src::Field("evm.write_timeout")),
    (Some("evm"), "idle_timeout", Src::Field("evm.idle_timeout")),
    (Some("evm"), "simulation_gas_limit", Src::Field("evm.simulation_gas_limit")),
    (Some("evm"), "simulation_evm_timeout", Src::Field("evm.simulation_evm_timeout")),
    (Some("evm"), "cors_origins", Src::Field("evm.cors_origins")),
    (Some("evm"), "ws_origins", Src::Field("evm.ws_origins")),
    (Some("evm"), "filter_timeout", Src::Field("evm.filter_timeout")),
    (Some("evm"), "checktx_timeout", Src::Field("evm.checktx_timeout")),
    (Some("evm"), "max_tx_pool_txs", Src::Field("evm.max_tx_pool_txs")),
    (Some("evm"), "slow", Src::Field("evm.slow")),
    (Some("evm"), "deny_list", Src::Field("evm.deny_list")),
    (Some("evm"), "max_log_no_block", Src::Field("evm.max_log_no_block")),
    (Some("evm"), "max_blocks_for_log", Src::Field("evm.max_blocks_for_log")),
    (Some("evm"), "max_subscriptions_new_head", Src::Field("evm.max_subscriptions_new_head")),
    (Some("evm"), "enable_test_api", Src::Field("evm.enable_test_api")),
    (Some("evm"), "max_concurrent_trace_calls", Src::Field("evm.max_concurrent_trace_calls")),
    (Some("evm"), "max_concurrent_simulation_calls", Src::Field("evm.max_concurrent_simulation_calls")),
    (Some("evm"), "max_trace_lookback_blocks", Src::Field("evm.max_trace_lookback_blocks")),
    (Some("evm"), "trace_timeout", Src::Field("evm.trace_timeout")),
    (Some("evm"), "rpc_stats_interval", Src::Field("evm.rpc_stats_interval")),
    (Some("evm"), "worker_pool_size", Src::Field("evm.worker_pool_size")),
    (Some("evm"), "worker_queue_size", Src::Field("evm.worker_queue_size")),
    (Some("wasm"), "query_gas_limit", Src::Field("wasm.query_gas_limit")),
    (Some("wasm"), "lru_size", Src::Field("wasm.lru_size")),
    (Some("giga_executor"), "enabled", Src::Field("giga_executor.enabled")),
    (Some("giga_executor"), "occ_enabled", Src::Field("giga_executor.occ_enabled")),
    (Some("eth_replay"), "eth_replay_enabled", Src::Field("evm.replay.enabled")),
    (Some("eth_replay"), "eth_rpc", Src::Field("evm.replay.eth_rpc")),
    (Some("eth_replay"), "eth_data_dir", Src::Field("evm.replay.eth_data_dir")),
    (Some("eth_replay"), "eth_replay_contract_state_checks", Src::Field("evm.replay.contract_state_checks")),
    (Some("eth_block_test"), "eth_block_test_enabled", Src::Field("evm.block_test.enabled")),
    (Some("eth_block_test"), "eth_block_test_test_data_path", Src::Field("evm.block_test.test_data_path")),
    (Some("evm_query"), "evm_query_gas_limit", Src::Field("evm.query.gas_limit")),
    (Some("light_invariance"), "supply_enabled", Src::Field("light_invariance.supply_enabled")),
    (Some("genesis"), "stream-import", Src::Field("genesis.stream_import")),
    (Some("genesis"), "genesis-stream-file", Src::Field("genesis.genesis_stream_file")),
    (Some("sei"), "mode", Src::Field("mode")),
    (Some("sei"), "version", Src::Field("version")),
];

/// Tables of a file in the order they are written.
pub fn tables(file: File) -> Vec<&'static str> {
    let mut out: Vec<&'static str> = Vec::new();
    for (table, _, _) in file.layout() {
        if let Some(t) = table
            && out.last() != Some(t)
        {
            out.push(t);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::{FIELDS, lookup};

    #[test]
    fn every_field_but_none_is_placed_and_every_slot_names_a_field() {
        for file in [File::Config, File::App] {
            for (_, key, src) in file.layout() {
                if let Some(f) = src.field() {
                    assert!(lookup(f).is_some(), "{} {key}: unknown field {f}", file.name());
                }
            }
        }
        let placed =
            |key: &str| [File::Config, File::App].iter().any(|f| f.layout().iter().any(|s| s.2.field() == Some(key)));
        let unplaced: Vec<_> = FIELDS.iter().filter(|f| !placed(f.key)).map(|f| f.key).collect();
        assert!(unplaced.is_empty(), "{unplaced:?}");
    }

    #[test]
    fn receipt_store_backend_key_is_prefixed() {
        let keys: Vec<_> = File::App.layout().iter().filter(|s| s.0 == Some("receipt-store")).map(|s| s.1).collect();
        assert!(keys.contains(&"rs-backend") && !keys.contains(&"backend"));
    }

    #[test]
    fn table_order() {
        assert_eq!(
            tables(File::Config),
            [
                "rpc",
                "p2p",
                "mempool",
                "statesync",
                "consensus",
                "tx-index",
                "instrumentation",
                "priv-validator",
                "self-remediation"
            ]
        );
        assert_eq!(tables(File::App).first(), Some(&"telemetry"));
        assert_eq!(tables(File::App).last(), Some(&"sei"));
    }
}
