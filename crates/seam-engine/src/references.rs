//! References an event makes to things the estate does not know (a reader, a door, an access
//! point, a switch port, an asset, a zone, a site). Such an event gets no place, and every
//! place-based rule is blind to it: they are worth listing before go-live (`seam check` with
//! sample exports) and counting while running.

use seam_estate::Estate;
use seam_model::Event;

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
        && estate.asset_idx(asset).is_none()
        && estate.asset_by_hostname(asset).is_none()
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
