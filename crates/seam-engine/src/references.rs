//! References an event makes to things the estate does not know (a reader, a door, an access
//! point, a switch port, an asset, a zone, a site). Such an event gets no place, and every
//! place-based rule is blind to it: they are worth listing before go-live (`seam check` with
//! sample exports) and counting while running.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use seam_estate::Estate;
use seam_model::{Event, Ts};

/// Bits of [`crate::context::Places::unknown`]: which kinds of place an event names that the
/// estate does not know.
#[derive(Debug)]
pub struct Unknown;

impl Unknown {
    pub const DOOR: u8 = 1;
    pub const READER: u8 = 1 << 1;
    pub const ACCESS_POINT: u8 = 1 << 2;
    pub const SWITCH_PORT: u8 = 1 << 3;
    pub const ASSET: u8 = 1 << 4;
    pub const ZONE: u8 = 1 << 5;
    pub const SITE: u8 = 1 << 6;
}

/// How many distinct unknown names are remembered; past it, references are only counted.
pub const MAX_UNKNOWN_NAMES: usize = 10_000;

/// One unknown name seen while running: how often, and when first and last.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seen {
    pub events: u64,
    pub first: Ts,
    pub last: Ts,
    /// The source that named it first.
    pub source: String,
}

/// The names events gave that the estate does not know, by kind, counted while running (and
/// kept in the engine's snapshots): `seam inspect unknown` lists them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnknownReferences {
    pub by_kind: BTreeMap<String, BTreeMap<String, Seen>>,
    /// References to names not remembered because [`MAX_UNKNOWN_NAMES`] was reached.
    #[serde(default)]
    pub not_kept: u64,
}

impl UnknownReferences {
    /// Notes the unknown names of `event`; `bits` says which kinds (from its places), so the
    /// names are looked up again only for an event that has some.
    pub fn note(&mut self, estate: &Estate, event: &Event, bits: u8) {
        if bits == 0 {
            return;
        }
        for (kind, name) in unknown_references(estate, event) {
            let names: usize = self.by_kind.values().map(BTreeMap::len).sum();
            let entry = self.by_kind.entry(kind.as_str().to_string()).or_default();
            match entry.get_mut(name) {
                Some(seen) => {
                    seen.events += 1;
                    seen.first = seen.first.min(event.time);
                    seen.last = seen.last.max(event.time);
                }
                None if names < MAX_UNKNOWN_NAMES => {
                    entry.insert(
                        name.to_string(),
                        Seen {
                            events: 1,
                            first: event.time,
                            last: event.time,
                            source: event.source.clone(),
                        },
                    );
                }
                None => self.not_kept += 1,
            }
        }
    }

    /// Distinct unknown names, and the events that named one.
    pub fn totals(&self) -> (usize, u64) {
        let names = self.by_kind.values().map(BTreeMap::len).sum();
        let events = self
            .by_kind
            .values()
            .flat_map(BTreeMap::values)
            .map(|seen| seen.events)
            .sum::<u64>()
            + self.not_kept;
        (names, events)
    }
}

/// What kind of thing a reference names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Reference {
    Door,
    Reader,
    AccessPoint,
    SwitchPort,
    Asset,
    Zone,
    Site,
}

impl Reference {
    pub fn as_str(self) -> &'static str {
        match self {
            Reference::Door => "door",
            Reference::Reader => "reader",
            Reference::AccessPoint => "access point",
            Reference::SwitchPort => "switch port",
            Reference::Asset => "asset",
            Reference::Zone => "zone",
            Reference::Site => "site",
        }
    }

    /// The names the estate knows of this kind, for suggestions.
    pub fn known(self, estate: &Estate) -> Vec<String> {
        match self {
            Reference::Door => estate.doors().iter().map(|d| d.id.clone()).collect(),
            Reference::Reader => estate
                .doors()
                .iter()
                .flat_map(|d| d.readers.iter().cloned())
                .collect(),
            Reference::AccessPoint => estate.aps().iter().map(|a| a.id.clone()).collect(),
            Reference::SwitchPort => estate.switch_ports().iter().map(|p| p.id.clone()).collect(),
            Reference::Asset => estate.assets().iter().map(|a| a.id.clone()).collect(),
            Reference::Zone => estate.zones().iter().map(|z| z.id.clone()).collect(),
            Reference::Site => estate.sites().iter().map(|s| s.id.clone()).collect(),
        }
    }
}

/// The names `event` gives that the estate does not know, by kind.
pub fn unknown_references<'e>(estate: &Estate, event: &'e Event) -> Vec<(Reference, &'e str)> {
    let mut unknown = Vec::new();
    let door_known = event
        .door
        .as_deref()
        .map(|id| estate.door_idx(id).is_some());
    if let (Some(false), Some(door)) = (door_known, event.door.as_deref()) {
        unknown.push((Reference::Door, door));
    }
    if let Some(reader) = event.reader.as_deref()
        && estate.door_by_reader(reader).is_none()
        && door_known != Some(true)
    {
        unknown.push((Reference::Reader, reader));
    }
    if let Some(ap) = event.ap.as_deref()
        && estate.ap_by_reference(ap).is_none()
    {
        unknown.push((Reference::AccessPoint, ap));
    }
    if let Some(port) = event.switch_port.as_deref()
        && estate.switch_port_idx(port).is_none()
    {
        unknown.push((Reference::SwitchPort, port));
    }
    if let Some(asset) = event.asset.as_deref()
        && estate.asset_by_name(asset).is_none()
    {
        unknown.push((Reference::Asset, asset));
    }
    if let Some(zone) = event.zone.as_deref()
        && estate.zone_idx(zone).is_none()
    {
        unknown.push((Reference::Zone, zone));
    }
    if let Some(site) = event.site.as_deref()
        && estate.site_idx(site).is_none()
    {
        unknown.push((Reference::Site, site));
    }
    unknown
}
