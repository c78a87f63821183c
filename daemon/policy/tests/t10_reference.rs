//! Decisions compared with real OpenBao 2.7.2, captured by `tests/reference/gen.py` into
//! `tests/reference/bao-2.7.2-acl.json` (sys/capabilities answers, and whether requests with
//! parameters and wrapping TTLs got past the ACL).

use coffer_policy::{Acl, AclRequest, Policy};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

fn reference() -> Value {
    let text = include_str!("reference/bao-2.7.2-acl.json");
    serde_json::from_str(text).unwrap_or_else(|e| panic!("reference file: {e}"))
}

fn policies(reference: &Value) -> HashMap<String, Arc<Policy>> {
    let mut out = HashMap::new();
    for (name, text) in reference["policies"].as_object().into_iter().flatten() {
        let text = text.as_str().unwrap_or_default();
        let p = Policy::parse(name, text).unwrap_or_else(|e| panic!("policy {name} does not parse: {e}"));
        out.insert(name.clone(), Arc::new(p));
    }
    out
}

fn acl_for(all: &HashMap<String, Arc<Policy>>, names: &Value) -> Acl {
    let set: Vec<Arc<Policy>> = names
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|n| all.get(n.as_str().unwrap_or_default()).cloned())
        .collect();
    Acl::new(&set)
}

fn go_duration(s: &str) -> Duration {
    let secs: u64 = s.trim_end_matches('s').parse().unwrap_or_else(|e| panic!("duration {s}: {e}"));
    Duration::from_secs(secs)
}

/// Every path × policy-set answer of OpenBao's sys/capabilities (globs, `+`, priority order,
/// deny, merging across policies, legacy shorthand, JSON and HCL 1 forms, expiration, the
/// default policy) is reproduced exactly by `Acl::capabilities`.
#[test]
fn capabilities_match_openbao() {
    let r = reference();
    let all = policies(&r);
    let mut failures = Vec::new();
    let cases = r["capabilities"].as_array().cloned().unwrap_or_default();
    assert!(cases.len() > 100, "reference has {} capability cases", cases.len());
    for case in &cases {
        let acl = acl_for(&all, &case["policies"]);
        let path = case["path"].as_str().unwrap_or_default();
        let want: Vec<String> = serde_json::from_value(case["capabilities"].clone()).unwrap_or_default();
        let got = acl.capabilities(path);
        if got != want {
            failures.push(format!("{} {path:?}: OpenBao {want:?}, coffer {got:?}", case["policies"]));
        }
    }
    assert!(failures.is_empty(), "{} mismatches:\n{}", failures.len(), failures.join("\n"));
}

/// Requests with parameters (allowed / denied / required, value globs, typed values, merged
/// across policies) and with wrapping TTLs are allowed or denied exactly as OpenBao's ACL did.
#[test]
fn request_decisions_match_openbao() {
    let r = reference();
    let all = policies(&r);
    let mut failures = Vec::new();
    let cases = r["requests"].as_array().cloned().unwrap_or_default();
    assert!(cases.len() > 60, "reference has {} request cases", cases.len());
    for case in &cases {
        let acl = acl_for(&all, &case["policies"]);
        let path = case["path"].as_str().unwrap_or_default();
        let body = case["body"].as_object().cloned();
        let wrap_ttl = case["wrap_ttl"].as_str().map(go_duration);
        let want = case["allowed"].as_bool().unwrap_or(false);
        // The policies grant create and update together, so KV's existence check does not matter.
        let ops: &[&str] = match case["method"].as_str() {
            Some("GET") => &["read"],
            Some("LIST") => &["list"],
            Some("SCAN") => &["scan"],
            _ => &["create", "update"],
        };
        for op in ops {
            let d = acl.check(&AclRequest { path, operation: op, params: body.as_ref(), wrap_ttl });
            if d.allowed != want {
                failures.push(format!(
                    "{} {op} {path} {:?} wrap={:?}: OpenBao allowed={want}, coffer allowed={} ({:?})",
                    case["policies"], case["body"], case["wrap_ttl"], d.allowed, d.reason
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{} mismatches:\n{}", failures.len(), failures.join("\n"));
}
