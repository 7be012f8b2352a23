//! The result envelope every bench verb prints on stdout: `{"apiVersion": "seictl.sei.io/v1",
//! "kind": ..., "data": ...}`, or `"error": {code, category, message}` in place of `data`.
//! A failure is also one line on stderr, so a person sees it without parsing JSON.

use std::io::Write;

use serde_json::{Value, json};

pub const API_VERSION: &str = "seictl.sei.io/v1";

/// `-o` of the bench verbs.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Output {
    Json,
    Yaml,
    Table,
}

/// A failure with the category automation can switch on (`validation`, `apply-failed`,
/// `namespace-missing`, `job-immutable`, `not-ready`, `referenced`, ...).
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Failure {
    pub category: &'static str,
    pub message: String,
}

pub fn fail(category: &'static str, message: impl Into<String>) -> anyhow::Error {
    Failure { category, message: message.into() }.into()
}

pub fn data(kind: &str, data: Value) -> Value {
    json!({"apiVersion": API_VERSION, "kind": kind, "data": data})
}

/// The error envelope of `e` (exit code 1, as every failed verb).
pub fn error(kind: &str, e: &anyhow::Error) -> Value {
    let category = e.downcast_ref::<Failure>().map_or("failed", |f| f.category);
    json!({"apiVersion": API_VERSION, "kind": kind,
           "error": {"code": 1, "category": category, "message": format!("{e:#}")}})
}

/// Prints `envelope`; `table` renders the data for `-o table`.
pub fn print(envelope: &Value, output: Output, table: impl Fn(&Value) -> String) -> anyhow::Result<()> {
    let text = match output {
        Output::Json => serde_json::to_string_pretty(envelope)? + "\n",
        Output::Yaml => serde_norway::to_string(envelope)?,
        Output::Table => match envelope.get("data") {
            Some(d) => table(d),
            None => serde_json::to_string_pretty(envelope)? + "\n",
        },
    };
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(())
}

/// Lines up rows under a header, kubectl style.
pub fn columns(rows: &[Vec<String>]) -> String {
    let Some(first) = rows.first() else { return String::new() };
    let widths: Vec<usize> = (0..first.len()).map(|c| rows.iter().map(|r| r[c].len()).max().unwrap_or(0)).collect();
    rows.iter()
        .map(|r| {
            let cells: Vec<String> = r.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
            cells.join("   ").trim_end().to_string() + "\n"
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_keep_their_category() {
        let e = fail("validation", "--name \"X\": bad");
        let v = error("BenchUpResult", &e);
        assert_eq!(v["error"]["category"], "validation");
        assert_eq!(v["error"]["code"], 1);
        assert_eq!(v["apiVersion"], API_VERSION);
        assert_eq!(error("BenchUpResult", &anyhow::anyhow!("boom"))["error"]["category"], "failed");
        let t = columns(&[vec!["A".into(), "BB".into()], vec!["ccc".into(), "d".into()]]);
        assert_eq!(t, "A     BB\nccc   d\n");
    }
}
