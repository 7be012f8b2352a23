//! A local image archive is what a real container runtime takes: containerd (installed by
//! `hack/real-node.sh`, with its own root, state and socket) imports it and runs it.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use sei_testenv::images::Image;

#[test]
fn containerd_imports_and_runs_an_image_built_here() {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../hack/real-node.sh");
    let setup = Command::new("bash").arg(&script).output().unwrap();
    assert!(setup.status.success(), "{}", String::from_utf8_lossy(&setup.stderr));
    let paths = String::from_utf8(setup.stdout).unwrap();
    let path = |k: &str| paths.lines().find_map(|l| l.strip_prefix(&format!("{k}="))).unwrap().to_string();

    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let sock = d.join("containerd.sock");
    std::fs::write(
        d.join("config.toml"),
        format!(
            "version = 2\nroot = \"{0}/root\"\nstate = \"{0}/state\"\n[grpc]\n  address = \"{1}\"\n[ttrpc]\n  address = \"{1}.ttrpc\"\n",
            d.display(),
            sock.display()
        ),
    )
    .unwrap();
    let log = std::fs::File::create(d.join("containerd.log")).unwrap();
    let mut containerd = Command::new(path("containerd"))
        .arg("--config")
        .arg(d.join("config.toml"))
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap();
    let ctr = |args: &[&str]| {
        Command::new(path("ctr")).arg("--address").arg(&sock).args(["-n", "k8s.io"]).args(args).output().unwrap()
    };
    let started = Instant::now();
    while !ctr(&["version"]).status.success() {
        assert!(started.elapsed() < Duration::from_secs(30), "containerd did not start");
        std::thread::sleep(Duration::from_millis(200));
    }

    let mut image = Image::new(&["sei-testenv.local/busybox:1"])
        .binary(path("busybox"), "/bin/busybox")
        .unwrap()
        .link("/bin/sh", "busybox");
    image.user = Some("65532:65532".into());
    image.entrypoint = vec!["/bin/sh".into(), "-c".into(), "echo built-here; busybox id -u".into()];
    let archive = d.join("image.tar");
    let digest = image.write_oci_archive(&archive).unwrap();
    let imported = ctr(&["images", "import", archive.to_str().unwrap()]);
    assert!(imported.status.success(), "{}", String::from_utf8_lossy(&imported.stderr));
    let list = String::from_utf8(ctr(&["images", "ls"]).stdout).unwrap();
    assert!(list.lines().any(|l| l.starts_with("sei-testenv.local/busybox:1") && l.contains(&digest)), "{list}");

    let run = ctr(&["run", "--rm", "sei-testenv.local/busybox:1", &format!("t-{}", std::process::id())]);
    let out = String::from_utf8_lossy(&run.stdout);
    assert!(run.status.success(), "{out}{}", String::from_utf8_lossy(&run.stderr));
    assert_eq!(out.lines().collect::<Vec<_>>(), ["built-here", "65532"], "the image's entrypoint ran as its user");
    let _ = containerd.kill();
    let _ = containerd.wait();
}
