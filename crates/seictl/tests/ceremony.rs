//! A three-validator genesis ceremony through three sidecars and a real S3 server:
//! identities, gentxs, artifact upload, assembly, then every validator takes the genesis
//! and its peers.

mod common;

use common::*;
use sei_testenv::S3Server;
use serde_json::{Value, json};

const CHAIN: &str = "ceremony-1";
const NAMESPACE: &str = "fleet";

#[tokio::test]
async fn three_validators_make_a_genesis_whose_gentxs_all_verify() {
    let s3 = S3Server::start(&["genesis", "snapshots"]).unwrap();
    let mut env = s3.env();
    env.extend(
        [("SEI_CHAIN_ID", CHAIN), ("SEI_GENESIS_BUCKET", "genesis"), ("SEI_SNAPSHOT_BUCKET", "snapshots")]
            .map(|(k, v)| (k.to_string(), v.to_string())),
    );
    let mut nodes = Vec::new();
    for i in 0..3 {
        nodes.push(Sidecar::start_with("http://127.0.0.1:9", env.clone()).await);
        let s = &nodes[i];
        let name = format!("val-{i}");
        assert_eq!(s.run("generate-identity", json!({"chainId": CHAIN, "moniker": name})).await["status"], "completed");
        let t = s
            .run(
                "generate-gentx",
                json!({"chainId": CHAIN, "stakingAmount": "10000000usei", "accountBalance": "1000000000usei,500uusdc"}),
            )
            .await;
        assert_eq!(t["status"], "completed", "{t}");
        assert_eq!(s.run("upload-genesis-artifacts", json!({"nodeName": name})).await["status"], "completed");
    }
    // Bad parameters are refused before anything is touched.
    let t = nodes[0]
        .run("assemble-and-upload-genesis", json!({"accountBalance": "1usei", "namespace": NAMESPACE, "nodes": []}))
        .await;
    assert!(t["error"].as_str().unwrap().contains("nodes must list"), "{t}");
    let t = nodes[0]
        .run(
            "assemble-and-upload-genesis",
            json!({
                "accountBalance": "1usei", "namespace": NAMESPACE, "nodes": [{"name": "val-0"}],
                "accounts": [{"address": "cosmos1qqqsyqcyq5rqwzqfpg9scrgwpugpzysn4mcj7u", "balance": "5usei"}]
            }),
        )
        .await;
    assert!(t["error"].as_str().unwrap().contains("accounts[0]"), "{t}");

    let funded = sei_sidecar::cosmos::bech32("sei", &[7u8; 20]);
    let t = nodes[0]
        .run(
            "assemble-and-upload-genesis",
            json!({
                "accountBalance": "1000000000usei,500uusdc",
                "namespace": NAMESPACE,
                "nodes": [{"name": "val-0"}, {"name": "val-1"}, {"name": "val-2"}],
                "accounts": [{"address": funded, "balance": "42usei"}]
            }),
        )
        .await;
    assert_eq!(t["status"], "completed", "{t}");

    let genesis: Value =
        serde_json::from_slice(&std::fs::read(s3.object_path("genesis", &format!("{CHAIN}/genesis.json"))).unwrap())
            .unwrap();
    assert_eq!(genesis["chain_id"], CHAIN);
    let gentxs = genesis["app_state"]["genutil"]["gen_txs"].as_array().unwrap();
    assert_eq!(gentxs.len(), 3, "one gentx per validator");
    let accounts = genesis["app_state"]["auth"]["accounts"].as_array().unwrap();
    assert_eq!(accounts.len(), 4, "three validators and the funded account");
    for (i, tx) in gentxs.iter().enumerate() {
        let v = sei_sidecar::cosmos::verify_gentx(tx, CHAIN).unwrap_or_else(|e| panic!("gentx {i}: {e}"));
        assert_eq!(v.stake.amount, 10_000_000);
        assert!(accounts.iter().any(|a| a["address"] == v.delegator.as_str()), "validator {i} is funded");
        // The consensus key in the gentx is the validator's own.
        let pv: Value =
            serde_json::from_slice(&std::fs::read(nodes[i].home.join("config/priv_validator_key.json")).unwrap())
                .unwrap();
        assert_eq!(tx["body"]["messages"][0]["pubkey"]["key"], pv["pub_key"]["value"]);
        assert_eq!(tx["body"]["messages"][0]["description"]["moniker"], format!("val-{i}"));
    }

    let peers: Vec<String> =
        serde_json::from_slice(&std::fs::read(s3.object_path("genesis", &format!("{CHAIN}/peers.json"))).unwrap())
            .unwrap();
    assert_eq!(peers.len(), 3);
    for (i, s) in nodes.iter().enumerate() {
        assert_eq!(s.run("configure-genesis", Value::Null).await["status"], "completed");
        assert_eq!(
            std::fs::read(s.home.join("config/genesis.json")).unwrap(),
            std::fs::read(s3.object_path("genesis", &format!("{CHAIN}/genesis.json"))).unwrap()
        );
        assert_eq!(s.run("config-apply", json!({"mode": "validator"})).await["status"], "completed");
        assert_eq!(s.run("set-genesis-peers", Value::Null).await["status"], "completed");
        let config: toml::Table =
            toml::from_str(&std::fs::read_to_string(s.home.join("config/config.toml")).unwrap()).unwrap();
        let set: Vec<&str> = config["p2p"]["persistent-peers"].as_str().unwrap().split(',').collect();
        let own: Value = serde_json::from_slice(&std::fs::read(s.home.join("config/node_key.json")).unwrap()).unwrap();
        assert_eq!(set.len(), 2, "validator {i} peers with the two others");
        assert!(!set.iter().any(|p| p.starts_with(own["id"].as_str().unwrap())));
        assert!(set.iter().all(|p| p.contains(&format!(".{NAMESPACE}.svc.cluster.local:26656"))));
    }
}

