//! Pass 3 of loading: resolve every reference and check what must agree across entries.

use seam_model::text::did_you_mean;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::IpAddr;

use seam_model::Ts;
use toml::Spanned;

use crate::clock::{ClockTime, DailyHours, LocalTime, Weekdays, Window};
use crate::error::{EntityKind, Problem};
use crate::identity::{Identifier, IdentifierKind, normalize_identifier};
use crate::load::{Claim, Entry, Loader, Origin, Registry};
use crate::model::{
    Ap, Asset, AssetIdx, AssetKind, Door, DoorIdx, DoorKind, Network, NetworkIdx, Person,
    PersonIdx, PortKind, Resource, SensorSpec, Site, SiteIdx, SiteStatus, StatusChange, SwitchPort,
    Zone, ZoneIdx, ZoneKind,
};
use crate::net::{Cidr, CidrError, canonical_ip, parse_mac};
use crate::raw::{
    RawAp, RawAsset, RawDoor, RawNetwork, RawPerson, RawResource, RawSite, RawSwitchPort, RawZone,
    Scalar, SpannedScalar, Text,
};

const TIME_EXPECTED: &str = "an RFC 3339 time with an offset, such as `2026-03-02T09:15:00Z`";
const CLOCK_EXPECTED: &str = "`HH:MM` on a 24-hour clock, such as `07:00`";
const DAY_EXPECTED: &str = "one of `mon`, `tue`, `wed`, `thu`, `fri`, `sat`, `sun`";
const CIDR_EXPECTED: &str = "an address with a prefix length, such as `10.10.0.0/16`";
const MAC_EXPECTED: &str = "six bytes in hex, such as `3c:22:fb:00:00:01`";

/// Stands in for a reference that did not resolve. It never leaves the loader: a problem was
/// reported for it, so no estate is built.
const UNRESOLVED: u32 = u32::MAX;

/// The entry a problem belongs to: its file, its kind and its id.
#[derive(Clone, Copy)]
struct Owner<'r> {
    file: usize,
    entity: EntityKind,
    id: &'r Text,
}

impl Owner<'_> {
    fn of<'r, T>(entry: &Entry<T>, entity: EntityKind, id: &'r Text) -> Owner<'r> {
        Owner {
            file: entry.file,
            entity,
            id,
        }
    }

    fn at<U>(&self, spanned: &Spanned<U>) -> Origin {
        Origin {
            file: self.file,
            offset: spanned.span().start,
        }
    }

    fn id(&self) -> String {
        self.id.get_ref().clone()
    }
}

/// How a table of daily hours names its keys: `hours` has `open`/`close`, `schedule` has
/// `start`/`end`.
struct HoursKeys {
    table: &'static str,
    start: &'static str,
    end: &'static str,
}

/// The pieces of a table of daily hours, borrowed from the raw entry.
struct HoursTable<'r> {
    at: Origin,
    days: &'r Spanned<Vec<Text>>,
    start: &'r SpannedScalar,
    end: &'r SpannedScalar,
    keys: HoursKeys,
}

/// The checks of pass 3, with the ids registered in pass 2.
pub(crate) struct Checker<'l, 'a> {
    pub(crate) loader: &'l mut Loader<'a>,
    pub(crate) registry: &'l Registry,
    /// Entries that could not be read: references to them are not reported a second time.
    pub(crate) unreadable: &'l BTreeSet<(EntityKind, String)>,
}

impl Checker<'_, '_> {
    fn report(&mut self, origin: Origin, problem: Problem) {
        self.loader.report(origin, problem);
    }

    /// Resolves a reference to an entity of kind `target`, reporting it when it names nothing.
    fn reference(&mut self, owner: Owner<'_>, target: EntityKind, reference: &Text) -> Option<u32> {
        let value = reference.get_ref();
        if let Some(index) = self.registry.get(target, value) {
            return Some(index);
        }
        if !self.unreadable.contains(&(target, value.clone())) {
            let suggestion = did_you_mean(value, self.registry.ids(target));
            let problem = Problem::UnknownReference {
                target,
                value: value.clone(),
                entity: owner.entity,
                id: owner.id(),
                expected: format!("one of the {} in the estate{suggestion}", plural(target)),
            };
            self.report(owner.at(reference), problem);
        }
        None
    }

    fn invalid(&mut self, owner: Owner<'_>, at: Origin, what: &str, value: &str, expected: &str) {
        let problem = Problem::InvalidValue {
            what: what.to_owned(),
            value: value.to_owned(),
            entity: owner.entity,
            id: owner.id(),
            expected: expected.to_owned(),
        };
        self.report(at, problem);
    }

