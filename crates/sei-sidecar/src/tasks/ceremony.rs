//! The genesis ceremony of a new chain: `generate-gentx` on every validator, then
//! `assemble-and-upload-genesis` on one of them.

use std::os::unix::fs::PermissionsExt;

use sei_tasks::params::{
    AssembleGenesisForkParams, AssembleGenesisParams, GenerateGentxParams, GenesisAccount, GenesisNode,
};
use serde_json::{Value, json};

use super::{TaskContext, TaskError, write_file};
use crate::cosmos::{self, Coin};
use crate::s3::Bucket;

const GENTX_MARKER: &str = ".sei-sidecar-gentx-done";
const ASSEMBLE_MARKER: &str = ".sei-sidecar-assemble-done";
/// The account key of this validator. Not the SDK keyring format: seid cannot read it.
const ACCOUNT_KEY: &str = "keyring-test/validator.key";

fn read_json(ctx: &TaskContext, path: &std::path::Path) -> Result<Value, TaskError> {
    let text = std::fs::read(path).map_err(|e| ctx.err("read", format!("{}: {e}", path.display())))?;
    serde_json::from_slice(&text).map_err(|e| ctx.err("read", format!("{}: {e}", path.display())))
}

async fn write_json(ctx: &TaskContext, path: &std::path::Path, value: &Value) -> Result<(), TaskError> {
    let text = serde_json::to_vec_pretty(value).expect("JSON");
    write_file(path, text).await.map_err(|e| ctx.err("write", format!("{}: {e}", path.display())))
}

/// The parts of a genesis the ceremony edits must have the right JSON types; checked once
/// on reading, so that the edits below cannot fail half-way.
fn check_genesis(ctx: &TaskContext, genesis: &Value) -> Result<(), TaskError> {
    let bad = |what: &str| ctx.err("genesis", format!("{what} has the wrong type"));
    if !genesis.is_object() || !(genesis["app_state"].is_object() || genesis["app_state"].is_null()) {
        return Err(bad("app_state"));
    }
    for (module, list) in [
        ("auth", "accounts"),
        ("bank", "balances"),
        ("bank", "supply"),
        ("evm", "address_associations"),
        ("genutil", "gen_txs"),
    ] {
        let m = &genesis["app_state"][module];
        if !(m.is_object() || m.is_null()) {
            return Err(bad(&format!("app_state.{module}")));
        }
        if !(m[list].is_array() || m[list].is_null()) {
            return Err(bad(&format!("app_state.{module}.{list}")));
        }
    }
    Ok(())
}

/// A mutable array at `path` under `app_state`, created when missing. The genesis has
/// passed [`check_genesis`].
fn array<'a>(genesis: &'a mut Value, path: &[&str]) -> &'a mut Vec<Value> {
    let mut v = &mut genesis["app_state"];
    for p in path {
        if v.get(*p).is_none_or(Value::is_null) {
            v[*p] = if p == path.last().unwrap() { json!([]) } else { json!({}) };
        }
        v = &mut v[*p];
    }
    if !v.is_array() {
        *v = json!([]);
    }
    v.as_array_mut().expect("made an array")
}

fn has_account(genesis: &Value, address: &str) -> bool {
    genesis["app_state"]["auth"]["accounts"].as_array().is_some_and(|a| a.iter().any(|x| x["address"] == address))
}

/// Adds a base account and its bank balance.
fn add_account(genesis: &mut Value, address: &str, coins: &[Coin]) {
    array(genesis, &["auth", "accounts"]).push(json!({
        "@type": "/cosmos.auth.v1beta1.BaseAccount",
        "address": address,
        "pub_key": null,
        "account_number": "0",
        "sequence": "0"
    }));
    array(genesis, &["bank", "balances"]).push(json!({"address": address, "coins": cosmos::coins_json(coins)}));
}

fn balance_of(genesis: &Value, address: &str, denom: &str) -> u128 {
    genesis["app_state"]["bank"]["balances"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|b| b["address"] == address)
        .flat_map(|b| b["coins"].as_array().cloned().unwrap_or_default())
        .filter(|c| c["denom"] == denom)
        .filter_map(|c| c["amount"].as_str().and_then(|a| a.parse::<u128>().ok()))
        .fold(0u128, u128::saturating_add)
}

