//! `seictl await validator ADDR`: wait until the chain's staking API knows a validator
//! (after its create-validator transaction), as the reference's verb did: poll
//! `<api>/cosmos/staking/v1beta1/validators/<addr>` every second, 5 s per attempt, until
//! 200; a 400 (a malformed address) fails at once.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use clap::{Args, Subcommand};

#[derive(Subcommand, Debug)]
pub enum AwaitCommand {
    /// Wait until the staking API returns the validator (exit 0), or fail (exit 1).
    #[command(
        after_help = "Example:\n  seictl await validator seivaloper1... --api http://localhost:1317 --timeout 5m"
    )]
    Validator(ValidatorArgs),
}

#[derive(Args, Debug)]
pub struct ValidatorArgs {
    /// The validator's operator address (seivaloper1...).
    pub address: String,
    /// The REST API (default: [api] address of <home>/config/app.toml, else http://localhost:1317).
    #[arg(long, value_name = "URL")]
    pub api: Option<String>,
    /// seid's home, for app.toml (default: $SEI_HOME, else ~/.sei).
    #[command(flatten)]
    pub home: crate::patch_cmd::HomeArgs,
    /// Give up after this long (30s, 5m, 1h).
    #[arg(long, default_value = "1m", value_parser = parse)]
    pub timeout: Duration,
}

fn parse(s: &str) -> Result<Duration, String> {
    crate::rules::model::duration(s).ok_or(format!("{s:?} is not a duration like 30s, 5m or 1h"))
}

/// app.toml's `[api] address` (e.g. `tcp://0.0.0.0:1317`) as a URL a client can use: an
/// unspecified or loopback host becomes localhost; any scheme but https becomes http.
pub fn api_url(address: &str) -> String {
    let (scheme, rest) = address.split_once("://").unwrap_or(("tcp", address));
    let scheme = if scheme == "https" { "https" } else { "http" };
    let (host, port) = rest.rsplit_once(':').unwrap_or((rest, "1317"));
    let host = match host {
        "" | "0.0.0.0" | "127.0.0.1" | "[::]" | "::" | "[::1]" => "localhost",
        h => h,
    };
    format!("{scheme}://{host}:{port}")
}

fn from_app_toml(path: &std::path::Path) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    let doc: toml_edit::DocumentMut = text.parse().ok()?;
    doc.get("api")?.get("address")?.as_str().map(api_url)
}

pub fn run(cmd: AwaitCommand) -> anyhow::Result<ExitCode> {
    let AwaitCommand::Validator(a) = cmd;
    let app_toml: PathBuf = a.home.config_file("app.toml");
    let api = a.api.clone().or_else(|| from_app_toml(&app_toml)).unwrap_or_else(|| "http://localhost:1317".into());
    let url = format!("{}/cosmos/staking/v1beta1/validators/{}", api.trim_end_matches('/'), a.address);
    let http = reqwest::blocking::Client::builder().timeout(Duration::from_secs(5)).build().context("HTTP client")?;
    let deadline = Instant::now() + a.timeout;
    loop {
        let last = match http.get(&url).send() {
            Ok(r) if r.status().is_success() => {
                eprintln!("validator {} is known to {api}", a.address);
                return Ok(ExitCode::SUCCESS);
            }
            Ok(r) if r.status().as_u16() == 400 => {
                let body = r.text().unwrap_or_default();
                bail!("{} is not a valid validator address ({api} answered 400: {})", a.address, body.trim());
            }
            Ok(r) => format!("{} answered {}", api, r.status()),
            Err(e) => format!("{api}: {e}"),
        };
        if Instant::now() >= deadline {
            bail!("validator {} not found within {:?} ({last})", a.address, a.timeout);
        }
        std::thread::sleep(Duration::from_secs(1));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn app_toml_addresses_become_client_urls() {
        assert_eq!(api_url("tcp://0.0.0.0:1317"), "http://localhost:1317");
        assert_eq!(api_url("tcp://127.0.0.1:1318"), "http://localhost:1318");
        assert_eq!(api_url("https://api.example:443"), "https://api.example:443");
        assert_eq!(api_url("tcp://10.0.0.5:1317"), "http://10.0.0.5:1317");
    }
}
