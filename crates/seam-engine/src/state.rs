//! Keyed engine state: per person, per zone, per asset, per device. All of it serializable.

use std::collections::{BTreeMap, HashSet};

use foldhash::fast::FixedState;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

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
    #[serde(default, skip_serializing_if = "SiteGrants::is_empty")]
    pub site_grants: SiteGrants,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bookings: Vec<Booking>,
}

impl PersonState {
    pub fn remember_grant(&mut self, site: SiteIdx, at: Ts) {
        self.site_grants.remember(site, at);
    }

    pub fn last_grant_at(&self, site: SiteIdx) -> Option<Ts> {
        self.site_grants.last_at(site)
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

/// The last granted badge per site, newest last, at most [`MAX_SITES_REMEMBERED`] sites. Kept
/// inline in the person's record: a badge event reads or writes it, and a separate list would
/// cost an allocation per person and a cache miss per badge. Written as a list of
/// `[site, time]` pairs.
#[derive(Clone, Copy, Debug)]
pub struct SiteGrants {
    len: u8,
    sites: [SiteIdx; MAX_SITES_REMEMBERED],
    times: [Ts; MAX_SITES_REMEMBERED],
}

impl Default for SiteGrants {
    fn default() -> SiteGrants {
        SiteGrants {
            len: 0,
            sites: [SiteIdx(0); MAX_SITES_REMEMBERED],
            times: [Ts(0); MAX_SITES_REMEMBERED],
        }
    }
}

/// Equal when they hold the same grants (slots past the length do not count).
impl PartialEq for SiteGrants {
    fn eq(&self, other: &SiteGrants) -> bool {
        self.iter().eq(other.iter())
    }
}

impl Eq for SiteGrants {}

impl SiteGrants {
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn len(&self) -> usize {
        usize::from(self.len)
    }

    /// (site, time) pairs, oldest first.
    pub fn iter(&self) -> impl Iterator<Item = (SiteIdx, Ts)> + '_ {
        self.sites
            .iter()
            .copied()
            .zip(self.times.iter().copied())
            .take(self.len())
    }

    pub fn last_at(&self, site: SiteIdx) -> Option<Ts> {
        self.iter()
            .find(|(known, _)| *known == site)
            .map(|(_, at)| at)
    }

    /// Records a grant at `site`, forgetting the site's earlier grant, then the oldest site.
    pub fn remember(&mut self, site: SiteIdx, at: Ts) {
        let known = self.iter().position(|(held, _)| held == site);
        // Drop the site's earlier grant, or the oldest when full, by shifting the rest down.
        let drop = match known {
            Some(position) => Some(position),
            None if self.len() == MAX_SITES_REMEMBERED => Some(0),
            None => None,
        };
        if let Some(position) = drop {
            let len = self.len();
            if let (Some(sites), Some(times)) = (
                self.sites.get_mut(position..len),
                self.times.get_mut(position..len),
            ) {
                sites.rotate_left(1);
                times.rotate_left(1);
            }
            self.len -= 1;
        }
        self.push(site, at);
    }

    fn push(&mut self, site: SiteIdx, at: Ts) {
        let next = self.len();
        if let (Some(slot_site), Some(slot_time)) =
            (self.sites.get_mut(next), self.times.get_mut(next))
        {
            *slot_site = site;
            *slot_time = at;
            self.len += 1;
        }
    }

    fn from_pairs(pairs: impl Iterator<Item = (SiteIdx, Ts)>) -> SiteGrants {
        let mut grants = SiteGrants::default();
        for (site, at) in pairs {
            grants.push(site, at);
        }
        grants
    }
}

impl Serialize for SiteGrants {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.iter())
    }
}

impl<'de> Deserialize<'de> for SiteGrants {
    /// A longer list (only in a hand-made snapshot) keeps its newest entries.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<SiteGrants, D::Error> {
        let pairs: Vec<(SiteIdx, Ts)> = Vec::deserialize(deserializer)?;
        let skip = pairs.len().saturating_sub(MAX_SITES_REMEMBERED);
        Ok(SiteGrants::from_pairs(pairs.into_iter().skip(skip)))
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ZoneState {
    /// The last people count an occupancy sensor reported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_count: Option<i64>,
    /// People whose presence was last placed in this zone (filtered by expiry when read).
    #[serde(default, skip_serializing_if = "Placed::is_empty")]
    pub placed: Placed,
}

/// A set of people, as a hash set: people move between zones on most badge events, and a
/// move should not walk a tree. Person indices come from the directory, not from events, so
/// a fixed hash seed cannot be steered into collisions; the set is only counted and looked
/// up, and it is written sorted, so no output depends on its order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Placed(HashSet<PersonIdx, FixedState>);

impl Placed {
    pub fn insert(&mut self, person: PersonIdx) -> bool {
        self.0.insert(person)
    }

    pub fn remove(&mut self, person: &PersonIdx) -> bool {
        self.0.remove(person)
    }

    pub fn contains(&self, person: &PersonIdx) -> bool {
        self.0.contains(person)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The people, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = &PersonIdx> {
        self.0.iter()
    }
}

impl Serialize for Placed {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut people: Vec<PersonIdx> = self.0.iter().copied().collect();
        people.sort_unstable();
        serializer.collect_seq(people)
    }
}

impl<'de> Deserialize<'de> for Placed {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Placed, D::Error> {
        let people: Vec<PersonIdx> = Vec::deserialize(deserializer)?;
        Ok(Placed(people.into_iter().collect()))
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn site_grants_keep_the_newest_grant_per_site_like_a_list() {
        // The list this replaced: drop the site's entry, append, drop the oldest past the bound.
        let mut reference: Vec<(SiteIdx, Ts)> = Vec::new();
        let mut grants = SiteGrants::default();
        let mut seed = 7u64;
        for time in 0..2_000 {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            let site = SiteIdx(u32::try_from((seed >> 33) % 7).unwrap());
            reference.retain(|(known, _)| *known != site);
            reference.push((site, Ts(time)));
            if reference.len() > MAX_SITES_REMEMBERED {
                reference.remove(0);
            }
            grants.remember(site, Ts(time));
            assert_eq!(grants.iter().collect::<Vec<_>>(), reference);
        }
        let text = serde_json::to_string(&grants).unwrap();
        assert_eq!(serde_json::to_string(&reference).unwrap(), text);
        assert_eq!(serde_json::from_str::<SiteGrants>(&text).unwrap(), grants);
    }

    #[test]
    fn placed_people_are_written_sorted() {
        let mut placed = Placed::default();
        for person in [9, 2, 7, 2, 5] {
            placed.insert(PersonIdx(person));
        }
        placed.remove(&PersonIdx(7));
        let text = serde_json::to_string(&placed).unwrap();
        assert_eq!(text, "[2,5,9]");
        assert_eq!(serde_json::from_str::<Placed>(&text).unwrap(), placed);
    }
}
