//! Config intents: what the operator asks for (a mode and overrides), resolved into a
//! complete, validated configuration. This is also the sidecar's `config-apply` payload.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::defaults::{Host, defaults};
use crate::error::ConfigError;
use crate::mode::Mode;
use crate::model::{CURRENT_VERSION, NodeConfig};
use crate::overrides::apply_overrides;
use crate::registry::lookup;
use crate::validate::{Diagnostic, Severity, is_valid, validate};
use crate::value::Value;

/// A requested configuration.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConfigIntent {
    /// Required unless incremental.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub mode: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub overrides: BTreeMap<String, String>,
    /// 0 means the current schema version.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub target_version: i64,
    /// Change the configuration on disk instead of starting from defaults.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub incremental: bool,
}

fn is_zero(n: &i64) -> bool {
    *n == 0
}

/// The outcome of resolving an intent.
#[derive(Clone, Debug, PartialEq)]
pub struct ConfigResult {
    /// Set only when valid.
    pub config: Option<NodeConfig>,
    pub version: i64,
    pub mode: String,
    pub diagnostics: Vec<Diagnostic>,
    pub valid: bool,
}

impl ConfigIntent {
    fn version(&self) -> i64 {
        // 0 means "current"; a negative version is refused rather than silently replaced.
        if self.target_version == 0 { CURRENT_VERSION } else { self.target_version }
    }

    /// Checks the intent without resolving it: mode, version range and that every override
    /// key exists. Values are checked by [`resolve`].
    pub fn validate(&self) -> Vec<Diagnostic> {
        let mut out = Vec::new();
        let mut error = |field: &str, message: String| {
            out.push(Diagnostic { severity: Severity::Error, field: field.into(), message })
        };
        if !self.incremental {
            if self.mode.is_empty() {
                error("mode", "mode is required".into());
            } else if let Err(e) = self.mode.parse::<Mode>() {
                error("mode", e.to_string());
            }
        }
        let v = self.version();
        if v < 1 {
            error("targetVersion", format!("must be >= 1, got {v}"));
        } else if v > CURRENT_VERSION {
            error("targetVersion", format!("{v} is newer than the supported version {CURRENT_VERSION}"));
        }
        for key in self.overrides.keys() {
            if lookup(key).is_none() {
                error(&format!("overrides.{key}"), format!("unknown key {key:?}"));
            }
        }
        out
    }
}

/// Resolves `intent`: from the mode's defaults, or (incremental) from `current`; then the
/// overrides; then validation. Versions above the supported one are refused rather than
/// written (the reference wrote them).
pub fn resolve(intent: &ConfigIntent, current: Option<&NodeConfig>, host: &Host) -> Result<ConfigResult, ConfigError> {
    let mut cfg = if intent.incremental {
        let mut cfg = current.ok_or(ConfigError::NoCurrentConfig)?.clone();
        if !intent.mode.is_empty() {
            cfg.set("mode", Value::Str(intent.mode.clone()))?;
        }
        cfg
    } else {
        if intent.mode.is_empty() {
            return Err(ConfigError::ModeRequired);
        }
        let mut cfg = defaults(intent.mode.parse()?, host);
        cfg.set("version", Value::Int(intent.version()))?;
        cfg
    };
    apply_overrides(&mut cfg, &intent.overrides)?;
    let mut diagnostics = validate(&cfg, CURRENT_VERSION);
    if intent.incremental && intent.version() != CURRENT_VERSION {
        diagnostics.push(Diagnostic {
            severity: Severity::Error,
            field: "targetVersion".into(),
            message: format!("{} is not supported (only {CURRENT_VERSION})", intent.version()),
        });
    }
    let valid = is_valid(&diagnostics);
    Ok(ConfigResult {
        version: cfg.version(),
        mode: cfg.mode_str().to_string(),
        config: valid.then_some(cfg),
        diagnostics,
        valid,
    })
}
