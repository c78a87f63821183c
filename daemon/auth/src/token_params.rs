//! The `token_*` parameters every auth method shares (OpenBao's `tokenutil.TokenParams`): how
//! they are parsed from a request, shown on read, and turned into the [`Auth`] of a login.
//!
//! Also here: typed field readers with OpenBao's conversion error texts, the legacy-field
//! upgrade rule (`policies` → `token_policies`, ...), and policy-list helpers.
use crate::cidr;
use coffer_logical::{Auth, LogicalError, Request, Result, TokenType};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use std::net::IpAddr;
use std::time::Duration;

/// What a role or user asks its tokens to be. Durations are whole seconds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TokenParams {
    pub token_bound_cidrs: Vec<String>,
    pub token_explicit_max_ttl: u64,
    pub token_max_ttl: u64,
    pub token_no_default_policy: bool,
    pub token_num_uses: u32,
    pub token_period: u64,
    pub token_policies: Vec<String>,
    pub token_type: StoredTokenType,
    pub token_ttl: u64,
    /// Bind each issued token to the address the login came from.
    pub token_strictly_bind_ip: bool,
}

/// `token_type` as configured: `default` leaves the choice to the mount.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StoredTokenType {
    #[default]
    Default,
    Service,
    Batch,
}

impl StoredTokenType {
    pub fn as_str(&self) -> &'static str {
        match self {
            StoredTokenType::Default => "default",
            StoredTokenType::Service => "service",
            StoredTokenType::Batch => "batch",
        }
    }
}

impl TokenParams {
    /// Applies the `token_*` fields present in `req` (absent fields keep their value), with
    /// OpenBao's checks and messages. On error `self` may be partly updated: parse into a copy.
    pub fn parse(&mut self, req: &Request) -> Result<()> {
        if let Some(list) = field_string_list(req, "token_bound_cidrs")? {
            self.token_bound_cidrs = cidr::parse_addrs(&list).map_err(LogicalError::InvalidRequest)?;
        }
        if let Some(v) = field_duration(req, "token_explicit_max_ttl")? {
            self.token_explicit_max_ttl = v;
        }
        if let Some(v) = field_duration(req, "token_max_ttl")? {
            self.token_max_ttl = v;
        }
        if let Some(v) = field_bool(req, "token_no_default_policy")? {
            self.token_no_default_policy = v;
        }
        if let Some(v) = field_duration(req, "token_period")? {
            self.token_period = v;
        }
        if let Some(v) = field_string_list(req, "token_policies")? {
            self.token_policies = v;
        }
        if let Some(s) = field_string(req, "token_type")? {
            self.token_type = match s.as_str() {
                "" | "default" => StoredTokenType::Default,
                "service" => StoredTokenType::Service,
                "batch" => StoredTokenType::Batch,
                other => return Err(bad(format!("invalid 'token_type' value {other:?}"))),
            };
        }
        if let Some(n) = field_int(req, "token_num_uses")? {
            if n < 0 {
                return Err(bad("'token_num_uses' cannot be negative"));
            }
            self.token_num_uses = u32::try_from(n).map_err(|_| bad("'token_num_uses' is too large"))?;
        }
        if self.token_type == StoredTokenType::Batch {
            if self.token_period != 0 {
                return Err(bad(
                    "'token_type' cannot be 'batch' or 'default_batch' when set to generate periodic tokens",
                ));
            }
            if self.token_num_uses != 0 {
                return Err(bad(
                    "'token_type' cannot be 'batch' or 'default_batch' when set to generate tokens with limited use count",
                ));
            }
        }
        if let Some(v) = field_duration(req, "token_ttl")? {
            self.token_ttl = v;
        }
        if self.token_ttl > 0 && self.token_max_ttl > 0 && self.token_ttl > self.token_max_ttl {
            return Err(bad("'token_ttl' cannot be greater than 'token_max_ttl'"));
        }
        if let Some(v) = field_bool(req, "token_strictly_bind_ip")? {
            self.token_strictly_bind_ip = v;
        }
        if self.token_strictly_bind_ip && !self.token_bound_cidrs.is_empty() {
            return Err(bad("'token_strictly_bind_ip' conflicts with 'token_bound_cidrs'; set only one"));
        }
        Ok(())
    }

