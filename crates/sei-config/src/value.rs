//! Typed setting values, and their strict parsing from override strings.

use std::fmt;

use crate::duration::GoDuration;

/// The type of a setting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Str,
    Bool,
    Int,
    Uint,
    /// An unsigned 16-bit integer (`network.p2p.max_connections`).
    Uint16,
    Float,
    Duration,
    /// A list of strings; may be unset (then omitted from the file).
    List,
    /// A list of string pairs (`metrics.global_labels`).
    Pairs,
    /// A bool that may be unset (then omitted from the file).
    OptBool,
}

impl Kind {
    /// The registry's type name.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Str => "string",
            Kind::Bool => "bool",
            Kind::Int => "int",
            Kind::Uint | Kind::Uint16 => "uint",
            Kind::Float => "float",
            Kind::Duration => "duration",
            Kind::List => "[]string",
            Kind::Pairs | Kind::OptBool => "other",
        }
    }
}

/// The value of a setting.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Str(String),
    Bool(bool),
    Int(i64),
    Uint(u64),
    Float(f64),
    Duration(GoDuration),
    List(Option<Vec<String>>),
    Pairs(Vec<(String, String)>),
    OptBool(Option<bool>),
}

impl Value {
    /// Whether this value may be stored in a field of `kind`.
    pub fn fits(&self, kind: Kind) -> bool {
        matches!(
            (self, kind),
            (Value::Str(_), Kind::Str)
                | (Value::Bool(_), Kind::Bool)
                | (Value::Int(_), Kind::Int)
                | (Value::Uint(_), Kind::Uint)
                | (Value::Float(_), Kind::Float)
                | (Value::Duration(_), Kind::Duration)
                | (Value::List(_), Kind::List)
                | (Value::Pairs(_), Kind::Pairs)
                | (Value::OptBool(_), Kind::OptBool)
        ) || matches!((self, kind), (Value::Uint(n), Kind::Uint16) if *n <= u64::from(u16::MAX))
    }

    /// Parses an override or environment string strictly: the whole text must be a value
    /// of `kind`. Lists are comma-separated (`a,b`; empty text is an empty list), pairs are
    /// `k=v,k2=v2`, and an optional bool may be empty (unset).
    pub fn parse(kind: Kind, text: &str) -> Result<Value, String> {
        let t = text.trim();
        match kind {
            Kind::Str => Ok(Value::Str(text.to_string())),
            Kind::Bool => parse_bool(t).map(Value::Bool),
            Kind::OptBool if t.is_empty() => Ok(Value::OptBool(None)),
            Kind::OptBool => parse_bool(t).map(|b| Value::OptBool(Some(b))),
            Kind::Int => {
                let digits = t.strip_prefix(['+', '-']).unwrap_or(t);
                if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(format!("expected an integer, got {text:?}"));
                }
                t.parse::<i64>().map(Value::Int).map_err(|_| format!("integer {text:?} is out of range"))
            }
            Kind::Uint | Kind::Uint16 => {
                if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(format!("expected a non-negative integer without a sign, got {text:?}"));
                }
                // TOML integers are signed 64-bit, so that is the largest value seid can read.
                let n: u64 = t
                    .parse()
                    .ok()
                    .filter(|n| *n <= i64::MAX as u64)
                    .ok_or_else(|| format!("integer {text:?} is out of range (max {})", i64::MAX))?;
                if kind == Kind::Uint16 && n > u64::from(u16::MAX) {
                    return Err(format!("{n} overflows a 16-bit unsigned integer (max {})", u16::MAX));
                }
                Ok(Value::Uint(n))
            }
            // Rust's parser takes the whole text; only `inf` and `NaN` need refusing.
            Kind::Float => match t.parse::<f64>() {
                Ok(f) if f.is_finite() => Ok(Value::Float(f)),
                _ => Err(format!("expected a decimal number, got {text:?}")),
            },
            Kind::Duration => GoDuration::parse(t).map(Value::Duration),
            Kind::List => {
                if t.is_empty() {
                    return Ok(Value::List(Some(Vec::new())));
                }
                let items: Vec<String> = t.split(',').map(|s| s.trim().to_string()).collect();
                if items.iter().any(String::is_empty) {
                    return Err(format!("empty entry in list {text:?}"));
                }
                Ok(Value::List(Some(items)))
            }
            Kind::Pairs => {
                if t.is_empty() {
                    return Ok(Value::Pairs(Vec::new()));
                }
                t.split(',')
                    .map(|pair| match pair.split_once('=') {
                        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.trim().to_string())),
                        _ => Err(format!("expected key=value pairs separated by commas, got {text:?}")),
                    })
                    .collect::<Result<_, _>>()
                    .map(Value::Pairs)
            }
        }
    }
}

