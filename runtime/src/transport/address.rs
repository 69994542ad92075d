//! `host[:port]` as `DOCKER_HOST`, registry addresses, ssh destinations and HTTP authorities
//! write it, with IPv6 hosts in brackets.

/// Splits `host[:port]` (`[v6]` or `[v6]:port` for IPv6) into the host, without brackets, and
/// the port if one is written; the error says what is wrong in words that fit after the address.
pub(crate) fn split_host_port(authority: &str) -> Result<(&str, Option<u16>), &'static str> {
    if authority.contains(['/', '?', '#']) {
        return Err("an address takes no path or query, only host[:port]");
    }
    let (host, port) = match authority.strip_prefix('[') {
        Some(bracketed) => {
            let (host, after) = bracketed.split_once(']').ok_or("unclosed [")?;
            match after.strip_prefix(':') {
                Some(port) => (host, Some(port)),
                None if after.is_empty() => (host, None),
                None => return Err("text after ] that is not :port"),
            }
        }
        None => match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        },
    };
    if host.is_empty() {
        return Err("no host");
    }
    let port = port
        .map(|port| port.parse::<u16>().map_err(|_| "the port is not a number"))
        .transpose()?;
    Ok((host, port))
}

/// `host:port` as an HTTP authority writes it, bracketing an IPv6 host.
pub(crate) fn authority(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// Whether `authority` (from a `Location` header) names the server at `ours` (`host:port`):
/// the same, or the same host without a port, which a location leaves out for the scheme's
/// default.
pub(crate) fn same_server(authority: &str, ours: &str) -> bool {
    if authority.eq_ignore_ascii_case(ours) {
        return true;
    }
    match (split_host_port(authority), split_host_port(ours)) {
        (Ok((host, None)), Ok((our_host, _))) => host.eq_ignore_ascii_case(our_host),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_split_from_ports_with_ipv6_in_brackets() {
        assert_eq!(split_host_port("docker"), Ok(("docker", None)));
        assert_eq!(split_host_port("127.0.0.1:2375"), Ok(("127.0.0.1", Some(2375))));
        assert_eq!(split_host_port("[::1]"), Ok(("::1", None)));
        assert_eq!(split_host_port("[::1]:80"), Ok(("::1", Some(80))));
        assert_eq!(split_host_port(""), Err("no host"));
        assert_eq!(split_host_port(":5000"), Err("no host"));
        assert_eq!(split_host_port("host:port"), Err("the port is not a number"));
        assert_eq!(split_host_port("[::1"), Err("unclosed ["));
        assert_eq!(split_host_port("[::1]x"), Err("text after ] that is not :port"));
        assert!(split_host_port("host/path").is_err());
    }

    #[test]
    fn authorities_bracket_ipv6_hosts() {
        assert_eq!(authority("::1", 2375), "[::1]:2375");
        assert_eq!(authority("docker.example", 443), "docker.example:443");
    }

    #[test]
    fn locations_name_our_server_with_or_without_the_default_port() {
        assert!(same_server("127.0.0.1:5000", "127.0.0.1:5000"));
        assert!(same_server("registry-1.docker.io", "registry-1.docker.io:443"));
        assert!(same_server("[::1]", "[::1]:443"));
        assert!(!same_server("127.0.0.1:5001", "127.0.0.1:5000"));
        assert!(!same_server("storage.example", "registry.example:443"));
    }
}
