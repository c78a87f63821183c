//! Tamper evidence beyond OpenBao: every line a device writes ends with a link to the line
//! before it.
//!
//! A line is the OpenBao entry (with its prefix) whose closing brace is preceded by one more
//! top-level member, always the last one:
//!
//! ```text
//! <prefix>{"time":…,"type":…,…,"coffer_chain":{"seq":7,"prev":"<64 hex>","hmac":"<64 hex>"}}
//! ```
//!
//! * `seq` counts the device's lines from 1 and continues across restarts and file rotation.
//! * `prev` is the SHA-256 of the previous line (all its bytes but the newline); 64 zeros before
//!   the first line.
//! * `hmac` is HMAC-SHA256 under the device's chain key (derived from its salt) of a domain tag,
//!   `seq`, `prev` and the line's bytes up to `,"coffer_chain"`: without the salt nobody can
//!   write a line that verifies, so an edit is pinned to the edited line itself.
//!
//! JSON parsers that know OpenBao's format ignore the unknown member. Without the key,
//! [`verify`] checks `seq` and `prev` only: it finds deletions, reordering, replayed lines and
//! edits of any line but the last one; with the key ([`verify_with`]) it also pins edits and
//! forged lines to their line number.

use std::io::BufRead;

use sha2::{Digest, Sha256};

use crate::error::AuditError;
use crate::salt::Salt;

const MEMBER: &[u8] = b",\"coffer_chain\":{\"seq\":";
const MAC_DOMAIN: &[u8] = b"coffer-audit-chain-v1";
const KEY_DOMAIN: &[u8] = b"coffer-audit-chain-key-v1";

/// Where a device's chain stands: the sequence number of its last line and that line's SHA-256.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChainHead {
    pub seq: u64,
    pub hash: [u8; 32],
}

impl ChainHead {
    /// Before the first line.
    pub const GENESIS: ChainHead = ChainHead { seq: 0, hash: [0; 32] };

    pub fn hash_hex(&self) -> String {
        hex::encode(self.hash)
    }
}

impl std::fmt::Display for ChainHead {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "seq {} sha256 {}", self.seq, self.hash_hex())
    }
}

/// The key that authenticates a device's chain: HMAC-SHA256(salt, domain tag), so knowing it
/// reveals nothing about the salt that HMACs the entries' values.
pub struct ChainKey(Salt);

impl ChainKey {
    pub fn from_salt(salt: &Salt) -> Self {
        ChainKey(Salt::new(salt.raw_hmac(KEY_DOMAIN).to_vec()))
    }

    fn mac(&self, seq: u64, prev: &[u8; 32], content: &[u8]) -> [u8; 32] {
        self.0.raw_hmac_parts(&[MAC_DOMAIN, &seq.to_be_bytes(), prev, content])
    }
}

impl std::fmt::Debug for ChainKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ChainKey(<redacted>)")
    }
}

pub(crate) fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// Appends the link to an entry (prefix + JSON object) and returns the line (no newline) and
/// the new head.
pub(crate) fn link(entry: &[u8], head: &ChainHead, key: &ChainKey) -> (Vec<u8>, ChainHead) {
    // The entry is a JSON object; drop its closing brace to add the last member.
    let content = match entry.last() {
        Some(b'}') => &entry[..entry.len() - 1],
        _ => entry,
    };
    let seq = head.seq + 1;
    let mac = key.mac(seq, &head.hash, content);
    let mut line = Vec::with_capacity(content.len() + 200);
    line.extend_from_slice(content);
    if content.last() != Some(&b'{') {
        line.extend_from_slice(MEMBER);
    } else {
        line.extend_from_slice(&MEMBER[1..]);
    }
    line.extend_from_slice(seq.to_string().as_bytes());
    line.extend_from_slice(b",\"prev\":\"");
    line.extend_from_slice(hex::encode(head.hash).as_bytes());
    line.extend_from_slice(b"\",\"hmac\":\"");
    line.extend_from_slice(hex::encode(mac).as_bytes());
    line.extend_from_slice(b"\"}}");
    let hash = sha256(&line);
    (line, ChainHead { seq, hash })
}

/// A parsed link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Link {
    pub seq: u64,
    pub prev: [u8; 32],
    pub mac: [u8; 32],
    /// Length of the authenticated part (everything before the chain member).
    pub content_len: usize,
}

