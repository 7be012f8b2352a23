//! The unified configuration model: one typed value per registry field.

use std::collections::BTreeMap;

use crate::error::ConfigError;
use crate::mode::Mode;
use crate::registry::lookup;
use crate::value::Value;

/// A complete node configuration. Every registry field has a value; values always fit
/// their field's type.
#[derive(Clone, Debug, PartialEq)]
pub struct NodeConfig {
    values: BTreeMap<&'static str, Value>,
}

/// The schema version this library writes and understands.
pub const CURRENT_VERSION: i64 = 1;

impl NodeConfig {
    pub(crate) fn from_values(values: impl IntoIterator<Item = (&'static str, Value)>) -> Self {
        NodeConfig { values: values.into_iter().collect() }
    }

    /// The value of a field (`None` for an unknown key).
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.values.get(key)
    }

    /// Sets a field, checking the key and the value's type.
    pub fn set(&mut self, key: &str, value: Value) -> Result<(), ConfigError> {
        let field = lookup(key).ok_or_else(|| ConfigError::UnknownKey(key.to_string()))?;
        if !value.fits(field.kind) {
            return Err(ConfigError::WrongType {
                key: key.to_string(),
                expected: field.kind.name(),
                value: value.to_string(),
            });
        }
        self.values.insert(field.key, value);
        Ok(())
    }

    /// Every (key, value), sorted by key.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &Value)> {
        self.values.iter().map(|(k, v)| (*k, v))
    }

    pub fn str(&self, key: &str) -> &str {
        match self.get(key) {
            Some(Value::Str(s)) => s,
            _ => "",
        }
    }

    pub fn bool(&self, key: &str) -> bool {
        matches!(self.get(key), Some(Value::Bool(true)))
    }

    /// An integer field (signed or unsigned) as i128, 0 if absent.
    pub fn int(&self, key: &str) -> i128 {
        match self.get(key) {
            Some(Value::Int(n)) => i128::from(*n),
            Some(Value::Uint(n)) => i128::from(*n),
            Some(Value::Duration(d)) => i128::from(d.0),
            _ => 0,
        }
    }

    pub fn float(&self, key: &str) -> f64 {
        match self.get(key) {
            Some(Value::Float(x)) => *x,
            _ => 0.0,
        }
    }

    pub fn list(&self, key: &str) -> Option<&[String]> {
        match self.get(key) {
            Some(Value::List(Some(items))) => Some(items),
            _ => None,
        }
    }

    /// The `mode` field as written (may be invalid until validated).
    pub fn mode_str(&self) -> &str {
        self.str("mode")
    }

    /// The mode, if `mode` holds a valid one.
    pub fn mode(&self) -> Option<Mode> {
        self.mode_str().parse().ok()
    }

    /// The schema version.
    pub fn version(&self) -> i64 {
        self.int("version") as i64
    }

    /// The chain ID (empty if unset).
    pub fn chain_id(&self) -> &str {
        self.str("chain.chain_id")
    }

    /// Keys whose values differ from `other`, with (ours, theirs).
    pub fn diff<'a>(&'a self, other: &'a NodeConfig) -> Vec<(&'static str, &'a Value, &'a Value)> {
        self.iter().filter_map(|(k, v)| other.get(k).filter(|o| *o != v).map(|o| (k, v, o))).collect()
    }
}