    fn inconsistent(&mut self, owner: Owner<'_>, at: Origin, message: String, expected: String) {
        let problem = Problem::Inconsistent {
            message,
            entity: owner.entity,
            id: owner.id(),
            expected,
        };
        self.report(at, problem);
    }

    fn time(&mut self, owner: Owner<'_>, value: &SpannedScalar) -> Option<Ts> {
        let Scalar(text) = value.get_ref();
        let time = Ts::parse(text).ok();
        if time.is_none() {
            self.invalid(owner, owner.at(value), "time", text, TIME_EXPECTED);
        }
        time
    }

    fn clock(&mut self, owner: Owner<'_>, value: &SpannedScalar) -> Option<ClockTime> {
        let Scalar(text) = value.get_ref();
        let clock = ClockTime::parse(text.trim());
        if clock.is_none() {
            self.invalid(owner, owner.at(value), "clock time", text, CLOCK_EXPECTED);
        }
        clock
    }

    fn hours(&mut self, owner: Owner<'_>, table: HoursTable<'_>) -> Option<DailyHours> {
        let HoursKeys {
            table: table_key,
            start: start_key,
            end: end_key,
        } = table.keys;
        let mut days = Weekdays::NONE;
        let mut every_day_read = true;
        for day in table.days.get_ref() {
            match Weekdays::parse_day(day.get_ref().trim()) {
                Some(one) => days = days.union(one),
                None => {
                    self.invalid(owner, owner.at(day), "day", day.get_ref(), DAY_EXPECTED);
                    every_day_read = false;
                }
            }
        }
        if table.days.get_ref().is_empty() {
            let message = format!("empty `days` in `{table_key}`");
            let expected = "at least one day, such as `mon`".to_owned();
            self.inconsistent(owner, owner.at(table.days), message, expected);
        }
        let start = self.clock(owner, table.start);
        let end = self.clock(owner, table.end);
        let (start, end) = (start?, end?);
        if start == end {
            let message = format!("`{start_key}` equals `{end_key}` in `{table_key}`");
            let expected = format!(
                "two different times (hours that cross midnight have `{end_key}` before `{start_key}`)"
            );
            self.inconsistent(owner, table.at, message, expected);
            return None;
        }
        (every_day_read && !days.is_empty()).then_some(DailyHours { days, start, end })
    }

    fn cidr(&mut self, owner: Owner<'_>, text: &Text) -> Option<Cidr> {
        match Cidr::parse(text.get_ref().trim()) {
            Ok(cidr) => Some(cidr),
            Err(CidrError::Malformed) => {
                self.invalid(owner, owner.at(text), "CIDR", text.get_ref(), CIDR_EXPECTED);
                None
            }
            Err(CidrError::HostBitsSet(canonical)) => {
                let expected = format!("`{canonical}`, with the bits after the prefix zero");
                self.invalid(owner, owner.at(text), "CIDR", text.get_ref(), &expected);
                None
            }
        }
    }

    fn mac(&mut self, owner: Owner<'_>, at: Origin, text: &str, what: &str) -> Option<String> {
        let mac = parse_mac(text);
        if mac.is_none() {
            self.invalid(owner, at, what, text, MAC_EXPECTED);
        }
        mac
    }

    pub(crate) fn site(&mut self, entry: &Entry<RawSite>) -> Site {
        let raw = &entry.raw;
        let owner = Owner::of(entry, EntityKind::Site, &raw.id);
        let timezone = raw.timezone.get_ref().trim();
        let tz = match jiff::tz::TimeZone::get(timezone) {
            Ok(tz) => tz,
            Err(_) => {
                let expected = "an IANA time zone name, such as `Europe/Amsterdam`";
                self.invalid(
                    owner,
                    owner.at(&raw.timezone),
                    "time zone",
                    timezone,
                    expected,
                );
                jiff::tz::TimeZone::UTC
            }
        };
        let lat = *raw.lat.get_ref();
        if !(-90.0..=90.0).contains(&lat) {
            let expected = "degrees from -90 to 90";
            self.invalid(
                owner,
                owner.at(&raw.lat),
                "latitude",
                &lat.to_string(),
                expected,
            );
        }
        let lon = *raw.lon.get_ref();
        if !(-180.0..=180.0).contains(&lon) {
            let expected = "degrees from -180 to 180";
            self.invalid(
                owner,
                owner.at(&raw.lon),
                "longitude",
                &lon.to_string(),
                expected,
            );
        }
        let egress = raw
            .egress
            .iter()
            .filter_map(|text| self.cidr(owner, text))
            .collect();
        let decommissioned_since = raw
            .decommissioned_since
            .as_ref()
            .and_then(|since| self.time(owner, since));
        match (raw.status, &raw.decommissioned_since) {
            (SiteStatus::Decommissioned, None) => self.inconsistent(
                owner,
                owner.at(&raw.id),
                "missing `decommissioned_since`".to_owned(),
                "the time the site was decommissioned, as its status is `decommissioned`"
                    .to_owned(),
            ),
            (SiteStatus::Active, Some(since)) => self.inconsistent(
                owner,
                owner.at(since),
                "unexpected `decommissioned_since`".to_owned(),
                "it only with `status = \"decommissioned\"`".to_owned(),
            ),
            _ => {}
        }
        let hours = raw.hours.as_ref().and_then(|hours| {
            let table = HoursTable {
                at: owner.at(hours),
                days: &hours.get_ref().days,
                start: &hours.get_ref().open,
                end: &hours.get_ref().close,
                keys: HoursKeys {
                    table: "hours",
                    start: "open",
                    end: "close",
                },
            };
            self.hours(owner, table)
        });
        Site {
            id: raw.id.get_ref().clone(),
            name: raw.name.clone(),
            timezone: timezone.to_owned(),
            local: LocalTime::new(tz),
            lat,
            lon,
            egress,
            status: raw.status,
            decommissioned_since,
            hours,
        }
    }

