//! `generate`: writes every generated file of the repository (`make generate`), or with
//! `--check` lists the stale ones and exits 1.

use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;

/// Writes the CRDs, the RBAC manifest, docs/api-reference.md, docs/sidecar-openapi.json
/// and docs/config-validation.md from the code.
#[derive(Parser)]
struct Args {
    /// Change nothing; list the files that are stale and exit 1 if any is.
    #[arg(long)]
    check: bool,
}

fn main() -> anyhow::Result<ExitCode> {
    let args = Args::parse();
    let root = sei_generate::repo_root();
    let files = sei_generate::files();
    if args.check {
        let stale = sei_generate::stale(&root, &files);
        for path in &stale {
            eprintln!("stale: {path}");
        }
        if !stale.is_empty() {
            eprintln!("run `{}` and commit the result", sei_generate::FIX);
            return Ok(ExitCode::FAILURE);
        }
        println!("{} generated files are current", files.len());
    } else {
        let written = sei_generate::write(&root, &files).context("writing the generated files")?;
        for path in &written {
            println!("wrote {path}");
        }
        println!("{} generated files, {} rewritten", files.len(), written.len());
    }
    Ok(ExitCode::SUCCESS)
}