/// This validator's account, its genesis balance, and its signed `MsgCreateValidator`.
pub async fn generate_gentx(ctx: TaskContext, p: GenerateGentxParams) -> Result<(), TaskError> {
    if ctx.marker_done(GENTX_MARKER) {
        return Ok(());
    }
    if p.chain_id.is_empty() || p.staking_amount.is_empty() || p.account_balance.is_empty() {
        return Err(ctx.err("validate params", "chainId, stakingAmount and accountBalance are required"));
    }
    let stake = cosmos::parse_coins(&p.staking_amount)
        .map_err(|e| ctx.err("validate params", format!("stakingAmount: {e}")))?;
    let [stake] = stake.as_slice() else {
        return Err(ctx.err("validate params", "stakingAmount must be a single coin"));
    };
    let balance = cosmos::parse_coins(&p.account_balance)
        .map_err(|e| ctx.err("validate params", format!("accountBalance: {e}")))?;
    let held = balance.iter().find(|c| c.denom == stake.denom).map_or(0, |c| c.amount);
    if held < stake.amount {
        return Err(ctx.err(
            "validate params",
            format!("accountBalance holds {held}{} but stakingAmount is {}{}", stake.denom, stake.amount, stake.denom),
        ));
    }

    // The account key survives a crash before the marker, so a rerun signs with it again.
    let key_path = ctx.home().join(ACCOUNT_KEY);
    let account = match std::fs::read(&key_path) {
        Ok(bytes) => k256::ecdsa::SigningKey::from_slice(&bytes).map_err(|e| ctx.err("account key", e.to_string()))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key = cosmos::generate_account().map_err(|e| ctx.err("account key", e))?;
            super::write_secret_file(&key_path, key.to_bytes().to_vec())
                .await
                .map_err(|e| ctx.err("account key", e.to_string()))?;
            key
        }
        Err(e) => return Err(ctx.err("account key", format!("{}: {e}", key_path.display()))),
    };
    let address = cosmos::bech32(cosmos::ACCOUNT_HRP, &cosmos::address_bytes(account.verifying_key()));

    let genesis_path = ctx.config_dir().join("genesis.json");
    let mut genesis = read_json(&ctx, &genesis_path)?;
    check_genesis(&ctx, &genesis)?;
    if genesis["chain_id"] != p.chain_id.as_str() {
        return Err(
            ctx.err("genesis", format!("genesis.json is for chain {}, not {}", genesis["chain_id"], p.chain_id))
        );
    }
    if !has_account(&genesis, &address) {
        add_account(&mut genesis, &address, &balance);
        if genesis["app_state"].get("evm").is_some_and(Value::is_object) {
            let eth = cosmos::eth_address(account.verifying_key());
            array(&mut genesis, &["evm", "address_associations"])
                .push(json!({"sei_address": address, "eth_address": eth}));
        }
        write_json(&ctx, &genesis_path, &genesis).await?;
    }

    let validator_key = std::fs::read_to_string(ctx.config_dir().join("priv_validator_key.json"))
        .map_err(|e| ctx.err("consensus key", format!("{e}; run generate-identity first")))?;
    let consensus = crate::keys::parse_key_file(&validator_key).map_err(|e| ctx.err("consensus key", e))?;
    let node_id = super::node_id(&ctx)?;
    // The moniker given to generate-identity (the reference used the host name instead).
    let config = std::fs::read_to_string(ctx.config_dir().join("config.toml")).unwrap_or_default();
    let moniker = config
        .parse::<toml_edit::DocumentMut>()
        .ok()
        .and_then(|d| d.get("moniker").and_then(|m| m.as_str()).map(String::from))
        .unwrap_or_else(|| node_id.clone());
    let ip = std::env::var("POD_IP").unwrap_or_default();
    let tx = cosmos::gentx(&cosmos::CreateValidator {
        moniker: &moniker,
        account: &account,
        consensus_key: &consensus.verifying_key(),
        stake,
        memo: &format!("{node_id}@{ip}:{}", sei_config::PORT_P2P),
        chain_id: &p.chain_id,
    });
    let dir = ctx.config_dir().join("gentx");
    std::fs::create_dir_all(&dir).map_err(|e| ctx.err("gentx", e.to_string()))?;
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))
        .map_err(|e| ctx.err("gentx", e.to_string()))?;
    let path = dir.join(format!("gentx-{node_id}.json"));
    write_json(&ctx, &path, &tx).await?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
        .map_err(|e| ctx.err("gentx", e.to_string()))?;
    ctx.write_marker(GENTX_MARKER).await
}

