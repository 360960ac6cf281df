//! Presence: where each person is believed to be, from which signals, and for how long.
//!
//! One model per person, fed by badges, Wi-Fi and wired network sessions, sign-ins from site
//! networks and VPN sessions. Many sites have no exit readers, so presence is never "until they
//! badge out": every signal has a time to live, and confidence decays linearly over it.
//! Everything here is a pure function of event time.

use serde::{Deserialize, Serialize};

use seam_estate::{SiteIdx, ZoneIdx};
use seam_model::Ts;

/// How long a person is still believed on site after their device left the network.
const LEFT_NETWORK_GRACE_MS: i64 = 15 * 60_000;

/// The kind of signal that placed the person.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Signal {
    #[default]
    None,
    Badge,
    Wifi,
    Wired,
    SiteSignIn,
    /// Badged out through a door to the outside.
    BadgeExit,
    Vpn,
}

impl Signal {
    pub fn as_str(self) -> &'static str {
        match self {
            Signal::None => "none",
            Signal::Badge => "badge",
            Signal::Wifi => "wifi",
            Signal::Wired => "wired",
            Signal::SiteSignIn => "site_sign_in",
            Signal::BadgeExit => "badge_exit",
            Signal::Vpn => "vpn",
        }
    }

    /// How long one signal keeps a person placed without a fresher one.
    pub fn time_to_live_ms(self) -> i64 {
        const MINUTE: i64 = 60_000;
        match self {
            Signal::None => 0,
            // A badge-in with no exit reader: a working day's stretch, then we stop believing it.
            Signal::Badge => 4 * 60 * MINUTE,
            // An association lasts until the client leaves: controllers log roams and
            // disassociations, not a heartbeat, so the signal holds like a badge and a
            // disassociation ends it (see `Presence::left_network`).
            Signal::Wifi => 4 * 60 * MINUTE,
            Signal::Wired => 8 * 60 * MINUTE,
            Signal::SiteSignIn => 60 * MINUTE,
            Signal::BadgeExit => 8 * 60 * MINUTE,
            Signal::Vpn => 8 * 60 * MINUTE,
        }
    }

    fn base_confidence(self) -> i64 {
        match self {
            Signal::None => 0,
            Signal::Badge | Signal::Wired => 90,
            Signal::Wifi => 80,
            Signal::BadgeExit => 85,
            Signal::SiteSignIn => 60,
            Signal::Vpn => 70,
        }
    }

    /// Physical signals cannot be produced from the other side of the world with a password.
    pub fn is_physical(self) -> bool {
        matches!(
            self,
            Signal::Badge | Signal::Wifi | Signal::Wired | Signal::BadgeExit
        )
    }
}

/// A person's believed whereabouts. `site == None` with a live signal means "off site".
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Presence {
    pub site: Option<SiteIdx>,
    pub zone: Option<ZoneIdx>,
    /// When they arrived where they are.
    pub since: Ts,
    pub last_signal_at: Ts,
    pub signal: Signal,
    /// Until when the signals seen so far place the person here.
    pub expires_at: Ts,
}

/// Presence as of one instant, for rules.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PresenceView {
    pub site: Option<SiteIdx>,
    pub zone: Option<ZoneIdx>,
    pub on_site: bool,
    pub signal: Signal,
    pub confidence: i64,
    pub age_ms: i64,
}

impl Presence {
    /// What is believed at `now`, or `None` when nothing recent supports it.
    pub fn view(&self, now: Ts) -> Option<PresenceView> {
        if self.signal == Signal::None {
            return None;
        }
        if now >= self.expires_at {
            return None;
        }
        let age_ms = now
            .millis()
            .saturating_sub(self.last_signal_at.millis())
            .max(0);
        let span = (self.expires_at.millis() - self.last_signal_at.millis()).max(1);
        // Linear decay to half the base confidence at expiry.
        let base = self.signal.base_confidence();
        let confidence = base - base * age_ms / span / 2;
        Some(PresenceView {
            site: self.site,
            zone: self.zone,
            on_site: self.site.is_some(),
            signal: self.signal,
            confidence,
            age_ms,
        })
    }

    /// A device of the person left the network at `site` (a Wi-Fi disassociation, a wired
    /// session stop): what placed them there is no longer believed beyond a short grace, long
    /// enough for a roam or a dock to show up.
    pub fn left_network(&mut self, now: Ts, site: SiteIdx) {
        let Some(view) = self.view(now) else { return };
        if view.site == Some(site) && view.signal.is_physical() && now >= self.last_signal_at {
            self.expires_at = self.expires_at.min(now.plus_millis(LEFT_NETWORK_GRACE_MS));
        }
    }

    /// The person's VPN session ended: being away on the VPN is no longer evidence of anything.
    pub fn vpn_ended(&mut self, now: Ts) {
        if self.signal == Signal::Vpn && now >= self.last_signal_at {
            self.expires_at = self.expires_at.min(now);
        }
    }

