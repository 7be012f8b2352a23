//! The kubectl plugin: kubectl runs `kubectl-sei` from PATH for `kubectl sei ...`, passing
//! the arguments after `sei` unchanged, so the plugin is this binary under a second name.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;

pub const PLUGIN_NAME: &str = "kubectl-sei";

/// Whether this process was started under the plugin's name.
pub fn invoked_as_plugin() -> bool {
    std::env::args_os()
        .next()
        .map(PathBuf::from)
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .is_some_and(|n| n == PLUGIN_NAME)
}

#[derive(clap::Args, Debug)]
pub struct InstallArgs {
    /// Directory on PATH for the link (default: this binary's directory).
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

pub fn install(args: InstallArgs) -> anyhow::Result<ExitCode> {
    let exe = std::env::current_exe().context("finding this binary")?;
    let dir = match args.dir {
        Some(d) => d,
        None => exe.parent().context("this binary has no directory")?.to_path_buf(),
    };
    let link = dir.join(PLUGIN_NAME);
    if std::fs::symlink_metadata(&link).is_ok() {
        if std::fs::read_link(&link).ok().as_deref() == Some(exe.as_path()) {
            println!("{} already points to {}", link.display(), exe.display());
            return Ok(ExitCode::SUCCESS);
        }
        anyhow::bail!("--dir: {} exists and is not a link to {}; remove it first", link.display(), exe.display());
    }
    std::os::unix::fs::symlink(&exe, &link).with_context(|| format!("--dir: creating {}", link.display()))?;
    println!("{} -> {}; `kubectl sei --help` works when {} is on PATH", link.display(), exe.display(), dir.display());
    Ok(ExitCode::SUCCESS)
}
