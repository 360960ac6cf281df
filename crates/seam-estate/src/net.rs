//! Addresses: CIDR prefixes, longest-prefix lookup and MAC addresses.

use std::fmt;
use std::net::IpAddr;

use serde::{Serialize, Serializer};

use crate::estate::LookupMap;

/// An address prefix such as `10.10.0.0/16`; a bare address is a prefix of one host.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Cidr {
    address: IpAddr,
    prefix_len: u8,
}

/// Why a CIDR could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CidrError {
    /// Not an address, or a prefix length out of range.
    Malformed,
    /// Bits set after the prefix: the canonical form is attached.
    HostBitsSet(Cidr),
}

impl Cidr {
    /// Reads `address/length` or a bare address; the bits after the prefix must be zero.
    pub fn parse(text: &str) -> Result<Cidr, CidrError> {
        let (address_text, length_text) = match text.split_once('/') {
            Some((address, length)) => (address, Some(length)),
            None => (text, None),
        };
        let address: IpAddr = address_text.parse().map_err(|_| CidrError::Malformed)?;
        let max_len = max_prefix_len(address);
        let prefix_len = match length_text {
            None => max_len,
            Some(length) if !length.is_empty() && length.bytes().all(|b| b.is_ascii_digit()) => {
                length.parse::<u8>().map_err(|_| CidrError::Malformed)?
            }
            Some(_) => return Err(CidrError::Malformed),
        };
        if prefix_len > max_len {
            return Err(CidrError::Malformed);
        }
        let canonical = Cidr {
            address: mask(address, prefix_len),
            prefix_len,
        };
        if canonical.address != address {
            return Err(CidrError::HostBitsSet(canonical));
        }
        Ok(canonical)
    }

    pub const fn address(&self) -> IpAddr {
        self.address
    }

    pub const fn prefix_len(&self) -> u8 {
        self.prefix_len
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical_ip(ip);
        ip.is_ipv4() == self.address.is_ipv4() && mask(ip, self.prefix_len) == self.address
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.address, self.prefix_len)
    }
}

impl Serialize for Cidr {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

fn max_prefix_len(address: IpAddr) -> u8 {
    match address {
        IpAddr::V4(_) => 32,
        IpAddr::V6(_) => 128,
    }
}

fn mask(address: IpAddr, prefix_len: u8) -> IpAddr {
    match address {
        IpAddr::V4(v4) => {
            let bits = u32::from(v4);
            let kept = bits
                .checked_shr(32 - u32::from(prefix_len.min(32)))
                .unwrap_or(0);
            let masked = kept
                .checked_shl(32 - u32::from(prefix_len.min(32)))
                .unwrap_or(0);
            IpAddr::V4(masked.into())
        }
        IpAddr::V6(v6) => {
            let bits = u128::from(v6);
            let kept = bits
                .checked_shr(128 - u32::from(prefix_len.min(128)))
                .unwrap_or(0);
            let masked = kept
                .checked_shl(128 - u32::from(prefix_len.min(128)))
                .unwrap_or(0);
            IpAddr::V6(masked.into())
        }
    }
}

/// An IPv4-mapped IPv6 address (`::ffff:10.0.0.1`) is the IPv4 address it carries.
pub fn canonical_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        IpAddr::V4(_) => ip,
    }
}

/// Longest-prefix match: one hash map per family and prefix length present, longest first, so a
/// lookup costs at most one probe per distinct length.
#[derive(Clone, Debug)]
pub(crate) struct PrefixTable<T> {
    /// (is IPv4, prefix length, masked address -> value), longest prefixes first.
    by_length: Vec<(bool, u8, LookupMap<IpAddr, T>)>,
}

impl<T> Default for PrefixTable<T> {
    fn default() -> PrefixTable<T> {
        PrefixTable {
            by_length: Vec::new(),
        }
    }
}

impl<T: Copy> PrefixTable<T> {
    /// Builds the table; of two equal prefixes the first listed wins (the loader rejects them).
    pub(crate) fn new(entries: &[(Cidr, T)]) -> PrefixTable<T> {
        let mut by_length: Vec<(bool, u8, LookupMap<IpAddr, T>)> = Vec::new();
        for (cidr, value) in entries {
            let is_v4 = cidr.address.is_ipv4();
            let same_length = by_length
                .iter_mut()
                .find(|(v4, length, _)| *v4 == is_v4 && *length == cidr.prefix_len);
            match same_length {
                Some((_, _, map)) => {
                    map.entry(cidr.address).or_insert(*value);
                }
                None => by_length.push((
                    is_v4,
                    cidr.prefix_len,
                    LookupMap::from_iter([(cidr.address, *value)]),
                )),
            }
        }
        by_length.sort_by_key(|(is_v4, length, _)| (*is_v4, std::cmp::Reverse(*length)));
        PrefixTable { by_length }
    }

    pub(crate) fn longest_match(&self, ip: IpAddr) -> Option<T> {
        let ip = canonical_ip(ip);
        for (is_v4, length, map) in &self.by_length {
            if *is_v4 != ip.is_ipv4() {
                continue;
            }
            if let Some(value) = map.get(&mask(ip, *length)) {
                return Some(*value);
            }
        }
        None
    }
}