    pub(crate) fn zone(&mut self, entry: &Entry<RawZone>) -> Zone {
        let raw = &entry.raw;
        let owner = Owner::of(entry, EntityKind::Zone, &raw.id);
        let site = self.reference(owner, EntityKind::Site, &raw.site);
        Zone {
            id: raw.id.get_ref().clone(),
            site: SiteIdx(site.unwrap_or(UNRESOLVED)),
            name: raw.name.clone(),
            kind: raw.kind,
            sensitivity: raw.sensitivity,
            high_traffic: raw.high_traffic,
            anti_passback: raw.anti_passback,
        }
    }

    pub(crate) fn network(&mut self, entry: &Entry<RawNetwork>) -> Network {
        let raw = &entry.raw;
        let owner = Owner::of(entry, EntityKind::Network, &raw.id);
        let site = raw.site.as_ref().map(|site| {
            SiteIdx(
                self.reference(owner, EntityKind::Site, site)
                    .unwrap_or(UNRESOLVED),
            )
        });
        let cidrs = raw
            .cidrs
            .get_ref()
            .iter()
            .filter_map(|text| self.cidr(owner, text))
            .collect();
        if raw.cidrs.get_ref().is_empty() {
            let expected = "at least one prefix, such as `10.10.0.0/16`".to_owned();
            self.inconsistent(
                owner,
                owner.at(&raw.cidrs),
                "empty `cidrs`".to_owned(),
                expected,
            );
        }
        Network {
            id: raw.id.get_ref().clone(),
            site,
            cidrs,
            kind: raw.kind,
        }
    }

    /// One side of a door: `outside` (`None`), or a zone of the door's own site.
    fn door_side(
        &mut self,
        owner: Owner<'_>,
        side: &Text,
        site: Option<SiteIdx>,
        sites: &[Site],
        zones: &[Zone],
    ) -> Option<ZoneIdx> {
        let value = side.get_ref();
        if value == "outside" {
            return None;
        }
        let Some(site) = site else {
            // Without a site, the zone can only be checked to exist.
            return Some(ZoneIdx(self.reference(owner, EntityKind::Zone, side)?));
        };
        let site_id = |site: SiteIdx| sites.get(site.index()).map_or("", |site| site.id.as_str());
        let expected = format!("one of the zones of site `{}`", site_id(site));
        let Some(index) = self.registry.get(EntityKind::Zone, value) else {
            if !self.unreadable.contains(&(EntityKind::Zone, value.clone())) {
                let site_zones = zones.iter().filter(|zone| zone.site == site);
                let suggestion = did_you_mean(value, site_zones.map(|zone| zone.id.as_str()));
                let problem = Problem::UnknownReference {
                    target: EntityKind::Zone,
                    value: value.clone(),
                    entity: owner.entity,
                    id: owner.id(),
                    expected: format!("{expected}{suggestion}"),
                };
                self.report(owner.at(side), problem);
            }
            return Some(ZoneIdx(UNRESOLVED));
        };
        let zone_site = zones.get(index as usize).map(|zone| zone.site);
        if let Some(zone_site) = zone_site.filter(|zone_site| *zone_site != site) {
            let problem = Problem::SiteMismatch {
                target: EntityKind::Zone,
                value: value.clone(),
                entity: owner.entity,
                id: owner.id(),
                actual_site: site_id(zone_site).to_owned(),
                expected,
            };
            self.report(owner.at(side), problem);
        }
        Some(ZoneIdx(index))
    }

