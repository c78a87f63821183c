//! Policy-list helpers, after OpenBao's `policyutil` and `strutil`.

/// `strutil.RemoveDuplicates(items, lowercase)`: trimmed, optionally lowercased, empties
/// dropped, sorted, unique.
pub(crate) fn remove_duplicates(items: &[String], lowercase: bool) -> Vec<String> {
    let mut out: Vec<String> = items
        .iter()
        .map(|s| {
            let t = s.trim();
            if lowercase {
                t.to_lowercase()
            } else {
                t.to_string()
            }
        })
        .filter(|s| !s.is_empty())
        .collect();
    out.sort();
    out.dedup();
    out
}

/// `policyutil.SanitizePolicies`: lowercased, sorted, unique; "root" swallows every other
/// policy; "default" added when asked unless "root" is present.
pub(crate) fn sanitize(policies: &[String], add_default: bool) -> Vec<String> {
    let mut list: Vec<String> = policies.iter().map(|p| p.trim().to_lowercase()).collect();
    let mut default_found = false;
    for p in &list {
        if p == "root" {
            default_found = true;
            break;
        }
        if p == "default" {
            default_found = true;
        }
    }
    if list.iter().any(|p| p == "root") {
        list = vec!["root".to_string()];
    }
    if add_default && !default_found {
        list.push("default".to_string());
    }
    remove_duplicates(&list, true)
}

/// Every element of `sub` is in `sup`.
pub(crate) fn subset(sup: &[String], sub: &[String]) -> bool {
    sub.iter().all(|s| sup.contains(s))
}

/// `go-glob`: `*` matches any run of characters; no other metacharacters.
pub(crate) fn glob(pattern: &str, subj: &str) -> bool {
    if pattern.is_empty() {
        return subj == pattern;
    }
    if pattern == "*" {
        return true;
    }
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return subj == pattern;
    }
    let leading = !pattern.starts_with('*');
    let trailing = !pattern.ends_with('*');
    let end = parts.len() - 1;
    let mut rest = subj;
    for (i, part) in parts.iter().enumerate().take(end) {
        match rest.find(part) {
            Some(idx) => {
                if i == 0 && leading && idx != 0 {
                    return false;
                }
                rest = &rest[idx + part.len()..];
            }
            None => return false,
        }
    }
    // The last part must end the subject (or be empty when the pattern ends in `*`).
    let last = parts[end];
    if trailing {
        rest.ends_with(last)
    } else {
        true
    }
}

pub(crate) fn contains_glob(patterns: &[String], item: &str) -> bool {
    patterns.iter().any(|p| glob(p, item))
}

/// Go's `%q` of a `[]string`: `["a" "b"]`.
pub(crate) fn go_q_list(items: &[String]) -> String {
    let inner: Vec<String> = items.iter().map(|s| format!("{s:?}")).collect();
    format!("[{}]", inner.join(" "))
}

/// Policies OpenBao reserves for its own tokens.
pub(crate) const NON_ASSIGNABLE: &[&str] = &["response-wrapping", "control-group"];

#[cfg(test)]
mod tests {
    use super::*;

    fn v(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    /// Policies are lowercased, sorted, deduplicated; root swallows the rest.
    #[test]
    fn sanitize_matches_policyutil() {
        assert_eq!(sanitize(&v(&["b", "A", "b"]), true), v(&["a", "b", "default"]));
        assert_eq!(sanitize(&v(&["x", "root"]), true), v(&["root"]));
        assert_eq!(sanitize(&v(&[]), true), v(&["default"]));
        assert_eq!(sanitize(&v(&["default", "x"]), false), v(&["default", "x"]));
        assert_eq!(sanitize(&v(&[" ", "x"]), false), v(&["x"]));
    }

    /// Globs match like go-glob.
    #[test]
    fn globs_match_like_go_glob() {
        assert!(glob("ab*", "abc"));
        assert!(!glob("ab*", "xabc"));
        assert!(glob("*c", "abc"));
        assert!(glob("a*c", "abbbc"));
        assert!(!glob("a*c", "abcd"));
        assert!(glob("*", "anything"));
        assert!(glob("x", "x") && !glob("x", "y"));
    }

    #[test]
    fn q_lists_print_like_go() {
        assert_eq!(go_q_list(&v(&["c", "default"])), "[\"c\" \"default\"]");
        assert_eq!(go_q_list(&[]), "[]");
    }
}
