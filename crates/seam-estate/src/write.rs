//! An estate serializes in the shape of its files, with ids for references, so that a written
//! estate (for instance `toml::to_string(&estate)`) loads back as the same estate.

use std::net::IpAddr;

use seam_model::Ts;
use serde::{Serialize, Serializer};

use crate::clock::{ClockTime, DailyHours, Weekdays, Window};
use crate::estate::Estate;
use crate::identity::Identifier;
use crate::model::{
    AssetKind, DoorKind, Level, NetworkKind, PersonKind, PortKind, ResourceKind, SensorKind,
    SiteStatus, StatusKind, ZoneKind,
};
use crate::net::Cidr;

impl Serialize for Estate {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        Document::of(self).serialize(serializer)
    }
}

#[derive(Serialize)]
struct Document<'a> {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    site: Vec<SiteOut<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    zone: Vec<ZoneOut<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    door: Vec<DoorOut<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    ap: Vec<ApOut<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    switch_port: Vec<SwitchPortOut<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    network: Vec<NetworkOut<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    asset: Vec<AssetOut<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    resource: Vec<ResourceOut<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    person: Vec<PersonOut<'a>>,
}

#[derive(Serialize)]
struct SiteOut<'a> {
    id: &'a str,
    name: &'a str,
    timezone: &'a str,
    lat: f64,
    lon: f64,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    egress: &'a [Cidr],
    status: SiteStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    decommissioned_since: Option<Ts>,
    #[serde(skip_serializing_if = "Option::is_none")]
    hours: Option<HoursOut>,
}

#[derive(Serialize)]
struct HoursOut {
    days: Weekdays,
    open: ClockTime,
    close: ClockTime,
}

#[derive(Serialize)]
struct ZoneOut<'a> {
    id: &'a str,
    site: &'a str,
    name: &'a str,
    kind: ZoneKind,
    sensitivity: Level,
    high_traffic: bool,
    anti_passback: bool,
}

#[derive(Serialize)]
struct DoorOut<'a> {
    id: &'a str,
    site: &'a str,
    from: &'a str,
    to: &'a str,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    readers: &'a [String],
    kind: DoorKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    controller: Option<&'a str>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    position_switch: bool,
}

#[derive(Serialize)]
struct ApOut<'a> {
    id: &'a str,
    zone: &'a str,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    bssids: &'a [String],
}

#[derive(Serialize)]
struct SwitchPortOut<'a> {
    id: &'a str,
    zone: &'a str,
    network: &'a str,
    kind: PortKind,
}

#[derive(Serialize)]
struct NetworkOut<'a> {
    id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    site: Option<&'a str>,
    cidrs: &'a [Cidr],
    kind: NetworkKind,
}

#[derive(Serialize)]
struct AssetOut<'a> {
    id: &'a str,
    kind: AssetKind,
    zone: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    network: Option<&'a str>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    ips: &'a [IpAddr],
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    macs: &'a [String],
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    hostnames: &'a [String],
    criticality: Level,
    #[serde(skip_serializing_if = "Option::is_none")]
    owner: Option<&'a str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    covers: Vec<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sensor: Option<SensorOut<'a>>,
}

#[derive(Serialize)]
struct SensorOut<'a> {
    kind: SensorKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    door: Option<&'a str>,
    latency_secs: f64,
}

#[derive(Serialize)]
struct ResourceOut<'a> {
    id: &'a str,
    kind: ResourceKind,
    labels: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    asset: Option<&'a str>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    aliases: &'a [String],
}

#[derive(Serialize)]
struct PersonOut<'a> {
    id: &'a str,
    name: &'a str,
    kind: PersonKind,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    status: Vec<StatusOut>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    roles: &'a [String],
    #[serde(skip_serializing_if = "Vec::is_empty")]
    clearances: Vec<&'a str>,
    privileged: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    home_site: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    schedule: Option<ScheduleOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    window: Option<Window>,
    #[serde(skip_serializing_if = "Option::is_none")]
    host: Option<&'a str>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    identifiers: &'a [Identifier],
    #[serde(skip_serializing_if = "Option::is_none")]
    department: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    team: Option<&'a str>,
    #[serde(skip_serializing_if = "no_days")]
    remote_days: Weekdays,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    on_call: &'a [Window],
}

fn no_days(days: &Weekdays) -> bool {
    days.is_empty()
}

#[derive(Serialize)]
struct StatusOut {
    status: StatusKind,
    since: Ts,
}

#[derive(Serialize)]
struct ScheduleOut {
    days: Weekdays,
    start: ClockTime,
    end: ClockTime,
}

