//! A real S3-compatible server (s3s-fs, built by `hack/s3-server.sh`) on a free loopback
//! port, storing objects in a temp directory. Stopped and removed when dropped.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use crate::Error;
use crate::process::Process;

pub const S3_ACCESS_KEY: &str = "sei-test-access";
pub const S3_SECRET_KEY: &str = "sei-test-secret-0123456789";

pub struct S3Server {
    pub port: u16,
    root: PathBuf,
    _process: Process,
}

fn binary() -> Result<PathBuf, Error> {
    crate::binaries::from_hack_script("s3-server.sh")
}

impl S3Server {
    /// Starts a server with these (empty) buckets.
    pub fn start(buckets: &[&str]) -> Result<S3Server, Error> {
        let bin = binary()?;
        let root = std::env::temp_dir().join(format!("sei-s3-{}-{}", std::process::id(), uuid_like()));
        for b in buckets {
            std::fs::create_dir_all(root.join(b)).map_err(|e| Error::io(&root, e))?;
        }
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| Error::Setup(e.to_string()))?
            .port();
        let mut cmd = Command::new(bin);
        cmd.args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["--access-key", S3_ACCESS_KEY, "--secret-key", S3_SECRET_KEY])
            .arg(root.join("data"));
        std::fs::create_dir_all(root.join("data")).map_err(|e| Error::io(&root, e))?;
        for b in buckets {
            std::fs::create_dir_all(root.join("data").join(b)).map_err(|e| Error::io(&root, e))?;
        }
        let mut process = Process::spawn("s3s-fs", cmd, &root.join("s3s-fs.log"))?;
        process.wait_for_port(port, Duration::from_secs(20))?;
        Ok(S3Server { port, root, _process: process })
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The AWS environment a client needs to reach this server.
    pub fn env(&self) -> Vec<(String, String)> {
        [
            ("AWS_ENDPOINT_URL", self.endpoint()),
            ("AWS_ALLOW_HTTP", "true".into()),
            ("AWS_ACCESS_KEY_ID", S3_ACCESS_KEY.into()),
            ("AWS_SECRET_ACCESS_KEY", S3_SECRET_KEY.into()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    }

    /// Where an object is stored on disk (for assertions and seeding).
    pub fn object_path(&self, bucket: &str, key: &str) -> PathBuf {
        self.root.join("data").join(bucket).join(key)
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

fn uuid_like() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    format!("{}", N.fetch_add(1, Ordering::SeqCst))
}
