//! Approved change requests: work that is expected. A change names people (directly, or by
//! an assignment group that is among their roles), configuration items (assets by id or host
//! name, zones, resources) and a planned window. Activity by one of its people on one of its
//! items inside the window is covered by it; each rule decides whether that silences its
//! finding or only names the change (`change:` in the rule).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use seam_estate::{AssetIdx, Estate, IdentifierKind, PersonIdx, ZoneIdx};
use seam_model::{Activity, ChangeDetails, Ts};

/// How far before its planned start and after its planned end a change still covers work:
/// engineers badge in a little early and finish a little late.
pub const CHANGE_GRACE_MS: i64 = 30 * 60_000;

/// How long after its end a change is kept (a late event inside its window still finds it).
const KEEP_AFTER_END_MS: i64 = 24 * 3_600_000;

/// One approved change, resolved against the estate.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ActiveChange {
    /// When the change system last updated it: an older update arriving later is ignored.
    pub updated: Ts,
    /// False once closed, cancelled or sent back for approval (kept so that an older,
    /// approved update arriving late does not bring it back).
    pub approved: bool,
    pub start: Ts,
    pub end: Ts,
    pub people: Vec<PersonIdx>,
    pub groups: Vec<String>,
    pub assets: Vec<AssetIdx>,
    /// The zones of its assets and the zones it names itself.
    pub zones: Vec<ZoneIdx>,
    /// The zones it names itself (a room): every asset in them is one of its items.
    #[serde(default)]
    pub rooms: Vec<ZoneIdx>,
}

/// The approved changes, by number.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Changes {
    by_number: BTreeMap<String, ActiveChange>,
}

impl Changes {
    /// Applies one change-request event: an approved, scheduled change is (re)recorded; any
    /// other state (closed, cancelled, back to pending) withdraws it.
    pub fn record(
        &mut self,
        estate: &Estate,
        activity: Activity,
        change: &ChangeDetails,
        updated: Ts,
    ) {
        if let Some(known) = self.by_number.get_mut(&change.number) {
            if known.updated > updated {
                return;
            }
            if activity != Activity::ChangeScheduled {
                known.updated = updated;
                known.approved = false;
                return;
            }
        }
        let at = change.start;
        // Only an approved change's people and items are needed; others are kept as withdrawn.
        let approved = activity == Activity::ChangeScheduled;
        let mut people = Vec::new();
        for name in change.assignees.iter().filter(|_| approved) {
            let found = [
                IdentifierKind::Username,
                IdentifierKind::Upn,
                IdentifierKind::Email,
            ]
            .into_iter()
            .find_map(|kind| estate.resolve(kind, name, at))
            .or_else(|| estate.person_idx(name))
            .or_else(|| {
                // A display name ("Bob Tanaka") as the change system shows it.
                estate
                    .people()
                    .iter()
                    .position(|p| p.name.eq_ignore_ascii_case(name))
                    .and_then(|i| u32::try_from(i).ok())
                    .map(PersonIdx)
            });
            if let Some(person) = found
                && !people.contains(&person)
            {
                people.push(person);
            }
        }
        let mut assets = Vec::new();
        let mut zones = Vec::new();
        let mut rooms = Vec::new();
        for item in change.items.iter().filter(|_| approved) {
            let asset = estate.asset_by_name(item).or_else(|| {
                estate
                    .resource_idx(item)
                    .and_then(|r| estate.resource(r).asset)
            });
            if let Some(asset) = asset {
                if !assets.contains(&asset) {
                    assets.push(asset);
                }
                let zone = estate.asset(asset).zone;
                if !zones.contains(&zone) {
                    zones.push(zone);
                }
            } else if let Some(zone) = estate.zone_idx(item) {
                if !zones.contains(&zone) {
                    zones.push(zone);
                }
                if !rooms.contains(&zone) {
                    rooms.push(zone);
                }
            }
        }
        self.by_number.insert(
            change.number.clone(),
            ActiveChange {
                updated,
                approved: activity == Activity::ChangeScheduled,
                start: change.start,
                end: change.end,
                people,
                groups: change.groups.clone(),
                assets,
                zones,
                rooms,
            },
        );
    }

    /// The number of an approved change that covers `person` working at `asset` or in `zone`
    /// at `at`; the earliest-numbered when several do. Work on an asset is covered when the
    /// asset is one of the change's items or stands in a room the change names; an event with
    /// no asset (a badge at the room's door) when its zone holds one of the items.
    pub fn covering(
        &self,
        estate: &Estate,
        person: PersonIdx,
        asset: Option<AssetIdx>,
        zone: Option<ZoneIdx>,
        at: Ts,
    ) -> Option<&str> {
        self.by_number.iter().find_map(|(number, change)| {
            let in_window = at >= change.start.minus_millis(CHANGE_GRACE_MS)
                && at <= change.end.plus_millis(CHANGE_GRACE_MS);
            let on_item = match asset {
                Some(asset) => {
                    change.assets.contains(&asset)
                        || change.rooms.contains(&estate.asset(asset).zone)
                }
                None => zone.is_some_and(|z| change.zones.contains(&z)),
            };
            let assigned = change.people.contains(&person)
                || (!change.groups.is_empty()
                    && estate.person(person).roles.iter().any(|role| {
                        change
                            .groups
                            .iter()
                            .any(|group| group.eq_ignore_ascii_case(role))
                    }));
            (change.approved && in_window && on_item && assigned).then_some(number.as_str())
        })
    }

    /// Forgets changes that ended more than a day before `now`.
    pub fn prune(&mut self, now: Ts) {
        let horizon = now.minus_millis(KEEP_AFTER_END_MS);
        self.by_number
            .retain(|_, change| change.end >= horizon || change.updated >= horizon);
    }

    pub fn len(&self) -> usize {
        self.by_number.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_number.is_empty()
    }
}