#[tokio::test]
async fn a_fork_starts_from_exported_state_without_the_old_validators() {
    let s3 = S3Server::start(&["genesis", "snapshots"]).unwrap();
    let mut env = s3.env();
    env.extend(
        [("SEI_CHAIN_ID", "fork-2"), ("SEI_GENESIS_BUCKET", "genesis"), ("SEI_SNAPSHOT_BUCKET", "snapshots")]
            .map(|(k, v)| (k.to_string(), v.to_string())),
    );
    // The exported state of the old chain: a validator, its delegations, and a supply.
    let old = sei_sidecar::cosmos::bech32("sei", &[9u8; 20]);
    let exported = json!({
        "chain_id": "old-1", "initial_height": "1", "genesis_time": "2024-01-01T00:00:00Z",
        "validators": [{"address": "AB", "power": "10"}],
        "app_state": {
            "auth": {"accounts": [{"@type": "/cosmos.auth.v1beta1.BaseAccount", "address": old, "pub_key": null, "account_number": "5", "sequence": "3"}]},
            "bank": {"balances": [{"address": old, "coins": [{"denom": "usei", "amount": "100"}]}], "supply": [{"denom": "usei", "amount": "100"}]},
            "staking": {"validators": [{"operator_address": "seivaloper1old"}], "delegations": [{}], "last_total_power": "10", "exported": true},
            "slashing": {"signing_infos": [{}], "missed_blocks": [{}]},
            "distribution": {"outstanding_rewards": [{}], "previous_proposer": "seivalcons1old"},
            "evidence": {"evidence": [{}]}
        }
    });
    let path = s3.object_path("genesis", "old-1/exported-state.json");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, exported.to_string()).unwrap();

    let mut nodes = Vec::new();
    for i in 0..2 {
        nodes.push(Sidecar::start_with("http://127.0.0.1:9", env.clone()).await);
        let s = &nodes[i];
        s.run("generate-identity", json!({"chainId": "fork-2", "moniker": format!("f-{i}")})).await;
        let t = s
            .run(
                "generate-gentx",
                json!({"chainId": "fork-2", "stakingAmount": "1000usei", "accountBalance": "5000usei"}),
            )
            .await;
        assert_eq!(t["status"], "completed", "{t}");
        assert_eq!(
            s.run("upload-genesis-artifacts", json!({"nodeName": format!("f-{i}")})).await["status"],
            "completed"
        );
    }
    let t = nodes[0]
        .run(
            "assemble-genesis-fork",
            json!({
                "sourceChainId": "old-1", "chainId": "fork-2", "accountBalance": "5000usei", "namespace": NAMESPACE,
                "nodes": [{"name": "f-0"}, {"name": "f-1"}]
            }),
        )
        .await;
    assert_eq!(t["status"], "completed", "{t}");
    let genesis: Value =
        serde_json::from_slice(&std::fs::read(s3.object_path("genesis", "fork-2/genesis.json")).unwrap()).unwrap();
    assert_eq!(genesis["chain_id"], "fork-2");
    assert_eq!(genesis["initial_height"], "2");
    assert_eq!(genesis["validators"], json!([]));
    assert_eq!(genesis["app_state"]["staking"]["validators"], json!([]));
    assert_eq!(genesis["app_state"]["staking"]["exported"], false);
    assert_eq!(genesis["app_state"]["slashing"]["missed_blocks"], json!([]));
    assert_eq!(genesis["app_state"]["distribution"]["previous_proposer"], "");
    assert_eq!(genesis["app_state"]["evidence"]["evidence"], json!([]));
    assert_eq!(genesis["app_state"]["genutil"]["gen_txs"].as_array().unwrap().len(), 2);
    assert_eq!(
        genesis["app_state"]["bank"]["supply"],
        json!([{"denom": "usei", "amount": "10100"}]),
        "100 inherited + 2 × 5000"
    );
    assert_eq!(genesis["app_state"]["auth"]["accounts"][0]["address"], old.as_str(), "old accounts stay");
    assert!(std::fs::read(s3.object_path("genesis", "fork-2/peers.json")).is_ok());
}
