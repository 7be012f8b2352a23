//! Container images built on this machine, without a registry or an image builder: the
//! workspace's binaries (with the shared libraries they link, found by `ldd`) in one layer,
//! written as an OCI image-layout archive that `ctr images import` takes. Images of the
//! workspace's own programs take their paths, user, entrypoint and ports from the final
//! stage of their Dockerfile in `images/`, so the two cannot drift apart.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use oci_spec::image::{
    ConfigBuilder, Descriptor, DescriptorBuilder, ImageConfigurationBuilder, ImageIndexBuilder, ImageManifestBuilder,
    MediaType, RootFsBuilder, Sha256Digest,
};
use sha2::{Digest as _, Sha256};

use crate::Error;

/// What the final stage of a Dockerfile says about the image it makes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DockerfileImage {
    /// `COPY --from=<stage> <source> <dest>`: (source, dest).
    pub copies: Vec<(String, String)>,
    pub user: Option<String>,
    pub entrypoint: Vec<String>,
    pub cmd: Vec<String>,
    /// `EXPOSE` ports, as `7777/tcp`.
    pub exposed_ports: Vec<String>,
}

/// Instructions of a Dockerfile as (keyword in capitals, arguments), continuation lines
/// joined and comments dropped; a dangling continuation at the end is kept as it is.
pub fn instructions(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if current.is_empty() && (trimmed.is_empty() || trimmed.starts_with('#')) {
            continue;
        }
        if let Some(body) = trimmed.strip_suffix('\\') {
            current.push_str(body.trim_end());
            current.push(' ');
            continue;
        }
        current.push_str(trimmed);
        let (keyword, args) = current.split_once(char::is_whitespace).unwrap_or((&current, ""));
        out.push((keyword.to_uppercase(), args.trim().to_string()));
        current.clear();
    }
    if !current.is_empty() {
        out.push(("\\".to_string(), current));
    }
    out
}

fn exec_form(keyword: &str, args: &str) -> Result<Vec<String>, Error> {
    serde_json::from_str(args)
        .map_err(|e| Error::Setup(format!("{keyword} {args}: only the exec (JSON array) form is supported: {e}")))
}

/// Reads the final stage of a Dockerfile.
pub fn parse_dockerfile(text: &str) -> Result<DockerfileImage, Error> {
    let all = instructions(text);
    let last_from =
        all.iter().rposition(|(k, _)| k == "FROM").ok_or_else(|| Error::Setup("the Dockerfile has no FROM".into()))?;
    let mut image = DockerfileImage::default();
    for (keyword, args) in &all[last_from + 1..] {
        match keyword.as_str() {
            "COPY" => {
                let words: Vec<&str> = args.split_whitespace().filter(|w| !w.starts_with("--")).collect();
                let [source, dest] = words.as_slice() else {
                    return Err(Error::Setup(format!("COPY {args}: expected one source and one destination")));
                };
                image.copies.push((source.to_string(), dest.to_string()));
            }
            "USER" => image.user = Some(args.clone()),
            "ENTRYPOINT" => image.entrypoint = exec_form(keyword, args)?,
            "CMD" => image.cmd = exec_form(keyword, args)?,
            "EXPOSE" => image.exposed_ports.extend(
                args.split_whitespace().map(|p| if p.contains('/') { p.to_string() } else { format!("{p}/tcp") }),
            ),
            "ENV" | "WORKDIR" | "LABEL" | "ARG" => {}
            other => return Err(Error::Setup(format!("{other} in the final stage is not supported here"))),
        }
    }
    Ok(image)
}

/// An image to build: files from this machine at paths in the image, symbolic links, and
/// the image's run configuration.
#[derive(Debug, Clone, Default)]
pub struct Image {
    /// Every name the image is imported under (`ghcr.io/sei-k8s/seictl:0.1.0`).
    pub names: Vec<String>,
    pub user: Option<String>,
    pub entrypoint: Vec<String>,
    pub cmd: Vec<String>,
    pub exposed_ports: Vec<String>,
    pub env: Vec<String>,
    /// Path in the image -> file on this machine.
    files: BTreeMap<String, PathBuf>,
    /// Path in the image -> link target.
    links: BTreeMap<String, String>,
}

