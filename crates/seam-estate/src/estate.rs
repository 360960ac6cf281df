//! The loaded estate and its lookups.

use std::collections::HashMap;
use std::net::IpAddr;

use foldhash::fast::FixedState;
use seam_model::Ts;

use crate::clock;
use crate::identity::{Identifier, IdentifierKind, IdentityIndex, normalize_identifier};
use crate::model::{
    Ap, ApIdx, Asset, AssetIdx, Door, DoorIdx, DoorKind, Level, Network, NetworkIdx, Person,
    PersonIdx, PersonStatus, PortIdx, Resource, ResourceIdx, Site, SiteIdx, SwitchPort, Zone,
    ZoneIdx,
};
use crate::net::{CanonicalMac, PrefixTable, canonical_ip};

/// The sites and the people, valid and immutable: it exists only when every file checked out.
///
/// Lookups by id, reader, address or identifier are hash probes built at load. Indices such as
/// [`SiteIdx`] are valid only for the estate that produced them; the accessors that return an
/// entity by index panic on an index from another estate, as a slice would.
#[derive(Clone, Debug)]
pub struct Estate {
    pub(crate) sites: Vec<Site>,
    pub(crate) zones: Vec<Zone>,
    pub(crate) doors: Vec<Door>,
    pub(crate) aps: Vec<Ap>,
    pub(crate) switch_ports: Vec<SwitchPort>,
    pub(crate) networks: Vec<Network>,
    pub(crate) assets: Vec<Asset>,
    pub(crate) resources: Vec<Resource>,
    pub(crate) people: Vec<Person>,
    pub(crate) lookup: Lookup,
    /// Which source wins per attribute when directory changes disagree.
    pub(crate) precedence: crate::directory::Precedence,
    /// Per person and attribute, the source that set it last.
    pub(crate) owners: crate::directory::Owners,
}

/// Hash maps for lookups. The keys are fixed at load and only probed afterwards, so a fast
/// unkeyed hash is safe here: a caller choosing the probes cannot lengthen the chains.
pub(crate) type LookupMap<K, V> = HashMap<K, V, FixedState>;

/// The indices derived from the entities; rebuilt from them, never edited.
#[derive(Clone, Debug, Default)]
pub(crate) struct Lookup {
    site_by_id: LookupMap<String, SiteIdx>,
    zone_by_id: LookupMap<String, ZoneIdx>,
    door_by_id: LookupMap<String, DoorIdx>,
    ap_by_id: LookupMap<String, ApIdx>,
    switch_port_by_id: LookupMap<String, PortIdx>,
    network_by_id: LookupMap<String, NetworkIdx>,
    asset_by_id: LookupMap<String, AssetIdx>,
    resource_by_id: LookupMap<String, ResourceIdx>,
    /// Lowercase aliases of resources (application ids, share paths, host names).
    resource_by_alias: LookupMap<String, ResourceIdx>,
    /// Sensors that see passages through each door (door contacts, doorway counters), by door.
    door_sensors: Vec<Vec<AssetIdx>>,
    /// Sensors that count people in each zone (head counts, doorway counters), by zone.
    zone_counters: Vec<Vec<AssetIdx>>,
    /// By zone: every door into it has a reader, and a door out of it has one too, so that
    /// whoever leaves by badge must have badged in.
    entry_and_exit_badged: Vec<bool>,
    person_by_id: LookupMap<String, PersonIdx>,
    door_by_reader: LookupMap<String, DoorIdx>,
    ap_by_bssid: LookupMap<String, ApIdx>,
    asset_by_ip: LookupMap<IpAddr, AssetIdx>,
    asset_by_hostname: LookupMap<String, AssetIdx>,
    asset_by_mac: LookupMap<String, AssetIdx>,
    network_by_prefix: PrefixTable<NetworkIdx>,
    site_by_egress: PrefixTable<SiteIdx>,
    identities: IdentityIndex,
}

/// Maps each id to its position; the first wins (the loader has rejected repeats).
fn ids<T, I: Copy>(
    entities: &[T],
    id: impl Fn(&T) -> &str,
    index: impl Fn(u32) -> I,
) -> LookupMap<String, I> {
    let mut map = LookupMap::with_capacity_and_hasher(entities.len(), FixedState::default());
    for (position, entity) in (0u32..).zip(entities) {
        map.entry(id(entity).to_owned()).or_insert(index(position));
    }
    map
}

impl Lookup {
    /// A person added by a directory change.
    pub(crate) fn add_person(&mut self, id: String, index: PersonIdx) {
        self.person_by_id.entry(id).or_insert(index);
    }

