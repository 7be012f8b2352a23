//! kubectl's `-o jsonpath=TEMPLATE`: literal text with `{expression}` parts, where an
//! expression is a path like `.status.phase`, `.items[*].metadata.name` or
//! `.metadata.labels.sei\.io/chain`, a quoted literal like `{"\n"}`, or
//! `{range .items[*]}…{end}`. Paths are evaluated as RFC 9535 JSONPath (serde_json_path).

use serde_json::Value;
use serde_json_path::JsonPath;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("-o jsonpath={template:?}: {why}")]
pub struct TemplateError {
    template: String,
    why: String,
}

#[derive(Debug, Clone)]
enum Part {
    Text(String),
    Path(JsonPath),
    Range(JsonPath, Vec<Part>),
}

/// A parsed template.
#[derive(Debug, Clone)]
pub struct Template {
    parts: Vec<Part>,
}

/// `.a.b\.c[0]` (kubectl) as `$.a['b.c'][0]` (RFC 9535).
fn to_rfc(path: &str) -> String {
    let path = path.trim();
    let path = path.strip_prefix('$').unwrap_or(path);
    let mut out = String::from("$");
    let mut chars = path.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '.' => {
                let mut name = String::new();
                while let Some(&n) = chars.peek() {
                    if n == '\\' {
                        chars.next();
                        if let Some(escaped) = chars.next() {
                            name.push(escaped);
                        }
                    } else if n == '.' || n == '[' {
                        break;
                    } else {
                        name.push(n);
                        chars.next();
                    }
                }
                if name == "*" {
                    out.push_str("[*]");
                } else if !name.is_empty() {
                    out.push_str(&format!("['{}']", name.replace('\'', "\\'")));
                }
            }
            other => out.push(other),
        }
    }
    out
}

fn parse_parts(chars: &mut std::iter::Peekable<std::str::Chars>, in_range: bool) -> Result<Vec<Part>, String> {
    let mut parts = Vec::new();
    let mut text = String::new();
    while let Some(c) = chars.next() {
        if c != '{' {
            text.push(c);
            continue;
        }
        let mut expr = String::new();
        let mut quoted = false;
        loop {
            match chars.next() {
                None => return Err("an unclosed {".into()),
                Some('"') => {
                    quoted = !quoted;
                    expr.push('"');
                }
                Some('}') if !quoted => break,
                Some(x) => expr.push(x),
            }
        }
        if !text.is_empty() {
            parts.push(Part::Text(std::mem::take(&mut text)));
        }
        let expr = expr.trim();
        if let Some(literal) = expr.strip_prefix('"').and_then(|e| e.strip_suffix('"')) {
            let unescaped = literal.replace("\\n", "\n").replace("\\t", "\t");
            parts.push(Part::Text(unescaped));
        } else if let Some(path) = expr.strip_prefix("range ") {
            let query = JsonPath::parse(&to_rfc(path)).map_err(|e| format!("{path}: {e}"))?;
            let body = parse_parts(chars, true)?;
            parts.push(Part::Range(query, body));
        } else if expr == "end" {
            return if in_range { Ok(parts) } else { Err("{end} without {range}".into()) };
        } else {
            parts.push(Part::Path(JsonPath::parse(&to_rfc(expr)).map_err(|e| format!("{expr}: {e}"))?));
        }
    }
    if in_range {
        return Err("{range} without {end}".into());
    }
    if !text.is_empty() {
        parts.push(Part::Text(text));
    }
    Ok(parts)
}

fn show(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn render(parts: &[Part], value: &Value, out: &mut String) {
    for part in parts {
        match part {
            Part::Text(t) => out.push_str(t),
            Part::Path(q) => out.push_str(&q.query(value).all().into_iter().map(show).collect::<Vec<_>>().join(" ")),
            Part::Range(q, body) => {
                for item in q.query(value).all() {
                    render(body, item, out);
                }
            }
        }
    }
}

impl Template {
    pub fn parse(template: &str) -> Result<Template, TemplateError> {
        let fail = |why: String| TemplateError { template: template.into(), why };
        if template.trim().is_empty() {
            return Err(fail("empty template".into()));
        }
        parse_parts(&mut template.chars().peekable(), false).map(|parts| Template { parts }).map_err(fail)
    }

    pub fn render(&self, value: &Value) -> String {
        let mut out = String::new();
        render(&self.parts, value, &mut out);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(t: &str, v: &Value) -> String {
        Template::parse(t).unwrap().render(v)
    }

    #[test]
    fn paths_literals_and_ranges_read_like_kubectl() {
        let d = json!({"metadata": {"name": "chain", "labels": {"sei.io/chain": "c-1"}},
                       "status": {"phase": "Ready", "readyReplicas": 4, "nodes": [{"name": "a"}, {"name": "b"}]}});
        assert_eq!(run("{.status.phase}", &d), "Ready");
        assert_eq!(run("{.status.readyReplicas}", &d), "4");
        assert_eq!(run("{.metadata.labels.sei\\.io/chain}", &d), "c-1");
        assert_eq!(run("{.status.nodes[*].name}", &d), "a b");
        assert_eq!(run("name={.metadata.name}{\"\\n\"}", &d), "name=chain\n");
        let list = json!({"items": [d.clone(), {"metadata": {"name": "rpc"}, "status": {"phase": "Initializing"}}]});
        assert_eq!(
            run("{range .items[*]}{.metadata.name}={.status.phase}{\"\\n\"}{end}", &list),
            "chain=Ready\nrpc=Initializing\n"
        );
        assert_eq!(run("{.status.missing}", &d), "");
    }

    #[test]
    fn bad_templates_say_what_is_wrong() {
        for (t, says) in [
            ("", "empty"),
            ("{.a", "unclosed"),
            ("{end}", "without {range}"),
            ("{range .items[*]}x", "without {end}"),
            ("{.a[}", ".a["),
        ] {
            let e = Template::parse(t).unwrap_err().to_string();
            assert!(e.starts_with("-o jsonpath=") && e.contains(says), "{t}: {e}");
        }
    }
}
