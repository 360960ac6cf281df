//! Where each workstation usually sends data: a small behaviour baseline.
//!
//! A machine talks to the same outside services day after day (updates, telemetry, mail, the
//! cloud drive its owner syncs). A destination becomes *usual* for an asset when the asset sent
//! to it while its owner was there (at its site and not in a meeting room, the cafe or a
//! classified area, or connected by VPN: whatever it sent was the owner's doing), or when it sent it small amounts (under 2 MB a flow) in three different
//! hours, owner there or not: background traffic. Data sent while the owner is away to a
//! destination that is not usual is what someone else at the keyboard, or malware, looks like.
//!
//! Destinations are kept by network (/24 for IPv4, /48 for IPv6), a bounded number per asset,
//! least recently used out first. An asset's baseline is judged only once it has been seen for
//! twelve hours. Everything is event time: learned in order, equal on replay, in snapshots.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use seam_model::Ts;

/// Destinations kept per asset: under 1 KiB each.
pub const MAX_DESTINATIONS: usize = 40;
/// How long an asset must have been seen before its baseline is trusted.
pub const WARM_UP_MS: i64 = 12 * 3_600_000;
/// A flow below this is background-sized.
pub const SMALL_FLOW_BYTES: u64 = 2_000_000;
/// In how many different hours a destination must get background-sized flows to be usual
/// without the owner there.
pub const BACKGROUND_HOURS: u8 = 3;

const HOUR_MS: i64 = 3_600_000;

/// One outside network an asset sent data to.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Destination {
    pub key: u32,
    /// The last flow to it.
    pub last: Ts,
    /// Usual: sent to with the owner there, or background-sized in enough different hours.
    pub usual: bool,
    /// Different hours with background-sized flows to it, up to [`BACKGROUND_HOURS`].
    pub hours: u8,
}

/// The outside networks one asset sent data to, and when it was first seen sending.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Destinations {
    pub since: Ts,
    pub seen: Vec<Destination>,
}

/// The network an address belongs to, as a key: the /24 of an IPv4 address, a digest of the
/// /48 of an IPv6 one (with the top bit set, so the two never meet).
pub fn network_key(ip: IpAddr) -> u32 {
    match ip {
        IpAddr::V4(v4) => u32::from(v4) >> 8,
        IpAddr::V6(v6) => {
            let [a, b, c, ..] = v6.segments();
            let mixed = (u64::from(a) << 32 | u64::from(b) << 16 | u64::from(c))
                .wrapping_mul(0x9e37_79b9_7f4a_7c15);
            let high = u32::try_from(mixed >> 32).unwrap_or(u32::MAX);
            high | 0x8000_0000
        }
    }
}

impl Destinations {
    /// Learns from one flow of `bytes` to `ip` at `at`; `owner_there` when the asset's owner
    /// was at its site or connected.
    pub fn learn(&mut self, ip: IpAddr, at: Ts, bytes: u64, owner_there: bool) {
        if self.seen.is_empty() {
            self.since = at;
        }
        let key = network_key(ip);
        let position = match self.seen.iter().position(|d| d.key == key) {
            Some(position) => position,
            None => {
                if self.seen.len() >= MAX_DESTINATIONS
                    && let Some(oldest) = self
                        .seen
                        .iter()
                        .enumerate()
                        .min_by_key(|(_, d)| (d.last, d.key))
                        .map(|(index, _)| index)
                {
                    self.seen.swap_remove(oldest);
                }
                self.seen.push(Destination {
                    key,
                    last: Ts(i64::MIN),
                    usual: false,
                    hours: 0,
                });
                self.seen.len() - 1
            }
        };
        let Some(destination) = self.seen.get_mut(position) else {
            return;
        };
        let new_hour =
            destination.last.millis().div_euclid(HOUR_MS) != at.millis().div_euclid(HOUR_MS);
        if bytes < SMALL_FLOW_BYTES && new_hour && destination.hours < BACKGROUND_HOURS {
            destination.hours += 1;
        }
        destination.usual |= owner_there || destination.hours >= BACKGROUND_HOURS;
        destination.last = destination.last.max(at);
    }

    /// Whether `ip` is a usual destination at `at`; `None` while the baseline is warming up.
    pub fn usual(&self, ip: IpAddr, at: Ts) -> Option<bool> {
        if at.millis().saturating_sub(self.since.millis()) < WARM_UP_MS {
            return None;
        }
        let key = network_key(ip);
        Some(self.seen.iter().any(|d| d.key == key && d.usual))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    const WARM: Ts = Ts(1_000 + WARM_UP_MS);

    #[test]
    fn sent_to_with_the_owner_there_is_usual_once_warm() {
        let mut d = Destinations::default();
        d.learn(ip("52.1.2.3"), Ts(1_000), 500_000, true);
        d.learn(ip("2001:db8:1::5"), Ts(2_000), 9_000_000, true);
        assert_eq!(d.usual(ip("52.1.2.200"), Ts(3_600_000)), None, "too young");
        assert_eq!(d.usual(ip("52.1.2.200"), WARM), Some(true), "same /24");
        assert_eq!(
            d.usual(ip("2001:db8:1:ffff::1"), WARM),
            Some(true),
            "same /48"
        );
        assert_eq!(d.usual(ip("185.220.101.7"), WARM), Some(false));
    }

    #[test]
    fn background_becomes_usual_after_three_hours_of_small_flows_but_uploads_never_do() {
        let mut d = Destinations::default();
        for hour in 0..3 {
            // Twice an hour: the same hour counts once.
            d.learn(ip("23.0.0.14"), Ts(1_000 + hour * HOUR_MS), 400_000, false);
            d.learn(ip("23.0.0.14"), Ts(2_000 + hour * HOUR_MS), 400_000, false);
            d.learn(
                ip("190.54.61.223"),
                Ts(1_000 + hour * HOUR_MS),
                9_000_000,
                false,
            );
        }
        assert_eq!(d.usual(ip("23.0.0.99"), WARM), Some(true));
        assert_eq!(d.usual(ip("190.54.61.1"), WARM), Some(false));
        let mut twice = Destinations::default();
        twice.learn(ip("23.0.0.14"), Ts(1_000), 400_000, false);
        twice.learn(ip("23.0.0.14"), Ts(1_000 + HOUR_MS), 400_000, false);
        assert_eq!(twice.usual(ip("23.0.0.14"), WARM), Some(false));
    }

    #[test]
    fn the_least_recently_used_goes_first_and_the_bound_holds() {
        let mut d = Destinations::default();
        for n in 0..(MAX_DESTINATIONS as u32 + 10) {
            let address = IpAddr::from(std::net::Ipv4Addr::from((n + 1) << 8));
            d.learn(address, Ts(1_000 + i64::from(n)), 1_000, true);
        }
        assert_eq!(d.seen.len(), MAX_DESTINATIONS);
        let first = IpAddr::from(std::net::Ipv4Addr::from(1u32 << 8));
        assert_eq!(d.usual(first, WARM), Some(false));
    }
}
