//! Well-known chains and their embedded genesis files, verified by SHA-256.

use sha2::{Digest, Sha256};

use crate::error::ConfigError;

/// Metadata of a well-known chain. No peers are embedded: they come from peer discovery.
#[derive(Debug, Clone, Copy)]
pub struct Chain {
    pub id: &'static str,
    pub network: &'static str,
    pub rpc: &'static str,
    pub genesis_time: &'static str,
    pub sha256: &'static str,
    genesis: &'static [u8],
}

pub static CHAINS: &[Chain] = &[
    Chain {
        id: "pacific-1",
        network: "mainnet",
        rpc: "https://rpc.sei-apis.com",
        genesis_time: "2023-05-22T15:00:00.000000Z",
        sha256: "d7ce8349b9e26573951c8c19afe018ee721cddcedb2d5a8df6f712ecbccc3428",
        genesis: include_bytes!("../genesis/pacific-1.json"),
    },
    Chain {
        id: "atlantic-2",
        network: "testnet",
        rpc: "https://rpc-testnet.sei-apis.com",
        genesis_time: "2023-02-24T01:00:00.000000000Z",
        // The corrected file that matches the live chain, not the one of sei-config v0.0.13.
        sha256: "d78c35f55c5263108d56f638b26255c714a36e0800f2dcf57136ecb9042e7772",
        genesis: include_bytes!("../genesis/atlantic-2.json"),
    },
    Chain {
        id: "arctic-1",
        network: "devnet",
        rpc: "https://rpc-arctic-1.sei-apis.com",
        genesis_time: "2024-01-25T20:18:30.242526108Z",
        sha256: "8ef5b0c01c1cde65be22a0f501d1663c55b3a900b46ecb72a5ccd823040bf035",
        genesis: include_bytes!("../genesis/arctic-1.json"),
    },
];

/// The chain with this ID.
pub fn lookup(id: &str) -> Option<&'static Chain> {
    CHAINS.iter().find(|c| c.id == id)
}

/// IDs of all well-known chains.
pub fn known_ids() -> Vec<&'static str> {
    CHAINS.iter().map(|c| c.id).collect()
}

/// The genesis file of a well-known chain, after checking its digest.
pub fn genesis(id: &str) -> Result<&'static [u8], ConfigError> {
    let chain = lookup(id).ok_or_else(|| ConfigError::UnknownChain(id.to_string()))?;
    let actual = hex(&Sha256::digest(chain.genesis));
    if actual != chain.sha256 {
        return Err(ConfigError::CorruptGenesis { chain: id.into(), actual, expected: chain.sha256.into() });
    }
    Ok(chain.genesis)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_embedded_genesis_matches_its_digest_and_chain_id() {
        for id in known_ids() {
            let bytes = genesis(id).unwrap();
            let doc: serde_json::Value = serde_json::from_slice(bytes).unwrap();
            assert_eq!(doc["chain_id"], id);
            assert_eq!(doc["genesis_time"], lookup(id).unwrap().genesis_time, "{id}");
        }
        assert!(matches!(genesis("sei-devnet-9"), Err(ConfigError::UnknownChain(_))));
    }

    #[test]
    fn the_genesis_readme_records_each_digest() {
        let readme = include_str!("../genesis/README.md");
        for chain in CHAINS {
            let row = readme.lines().find(|l| l.starts_with(&format!("| `{}.json` |", chain.id)));
            let row = row.unwrap_or_else(|| panic!("genesis/README.md has no row for {}", chain.id));
            assert!(row.contains(chain.sha256), "genesis/README.md records another digest for {}", chain.id);
        }
    }
}
