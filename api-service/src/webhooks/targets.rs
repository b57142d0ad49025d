//! Where webhooks may go. In production only `https` URLs whose every address is public:
//! loopback, private, link-local (cloud metadata at 169.254.169.254), shared, documentation
//! and other special ranges are refused when an endpoint is registered and again at every
//! connect, by [`PublicResolver`], since a name can resolve elsewhere by then. Redirects are
//! not followed. `webhooks.allow_private_targets` lifts the rule for development.

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, LazyLock};

use ipnet::IpNet;
use regex::Regex;
use reqwest::Url;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// Why a URL is refused, for the 400's message and a failed attempt's `error`.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Refused {
    #[error("url is not a URL webhooks can go to: {0}")]
    Malformed(String),
    #[error("url must be https")]
    NotHttps,
    #[error("url's host {host} is not a public address ({address})")]
    NotPublic { host: String, address: IpAddr },
    #[error("url's host {0} does not resolve")]
    Unresolved(String),
}

/// The shape of an endpoint's URL, as the OpenAPI document gives it (the pattern of
/// `NewWebhookEndpoint.url`): http(s), a host name or an IPv4 address, an optional port, path
/// and query. No user name or password, no fragment, no IPv6 literal (use a name).
pub const URL_PATTERN: &str = concat!(
    r"^https?://",
    r"([A-Za-z][A-Za-z0-9-]{0,62}(\.[A-Za-z][A-Za-z0-9-]{0,62})*",
    r"|((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9]))",
    r"(:([1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5]))?",
    r"(/[A-Za-z0-9._~!$&'()*+,;=:@%/-]*)?(\?[A-Za-z0-9._~!$&'()*+,;=:@%/?-]*)?$",
);

static URL_SHAPE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(URL_PATTERN).expect("URL_PATTERN is a valid regex"));

/// Checks a URL for registration: of [`URL_PATTERN`]'s shape, https (unless
/// `allow_private`), and every address it resolves to public (unless `allow_private`).
/// Returns it normalized.
pub async fn check(raw: &str, allow_private: bool) -> Result<Url, Refused> {
    // A trailing newline passes `$` in the ECMAScript and Python regexes clients check the
    // pattern with, and URL parsing drops it: accepted here too.
    if !URL_SHAPE.is_match(raw.strip_suffix('\n').unwrap_or(raw)) {
        return Err(Refused::Malformed(
            "expected http(s)://host[:port][/path][?query], the host a name or an IPv4 address"
                .to_owned(),
        ));
    }
    let url = Url::parse(raw).map_err(|error| Refused::Malformed(error.to_string()))?;
    let host = url.host_str().unwrap_or_default().to_owned();
    if allow_private {
        return Ok(url);
    }
    if url.scheme() != "https" {
        return Err(Refused::NotHttps);
    }
    let port = url.port_or_known_default().unwrap_or(443);
    let addresses: Vec<SocketAddr> = match literal(&url) {
        Some(address) => vec![SocketAddr::new(address, port)],
        None => tokio::net::lookup_host((host.as_str(), port))
            .await
            .map_err(|_| Refused::Unresolved(host.clone()))?
            .collect(),
    };
    if addresses.is_empty() {
        return Err(Refused::Unresolved(host));
    }
    for address in addresses {
        public(&host, address.ip())?;
    }
    Ok(url)
}

/// The address of a URL whose host is an IP literal: reqwest connects to those without asking
/// the resolver, so the dispatcher checks them itself.
pub fn literal(url: &Url) -> Option<IpAddr> {
    let host = url.host_str()?;
    host.trim_start_matches('[')
        .trim_end_matches(']')
        .parse()
        .ok()
}

/// Ok if `address` is a public unicast address.
pub fn public(host: &str, address: IpAddr) -> Result<(), Refused> {
    // An IPv4 address written as IPv6 (::ffff:a.b.c.d) is the IPv4 address.
    let address = match address {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(address, IpAddr::V4),
        IpAddr::V4(_) => address,
    };
    if NOT_PUBLIC.iter().any(|range| range.contains(&address)) {
        return Err(Refused::NotPublic {
            host: host.to_owned(),
            address,
        });
    }
    Ok(())
}

