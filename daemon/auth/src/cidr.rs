//! Address blocks: parsing with OpenBao's two dialects and membership checks.
//!
//! OpenBao accepts two kinds of lists:
//! - token bound CIDRs (`token_bound_cidrs`, userpass `bound_cidrs`): a bare address or a CIDR
//!   block (go-sockaddr); a single-host block is shown as the bare address;
//! - secret-ID and role login CIDRs (`cidr_list`, `secret_id_bound_cidrs`, and the token CIDRs of
//!   a secret ID): CIDR notation only.
use ipnet::IpNet;
use std::net::IpAddr;
use std::str::FromStr;

/// One block; a bare address is a single-host block.
fn parse_block(s: &str) -> Option<IpNet> {
    let s = s.trim();
    if let Ok(net) = IpNet::from_str(s) {
        return Some(net);
    }
    IpAddr::from_str(s).ok().map(|ip| IpNet::from(canonical(ip)))
}

fn canonical(ip: IpAddr) -> IpAddr {
    ip.to_canonical()
}

/// Parses a token-bound address list (addresses or blocks), normalised as OpenBao shows them:
/// a single-host block as its bare address, other blocks as given.
pub fn parse_addrs(list: &[String]) -> Result<Vec<String>, String> {
    list.iter()
        .map(|raw| {
            let s = raw.trim();
            match parse_block(s) {
                Some(net) if net.prefix_len() == net.max_prefix_len() => Ok(net.addr().to_string()),
                Some(net) => Ok(net.to_string()),
                None => Err(format!(
                    "error parsing address {s:?}: Unable to convert {s:?} to an IPv4 or IPv6 address, or a UNIX Socket"
                )),
            }
        })
        .collect()
}

/// Checks that every entry is in CIDR notation ("invalid CIDR address: X" otherwise).
pub fn validate_cidr_list(list: &[String]) -> Result<(), String> {
    for s in list {
        if IpNet::from_str(s.trim()).is_err() {
            return Err(format!("invalid CIDR address: {}", s.trim()));
        }
    }
    Ok(())
}

/// Whether `ip` lies in any of the blocks (entries that do not parse never match).
pub fn contains(list: &[String], ip: IpAddr) -> bool {
    let ip = canonical(ip);
    list.iter().filter_map(|s| parse_block(s)).any(|net| net.contains(&ip))
}

/// Whether every block of `inner` lies inside some block of `outer` (OpenBao's
/// `cidrutil.SubsetBlocks`). An empty `outer` puts no restriction.
pub fn is_subset(outer: &[String], inner: &[String]) -> bool {
    if outer.is_empty() {
        return true;
    }
    let outer: Vec<IpNet> = outer.iter().filter_map(|s| parse_block(s)).collect();
    inner.iter().all(|s| match parse_block(s) {
        Some(block) => outer.iter().any(|o| o.contains(&block)),
        None => false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn token_addrs_accept_addresses_and_blocks_and_show_hosts_bare() {
        assert_eq!(
            parse_addrs(&v(&["127.0.0.1/32", "10.0.0.0/8", "10.1.2.3", "::1/128"])).ok(),
            Some(v(&["127.0.0.1", "10.0.0.0/8", "10.1.2.3", "::1"]))
        );
        let err = parse_addrs(&v(&["notacidr"])).err().unwrap_or_default();
        assert!(err.starts_with("error parsing address \"notacidr\""), "{err}");
    }

    #[test]
    fn cidr_lists_require_cidr_notation() {
        assert!(validate_cidr_list(&v(&["127.0.0.1/32", "::/0"])).is_ok());
        assert_eq!(validate_cidr_list(&v(&["127.0.0.1"])), Err("invalid CIDR address: 127.0.0.1".into()));
    }

    #[test]
    fn membership_and_subsets() {
        let ip: IpAddr = "10.1.2.3".parse().unwrap_or(IpAddr::from([0, 0, 0, 0]));
        assert!(contains(&v(&["10.0.0.0/8"]), ip));
        assert!(!contains(&v(&["127.0.0.0/8"]), ip));
        let mapped: IpAddr = "::ffff:10.1.2.3".parse().unwrap_or(IpAddr::from([0, 0, 0, 0]));
        assert!(contains(&v(&["10.0.0.0/8"]), mapped));
        assert!(is_subset(&v(&["10.0.0.0/8"]), &v(&["10.1.0.0/16", "10.2.2.2/32"])));
        assert!(!is_subset(&v(&["10.0.0.0/8"]), &v(&["11.0.0.0/16"])));
        assert!(is_subset(&[], &v(&["11.0.0.0/16"])));
    }
}
