//! The simulation's view of an estate: for each site, the places a working day passes through
//! (main door, lobby, floors, meeting rooms, cafe, server room, classified area) and, for each
//! person, what they carry (badge, account, laptop) and where they sit.
//!
//! It is derived from any loaded [`Estate`], generated or written by hand, by the kinds of the
//! zones and the doors between them; what an estate lacks (no cafe, no classified area) simply
//! never happens in its simulated days.

use jiff::tz::TimeZone;
use seam_estate::{
    AssetKind, Estate, IdentifierKind, NetworkKind, PersonIdx, PersonKind, SiteIdx, SiteStatus,
    StatusChange, Window, ZoneIdx, ZoneKind,
};

use crate::calendar::MINUTE_MS;
use crate::world::SITE_CITIES;

/// A badged door into a zone.
#[derive(Clone, Debug)]
pub struct Entry {
    pub zone: ZoneIdx,
    pub door: String,
}

/// A meeting room with its door, access point and wall port where it has them.
#[derive(Clone, Debug)]
pub struct Room {
    pub zone: ZoneIdx,
    pub door: Option<String>,
    pub ap: Option<String>,
    pub port: Option<String>,
}

/// An office floor: its door from the lobby, its access points and its meeting rooms.
#[derive(Clone, Debug)]
pub struct Office {
    pub zone: ZoneIdx,
    pub door: Option<String>,
    pub aps: Vec<String>,
    pub rooms: Vec<Room>,
}

/// A zone badged both ways: a server room, a classified area.
#[derive(Clone, Debug)]
pub struct Secure {
    pub zone: ZoneIdx,
    pub door_in: String,
    pub door_out: Option<String>,
}

/// A server people sign in to.
#[derive(Clone, Debug)]
pub struct Server {
    pub id: String,
    pub ip: String,
    pub hostname: String,
}

#[derive(Clone, Debug)]
pub struct SiteView {
    pub idx: SiteIdx,
    pub id: String,
    pub tz: TimeZone,
    pub active: bool,
    pub lat: f64,
    pub lon: f64,
    pub city: String,
    pub country: String,
    /// An address inside the site's egress range.
    pub egress_ip: Option<String>,
    /// First two octets of the corporate network, for laptop addresses.
    pub corp_prefix: Option<[u8; 2]>,
    pub main: Option<Entry>,
    pub dock: Option<String>,
    pub lobby_ap: Option<String>,
    pub cafe: Option<Entry>,
    pub cafe_ap: Option<String>,
    pub offices: Vec<Office>,
    pub server_room: Option<Secure>,
    pub classified: Option<Secure>,
    pub server_port: Option<String>,
    pub servers: Vec<Server>,
    /// Controllers, cameras and PACS servers that report their status, with what they watch.
    pub watchers: Vec<(String, Vec<ZoneIdx>)>,
    /// The site's access-control system reports door positions (door used); where it does
    /// not, it logs card reads only.
    pub door_positions: bool,
}

impl SiteView {
    pub fn office(&self, index: usize) -> Option<&Office> {
        self.offices.get(index).or_else(|| self.offices.first())
    }
}

/// What the simulation knows of a person.
#[derive(Clone, Debug)]
pub struct Persona {
    pub idx: PersonIdx,
    pub id: String,
    pub kind: PersonKind,
    /// Index into [`Twin::sites`].
    pub site: usize,
    /// Index into the site's offices.
    pub office: usize,
    /// Badges with their validity, permanent first.
    pub badges: Vec<(String, Option<i64>, Option<i64>)>,
    pub upn: Option<String>,
    pub username: Option<String>,
    pub mac: Option<String>,
    pub workstation: Option<(String, String)>,
    /// Local start and end of the working day in minutes after midnight.
    pub start_min: i64,
    pub end_min: i64,
    pub works_weekends: bool,
    pub night_shift: bool,
    pub sysadmin: bool,
    pub researcher: bool,
    pub status: Vec<StatusChange>,
    pub window: Option<Window>,
    pub host: Option<PersonIdx>,
    /// Another site the person is cleared to work at, as an index into [`Twin::sites`].
    pub travel_site: Option<usize>,
    /// Share of working days spent at home.
    pub remote_rate: f64,
    /// A number unique to the person, for addresses.
    pub number: usize,
}

impl Persona {
    /// The badge to use at `at`: a temporary one when one is valid (the permanent one was left
    /// at home), else the permanent one.
    pub fn badge_at(&self, at: i64) -> Option<&str> {
        let valid = |(_, from, until): &&(String, Option<i64>, Option<i64>)| {
            from.is_none_or(|f| f <= at) && until.is_none_or(|u| at < u)
        };
        self.badges
            .iter()
            .filter(valid)
            .find(|(_, from, until)| from.is_some() && until.is_some())
            .or_else(|| self.badges.iter().find(valid))
            .map(|(value, _, _)| value.as_str())
    }

