//! seid's configuration: the unified model of `config.toml` and `app.toml`, defaults for
//! each node mode, dotted-key overrides, validation, reading and writing the files, and
//! the embedded genesis files of the well-known chains.
//!
//! Pure: no I/O except reading and writing the two files when asked to, and no global
//! state. Nothing here panics on bad input.
//!
//! ```
//! use sei_config::{Host, Mode, NodeConfig, defaults, render, File};
//! let mut cfg = defaults(Mode::Full, &Host::fixed(2, "node-0"));
//! sei_config::apply_one(&mut cfg, "chain.chain_id", "pacific-1").unwrap();
//! assert!(render(&cfg, File::Config).contains("chain-id = \"pacific-1\""));
//! ```

pub mod chains;
mod defaults;
pub mod duration;
mod error;
mod intent;
pub mod layout;
mod migrate;
mod mode;
mod model;
mod overrides;
pub mod registry;
pub mod rule_examples;
mod toml_io;
mod validate;
mod value;

pub use defaults::{Host, defaults};
pub use error::ConfigError;
pub use intent::{ConfigIntent, ConfigResult, resolve};
pub use layout::File;
pub use migrate::{Migration, MigrationReport, Migrations};
pub use mode::*;
pub use model::{CURRENT_VERSION, NodeConfig};
pub use overrides::{apply_one, apply_overrides, resolve_env, snapshot_generation_overrides};
pub use toml_io::{apply_to_document, read_files, read_from_dir, render, write_files, write_to_dir};
pub use validate::{Diagnostic, Severity, is_valid, validate};
pub use value::{Kind, Value};