    pub(crate) fn door(&mut self, entry: &Entry<RawDoor>, sites: &[Site], zones: &[Zone]) -> Door {
        let raw = &entry.raw;
        let owner = Owner::of(entry, EntityKind::Door, &raw.id);
        let site = self
            .reference(owner, EntityKind::Site, &raw.site)
            .map(SiteIdx);
        let from = self.door_side(owner, &raw.from, site, sites, zones);
        let to = self.door_side(owner, &raw.to, site, sites, zones);
        if raw.from.get_ref() == raw.to.get_ref() {
            let message = format!("`from` and `to` are both `{}`", raw.to.get_ref());
            let expected = "a door between two different places".to_owned();
            self.inconsistent(owner, owner.at(&raw.to), message, expected);
        }
        let mut readers = Vec::with_capacity(raw.readers.len());
        for reader in &raw.readers {
            let trimmed = reader.get_ref().trim();
            if trimmed.is_empty() {
                let expected = "a non-empty reader id";
                self.invalid(
                    owner,
                    owner.at(reader),
                    "reader",
                    reader.get_ref(),
                    expected,
                );
            } else {
                readers.push(trimmed.to_owned());
            }
        }
        let outside = from.is_none() || to.is_none();
        let kind = raw.kind.unwrap_or(if outside {
            DoorKind::Entrance
        } else {
            DoorKind::Interior
        });
        let controller = raw
            .controller
            .as_ref()
            .and_then(|asset| self.reference(owner, EntityKind::Asset, asset))
            .map(AssetIdx);
        Door {
            id: raw.id.get_ref().clone(),
            site: site.unwrap_or(SiteIdx(UNRESOLVED)),
            from,
            to,
            readers,
            kind,
            controller,
            position_switch: raw.position_switch,
        }
    }

    pub(crate) fn ap(&mut self, entry: &Entry<RawAp>) -> Ap {
        let raw = &entry.raw;
        let owner = Owner::of(entry, EntityKind::Ap, &raw.id);
        let zone = self.reference(owner, EntityKind::Zone, &raw.zone);
        let bssids = raw
            .bssids
            .iter()
            .filter_map(|text| self.mac(owner, owner.at(text), text.get_ref(), "BSSID"))
            .collect();
        Ap {
            id: raw.id.get_ref().clone(),
            zone: ZoneIdx(zone.unwrap_or(UNRESOLVED)),
            bssids,
        }
    }

    pub(crate) fn switch_port(
        &mut self,
        entry: &Entry<RawSwitchPort>,
        sites: &[Site],
        zones: &[Zone],
        networks: &[Network],
    ) -> SwitchPort {
        let raw = &entry.raw;
        let owner = Owner::of(entry, EntityKind::SwitchPort, &raw.id);
        let zone = self.reference(owner, EntityKind::Zone, &raw.zone);
        let network = self.reference(owner, EntityKind::Network, &raw.network);
        let zone_site = zone
            .and_then(|zone| zones.get(zone as usize))
            .map(|zone| zone.site);
        let network_site = network
            .and_then(|network| networks.get(network as usize))
            .and_then(|network| network.site);
        if let (Some(zone_site), Some(network_site)) = (zone_site, network_site)
            && zone_site != network_site
            && zone_site.0 != UNRESOLVED
            && network_site.0 != UNRESOLVED
        {
            let site_id =
                |site: SiteIdx| sites.get(site.index()).map_or("", |site| site.id.as_str());
            let problem = Problem::SiteMismatch {
                target: EntityKind::Network,
                value: raw.network.get_ref().clone(),
                entity: owner.entity,
                id: owner.id(),
                actual_site: site_id(network_site).to_owned(),
                expected: format!(
                    "a network of site `{}`, where zone `{}` is, or one without a site",
                    site_id(zone_site),
                    raw.zone.get_ref()
                ),
            };
            self.report(owner.at(&raw.network), problem);
        }
        let zone_kind = zone
            .and_then(|zone| zones.get(zone as usize))
            .map(|zone| zone.kind);
        let kind = raw.kind.unwrap_or(match zone_kind {
            Some(ZoneKind::Meeting) => PortKind::Meeting,
            Some(ZoneKind::ServerRoom) => PortKind::Server,
            Some(ZoneKind::Lobby | ZoneKind::Common) => PortKind::Kiosk,
            _ => PortKind::Desk,
        });
        SwitchPort {
            id: raw.id.get_ref().clone(),
            zone: ZoneIdx(zone.unwrap_or(UNRESOLVED)),
            network: NetworkIdx(network.unwrap_or(UNRESOLVED)),
            kind,
        }
    }

