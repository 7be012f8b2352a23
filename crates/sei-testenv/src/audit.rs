//! The API server's audit log, for tests and benchmarks that must count what a client
//! really sent (a client's own counters cannot see requests it does not know it makes).

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::time::SystemTime;

use serde::Deserialize;

use crate::Error;

/// Every request at `Metadata` level; `RequestReceived` is dropped so that a request
/// appears once (watches twice: started and complete, de-duplicated by ID when read).
pub(crate) const POLICY: &str = "\
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
- level: Metadata
";

/// One request the API server answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    pub verb: String,
    pub user_agent: String,
    /// The authenticated user, e.g. `system:serviceaccount:sei-system:sei-operator`.
    pub user: String,
    /// The resource's API group (`""` for the core group and non-resource URLs).
    pub api_group: String,
    /// e.g. `seinodes`, `statefulsets`, `leases`; empty for non-resource URLs.
    pub resource: String,
    pub subresource: String,
    pub namespace: String,
    pub name: String,
    pub code: u16,
    /// When the API server received the request (microsecond resolution).
    pub received: Option<SystemTime>,
}

impl AuditRecord {
    /// Whether the request changes state.
    pub fn is_write(&self) -> bool {
        matches!(self.verb.as_str(), "create" | "update" | "patch" | "delete" | "deletecollection")
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Event {
    #[serde(rename = "auditID")]
    audit_id: String,
    verb: String,
    #[serde(default)]
    user_agent: String,
    #[serde(default)]
    user: User,
    #[serde(default)]
    object_ref: Option<ObjectRef>,
    #[serde(default)]
    response_status: Option<Status>,
    #[serde(default)]
    request_received_timestamp: Option<String>,
}

#[derive(Deserialize, Default)]
struct User {
    #[serde(default)]
    username: String,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct ObjectRef {
    #[serde(default)]
    api_group: String,
    #[serde(default)]
    resource: String,
    #[serde(default)]
    subresource: String,
    #[serde(default)]
    namespace: String,
    #[serde(default)]
    name: String,
}

#[derive(Deserialize)]
struct Status {
    #[serde(default)]
    code: u16,
}

/// The requests in an audit log (JSON lines), once each, in order. A partly written last
/// line is skipped.
pub fn read(path: &Path) -> Result<Vec<AuditRecord>, Error> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    Ok(parse(&text))
}

fn parse(text: &str) -> Vec<AuditRecord> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for line in text.lines() {
        let Ok(event) = serde_json::from_str::<Event>(line) else { continue };
        if !seen.insert(event.audit_id) {
            continue;
        }
        let object = event.object_ref.unwrap_or_default();
        out.push(AuditRecord {
            verb: event.verb,
            user_agent: event.user_agent,
            user: event.user.username,
            api_group: object.api_group,
            resource: object.resource,
            subresource: object.subresource,
            namespace: object.namespace,
            name: object.name,
            code: event.response_status.map_or(0, |s| s.code),
            received: event
                .request_received_timestamp
                .and_then(|t| t.parse::<k8s_openapi::jiff::Timestamp>().ok())
                .map(SystemTime::from),
        });
    }
    out
}

/// Requests counted by verb.
pub fn by_verb<'a>(records: impl IntoIterator<Item = &'a AuditRecord>) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for r in records {
        *counts.entry(r.verb.clone()).or_default() += 1;
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_read_once_and_torn_lines_skipped() {
        let log = r#"{"kind":"Event","auditID":"a","stage":"ResponseStarted","verb":"watch","userAgent":"op/1","objectRef":{"resource":"pods","namespace":"x"},"responseStatus":{"code":200}}
{"kind":"Event","auditID":"b","stage":"ResponseComplete","verb":"patch","userAgent":"op/1","user":{"username":"system:serviceaccount:s:op","groups":["system:serviceaccounts"]},"requestReceivedTimestamp":"2026-12-01T10:00:00.250000Z","objectRef":{"resource":"seinodes","namespace":"x","name":"n","apiGroup":"sei.io","subresource":"status"},"responseStatus":{"code":200}}
{"kind":"Event","auditID":"a","stage":"ResponseComplete","verb":"watch","userAgent":"op/1","objectRef":{"resource":"pods","namespace":"x"},"responseStatus":{"code":200}}
{"kind":"Event","auditID":"c","stage":"ResponseComplete","verb":"get","userAgent":"kubectl","requestURI":"/healthz","responseStatus":{"code":200}}
{"kind":"Event","auditID":"d","stage":"Respo"#;
        let records = parse(log);
        assert_eq!(records.len(), 3);
        assert_eq!(records[1].subresource, "status");
        assert_eq!((records[1].api_group.as_str(), records[0].api_group.as_str()), ("sei.io", ""));
        assert_eq!((records[1].user.as_str(), records[0].user.as_str()), ("system:serviceaccount:s:op", ""));
        let received = records[1].received.unwrap().duration_since(SystemTime::UNIX_EPOCH).unwrap();
        assert_eq!(received.as_millis(), 1_796_119_200_250);
        assert_eq!(records[0].received, None);
        assert!(records[1].is_write() && !records[0].is_write());
        assert_eq!(records[2].resource, "");
        let counts = by_verb(records.iter().filter(|r| r.user_agent.starts_with("op/")));
        assert_eq!(counts, BTreeMap::from([("patch".into(), 1), ("watch".into(), 1)]));
    }
}
