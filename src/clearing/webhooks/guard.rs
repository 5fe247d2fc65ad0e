//! Where webhooks may go (SSRF): an endpoint's URL is checked when it is registered, and every
//! address its host resolves to is checked again each time the service connects, so a name
//! that later resolves to an inside address (DNS rebinding) is refused too. Redirects are never
//! followed, and no proxy from the environment is used (it would resolve the host instead).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs};

use ureq::config::Config;
use ureq::http::Uri;
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::NextTimeout;

/// The longest endpoint URL taken.
pub const MAX_URL_CHARS: usize = 2_048;

/// Why an endpoint's URL is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlRefusal {
    #[error("url must be an absolute http or https URL of at most {MAX_URL_CHARS} characters")]
    Malformed,
    #[error("url must not carry a user name or password")]
    Credentials,
    #[error("url's host {0} does not resolve")]
    Unresolved(String),
    #[error(
        "url's host resolves to {0}, a loopback, private, link-local or otherwise internal address \
         (allowed only when the service runs with --allow-private-webhooks)"
    )]
    Internal(IpAddr),
}

/// Whether `ip` is an address a webhook must not reach: loopback, private (RFC 1918), link-local
/// (169.254/16, including cloud metadata services), shared CGNAT space (100.64/10), "this
/// network" (0/8), broadcast, multicast and documentation ranges; IPv6 loopback, unspecified,
/// unique-local (fc00::/7), link-local (fe80::/10), multicast; and any of the IPv4 ones written
/// in an IPv6 form (IPv4-mapped `::ffff:a.b.c.d`, IPv4-compatible `::a.b.c.d`, NAT64
/// `64:ff9b::/96`).
pub fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_internal_v4(v4),
        IpAddr::V6(v6) => is_internal_v6(v6),
    }
}

fn is_internal_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || ip.is_unspecified()
        || a == 0
        || (a == 100 && (64..128).contains(&b))
        || (a == 192 && b == 0 && ip.octets()[2] == 0)
        || a >= 240
}

fn is_internal_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_internal_v4(v4);
    }
    let s = ip.segments();
    // IPv4-compatible (deprecated) `::a.b.c.d` and NAT64 `64:ff9b::a.b.c.d`.
    if s[..6] == [0, 0, 0, 0, 0, 0] || s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        let v4 = Ipv4Addr::new(
            (s[6] >> 8) as u8,
            (s[6] & 0xff) as u8,
            (s[7] >> 8) as u8,
            (s[7] & 0xff) as u8,
        );
        return ip.is_loopback() || ip.is_unspecified() || is_internal_v4(v4);
    }
    ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || (s[0] & 0xfe00) == 0xfc00
        || (s[0] & 0xffc0) == 0xfe80
        || s[0] == 0x2001 && s[1] == 0x0db8
}

/// An endpoint URL: absolute, http or https, with a host and without credentials.
pub fn parse_url(url: &str) -> Result<Uri, UrlRefusal> {
    if url.is_empty() || url.chars().count() > MAX_URL_CHARS {
        return Err(UrlRefusal::Malformed);
    }
    let uri: Uri = url.parse().map_err(|_| UrlRefusal::Malformed)?;
    let scheme_ok = matches!(uri.scheme_str(), Some("http" | "https"));
    let Some(authority) = uri.authority() else {
        return Err(UrlRefusal::Malformed);
    };
    if !scheme_ok || authority.host().is_empty() {
        return Err(UrlRefusal::Malformed);
    }
    if authority.as_str().contains('@') {
        return Err(UrlRefusal::Credentials);
    }
    Ok(uri)
}

/// Resolves `uri`'s host and refuses it when any address it has is internal (unless
/// `allow_private`). Blocking: DNS.
pub fn check_url(uri: &Uri, allow_private: bool) -> Result<(), UrlRefusal> {
    let Some(authority) = uri.authority() else {
        return Err(UrlRefusal::Malformed);
    };
    let port = authority
        .port_u16()
        .unwrap_or(if uri.scheme_str() == Some("https") {
            443
        } else {
            80
        });
    let host = authority.host();
    let addrs: Vec<SocketAddr> = (host, port)
        .to_socket_addrs()
        .or_else(|_| (host.trim_matches(['[', ']']), port).to_socket_addrs())
        .map_err(|_| UrlRefusal::Unresolved(host.to_owned()))?
        .collect();
    if addrs.is_empty() {
        return Err(UrlRefusal::Unresolved(host.to_owned()));
    }
    if !allow_private && let Some(bad) = addrs.iter().find(|a| is_internal(a.ip())) {
        return Err(UrlRefusal::Internal(bad.ip()));
    }
    Ok(())
}

