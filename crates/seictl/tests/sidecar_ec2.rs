//! `discover-peers` with `ec2Tags` sources, against an EC2-compatible API (moto's server)
//! and seid simulators reached at the instances' addresses through a test-only proxy.

mod common;

use common::*;
use sei_testenv::{Ec2Server, PeerNetwork, SeidSimulator};
use serde_json::json;

const REGION: &str = "eu-central-1";
const RPC_NOWHERE: &str = "http://127.0.0.1:9";

#[tokio::test]
async fn running_instances_with_every_tag_become_peers_by_their_node_id() {
    let ec2 = Ec2Server::start().unwrap();
    let network = PeerNetwork::start().await.unwrap();
    let chain = [("ChainIdentifier", "pacific-1")];
    let a = ec2.run_instance(REGION, &chain).unwrap();
    let b = ec2.run_instance(REGION, &[("ChainIdentifier", "pacific-1"), ("Role", "rpc")]).unwrap();
    let unreachable = ec2.run_instance(REGION, &chain).unwrap();
    let other_chain = ec2.run_instance(REGION, &[("ChainIdentifier", "arctic-1")]).unwrap();
    let address = |i: &sei_testenv::Ec2Instance| i.public_ip.clone().unwrap_or_else(|| i.private_ip.clone());
    let seid_a = SeidSimulator::start("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa").await.unwrap();
    let seid_b = SeidSimulator::start("bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb").await.unwrap();
    let seid_other = SeidSimulator::start("cccccccccccccccccccccccccccccccccccccccc").await.unwrap();
    network.add(&[address(&a)], seid_a.port);
    network.add(&[address(&b)], seid_b.port);
    network.add(&[address(&other_chain)], seid_other.port);

    let mut env = ec2.env();
    env.push(("HTTP_PROXY".into(), network.url()));
    env.push(("NO_PROXY".into(), "127.0.0.1,localhost".into()));
    let s = Sidecar::start_with(RPC_NOWHERE, env).await;
    let source = |tags: serde_json::Value| json!({"sources": [{"type": "ec2Tags", "region": REGION, "tags": tags}]});

    let t = s.run("discover-peers", source(json!({"ChainIdentifier": "pacific-1"}))).await;
    assert_eq!(t["status"], "completed", "{t}");
    let config: toml::Table =
        toml::from_str(&std::fs::read_to_string(s.home.join("config/config.toml")).unwrap()).unwrap();
    let peers: Vec<&str> = config["p2p"]["persistent-peers"].as_str().unwrap().split(',').collect();
    let mut expected = vec![
        format!("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@{}:26656", address(&a)),
        format!("bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb@{}:26656", address(&b)),
    ];
    let mut got: Vec<String> = peers.iter().map(|p| p.to_string()).collect();
    got.sort();
    expected.sort();
    assert_eq!(got, expected, "the other chain's instance is filtered out, the unreachable {} skipped", unreachable.id);

    // Every tag must match.
    let t = s.run("discover-peers", source(json!({"ChainIdentifier": "pacific-1", "Role": "rpc"}))).await;
    assert_eq!(t["status"], "completed", "{t}");
    let config = std::fs::read_to_string(s.home.join("config/config.toml")).unwrap();
    assert!(
        config.contains(&format!("\"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb@{}:26656\"", address(&b))),
        "{config}"
    );

    // Nothing tagged so: a failed task that says what was looked for.
    let t = s.run("discover-peers", source(json!({"ChainIdentifier": "atlantic-2"}))).await;
    let error = t["error"].as_str().unwrap();
    assert!(
        error.contains("no reachable running instance tagged ChainIdentifier=atlantic-2 in eu-central-1 (0 found)"),
        "{error}"
    );
    // Missing region or tags are refused before any request: at submission when absent,
    // by the task when empty.
    let e = s.refused("discover-peers", json!({"sources": [{"type": "ec2Tags", "tags": {"a": "b"}}]})).await;
    assert!(e.contains("missing field `region`"), "{e}");
    let t = s.run("discover-peers", json!({"sources": [{"type": "ec2Tags", "region": "", "tags": {"a": "b"}}]})).await;
    assert!(t["error"].as_str().unwrap().contains("region and tags are required"), "{t}");
}
