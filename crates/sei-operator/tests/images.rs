//! The Dockerfiles of images/ (no container runtime runs in CI, so they are not built here):
//! each is parsed and its stages linted: pinned bases, a locked static release build of a
//! binary the workspace has, a distroless final stage running as a non-root user with an
//! exec-form entrypoint at a file that stage received.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
}

#[derive(Debug)]
struct Instruction {
    keyword: String,
    args: String,
}

/// Instructions with continuation lines joined and comments dropped (the parser the local
/// images of the real node are built with).
fn parse(text: &str) -> Vec<Instruction> {
    let all = sei_testenv::images::instructions(text);
    assert!(all.last().is_none_or(|(k, _)| k != "\\"), "a continuation line ends the file");
    all.into_iter().map(|(keyword, args)| Instruction { keyword, args }).collect()
}

struct Stage {
    name: Option<String>,
    base: String,
    instructions: Vec<Instruction>,
}

fn stages(instructions: Vec<Instruction>) -> (BTreeMap<String, String>, Vec<Stage>) {
    let mut args = BTreeMap::new();
    let mut stages: Vec<Stage> = Vec::new();
    for i in instructions {
        match (i.keyword.as_str(), stages.last_mut()) {
            ("ARG", None) => {
                let (k, v) = i.args.split_once('=').expect("a global ARG has a default");
                args.insert(k.to_string(), v.to_string());
            }
            ("FROM", _) => {
                let words: Vec<&str> = i.args.split_whitespace().collect();
                let name = match words.as_slice() {
                    [_, as_, name] if as_.eq_ignore_ascii_case("as") => Some(name.to_string()),
                    [_] => None,
                    _ => panic!("FROM {}", i.args),
                };
                let base = words[0].trim_start_matches("${").trim_end_matches('}');
                let base = args.get(base).cloned().unwrap_or_else(|| base.to_string());
                stages.push(Stage { name, base, instructions: Vec::new() });
            }
            (_, Some(stage)) => stage.instructions.push(i),
            (k, None) => panic!("{k} before the first FROM"),
        }
    }
    (args, stages)
}

fn workspace_rust_version() -> (u32, u32) {
    let manifest = std::fs::read_to_string(repo().join("Cargo.toml")).unwrap();
    let v: toml::Value = toml::from_str(&manifest).unwrap();
    let text = v["workspace"]["package"]["rust-version"].as_str().unwrap();
    let mut parts = text.split('.').map(|p| p.parse::<u32>().unwrap());
    (parts.next().unwrap(), parts.next().unwrap())
}

