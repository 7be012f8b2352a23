//! Cosmos SDK pieces of a genesis ceremony: secp256k1 accounts with `sei` bech32
//! addresses, coins, and genesis transactions (`MsgCreateValidator`) signed in
//! SIGN_MODE_DIRECT exactly as `seid gentx` signs them, so the chain verifies them at
//! InitGenesis.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use cosmos_sdk_proto::Any;
use cosmos_sdk_proto::cosmos::base::v1beta1::Coin as ProtoCoin;
use cosmos_sdk_proto::cosmos::crypto::{ed25519, secp256k1};
use cosmos_sdk_proto::cosmos::staking::v1beta1::{CommissionRates, Description, MsgCreateValidator};
use cosmos_sdk_proto::cosmos::tx::signing::v1beta1::SignMode;
use cosmos_sdk_proto::cosmos::tx::v1beta1::{AuthInfo, Fee, ModeInfo, SignDoc, SignerInfo, TxBody, mode_info};
use cosmos_sdk_proto::prost::Message;
use k256::ecdsa::signature::{Signer, Verifier};
use k256::ecdsa::{Signature, SigningKey, VerifyingKey};
use ripemd::Ripemd160;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

pub const ACCOUNT_HRP: &str = "sei";
pub const VALOPER_HRP: &str = "seivaloper";
const GAS_LIMIT: u64 = 200_000;

/// A coin amount, e.g. `10000000usei`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Coin {
    pub denom: String,
    pub amount: u128,
}

/// Parses `1000usei,5uatom` into coins sorted by denomination. Duplicates, zero amounts
/// and malformed entries are errors that quote the entry.
pub fn parse_coins(text: &str) -> Result<Vec<Coin>, String> {
    let mut coins = Vec::new();
    for part in text.split(',').map(str::trim) {
        let split =
            part.find(|c: char| !c.is_ascii_digit()).ok_or_else(|| format!("coin {part:?} has no denomination"))?;
        let (amount, denom) = part.split_at(split);
        let amount: u128 = amount.parse().map_err(|_| format!("coin {part:?} has no amount"))?;
        let valid_denom = denom.len() >= 3
            && denom.len() <= 128
            && denom.starts_with(|c: char| c.is_ascii_alphabetic())
            && denom.chars().all(|c| c.is_ascii_alphanumeric() || "/:._-".contains(c));
        if !valid_denom {
            return Err(format!("coin {part:?} has an invalid denomination"));
        }
        if amount == 0 {
            return Err(format!("coin {part:?} is zero"));
        }
        coins.push(Coin { denom: denom.to_string(), amount });
    }
    coins.sort();
    if coins.windows(2).any(|w| w[0].denom == w[1].denom) {
        return Err(format!("{text:?} repeats a denomination"));
    }
    Ok(coins)
}

pub fn coins_json(coins: &[Coin]) -> Value {
    Value::Array(coins.iter().map(|c| json!({"denom": c.denom, "amount": c.amount.to_string()})).collect())
}

/// RIPEMD-160 of SHA-256 of the compressed public key: the account address bytes.
pub fn address_bytes(key: &VerifyingKey) -> [u8; 20] {
    let sha = Sha256::digest(key.to_encoded_point(true).as_bytes());
    Ripemd160::digest(sha).into()
}

pub fn bech32(hrp: &str, bytes: &[u8]) -> String {
    let hrp = bech32::Hrp::parse(hrp).expect("static prefixes are valid");
    bech32::encode::<bech32::Bech32>(hrp, bytes).expect("20 bytes always encode")
}

/// Checks that `address` is a bech32 `sei` account address.
pub fn check_account_address(address: &str) -> Result<(), String> {
    match bech32::decode(address) {
        Ok((hrp, data)) if hrp.as_str() == ACCOUNT_HRP && (data.len() == 20 || data.len() == 32) => Ok(()),
        Ok((hrp, _)) => Err(format!("{address:?} is not a sei account address (prefix {hrp})")),
        Err(e) => Err(format!("{address:?} is not a bech32 address: {e}")),
    }
}