    pub(crate) fn identities(&self) -> &IdentityIndex {
        &self.identities
    }

    pub(crate) fn identities_mut(&mut self) -> &mut IdentityIndex {
        &mut self.identities
    }

    pub(crate) fn build(estate: &Estate) -> Lookup {
        let mut lookup = Lookup {
            site_by_id: ids(&estate.sites, |site| &site.id, SiteIdx),
            zone_by_id: ids(&estate.zones, |zone| &zone.id, ZoneIdx),
            door_by_id: ids(&estate.doors, |door| &door.id, DoorIdx),
            ap_by_id: ids(&estate.aps, |ap| &ap.id, ApIdx),
            switch_port_by_id: ids(&estate.switch_ports, |port| &port.id, PortIdx),
            network_by_id: ids(&estate.networks, |network| &network.id, NetworkIdx),
            asset_by_id: ids(&estate.assets, |asset| &asset.id, AssetIdx),
            resource_by_id: ids(&estate.resources, |resource| &resource.id, ResourceIdx),
            person_by_id: ids(&estate.people, |person| &person.id, PersonIdx),
            ..Lookup::default()
        };
        for (position, door) in (0u32..).zip(&estate.doors) {
            for reader in &door.readers {
                lookup
                    .door_by_reader
                    .entry(reader.clone())
                    .or_insert(DoorIdx(position));
            }
        }
        // A door takes badges unless it is a fire or emergency exit without a reader: a door
        // without declared readers is reported by its own id.
        let badged = |door: &Door| {
            !door.readers.is_empty()
                || !matches!(door.kind, DoorKind::FireExit | DoorKind::Emergency)
        };
        lookup.entry_and_exit_badged = (0u32..)
            .zip(&estate.zones)
            .map(|(position, zone)| {
                // Only zones meant to be entered by badge alone: sensitive or anti-passback.
                // An office's doors let people through in twos all day.
                let guarded = zone.anti_passback || zone.sensitivity >= Level::High;
                let zone = Some(ZoneIdx(position));
                let mut entrances = estate
                    .doors
                    .iter()
                    .filter(|door| door.to == zone)
                    .peekable();
                let entered = entrances.peek().is_some();
                let all_badged = entrances.all(&badged);
                let badged_exit = estate
                    .doors
                    .iter()
                    .any(|door| door.from == zone && badged(door));
                guarded && entered && all_badged && badged_exit
            })
            .collect();
        lookup.door_sensors = vec![Vec::new(); estate.doors.len()];
        lookup.zone_counters = vec![Vec::new(); estate.zones.len()];
        for (position, asset) in (0u32..).zip(&estate.assets) {
            let Some(sensor) = &asset.sensor else {
                continue;
            };
            use crate::model::SensorKind;
            if let Some(door) = sensor.door
                && matches!(
                    sensor.kind,
                    SensorKind::DoorContact | SensorKind::DoorwayCounter
                )
                && let Some(list) = lookup.door_sensors.get_mut(door.index())
            {
                list.push(AssetIdx(position));
            }
            if matches!(
                sensor.kind,
                SensorKind::HeadCount | SensorKind::DoorwayCounter
            ) && let Some(list) = lookup.zone_counters.get_mut(asset.zone.index())
            {
                list.push(AssetIdx(position));
            }
        }
        for (position, resource) in (0u32..).zip(&estate.resources) {
            for alias in &resource.aliases {
                lookup
                    .resource_by_alias
                    .entry(alias.to_lowercase())
                    .or_insert(ResourceIdx(position));
            }
        }
        for (position, ap) in (0u32..).zip(&estate.aps) {
            for bssid in &ap.bssids {
                lookup
                    .ap_by_bssid
                    .entry(bssid.clone())
                    .or_insert(ApIdx(position));
            }
        }
        for (position, asset) in (0u32..).zip(&estate.assets) {
            for ip in &asset.ips {
                lookup
                    .asset_by_ip
                    .entry(canonical_ip(*ip))
                    .or_insert(AssetIdx(position));
            }
            for hostname in &asset.hostnames {
                lookup
                    .asset_by_hostname
                    .entry(hostname.clone())
                    .or_insert(AssetIdx(position));
            }
            for mac in &asset.macs {
                lookup
                    .asset_by_mac
                    .entry(mac.clone())
                    .or_insert(AssetIdx(position));
            }
        }
        let mut prefixes = Vec::new();
        for (position, network) in (0u32..).zip(&estate.networks) {
            prefixes.extend(
                network
                    .cidrs
                    .iter()
                    .map(|cidr| (*cidr, NetworkIdx(position))),
            );
        }
        lookup.network_by_prefix = PrefixTable::new(&prefixes);
        let mut egress = Vec::new();
        for (position, site) in (0u32..).zip(&estate.sites) {
            egress.extend(site.egress.iter().map(|cidr| (*cidr, SiteIdx(position))));
        }
        lookup.site_by_egress = PrefixTable::new(&egress);
        let holdings = (0u32..).zip(&estate.people).flat_map(|(position, person)| {
            person
                .identifiers
                .iter()
                .map(move |identifier| (PersonIdx(position), identifier))
        });
        lookup.identities = IdentityIndex::new(holdings);
        lookup
    }
}

