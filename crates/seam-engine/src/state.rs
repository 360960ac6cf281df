//! Keyed engine state: per person, per zone, per asset, per device. All of it serializable.

use std::collections::BTreeMap;

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
    /// The zone a badge last let them into (`None`: a badge last let them out of the site).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub badged_into: Option<ZoneIdx>,
    /// The last granted badge per site, newest last.
    #[serde(default, skip_serializing_if = "SiteGrants::is_empty")]
    pub site_grants: SiteGrants,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bookings: Vec<Booking>,
    /// Where they are in the list of the zone their presence names (see [`Placed`]).
    #[serde(skip)]
    pub zone_slot: ZoneSlot,
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
    /// When an occupancy sensor last reported the zone's count.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_count_at: Option<Ts>,
    /// People whose presence was last placed in this zone (filtered by expiry when read).
    #[serde(default, skip_serializing_if = "Placed::is_empty")]
    pub placed: Placed,
}

/// People whose presence was last placed in a zone, in no particular order. Each person's
/// position in the list is kept in their [`PersonState::zone_slot`], so a move between zones
/// is a swap-remove and a push: people move on most badge events, and hash-set operations in
/// sets of tens of thousands of people each cost a cache miss or two. Written sorted, so no
/// output depends on the order; equal when it holds the same people.
#[derive(Clone, Debug, Default)]
pub struct Placed(Vec<PersonIdx>);

impl Placed {
    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn contains(&self, person: &PersonIdx) -> bool {
        self.0.contains(person)
    }

    /// The people, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = &PersonIdx> {
        self.0.iter()
    }

    fn sorted(&self) -> Vec<PersonIdx> {
        let mut people = self.0.clone();
        people.sort_unstable();
        people
    }
}

impl PartialEq for Placed {
    fn eq(&self, other: &Placed) -> bool {
        self.len() == other.len() && self.sorted() == other.sorted()
    }
}

impl Eq for Placed {}

impl Serialize for Placed {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.sorted())
    }
}

impl<'de> Deserialize<'de> for Placed {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Placed, D::Error> {
        let mut people: Vec<PersonIdx> = Vec::deserialize(deserializer)?;
        people.sort_unstable();
        people.dedup();
        Ok(Placed(people))
    }
}

/// A person's position in their zone's [`Placed`] list. It is derived from the lists (and
/// rebuilt from them on restore), so it is not written, and it never makes two states differ.
#[derive(Clone, Copy, Debug, Default)]
pub struct ZoneSlot(u32);

impl PartialEq for ZoneSlot {
    fn eq(&self, _: &ZoneSlot) -> bool {
        true
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
    /// Events dated further ahead of their reference time than the allowed clock skew: stored
    /// and evaluated like late events, never moving the watermark.
    #[serde(default)]
    pub ahead: u64,
    /// Findings not raised because an approved change covered them (rules with
    /// `change: silence`).
    #[serde(default)]
    pub silenced_by_change: u64,
    /// Findings not raised because the pack's tuning switched their rule off there, or
    /// excepted what they were about.
    #[serde(default)]
    pub kept_back_by_tuning: u64,
    /// Directory changes applied, and refused as a whole (an unknown zone, a bad identifier).
    #[serde(default)]
    pub directory_changes: u64,
    #[serde(default)]
    pub directory_refused: u64,
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
    /// Approved change requests, by number.
    #[serde(default)]
    pub changes: crate::changes::Changes,
    /// When each door (by index) last reported a passage (door used, or not used).
    #[serde(default)]
    pub door_signals: BTreeMap<u32, Ts>,
    /// Per asset (by index), the outside networks it sent data to with its owner there.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub destinations: BTreeMap<u32, crate::destinations::Destinations>,
    /// Names of doors, readers, access points, … that events gave and the estate lacks.
    #[serde(default)]
    pub unknown: crate::references::UnknownReferences,
}

impl WorldState {
    /// Moves a person from the list of the zone they were placed in to the list of the zone
    /// they are placed in now.
    pub fn move_placed(&mut self, person: PersonIdx, from: Option<ZoneIdx>, to: Option<ZoneIdx>) {
        if let Some(placed) = from
            .and_then(|z| self.zones.get_mut(z.index()))
            .map(|z| &mut z.placed)
        {
            let recorded = self
                .people
                .get(person.index())
                .map(|p| p.zone_slot.0 as usize);
            let slot = recorded
                .filter(|slot| placed.0.get(*slot) == Some(&person))
                .or_else(|| placed.0.iter().position(|p| *p == person));
            if let Some(slot) = slot {
                placed.0.swap_remove(slot);
                if let Some(moved) = placed.0.get(slot)
                    && let Some(state) = self.people.get_mut(moved.index())
                {
                    state.zone_slot = ZoneSlot(u32::try_from(slot).unwrap_or(u32::MAX));
                }
            }
        }
        if let Some(placed) = to
            .and_then(|z| self.zones.get_mut(z.index()))
            .map(|z| &mut z.placed)
        {
            let slot = placed.0.len();
            placed.0.push(person);
            if let Some(state) = self.people.get_mut(person.index()) {
                state.zone_slot = ZoneSlot(u32::try_from(slot).unwrap_or(u32::MAX));
            }
        }
    }