    /// Whether the person holds a temporary badge at `at`.
    pub fn forgot_badge(&self, at: i64) -> bool {
        self.badges
            .iter()
            .any(|(_, from, until)| from.is_some_and(|f| f <= at) && until.is_some_and(|u| at < u))
            && self.badges.iter().any(|(_, from, _)| from.is_none())
    }

    pub fn is_active_at(&self, at: i64) -> bool {
        let status = self
            .status
            .iter()
            .rev()
            .find(|change| change.since.millis() <= at)
            .map(|change| change.status);
        status == Some(seam_estate::StatusKind::Active)
            && self
                .window
                .is_none_or(|window| window.contains(seam_model::Ts(at)))
    }
}

/// The estate as the simulation walks it.
#[derive(Debug)]
pub struct Twin {
    pub sites: Vec<SiteView>,
    pub people: Vec<Persona>,
    pub service_accounts: Vec<String>,
    /// Resources by id, with whether they require being on site.
    pub resources: Vec<(String, bool)>,
    /// The decommissioned site's outside door and the site's id.
    pub decommissioned_door: Option<(String, String)>,
    /// Zone ids by index, for naming zones in events.
    pub zone_ids: Vec<String>,
}

impl Twin {
    pub fn of(estate: &Estate) -> Twin {
        let mut sites = Vec::new();
        let mut site_position = vec![None; estate.sites().len()];
        let mut decommissioned_door = None;
        for (index, site) in estate.sites().iter().enumerate() {
            let idx = SiteIdx(index as u32);
            if site.status == SiteStatus::Decommissioned {
                if decommissioned_door.is_none() {
                    decommissioned_door = estate
                        .doors()
                        .iter()
                        .find(|door| door.site == idx && door.from.is_none())
                        .map(|door| (door.id.clone(), site.id.clone()));
                }
                continue;
            }
            if let Some(slot) = site_position.get_mut(index) {
                *slot = Some(sites.len());
            }
            sites.push(site_view(estate, idx));
        }
        // Assets by owner, so that finding a person's desk is not a scan of every asset.
        let mut owned_by: Vec<Vec<seam_estate::AssetIdx>> = vec![Vec::new(); estate.people().len()];
        for (index, asset) in estate.assets().iter().enumerate() {
            if let Some(list) = asset.owner.and_then(|o| owned_by.get_mut(o.index())) {
                list.push(seam_estate::AssetIdx(index as u32));
            }
        }
        let mut people = Vec::new();
        let mut service_accounts = Vec::new();
        for (index, person) in estate.people().iter().enumerate() {
            let idx = PersonIdx(index as u32);
            if person.kind == PersonKind::Service {
                if let Some(name) = identifier(estate, idx, IdentifierKind::Username) {
                    service_accounts.push(name);
                }
                continue;
            }
            let Some(site) = person
                .home_site
                .and_then(|s| site_position.get(s.index()).copied().flatten())
            else {
                continue;
            };
            let Some(view) = sites.get(site) else {
                continue;
            };
            let owned = owned_by.get(index).map_or(&[][..], Vec::as_slice);
            let workstation = owned
                .iter()
                .map(|a| estate.asset(*a))
                .find(|asset| matches!(asset.kind, AssetKind::Workstation | AssetKind::Laptop))
                .and_then(|asset| Some((asset.id.clone(), asset.ips.first()?.to_string())));
            let desk_zone = owned.first().map(|a| estate.asset(*a).zone);
            let office = view
                .offices
                .iter()
                .position(|office| Some(office.zone) == desk_zone)
                .or_else(|| {
                    view.offices
                        .iter()
                        .position(|office| estate.cleared_for(idx, office.zone))
                })
                .unwrap_or(0);
            let travel_site = sites.iter().position(|other| {
                other.idx != view.idx
                    && other
                        .office(0)
                        .is_some_and(|office| estate.cleared_for(idx, office.zone))
            });
            let (start_min, end_min, works_weekends) = match person.schedule {
                Some(hours) => {
                    let start = i64::from(hours.start.seconds_after_midnight()) / 60;
                    let end = i64::from(hours.end.seconds_after_midnight()) / 60;
                    let weekend = hours.days.names().any(|day| day == "sat" || day == "sun");
                    (start, end, weekend)
                }
                None => (9 * 60, 17 * 60, false),
            };
            let badges = estate
                .identifiers_of(idx)
                .iter()
                .filter(|id| id.kind == IdentifierKind::Badge)
                .map(|id| {
                    (
                        id.value.clone(),
                        id.from.map(|t| t.millis()),
                        id.until.map(|t| t.millis()),
                    )
                })
                .collect();
            let sysadmin = view
                .server_room
                .as_ref()
                .is_some_and(|room| estate.cleared_for(idx, room.zone))
                && person.privileged;
            let researcher = view
                .classified
                .as_ref()
                .is_some_and(|room| estate.cleared_for(idx, room.zone));
            let remote_rate = 0.1 + (index % 7) as f64 * 0.04;
            people.push(Persona {
                idx,
                id: person.id.clone(),
                kind: person.kind,
                site,
                office,
                badges,
                upn: identifier(estate, idx, IdentifierKind::Upn),
                username: identifier(estate, idx, IdentifierKind::Username),
                mac: identifier(estate, idx, IdentifierKind::Mac),
                workstation,
                start_min,
                end_min,
                works_weekends,
                night_shift: end_min <= start_min,
                sysadmin,
                researcher,
                status: person.status.clone(),
                window: person.window,
                host: person.host,
                travel_site,
                remote_rate,
                number: index,
            });
        }
        let resources = estate
            .resources()
            .iter()
            .map(|r| (r.id.clone(), r.has_label("requires-onsite")))
            .collect();
        Twin {
            sites,
            people,
            service_accounts,
            resources,
            decommissioned_door,
            zone_ids: estate.zones().iter().map(|zone| zone.id.clone()).collect(),
        }
    }
}