/// What the two assembly tasks share once their genesis base is in place.
struct Assembly<'a> {
    chain: &'a str,
    balance: Vec<Coin>,
    namespace: &'a str,
    nodes: &'a [GenesisNode],
    extra: Vec<(String, Vec<Coin>)>,
    /// A fork inherits a supply, which must grow with every added balance; a new chain
    /// computes its supply at InitGenesis.
    fork: bool,
}

fn validate_common<'a>(
    ctx: &TaskContext,
    balance: &str,
    namespace: &'a str,
    nodes: &'a [GenesisNode],
    accounts: &[GenesisAccount],
    chain: &'a str,
    fork: bool,
) -> Result<Assembly<'a>, TaskError> {
    let bad = |m: String| ctx.err("validate params", m);
    let balance = cosmos::parse_coins(balance).map_err(|e| bad(format!("accountBalance: {e}")))?;
    if namespace.is_empty() {
        return Err(bad("namespace is required".into()));
    }
    if nodes.is_empty() || nodes.iter().any(|n| n.name.is_empty() || n.name.contains('/')) {
        return Err(bad("nodes must list at least one node, each with a name".into()));
    }
    let mut extra = Vec::new();
    for (i, a) in accounts.iter().enumerate() {
        cosmos::check_account_address(&a.address).map_err(|e| bad(format!("accounts[{i}]: {e}")))?;
        let coins = cosmos::parse_coins(&a.balance).map_err(|e| bad(format!("accounts[{i}]: {e}")))?;
        extra.push((a.address.clone(), coins));
    }
    Ok(Assembly { chain, balance, namespace, nodes, extra, fork })
}

/// Adds `coins` to `app_state.bank.supply`, keeping it sorted by denomination.
fn grow_supply(genesis: &mut Value, coins: &[Coin]) {
    let supply = array(genesis, &["bank", "supply"]);
    let mut total: std::collections::BTreeMap<String, u128> = supply
        .iter()
        .filter_map(|c| Some((c["denom"].as_str()?.to_string(), c["amount"].as_str()?.parse().ok()?)))
        .collect();
    for c in coins {
        let t = total.entry(c.denom.clone()).or_default();
        *t = t.saturating_add(c.amount);
    }
    *supply = total.into_iter().map(|(denom, amount)| json!({"denom": denom, "amount": amount.to_string()})).collect();
}