/// The EIP-55 checksummed Ethereum address of the same key (seid associates both).
pub fn eth_address(key: &VerifyingKey) -> String {
    use sha3::Keccak256;
    let point = key.to_encoded_point(false);
    let hash = Keccak256::digest(&point.as_bytes()[1..]);
    let hex: String = hash[12..].iter().map(|b| format!("{b:02x}")).collect();
    let check = Keccak256::digest(hex.as_bytes());
    let mut out = String::from("0x");
    for (i, c) in hex.chars().enumerate() {
        let nibble = (check[i / 2] >> if i % 2 == 0 { 4 } else { 0 }) & 0xf;
        out.push(if c.is_ascii_alphabetic() && nibble >= 8 { c.to_ascii_uppercase() } else { c });
    }
    out
}

/// A fresh secp256k1 account key.
pub fn generate_account() -> Result<SigningKey, String> {
    let mut seed = [0u8; 32];
    loop {
        getrandom::fill(&mut seed).map_err(|e| format!("no randomness: {e}"))?;
        if let Ok(key) = SigningKey::from_slice(&seed) {
            return Ok(key);
        }
    }
}

/// `0.1` as the SDK's `Dec` is stored on the wire: the value × 10^18 as an integer.
fn dec_wire(value: &str) -> String {
    let (int, frac) = value.split_once('.').unwrap_or((value, ""));
    let padded = format!("{frac:0<18}");
    let digits = format!("{int}{padded}").trim_start_matches('0').to_string();
    if digits.is_empty() { "0".into() } else { digits }
}

/// `0.1` as the SDK prints a `Dec` in JSON: 18 decimals.
fn dec_json(value: &str) -> String {
    let (int, frac) = value.split_once('.').unwrap_or((value, ""));
    format!("{int}.{frac:0<18}")
}

/// What a validator's genesis transaction declares.
pub struct CreateValidator<'a> {
    pub moniker: &'a str,
    pub account: &'a SigningKey,
    pub consensus_key: &'a ed25519_dalek::VerifyingKey,
    pub stake: &'a Coin,
    pub memo: &'a str,
    pub chain_id: &'a str,
}

const COMMISSION: [&str; 3] = ["0.1", "0.2", "0.01"];

fn any<M: Message>(type_url: &str, msg: &M) -> Any {
    Any { type_url: type_url.into(), value: msg.encode_to_vec() }
}

/// The signed gentx, as JSON in the SDK's protobuf-JSON form.
pub fn gentx(v: &CreateValidator<'_>) -> Value {
    let addr = address_bytes(v.account.verifying_key());
    let delegator = bech32(ACCOUNT_HRP, &addr);
    let validator = bech32(VALOPER_HRP, &addr);
    let msg = MsgCreateValidator {
        description: Some(Description { moniker: v.moniker.into(), ..Default::default() }),
        commission: Some(CommissionRates {
            rate: dec_wire(COMMISSION[0]),
            max_rate: dec_wire(COMMISSION[1]),
            max_change_rate: dec_wire(COMMISSION[2]),
        }),
        min_self_delegation: "1".into(),
        #[allow(deprecated)]
        delegator_address: delegator.clone(),
        validator_address: validator.clone(),
        pubkey: Some(any(
            "/cosmos.crypto.ed25519.PubKey",
            &ed25519::PubKey { key: v.consensus_key.as_bytes().to_vec() },
        )),
        value: Some(ProtoCoin { denom: v.stake.denom.clone(), amount: v.stake.amount.to_string() }),
    };
    let body = TxBody {
        messages: vec![any("/cosmos.staking.v1beta1.MsgCreateValidator", &msg)],
        memo: v.memo.into(),
        ..Default::default()
    };
    let account_pub = v.account.verifying_key().to_encoded_point(true).as_bytes().to_vec();
    let auth = AuthInfo {
        signer_infos: vec![SignerInfo {
            public_key: Some(any("/cosmos.crypto.secp256k1.PubKey", &secp256k1::PubKey { key: account_pub.clone() })),
            mode_info: Some(ModeInfo {
                sum: Some(mode_info::Sum::Single(mode_info::Single { mode: SignMode::Direct as i32 })),
            }),
            sequence: 0,
        }],
        fee: Some(Fee { amount: vec![], gas_limit: GAS_LIMIT, payer: String::new(), granter: String::new() }),
        ..Default::default()
    };
    let sign_doc = SignDoc {
        body_bytes: body.encode_to_vec(),
        auth_info_bytes: auth.encode_to_vec(),
        chain_id: v.chain_id.into(),
        account_number: 0,
    };
    let signature: Signature = v.account.sign(&sign_doc.encode_to_vec());
    json!({
        "body": {
            "messages": [{
                "@type": "/cosmos.staking.v1beta1.MsgCreateValidator",
                "description": {"moniker": v.moniker, "identity": "", "website": "", "security_contact": "", "details": ""},
                "commission": {"rate": dec_json(COMMISSION[0]), "max_rate": dec_json(COMMISSION[1]), "max_change_rate": dec_json(COMMISSION[2])},
                "min_self_delegation": "1",
                "delegator_address": delegator,
                "validator_address": validator,
                "pubkey": {"@type": "/cosmos.crypto.ed25519.PubKey", "key": B64.encode(v.consensus_key.as_bytes())},
                "value": {"denom": v.stake.denom, "amount": v.stake.amount.to_string()}
            }],
            "memo": v.memo,
            "timeout_height": "0",
            "extension_options": [],
            "non_critical_extension_options": []
        },
        "auth_info": {
            "signer_infos": [{
                "public_key": {"@type": "/cosmos.crypto.secp256k1.PubKey", "key": B64.encode(&account_pub)},
                "mode_info": {"single": {"mode": "SIGN_MODE_DIRECT"}},
                "sequence": "0"
            }],
            "fee": {"amount": [], "gas_limit": GAS_LIMIT.to_string(), "payer": "", "granter": ""}
        },
        "signatures": [B64.encode(signature.to_bytes())]
    })
}