    pub(crate) fn asset(&mut self, entry: &Entry<RawAsset>, networks: &[Network]) -> Asset {
        let raw = &entry.raw;
        let owner = Owner::of(entry, EntityKind::Asset, &raw.id);
        let zone = self.reference(owner, EntityKind::Zone, &raw.zone);
        let network = raw
            .network
            .as_ref()
            .and_then(|network| self.reference(owner, EntityKind::Network, network));
        let mut ips = Vec::with_capacity(raw.ips.len());
        for text in &raw.ips {
            let Ok(ip) = text.get_ref().trim().parse::<IpAddr>() else {
                let expected = "an IPv4 or IPv6 address, such as `10.10.1.21`";
                self.invalid(
                    owner,
                    owner.at(text),
                    "IP address",
                    text.get_ref(),
                    expected,
                );
                continue;
            };
            let ip = canonical_ip(ip);
            let network = network.and_then(|network| networks.get(network as usize));
            if let Some(network) = network
                && !network.cidrs.is_empty()
                && !network.cidrs.iter().any(|cidr| cidr.contains(ip))
            {
                let prefixes: Vec<String> = network
                    .cidrs
                    .iter()
                    .map(|cidr| format!("`{cidr}`"))
                    .collect();
                let message = format!("IP address `{ip}` outside network `{}`", network.id);
                let expected = format!("an address in {}", prefixes.join(" or "));
                self.inconsistent(owner, owner.at(text), message, expected);
            }
            ips.push(ip);
        }
        let macs = raw
            .macs
            .iter()
            .filter_map(|text| self.mac(owner, owner.at(text), text.get_ref(), "MAC address"))
            .collect();
        let mut hostnames = Vec::with_capacity(raw.hostnames.len());
        for text in &raw.hostnames {
            let hostname = normalize_hostname(text.get_ref());
            if hostname.is_empty() || hostname.contains(char::is_whitespace) {
                let expected = "a name without spaces, such as `hq-db1`";
                self.invalid(owner, owner.at(text), "host name", text.get_ref(), expected);
            } else {
                hostnames.push(hostname);
            }
        }
        let owner_person = raw
            .owner
            .as_ref()
            .and_then(|person| self.reference(owner, EntityKind::Person, person));
        let covers = raw
            .covers
            .iter()
            .filter_map(|zone| self.reference(owner, EntityKind::Zone, zone))
            .map(ZoneIdx)
            .collect();
        let sensor = raw.sensor.as_ref().map(|spec| {
            let sensor = spec.get_ref();
            if raw.kind != AssetKind::Sensor {
                let message = format!("`sensor` on an asset of kind `{}`", raw.kind);
                let expected = "`kind = \"sensor\"`".to_owned();
                self.inconsistent(owner, owner.at(spec), message, expected);
            }
            let door = sensor
                .door
                .as_ref()
                .and_then(|door| self.reference(owner, EntityKind::Door, door))
                .map(DoorIdx);
            let latency_ms = match &sensor.latency_secs {
                Some(secs)
                    if !secs.get_ref().is_finite()
                        || !(0.0..=86_400.0).contains(secs.get_ref()) =>
                {
                    let value = secs.get_ref().to_string();
                    self.invalid(
                        owner,
                        owner.at(secs),
                        "latency",
                        &value,
                        "seconds between 0 and 86400",
                    );
                    0
                }
                Some(secs) => (secs.get_ref() * 1000.0).round() as i64,
                None => 0,
            };
            SensorSpec {
                kind: sensor.kind,
                door,
                latency_ms,
            }
        });
        Asset {
            id: raw.id.get_ref().clone(),
            kind: raw.kind,
            zone: ZoneIdx(zone.unwrap_or(UNRESOLVED)),
            network: network.map(NetworkIdx),
            ips,
            macs,
            hostnames,
            criticality: raw.criticality,
            owner: owner_person.map(PersonIdx),
            covers,
            sensor,
        }
    }