/// Parses the chain member at the very end of a line (without newline). Strict: the member must
/// be exactly what [`link`] writes.
pub(crate) fn parse_link(line: &[u8]) -> Option<Link> {
    // The last occurrence is ours: `"` cannot occur unescaped inside a JSON string, and a data key
    // named coffer_chain would come earlier in the line.
    let pos = rfind(line, &MEMBER[1..])?;
    let content_len = if pos > 0 && line[pos - 1] == b',' { pos - 1 } else { pos };
    let rest = &line[pos + MEMBER.len() - 1..];
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    if digits == 0 || digits > 20 || (digits > 1 && rest[0] == b'0') {
        return None;
    }
    let seq: u64 = std::str::from_utf8(&rest[..digits]).ok()?.parse().ok()?;
    let rest = rest[digits..].strip_prefix(b",\"prev\":\"")?;
    let prev = parse_hex32(rest.get(..64)?)?;
    let rest = rest[64..].strip_prefix(b"\",\"hmac\":\"")?;
    let mac = parse_hex32(rest.get(..64)?)?;
    if &rest[64..] != b"\"}}" || seq == 0 {
        return None;
    }
    Some(Link { seq, prev, mac, content_len })
}

/// The OpenBao entry inside a chained line (the line without its `coffer_chain` member), or
/// `None` when the line carries no valid link.
pub fn strip_link(line: &[u8]) -> Option<Vec<u8>> {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    let link = parse_link(line)?;
    let mut out = line[..link.content_len].to_vec();
    out.push(b'}');
    Some(out)
}

fn parse_hex32(s: &[u8]) -> Option<[u8; 32]> {
    if s.iter().any(|b| !matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return None;
    }
    let mut out = [0u8; 32];
    hex::decode_to_slice(s, &mut out).ok()?;
    Some(out)
}

fn rfind(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.len() > hay.len() {
        return None;
    }
    (0..=hay.len() - needle.len()).rev().find(|&i| &hay[i..i + needle.len()] == needle)
}

/// The head a device continues from, given the last line of its log (`None`: empty log). A last
/// line without a valid link (a foreign or damaged line) restarts the numbering at 1 but still
/// links to it.
pub(crate) fn head_after(last_line: Option<&[u8]>) -> ChainHead {
    match last_line {
        None => ChainHead::GENESIS,
        Some(line) => ChainHead { seq: parse_link(line).map(|l| l.seq).unwrap_or(0), hash: sha256(line) },
    }
}

/// What [`verify_with`] checks beyond the links between lines.
#[derive(Default)]
pub struct VerifyOptions<'a> {
    /// The device's chain key: check every line's HMAC (pins edits and forgeries to their line).
    pub key: Option<&'a ChainKey>,
    /// The head the device reported (e.g. kept by the daemon): a log that ends earlier was
    /// truncated.
    pub expected_head: Option<ChainHead>,
}

/// The outcome of a verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    /// Lines read.
    pub lines: u64,
    /// `seq` of the first line. Not 1 when the file continues a rotated one: verify the files
    /// concatenated, oldest first, to check across the rotation.
    pub first_seq: Option<u64>,
    /// Whether the first line is the start of a chain (seq 1 after the zero hash).
    pub starts_at_genesis: bool,
    /// Head after the last line.
    pub last: Option<ChainHead>,
    /// Places where the device restarted numbering at 1, linked to the line before (a log that
    /// had a foreign or damaged last line when the device started).
    pub restarts: u64,
    /// Whether line HMACs were checked.
    pub macs_checked: bool,
    /// The first problem found; `None` means intact.
    pub finding: Option<Finding>,
}

impl VerifyReport {
    pub fn is_intact(&self) -> bool {
        self.finding.is_none()
    }
}

/// One line for `coffer audit verify`: the finding, or what was checked.
impl std::fmt::Display for VerifyReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(finding) = &self.finding {
            return write!(f, "TAMPERED: {finding}");
        }
        match (self.first_seq, self.last) {
            (Some(first), Some(last)) => {
                write!(f, "intact: {} lines, seq {first}..{}", self.lines, last.seq)?;
                if !self.starts_at_genesis {
                    write!(f, " (continues an earlier file: verify the rotated files together, oldest first)")?;
                }
                if self.restarts > 0 {
                    write!(f, ", {} linked restart(s)", self.restarts)?;
                }
                if self.macs_checked {
                    write!(f, ", HMACs verified")
                } else {
                    write!(f, ", links verified (HMACs not checked: no key)")
                }
            }
            _ => write!(f, "intact: empty log"),
        }
    }
}

