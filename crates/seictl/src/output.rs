//! How read verbs print objects: `-o yaml`, `json`, `name`, `table` or `jsonpath=TEMPLATE`.

use serde_json::Value;

use crate::jsonpath::Template;

#[derive(Clone, Debug)]
pub enum Format {
    Yaml,
    Json,
    Name,
    Table,
    JsonPath(Template),
}

/// The value parser of `-o`.
pub fn parse_format(s: &str) -> Result<Format, String> {
    match s {
        "yaml" => Ok(Format::Yaml),
        "json" => Ok(Format::Json),
        "name" => Ok(Format::Name),
        "table" => Ok(Format::Table),
        _ => match s.strip_prefix("jsonpath=") {
            Some(t) => Template::parse(t).map(Format::JsonPath).map_err(|e| e.to_string()),
            None => Err(format!("{s:?}: use yaml, json, name, table or jsonpath=TEMPLATE")),
        },
    }
}

fn age(created: Option<&str>) -> String {
    let Some(ts) = created.and_then(|t| t.parse::<k8s_openapi::jiff::Timestamp>().ok()) else {
        return "-".into();
    };
    let secs = k8s_openapi::jiff::Timestamp::now().duration_since(ts).as_secs().max(0);
    match secs {
        s if s < 120 => format!("{s}s"),
        s if s < 7200 => format!("{}m", s / 60),
        s if s < 172_800 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86_400),
    }
}

/// Table rows of SeiNodeDeployments, with a NAMESPACE column when `namespaces`.
fn table(items: &[Value], namespaces: bool) -> String {
    let mut rows =
        vec![vec!["NAME", "PHASE", "READY", "CHAIN", "IMAGE", "AGE"].into_iter().map(String::from).collect::<Vec<_>>()];
    if namespaces {
        rows[0].insert(0, "NAMESPACE".into());
    }
    for o in items {
        let s = |p: &str| o.pointer(p).and_then(Value::as_str).unwrap_or("-").to_string();
        let n = |p: &str| o.pointer(p).and_then(Value::as_i64).unwrap_or(0);
        let mut row = vec![
            s("/metadata/name"),
            s("/status/phase"),
            format!("{}/{}", n("/status/readyReplicas"), n("/spec/replicas")),
            s("/spec/template/spec/chainId"),
            s("/spec/template/spec/image"),
            age(o.pointer("/metadata/creationTimestamp").and_then(Value::as_str)),
        ];
        if namespaces {
            row.insert(0, s("/metadata/namespace"));
        }
        rows.push(row);
    }
    let widths: Vec<usize> = (0..rows[0].len()).map(|c| rows.iter().map(|r| r[c].len()).max().unwrap_or(0)).collect();
    rows.iter()
        .map(|r| {
            let cells: Vec<String> = r.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
            cells.join("   ").trim_end().to_string() + "\n"
        })
        .collect()
}

/// One object.
pub fn one(obj: &Value, format: &Format) -> String {
    match format {
        Format::JsonPath(t) => t.render(obj),
        Format::Yaml => serde_norway::to_string(obj).expect("YAML"),
        Format::Json => serde_json::to_string_pretty(obj).expect("JSON") + "\n",
        Format::Name => format!("seinodedeployment.sei.io/{}\n", obj["metadata"]["name"].as_str().unwrap_or_default()),
        Format::Table => table(std::slice::from_ref(obj), false),
    }
}

/// A list (as the API returns it: `SeiNodeDeploymentList`).
pub fn list(items: Vec<Value>, format: &Format, namespaces: bool) -> String {
    match format {
        Format::Name => items.iter().map(|o| one(o, &Format::Name)).collect(),
        Format::Table if items.is_empty() => String::new(),
        Format::Table => table(&items, namespaces),
        Format::Yaml | Format::Json | Format::JsonPath(_) => {
            let list =
                serde_json::json!({"apiVersion": "sei.io/v1alpha1", "kind": "SeiNodeDeploymentList", "items": items});
            one(&list, format)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_table_lines_up_and_shows_readiness() {
        let o = serde_json::json!({
            "metadata": {"name": "chain", "namespace": "ns"},
            "spec": {"replicas": 4, "template": {"spec": {"chainId": "c-1", "image": "sei:v1"}}},
            "status": {"phase": "Ready", "readyReplicas": 4}
        });
        let t = list(vec![o.clone()], &Format::Table, true);
        let lines: Vec<&str> = t.lines().collect();
        assert!(lines[0].starts_with("NAMESPACE   NAME    PHASE   READY   CHAIN"), "{t}");
        assert!(lines[1].starts_with("ns          chain   Ready   4/4     c-1"), "{t}");
        assert_eq!(one(&o, &Format::Name), "seinodedeployment.sei.io/chain\n");
        assert!(list(vec![o.clone()], &Format::Json, false).contains("\"kind\": \"SeiNodeDeploymentList\""));
        let names = parse_format("jsonpath={range .items[*]}{.metadata.name}{end}").unwrap();
        assert_eq!(list(vec![o], &names, false), "chain");
        assert!(parse_format("wide").unwrap_err().contains("jsonpath=TEMPLATE"));
    }
}