/// A MAC in canonical form, `aa:bb:cc:dd:ee:ff`, held without allocating.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct CanonicalMac([u8; 17]);

impl CanonicalMac {
    /// Reads a MAC address written with `:`, `-` or `.` separators (or none), in any case.
    pub(crate) fn parse(text: &str) -> Option<CanonicalMac> {
        let mut canonical = [b':'; 17];
        let mut count = 0usize;
        for byte in crate::identity::trim(text).bytes() {
            match byte {
                b':' | b'-' | b'.' => {}
                _ if byte.is_ascii_hexdigit() => {
                    // Two digits, then a colon: digit n goes to n + n / 2.
                    let slot = canonical.get_mut(count + count / 2)?;
                    *slot = byte.to_ascii_lowercase();
                    count += 1;
                }
                _ => return None,
            }
        }
        (count == 12).then_some(CanonicalMac(canonical))
    }

    pub(crate) fn as_str(&self) -> &str {
        // Only ASCII hex digits and colons are ever written into it.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

/// Reads a MAC address written with `:`, `-` or `.` separators (or none) into the canonical
/// lowercase `aa:bb:cc:dd:ee:ff`.
pub fn parse_mac(text: &str) -> Option<String> {
    CanonicalMac::parse(text).map(|mac| mac.as_str().to_owned())
}

/// Whether `text` is already `aa:bb:cc:dd:ee:ff` (lowercase), so it needs no copy.
pub(crate) fn is_canonical_mac(text: &str) -> bool {
    text.len() == 17
        && text.bytes().enumerate().all(|(position, byte)| {
            if position % 3 == 2 {
                byte == b':'
            } else {
                byte.is_ascii_digit() || (b'a'..=b'f').contains(&byte)
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn cidrs_parse_strictly() {
        assert_eq!(
            Cidr::parse("10.10.0.0/16").unwrap().to_string(),
            "10.10.0.0/16"
        );
        assert_eq!(
            Cidr::parse("198.51.100.7").unwrap().to_string(),
            "198.51.100.7/32"
        );
        assert_eq!(
            Cidr::parse("2001:db8::/32").unwrap().to_string(),
            "2001:db8::/32"
        );
        assert_eq!(Cidr::parse("0.0.0.0/0").unwrap().prefix_len(), 0);
        assert_eq!(
            Cidr::parse("10.10.1.0/16"),
            Err(CidrError::HostBitsSet(Cidr::parse("10.10.0.0/16").unwrap()))
        );
        for bad in [
            "10.10.0.0/33",
            "10.10.0/16",
            "10.10.0.0/",
            "10.10.0.0/+8",
            "x",
            "::/129",
        ] {
            assert_eq!(Cidr::parse(bad), Err(CidrError::Malformed), "{bad}");
        }
    }

    #[test]
    fn contains_respects_family_and_mapping() {
        let cidr = Cidr::parse("10.10.0.0/16").unwrap();
        assert!(cidr.contains(ip("10.10.255.1")));
        assert!(cidr.contains(ip("::ffff:10.10.0.1")));
        assert!(!cidr.contains(ip("10.11.0.1")));
        assert!(!Cidr::parse("::/0").unwrap().contains(ip("10.0.0.1")));
    }

    #[test]
    fn longest_prefix_wins() {
        let table = PrefixTable::new(&[
            (Cidr::parse("10.0.0.0/8").unwrap(), 1),
            (Cidr::parse("10.10.0.0/16").unwrap(), 2),
            (Cidr::parse("10.10.1.5").unwrap(), 3),
            (Cidr::parse("::/0").unwrap(), 4),
            (Cidr::parse("2001:db8::1/128").unwrap(), 5),
        ]);
        assert_eq!(table.longest_match(ip("10.10.1.5")), Some(3));
        assert_eq!(table.longest_match(ip("10.10.1.6")), Some(2));
        assert_eq!(table.longest_match(ip("10.99.0.1")), Some(1));
        assert_eq!(table.longest_match(ip("11.0.0.1")), None);
        assert_eq!(table.longest_match(ip("2001:db8::2")), Some(4));
        assert_eq!(table.longest_match(ip("2001:db8::1")), Some(5));
        assert_eq!(table.longest_match(ip("::ffff:10.10.1.5")), Some(3));
    }

    #[test]
    fn macs_become_canonical() {
        for text in [
            "3C:22:FB:00:00:01",
            "3c-22-fb-00-00-01",
            "3c22.fb00.0001",
            " 3c22fb000001 ",
        ] {
            assert_eq!(
                parse_mac(text).as_deref(),
                Some("3c:22:fb:00:00:01"),
                "{text}"
            );
        }
        for bad in [
            "3c:22:fb:00:00",
            "3c:22:fb:00:00:01:02",
            "3c:22:fb:00:00:0g",
            "",
        ] {
            assert_eq!(parse_mac(bad), None, "{bad}");
        }
        assert!(is_canonical_mac("3c:22:fb:00:00:01"));
        assert!(!is_canonical_mac("3C:22:FB:00:00:01"));
        assert!(!is_canonical_mac("3c-22-fb-00-00-01"));
    }
}
