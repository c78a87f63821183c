//! Password policies: `sys/policies/password/:name` (HCL: `length` and `rule "charset"` blocks)
//! and `…/generate`. Characters are drawn uniformly from the union of the rules' charsets with an
//! unbiased generator (rejection sampling in `gen_range`); a candidate that misses a rule's
//! `min-chars` is thrown away and drawn again, as OpenBao does.
use super::error::{CoreError, Result};
use coffer_logical::{obj, params, Operation, Response};
use coffer_storage::barrier::Barrier;
use rand::Rng;
use serde_json::json;

const PREFIX: &str = "sys/password_policy/";
/// Used by `sys/policies/password/default/generate` when no policy named "default" is stored.
pub const DEFAULT_POLICY: &str = "length = 20\nrule \"charset\" {\n  charset = \"abcdefghijklmnopqrstuvwxyz\"\n  min-chars = 1\n}\nrule \"charset\" {\n  charset = \"ABCDEFGHIJKLMNOPQRSTUVWXYZ\"\n  min-chars = 1\n}\nrule \"charset\" {\n  charset = \"0123456789\"\n  min-chars = 1\n}\nrule \"charset\" {\n  charset = \"-\"\n  min-chars = 1\n}\n";
const MAX_LENGTH: usize = 4096;
const MAX_ATTEMPTS: usize = 10_000;

#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub charset: Vec<char>,
    pub min_chars: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PasswordPolicy {
    pub length: usize,
    pub rules: Vec<Rule>,
    /// The union of the rules' charsets, each character once.
    alphabet: Vec<char>,
}

fn multi(msg: &str) -> CoreError {
    CoreError::InvalidRequest(format!("1 error occurred:\n\t* {msg}\n\n"))
}

fn invalid(msg: &str) -> CoreError {
    multi(&format!("invalid password policy: 1 error occurred:\n\t* {msg}\n\n"))
}

impl PasswordPolicy {
    pub fn parse(text: &str) -> Result<Self> {
        let body: hcl::Body =
            hcl::from_str(text).map_err(|e| multi(&format!("invalid password policy: unable to decode: {e}")))?;
        let mut length = None;
        let mut rules = Vec::new();
        for attr in body.attributes() {
            match attr.key() {
                "length" => {
                    let n = match attr.expr() {
                        hcl::Expression::Number(n) => n.as_u64(),
                        _ => None,
                    };
                    length = Some(n.ok_or_else(|| invalid("length must be a positive integer"))? as usize);
                }
                other => return Err(invalid(&format!("unrecognized field {other:?}"))),
            }
        }
        for block in body.blocks() {
            if block.identifier() != "rule" {
                return Err(invalid(&format!("unrecognized block {:?}", block.identifier())));
            }
            let kind = block.labels().first().map(|l| l.as_str()).unwrap_or("");
            if kind != "charset" {
                return Err(invalid(&format!("unrecognized rule type {kind:?}")));
            }
            let mut charset = None;
            let mut min_chars = 0usize;
            for attr in block.body().attributes() {
                match (attr.key(), attr.expr()) {
                    ("charset", hcl::Expression::String(s)) => charset = Some(s.clone()),
                    ("min-chars", hcl::Expression::Number(n)) => {
                        min_chars =
                            n.as_u64().ok_or_else(|| invalid("min-chars must be a non-negative integer"))? as usize
                    }
                    (k, _) => return Err(invalid(&format!("invalid field {k:?} in charset rule"))),
                }
            }
            let charset: Vec<char> = charset.ok_or_else(|| invalid("charset rule needs a charset"))?.chars().collect();
            if charset.is_empty() {
                return Err(invalid("charset rule has an empty charset"));
            }
            rules.push(Rule { charset, min_chars });
        }
        let length = length.ok_or_else(|| invalid("length must be specified"))?;
        if length == 0 || length > MAX_LENGTH {
            return Err(invalid(&format!("length must be between 1 and {MAX_LENGTH}")));
        }
        if rules.is_empty() {
            return Err(invalid("no charset specified"));
        }
        let required: usize = rules.iter().map(|r| r.min_chars).sum();
        if required > length {
            return Err(invalid(&format!(
                "specified rules require at least {required} characters but {length} is specified"
            )));
        }
        let mut alphabet: Vec<char> = rules.iter().flat_map(|r| r.charset.iter().copied()).collect();
        alphabet.sort_unstable();
        alphabet.dedup();
        Ok(PasswordPolicy { length, rules, alphabet })
    }

    fn satisfied(&self, candidate: &[char]) -> bool {
        self.rules.iter().all(|r| candidate.iter().filter(|c| r.charset.contains(c)).count() >= r.min_chars)
    }

    pub fn generate(&self, rng: &mut impl Rng) -> Result<String> {
        for _ in 0..MAX_ATTEMPTS {
            let candidate: Vec<char> =
                (0..self.length).map(|_| self.alphabet[rng.gen_range(0..self.alphabet.len())]).collect();
            if self.satisfied(&candidate) {
                return Ok(candidate.into_iter().collect());
            }
        }
        Err(CoreError::Internal("unable to generate a password that satisfies the policy".into()))
    }
}