impl Assembly<'_> {
    fn fund(&self, genesis: &mut Value, address: &str, coins: &[Coin]) {
        add_account(genesis, address, coins);
        if self.fork {
            grow_supply(genesis, coins);
        }
    }

    /// Downloads and verifies the gentxs, funds validators and extra accounts, embeds the
    /// gentxs, and uploads the genesis and `peers.json`.
    async fn run(&self, ctx: &TaskContext, bucket: &Bucket, mut genesis: Value) -> Result<(), TaskError> {
        let chain = self.chain;
        // Exactly the listed validators' gentxs, nothing left over from earlier runs.
        let dir = ctx.config_dir().join("gentx");
        std::fs::create_dir_all(&dir).map_err(|e| ctx.err("gentx", e.to_string()))?;
        let mut gentxs = Vec::new();
        for node in self.nodes {
            let body = bucket.get(ctx, &format!("{chain}/{}/gentx.json", node.name)).await?;
            let tx: Value =
                serde_json::from_slice(&body).map_err(|e| ctx.err("gentx", format!("{}: {e}", node.name)))?;
            write_json(ctx, &dir.join(format!("gentx-{}.json", node.name)), &tx).await?;
            gentxs.push((node.name.clone(), tx));
        }
        let keep: Vec<String> = self.nodes.iter().map(|n| format!("gentx-{}.json", n.name)).collect();
        for entry in std::fs::read_dir(&dir).map_err(|e| ctx.err("gentx", e.to_string()))?.flatten() {
            if !keep.iter().any(|k| entry.file_name() == k.as_str()) {
                let _ = std::fs::remove_file(entry.path());
            }
        }
        let mut verified: Vec<(String, cosmos::VerifiedGentx)> = Vec::new();
        for (name, tx) in &gentxs {
            let v = cosmos::verify_gentx(tx, chain).map_err(|e| ctx.err("gentx", format!("{name}: {e}")))?;
            if let Some((other, _)) =
                verified.iter().find(|(_, o)| o.delegator == v.delegator || o.consensus_key == v.consensus_key)
            {
                return Err(ctx.err("gentx", format!("{name} and {other} are the same validator")));
            }
            if !has_account(&genesis, &v.delegator) {
                self.fund(&mut genesis, &v.delegator, &self.balance);
            }
            verified.push((name.clone(), v));
        }
        for (address, coins) in &self.extra {
            if has_account(&genesis, address) {
                return Err(ctx.err("accounts", format!("{address} is already a genesis account")));
            }
            self.fund(&mut genesis, address, coins);
        }
        for (name, v) in &verified {
            let held = balance_of(&genesis, &v.delegator, &v.stake.denom);
            if held < v.stake.amount {
                return Err(ctx.err(
                    "gentx",
                    format!(
                        "{name}: {} holds {held}{} but stakes {}{}",
                        v.delegator, v.stake.denom, v.stake.amount, v.stake.denom
                    ),
                ));
            }
        }
        if !self.fork {
            array(&mut genesis, &["bank", "supply"]).clear();
        }
        *array(&mut genesis, &["genutil", "gen_txs"]) = gentxs.into_iter().map(|(_, tx)| tx).collect();
        let genesis_path = ctx.config_dir().join("genesis.json");
        write_json(ctx, &genesis_path, &genesis).await?;
        let bytes = std::fs::read(&genesis_path).map_err(|e| ctx.err("read", e.to_string()))?;
        bucket.put(ctx, &format!("{chain}/genesis.json"), bytes).await?;

        let mut peers = Vec::new();
        for node in self.nodes {
            let body = bucket.get(ctx, &format!("{chain}/{}/identity.json", node.name)).await?;
            let identity: Value =
                serde_json::from_slice(&body).map_err(|e| ctx.err("peers", format!("{}: {e}", node.name)))?;
            let id = identity["node_key"]["id"].as_str().filter(|s| !s.is_empty());
            let id = id.ok_or_else(|| ctx.err("peers", format!("{}: identity.json has no node_key.id", node.name)))?;
            peers.push(format!(
                "{id}@{n}-0.{n}.{}.svc.cluster.local:{}",
                self.namespace,
                sei_config::PORT_P2P,
                n = node.name
            ));
        }
        bucket.put(ctx, &format!("{chain}/peers.json"), serde_json::to_vec(&peers).expect("JSON")).await
    }
}

