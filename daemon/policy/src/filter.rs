//! `list_scan_response_keys_filter_path`: a Go text/template naming, for each key a list or scan
//! returns, the path whose `read` access decides whether the caller may see that key.
//!
//! The subset understood here is what such paths use: literal text and the actions
//! `{{ .path }}` and `{{ .key }}` (with `{{-`/`-}}` trimming). Any other field renders as Go
//! renders a missing map key, `<no value>`; functions and pipelines are refused.

/// A compiled filter path template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterTemplate {
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Path,
    Key,
    Missing,
}

const PREFIX: &str = "unable to parse template: template: template:1: ";

impl FilterTemplate {
    /// Compiles the template; errors carry Go's wording.
    pub fn compile(src: &str) -> Result<FilterTemplate, String> {
        let mut parts = Vec::new();
        let mut rest = src;
        let mut pending_trim = false;
        while let Some(open) = rest.find("{{") {
            let mut text = &rest[..open];
            if pending_trim {
                text = text.trim_start();
            }
            let mut action = &rest[open + 2..];
            let trim_left = action.starts_with("- ") || action.starts_with("-\t") || action.starts_with("-\n");
            if trim_left {
                text = text.trim_end();
                action = &action[1..];
            }
            if !text.is_empty() {
                parts.push(Part::Text(text.to_string()));
            }
            let Some(close) = action.find("}}") else {
                return Err(format!("{PREFIX}unclosed action"));
            };
            let mut body = &action[..close];
            pending_trim = false;
            if body.ends_with(" -") || body.ends_with("\t-") || body.ends_with("\n-") {
                body = &body[..body.len() - 1];
                pending_trim = true;
            }
            let body = body.trim();
            let part = match body {
                ".path" => Part::Path,
                ".key" => Part::Key,
                "" => return Err(format!("{PREFIX}missing value for command")),
                b if b.starts_with('.')
                    && b.len() > 1
                    && b[1..].chars().all(|c| c.is_alphanumeric() || c == '_' || c == '.') =>
                {
                    Part::Missing
                }
                b => {
                    let word = b.split_whitespace().next().unwrap_or(b);
                    return Err(format!("{PREFIX}function \"{word}\" not defined"));
                }
            };
            parts.push(part);
            rest = &action[close + 2..];
        }
        let text = if pending_trim { rest.trim_start() } else { rest };
        if !text.is_empty() {
            parts.push(Part::Text(text.to_string()));
        }
        Ok(FilterTemplate { parts })
    }

    /// Whether rendering depends on the key (OpenBao refuses templates that do not).
    pub fn uses_key(&self) -> bool {
        self.parts.contains(&Part::Key)
    }

    /// The path to check for one listed `key` under the listed `path`.
    pub fn render(&self, path: &str, key: &str) -> String {
        let mut out = String::new();
        for p in &self.parts {
            match p {
                Part::Text(t) => out.push_str(t),
                Part::Path => out.push_str(path),
                Part::Key => out.push_str(key),
                Part::Missing => out.push_str("<no value>"),
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `.path` and `.key` are substituted, other fields render as Go's `<no value>`.
    #[test]
    fn renders_path_and_key() {
        let t = FilterTemplate::compile("{{ .path }}/data/{{- .key }}").unwrap_or_else(|e| panic!("{e}"));
        assert!(t.uses_key());
        assert_eq!(t.render("secret/metadata/", "foo"), "secret/metadata//data/foo");
        let t = FilterTemplate::compile("{{ .path }}/{{ .nonexist }}").unwrap_or_else(|e| panic!("{e}"));
        assert!(!t.uses_key());
    }

    /// An action left open is refused with Go's text/template message.
    #[test]
    fn unclosed_action() {
        assert_eq!(
            FilterTemplate::compile("{{ .bogus"),
            Err("unable to parse template: template: template:1: unclosed action".to_string())
        );
    }
}