/// `rest` is the path after "sys/policies/password".
pub async fn handle(
    barrier: &Barrier,
    rest: &str,
    op: Operation,
    body: &serde_json::Map<String, serde_json::Value>,
) -> Result<Response> {
    let rest = rest.trim_matches('/');
    if rest.is_empty() {
        return match op {
            Operation::List | Operation::Read => {
                let keys = barrier.list(PREFIX).await?;
                if keys.is_empty() {
                    return Err(CoreError::NotFound);
                }
                Ok(Response::data(obj([("keys", json!(keys))])))
            }
            _ => Err(CoreError::UnsupportedOperation),
        };
    }
    if let Some(name) = rest.strip_suffix("/generate") {
        if op != Operation::Read {
            return Err(CoreError::UnsupportedOperation);
        }
        let text = match barrier.get(&format!("{PREFIX}{name}")).await? {
            Some(raw) => {
                String::from_utf8(raw).map_err(|_| CoreError::Internal("stored policy is not UTF-8".into()))?
            }
            None if name == "default" => DEFAULT_POLICY.to_string(),
            None => return Err(multi("policy does not exist")),
        };
        let policy = PasswordPolicy::parse(&text)?;
        let password = policy.generate(&mut rand::rngs::OsRng)?;
        return Ok(Response::data(obj([("password", json!(password))])));
    }
    let name = rest;
    if name.contains('/') {
        return Err(CoreError::UnsupportedPath);
    }
    match op {
        Operation::Read => {
            let raw = barrier.get(&format!("{PREFIX}{name}")).await?.ok_or_else(|| multi("policy does not exist"))?;
            Ok(Response::data(obj([("policy", json!(String::from_utf8_lossy(&raw)))])))
        }
        Operation::Create | Operation::Update => {
            let text = params::string(body.get("policy"), "policy")?.unwrap_or_default();
            if text.trim().is_empty() {
                return Err(multi("missing policy"));
            }
            let text = decode_base64(&text);
            let policy = PasswordPolicy::parse(&text)?;
            // Like OpenBao, refuse a policy that cannot produce a password in reasonable time.
            policy.generate(&mut rand::rngs::OsRng)?;
            barrier.put(&format!("{PREFIX}{name}"), text.as_bytes()).await?;
            Ok(Response::no_content())
        }
        Operation::Delete => {
            barrier.delete(&format!("{PREFIX}{name}")).await?;
            Ok(Response::no_content())
        }
        _ => Err(CoreError::UnsupportedOperation),
    }
}

fn decode_base64(text: &str) -> String {
    use base64::Engine;
    match base64::engine::general_purpose::STANDARD.decode(text.trim()) {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(s) if s.contains("length") => s,
            _ => text.to_string(),
        },
        Err(_) => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    /// Every generated password has the policy's length and satisfies every rule's minimum.
    #[test]
    fn generated_passwords_satisfy_the_rules() {
        let p = PasswordPolicy::parse(
            "length = 12\nrule \"charset\" {\n charset = \"abc\"\n min-chars = 2\n}\nrule \"charset\" {\n charset = \"0123456789\"\n min-chars = 1\n}",
        )
        .expect("valid");
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        for _ in 0..200 {
            let pw = p.generate(&mut rng).expect("generate");
            assert_eq!(pw.chars().count(), 12);
            assert!(pw.chars().filter(|c| "abc".contains(*c)).count() >= 2, "{pw}");
            assert!(pw.chars().any(|c| c.is_ascii_digit()), "{pw}");
            assert!(pw.chars().all(|c| "abc0123456789".contains(c)), "{pw}");
        }
    }

    /// Characters are drawn uniformly: over many draws every character of a 4-letter alphabet
    /// appears close to a quarter of the time (chi-square well under the 0.1% critical value).
    #[test]
    fn choice_is_unbiased() {
        let p = PasswordPolicy::parse("length = 100\nrule \"charset\" {\n charset = \"abcd\"\n}").expect("valid");
        let mut rng = rand::rngs::StdRng::seed_from_u64(42);
        let mut counts = [0u64; 4];
        for _ in 0..400 {
            for c in p.generate(&mut rng).expect("generate").chars() {
                counts[(c as u8 - b'a') as usize] += 1;
            }
        }
        let expected = 40_000.0 / 4.0;
        let chi2: f64 = counts.iter().map(|&c| (c as f64 - expected).powi(2) / expected).sum();
        assert!(chi2 < 16.27, "chi-square {chi2} for {counts:?}");
    }

    /// Invalid policies are refused with OpenBao's texts.
    #[test]
    fn invalid_policies_are_refused() {
        let e = PasswordPolicy::parse("length = 2\nrule \"charset\" {\n charset = \"abc\"\n min-chars = 3\n}")
            .expect_err("invalid");
        assert!(e.to_string().contains("specified rules require at least 3 characters but 2 is specified"), "{e}");
        let e = PasswordPolicy::parse("length = 10").expect_err("invalid");
        assert!(e.to_string().contains("no charset specified"), "{e}");
        assert!(PasswordPolicy::parse("garbage {").is_err());
        assert!(PasswordPolicy::parse(DEFAULT_POLICY).is_ok());
    }
}