impl Estate {
    /// An estate with nothing in it.
    pub fn empty() -> Estate {
        let mut estate = Estate {
            sites: Vec::new(),
            zones: Vec::new(),
            doors: Vec::new(),
            aps: Vec::new(),
            switch_ports: Vec::new(),
            networks: Vec::new(),
            assets: Vec::new(),
            resources: Vec::new(),
            people: Vec::new(),
            lookup: Lookup::default(),
            precedence: Default::default(),
            owners: Default::default(),
        };
        estate.lookup = Lookup::build(&estate);
        estate
    }
}

#[expect(
    clippy::indexing_slicing,
    reason = "an index is made only by the estate it indexes; a foreign one is a caller bug, as with slices"
)]
impl Estate {
    pub fn sites(&self) -> &[Site] {
        &self.sites
    }
    pub fn site(&self, index: SiteIdx) -> &Site {
        &self.sites[index.index()]
    }
    pub fn site_idx(&self, id: &str) -> Option<SiteIdx> {
        self.lookup.site_by_id.get(id).copied()
    }

    pub fn zones(&self) -> &[Zone] {
        &self.zones
    }
    pub fn zone(&self, index: ZoneIdx) -> &Zone {
        &self.zones[index.index()]
    }
    pub fn zone_idx(&self, id: &str) -> Option<ZoneIdx> {
        self.lookup.zone_by_id.get(id).copied()
    }

    pub fn doors(&self) -> &[Door] {
        &self.doors
    }
    pub fn door(&self, index: DoorIdx) -> &Door {
        &self.doors[index.index()]
    }
    pub fn door_idx(&self, id: &str) -> Option<DoorIdx> {
        self.lookup.door_by_id.get(id).copied()
    }

    pub fn aps(&self) -> &[Ap] {
        &self.aps
    }
    pub fn ap(&self, index: ApIdx) -> &Ap {
        &self.aps[index.index()]
    }
    pub fn ap_idx(&self, id: &str) -> Option<ApIdx> {
        self.lookup.ap_by_id.get(id).copied()
    }

    pub fn switch_ports(&self) -> &[SwitchPort] {
        &self.switch_ports
    }
    pub fn switch_port(&self, index: PortIdx) -> &SwitchPort {
        &self.switch_ports[index.index()]
    }
    pub fn switch_port_idx(&self, id: &str) -> Option<PortIdx> {
        self.lookup.switch_port_by_id.get(id).copied()
    }

    pub fn networks(&self) -> &[Network] {
        &self.networks
    }
    pub fn network(&self, index: NetworkIdx) -> &Network {
        &self.networks[index.index()]
    }
    pub fn network_idx(&self, id: &str) -> Option<NetworkIdx> {
        self.lookup.network_by_id.get(id).copied()
    }

    pub fn assets(&self) -> &[Asset] {
        &self.assets
    }
    pub fn asset(&self, index: AssetIdx) -> &Asset {
        &self.assets[index.index()]
    }
    pub fn asset_idx(&self, id: &str) -> Option<AssetIdx> {
        self.lookup.asset_by_id.get(id).copied()
    }

    pub fn resources(&self) -> &[Resource] {
        &self.resources
    }
    pub fn resource(&self, index: ResourceIdx) -> &Resource {
        &self.resources[index.index()]
    }
    pub fn resource_idx(&self, id: &str) -> Option<ResourceIdx> {
        self.lookup.resource_by_id.get(id).copied()
    }

    /// Sensors that see passages through `door` (door contacts, doorway counters on it).
    pub fn door_sensors(&self, door: DoorIdx) -> &[AssetIdx] {
        self.lookup
            .door_sensors
            .get(door.index())
            .map_or(&[], Vec::as_slice)
    }

    /// Sensors that count the people in `zone` (head counts, doorway counters).
    pub fn zone_counters(&self, zone: ZoneIdx) -> &[AssetIdx] {
        self.lookup
            .zone_counters
            .get(zone.index())
            .map_or(&[], Vec::as_slice)
    }

