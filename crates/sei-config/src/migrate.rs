//! Schema migrations: a contiguous chain of one-version steps. Schema v1 is the only
//! version so far, so the default chain is empty.

use crate::error::ConfigError;
use crate::model::{CURRENT_VERSION, NodeConfig};
use crate::validate::{Diagnostic, is_valid, validate};

/// Converts version `from` to `from + 1` in place, setting `version`.
pub struct Migration {
    pub from: i64,
    pub to: i64,
    pub apply: fn(&mut NodeConfig) -> Result<(), String>,
}

/// A validated chain of migrations.
pub struct Migrations(Vec<Migration>);

/// What a migration did.
#[derive(Debug)]
pub struct MigrationReport {
    pub from: i64,
    pub to: i64,
    pub steps: Vec<(i64, i64)>,
    pub diagnostics: Vec<Diagnostic>,
}

impl Migrations {
    /// Refuses steps that skip versions, repeat one, or leave gaps.
    pub fn new(mut steps: Vec<Migration>) -> Result<Self, ConfigError> {
        steps.sort_by_key(|m| m.from);
        for m in &steps {
            if m.from.checked_add(1) != Some(m.to) {
                return Err(ConfigError::Migration(format!("step {}->{} must go up by exactly one", m.from, m.to)));
            }
        }
        for w in steps.windows(2) {
            if w[1].from != w[0].to {
                return Err(ConfigError::Migration(format!(
                    "steps {}->{} and {}->{} leave a gap or repeat",
                    w[0].from, w[0].to, w[1].from, w[1].to
                )));
            }
        }
        Ok(Migrations(steps))
    }

    /// The chain shipped with this library.
    pub fn builtin() -> Self {
        Migrations(Vec::new())
    }

    /// Migrates `cfg` to `target`, then validates it with `target` as the ceiling.
    pub fn migrate(&self, cfg: &mut NodeConfig, target: i64) -> Result<MigrationReport, ConfigError> {
        let from = cfg.version();
        if from == target {
            return Ok(MigrationReport { from, to: target, steps: Vec::new(), diagnostics: Vec::new() });
        }
        if from > target {
            return Err(ConfigError::Migration(format!("cannot downgrade from version {from} to {target}")));
        }
        let mut steps = Vec::new();
        while cfg.version() < target {
            let v = cfg.version();
            let step = self
                .0
                .iter()
                .find(|m| m.from == v)
                .ok_or_else(|| ConfigError::Migration(format!("no migration from version {v}")))?;
            (step.apply)(cfg).map_err(|e| ConfigError::Migration(format!("{}->{}: {e}", step.from, step.to)))?;
            if cfg.version() != step.to {
                return Err(ConfigError::Migration(format!(
                    "{}->{} did not set version {}",
                    step.from, step.to, step.to
                )));
            }
            steps.push((step.from, step.to));
        }
        let diagnostics = validate(cfg, target.max(CURRENT_VERSION));
        if !is_valid(&diagnostics) {
            return Err(ConfigError::Migration(format!(
                "result is invalid: {}",
                diagnostics.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
            )));
        }
        Ok(MigrationReport { from, to: target, steps, diagnostics })
    }
}