/// The resolver every delivery connects through: the system's, with internal addresses refused
/// unless allowed.
pub struct GuardedResolver {
    inner: DefaultResolver,
    allow_private: bool,
}

impl GuardedResolver {
    pub fn new(allow_private: bool) -> Self {
        Self {
            inner: DefaultResolver::default(),
            allow_private,
        }
    }
}

impl fmt::Debug for GuardedResolver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GuardedResolver")
            .field("allow_private", &self.allow_private)
            .finish()
    }
}

/// The error a refused address gives the delivery (logged as the attempt's error).
#[derive(Debug, thiserror::Error)]
#[error("address {0} refused: internal")]
pub struct Refused(pub IpAddr);

impl Resolver for GuardedResolver {
    fn resolve(
        &self,
        uri: &Uri,
        config: &Config,
        timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        let addrs = self.inner.resolve(uri, config, timeout)?;
        if !self.allow_private
            && let Some(bad) = addrs.iter().find(|a| is_internal(a.ip()))
        {
            return Err(ureq::Error::Other(Box::new(Refused(bad.ip()))));
        }
        Ok(addrs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn internal(s: &str) -> bool {
        is_internal(s.parse().expect("an address"))
    }

    #[test]
    fn inside_addresses_in_every_form_are_internal() {
        for a in [
            "127.0.0.1",
            "127.1.2.3",
            "10.0.0.1",
            "172.16.5.4",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "100.127.255.255",
            "0.0.0.0",
            "0.1.2.3",
            "255.255.255.255",
            "224.0.0.1",
            "::1",
            "::",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::ffff:169.254.169.254",
            "::127.0.0.1",
            "64:ff9b::a00:1",
            "ff02::1",
        ] {
            assert!(internal(a), "{a} should be internal");
        }
    }

    #[test]
    fn public_addresses_are_not() {
        for a in [
            "8.8.8.8",
            "1.1.1.1",
            "100.128.0.1",
            "100.63.255.255",
            "172.32.0.1",
            "2606:4700:4700::1111",
            "::ffff:8.8.8.8",
        ] {
            assert!(!internal(a), "{a} should be public");
        }
    }

    #[test]
    fn urls_are_parsed_strictly() {
        assert!(parse_url("https://hooks.example.com/coalition").is_ok());
        assert!(parse_url("http://203.0.113.7:8080/x").is_ok());
        assert_eq!(parse_url("ftp://x.example/"), Err(UrlRefusal::Malformed));
        assert_eq!(parse_url("/relative"), Err(UrlRefusal::Malformed));
        assert_eq!(parse_url(""), Err(UrlRefusal::Malformed));
        assert_eq!(
            parse_url("https://user:pw@x.example/"),
            Err(UrlRefusal::Credentials)
        );
        let long = format!("https://x.example/{}", "a".repeat(MAX_URL_CHARS));
        assert_eq!(parse_url(&long), Err(UrlRefusal::Malformed));
    }

    #[test]
    fn literal_inside_addresses_are_refused_unless_allowed() {
        for url in [
            "http://127.0.0.1:9/",
            "http://[::1]:9/",
            "http://[::ffff:127.0.0.1]:9/",
            "http://169.254.169.254/latest/meta-data",
            "http://10.1.2.3/",
            "http://100.64.1.1/",
            "http://[fd00::1]/",
            "http://[fe80::1]/",
            "http://0.0.0.0:9/",
        ] {
            let uri = parse_url(url).expect("a URL");
            assert!(
                matches!(check_url(&uri, false), Err(UrlRefusal::Internal(_))),
                "{url}"
            );
            assert_eq!(check_url(&uri, true), Ok(()), "{url}");
        }
    }
}