    /// Whether every way into `zone` is a door with a reader, and a way out has one too: a
    /// badge out of such a zone by someone never badged in means they got in without one.
    pub fn entry_and_exit_badged(&self, zone: ZoneIdx) -> bool {
        self.lookup
            .entry_and_exit_badged
            .get(zone.index())
            .copied()
            .unwrap_or(false)
    }

    /// The resource a source names: by its id, or by one of its aliases (any case).
    pub fn resource_by_name(&self, name: &str) -> Option<ResourceIdx> {
        if let Some(resource) = self.resource_idx(name) {
            return Some(resource);
        }
        if self.lookup.resource_by_alias.is_empty() {
            return None;
        }
        let name = name.trim();
        self.lookup
            .resource_by_alias
            .get(name)
            .or_else(|| self.lookup.resource_by_alias.get(&name.to_lowercase()))
            .copied()
    }

    pub fn people(&self) -> &[Person] {
        &self.people
    }
    pub fn person(&self, index: PersonIdx) -> &Person {
        &self.people[index.index()]
    }
    pub fn person_idx(&self, id: &str) -> Option<PersonIdx> {
        self.lookup.person_by_id.get(id).copied()
    }
}

impl Estate {
    /// The door a reader belongs to; a door's own id also names it, for systems that report
    /// doors rather than readers.
    pub fn door_by_reader(&self, reader: &str) -> Option<DoorIdx> {
        let reader = reader.trim();
        self.lookup
            .door_by_reader
            .get(reader)
            .or_else(|| self.lookup.door_by_id.get(reader))
            .copied()
    }

    /// The access point a source names: by its id, or by one of its radios' MACs (BSSIDs) in
    /// any usual notation, with or without the `:SSID` that Cisco ISE's Called-Station-ID and
    /// RADIUS add (`AA-BB-CC-DD-EE-FF:CorpWiFi`).
    pub fn ap_by_reference(&self, reference: &str) -> Option<ApIdx> {
        if let Some(ap) = self.ap_idx(reference) {
            return Some(ap);
        }
        if let Some(ap) = self.ap_by_bssid(reference) {
            return Some(ap);
        }
        // A MAC in colon or dash form is 17 characters, in dotted form 14; an SSID follows.
        let reference = reference.trim();
        [17, 14].into_iter().find_map(|len| {
            let (mac, rest) = (reference.get(..len)?, reference.get(len..)?);
            rest.starts_with(':')
                .then(|| self.ap_by_bssid(mac))
                .flatten()
        })
    }

    /// The access point that owns a radio MAC, written in any usual MAC notation.
    pub fn ap_by_bssid(&self, bssid: &str) -> Option<ApIdx> {
        self.lookup
            .ap_by_bssid
            .get(CanonicalMac::parse(bssid)?.as_str())
            .copied()
    }

    pub fn asset_by_ip(&self, ip: IpAddr) -> Option<AssetIdx> {
        self.lookup.asset_by_ip.get(&canonical_ip(ip)).copied()
    }

    /// The asset a source names: by its id, else by one of its host names.
    pub fn asset_by_name(&self, name: &str) -> Option<AssetIdx> {
        self.asset_idx(name)
            .or_else(|| self.asset_by_hostname(name))
    }

    /// Case-insensitive; a fully qualified name also finds the asset listed by its short name.
    pub fn asset_by_hostname(&self, hostname: &str) -> Option<AssetIdx> {
        let hostname = normalize_identifier(IdentifierKind::Device, hostname);
        let hostname = hostname.trim_end_matches('.');
        if let Some(asset) = self.lookup.asset_by_hostname.get(hostname) {
            return Some(*asset);
        }
        let (short, _domain) = hostname.split_once('.')?;
        self.lookup.asset_by_hostname.get(short).copied()
    }

    /// The asset with this MAC, written in any usual MAC notation.
    pub fn asset_by_mac(&self, mac: &str) -> Option<AssetIdx> {
        self.lookup
            .asset_by_mac
            .get(CanonicalMac::parse(mac)?.as_str())
            .copied()
    }

    /// The network whose prefix contains `ip`; the longest prefix wins.
    pub fn network_for_ip(&self, ip: IpAddr) -> Option<NetworkIdx> {
        self.lookup.network_by_prefix.longest_match(ip)
    }

    /// The site whose public (egress) addresses contain `ip`: traffic from inside the site.
    pub fn site_for_egress(&self, ip: IpAddr) -> Option<SiteIdx> {
        self.lookup.site_by_egress.longest_match(ip)
    }