/// The first problem in a log: where, and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// 1-based line number in the input.
    pub line: u64,
    pub kind: FindingKind,
}

/// What is wrong at [`Finding::line`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FindingKind {
    /// `count` lines (sequence numbers from `first_missing`) were deleted just before this line.
    Deleted { first_missing: u64, count: u64 },
    /// This line does not belong where it is.
    Inserted(InsertedHow),
    /// This line was changed after it was written: the next line's `prev` does not match it.
    Edited,
    /// This line's HMAC does not verify with the key: it was edited, or forged.
    BadMac,
    /// This line (`seq`) is out of order with the line numbered `other_line` (`other_seq`).
    Reordered { seq: u64, other_seq: u64, other_line: u64 },
    /// The numbering restarts at 1 here without linking to the line before.
    UnlinkedRestart,
    /// The last line has no newline: a partial write.
    Torn,
    /// The log ends before the expected head (lines removed from the end) or its last line is
    /// not the expected one.
    Truncated { expected: ChainHead, found: Option<ChainHead> },
}

/// How an inserted line shows itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InsertedHow {
    /// It has no (valid) `coffer_chain` member: written by something else than the device.
    NoChainLink,
    /// It repeats a sequence number already passed (a replayed or copied line).
    ReplayedSeq(u64),
    /// It claims the next sequence number but the line after it links past it.
    NotLinked,
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.line;
        match &self.kind {
            FindingKind::Deleted { first_missing, count } => write!(
                f,
                "line {n}: {count} entr{} deleted before this line (seq {first_missing}{} missing)",
                if *count == 1 { "y" } else { "ies" },
                if *count > 1 { format!("..{}", first_missing + count - 1) } else { String::new() }
            ),
            FindingKind::Inserted(InsertedHow::NoChainLink) => {
                write!(f, "line {n}: inserted (it carries no valid coffer_chain link)")
            }
            FindingKind::Inserted(InsertedHow::ReplayedSeq(s)) => {
                write!(f, "line {n}: inserted (it repeats seq {s}, already passed)")
            }
            FindingKind::Inserted(InsertedHow::NotLinked) => {
                write!(f, "line {n}: inserted (the line after it links to the line before it)")
            }
            FindingKind::Edited => write!(f, "line {n}: edited (its SHA-256 no longer matches the next line's prev)"),
            FindingKind::BadMac => {
                write!(f, "line {n}: edited or forged (its chain HMAC does not verify)")
            }
            FindingKind::Reordered { seq, other_seq, other_line } => {
                write!(f, "line {n}: reordered (seq {seq} is out of order with seq {other_seq} at line {other_line})")
            }
            FindingKind::UnlinkedRestart => {
                write!(f, "line {n}: chain restarts at seq 1 without linking to the line before")
            }
            FindingKind::Torn => write!(f, "line {n}: incomplete last line (no newline)"),
            FindingKind::Truncated { expected, found } => match found {
                Some(h) => {
                    write!(f, "line {n}: log ends at {h}, the device's head is {expected} (lines removed from the end)")
                }
                None => write!(f, "log is empty, the device's head is {expected}"),
            },
        }
    }
}

/// One line read from the log.
struct Record {
    line: u64,
    hash: [u8; 32],
    link: Option<Link>,
    mac_ok: bool,
    torn: bool,
}

struct Lines<'a, R> {
    reader: R,
    line: u64,
    buf: Vec<u8>,
    key: Option<&'a ChainKey>,
}

impl<R: BufRead> Lines<'_, R> {
    fn next_record(&mut self) -> Result<Option<Record>, AuditError> {
        self.buf.clear();
        let n = self.reader.read_until(b'\n', &mut self.buf).map_err(AuditError::Read)?;
        if n == 0 {
            return Ok(None);
        }
        self.line += 1;
        let torn = self.buf.last() != Some(&b'\n');
        let body: &[u8] = if torn { &self.buf } else { &self.buf[..self.buf.len() - 1] };
        let link = parse_link(body);
        let mac_ok = match (self.key, &link) {
            (Some(k), Some(l)) => k.mac(l.seq, &l.prev, &body[..l.content_len]) == l.mac,
            _ => true,
        };
        Ok(Some(Record { line: self.line, hash: sha256(body), link, mac_ok, torn }))
    }
}