/// The facts the assembler needs from a gentx, after checking its signature.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedGentx {
    pub delegator: String,
    pub validator: String,
    pub stake: Coin,
    /// Base64 of the ed25519 consensus key.
    pub consensus_key: String,
}

fn text<'a>(v: &'a Value, what: &str) -> Result<&'a str, String> {
    v.as_str().ok_or_else(|| format!("gentx: {what} is missing"))
}

fn b64(v: &Value, what: &str) -> Result<Vec<u8>, String> {
    B64.decode(text(v, what)?).map_err(|e| format!("gentx: {what}: {e}"))
}

/// Rebuilds the signed bytes of a gentx from its JSON and verifies the signature against
/// its signer, who must be the delegator.
pub fn verify_gentx(tx: &Value, chain_id: &str) -> Result<VerifiedGentx, String> {
    check_shape(tx)?;
    let m = &tx["body"]["messages"][0];
    if m["@type"] != "/cosmos.staking.v1beta1.MsgCreateValidator" {
        return Err(format!("gentx: the first message is {}, not MsgCreateValidator", m["@type"]));
    }
    let rate = |k: &str| -> Result<String, String> { Ok(dec_wire(text(&m["commission"][k], k)?)) };
    let stake = Coin {
        denom: text(&m["value"]["denom"], "value.denom")?.into(),
        amount: text(&m["value"]["amount"], "value.amount")?
            .parse()
            .map_err(|_| "gentx: value.amount is not a number")?,
    };
    let d = &m["description"];
    let msg = MsgCreateValidator {
        description: Some(Description {
            moniker: text(&d["moniker"], "moniker")?.into(),
            identity: d["identity"].as_str().unwrap_or_default().into(),
            website: d["website"].as_str().unwrap_or_default().into(),
            security_contact: d["security_contact"].as_str().unwrap_or_default().into(),
            details: d["details"].as_str().unwrap_or_default().into(),
        }),
        commission: Some(CommissionRates {
            rate: rate("rate")?,
            max_rate: rate("max_rate")?,
            max_change_rate: rate("max_change_rate")?,
        }),
        min_self_delegation: text(&m["min_self_delegation"], "min_self_delegation")?.into(),
        #[allow(deprecated)]
        delegator_address: text(&m["delegator_address"], "delegator_address")?.into(),
        validator_address: text(&m["validator_address"], "validator_address")?.into(),
        pubkey: Some(any(
            "/cosmos.crypto.ed25519.PubKey",
            &ed25519::PubKey { key: b64(&m["pubkey"]["key"], "pubkey.key")? },
        )),
        value: Some(ProtoCoin { denom: stake.denom.clone(), amount: stake.amount.to_string() }),
    };
    let body = TxBody {
        messages: vec![any("/cosmos.staking.v1beta1.MsgCreateValidator", &msg)],
        memo: tx["body"]["memo"].as_str().unwrap_or_default().into(),
        ..Default::default()
    };
    let signer = &tx["auth_info"]["signer_infos"][0];
    let signer_key = b64(&signer["public_key"]["key"], "signer public key")?;
    let fee = &tx["auth_info"]["fee"];
    let auth = AuthInfo {
        signer_infos: vec![SignerInfo {
            public_key: Some(any("/cosmos.crypto.secp256k1.PubKey", &secp256k1::PubKey { key: signer_key.clone() })),
            mode_info: Some(ModeInfo {
                sum: Some(mode_info::Sum::Single(mode_info::Single { mode: SignMode::Direct as i32 })),
            }),
            sequence: text(&signer["sequence"], "sequence")?.parse().map_err(|_| "gentx: bad sequence")?,
        }],
        fee: Some(Fee {
            amount: vec![],
            gas_limit: text(&fee["gas_limit"], "gas_limit")?.parse().map_err(|_| "gentx: bad gas_limit")?,
            payer: fee["payer"].as_str().unwrap_or_default().into(),
            granter: fee["granter"].as_str().unwrap_or_default().into(),
        }),
        ..Default::default()
    };
    if signer["mode_info"]["single"]["mode"] != "SIGN_MODE_DIRECT" {
        return Err("gentx: only SIGN_MODE_DIRECT is supported".into());
    }
    let sign_doc = SignDoc {
        body_bytes: body.encode_to_vec(),
        auth_info_bytes: auth.encode_to_vec(),
        chain_id: chain_id.into(),
        account_number: 0,
    };
    let key = VerifyingKey::from_sec1_bytes(&signer_key).map_err(|e| format!("gentx: signer key: {e}"))?;
    let sig = Signature::from_slice(&b64(&tx["signatures"][0], "signature")?)
        .map_err(|e| format!("gentx: signature: {e}"))?;
    key.verify(&sign_doc.encode_to_vec(), &sig).map_err(|_| "gentx: the signature does not verify".to_string())?;
    let delegator = bech32(ACCOUNT_HRP, &address_bytes(&key));
    #[allow(deprecated)]
    if msg.delegator_address != delegator {
        return Err(format!("gentx: signed by {delegator}, not by the delegator {}", msg.delegator_address));
    }
    let expected_validator = bech32(VALOPER_HRP, &address_bytes(&key));
    if msg.validator_address != expected_validator {
        return Err(format!(
            "gentx: validator_address {} is not the delegator's ({expected_validator})",
            msg.validator_address
        ));
    }
    Ok(VerifiedGentx {
        delegator,
        validator: msg.validator_address,
        stake,
        consensus_key: B64.encode(&msg.pubkey.expect("set above").value),
    })
}