impl Image {
    pub fn new(names: &[&str]) -> Image {
        Image {
            names: names.iter().map(|n| n.to_string()).collect(),
            env: vec!["PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin".into()],
            ..Default::default()
        }
    }

    /// The image of a Dockerfile's final stage, each `COPY`'s source (`/out/seictl`) taken
    /// from `binaries` by its file name.
    pub fn from_dockerfile(names: &[&str], dockerfile: &DockerfileImage, binaries: &Path) -> Result<Image, Error> {
        let mut image = Image::new(names);
        image.user = dockerfile.user.clone();
        image.entrypoint = dockerfile.entrypoint.clone();
        image.cmd = dockerfile.cmd.clone();
        image.exposed_ports = dockerfile.exposed_ports.clone();
        for (source, dest) in &dockerfile.copies {
            let name = Path::new(source)
                .file_name()
                .ok_or_else(|| Error::Setup(format!("COPY source {source} has no file name")))?;
            image = image.binary(binaries.join(name), dest)?;
        }
        Ok(image)
    }

    /// Adds a program at `dest`, with every shared library it loads at its own path.
    pub fn binary(mut self, source: impl Into<PathBuf>, dest: &str) -> Result<Image, Error> {
        let source = source.into();
        if !source.is_file() {
            return Err(Error::Setup(format!("{} is not built", source.display())));
        }
        for lib in shared_libraries(&source)? {
            let at = lib.display().to_string();
            self.files.insert(at, lib);
        }
        self.files.insert(dest.to_string(), source);
        Ok(self)
    }

    /// Adds a symbolic link `dest` -> `target`.
    pub fn link(mut self, dest: &str, target: &str) -> Image {
        self.links.insert(dest.to_string(), target.to_string());
        self
    }

    /// Paths in the image (files and links), for checks.
    pub fn paths(&self) -> BTreeSet<&str> {
        self.files.keys().chain(self.links.keys()).map(String::as_str).collect()
    }

    /// The image's one layer: an uncompressed tar with fixed owners and times, so the same
    /// inputs give the same digest.
    fn layer(&self) -> Result<Vec<u8>, Error> {
        let mut dirs = BTreeSet::new();
        for path in self.files.keys().chain(self.links.keys()) {
            let mut parent = Path::new(path).parent();
            while let Some(p) = parent.filter(|p| *p != Path::new("/")) {
                dirs.insert(p.to_path_buf());
                parent = p.parent();
            }
        }
        let mut tar = tar::Builder::new(Vec::new());
        let header = |kind: tar::EntryType, mode: u32, size: u64| {
            let mut h = tar::Header::new_gnu();
            h.set_entry_type(kind);
            h.set_mode(mode);
            h.set_size(size);
            h.set_uid(0);
            h.set_gid(0);
            h.set_mtime(0);
            h
        };
        let rel = |p: &Path| p.strip_prefix("/").unwrap_or(p).to_path_buf();
        let io = |e: std::io::Error| Error::Setup(format!("writing an image layer: {e}"));
        for dir in &dirs {
            let mut h = header(tar::EntryType::Directory, 0o755, 0);
            tar.append_data(&mut h, rel(dir), std::io::empty()).map_err(io)?;
        }
        // A world-writable /tmp, as base images have.
        let mut h = header(tar::EntryType::Directory, 0o1777, 0);
        tar.append_data(&mut h, "tmp", std::io::empty()).map_err(io)?;
        for (dest, source) in &self.files {
            let data = std::fs::read(source).map_err(|e| Error::io(source, e))?;
            let mut h = header(tar::EntryType::Regular, 0o755, data.len() as u64);
            tar.append_data(&mut h, rel(Path::new(dest)), data.as_slice()).map_err(io)?;
        }
        for (dest, target) in &self.links {
            let mut h = header(tar::EntryType::Symlink, 0o777, 0);
            tar.append_link(&mut h, rel(Path::new(dest)), target).map_err(io)?;
        }
        tar.into_inner().map_err(io)
    }