    pub(crate) fn resource(&mut self, entry: &Entry<RawResource>) -> Resource {
        let raw = &entry.raw;
        let owner = Owner::of(entry, EntityKind::Resource, &raw.id);
        let asset = raw
            .asset
            .as_ref()
            .and_then(|asset| self.reference(owner, EntityKind::Asset, asset));
        let mut aliases = Vec::with_capacity(raw.aliases.len());
        for alias in &raw.aliases {
            let trimmed = alias.get_ref().trim();
            if trimmed.is_empty() {
                self.invalid(
                    owner,
                    owner.at(alias),
                    "alias",
                    alias.get_ref(),
                    "a non-empty name",
                );
            } else {
                aliases.push(trimmed.to_owned());
            }
        }
        Resource {
            id: raw.id.get_ref().clone(),
            kind: raw.kind,
            labels: raw.labels.clone(),
            asset: asset.map(AssetIdx),
            aliases,
        }
    }

    pub(crate) fn person(
        &mut self,
        entry: &Entry<RawPerson>,
        index: PersonIdx,
        claims: &mut Vec<Claim>,
    ) -> Person {
        let raw = &entry.raw;
        let owner = Owner::of(entry, EntityKind::Person, &raw.id);

        let mut status: Vec<StatusChange> = Vec::with_capacity(raw.status.len());
        let mut previous_text = "";
        for change in &raw.status {
            let Some(since) = self.time(owner, &change.since) else {
                continue;
            };
            let Scalar(since_text) = change.since.get_ref();
            if status
                .last()
                .is_some_and(|previous| previous.since >= since)
            {
                let problem = Problem::StatusOutOfOrder {
                    person: owner.id(),
                    since: since_text.clone(),
                    previous: previous_text.to_owned(),
                };
                self.report(owner.at(&change.since), problem);
                continue;
            }
            previous_text = since_text;
            status.push(StatusChange {
                status: change.status,
                since,
            });
        }

        let mut clearances: Vec<ZoneIdx> = raw
            .clearances
            .iter()
            .filter_map(|zone| self.reference(owner, EntityKind::Zone, zone))
            .map(ZoneIdx)
            .collect();
        clearances.sort_unstable();
        clearances.dedup();

        let home_site = raw
            .home_site
            .as_ref()
            .and_then(|site| self.reference(owner, EntityKind::Site, site))
            .map(SiteIdx);
        let schedule = raw.schedule.as_ref().and_then(|schedule| {
            if raw.home_site.is_none() {
                let message = "`schedule` without `home_site`".to_owned();
                let expected = "a `home_site`, in whose time zone the schedule is read".to_owned();
                self.inconsistent(owner, owner.at(schedule), message, expected);
            }
            let table = HoursTable {
                at: owner.at(schedule),
                days: &schedule.get_ref().days,
                start: &schedule.get_ref().start,
                end: &schedule.get_ref().end,
                keys: HoursKeys {
                    table: "schedule",
                    start: "start",
                    end: "end",
                },
            };
            self.hours(owner, table)
        });
        let window = raw.window.as_ref().and_then(|window| {
            let start = self.time(owner, &window.get_ref().start);
            let end = self.time(owner, &window.get_ref().end);
            let (start, end) = (start?, end?);
            if start >= end {
                let problem = Problem::EmptyInterval {
                    what: "window".to_owned(),
                    entity: owner.entity,
                    id: owner.id(),
                    start: "start".to_owned(),
                    end: "end".to_owned(),
                };
                self.report(owner.at(&window.get_ref().end), problem);
                return None;
            }
            Some(Window { start, end })
        });
        let host = raw.host.as_ref().and_then(|host| {
            if host.get_ref() == raw.id.get_ref() {
                let message = "a person as their own `host`".to_owned();
                self.inconsistent(owner, owner.at(host), message, "another person".to_owned());
                return None;
            }
            self.reference(owner, EntityKind::Person, host)
        });

        let mut remote_days = Weekdays::NONE;
        for day in &raw.remote_days {
            match Weekdays::parse_day(day.get_ref().trim()) {
                Some(one) => remote_days = remote_days.union(one),
                None => self.invalid(owner, owner.at(day), "day", day.get_ref(), DAY_EXPECTED),
            }
        }
        let mut on_call = Vec::with_capacity(raw.on_call.len());
        for period in &raw.on_call {
            let start = self.time(owner, &period.get_ref().start);
            let end = self.time(owner, &period.get_ref().end);
            let (Some(start), Some(end)) = (start, end) else {
                continue;
            };
            if start >= end {
                let problem = Problem::EmptyInterval {
                    what: "on-call period".to_owned(),
                    entity: owner.entity,
                    id: owner.id(),
                    start: "start".to_owned(),
                    end: "end".to_owned(),
                };
                self.report(owner.at(&period.get_ref().end), problem);
                continue;
            }
            on_call.push(Window { start, end });
        }

        let mut identifiers = Vec::with_capacity(raw.identifiers.len());
        for raw_identifier in &raw.identifiers {
            let value_at = owner.at(&raw_identifier.value);
            let Scalar(text) = raw_identifier.value.get_ref();
            let value = if raw_identifier.kind == IdentifierKind::Mac {
                match self.mac(owner, value_at, text, "MAC address") {
                    Some(mac) => mac,
                    None => continue,
                }
            } else {
                normalize_identifier(raw_identifier.kind, text).into_owned()
            };
            if value.is_empty() {
                let what = format!("{} value", raw_identifier.kind);
                self.invalid(owner, value_at, &what, text, "a non-empty value");
                continue;
            }
            let mut bound = |time: &Option<SpannedScalar>| match time {
                None => Ok(None),
                Some(time) => self.time(owner, time).map(Some).ok_or(()),
            };
            let (Ok(from), Ok(until)) = (bound(&raw_identifier.from), bound(&raw_identifier.until))
            else {
                continue;
            };
            if let (Some(from), Some(until)) = (from, until)
                && from >= until
            {
                let problem = Problem::EmptyInterval {
                    what: format!("interval of {} `{value}`", raw_identifier.kind),
                    entity: owner.entity,
                    id: owner.id(),
                    start: "from".to_owned(),
                    end: "until".to_owned(),
                };
                let at = raw_identifier
                    .until
                    .as_ref()
                    .map_or(value_at, |until| owner.at(until));
                self.report(at, problem);
                continue;
            }
            let identifier = Identifier {
                kind: raw_identifier.kind,
                value,
                from,
                until,
            };
            claims.push(Claim {
                person: index,
                identifier: identifier.clone(),
                origin: value_at,
            });
            identifiers.push(identifier);
        }

        Person {
            id: raw.id.get_ref().clone(),
            name: raw.name.clone(),
            kind: raw.kind,
            status,
            roles: raw.roles.clone(),
            clearances,
            privileged: raw.privileged,
            home_site,
            schedule,
            window,
            host: host.map(PersonIdx),
            identifiers,
            department: raw
                .department
                .as_deref()
                .map(str::trim)
                .filter(|d| !d.is_empty())
                .map(str::to_owned),
            team: raw
                .team
                .as_deref()
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(str::to_owned),
            manager: raw
                .manager
                .as_deref()
                .map(str::trim)
                .filter(|m| !m.is_empty())
                .map(str::to_owned),
            remote_days,
            on_call,
            history: Vec::new(),
        }
    }

