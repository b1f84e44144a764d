//! The client address per-IP rate limits key on: the TCP peer, or, when the peer is a
//! configured reverse proxy, the address that proxy saw in `X-Forwarded-For`.

use axum::http::HeaderMap;
use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use std::net::IpAddr;

/// An address or CIDR range whose `X-Forwarded-For` the collector believes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TrustedProxy(IpNet);

impl TryFrom<String> for TrustedProxy {
    type Error = String;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        let value = value.trim();
        value
            .parse::<IpNet>()
            .or_else(|_| value.parse::<IpAddr>().map(IpNet::from))
            .map(TrustedProxy)
            .map_err(|_| format!("trusted proxy `{value}`: expected an IP address or a CIDR range"))
    }
}

impl From<TrustedProxy> for String {
    fn from(proxy: TrustedProxy) -> String {
        proxy.0.to_string()
    }
}

pub struct ClientIp {
    trusted: Vec<IpNet>,
}

impl ClientIp {
    pub fn new(trusted: &[TrustedProxy]) -> ClientIp {
        ClientIp {
            trusted: trusted.iter().map(|proxy| proxy.0).collect(),
        }
    }

    fn is_trusted(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.trusted.iter().any(|net| net.contains(&ip))
    }

    /// Whether `peer` is one of the configured proxies, whose forwarding headers count.
    pub fn is_trusted_proxy(&self, peer: IpAddr) -> bool {
        self.is_trusted(peer)
    }

    /// Walks `X-Forwarded-For` from the nearest hop back while each hop is a trusted
    /// proxy. The first address that was not added by one of ours is the client; what
    /// lies left of it was written by the client itself and may be forged. An entry
    /// that does not parse ends the walk at the proxy that passed it on.
    pub fn resolve(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let mut client = peer.to_canonical();
        if self.trusted.is_empty() || !self.is_trusted(client) {
            return client;
        }
        let hops = headers
            .get_all("x-forwarded-for")
            .iter()
            .rev()
            .flat_map(|value| {
                let list = value.to_str().unwrap_or("");
                list.rsplit(',').map(str::trim).collect::<Vec<_>>()
            })
            .filter(|hop| !hop.is_empty());
        for hop in hops {
            let Ok(hop) = hop.parse::<IpAddr>() else {
                break;
            };
            client = hop.to_canonical();
            if !self.is_trusted(client) {
                break;
            }
        }
        client
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn proxies(list: &[&str]) -> ClientIp {
        let trusted: Vec<_> = list
            .iter()
            .map(|p| TrustedProxy::try_from(p.to_string()).unwrap())
            .collect();
        ClientIp::new(&trusted)
    }

    fn forwarded(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append("x-forwarded-for", HeaderValue::from_str(value).unwrap());
        }
        headers
    }

    fn ip(value: &str) -> IpAddr {
        value.parse().unwrap()
    }

    #[test]
    fn the_header_counts_only_from_a_trusted_peer() {
        let resolver = proxies(&["10.0.0.0/8", "127.0.0.1"]);
        let headers = forwarded(&["203.0.113.7"]);
        assert_eq!(
            resolver.resolve(ip("127.0.0.1"), &headers),
            ip("203.0.113.7")
        );
        assert_eq!(
            resolver.resolve(ip("10.1.2.3"), &headers),
            ip("203.0.113.7")
        );
        assert_eq!(
            resolver.resolve(ip("198.51.100.1"), &headers),
            ip("198.51.100.1")
        );
        assert_eq!(
            proxies(&[]).resolve(ip("127.0.0.1"), &headers),
            ip("127.0.0.1")
        );
    }

    #[test]
    fn forged_entries_left_of_the_client_are_ignored() {
        let resolver = proxies(&["10.0.0.0/8"]);
        // The client wrote "1.1.1.1" itself; our proxies appended the rest.
        let headers = forwarded(&["1.1.1.1, 203.0.113.7", "10.0.0.5"]);
        assert_eq!(
            resolver.resolve(ip("10.0.0.1"), &headers),
            ip("203.0.113.7")
        );
        // Only trusted hops: the leftmost is as far as we can see.
        let headers = forwarded(&["10.0.0.9, 10.0.0.5"]);
        assert_eq!(resolver.resolve(ip("10.0.0.1"), &headers), ip("10.0.0.9"));
    }

    #[test]
    fn garbage_stops_at_the_proxy_that_passed_it() {
        let resolver = proxies(&["10.0.0.0/8"]);
        let headers = forwarded(&["203.0.113.7, not-an-ip, 10.0.0.5"]);
        assert_eq!(resolver.resolve(ip("10.0.0.1"), &headers), ip("10.0.0.5"));
        assert_eq!(
            resolver.resolve(ip("10.0.0.1"), &HeaderMap::new()),
            ip("10.0.0.1")
        );
        // IPv4-mapped IPv6 peers count as their IPv4 address.
        assert_eq!(
            resolver.resolve(ip("::ffff:10.0.0.1"), &forwarded(&["2001:db8::1"])),
            ip("2001:db8::1")
        );
    }

    #[test]
    fn proxies_parse_as_addresses_or_ranges() {
        assert!(TrustedProxy::try_from("192.168.0.0/16".to_string()).is_ok());
        assert!(TrustedProxy::try_from("::1".to_string()).is_ok());
        assert!(TrustedProxy::try_from("localhost".to_string()).is_err());
        assert!(TrustedProxy::try_from("10.0.0.0/33".to_string()).is_err());
    }
}