fn identifier(estate: &Estate, person: PersonIdx, kind: IdentifierKind) -> Option<String> {
    estate
        .identifiers_of(person)
        .iter()
        .find(|id| id.kind == kind && id.until.is_none())
        .or_else(|| {
            estate
                .identifiers_of(person)
                .iter()
                .find(|id| id.kind == kind)
        })
        .map(|id| id.value.clone())
}

fn site_view(estate: &Estate, idx: SiteIdx) -> SiteView {
    let site = estate.site(idx);
    let zones: Vec<(ZoneIdx, &seam_estate::Zone)> = estate
        .zones()
        .iter()
        .enumerate()
        .map(|(i, zone)| (ZoneIdx(i as u32), zone))
        .filter(|(_, zone)| zone.site == idx)
        .collect();
    let first_zone = |kind: ZoneKind| zones.iter().find(|(_, z)| z.kind == kind).map(|(i, _)| *i);
    let door_into = |to: ZoneIdx, from: Option<ZoneIdx>| {
        estate
            .doors()
            .iter()
            .filter(|door| door.to == Some(to) && (from.is_none() || door.from == from))
            .map(|door| door.id.clone())
            .next()
    };
    let door_out_of = |zone: ZoneIdx| {
        estate
            .doors()
            .iter()
            .find(|door| door.from == Some(zone) && door.to.is_some())
            .map(|door| door.id.clone())
    };
    let ap_of = |zone: ZoneIdx| {
        estate
            .aps()
            .iter()
            .filter(|ap| ap.zone == zone)
            .map(|ap| ap.id.clone())
            .collect::<Vec<_>>()
    };
    let lobby = first_zone(ZoneKind::Lobby);
    let outside_doors: Vec<&seam_estate::Door> = estate
        .doors()
        .iter()
        .filter(|door| door.site == idx && door.from.is_none() && door.to.is_some())
        .collect();
    let main = outside_doors
        .iter()
        .find(|door| door.to == lobby || lobby.is_none())
        .and_then(|door| {
            Some(Entry {
                zone: door.to?,
                door: door.id.clone(),
            })
        });
    let dock = outside_doors
        .iter()
        .find(|door| Some(door.id.as_str()) != main.as_ref().map(|m| m.door.as_str()))
        .map(|door| door.id.clone());
    let cafe = first_zone(ZoneKind::Common).and_then(|zone| {
        Some(Entry {
            zone,
            door: door_into(zone, None)?,
        })
    });
    let offices: Vec<Office> = zones
        .iter()
        .filter(|(_, zone)| zone.kind == ZoneKind::Office)
        .map(|(office, _)| {
            let rooms = zones
                .iter()
                .filter(|(_, zone)| zone.kind == ZoneKind::Meeting)
                .filter(|(room, _)| {
                    estate
                        .doors()
                        .iter()
                        .any(|door| door.to == Some(*room) && door.from == Some(*office))
                })
                .map(|(room, _)| Room {
                    zone: *room,
                    door: door_into(*room, Some(*office)),
                    ap: ap_of(*room).into_iter().next(),
                    port: estate
                        .switch_ports()
                        .iter()
                        .find(|port| port.zone == *room)
                        .map(|port| port.id.clone()),
                })
                .collect();
            Office {
                zone: *office,
                door: door_into(*office, lobby),
                aps: ap_of(*office),
                rooms,
            }
        })
        .collect();
    let secure = |kind: ZoneKind| {
        let zone = first_zone(kind)?;
        Some(Secure {
            zone,
            door_in: door_into(zone, None)?,
            door_out: door_out_of(zone),
        })
    };
    let server_room = secure(ZoneKind::ServerRoom);
    let server_port = server_room.as_ref().and_then(|room| {
        estate
            .switch_ports()
            .iter()
            .find(|port| port.zone == room.zone)
            .map(|port| port.id.clone())
    });
    let site_zones: Vec<ZoneIdx> = zones.iter().map(|(i, _)| *i).collect();
    let servers = estate
        .assets()
        .iter()
        .filter(|asset| asset.kind == AssetKind::Server && site_zones.contains(&asset.zone))
        .filter(|asset| {
            server_room
                .as_ref()
                .is_some_and(|room| room.zone == asset.zone)
        })
        .filter_map(|asset| {
            Some(Server {
                id: asset.id.clone(),
                ip: asset.ips.first()?.to_string(),
                hostname: asset.hostnames.first().cloned().unwrap_or(asset.id.clone()),
            })
        })
        .collect();
    let watchers = estate
        .assets()
        .iter()
        .filter(|asset| site_zones.contains(&asset.zone))
        .filter(|asset| {
            matches!(
                asset.kind,
                AssetKind::DoorController | AssetKind::Camera | AssetKind::PacsServer
            )
        })
        .map(|asset| (asset.id.clone(), asset.covers.clone()))
        .collect();
    let egress_ip = site.egress.first().map(|cidr| match cidr.address() {
        std::net::IpAddr::V4(v4) => {
            let [a, b, c, d] = v4.octets();
            let host = if cidr.prefix_len() >= 31 { d } else { d | 10 };
            format!("{a}.{b}.{c}.{host}")
        }
        std::net::IpAddr::V6(_) => cidr.address().to_string(),
    });
    let corp_prefix = estate
        .networks()
        .iter()
        .find(|net| net.site == Some(idx) && net.kind == NetworkKind::Corporate)
        .and_then(|net| net.cidrs.first())
        .and_then(|cidr| match cidr.address() {
            std::net::IpAddr::V4(v4) if cidr.prefix_len() <= 16 => {
                let [a, b, _, _] = v4.octets();
                Some([a, b])
            }
            _ => None,
        });
    let known = SITE_CITIES
        .iter()
        .find(|city| city.timezone == site.timezone);
    SiteView {
        idx,
        id: site.id.clone(),
        tz: site.time_zone().clone(),
        active: site.status == SiteStatus::Active,
        lat: site.lat,
        lon: site.lon,
        city: known.map_or(site.name.clone(), |c| c.name.to_string()),
        country: known.map_or_else(
            || site.timezone.split('/').next().unwrap_or("").to_string(),
            |c| c.country.to_string(),
        ),
        egress_ip,
        corp_prefix,
        main,
        dock,
        lobby_ap: lobby.and_then(|zone| ap_of(zone).into_iter().next()),
        cafe_ap: cafe.as_ref().and_then(|c| ap_of(c.zone).into_iter().next()),
        cafe,
        offices,
        server_room,
        classified: secure(ZoneKind::Classified),
        server_port,
        servers,
        watchers,
        door_positions: estate
            .doors()
            .iter()
            .any(|door| door.site == idx && door.position_switch),
    }
}