    /// Readers, BSSIDs, prefixes, addresses, MACs and host names must each name one thing,
    /// or a lookup by them would have two answers.
    pub(crate) fn unique_values(
        &mut self,
        sites: &[Entry<RawSite>],
        doors: &[Entry<RawDoor>],
        aps: &[Entry<RawAp>],
        networks: &[Entry<RawNetwork>],
        assets: &[Entry<RawAsset>],
    ) {
        let mut taken = Taken::default();
        for entry in doors {
            let owner = Owner::of(entry, EntityKind::Door, &entry.raw.id);
            for reader in &entry.raw.readers {
                let value = reader.get_ref().trim().to_owned();
                // A door's own id names it too, so a reader may not be another door's id.
                let other_door = self
                    .registry
                    .get(EntityKind::Door, &value)
                    .filter(|_| value != *entry.raw.id.get_ref());
                if let Some(other) = other_door.and_then(|door| doors.get(door as usize)) {
                    let other = (EntityKind::Door, other.raw.id.get_ref().clone());
                    self.report_taken(owner, owner.at(reader), "reader", value, other);
                    continue;
                }
                self.claim(&mut taken, owner, owner.at(reader), "reader", value);
            }
        }
        for entry in aps {
            let owner = Owner::of(entry, EntityKind::Ap, &entry.raw.id);
            for bssid in &entry.raw.bssids {
                if let Some(value) = parse_mac(bssid.get_ref()) {
                    self.claim(&mut taken, owner, owner.at(bssid), "BSSID", value);
                }
            }
        }
        for entry in sites {
            let owner = Owner::of(entry, EntityKind::Site, &entry.raw.id);
            for text in &entry.raw.egress {
                if let Ok(cidr) = Cidr::parse(text.get_ref().trim()) {
                    self.claim(
                        &mut taken,
                        owner,
                        owner.at(text),
                        "egress prefix",
                        cidr.to_string(),
                    );
                }
            }
        }
        for entry in networks {
            let owner = Owner::of(entry, EntityKind::Network, &entry.raw.id);
            for text in entry.raw.cidrs.get_ref() {
                if let Ok(cidr) = Cidr::parse(text.get_ref().trim()) {
                    self.claim(
                        &mut taken,
                        owner,
                        owner.at(text),
                        "prefix",
                        cidr.to_string(),
                    );
                }
            }
        }
        for entry in assets {
            let owner = Owner::of(entry, EntityKind::Asset, &entry.raw.id);
            for text in &entry.raw.ips {
                if let Ok(ip) = text.get_ref().trim().parse::<IpAddr>() {
                    let ip = canonical_ip(ip).to_string();
                    self.claim(&mut taken, owner, owner.at(text), "IP address", ip);
                }
            }
            for text in &entry.raw.macs {
                if let Some(mac) = parse_mac(text.get_ref()) {
                    self.claim(&mut taken, owner, owner.at(text), "MAC address", mac);
                }
            }
            for text in &entry.raw.hostnames {
                let hostname = normalize_hostname(text.get_ref());
                if !hostname.is_empty() {
                    self.claim(&mut taken, owner, owner.at(text), "host name", hostname);
                }
            }
        }
    }