    /// Identity at a time: the one person who held the identifier at `at`, or none. The value
    /// is normalized first (see [`normalize_identifier`]).
    pub fn resolve(&self, kind: IdentifierKind, value: &str, at: Ts) -> Option<PersonIdx> {
        self.lookup.identities.resolve(kind, value, at)
    }

    /// Starts loading what [`Estate::resolve`] of this identifier will read, so that a caller
    /// about to resolve many can overlap their cache misses. Changes nothing.
    pub fn prefetch_identifier(&self, kind: IdentifierKind, value: &str) {
        self.lookup.identities.prefetch(kind, value);
    }

    /// Every identifier of the person, in file order; empty for a foreign index.
    pub fn identifiers_of(&self, person: PersonIdx) -> &[Identifier] {
        self.people
            .get(person.index())
            .map_or(&[], |person| &person.identifiers)
    }

    /// The status in force at `at`: the last entry with `since <= at`, `inactive` before the first.
    pub fn status_at(&self, person: PersonIdx, at: Ts) -> PersonStatus {
        let Some(person) = self.people.get(person.index()) else {
            return PersonStatus::Inactive;
        };
        let started = person.status.partition_point(|change| change.since <= at);
        match started
            .checked_sub(1)
            .and_then(|last| person.status.get(last))
        {
            Some(change) => change.status.into(),
            None => PersonStatus::Inactive,
        }
    }

    /// Whether `at` is inside the person's window (visit or contract); `None` without a window.
    pub fn in_window(&self, person: PersonIdx, at: Ts) -> Option<bool> {
        let window = self.people.get(person.index())?.window?;
        Some(window.contains(at))
    }

    /// Whether `at` is inside the person's working hours, read in the home site's time zone;
    /// `None` without a schedule.
    pub fn in_schedule(&self, person: PersonIdx, at: Ts) -> Option<bool> {
        let person = self.people.get(person.index())?;
        let schedule = person.schedule?;
        let home = self.sites.get(person.home_site?.index())?;
        Some(schedule.contains_instant(&home.local, at))
    }

    /// Whether `at` is inside the person's working hours read in the time zone of `site`, where
    /// the event happens (nine to five on a trip is nine to five there), or of the home site
    /// when the event names no site; `None` without a schedule.
    pub fn in_schedule_at(&self, person: PersonIdx, site: Option<SiteIdx>, at: Ts) -> Option<bool> {
        let person = self.people.get(person.index())?;
        let schedule = person.schedule?;
        let site = self.sites.get(site.or(person.home_site)?.index())?;
        Some(schedule.contains_instant(&site.local, at))
    }

    /// Whether `at` is outside the site's business hours; `false` when the site has none.
    pub fn after_hours(&self, site: SiteIdx, at: Ts) -> bool {
        let Some(site) = self.sites.get(site.index()) else {
            return false;
        };
        match site.hours {
            Some(hours) => !hours.contains_instant(&site.local, at),
            None => false,
        }
    }

    /// Site-local midnight at or before `at`, correct across daylight-saving changes; UTC
    /// midnight for a foreign index.
    pub fn local_day_start(&self, site: SiteIdx, at: Ts) -> Ts {
        match self.sites.get(site.index()) {
            Some(site) => site.local.day_start(at),
            None => clock::local_day_start(&jiff::tz::TimeZone::UTC, at),
        }
    }

    /// The site-local civil date and time of `at`.
    pub fn local_datetime(&self, site: SiteIdx, at: Ts) -> Option<jiff::civil::DateTime> {
        let site = self.sites.get(site.index())?;
        Some(site.time_zone().to_datetime(at.to_timestamp()?))
    }

    /// Whether the person's clearances include the zone.
    pub fn cleared_for(&self, person: PersonIdx, zone: ZoneIdx) -> bool {
        self.people
            .get(person.index())
            .is_some_and(|person| person.clearances.binary_search(&zone).is_ok())
    }
}

/// Great-circle distance in kilometres between two points given in degrees (haversine, on a
/// sphere of the Earth's mean radius).
pub fn distance_km(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    const EARTH_MEAN_RADIUS_KM: f64 = 6371.0088;
    let (phi1, phi2) = (lat1.to_radians(), lat2.to_radians());
    let delta_phi = (lat2 - lat1).to_radians();
    let delta_lambda = (lon2 - lon1).to_radians();
    let half_chord = (delta_phi / 2.0).sin().powi(2)
        + phi1.cos() * phi2.cos() * (delta_lambda / 2.0).sin().powi(2);
    // Rounding can push the term a hair past 1 for antipodal points.
    2.0 * EARTH_MEAN_RADIUS_KM * half_chord.clamp(0.0, 1.0).sqrt().asin()
}
