//! Who the client is: the peer address, unless the peer is a proxy we trust (the ingress, or
//! loopback locally), in which case the right-most `X-Forwarded-For` entry that is not itself
//! a trusted proxy. Entries to the left of that one were written by the client and prove
//! nothing.

use http::HeaderValue;
use ipnet::IpNet;
use std::net::{IpAddr, Ipv4Addr};

#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// From a comma-separated list of CIDR ranges or addresses.
    pub fn parse(list: &str) -> Result<Self, String> {
        list.split(',')
            .map(str::trim)
            .filter(|entry| !entry.is_empty())
            .map(|entry| {
                entry
                    .parse::<IpNet>()
                    .or_else(|_| entry.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| format!("`{entry}` is not an address or CIDR range"))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Self)
    }

    /// Whether `ip` is one of the proxies whose forwarding headers are believed.
    pub fn trusts(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The client's address given the TCP peer and the `X-Forwarded-For` values received.
    pub fn client_ip<'a>(
        &self,
        peer: IpAddr,
        forwarded_for: impl DoubleEndedIterator<Item = &'a str>,
    ) -> IpAddr {
        let peer = canonical(peer);
        if !self.trusts(peer) {
            return peer;
        }
        let mut client = peer;
        // Header lines in order, entries within each in order: walk them all from the right.
        let entries: Vec<&str> = forwarded_for
            .flat_map(|value| value.split(','))
            .map(str::trim)
            .collect();
        for entry in entries.iter().rev() {
            match parse_entry(entry) {
                Some(ip) => {
                    client = ip;
                    if !self.trusts(ip) {
                        break;
                    }
                }
                // Garbage from the client side: stop at the last address we could read.
                None => break,
            }
        }
        client
    }
}

/// `203.0.113.9`, `203.0.113.9:4711`, `2001:db8::1` or `[2001:db8::1]:443`.
fn parse_entry(entry: &str) -> Option<IpAddr> {
    if let Ok(ip) = entry.parse::<IpAddr>() {
        return Some(canonical(ip));
    }
    if let Ok(addr) = entry.parse::<std::net::SocketAddr>() {
        return Some(canonical(addr.ip()));
    }
    None
}

/// The address as a header value (`X-Forwarded-For`, set on every request): IPv4 is written
/// digit by digit into a stack buffer, as the formatting machinery was the largest single item
/// of the gateway's own work in a profile (docs/benchmarks.md, "Gateway overhead").
pub fn header_value(ip: IpAddr) -> HeaderValue {
    let value = match ip {
        IpAddr::V4(v4) => {
            let mut text = [0u8; 15];
            let len = write_ipv4(v4, &mut text);
            HeaderValue::from_bytes(&text[..len])
        }
        IpAddr::V6(_) => HeaderValue::try_from(ip.to_string()),
    };
    // Digits, dots, colons and hex letters are always a valid value; never taken.
    value.unwrap_or_else(|_| HeaderValue::from_static("unknown"))
}

/// Dotted-decimal `ip` into `text`; the length written.
fn write_ipv4(ip: Ipv4Addr, text: &mut [u8; 15]) -> usize {
    let mut len = 0;
    for (index, octet) in ip.octets().into_iter().enumerate() {
        if index > 0 {
            text[len] = b'.';
            len += 1;
        }
        if octet >= 100 {
            text[len] = b'0' + octet / 100;
            len += 1;
        }
        if octet >= 10 {
            text[len] = b'0' + octet / 10 % 10;
            len += 1;
        }
        text[len] = b'0' + octet % 10;
        len += 1;
    }
    len
}