    fn claim(
        &mut self,
        taken: &mut Taken,
        owner: Owner<'_>,
        at: Origin,
        what: &'static str,
        value: String,
    ) {
        match taken.owners.get(&(what, value.clone())) {
            Some(other) => {
                let other = other.clone();
                self.report_taken(owner, at, what, value, other);
            }
            None => {
                taken
                    .owners
                    .insert((what, value), (owner.entity, owner.id()));
            }
        }
    }

    fn report_taken(
        &mut self,
        owner: Owner<'_>,
        at: Origin,
        what: &str,
        value: String,
        (other_entity, other_id): (EntityKind, String),
    ) {
        let problem = Problem::Taken {
            what: what.to_owned(),
            value,
            entity: owner.entity,
            id: owner.id(),
            other_entity,
            other_id,
        };
        self.report(at, problem);
    }

    /// The identity invariant: one identifier, one holder at any instant.
    pub(crate) fn single_holders(&mut self, claims: Vec<Claim>, people: &[Person]) {
        let mut by_identifier: BTreeMap<(IdentifierKind, String), Vec<Claim>> = BTreeMap::new();
        for claim in claims {
            let key = (claim.identifier.kind, claim.identifier.value.clone());
            by_identifier.entry(key).or_default().push(claim);
        }
        let name = |person: PersonIdx| {
            people
                .get(person.index())
                .map_or(String::new(), |person| person.id.clone())
        };
        for ((kind, value), mut holders) in by_identifier {
            // By start (open starts first), ties in file order.
            holders.sort_by_key(|claim| (claim.identifier.from, claim.origin));
            // Of the holdings so far, the one that reaches furthest: sorted by start, a
            // newcomer overlaps some earlier holding exactly when it overlaps this one.
            let mut reaching: Option<&Claim> = None;
            for claim in &holders {
                if let Some(previous) = reaching
                    && previous.identifier.overlaps(&claim.identifier)
                {
                    // Reported at the later of the two in the files, pointing at the earlier.
                    let (here, there) = if claim.origin > previous.origin {
                        (claim, previous)
                    } else {
                        (previous, claim)
                    };
                    let problem = Problem::IdentifierOverlap {
                        kind: kind.to_string(),
                        value: value.clone(),
                        person: name(here.person),
                        other: name(there.person),
                        other_location: self.loader.location(there.origin),
                    };
                    self.report(here.origin, problem);
                }
                let reaches_further = match (
                    reaching.map(|previous| previous.identifier.until),
                    claim.identifier.until,
                ) {
                    (None, _) => true,
                    (Some(None), _) => false,
                    (Some(Some(_)), None) => true,
                    (Some(Some(previous_until)), Some(until)) => until > previous_until,
                };
                if reaches_further {
                    reaching = Some(claim);
                }
            }
        }
    }
}

/// Host names compare in lowercase, without a trailing dot.
fn normalize_hostname(text: &str) -> String {
    normalize_identifier(IdentifierKind::Device, text)
        .trim_end_matches('.')
        .to_owned()
}

/// Values already claimed: (what, value) -> (entity kind, entity id).
#[derive(Debug, Default)]
struct Taken {
    owners: HashMap<(&'static str, String), (EntityKind, String)>,
}

fn plural(kind: EntityKind) -> &'static str {
    match kind {
        EntityKind::Site => "sites",
        EntityKind::Zone => "zones",
        EntityKind::Door => "doors",
        EntityKind::Ap => "aps",
        EntityKind::SwitchPort => "switch ports",
        EntityKind::Network => "networks",
        EntityKind::Asset => "assets",
        EntityKind::Resource => "resources",
        EntityKind::Person => "people",
    }
}
