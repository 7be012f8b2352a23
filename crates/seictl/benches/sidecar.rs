//! Sidecar figures: `cargo bench -p seictl --bench sidecar`. Starts the release
//! `seictl serve` as its own process and measures it from this one:
//! idle resident memory, `/v0/healthz` latency at a fixed 1,000 requests/s, and
//! submit-to-complete time of `config-apply`.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const TOKEN: &str = "bench-token-0123456789abcdef";

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("token"), TOKEN).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_seictl"))
        .arg("serve")
        .env_clear()
        .envs([
            ("SEI_CHAIN_ID", "pacific-1"),
            ("SEI_GENESIS_BUCKET", "g"),
            ("SEI_GENESIS_REGION", "r"),
            ("SEI_SNAPSHOT_BUCKET", "s"),
            ("SEI_SNAPSHOT_REGION", "r"),
            ("SEI_SIDECAR_BIND", "127.0.0.1"),
            ("SEI_LOG_LEVEL", "warn"),
        ])
        .env("SEI_HOME", dir.path().join("sei"))
        .env("SEI_SIDECAR_PORT", port.to_string())
        .env("SEI_SIDECAR_TOKEN_FILE", dir.path().join("token"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let http = reqwest::Client::new();
        while http.get(format!("{base}/v0/livez")).send().await.is_err() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
        println!("idle resident memory: {:.1} MiB", rss_kib(child.id()) as f64 / 1024.0);

        // Fixed-rate load: a request every millisecond for 5 s, each on its own task.
        let url = format!("{base}/v0/healthz");
        let mut interval = tokio::time::interval(Duration::from_millis(1));
        let mut handles = Vec::with_capacity(5000);
        for _ in 0..5000 {
            interval.tick().await;
            let (http, url) = (http.clone(), url.clone());
            handles.push(tokio::spawn(async move {
                let t = Instant::now();
                let ok = http.get(&url).send().await.is_ok();
                (t.elapsed(), ok)
            }));
        }
        let mut latencies = Vec::new();
        let mut errors = 0;
        for h in handles {
            let (d, ok) = h.await.unwrap();
            if ok { latencies.push(d) } else { errors += 1 }
        }
        latencies.sort();
        println!(
            "healthz at 1000 req/s for 5 s: p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms, {errors} errors",
            percentile(&latencies, 0.5).as_secs_f64() * 1e3,
            percentile(&latencies, 0.99).as_secs_f64() * 1e3,
            latencies.last().unwrap().as_secs_f64() * 1e3,
        );
        println!("resident memory after load: {:.1} MiB", rss_kib(child.id()) as f64 / 1024.0);

        let mut times = Vec::new();
        for _ in 0..50 {
            let t = Instant::now();
            let resp: serde_json::Value = http
                .post(format!("{base}/v0/tasks"))
                .bearer_auth(TOKEN)
                .json(&serde_json::json!({"type": "config-apply", "params": {"mode": "full"}}))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let task = format!("{base}/v0/tasks/{}", resp["id"].as_str().unwrap());
            loop {
                let t: serde_json::Value =
                    http.get(&task).bearer_auth(TOKEN).send().await.unwrap().json().await.unwrap();
                if t["status"] != "running" {
                    assert_eq!(t["status"], "completed", "{t}");
                    break;
                }
                tokio::time::sleep(Duration::from_micros(200)).await;
            }
            times.push(t.elapsed());
        }
        times.sort();
        println!(
            "config-apply submit to complete (50 runs): p50 {:.2} ms, p99 {:.2} ms",
            percentile(&times, 0.5).as_secs_f64() * 1e3,
            percentile(&times, 0.99).as_secs_f64() * 1e3
        );
    });
    let _ = child.kill();
    let _ = child.wait();
}
