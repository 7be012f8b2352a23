//! Every validation rule fires on its example in `sei_config::rule_examples` (the source of
//! `docs/config-validation.md`) and only there; valid configs have no findings.

use sei_config::rule_examples::{EXAMPLES, STATE_SYNC};
use sei_config::{CURRENT_VERSION, Host, Mode, apply_one, defaults, validate};

#[test]
fn every_rule_fires_on_its_example_and_only_there() {
    for c in EXAMPLES {
        let found = c.findings().unwrap_or_else(|e| panic!("rule {}: {e}", c.rule));
        assert!(
            found.iter().any(|d| d.field == c.field && d.severity == c.severity),
            "rule {}: expected a {:?} on {}, got {found:?}",
            c.rule,
            c.severity,
            c.field
        );
        assert!(found.iter().all(|d| d.field == c.field), "rule {}: unrelated findings {found:?}", c.rule);
    }
}

#[test]
fn the_document_shows_each_examples_finding() {
    let doc = sei_config::rule_examples::markdown();
    for c in EXAMPLES {
        let finding = c.findings().unwrap().into_iter().find(|d| d.field == c.field).unwrap();
        assert!(doc.contains(&format!("`{finding}`")), "rule {}: {finding} is not in the document", c.rule);
    }
    assert_eq!(doc.lines().filter(|l| l.starts_with("| ") && !l.starts_with("| Rule")).count(), EXAMPLES.len());
}

#[test]
fn defaults_of_every_mode_have_no_findings() {
    for mode in sei_config::ALL_MODES {
        let cfg = defaults(mode, &Host::fixed(2, "node-0"));
        assert_eq!(validate(&cfg, CURRENT_VERSION), vec![], "{mode}");
    }
    let mut synced = defaults(Mode::Full, &Host::fixed(2, "node-0"));
    for (k, v) in STATE_SYNC {
        apply_one(&mut synced, k, v).unwrap();
    }
    assert_eq!(validate(&synced, CURRENT_VERSION), vec![], "a complete state-sync setup is valid");
}

#[test]
fn findings_are_all_reported_at_once() {
    let mut cfg = defaults(Mode::Full, &Host::fixed(2, "node-0"));
    apply_one(&mut cfg, "logging.format", "xml").unwrap();
    apply_one(&mut cfg, "mempool.size", "-1").unwrap();
    apply_one(&mut cfg, "storage.pruning", "x").unwrap();
    assert_eq!(validate(&cfg, CURRENT_VERSION).len(), 3);
}