fn parse_bool(t: &str) -> Result<bool, String> {
    match t.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" => Ok(true),
        "false" | "0" | "no" => Ok(false),
        _ => Err(format!("expected true or false, got {t:?}")),
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Str(s) => write!(f, "{s:?}"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Int(n) => write!(f, "{n}"),
            Value::Uint(n) => write!(f, "{n}"),
            Value::Float(x) => write!(f, "{x:?}"),
            Value::Duration(d) => write!(f, "{d}"),
            Value::List(None) | Value::OptBool(None) => f.write_str("(unset)"),
            Value::List(Some(items)) => write!(f, "{items:?}"),
            Value::Pairs(pairs) => write!(f, "{pairs:?}"),
            Value::OptBool(Some(b)) => write!(f, "{b}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_are_strict() {
        assert_eq!(Value::parse(Kind::Int, " -12 "), Ok(Value::Int(-12)));
        assert_eq!(Value::parse(Kind::Int, "+7"), Ok(Value::Int(7)));
        for bad in ["12abc", "0x10", "", "1.5", "--1", "9223372036854775808"] {
            assert!(Value::parse(Kind::Int, bad).is_err(), "{bad:?}");
        }
        assert!(Value::parse(Kind::Uint, "-1").is_err());
        assert!(Value::parse(Kind::Uint, "+5").is_err(), "unsigned values take no sign");
        assert!(Value::parse(Kind::Uint, "18446744073709551615").is_err(), "beyond TOML's integers");
        assert_eq!(Value::parse(Kind::Uint16, "65535"), Ok(Value::Uint(65535)));
        assert!(Value::parse(Kind::Uint16, "70000").unwrap_err().contains("16-bit"));
    }

    #[test]
    fn floats_bools_lists_pairs() {
        assert_eq!(Value::parse(Kind::Float, "0.25"), Ok(Value::Float(0.25)));
        assert_eq!(Value::parse(Kind::Float, "1e-3"), Ok(Value::Float(0.001)));
        for bad in ["0.1x", "nan", "inf", "", "1e"] {
            assert!(Value::parse(Kind::Float, bad).is_err(), "{bad:?}");
        }
        assert_eq!(Value::parse(Kind::Bool, "YES"), Ok(Value::Bool(true)));
        assert!(Value::parse(Kind::Bool, "on").is_err());
        assert_eq!(Value::parse(Kind::List, "kv, null"), Ok(Value::List(Some(vec!["kv".into(), "null".into()]))));
        assert_eq!(Value::parse(Kind::List, ""), Ok(Value::List(Some(vec![]))));
        assert!(Value::parse(Kind::List, "a,,b").is_err());
        assert_eq!(Value::parse(Kind::Pairs, "chain=x"), Ok(Value::Pairs(vec![("chain".into(), "x".into())])));
        assert!(Value::parse(Kind::Pairs, "chain").is_err());
        assert_eq!(Value::parse(Kind::OptBool, ""), Ok(Value::OptBool(None)));
    }
}
