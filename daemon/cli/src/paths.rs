//! Path helpers with the semantics of Go's `path` package and bao's path sanitizers, which
//! decide the exact API paths (and so the error texts) the commands produce.

/// Go's `path.Clean`: no `.`/`..` segments, no repeated or trailing slashes; "" is ".".
pub(crate) fn clean(p: &str) -> String {
    if p.is_empty() {
        return ".".to_string();
    }
    let rooted = p.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for seg in p.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|l| *l != "..") {
                    parts.pop();
                } else if !rooted {
                    parts.push("..");
                }
            }
            s => parts.push(s),
        }
    }
    let body = parts.join("/");
    match (rooted, body.is_empty()) {
        (true, _) => format!("/{body}"),
        (false, true) => ".".to_string(),
        (false, false) => body,
    }
}

/// Go's `path.Join`: the non-empty elements joined by "/" and cleaned; "" if all are empty.
pub(crate) fn join(elems: &[&str]) -> String {
    let parts: Vec<&str> = elems.iter().copied().filter(|e| !e.is_empty()).collect();
    if parts.is_empty() {
        return String::new();
    }
    clean(&parts.join("/"))
}

/// bao's `ensureNoLeadingSlash`.
fn no_leading_slash(s: &str) -> &str {
    s.trim().trim_start_matches('/')
}

/// bao's `ensureNoTrailingSlash`.
fn no_trailing_slash(s: &str) -> &str {
    s.trim().trim_end_matches('/')
}

/// bao's `sanitizePath`: surrounding space and slashes removed.
pub(crate) fn sanitize(s: &str) -> String {
    no_trailing_slash(no_leading_slash(s)).to_string()
}

/// bao's `ensureTrailingSlash`: trimmed, with one trailing slash ("" stays "").
pub(crate) fn ensure_trailing_slash(s: &str) -> String {
    let s = s.trim();
    if s.is_empty() || s.ends_with('/') {
        s.to_string()
    } else {
        format!("{s}/")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Cleaning and joining give Go's results, including its empty-element rules.
    #[test]
    fn clean_and_join_match_go() {
        assert_eq!(clean(""), ".");
        assert_eq!(clean("a//b/./c/.."), "a/b");
        assert_eq!(clean("/../a"), "/a");
        assert_eq!(clean("../a"), "../a");
        assert_eq!(join(&["secret/", "data", "foo"]), "secret/data/foo");
        assert_eq!(join(&["secret/", "data", ""]), "secret/data");
        assert_eq!(join(&["", ""]), "");
        assert_eq!(join(&["a", "/b/"]), "a/b");
    }

    /// The sanitizers trim space around each step, as bao's do.
    #[test]
    fn sanitizers_match_bao() {
        assert_eq!(sanitize(" /secret//x/ "), "secret//x");
        assert_eq!(sanitize("///"), "");
        assert_eq!(sanitize(" / x / "), "x ");
        assert_eq!(ensure_trailing_slash(" kv "), "kv/");
        assert_eq!(ensure_trailing_slash("kv/"), "kv/");
        assert_eq!(ensure_trailing_slash(""), "");
    }
}