    /// Adds the `token_*` fields to a read response, as OpenBao shows them.
    pub fn populate(&self, data: &mut Map<String, Value>) {
        data.insert("token_bound_cidrs".into(), json!(self.token_bound_cidrs));
        data.insert("token_explicit_max_ttl".into(), json!(self.token_explicit_max_ttl));
        data.insert("token_max_ttl".into(), json!(self.token_max_ttl));
        data.insert("token_no_default_policy".into(), json!(self.token_no_default_policy));
        data.insert("token_num_uses".into(), json!(self.token_num_uses));
        data.insert("token_period".into(), json!(self.token_period));
        data.insert("token_policies".into(), json!(self.token_policies));
        data.insert("token_strictly_bind_ip".into(), json!(self.token_strictly_bind_ip));
        data.insert("token_ttl".into(), json!(self.token_ttl));
        data.insert("token_type".into(), json!(self.token_type.as_str()));
    }

    /// The token a login with these parameters asks the core for. `remote` is the caller's
    /// address, needed when `token_strictly_bind_ip` is set (refused without one).
    pub fn to_auth(&self, remote: Option<IpAddr>) -> Result<Auth> {
        let bound_cidrs = if self.token_strictly_bind_ip {
            match remote {
                Some(ip) => vec![ip.to_canonical().to_string()],
                None => return Err(LogicalError::PermissionDenied),
            }
        } else {
            self.token_bound_cidrs.clone()
        };
        Ok(Auth {
            policies: self.token_policies.clone(),
            ttl: Duration::from_secs(self.token_ttl),
            max_ttl: Duration::from_secs(self.token_max_ttl),
            explicit_max_ttl: Duration::from_secs(self.token_explicit_max_ttl),
            period: Duration::from_secs(self.token_period),
            renewable: true,
            num_uses: self.token_num_uses,
            token_type: match self.token_type {
                StoredTokenType::Batch => TokenType::Batch,
                StoredTokenType::Default | StoredTokenType::Service => TokenType::Service,
            },
            no_default_policy: self.token_no_default_policy,
            bound_cidrs,
            ..Default::default()
        })
    }
}

/// OpenBao's rule for a deprecated field and its `token_*` successor (`tokenutil.UpgradeValue`):
/// - only the old field given: both take its value;
/// - the new field given (already applied to `new`): the old one mirrors it if it was given
///   too, and is cleared otherwise.
pub fn upgrade<T: Clone + Default>(old_given: Option<T>, new_given: bool, old: &mut T, new: &mut T) {
    if !new_given {
        if let Some(v) = old_given {
            *old = v.clone();
            *new = v;
        }
    } else if old_given.is_some() {
        *old = new.clone();
    } else {
        *old = T::default();
    }
}

/// Legacy `policies` values (`policyutil.ParsePolicies`): trimmed, lower-cased, empty entries
/// dropped, sorted and deduplicated; `root` swallows every other policy.
pub fn parse_policies(list: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = list.into_iter().map(|p| p.trim().to_lowercase()).filter(|p| !p.is_empty()).collect();
    if out.iter().any(|p| p == "root") {
        return vec!["root".into()];
    }
    out.sort();
    out.dedup();
    out
}

/// Whether two policy sets grant the same (ignoring order, duplicates and `default`), as
/// `policyutil.EquivalentPolicies`.
pub fn equivalent_policies(a: &[String], b: &[String]) -> bool {
    let norm = |l: &[String]| {
        let mut v: Vec<String> =
            l.iter().map(|p| p.trim().to_lowercase()).filter(|p| !p.is_empty() && p != "default").collect();
        v.sort();
        v.dedup();
        v
    };
    norm(a) == norm(b)
}

pub(crate) fn bad(msg: impl Into<String>) -> LogicalError {
    LogicalError::InvalidRequest(msg.into())
}

pub(crate) fn internal(msg: impl Into<String>) -> LogicalError {
    LogicalError::Internal(msg.into())
}

fn present(req: &Request, name: &str) -> Option<Value> {
    req.get(name).filter(|v| !v.is_null())
}

/// A string field; numbers and booleans are taken as their text, as OpenBao's weak decoding.
pub fn field_string(req: &Request, name: &str) -> Result<Option<String>> {
    match present(req, name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(Value::Bool(b)) => Ok(Some(b.to_string())),
        Some(other) => Err(bad(format!(
            "error converting input for field {name:?}: '' expected type 'string', got unconvertible type '{}'",
            go_type(&other)
        ))),
    }
}

