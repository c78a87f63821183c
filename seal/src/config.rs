//! The seal configuration OpenBao keeps at `core/seal-config`: which seal, how many shares,
//! how many of them unseal.
use crate::error::{Result, SealError};
use serde::{Deserialize, Serialize};

/// Seal type of the Shamir seal, as OpenBao names it in `sys/seal-status`.
pub const SHAMIR: &str = "shamir";

/// A checked seal configuration: `1 <= secret_threshold <= secret_shares <= 255`, and a
/// threshold of at least 2 whenever there is more than one share. Build it with
/// [`SealConfig::shamir`] or [`SealConfig::from_json`]; both check.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SealConfig {
    #[serde(rename = "type")]
    pub seal_type: String,
    pub secret_shares: u8,
    pub secret_threshold: u8,
}

/// OpenBao's checks, in OpenBao's order (so the first failing rule gives the same message).
fn check(shares: i64, threshold: i64) -> Result<(u8, u8)> {
    let bad = |m: &str| Err(SealError::InvalidConfig(m.to_owned()));
    if shares < 1 {
        return bad("shares must be at least one");
    }
    if threshold < 1 {
        return bad("threshold must be at least one");
    }
    if shares > 1 && threshold == 1 {
        return bad("threshold must be greater than one for multiple shares");
    }
    let Ok(shares) = u8::try_from(shares) else {
        return bad("shares must be less than 256");
    };
    let Ok(threshold) = u8::try_from(threshold) else {
        return bad("threshold must be less than 256");
    };
    if threshold > shares {
        return bad("threshold cannot be larger than shares");
    }
    Ok((shares, threshold))
}

impl SealConfig {
    /// Checked construction from the numbers of an init (or rekey) request. Errors display as
    /// OpenBao's, e.g. "invalid seal configuration: threshold cannot be larger than shares".
    pub fn shamir(secret_shares: i64, secret_threshold: i64) -> Result<Self> {
        let (secret_shares, secret_threshold) = check(secret_shares, secret_threshold)?;
        Ok(SealConfig { seal_type: SHAMIR.to_owned(), secret_shares, secret_threshold })
    }

    /// Checks a configuration built by hand (its fields are public) with the same rules.
    pub fn validate(&self) -> Result<()> {
        if self.seal_type.is_empty() {
            return Err(SealError::InvalidConfig("seal type must not be empty".to_owned()));
        }
        check(i64::from(self.secret_shares), i64::from(self.secret_threshold)).map(|_| ())
    }

    /// The stored form: `{"type":"shamir","secret_shares":3,"secret_threshold":2}`.
    pub fn to_json(&self) -> Vec<u8> {
        // Serializing a struct of a String and two integers cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Parses and checks the stored form. Unknown fields are ignored, so OpenBao's own
    /// `core/seal-config` (with `pgp_keys`, `nonce`, `backup`, ...) is read too.
    pub fn from_json(b: &[u8]) -> Result<Self> {
        let cfg: SealConfig = serde_json::from_slice(b)
            .map_err(|e| SealError::InvalidConfig(format!("failed to decode seal configuration: {e}")))?;
        cfg.validate()?;
        Ok(cfg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(shares: i64, threshold: i64) -> String {
        match SealConfig::shamir(shares, threshold) {
            Ok(c) => panic!("({shares}, {threshold}) accepted: {c:?}"),
            Err(e) => e.to_string(),
        }
    }

    /// Every rejection reads exactly as OpenBao 2.7.2 answers PUT sys/init with the same
    /// numbers (observed on a real server; the (1, 2) case is the captured fixture).
    #[test]
    fn rejections_read_as_openbao() {
        let p = "invalid seal configuration: ";
        let cases: &[(i64, i64, &str)] = &[
            (0, 0, "shares must be at least one"),
            (0, 1, "shares must be at least one"),
            (-1, 1, "shares must be at least one"),
            (1, 0, "threshold must be at least one"),
            (256, 0, "threshold must be at least one"),
            (3, 1, "threshold must be greater than one for multiple shares"),
            (300, 1, "threshold must be greater than one for multiple shares"),
            (256, 2, "shares must be less than 256"),
            (300, 300, "shares must be less than 256"),
            (255, 256, "threshold must be less than 256"),
            (5, 300, "threshold must be less than 256"),
            (2, 3, "threshold cannot be larger than shares"),
            (1, 2, "threshold cannot be larger than shares"),
        ];
        for &(s, t, want) in cases {
            assert_eq!(msg(s, t), format!("{p}{want}"), "shares={s} threshold={t}");
        }
    }

    /// The fixture sys-init-error-bad-threshold.json, compared with the captured body.
    #[test]
    fn fixture_bad_threshold() {
        let fixture = include_str!("../testdata/openbao-2.7.2/sys-init-error-bad-threshold.json");
        let v: serde_json::Value = serde_json::from_str(fixture).expect("fixture is JSON");
        let req = &v["request"]["body"];
        let (s, t) =
            (req["secret_shares"].as_i64().expect("shares"), req["secret_threshold"].as_i64().expect("threshold"));
        assert_eq!(msg(s, t), v["response"]["body"]["errors"][0].as_str().expect("error text"));
    }

    /// The whole valid range is accepted, boundaries included.
    #[test]
    fn accepts_valid_range() {
        for (s, t) in [(1, 1), (2, 2), (3, 2), (5, 3), (255, 2), (255, 255)] {
            let c = SealConfig::shamir(s, t).expect("valid");
            assert_eq!((i64::from(c.secret_shares), i64::from(c.secret_threshold)), (s, t));
            assert_eq!(c.seal_type, "shamir");
        }
    }

    /// The stored form round-trips, and OpenBao's own stored seal config parses.
    #[test]
    fn json_round_trip_and_openbao_form() {
        let c = SealConfig::shamir(3, 2).expect("valid");
        let j = c.to_json();
        assert_eq!(
            String::from_utf8(j.clone()).expect("utf8"),
            r#"{"type":"shamir","secret_shares":3,"secret_threshold":2}"#
        );
        assert_eq!(SealConfig::from_json(&j).expect("parse"), c);
        let openbao =
            br#"{"type":"shamir","secret_shares":1,"secret_threshold":1,"pgp_keys":null,"nonce":"","backup":false}"#;
        assert_eq!(SealConfig::from_json(openbao).expect("parse"), SealConfig::shamir(1, 1).expect("valid"));
    }

    /// A stored config that breaks the rules (or is not JSON) is refused, not trusted.
    #[test]
    fn from_json_checks() {
        for bad in [
            &br#"{"type":"shamir","secret_shares":2,"secret_threshold":3}"#[..],
            br#"{"type":"shamir","secret_shares":3,"secret_threshold":1}"#,
            br#"{"type":"shamir","secret_shares":0,"secret_threshold":0}"#,
            br#"{"type":"shamir","secret_shares":300,"secret_threshold":2}"#,
            br#"{"type":"","secret_shares":1,"secret_threshold":1}"#,
            br#"{"secret_shares":1,"secret_threshold":1}"#,
            b"not json",
            b"",
        ] {
            let e = SealConfig::from_json(bad).expect_err("must be refused");
            assert!(matches!(e, SealError::InvalidConfig(_)), "{e:?}");
        }
    }
}