/// Verifies a log's chain without the key: `seq` continuity and `prev` hashes.
pub fn verify<R: BufRead>(reader: R) -> Result<VerifyReport, AuditError> {
    verify_with(reader, &VerifyOptions::default())
}

/// Verifies a log's chain, reporting the first deleted, inserted, reordered or edited line.
/// Errors only when the input cannot be read.
pub fn verify_with<R: BufRead>(reader: R, opts: &VerifyOptions<'_>) -> Result<VerifyReport, AuditError> {
    let mut lines = Lines { reader, line: 0, buf: Vec::new(), key: opts.key };
    let mut report = VerifyReport {
        lines: 0,
        first_seq: None,
        starts_at_genesis: false,
        last: None,
        restarts: 0,
        macs_checked: opts.key.is_some(),
        finding: None,
    };
    let mut prev: Option<(u64, Link, [u8; 32])> = None; // (line, link, hash)
    let mut pending = lines.next_record()?;
    while let Some(rec) = pending.take() {
        let next = lines.next_record()?;
        report.lines = rec.line;
        let found = |line, kind| Some(Finding { line, kind });
        if rec.torn {
            report.finding = found(rec.line, FindingKind::Torn);
            break;
        }
        let Some(link) = rec.link else {
            report.finding = found(rec.line, FindingKind::Inserted(InsertedHow::NoChainLink));
            break;
        };
        if !rec.mac_ok {
            report.finding = found(rec.line, FindingKind::BadMac);
            break;
        }
        match prev {
            None => {
                report.first_seq = Some(link.seq);
                report.starts_at_genesis = link.seq == 1 && link.prev == [0; 32];
            }
            Some((pline, plink, phash)) => {
                let next_link = next.as_ref().and_then(|n| n.link);
                if link.seq == plink.seq + 1 {
                    if link.prev != phash {
                        // Either the previous line was edited, or this one was slipped in with
                        // a made-up link and the real successor follows.
                        let slipped_in = next_link.is_some_and(|n| n.seq == link.seq && n.prev == phash);
                        report.finding = if slipped_in {
                            found(rec.line, FindingKind::Inserted(InsertedHow::NotLinked))
                        } else {
                            found(pline, FindingKind::Edited)
                        };
                        break;
                    }
                } else if link.seq == 1 && link.prev == phash {
                    report.restarts += 1;
                } else if link.seq > plink.seq + 1 {
                    let expected = plink.seq + 1;
                    // A gap: deleted, unless the missing lines turn up later (reordered).
                    let mut later = next;
                    let mut at = None;
                    while let Some(r) = later {
                        if let Some(l) = r.link {
                            if (expected..link.seq).contains(&l.seq) {
                                at = Some((r.line, l.seq));
                                break;
                            }
                        }
                        later = lines.next_record()?;
                    }
                    report.finding = match at {
                        Some((line, s)) => {
                            found(rec.line, FindingKind::Reordered { seq: link.seq, other_seq: s, other_line: line })
                        }
                        None => found(
                            rec.line,
                            FindingKind::Deleted { first_missing: expected, count: link.seq - expected },
                        ),
                    };
                    break;
                } else {
                    // Going backwards: a copy of an earlier line, a line moved back, or a restart
                    // at seq 1 that does not link.
                    let replay = next_link.is_some_and(|n| n.seq == plink.seq + 1 && n.prev == phash);
                    let kind = if replay || link.seq == plink.seq {
                        FindingKind::Inserted(InsertedHow::ReplayedSeq(link.seq))
                    } else if link.seq == 1 && link.prev == [0; 32] {
                        FindingKind::UnlinkedRestart
                    } else if link.seq == 1 {
                        report.finding = found(pline, FindingKind::Edited);
                        break;
                    } else {
                        FindingKind::Reordered { seq: link.seq, other_seq: plink.seq, other_line: pline }
                    };
                    report.finding = found(rec.line, kind);
                    break;
                }
            }
        }
        prev = Some((rec.line, link, rec.hash));
        report.last = Some(ChainHead { seq: link.seq, hash: rec.hash });
        pending = next;
    }
    if report.finding.is_none() {
        if let Some(expected) = opts.expected_head {
            if report.last != Some(expected) && !(expected == ChainHead::GENESIS && report.last.is_none()) {
                report.finding =
                    Some(Finding { line: report.lines, kind: FindingKind::Truncated { expected, found: report.last } });
            }
        }
    }
    Ok(report)
}