    /// Works every person's [`ZoneSlot`] out again from the zones' lists, after a restore.
    pub fn reindex_placed(&mut self) {
        for zone in &self.zones {
            for (slot, person) in zone.placed.0.iter().enumerate() {
                if let Some(state) = self.people.get_mut(person.index()) {
                    state.zone_slot = ZoneSlot(u32::try_from(slot).unwrap_or(u32::MAX));
                }
            }
        }
    }
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
    fn placed_people_move_between_zones_like_sets() {
        // The sets this replaced: a person is in the set of the zone they were last placed in.
        let zones = 3;
        let mut world = WorldState {
            people: vec![PersonState::default(); 40],
            zones: vec![ZoneState::default(); zones],
            ..WorldState::default()
        };
        let mut reference: Vec<std::collections::BTreeSet<PersonIdx>> =
            vec![Default::default(); zones];
        let mut at: Vec<Option<ZoneIdx>> = vec![None; 40];
        let mut seed = 11u64;
        for step in 0..5_000 {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            let person = PersonIdx(u32::try_from((seed >> 33) % 40).unwrap());
            let to = match (seed >> 20) % 4 {
                3 => None,
                zone => Some(ZoneIdx(u32::try_from(zone).unwrap())),
            };
            let from = at[person.index()];
            if from == to {
                continue;
            }
            world.move_placed(person, from, to);
            if let Some(zone) = from {
                reference[zone.index()].remove(&person);
            }
            if let Some(zone) = to {
                reference[zone.index()].insert(person);
            }
            at[person.index()] = to;
            if step % 500 == 0 {
                // A restore rebuilds the slots from the lists alone.
                let text = serde_json::to_string(&world).unwrap();
                world = serde_json::from_str(&text).unwrap();
                world.reindex_placed();
            }
            for (zone, expected) in world.zones.iter().zip(&reference) {
                let held: std::collections::BTreeSet<PersonIdx> =
                    zone.placed.iter().copied().collect();
                assert_eq!(&held, expected);
                assert_eq!(zone.placed.len(), expected.len());
                // Every slot points at its person, so no move falls back to a search.
                for (slot, person) in zone.placed.iter().enumerate() {
                    assert_eq!(world.people[person.index()].zone_slot.0 as usize, slot);
                }
            }
        }
        let mut placed = Placed(vec![PersonIdx(9), PersonIdx(2), PersonIdx(5)]);
        let text = serde_json::to_string(&placed).unwrap();
        assert_eq!(text, "[2,5,9]");
        assert_eq!(serde_json::from_str::<Placed>(&text).unwrap(), placed);
        placed.0.reverse();
        assert_eq!(serde_json::from_str::<Placed>(&text).unwrap(), placed);
    }
}