impl<'a> Document<'a> {
    fn of(estate: &'a Estate) -> Document<'a> {
        // Indices come from this estate, so every lookup succeeds; "" would only ever stand in
        // for an index from elsewhere.
        let site_id = |index: usize| estate.sites.get(index).map_or("", |site| site.id.as_str());
        let zone_id = |index: usize| estate.zones.get(index).map_or("", |zone| zone.id.as_str());
        let network_id = |index: usize| {
            estate
                .networks
                .get(index)
                .map_or("", |network| network.id.as_str())
        };
        let asset_id = |index: usize| {
            estate
                .assets
                .get(index)
                .map_or("", |asset| asset.id.as_str())
        };
        let person_id = |index: usize| {
            estate
                .people
                .get(index)
                .map_or("", |person| person.id.as_str())
        };
        let door_id = |index: usize| estate.doors.get(index).map_or("", |door| door.id.as_str());
        let side = |zone: Option<crate::model::ZoneIdx>| {
            zone.map_or("outside", |zone| zone_id(zone.index()))
        };
        let hours = |hours: DailyHours| HoursOut {
            days: hours.days,
            open: hours.start,
            close: hours.end,
        };
        let schedule = |hours: DailyHours| ScheduleOut {
            days: hours.days,
            start: hours.start,
            end: hours.end,
        };
        Document {
            site: estate
                .sites
                .iter()
                .map(|site| SiteOut {
                    id: &site.id,
                    name: &site.name,
                    timezone: &site.timezone,
                    lat: site.lat,
                    lon: site.lon,
                    egress: &site.egress,
                    status: site.status,
                    decommissioned_since: site.decommissioned_since,
                    hours: site.hours.map(hours),
                })
                .collect(),
            zone: estate
                .zones
                .iter()
                .map(|zone| ZoneOut {
                    id: &zone.id,
                    site: site_id(zone.site.index()),
                    name: &zone.name,
                    kind: zone.kind,
                    sensitivity: zone.sensitivity,
                    high_traffic: zone.high_traffic,
                    anti_passback: zone.anti_passback,
                })
                .collect(),
            door: estate
                .doors
                .iter()
                .map(|door| DoorOut {
                    id: &door.id,
                    site: site_id(door.site.index()),
                    from: side(door.from),
                    to: side(door.to),
                    readers: &door.readers,
                    kind: door.kind,
                    controller: door.controller.map(|asset| asset_id(asset.index())),
                    position_switch: door.position_switch,
                })
                .collect(),
            ap: estate
                .aps
                .iter()
                .map(|ap| ApOut {
                    id: &ap.id,
                    zone: zone_id(ap.zone.index()),
                    bssids: &ap.bssids,
                })
                .collect(),
            switch_port: estate
                .switch_ports
                .iter()
                .map(|port| SwitchPortOut {
                    id: &port.id,
                    zone: zone_id(port.zone.index()),
                    network: network_id(port.network.index()),
                    kind: port.kind,
                })
                .collect(),
            network: estate
                .networks
                .iter()
                .map(|network| NetworkOut {
                    id: &network.id,
                    site: network.site.map(|site| site_id(site.index())),
                    cidrs: &network.cidrs,
                    kind: network.kind,
                })
                .collect(),
            asset: estate
                .assets
                .iter()
                .map(|asset| AssetOut {
                    id: &asset.id,
                    kind: asset.kind,
                    zone: zone_id(asset.zone.index()),
                    network: asset.network.map(|network| network_id(network.index())),
                    ips: &asset.ips,
                    macs: &asset.macs,
                    hostnames: &asset.hostnames,
                    criticality: asset.criticality,
                    owner: asset.owner.map(|owner| person_id(owner.index())),
                    covers: asset
                        .covers
                        .iter()
                        .map(|zone| zone_id(zone.index()))
                        .collect(),
                    sensor: asset.sensor.as_ref().map(|sensor| SensorOut {
                        kind: sensor.kind,
                        door: sensor.door.map(|door| door_id(door.index())),
                        latency_secs: sensor.latency_ms as f64 / 1000.0,
                    }),
                })
                .collect(),
            resource: estate
                .resources
                .iter()
                .map(|resource| ResourceOut {
                    id: &resource.id,
                    kind: resource.kind,
                    labels: &resource.labels,
                    asset: resource.asset.map(|asset| asset_id(asset.index())),
                    aliases: &resource.aliases,
                })
                .collect(),
            person: estate
                .people
                .iter()
                .map(|person| PersonOut {
                    id: &person.id,
                    name: &person.name,
                    kind: person.kind,
                    status: person
                        .status
                        .iter()
                        .map(|change| StatusOut {
                            status: change.status,
                            since: change.since,
                        })
                        .collect(),
                    roles: &person.roles,
                    clearances: person
                        .clearances
                        .iter()
                        .map(|zone| zone_id(zone.index()))
                        .collect(),
                    privileged: person.privileged,
                    home_site: person.home_site.map(|site| site_id(site.index())),
                    schedule: person.schedule.map(schedule),
                    window: person.window,
                    host: person.host.map(|host| person_id(host.index())),
                    identifiers: &person.identifiers,
                    department: person.department.as_deref(),
                    team: person.team.as_deref(),
                    remote_days: person.remote_days,
                    on_call: &person.on_call,
                })
                .collect(),
        }
    }
}