/// Special-purpose ranges (IANA's IPv4 and IPv6 special-purpose registries) plus multicast:
/// nothing a customer's public receiver listens on.
static NOT_PUBLIC: LazyLock<Vec<IpNet>> = LazyLock::new(|| {
    [
        "0.0.0.0/8",       // "this network"
        "10.0.0.0/8",      // private
        "100.64.0.0/10",   // shared address space (carrier-grade NAT)
        "127.0.0.0/8",     // loopback
        "169.254.0.0/16",  // link-local, cloud metadata
        "172.16.0.0/12",   // private
        "192.0.0.0/24",    // IETF protocol assignments
        "192.0.2.0/24",    // documentation
        "192.88.99.0/24",  // 6to4 relay anycast (deprecated)
        "192.168.0.0/16",  // private
        "198.18.0.0/15",   // benchmarking
        "198.51.100.0/24", // documentation
        "203.0.113.0/24",  // documentation
        "224.0.0.0/4",     // multicast
        "240.0.0.0/4",     // reserved, broadcast
        "::/127",          // unspecified, loopback
        "64:ff9b::/96",    // NAT64: reaches IPv4 addresses, private ones included
        "64:ff9b:1::/48",  // local-use NAT64
        "100::/64",        // discard
        "2001::/23",       // IETF protocol assignments (Teredo, benchmarking, …)
        "2001:db8::/32",   // documentation
        "2002::/16",       // 6to4: reaches IPv4 addresses
        "fc00::/7",        // unique local
        "fe80::/10",       // link-local
        "fec0::/10",       // site-local (deprecated)
        "ff00::/8",        // multicast
    ]
    .iter()
    .map(|range| range.parse().expect("a valid CIDR range"))
    .collect()
});

/// reqwest's resolver for deliveries: the system's answer, refused unless every address in it
/// is public (`allow_private` takes them all).
pub struct PublicResolver {
    pub allow_private: bool,
}

impl Resolve for PublicResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_private = self.allow_private;
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let addresses: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if !allow_private {
                for address in &addresses {
                    public(&host, address.ip())?;
                }
            }
            Ok(Box::new(addresses.into_iter()) as Addrs)
        })
    }
}

impl PublicResolver {
    pub fn shared(allow_private: bool) -> Arc<Self> {
        Arc::new(Self { allow_private })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(address: &str) -> bool {
        public("h", address.parse().unwrap()).is_err()
    }

    #[test]
    fn private_loopback_link_local_and_metadata_addresses_are_refused() {
        for address in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "::1",
            "::",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a9fe:a9fe",
        ] {
            assert!(refused(address), "{address} was allowed");
        }
    }

    #[test]
    fn public_addresses_are_allowed() {
        for address in [
            "1.1.1.1",
            "93.184.215.14",
            "2606:4700:4700::1111",
            "::ffff:8.8.8.8",
        ] {
            assert!(!refused(address), "{address} was refused");
        }
    }

    #[tokio::test]
    async fn registration_refuses_http_literals_and_names_of_private_addresses() {
        let check = |url: &'static str| async move { check(url, false).await };
        assert_eq!(
            check("http://example.com/hook").await,
            Err(Refused::NotHttps)
        );
        assert!(matches!(
            check("https://127.0.0.1:8443/hook").await,
            Err(Refused::NotPublic { .. })
        ));
        assert!(matches!(
            check("https://[::1]/hook").await,
            Err(Refused::Malformed(_))
        ));
        assert!(matches!(
            check("https://169.254.169.254/latest/meta-data").await,
            Err(Refused::NotPublic { .. })
        ));
        assert!(matches!(
            check("https://localhost/hook").await,
            Err(Refused::NotPublic { .. })
        ));
        assert!(matches!(
            check("https://user:pw@1.1.1.1/").await,
            Err(Refused::Malformed(_))
        ));
        assert!(matches!(
            check("https://a*b/").await,
            Err(Refused::Malformed(_))
        ));
        assert!(matches!(
            check("https://example.com/#x").await,
            Err(Refused::Malformed(_))
        ));
        assert!(matches!(
            check("not a url").await,
            Err(Refused::Malformed(_))
        ));
        assert!(matches!(
            check("ftp://1.1.1.1/").await,
            Err(Refused::Malformed(_))
        ));
        assert!(check("https://1.1.1.1/hook").await.is_ok());
        assert!(check("http://127.0.0.1:9/hook").await.is_err());
        assert!(super::check("http://127.0.0.1:9/hook", true).await.is_ok());
    }
}
