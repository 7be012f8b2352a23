//! The four node modes and the well-known ports.

use std::fmt;
use std::str::FromStr;

/// How a node participates in the network.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Mode {
    /// Signs blocks; exposes only P2P and metrics.
    Validator,
    /// Follows the chain and serves RPC, REST, gRPC and EVM JSON-RPC.
    Full,
    /// Crawls and shares peer addresses.
    Seed,
    /// A full node that keeps all history.
    Archive,
}

pub const ALL_MODES: [Mode; 4] = [Mode::Validator, Mode::Full, Mode::Seed, Mode::Archive];

pub const PORT_EVM_HTTP: u16 = 8545;
pub const PORT_EVM_WS: u16 = 8546;
pub const PORT_GRPC: u16 = 9090;
pub const PORT_REST: u16 = 1317;
pub const PORT_P2P: u16 = 26656;
pub const PORT_RPC: u16 = 26657;
pub const PORT_METRICS: u16 = 26660;
pub const PORT_SIDECAR: u16 = 7777;

/// Every node port, named as the operator names container ports.
pub const NODE_PORTS: [(&str, u16); 7] = [
    ("evm-rpc", PORT_EVM_HTTP),
    ("evm-ws", PORT_EVM_WS),
    ("grpc", PORT_GRPC),
    ("rest", PORT_REST),
    ("p2p", PORT_P2P),
    ("rpc", PORT_RPC),
    ("metrics", PORT_METRICS),
];

/// Blocks between state-sync snapshots when snapshot generation is on.
pub const DEFAULT_SNAPSHOT_INTERVAL: u64 = 2000;

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Validator => "validator",
            Mode::Full => "full",
            Mode::Seed => "seed",
            Mode::Archive => "archive",
        }
    }

    /// CometBFT has no archive mode; archive nodes run as `full`.
    pub fn tendermint_mode(self) -> &'static str {
        match self {
            Mode::Archive => "full",
            m => m.as_str(),
        }
    }

    /// Serves client traffic (full and archive).
    pub fn is_full_node_type(self) -> bool {
        matches!(self, Mode::Full | Mode::Archive)
    }

    /// Ports the node listens on in this mode. Seeds listen on P2P and metrics like
    /// validators (the reference listed none for them).
    pub fn ports(self) -> Vec<(&'static str, u16)> {
        match self {
            Mode::Validator | Mode::Seed => vec![("p2p", PORT_P2P), ("metrics", PORT_METRICS)],
            Mode::Full | Mode::Archive => NODE_PORTS.to_vec(),
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An unknown mode name.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("invalid mode {0:?}: expected one of validator, full, seed, archive")]
pub struct InvalidMode(pub String);

impl FromStr for Mode {
    type Err = InvalidMode;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ALL_MODES.into_iter().find(|m| m.as_str() == s).ok_or_else(|| InvalidMode(s.to_string()))
    }
}