/// Minutes to milliseconds.
pub const fn minutes(m: i64) -> i64 {
    m * MINUTE_MS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_estate_has_the_places_of_a_working_day() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/estate");
        let estate = Estate::load_dir(&dir).unwrap();
        let twin = Twin::of(&estate);
        let hq = twin.sites.iter().find(|s| s.id == "hq").unwrap();
        assert_eq!(hq.main.as_ref().unwrap().door, "hq-main");
        assert_eq!(hq.server_room.as_ref().unwrap().door_in, "hq-server-in");
        assert_eq!(
            hq.server_room.as_ref().unwrap().door_out.as_deref(),
            Some("hq-server-out")
        );
        assert_eq!(hq.offices.len(), 1);
        assert_eq!(hq.offices[0].rooms.len(), 1);
        assert_eq!(hq.egress_ip.as_deref(), Some("198.51.100.10"));
        assert_eq!(
            twin.decommissioned_door,
            Some(("old-main".to_string(), "old".to_string()))
        );
        let bob = twin.people.iter().find(|p| p.id == "bob").unwrap();
        assert!(bob.sysadmin);
        let dan = twin.people.iter().find(|p| p.id == "dan").unwrap();
        assert!(dan.researcher);
        assert_eq!(dan.workstation.as_ref().unwrap().0, "hq-ws-dan");
        assert_eq!(twin.service_accounts, vec!["svc-backup".to_string()]);
    }
}