/// Lints one Dockerfile that must build `bin` of package `package` and run `entrypoint`.
fn lint(file: &str, package: &str, bin: &str, entrypoint: &str, ports: &[u16]) {
    let text = std::fs::read_to_string(repo().join(file)).unwrap();
    let (_, stages) = stages(parse(&text));
    assert!(stages.len() >= 2, "{file}: multi-stage");
    for s in &stages {
        let (image, tag) = s.base.rsplit_once(':').unwrap_or_else(|| panic!("{file}: {} has no tag", s.base));
        assert!(!image.is_empty() && tag != "latest" && !tag.is_empty(), "{file}: {} is not pinned", s.base);
    }

    let build = &stages[0];
    assert_eq!(build.name.as_deref(), Some("build"), "{file}");
    let rust = build.base.split(':').nth(1).unwrap();
    let mut version = rust.split(['.', '-']).map(|p| p.parse::<u32>().unwrap_or(0));
    let image_version = (version.next().unwrap(), version.next().unwrap());
    assert!(image_version >= workspace_rust_version(), "{file}: {rust} is older than the workspace's rust-version");
    let cargo = build
        .instructions
        .iter()
        .find(|i| i.keyword == "RUN" && i.args.contains("cargo build"))
        .unwrap_or_else(|| panic!("{file}: no cargo build"));
    for flag in ["--release", "--locked", &format!("-p {package}"), &format!("--bin {bin}")] {
        assert!(cargo.args.contains(flag), "{file}: cargo build without {flag}: {}", cargo.args);
    }
    let env: String = build.instructions.iter().filter(|i| i.keyword == "ENV").map(|i| i.args.clone()).collect();
    assert!(env.contains("+crt-static"), "{file}: the binary is static");
    assert!(env.contains("--remap-path-prefix"), "{file}: no build paths in the binary");
    let crate_dir = repo().join("crates").join(package);
    assert!(
        crate_dir.join("src/main.rs").exists() || crate_dir.join(format!("src/bin/{bin}.rs")).exists(),
        "{file}: the workspace has no binary {bin} in {package}"
    );

    let last = stages.last().unwrap();
    assert!(last.base.starts_with("gcr.io/distroless/static"), "{file}: final base {}", last.base);
    let user = last.instructions.iter().rfind(|i| i.keyword == "USER").expect("a USER in the final stage");
    let uid = user.args.split(':').next().unwrap();
    assert!(uid.parse::<u32>().is_ok_and(|u| u != 0), "{file}: USER {} is not a numeric non-root user", user.args);
    let names: Vec<_> = stages.iter().filter_map(|s| s.name.clone()).collect();
    let mut copied = Vec::new();
    for copy in last.instructions.iter().filter(|i| i.keyword == "COPY") {
        let from = copy.args.split_whitespace().find_map(|w| w.strip_prefix("--from=")).expect("COPY --from");
        assert!(names.iter().any(|n| n == from), "{file}: COPY from unknown stage {from}");
        copied.push(copy.args.split_whitespace().last().unwrap().to_string());
    }
    let entry = last.instructions.iter().rfind(|i| i.keyword == "ENTRYPOINT").expect("an ENTRYPOINT");
    let argv: Vec<String> =
        serde_json::from_str(&entry.args).unwrap_or_else(|_| panic!("{file}: ENTRYPOINT is not in exec form"));
    assert_eq!(argv[0], entrypoint, "{file}");
    assert!(copied.contains(&argv[0]), "{file}: {} is not copied into the final stage", argv[0]);
    let exposed: Vec<u16> = last
        .instructions
        .iter()
        .filter(|i| i.keyword == "EXPOSE")
        .flat_map(|i| i.args.split_whitespace().map(|p| p.parse().unwrap()).collect::<Vec<_>>())
        .collect();
    assert_eq!(exposed, ports, "{file}");
}

#[test]
fn the_operator_image_is_a_static_non_root_build_of_sei_operator() {
    lint("images/sei-operator.Dockerfile", "sei-operator", "sei-operator", "/sei-operator", &[8080, 8081]);
}

#[test]
fn the_seictl_image_is_the_sidecar_and_the_cli() {
    lint("images/seictl.Dockerfile", "seictl", "seictl", "/usr/local/bin/seictl", &[7777]);
    // The operator starts the sidecar as `seictl serve` on the image's PATH.
    let text = std::fs::read_to_string(repo().join("images/seictl.Dockerfile")).unwrap();
    assert!(text.contains("/usr/local/bin/seictl\n") && text.contains("/usr/local/bin/kubectl-sei"));
}

#[test]
fn the_build_context_leaves_out_build_output() {
    let ignore = std::fs::read_to_string(repo().join(".dockerignore")).unwrap();
    assert!(ignore.lines().any(|l| l.trim() == "target"), "{ignore}");
}

#[test]
fn the_parser_joins_continuations_and_finds_stages() {
    let (args, st) = stages(parse("ARG B=x:1\n# c\nFROM ${B} AS build\nRUN a \\\n  b\nFROM scratch:2\nUSER 1\n"));
    assert_eq!(args["B"], "x:1");
    assert_eq!((st[0].name.as_deref(), st[0].base.as_str()), (Some("build"), "x:1"));
    assert_eq!(st[0].instructions[0].args, "a b");
    assert_eq!((st[1].name.as_deref(), st[1].base.as_str()), (None, "scratch:2"));
}