    /// Writes the image as an OCI image-layout tar archive at `out`, one index entry per
    /// name; returns the manifest's digest.
    pub fn write_oci_archive(&self, out: &Path) -> Result<String, Error> {
        let oci = |e: oci_spec::OciSpecError| Error::Setup(format!("building an OCI document: {e}"));
        let layer = self.layer()?;
        let layer_digest = sha256(&layer);
        let mut config = ConfigBuilder::default().env(self.env.clone()).entrypoint(self.entrypoint.clone());
        if !self.cmd.is_empty() {
            config = config.cmd(self.cmd.clone());
        }
        if let Some(user) = &self.user {
            config = config.user(user.clone());
        }
        let config = config.exposed_ports(self.exposed_ports.clone()).build().map_err(oci)?;
        let image_config = ImageConfigurationBuilder::default()
            .architecture("amd64")
            .os("linux")
            .config(config)
            .rootfs(
                RootFsBuilder::default()
                    .typ("layers")
                    .diff_ids(vec![format!("sha256:{layer_digest}")])
                    .build()
                    .map_err(oci)?,
            )
            .build()
            .map_err(oci)?;
        let config_json = serde_json::to_vec(&image_config).map_err(|e| Error::Setup(e.to_string()))?;
        let config_digest = sha256(&config_json);
        let manifest = ImageManifestBuilder::default()
            .schema_version(2u32)
            .media_type(MediaType::ImageManifest)
            .config(descriptor(MediaType::ImageConfig, &config_digest, config_json.len())?)
            .layers(vec![descriptor(MediaType::ImageLayer, &layer_digest, layer.len())?])
            .build()
            .map_err(oci)?;
        let manifest_json = serde_json::to_vec(&manifest).map_err(|e| Error::Setup(e.to_string()))?;
        let manifest_digest = sha256(&manifest_json);
        let mut entries = Vec::new();
        for name in &self.names {
            let mut d = descriptor(MediaType::ImageManifest, &manifest_digest, manifest_json.len())?;
            d.set_annotations(Some(std::collections::HashMap::from([
                ("org.opencontainers.image.ref.name".to_string(), name.clone()),
                ("io.containerd.image.name".to_string(), name.clone()),
            ])));
            entries.push(d);
        }
        let index = ImageIndexBuilder::default()
            .schema_version(2u32)
            .media_type(MediaType::ImageIndex)
            .manifests(entries)
            .build()
            .map_err(oci)?;
        let index_json = serde_json::to_vec(&index).map_err(|e| Error::Setup(e.to_string()))?;

        let tmp = out.with_extension("tmp");
        let file = std::fs::File::create(&tmp).map_err(|e| Error::io(&tmp, e))?;
        let mut archive = tar::Builder::new(std::io::BufWriter::new(file));
        let blob = |digest: &str| format!("blobs/sha256/{digest}");
        let entries: [(String, &[u8]); 5] = [
            ("oci-layout".into(), br#"{"imageLayoutVersion":"1.0.0"}"#),
            ("index.json".into(), &index_json),
            (blob(&manifest_digest), &manifest_json),
            (blob(&config_digest), &config_json),
            (blob(&layer_digest), &layer),
        ];
        for (path, data) in entries {
            let mut h = tar::Header::new_gnu();
            h.set_mode(0o644);
            h.set_size(data.len() as u64);
            h.set_mtime(0);
            archive.append_data(&mut h, path, data).map_err(|e| Error::io(&tmp, e))?;
        }
        archive
            .into_inner()
            .and_then(|w| w.into_inner().map_err(|e| e.into_error()))
            .map_err(|e| Error::io(&tmp, e))?;
        std::fs::rename(&tmp, out).map_err(|e| Error::io(out, e))?;
        Ok(format!("sha256:{manifest_digest}"))
    }
}

fn sha256(data: &[u8]) -> String {
    Sha256::digest(data).iter().map(|b| format!("{b:02x}")).collect()
}

fn descriptor(media_type: MediaType, digest: &str, size: usize) -> Result<Descriptor, Error> {
    let digest: Sha256Digest = digest.parse().map_err(|e| Error::Setup(format!("digest {digest}: {e}")))?;
    DescriptorBuilder::default()
        .media_type(media_type)
        .digest(digest)
        .size(size as u64)
        .build()
        .map_err(|e| Error::Setup(format!("building an OCI descriptor: {e}")))
}

/// The shared libraries (and the dynamic loader) `program` loads, by `ldd`; none for a
/// static program.
pub fn shared_libraries(program: &Path) -> Result<Vec<PathBuf>, Error> {
    let out = Command::new("ldd").arg(program).output().map_err(|e| Error::Setup(format!("running ldd: {e}")))?;
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() || text.contains("not a dynamic executable") || text.contains("statically linked") {
        return Ok(Vec::new());
    }
    let mut libs = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        // `libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)` or `/lib64/ld-linux-x86-64.so.2 (0x...)`.
        let path = match line.split_once("=>") {
            Some((_, rest)) => rest.split_whitespace().next(),
            None => line.split_whitespace().next(),
        };
        if let Some(p) = path.filter(|p| p.starts_with('/')) {
            libs.push(PathBuf::from(p));
        } else if line.contains("not found") {
            return Err(Error::Setup(format!("{}: {line}", program.display())));
        }
    }
    Ok(libs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_final_stage_of_a_dockerfile_is_read() {
        let text = "FROM rust AS build\nUSER 1\nCOPY . .\nFROM base\nCOPY --from=build /out/a /usr/local/bin/a\n\
                    COPY --from=build /out/a /usr/local/bin/b\nUSER 65532:65532\nEXPOSE 7777\n\
                    ENTRYPOINT [\"/usr/local/bin/a\"]\nCMD [\"serve\"]\n";
        let image = parse_dockerfile(text).unwrap();
        assert_eq!(
            image.copies,
            [("/out/a".to_string(), "/usr/local/bin/a".to_string()), ("/out/a".into(), "/usr/local/bin/b".into())]
        );
        assert_eq!(image.user.as_deref(), Some("65532:65532"));
        assert_eq!(image.entrypoint, ["/usr/local/bin/a"]);
        assert_eq!(image.cmd, ["serve"]);
        assert_eq!(image.exposed_ports, ["7777/tcp"]);
        assert!(parse_dockerfile("FROM a\nENTRYPOINT /bin/sh -c x\n").is_err(), "shell form is refused");
        assert!(parse_dockerfile("FROM a\nRUN true\n").is_err(), "a RUN in the final stage would be lost");
    }

    #[test]
    fn an_archive_holds_the_layout_and_a_deterministic_manifest() {
        let dir = tempfile_dir();
        let program = std::env::current_exe().unwrap();
        let image =
            Image::new(&["local/test:1", "local/test:2"]).binary(&program, "/bin/prog").unwrap().link("/bin/p", "prog");
        assert!(image.paths().iter().any(|p| p.contains("libc.so")), "the libraries come along: {:?}", image.paths());
        let first = image.write_oci_archive(&dir.join("a.tar")).unwrap();
        let second = image.write_oci_archive(&dir.join("b.tar")).unwrap();
        assert_eq!(first, second, "same inputs, same digest");
        let mut archive = tar::Archive::new(std::fs::File::open(dir.join("a.tar")).unwrap());
        let mut names = Vec::new();
        let mut index = String::new();
        for entry in archive.entries().unwrap() {
            let mut entry = entry.unwrap();
            let path = entry.path().unwrap().display().to_string();
            if path == "index.json" {
                std::io::Read::read_to_string(&mut entry, &mut index).unwrap();
            }
            names.push(path);
        }
        assert_eq!(names[..2], ["oci-layout", "index.json"]);
        assert_eq!(names.len(), 5);
        let index: serde_json::Value = serde_json::from_str(&index).unwrap();
        let refs: Vec<_> = index["manifests"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["annotations"]["io.containerd.image.name"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(refs, ["local/test:1", "local/test:2"]);
        assert_eq!(index["manifests"][0]["digest"], first);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    fn tempfile_dir() -> PathBuf {
        let dir = std::env::temp_dir().join(format!("sei-images-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }
}
