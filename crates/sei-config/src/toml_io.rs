//! Rendering the model into seid's two TOML documents, and reading it back.
//!
//! Rendering edits a `toml_edit` document in place: a fresh render starts from an empty
//! one, and an incremental write starts from the file on disk, so keys the model does not
//! know, comments and ordering survive.

use std::path::Path;

use toml_edit::{DocumentMut, Item, Table, Value as TomlValue};

use crate::defaults::{Host, defaults};
use crate::error::ConfigError;
use crate::layout::{File, Src, tables};
use crate::mode::Mode;
use crate::model::{CURRENT_VERSION, NodeConfig};
use crate::registry::lookup;
use crate::value::{Kind, Value};

fn to_toml(value: &Value) -> Option<TomlValue> {
    Some(match value {
        Value::Str(s) => s.as_str().into(),
        Value::Bool(b) => (*b).into(),
        Value::Int(n) => (*n).into(),
        // Parsing caps unsigned values at i64::MAX, the largest TOML integer.
        Value::Uint(n) => i64::try_from(*n).unwrap_or(i64::MAX).into(),
        Value::Float(x) => (*x).into(),
        Value::Duration(d) => d.to_string().into(),
        Value::List(None) | Value::OptBool(None) => return None,
        Value::List(Some(items)) => TomlValue::Array(items.iter().map(String::as_str).collect()),
        Value::Pairs(pairs) => TomlValue::Array(
            pairs.iter().map(|(k, v)| TomlValue::Array([k.as_str(), v.as_str()].into_iter().collect())).collect(),
        ),
        Value::OptBool(Some(b)) => (*b).into(),
    })
}

/// The TOML value of one slot, `None` when the slot is omitted.
fn slot_value(cfg: &NodeConfig, src: Src) -> Option<TomlValue> {
    match src {
        Src::Fixed(s) => Some(s.into()),
        Src::Field(key) => to_toml(cfg.get(key)?),
        Src::NonEmpty(key) => Some(cfg.str(key)).filter(|s| !s.is_empty()).map(Into::into),
        Src::CommaJoined(key) => Some(cfg.list(key).map(|l| l.join(",")).unwrap_or_default().into()),
        Src::TendermintMode => {
            let mode = cfg.mode_str();
            Some(mode.parse::<Mode>().map(Mode::tendermint_mode).unwrap_or(mode).into())
        }
    }
}

/// Writes every slot of `file` into `doc`: existing keys keep their place and decoration,
/// missing keys and tables are appended, omitted slots are removed.
pub fn apply_to_document(cfg: &NodeConfig, file: File, doc: &mut DocumentMut) {
    for name in tables(file) {
        let table = match doc.remove(name) {
            Some(Item::Table(t)) => t,
            // An inline table becomes a standard one, keeping every key.
            Some(Item::Value(TomlValue::InlineTable(t))) => t.into_table(),
            _ => Table::new(),
        };
        doc.insert(name, Item::Table(table));
    }
    for (table, key, src) in file.layout() {
        let target: &mut Table = match table {
            None => doc.as_table_mut(),
            Some(t) => doc[t].as_table_mut().expect("created above"),
        };
        match slot_value(cfg, *src) {
            None => {
                target.remove(key);
            }
            Some(mut value) => match target.get_mut(key).and_then(Item::as_value_mut) {
                Some(existing) => {
                    let decor = existing.decor().clone();
                    *value.decor_mut() = decor;
                    *existing = value;
                }
                None => {
                    target.insert(key, Item::Value(value));
                    if table.is_some()
                        && let Some(mut k) = target.key_mut(key)
                    {
                        k.leaf_decor_mut().set_prefix("  ");
                    }
                }
            },
        }
    }
}

/// A fresh `config.toml` or `app.toml` for `cfg`.
pub fn render(cfg: &NodeConfig, file: File) -> String {
    let mut doc = DocumentMut::new();
    apply_to_document(cfg, file, &mut doc);
    doc.to_string()
}

/// Reads one TOML value into a field of `kind`. Quoted scalars are accepted for numbers
/// and bools (seid's own templates quote some), but an empty or malformed one is an error.
fn from_toml(kind: Kind, item: &TomlValue) -> Result<Value, String> {
    let text = |v: &TomlValue| v.as_str().map(str::to_string);
    match (kind, item) {
        (Kind::Str, TomlValue::String(s)) => Ok(Value::Str(s.value().clone())),
        (Kind::Bool | Kind::OptBool, TomlValue::Boolean(b)) => {
            Ok(if kind == Kind::Bool { Value::Bool(*b.value()) } else { Value::OptBool(Some(*b.value())) })
        }
        (Kind::Int, TomlValue::Integer(n)) => Ok(Value::Int(*n.value())),
        (Kind::Uint | Kind::Uint16, TomlValue::Integer(n)) => Value::parse(kind, &n.value().to_string()),
        (Kind::Float, TomlValue::Float(x)) if x.value().is_finite() => Ok(Value::Float(*x.value())),
        (Kind::Float, TomlValue::Integer(n)) => Ok(Value::Float(*n.value() as f64)),
        (Kind::List, TomlValue::Array(a)) => a
            .iter()
            .map(|v| text(v).ok_or_else(|| format!("expected a list of strings, got {a}")))
            .collect::<Result<_, _>>()
            .map(|items| Value::List(Some(items))),
        (Kind::Pairs, TomlValue::Array(a)) => a
            .iter()
            .map(|pair| {
                let strings = pair.as_array().map(|p| p.iter().map(text).collect::<Option<Vec<_>>>());
                match strings {
                    Some(Some(p)) if p.len() == 2 => Ok((p[0].clone(), p[1].clone())),
                    _ => Err(format!("expected a list of [key, value] string pairs, got {a}")),
                }
            })
            .collect::<Result<_, _>>()
            .map(Value::Pairs),
        (_, TomlValue::String(s)) if kind != Kind::List && kind != Kind::Pairs => {
            let s = s.value();
            if s.trim().is_empty() && kind != Kind::OptBool {
                return Err(format!("expected a {} value, got an empty string", kind.name()));
            }
            Value::parse(kind, s)
        }
        (_, other) => Err(format!("expected a {} value, got {}", kind.name(), other.to_string().trim())),
    }
}

