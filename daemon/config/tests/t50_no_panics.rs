//! Input never reaches a panic: arbitrary text, and arbitrary mutations of a valid file, give
//! a `Config` or a `ConfigError`.

use coffer_config::{parse_duration, parse_str};
use proptest::prelude::*;

const VALID: &str = "storage \"raft\" {\n  path = \"/d\"\n}\nlistener \"tcp\" {\n  address = \"127.0.0.1:0\"\n  tls_disable = true\n  max_request_size = -1\n}\nseal \"shamir\" {}\ndefault_lease_ttl = \"1h30m\"\nlog_level = \"info\"\n";

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Any string is a duration or an error.
    #[test]
    fn durations_never_panic(s in "\\PC{0,24}|[0-9.+\\-µμnsuhmd]{0,24}") {
        let _ = parse_duration(&s);
    }

    /// Any text, read as HCL or JSON, is a configuration or an error.
    #[test]
    fn arbitrary_text_never_panics(s in "\\PC{0,200}", json in any::<bool>()) {
        let _ = parse_str(&s, if json { "x.json" } else { "x.hcl" });
    }

    /// A valid file with one byte range replaced is a configuration or an error, and every
    /// error names the file.
    #[test]
    fn mutated_config_never_panics(at in 0usize..VALID.len(), len in 0usize..8, with in "[ -~\\n]{0,6}") {
        let start = at.min(VALID.len());
        let end = (start + len).min(VALID.len());
        let mutated = format!("{}{}{}", &VALID[..start], with, &VALID[end..]);
        if let Err(e) = parse_str(&mutated, "m.hcl") {
            prop_assert!(e.to_string().contains("m.hcl"), "{}", e);
        }
    }
}
