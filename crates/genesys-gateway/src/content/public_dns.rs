//! Where a transcript may be downloaded from, by address: outside development a transcript
//! host's name must resolve to public addresses only. An allowed name (an S3 host) that resolves
//! to a loopback, private, link-local, CGNAT, unique-local or other non-public address (a
//! poisoned answer, a VPC endpoint, a name under an attacker's control) is refused before a
//! connection is made, so a URL from an answer can never reach the cluster's own network.

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// Resolves with the system's resolver, then refuses a name with any non-public address (all of
/// them: a mix of public and private is how rebinding hides).
#[derive(Debug, Clone, Copy, Default)]
pub struct PublicOnly;

/// A transcript host that resolves to an address that is not public.
#[derive(Debug, thiserror::Error)]
#[error("the transcript host resolves to an address that is not public")]
pub struct NotPublic;

impl Resolve for PublicOnly {
    fn resolve(&self, name: Name) -> Resolving {
        Box::pin(async move {
            let addresses: Vec<SocketAddr> = tokio::net::lookup_host((name.as_str(), 0)).await?.collect();
            if addresses.is_empty() {
                return Err(std::io::Error::new(std::io::ErrorKind::NotFound, "no address").into());
            }
            if addresses.iter().any(|address| !is_public(address.ip())) {
                return Err(NotPublic.into());
            }
            let addrs: Addrs = Box::new(addresses.into_iter());
            Ok(addrs)
        })
    }
}

/// Whether `error` (a reqwest error) was a [`NotPublic`] refusal somewhere down its sources.
pub fn refused_address(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut source = Some(error);
    while let Some(error) = source {
        if error.is::<NotPublic>() {
            return true;
        }
        source = error.source();
    }
    false
}

/// An address on the public internet: not loopback, unspecified, private (RFC 1918), shared
/// (CGNAT, RFC 6598), link-local, unique-local (fc00::/7), multicast, broadcast, documentation,
/// benchmarking or reserved; an IPv4 address inside IPv6 (mapped, NAT64) judged as IPv4.
pub fn is_public(address: IpAddr) -> bool {
    match address {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(v4: Ipv4Addr) -> bool {
    let [a, b, c, _] = v4.octets();
    !(a == 0
        || v4.is_loopback()
        || v4.is_private()
        || v4.is_link_local()
        || (a == 100 && (64..=127).contains(&b))
        || (a == 192 && b == 0 && c == 0)
        || v4.is_documentation()
        || (a == 198 && (18..=19).contains(&b))
        || v4.is_multicast()
        || a >= 240)
}

fn is_public_v6(v6: Ipv6Addr) -> bool {
    if let Some(v4) = v6.to_ipv4_mapped() {
        return is_public_v4(v4);
    }
    let segments = v6.segments();
    if segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        let [.., hi, lo] = segments;
        return is_public_v4(Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo)));
    }
    !(v6.is_loopback()
        || v6.is_unspecified()
        || (segments[0] & 0xfe00) == 0xfc00
        || (segments[0] & 0xffc0) == 0xfe80
        || v6.is_multicast()
        || (segments[0] == 0x2001 && segments[1] == 0x0db8)
        || segments[..6] == [0, 0, 0, 0, 0, 0])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_addresses_are_public() {
        for public in [
            "52.219.170.1",
            "3.5.136.1",
            "8.8.8.8",
            "2600:1f18::1",
            "::ffff:52.219.170.1",
            "64:ff9b::808:808",
        ] {
            assert!(is_public(public.parse().unwrap()), "{public}");
        }
        for not_public in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "100.127.255.254",
            "0.0.0.0",
            "192.0.0.1",
            "192.0.2.1",
            "198.18.0.1",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fd00::1",
            "fc00::1",
            "fe80::1",
            "ff02::1",
            "2001:db8::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a00:1",
            "::127.0.0.1",
        ] {
            assert!(!is_public(not_public.parse().unwrap()), "{not_public}");
        }
    }

    #[tokio::test]
    async fn a_name_of_a_private_address_is_refused_before_any_connection() {
        let refused = PublicOnly.resolve("localhost".parse::<Name>().unwrap()).await;
        let error = refused.err().expect("localhost is not public");
        assert!(refused_address(error.as_ref()), "{error}");
    }
}