fn parse_file(path: &Path) -> Result<DocumentMut, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io { path: path.into(), source })?;
    text.parse::<DocumentMut>().map_err(|e| ConfigError::BadFile { file: path.into(), reason: e.to_string() })
}

fn lookup_slot<'d>(doc: &'d DocumentMut, table: Option<&str>, key: &str) -> Option<&'d Item> {
    match table {
        None => doc.get(key),
        Some(t) => doc.get(t)?.as_table_like()?.get(key),
    }
}

/// Reads `<home>/config/config.toml` and `app.toml` (see [`read_files`]).
pub fn read_from_dir(home: &Path, host: &Host) -> Result<NodeConfig, ConfigError> {
    read_files(&home.join("config"), host)
}

/// Reads `config.toml` and `app.toml` from `dir`. Settings missing from the files keep
/// the defaults of the mode the files declare (`[sei] mode`, else config.toml `mode`, else
/// `full`); keys the model does not know are ignored.
pub fn read_files(dir: &Path, host: &Host) -> Result<NodeConfig, ConfigError> {
    let docs = [(File::Config, dir.join("config.toml")), (File::App, dir.join("app.toml"))]
        .map(|(file, path)| parse_file(&path).map(|doc| (file, path, doc)));
    let [config, app] = docs;
    let (config, app) = (config?, app?);

    let declared = |doc: &DocumentMut, table: Option<&str>| {
        lookup_slot(doc, table, "mode").and_then(Item::as_str).and_then(|m| m.parse::<Mode>().ok())
    };
    let mode = declared(&app.2, Some("sei")).or_else(|| declared(&config.2, None)).unwrap_or(Mode::Full);
    let mut cfg = defaults(mode, host);

    // config.toml first: where a field is written to both files, app.toml's copy wins.
    for (file, path, doc) in [&config, &app] {
        for (table, key, src) in file.layout() {
            let (Some(field_key), Some(item)) = (src.field(), lookup_slot(doc, *table, key)) else {
                continue;
            };
            if matches!(src, Src::TendermintMode) {
                continue;
            }
            let kind = lookup(field_key).expect("layout names fields").kind;
            let bad = |reason: String| ConfigError::BadFileValue {
                file: path.clone(),
                key: table.map(|t| format!("[{t}] {key}")).unwrap_or_else(|| key.to_string()),
                reason,
            };
            let item = item.as_value().ok_or_else(|| bad("expected a value, found a table".into()))?;
            let value = match src {
                Src::CommaJoined(_) => {
                    let joined = item.as_str().ok_or_else(|| bad("expected a comma-separated string".into()))?;
                    let parts: Vec<String> =
                        joined.split(',').map(str::trim).filter(|p| !p.is_empty()).map(String::from).collect();
                    Value::List((!parts.is_empty()).then_some(parts))
                }
                _ => from_toml(kind, item).map_err(bad)?,
            };
            cfg.set(field_key, value).map_err(|e| bad(e.to_string()))?;
        }
    }
    cfg.set("mode", Value::Str(mode.as_str().into())).expect("mode is a field");
    if cfg.version() < 1 {
        cfg.set("version", Value::Int(CURRENT_VERSION)).expect("version is a field");
    }
    Ok(cfg)
}

/// Writes both files under `<home>/config/` (see [`write_files`]).
pub fn write_to_dir(cfg: &NodeConfig, home: &Path) -> Result<(), ConfigError> {
    write_files(cfg, &home.join("config"))
}

/// Writes `config.toml` and `app.toml` into `dir`, each atomically (temp file, fsync,
/// rename, mode 0644). Existing files are edited in place so unknown keys and comments
/// survive.
pub fn write_files(cfg: &NodeConfig, dir: &Path) -> Result<(), ConfigError> {
    std::fs::create_dir_all(dir).map_err(|source| ConfigError::Io { path: dir.to_path_buf(), source })?;
    // Both documents are prepared before either is written, so a bad existing file leaves
    // both untouched.
    let mut rendered = Vec::new();
    for file in [File::Config, File::App] {
        let path = dir.join(file.name());
        let mut doc = if path.exists() { parse_file(&path)? } else { DocumentMut::new() };
        apply_to_document(cfg, file, &mut doc);
        rendered.push((path, doc.to_string()));
    }
    for (path, text) in rendered {
        write_atomic(&path, text.as_bytes())?;
    }
    Ok(())
}

fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), ConfigError> {
    use std::io::Write;
    use std::os::unix::fs::PermissionsExt;
    let io = |source| ConfigError::Io { path: path.into(), source };
    let dir = path.parent().expect("files live in a directory");
    let mut tmp = tempfile::Builder::new().prefix(".sei-config-").suffix(".tmp").tempfile_in(dir).map_err(io)?;
    tmp.write_all(bytes).map_err(io)?;
    tmp.as_file().sync_all().map_err(io)?;
    tmp.as_file().set_permissions(std::fs::Permissions::from_mode(0o644)).map_err(io)?;
    tmp.persist(path).map_err(|e| io(e.error))?;
    Ok(())
}
