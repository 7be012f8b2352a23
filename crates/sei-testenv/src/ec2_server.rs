//! An EC2-compatible API (moto's server, installed by `hack/ec2-server.sh`) on a free
//! loopback port, for tests of tag-based peer discovery. Stopped when dropped.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use crate::Error;
use crate::process::Process;

pub struct Ec2Server {
    pub port: u16,
    python: PathBuf,
    dir: PathBuf,
    _process: Process,
}

/// An instance the server made.
#[derive(Debug, Clone)]
pub struct Ec2Instance {
    pub id: String,
    pub private_ip: String,
    pub public_ip: Option<String>,
}

fn python() -> Result<PathBuf, Error> {
    crate::binaries::from_hack_script("ec2-server.sh")
}

impl Ec2Server {
    pub fn start() -> Result<Ec2Server, Error> {
        let python = python()?;
        let dir = std::env::temp_dir().join(format!("sei-ec2-{}-{}", std::process::id(), unique()));
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| Error::Setup(e.to_string()))?
            .port();
        let mut cmd = Command::new(&python);
        cmd.args(["-m", "moto.server", "-H", "127.0.0.1", "-p", &port.to_string()]);
        let mut process = Process::spawn("moto", cmd, &dir.join("moto.log"))?;
        process.wait_for_port(port, Duration::from_secs(30))?;
        Ok(Ec2Server { port, python, dir, _process: process })
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// What a client needs to reach this server (it accepts any credentials).
    pub fn env(&self) -> Vec<(String, String)> {
        [
            ("AWS_ENDPOINT_URL_EC2", self.endpoint()),
            ("AWS_ACCESS_KEY_ID", "sei-test-access".into()),
            ("AWS_SECRET_ACCESS_KEY", "sei-test-secret".into()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    }

    /// Launches a running instance with `tags` in `region` (through boto3, as an operator
    /// of the fleet would).
    pub fn run_instance(&self, region: &str, tags: &[(&str, &str)]) -> Result<Ec2Instance, Error> {
        let tags: Vec<serde_json::Value> =
            tags.iter().map(|(k, v)| serde_json::json!({"Key": k, "Value": v})).collect();
        let script = r#"
import json, sys, boto3
region, endpoint, tags = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
ec2 = boto3.client("ec2", region_name=region, endpoint_url=endpoint,
                   aws_access_key_id="sei-test-access", aws_secret_access_key="sei-test-secret")
spec = [{"ResourceType": "instance", "Tags": tags}] if tags else []
i = ec2.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1, TagSpecifications=spec)["Instances"][0]
print(json.dumps({"id": i["InstanceId"], "private": i.get("PrivateIpAddress"), "public": i.get("PublicIpAddress")}))
"#;
        let out = Command::new(&self.python)
            .args(["-c", script, region, &self.endpoint(), &serde_json::Value::from(tags).to_string()])
            .output()
            .map_err(|e| Error::Setup(format!("running boto3: {e}")))?;
        if !out.status.success() {
            return Err(Error::Setup(format!("run_instances: {}", String::from_utf8_lossy(&out.stderr))));
        }
        let v: serde_json::Value =
            serde_json::from_slice(&out.stdout).map_err(|e| Error::Setup(format!("run_instances output: {e}")))?;
        Ok(Ec2Instance {
            id: v["id"].as_str().unwrap_or_default().to_string(),
            private_ip: v["private"].as_str().unwrap_or_default().to_string(),
            public_ip: v["public"].as_str().map(str::to_string),
        })
    }
}

impl Ec2Server {
    /// Runs a boto3 script with the server's endpoint as `sys.argv[1]`; its stdout as JSON.
    fn boto3(&self, what: &str, script: &str, args: &[&str]) -> Result<serde_json::Value, Error> {
        let out = Command::new(&self.python)
            .args(["-c", script, &self.endpoint()])
            .args(args)
            .output()
            .map_err(|e| Error::Setup(format!("running boto3: {e}")))?;
        if !out.status.success() {
            return Err(Error::Setup(format!("{what}: {}", String::from_utf8_lossy(&out.stderr))));
        }
        serde_json::from_slice(&out.stdout).map_err(|e| Error::Setup(format!("{what} output: {e}")))
    }

    /// Pushes an image manifest to ECR repository `repo` under `tag` (creating the
    /// repository); returns the account ID and the image's digest.
    pub fn push_ecr_image(&self, region: &str, repo: &str, tag: &str) -> Result<(String, String), Error> {
        let script = r#"
import json, sys, boto3
endpoint, region, repo, tag = sys.argv[1:5]
ecr = boto3.client("ecr", region_name=region, endpoint_url=endpoint,
                   aws_access_key_id="sei-test-access", aws_secret_access_key="sei-test-secret")
try:
    ecr.create_repository(repositoryName=repo)
except ecr.exceptions.RepositoryAlreadyExistsException:
    pass
manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                       "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "size": 2,
                                  "digest": "sha256:" + "0" * 64}, "layers": [], "annotations": {"tag": tag}})
image = ecr.put_image(repositoryName=repo, imageManifest=manifest, imageTag=tag)["image"]
print(json.dumps({"account": image["registryId"], "digest": image["imageId"]["imageDigest"]}))
"#;
        let v = self.boto3("put_image", script, &[region, repo, tag])?;
        Ok((v["account"].as_str().unwrap_or_default().into(), v["digest"].as_str().unwrap_or_default().into()))
    }

    /// Credentials of role `role` assumed with session name `session` (what an engineer's
    /// SSO login gives), as AWS environment variables pointing STS and ECR at this server.
    pub fn assumed_role_env(&self, role: &str, session: &str) -> Result<Vec<(String, String)>, Error> {
        let script = r#"
import json, sys, boto3
endpoint, role, session = sys.argv[1:4]
sts = boto3.client("sts", region_name="us-east-1", endpoint_url=endpoint,
                   aws_access_key_id="sei-test-access", aws_secret_access_key="sei-test-secret")
c = sts.assume_role(RoleArn=f"arn:aws:iam::123456789012:role/{role}", RoleSessionName=session)["Credentials"]
print(json.dumps({"key": c["AccessKeyId"], "secret": c["SecretAccessKey"], "token": c["SessionToken"]}))
"#;
        let v = self.boto3("assume_role", script, &[role, session])?;
        let s = |k: &str| v[k].as_str().unwrap_or_default().to_string();
        Ok(vec![
            ("AWS_ACCESS_KEY_ID".into(), s("key")),
            ("AWS_SECRET_ACCESS_KEY".into(), s("secret")),
            ("AWS_SESSION_TOKEN".into(), s("token")),
            ("AWS_ENDPOINT_URL_STS".into(), self.endpoint()),
            ("AWS_ENDPOINT_URL_ECR".into(), self.endpoint()),
        ])
    }
}

impl Drop for Ec2Server {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::SeqCst)
}