/// A comma-separated string or a JSON list; entries trimmed, empty ones dropped.
pub fn field_string_list(req: &Request, name: &str) -> Result<Option<Vec<String>>> {
    let split = |s: &str| s.split(',').map(|p| p.trim().to_string()).filter(|p| !p.is_empty()).collect::<Vec<_>>();
    match present(req, name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(split(&s))),
        Some(Value::Number(n)) => Ok(Some(vec![n.to_string()])),
        Some(Value::Array(items)) => {
            let mut out = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                match item {
                    Value::String(s) if s.trim().is_empty() => {}
                    Value::String(s) => out.push(s.trim().to_string()),
                    Value::Number(n) => out.push(n.to_string()),
                    Value::Bool(b) => out.push(b.to_string()),
                    other => {
                        return Err(bad(format!(
                            "error converting input for field {name:?}: 1 error(s) decoding:\n\n* '[{i}]' expected type 'string', got unconvertible type '{}'",
                            go_type(other)
                        )))
                    }
                }
            }
            Ok(Some(out))
        }
        Some(other) => Err(bad(format!(
            "error converting input for field {name:?}: '' expected type 'string', got unconvertible type '{}'",
            go_type(&other)
        ))),
    }
}

/// A boolean: JSON bool, or a string Go's `strconv.ParseBool` accepts.
pub fn field_bool(req: &Request, name: &str) -> Result<Option<bool>> {
    let invalid = || {
        bad(format!("error converting input for field {name:?}: '' cannot parse value as 'bool': strconv.ParseBool: invalid syntax"))
    };
    match present(req, name) {
        None => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(b)),
        Some(Value::String(s)) => match s.as_str() {
            "1" | "t" | "T" | "true" | "TRUE" | "True" => Ok(Some(true)),
            "0" | "f" | "F" | "false" | "FALSE" | "False" => Ok(Some(false)),
            _ => Err(invalid()),
        },
        Some(Value::Number(n)) => Ok(Some(n.as_f64().is_some_and(|f| f != 0.0))),
        Some(_) => Err(invalid()),
    }
}

/// An integer: JSON number without a fraction, or a decimal string.
pub fn field_int(req: &Request, name: &str) -> Result<Option<i64>> {
    let invalid = || {
        bad(format!("error converting input for field {name:?}: '' cannot parse value as 'int': strconv.ParseInt: invalid syntax"))
    };
    match present(req, name) {
        None => Ok(None),
        Some(Value::Number(n)) => match n.as_i64() {
            Some(i) => Ok(Some(i)),
            None => {
                n.as_f64().filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15).map(|f| Some(f as i64)).ok_or_else(invalid)
            }
        },
        Some(Value::String(s)) if s.trim().is_empty() => Ok(Some(0)),
        Some(Value::String(s)) => s.trim().parse().map(Some).map_err(|_| invalid()),
        Some(_) => Err(invalid()),
    }
}

/// A duration in whole seconds (`TypeDurationSecond`): seconds as a number or string, or a Go
/// duration string ("90s", "1h30m", OpenBao's "7d").
pub fn field_duration(req: &Request, name: &str) -> Result<Option<u64>> {
    let conv = |detail: String| bad(format!("error converting input for field {name:?}: {detail}"));
    match present(req, name) {
        None => Ok(None),
        Some(Value::Number(n)) => {
            if let Some(i) = n.as_i64() {
                if i < 0 {
                    return Err(conv(format!("cannot provide negative value '{i}'")));
                }
                return Ok(Some(i as u64));
            }
            if let Some(u) = n.as_u64() {
                return Ok(Some(u));
            }
            Err(conv(format!("time: missing unit in duration \"{n}\"")))
        }
        Some(Value::String(s)) => {
            let s = s.trim();
            if s.is_empty() {
                return Ok(Some(0));
            }
            if let Ok(i) = s.parse::<i64>() {
                if i < 0 {
                    return Err(conv(format!("cannot provide negative value '{i}'")));
                }
                return Ok(Some(i as u64));
            }
            if s.starts_with('-') {
                return Err(conv(format!("cannot provide negative value '{s}'")));
            }
            match coffer_logical::params::parse_duration(s) {
                Ok(d) => Ok(Some(d.as_secs())),
                Err(_) => Err(conv(format!("time: invalid duration {s:?}"))),
            }
        }
        Some(other) => Err(conv(format!("'' expected type 'int64', got unconvertible type '{}'", go_type(&other)))),
    }
}