/// IPv4-mapped IPv6 addresses (a dual-stack listener's view of IPv4 peers) as IPv4.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        IpAddr::V4(_) => ip,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn local() -> TrustedProxies {
        TrustedProxies::parse("127.0.0.1/32, ::1, 10.0.0.0/8").unwrap()
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_claims() {
        let client = local().client_ip(ip("198.51.100.7"), ["203.0.113.9"].into_iter());
        assert_eq!(client, ip("198.51.100.7"));
    }

    #[test]
    fn behind_a_trusted_proxy_the_right_most_untrusted_entry_is_the_client() {
        // The client forged the first entry; the ingress appended the real address.
        let client = local().client_ip(
            ip("10.1.2.3"),
            ["1.1.1.1, 203.0.113.9", "10.0.0.5"].into_iter(),
        );
        assert_eq!(client, ip("203.0.113.9"));
    }

    #[test]
    fn a_trusted_peer_without_the_header_is_the_client() {
        assert_eq!(
            local().client_ip(ip("127.0.0.1"), std::iter::empty()),
            ip("127.0.0.1")
        );
    }

    #[test]
    fn garbage_stops_the_walk() {
        let client = local().client_ip(ip("127.0.0.1"), ["203.0.113.9, nonsense"].into_iter());
        assert_eq!(client, ip("127.0.0.1"));
        let client = local().client_ip(ip("127.0.0.1"), ["[2001:db8::1]:443"].into_iter());
        assert_eq!(client, ip("2001:db8::1"));
    }

    #[test]
    fn mapped_addresses_are_compared_as_ipv4() {
        let client = local().client_ip(ip("::ffff:127.0.0.1"), ["203.0.113.9"].into_iter());
        assert_eq!(client, ip("203.0.113.9"));
    }

    #[test]
    fn header_values_spell_the_address_as_display_does() {
        for text in [
            "0.0.0.0",
            "9.10.99.100",
            "203.0.113.9",
            "255.255.255.255",
            "2001:db8::1",
        ] {
            assert_eq!(header_value(ip(text)), text);
        }
        for octet in 0..=255u8 {
            let v4 = IpAddr::V4(Ipv4Addr::new(octet, 1, octet, 0));
            assert_eq!(header_value(v4), v4.to_string().as_str());
        }
    }

    /// Every `GATEWAY_TRUSTED_PROXIES` the deployment files set.
    fn shipped_settings() -> Vec<(String, String)> {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
        let files = [
            "deploy/k8s/base/kustomization.yaml",
            "deploy/k8s/overlays/staging/kustomization.yaml",
            "deploy/k8s/overlays/production/kustomization.yaml",
            "docker-compose.yml",
            ".env.example",
        ];
        let mut settings = Vec::new();
        for file in files {
            let text = std::fs::read_to_string(format!("{root}/{file}")).unwrap();
            for line in text.lines() {
                let line = line.trim().trim_start_matches("- ");
                if let Some(value) = line
                    .strip_prefix("GATEWAY_TRUSTED_PROXIES=")
                    .or_else(|| line.strip_prefix("GATEWAY_TRUSTED_PROXIES: "))
                {
                    settings.push((file.to_owned(), value.trim().to_owned()));
                }
            }
        }
        settings
    }

    #[test]
    fn the_deployment_trusts_the_proxies_in_front_not_a_network() {
        let settings = shipped_settings();
        assert!(settings.len() >= 5, "{settings:?}");
        for (file, value) in settings {
            let trusted = TrustedProxies::parse(&value).unwrap();
            // Any peer in a trusted range can pose as any client: a range names the ingress
            // controller's pods (at most a /24), never the cluster's network.
            for net in trusted.0 {
                let narrow = match net {
                    IpNet::V4(net) => net.prefix_len() >= 24,
                    IpNet::V6(net) => net.prefix_len() >= 120,
                };
                assert!(
                    narrow,
                    "{file}: GATEWAY_TRUSTED_PROXIES trusts all of {net}"
                );
            }
        }
    }

    #[test]
    fn bad_ranges_are_refused() {
        assert!(TrustedProxies::parse("10.0.0.0/33").is_err());
        assert!(TrustedProxies::parse("localhost").is_err());
        assert!(TrustedProxies::parse("").unwrap().0.is_empty());
    }
}