fn len(v: &Value) -> usize {
    v.as_array().map_or(0, Vec::len)
}

/// The signature covers only what `verify_gentx` rebuilds, so everything else a gentx may
/// carry must be absent or empty: the JSON is embedded in the genesis as it is.
fn check_shape(tx: &Value) -> Result<(), String> {
    const MSG_KEYS: [&str; 8] = [
        "@type",
        "description",
        "commission",
        "min_self_delegation",
        "delegator_address",
        "validator_address",
        "pubkey",
        "value",
    ];
    let body = &tx["body"];
    if len(&body["messages"]) != 1 {
        return Err(format!("gentx: expected exactly one message, found {}", len(&body["messages"])));
    }
    let extra: Vec<&String> = body["messages"][0]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, _)| k)
        .filter(|k| !MSG_KEYS.contains(&k.as_str()))
        .collect();
    if !extra.is_empty() {
        return Err(format!("gentx: unexpected message fields {extra:?}"));
    }
    if !matches!(body["timeout_height"].as_str(), None | Some("0")) {
        return Err("gentx: timeout_height must be 0".into());
    }
    if len(&body["extension_options"]) + len(&body["non_critical_extension_options"]) > 0 {
        return Err("gentx: extension options are not allowed".into());
    }
    let auth = &tx["auth_info"];
    if len(&auth["signer_infos"]) != 1 || len(&tx["signatures"]) != 1 {
        return Err("gentx: expected exactly one signer and one signature".into());
    }
    if len(&auth["fee"]["amount"]) > 0 {
        return Err("gentx: a genesis transaction pays no fee".into());
    }
    if auth["signer_infos"][0]["public_key"]["@type"] != "/cosmos.crypto.secp256k1.PubKey" {
        return Err("gentx: the signer key must be secp256k1".into());
    }
    if body["messages"][0]["pubkey"]["@type"] != "/cosmos.crypto.ed25519.PubKey" {
        return Err("gentx: the consensus key must be ed25519".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coins_parse_strictly_and_sort() {
        let coins = parse_coins("5uusdc,10usei").unwrap();
        assert_eq!(coins.iter().map(|c| c.denom.as_str()).collect::<Vec<_>>(), ["usei", "uusdc"]);
        for bad in ["usei", "10", "0usei", "10usei,5usei", "10u", "10usei;"] {
            assert!(parse_coins(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn decimals_on_the_wire_and_in_json() {
        assert_eq!(dec_wire("0.1"), "100000000000000000");
        assert_eq!(dec_wire("0.01"), "10000000000000000");
        assert_eq!(dec_wire("1"), "1000000000000000000");
        assert_eq!(dec_json("0.2"), "0.200000000000000000");
    }

    #[test]
    fn known_addresses() {
        // secp256k1 key 0x01: a well-known test vector.
        let key = SigningKey::from_slice(&[[0u8; 31].as_slice(), &[1]].concat()).unwrap();
        assert_eq!(eth_address(key.verifying_key()), "0x7E5F4552091A69125d5DfCb7b8C2659029395Bdf");
        let addr = bech32(ACCOUNT_HRP, &address_bytes(key.verifying_key()));
        assert!(addr.starts_with("sei1"));
        assert!(check_account_address(&addr).is_ok());
        assert!(check_account_address("cosmos1qqqsyqcyq5rqwzqfpg9scrgwpugpzysn4mcj7u").is_err());
    }

    #[test]
    fn a_signed_gentx_verifies_and_tampering_breaks_it() {
        let account = generate_account().unwrap();
        let consensus = crate::keys::generate().unwrap();
        let stake = Coin { denom: "usei".into(), amount: 10_000_000 };
        let tx = gentx(&CreateValidator {
            moniker: "v-0",
            account: &account,
            consensus_key: &consensus.verifying_key(),
            stake: &stake,
            memo: "abc@:26656",
            chain_id: "loadtest-1",
        });
        let v = verify_gentx(&tx, "loadtest-1").unwrap();
        assert_eq!(v.stake, stake);
        assert!(v.validator.starts_with("seivaloper1"));
        assert!(verify_gentx(&tx, "other-chain").is_err(), "the chain ID is signed");
        let mut tampered = tx.clone();
        tampered["body"]["messages"][0]["value"]["amount"] = "99999999".into();
        assert!(verify_gentx(&tampered, "loadtest-1").unwrap_err().contains("does not verify"));
        // What the signature does not cover must not be there at all.
        for (path, value) in [
            ("/body/timeout_height", json!("5")),
            ("/auth_info/fee/amount", json!([{"denom": "usei", "amount": "1"}])),
            ("/body/extension_options", json!([{"@type": "/x"}])),
            ("/signatures", json!(["AA==", "AA=="])),
        ] {
            let mut t = tx.clone();
            *t.pointer_mut(path).unwrap() = value;
            assert!(verify_gentx(&t, "loadtest-1").is_err(), "{path}");
        }
        let mut two = tx.clone();
        let msg = two["body"]["messages"][0].clone();
        two["body"]["messages"].as_array_mut().unwrap().push(msg);
        assert!(verify_gentx(&two, "loadtest-1").unwrap_err().contains("exactly one message"));
    }
}
