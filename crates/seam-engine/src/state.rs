//! Keyed engine state: per person, per zone, per asset, per device. All of it serializable.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use seam_estate::{PersonIdx, SiteIdx, ZoneIdx};
use seam_model::Ts;

use crate::identity::DynamicIdentity;
use crate::presence::Presence;

/// Bookings and per-site badge memories are small per person; bound them anyway.
pub const MAX_BOOKINGS_PER_PERSON: usize = 8;
pub const MAX_SITES_REMEMBERED: usize = 4;

/// The last place a person was located, for impossible-travel speeds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Located {
    pub lat: f64,
    pub lon: f64,
    pub at: Ts,
    /// The site, when the place was one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site: Option<SiteIdx>,
    /// Otherwise the sign-in's city or country (empty, and unallocated, for a site).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub label: String,
}

impl Located {
    pub fn name(&self, estate: &seam_estate::Estate) -> String {
        match self.site {
            Some(site) => estate.site(site).id.clone(),
            None => self.label.clone(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Booking {
    pub start: Ts,
    pub end: Ts,
    pub zone: ZoneIdx,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PersonState {
    pub presence: Presence,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_location: Option<Located>,
    /// The anti-passback zone they entered and have not badged out of.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inside_apb_zone: Option<ZoneIdx>,
    /// The last granted badge per site, newest last.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub site_grants: Vec<(SiteIdx, Ts)>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bookings: Vec<Booking>,
}

impl PersonState {
    pub fn remember_grant(&mut self, site: SiteIdx, at: Ts) {
        self.site_grants.retain(|(s, _)| *s != site);
        self.site_grants.push((site, at));
        if self.site_grants.len() > MAX_SITES_REMEMBERED {
            self.site_grants.remove(0);
        }
    }

    pub fn last_grant_at(&self, site: SiteIdx) -> Option<Ts> {
        self.site_grants
            .iter()
            .find(|(s, _)| *s == site)
            .map(|(_, at)| *at)
    }

    pub fn add_booking(&mut self, booking: Booking) {
        let now = booking.start;
        self.bookings
            .retain(|b| b.end > now.minus_millis(86_400_000));
        self.bookings.push(booking);
        if self.bookings.len() > MAX_BOOKINGS_PER_PERSON {
            self.bookings.remove(0);
        }
    }

    pub fn active_booking(&self, at: Ts) -> Option<&Booking> {
        self.bookings.iter().find(|b| b.start <= at && at < b.end)
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ZoneState {
    /// The last people count an occupancy sensor reported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_count: Option<i64>,
    /// People whose presence was last placed in this zone (filtered by expiry when read).
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub placed: BTreeSet<PersonIdx>,
}

/// A controller, camera or PACS server's health, for "knocked offline, then a door forced".
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AssetState {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offline_since: Option<Ts>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_changed_at: Option<Ts>,
}

/// How long after a configuration change a device still counts as degraded.
pub const CONFIG_CHANGE_WINDOW_MS: i64 = 30 * 60_000;

impl AssetState {
    pub fn degraded_at(&self, at: Ts) -> bool {
        self.offline_since.is_some_and(|since| since <= at)
            || self.config_changed_at.is_some_and(|changed| {
                changed <= at && at.millis() - changed.millis() <= CONFIG_CHANGE_WINDOW_MS
            })
    }
}

/// Counters kept in the state so a restored engine continues them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counters {
    pub events_in: u64,
    pub events_processed: u64,
    pub late: u64,
    pub duplicates: u64,
    pub unresolved: u64,
    pub findings: u64,
    pub forced_releases: u64,
    pub identity_conflicts: u64,
}

/// Everything the engine knows about the world besides rule windows.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct WorldState {
    pub people: Vec<PersonState>,
    pub zones: Vec<ZoneState>,
    pub assets: Vec<AssetState>,
    /// Device posture by normalized MAC or device id, from inventory events.
    pub posture: BTreeMap<String, bool>,
    pub identity: DynamicIdentity,
}