/// Collects every validator's gentx into the final genesis, uploads it and `peers.json`.
pub async fn assemble(ctx: TaskContext, p: AssembleGenesisParams) -> Result<(), TaskError> {
    if ctx.marker_done(ASSEMBLE_MARKER) {
        return Ok(());
    }
    let chain = ctx.settings.chain_id.clone();
    let accounts = p.accounts.unwrap_or_default();
    let assembly = validate_common(&ctx, &p.account_balance, &p.namespace, &p.nodes, &accounts, &chain, false)?;
    // Every run starts from the genesis as it was before the first one, so a retry after a
    // failure or a crash does not find its own additions.
    let pristine = ctx.config_dir().join("genesis.pre-assembly.json");
    if !pristine.exists() {
        let current = std::fs::read(ctx.config_dir().join("genesis.json"))
            .map_err(|e| ctx.err("read", format!("genesis.json: {e}")))?;
        write_file(&pristine, current).await.map_err(|e| ctx.err("write", e.to_string()))?;
    }
    let genesis = read_json(&ctx, &pristine)?;
    check_genesis(&ctx, &genesis)?;
    if genesis["chain_id"] != chain.as_str() {
        return Err(ctx.err("genesis", format!("genesis.json is for chain {}, not {chain}", genesis["chain_id"])));
    }
    assembly.run(&ctx, &Bucket::genesis(&ctx)?, genesis).await?;
    ctx.write_marker(ASSEMBLE_MARKER).await
}

const FORK_MARKER: &str = ".sei-sidecar-fork-assemble-done";

/// Empties the listed arrays of a module's state, when the module exists.
fn clear(genesis: &mut Value, module: &str, lists: &[&str]) {
    if let Some(m) = genesis["app_state"].get_mut(module).and_then(Value::as_object_mut) {
        for l in lists {
            m.insert((*l).into(), json!([]));
        }
    }
}

/// A new chain from another chain's exported state: new chain ID and start height, no
/// validators of the old chain, then the same assembly as a new chain.
pub async fn assemble_fork(ctx: TaskContext, p: AssembleGenesisForkParams) -> Result<(), TaskError> {
    if ctx.marker_done(FORK_MARKER) {
        return Ok(());
    }
    if p.source_chain_id.is_empty() || p.chain_id.is_empty() {
        return Err(ctx.err("validate params", "sourceChainId and chainId are required"));
    }
    let accounts = p.accounts.clone().unwrap_or_default();
    let assembly = validate_common(&ctx, &p.account_balance, &p.namespace, &p.nodes, &accounts, &p.chain_id, true)?;
    let bucket = Bucket::genesis(&ctx)?;
    let exported = bucket.get(&ctx, &format!("{}/exported-state.json", p.source_chain_id)).await?;
    let mut genesis: Value =
        serde_json::from_slice(&exported).map_err(|e| ctx.err("exported state", format!("not JSON: {e}")))?;
    check_genesis(&ctx, &genesis)?;
    for module in ["staking", "slashing", "distribution", "evidence"] {
        if !(genesis["app_state"][module].is_object() || genesis["app_state"][module].is_null()) {
            return Err(ctx.err("exported state", format!("app_state.{module} has the wrong type")));
        }
    }
    let initial: i64 = match &genesis["initial_height"] {
        Value::String(s) => s.parse().unwrap_or(1),
        Value::Number(n) => n.as_i64().unwrap_or(1),
        _ => 1,
    };
    genesis["chain_id"] = json!(p.chain_id);
    genesis["genesis_time"] = json!(crate::engine::now());
    genesis["initial_height"] = json!(initial.saturating_add(1).to_string());
    genesis["validators"] = json!([]);
    clear(
        &mut genesis,
        "staking",
        &["validators", "delegations", "unbonding_delegations", "redelegations", "last_validator_powers"],
    );
    if let Some(staking) = genesis["app_state"].get_mut("staking").and_then(Value::as_object_mut) {
        staking.insert("last_total_power".into(), json!("0"));
        staking.insert("exported".into(), json!(false));
    }
    clear(&mut genesis, "slashing", &["signing_infos", "missed_blocks"]);
    clear(
        &mut genesis,
        "distribution",
        &[
            "delegator_withdraw_infos",
            "outstanding_rewards",
            "validator_accumulated_commissions",
            "validator_historical_rewards",
            "validator_current_rewards",
            "delegator_starting_infos",
            "validator_slash_events",
        ],
    );
    if let Some(d) = genesis["app_state"].get_mut("distribution").and_then(Value::as_object_mut) {
        d.insert("previous_proposer".into(), json!(""));
    }
    clear(&mut genesis, "evidence", &["evidence"]);
    assembly.run(&ctx, &bucket, genesis).await?;
    ctx.write_marker(FORK_MARKER).await
}