fn go_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "<nil>",
        Value::Bool(_) => "bool",
        Value::Number(_) => "float64",
        Value::String(_) => "string",
        Value::Array(_) => "[]interface {}",
        Value::Object(_) => "map[string]interface {}",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use coffer_logical::Operation;

    fn req(body: Value) -> Request {
        let mut r = Request::new(Operation::Update, "x");
        if let Value::Object(m) = body {
            r.data = m;
        }
        r
    }

    fn parse(body: Value) -> std::result::Result<TokenParams, String> {
        let mut p = TokenParams::default();
        p.parse(&req(body)).map(|_| p).map_err(|e| e.to_string())
    }

    /// Every token_* field parses from OpenBao's accepted forms and reads back in its shape.
    #[test]
    fn token_fields_parse_and_read_back() {
        let p = parse(json!({
            "token_policies": "a, b", "token_ttl": "1h", "token_max_ttl": 7200, "token_period": "0",
            "token_explicit_max_ttl": "3h", "token_num_uses": "3", "token_no_default_policy": "true",
            "token_type": "service", "token_bound_cidrs": ["10.0.0.0/8", "127.0.0.1/32"]
        }))
        .unwrap_or_default();
        let mut data = Map::new();
        p.populate(&mut data);
        assert_eq!(
            Value::Object(data),
            json!({
                "token_bound_cidrs": ["10.0.0.0/8", "127.0.0.1"], "token_explicit_max_ttl": 10800,
                "token_max_ttl": 7200, "token_no_default_policy": true, "token_num_uses": 3,
                "token_period": 0, "token_policies": ["a", "b"], "token_strictly_bind_ip": false,
                "token_ttl": 3600, "token_type": "service"
            })
        );
    }

    /// Invalid combinations are refused with OpenBao's messages.
    #[test]
    fn token_field_errors_match_openbao() {
        assert_eq!(
            parse(json!({"token_type": "bogus"})).err().as_deref(),
            Some("invalid 'token_type' value \"bogus\"")
        );
        assert_eq!(
            parse(json!({"token_type": "batch", "token_period": "1h"})).err().as_deref(),
            Some("'token_type' cannot be 'batch' or 'default_batch' when set to generate periodic tokens")
        );
        assert_eq!(
            parse(json!({"token_ttl": "2h", "token_max_ttl": "1h"})).err().as_deref(),
            Some("'token_ttl' cannot be greater than 'token_max_ttl'")
        );
        assert_eq!(
            parse(json!({"token_ttl": "-2"})).err().as_deref(),
            Some("error converting input for field \"token_ttl\": cannot provide negative value '-2'")
        );
        assert_eq!(
            parse(json!({"token_ttl": "abc"})).err().as_deref(),
            Some("error converting input for field \"token_ttl\": time: invalid duration \"abc\"")
        );
        assert_eq!(parse(json!({"token_num_uses": -1})).err().as_deref(), Some("'token_num_uses' cannot be negative"));
        assert_eq!(
            parse(json!({"token_strictly_bind_ip": true, "token_bound_cidrs": "10.0.0.0/8"})).err().as_deref(),
            Some("'token_strictly_bind_ip' conflicts with 'token_bound_cidrs'; set only one")
        );
    }

    /// Strict IP binding pins the token to the login's address and refuses logins without one.
    #[test]
    fn strictly_bind_ip_binds_to_the_caller() {
        let p = TokenParams { token_strictly_bind_ip: true, ..Default::default() };
        let ip: IpAddr = [192, 0, 2, 7].into();
        assert_eq!(p.to_auth(Some(ip)).map(|a| a.bound_cidrs).ok(), Some(vec!["192.0.2.7".to_string()]));
        assert!(matches!(p.to_auth(None), Err(LogicalError::PermissionDenied)));
    }

    /// The legacy-field rule copies old to new, and clears old when only new is given.
    #[test]
    fn upgrade_follows_tokenutil() {
        let (mut old, mut new) = (vec![], vec![]);
        upgrade(Some(vec!["x".to_string()]), false, &mut old, &mut new);
        assert_eq!((old.clone(), new.clone()), (vec!["x".to_string()], vec!["x".to_string()]));
        new = vec!["y".to_string()];
        upgrade(None, true, &mut old, &mut new);
        assert!(old.is_empty());
        assert_eq!(parse_policies(vec!["B".into(), " a".into(), "b".into(), "".into()]), vec!["a", "b"]);
        assert!(equivalent_policies(&["a".into(), "default".into()], &["a".into()]));
        assert!(!equivalent_policies(&["a".into()], &["b".into()]));
    }
}