    /// Applies a signal that places the person at `site`/`zone` (or off site when `site` is None).
    pub fn place(&mut self, now: Ts, site: Option<SiteIdx>, zone: Option<ZoneIdx>, signal: Signal) {
        if now < self.last_signal_at {
            // Presence only moves forward in event time.
            return;
        }
        let current = self.view(now);
        if signal == Signal::Vpn {
            // A VPN session does not overrule a fresh physical signal: an attacker with the
            // password would otherwise erase the evidence that the owner is at her desk.
            if current.is_some_and(|view| view.on_site && view.signal.is_physical()) {
                return;
            }
        }
        if signal == Signal::SiteSignIn {
            // A sign-in from a site network says "on that site", never which zone; keep the zone
            // a physical signal gave if it is on the same site.
            if current.is_some_and(|view| view.site == site && view.signal.is_physical()) {
                return;
            }
        }
        let same_place = current.is_some_and(|view| view.site == site && view.zone == zone);
        if !same_place {
            self.since = now;
        }
        let expires_at = now.plus_millis(signal.time_to_live_ms());
        // A short-lived signal (Wi-Fi) on the same site does not cut short a longer one (a badge).
        let same_site = current.is_some_and(|view| view.site == site);
        self.expires_at = if same_site {
            self.expires_at.max(expires_at)
        } else {
            expires_at
        };
        self.site = site;
        self.zone = zone;
        self.last_signal_at = now;
        self.signal = signal;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HQ: SiteIdx = SiteIdx(0);
    const OFFICE: ZoneIdx = ZoneIdx(1);
    const MINUTE: i64 = 60_000;

    #[test]
    fn a_badge_places_and_decays_then_expires() {
        let mut presence = Presence::default();
        assert_eq!(presence.view(Ts(0)), None);
        presence.place(Ts(0), Some(HQ), Some(OFFICE), Signal::Badge);
        let fresh = presence.view(Ts(0)).unwrap();
        assert!(fresh.on_site);
        assert_eq!(fresh.confidence, 90);
        let later = presence.view(Ts(120 * MINUTE)).unwrap();
        assert!(later.confidence < 90 && later.confidence >= 45);
        assert_eq!(presence.view(Ts(240 * MINUTE)), None);
    }

    #[test]
    fn vpn_does_not_erase_a_fresh_physical_signal() {
        let mut presence = Presence::default();
        presence.place(Ts(0), Some(HQ), Some(OFFICE), Signal::Wifi);
        presence.place(Ts(MINUTE), None, None, Signal::Vpn);
        assert!(presence.view(Ts(MINUTE)).unwrap().on_site);
        // Once the Wi-Fi signal has expired, the VPN session is the best evidence.
        presence.place(Ts(5 * 60 * MINUTE), None, None, Signal::Vpn);
        assert!(!presence.view(Ts(5 * 60 * MINUTE)).unwrap().on_site);
    }

    #[test]
    fn a_wifi_signal_does_not_shorten_a_badge() {
        let mut presence = Presence::default();
        presence.place(Ts(0), Some(HQ), Some(OFFICE), Signal::Badge);
        presence.place(Ts(MINUTE), Some(HQ), Some(OFFICE), Signal::Wifi);
        let view = presence.view(Ts(90 * MINUTE)).unwrap();
        assert_eq!(view.signal, Signal::Wifi);
        assert!(view.confidence >= 60, "{}", view.confidence);
        assert_eq!(presence.view(Ts(242 * MINUTE)), None);
    }

    #[test]
    fn leaving_the_network_ends_presence_after_a_short_grace() {
        let mut presence = Presence::default();
        presence.place(Ts(0), Some(HQ), Some(OFFICE), Signal::Badge);
        presence.place(Ts(60 * MINUTE), Some(HQ), Some(OFFICE), Signal::Wifi);
        // A disassociation at another site says nothing about this one.
        presence.left_network(Ts(61 * MINUTE), SiteIdx(7));
        assert!(presence.view(Ts(100 * MINUTE)).is_some());
        presence.left_network(Ts(120 * MINUTE), HQ);
        assert!(
            presence.view(Ts(130 * MINUTE)).is_some(),
            "a roam gets its grace"
        );
        assert_eq!(presence.view(Ts(136 * MINUTE)), None);
        // A fresh association after the grace places the person again.
        presence.place(Ts(140 * MINUTE), Some(HQ), Some(OFFICE), Signal::Wifi);
        assert!(presence.view(Ts(200 * MINUTE)).unwrap().on_site);
    }

    #[test]
    fn the_end_of_a_vpn_session_ends_the_evidence_of_being_away() {
        let mut presence = Presence::default();
        presence.place(Ts(0), None, None, Signal::Vpn);
        assert!(!presence.view(Ts(MINUTE)).unwrap().on_site);
        presence.vpn_ended(Ts(2 * MINUTE));
        assert_eq!(presence.view(Ts(2 * MINUTE)), None);
        // The end of a VPN session does not touch a physical signal.
        presence.place(Ts(3 * MINUTE), Some(HQ), Some(OFFICE), Signal::Badge);
        presence.vpn_ended(Ts(4 * MINUTE));
        assert!(presence.view(Ts(5 * MINUTE)).unwrap().on_site);
    }

    #[test]
    fn older_signals_never_move_presence_back() {
        let mut presence = Presence::default();
        presence.place(Ts(10 * MINUTE), Some(HQ), Some(OFFICE), Signal::Badge);
        presence.place(Ts(5 * MINUTE), None, None, Signal::BadgeExit);
        assert_eq!(presence.view(Ts(10 * MINUTE)).unwrap().zone, Some(OFFICE));
    }

    #[test]
    fn a_site_sign_in_keeps_the_zone_of_a_physical_signal() {
        let mut presence = Presence::default();
        presence.place(Ts(0), Some(HQ), Some(OFFICE), Signal::Badge);
        presence.place(Ts(MINUTE), Some(HQ), None, Signal::SiteSignIn);
        let view = presence.view(Ts(MINUTE)).unwrap();
        assert_eq!((view.zone, view.signal), (Some(OFFICE), Signal::Badge));
    }
}
