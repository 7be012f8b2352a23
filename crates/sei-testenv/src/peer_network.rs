//! The pod network of the simulated cluster, for tests only. Sidecars reach peers by their
//! in-cluster DNS names (`node-0.node.ns.svc.cluster.local:26657`), which do not resolve on
//! this machine; the pod runner points each sidecar's `HTTP_PROXY` here, and this proxy
//! sends each request to the seid simulator of the pod that owns the name.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A running proxy; stops when dropped.
pub struct PeerNetwork {
    pub port: u16,
    hosts: Arc<Mutex<HashMap<String, u16>>>,
    task: tokio::task::JoinHandle<()>,
}

impl PeerNetwork {
    pub async fn start() -> std::io::Result<PeerNetwork> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        let hosts: Arc<Mutex<HashMap<String, u16>>> = Arc::default();
        let shared = hosts.clone();
        let task = tokio::spawn(async move {
            while let Ok((conn, _)) = listener.accept().await {
                tokio::spawn(forward(conn, shared.clone()));
            }
        });
        Ok(PeerNetwork { port, hosts, task })
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Routes every name in `names` (host names, without port) to `target_port` on loopback.
    pub fn add(&self, names: &[String], target_port: u16) {
        let mut hosts = self.hosts.lock().unwrap_or_else(|p| p.into_inner());
        for name in names {
            hosts.insert(name.clone(), target_port);
        }
    }

    pub fn remove(&self, names: &[String]) {
        let mut hosts = self.hosts.lock().unwrap_or_else(|p| p.into_inner());
        for name in names {
            hosts.remove(name);
        }
    }
}

impl Drop for PeerNetwork {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The DNS names a StatefulSet pod answers to: `pod.subdomain.ns.svc.cluster.local` and its
/// shorter search-path forms.
pub fn pod_dns_names(pod: &str, subdomain: &str, namespace: &str) -> Vec<String> {
    let base = format!("{pod}.{subdomain}");
    vec![
        format!("{base}.{namespace}.svc.cluster.local"),
        format!("{base}.{namespace}.svc"),
        format!("{base}.{namespace}"),
        base,
    ]
}

/// The host of an absolute-form request target (`http://host:port/path`).
fn target_host(head: &str) -> Option<&str> {
    let target = head.split_whitespace().nth(1)?;
    let authority = target.strip_prefix("http://")?.split('/').next()?;
    Some(authority.rsplit_once(':').map_or(authority, |(h, _)| h))
}

async fn forward(mut conn: TcpStream, hosts: Arc<Mutex<HashMap<String, u16>>>) {
    let mut buf = vec![0u8; 8192];
    let n = conn.read(&mut buf).await.unwrap_or(0);
    let head = String::from_utf8_lossy(&buf[..n]).into_owned();
    let port = target_host(&head).and_then(|h| hosts.lock().unwrap_or_else(|p| p.into_inner()).get(h).copied());
    let upstream = match port {
        Some(port) => TcpStream::connect(("127.0.0.1", port)).await.ok(),
        None => None,
    };
    let Some(mut upstream) = upstream else {
        let body = "no such pod on the simulated pod network";
        let _ = conn
            .write_all(
                format!(
                    "HTTP/1.1 502 Bad Gateway\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                )
                .as_bytes(),
            )
            .await;
        return;
    };
    if upstream.write_all(&buf[..n]).await.is_ok() {
        let _ = tokio::io::copy_bidirectional(&mut conn, &mut upstream).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_comes_from_the_absolute_target() {
        assert_eq!(
            target_host("GET http://a-0.a.ns.svc.cluster.local:26657/status HTTP/1.1\r\n"),
            Some("a-0.a.ns.svc.cluster.local")
        );
        assert_eq!(target_host("GET http://a/status HTTP/1.1"), Some("a"));
        assert_eq!(target_host("GET /status HTTP/1.1"), None);
    }
}
