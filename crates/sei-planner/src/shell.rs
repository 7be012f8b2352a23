//! The shell scripts of the node's containers, byte for byte as the reference writes them
//! (any difference in a pod template restarts every node on the next apply).

/// Go's `%q` of a string: double quotes, `\\` and `\"` escaped, control characters as
/// `\n`, `\t`, ..., other non-printable characters as `\xNN`/`\uNNNN`, printable Unicode
/// kept.
pub fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\x07' => out.push_str("\\a"),
            '\x08' => out.push_str("\\b"),
            '\x0c' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\x0b' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if c.is_control() => {
                if (c as u32) < 0x10000 {
                    out.push_str(&format!("\\u{:04x}", c as u32));
                } else {
                    out.push_str(&format!("\\U{:08x}", c as u32));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Whether a chain ID may be written into a shell script as it is: the CRD's pattern
/// (letters, digits, `.`, `_`, `-`). The script stays byte-identical to the reference's,
/// so switching operators restarts no node.
pub fn shell_safe(chain_id: &str) -> bool {
    !chain_id.is_empty() && chain_id.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
}

/// `seid init` unless the volume already holds a genesis, then the temp directory. Callers
/// check [`shell_safe`] first.
pub fn init_script(chain_id: &str) -> String {
    let c = chain_id;
    format!(
        "if [ -f /sei/config/genesis.json ]; then echo \"data directory already initialized, skipping seid init\"; else seid init {c} --chain-id {c} --home /sei --overwrite; fi && mkdir -p /sei/tmp"
    )
}

fn wait_for_sidecar(port: u16) -> String {
    format!(
        "while true; do if (exec 3<>/dev/tcp/localhost/{port} && printf \"GET /v0/healthz HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n\" >&3 && head -1 <&3 | grep -q \"200\") 2>/dev/null; then break; fi; sleep 5; done"
    )
}

/// The `seid` container waits for the sidecar's readiness, then execs `program args...`.
pub fn seid_script(port: u16, program: &str, args: &[String]) -> String {
    let mut cmdline = program.to_string();
    for a in args {
        cmdline.push(' ');
        cmdline.push_str(&go_quote(a));
    }
    format!(
        "echo \"waiting for sidecar to become ready...\"; {}; echo \"sidecar ready, starting seid\"; exec {cmdline}",
        wait_for_sidecar(port)
    )
}

/// The bootstrap Job's `seid`: waits for the sidecar, then replays to the halt height;
/// exit 130 (halted at the height) counts as success.
pub fn bootstrap_script(port: u16, halt_height: i64) -> String {
    format!(
        "echo \"waiting for sidecar bootstrap tasks to complete...\"; {}; echo \"sidecar healthy, starting seid with halt-height {halt_height}\"; seid start --home /sei --halt-height {halt_height}; rc=$?; if [ $rc -eq 130 ]; then echo \"seid halted at target height (exit 130), treating as success\"; exit 0; fi; exit $rc",
        wait_for_sidecar(port)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_quoting() {
        assert_eq!(go_quote("--home"), "\"--home\"");
        assert_eq!(go_quote("a\"b\\c"), "\"a\\\"b\\\\c\"");
        assert_eq!(go_quote("x\ny\tz"), "\"x\\ny\\tz\"");
        assert_eq!(go_quote("\x01"), "\"\\x01\"");
        assert_eq!(go_quote("héllo ✓"), "\"héllo ✓\"");
    }

    #[test]
    fn the_default_seid_command_line() {
        let args = ["start", "--home", "/sei"].map(String::from);
        let script = seid_script(7777, "seid", &args);
        assert!(script.ends_with("exec seid \"start\" \"--home\" \"/sei\""));
        assert!(script.contains("exec 3<>/dev/tcp/localhost/7777"));
        assert!(
            script.contains("printf \"GET /v0/healthz HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n\""),
            "literal backslash sequences"
        );
    }

    #[test]
    fn chain_ids_must_be_shell_safe() {
        assert!(shell_safe("pacific-1") && shell_safe("sei_test.2"));
        assert!(!shell_safe("x; rm -rf /") && !shell_safe("$(id)") && !shell_safe(""));
        assert!(init_script("pacific-1").contains("seid init pacific-1 --chain-id pacific-1 --home /sei --overwrite"));
        assert!(bootstrap_script(7777, 42).contains("seid start --home /sei --halt-height 42; rc=$?"));
    }
}
