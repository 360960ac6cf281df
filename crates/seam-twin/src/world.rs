//! A generated estate and directory: sites with floors, meeting rooms, a server room and a
//! classified area; their networks, access points, ports and assets; and a workforce of
//! employees, contractors, visitors and service accounts, written as Seam's estate TOML files.
//!
//! The directory also holds what a real one holds over a month: visitors with their hosts and
//! windows, temporary badges from the front desk for people who forgot theirs, people suspended
//! or dismissed (some of whom kept a badge), and contracts that end.

use std::fmt::Write as _;

use seam_estate::EstateFile;

use crate::calendar::{self, DAY_MS};
use crate::rng::Rng;

/// How big a world to make.
#[derive(Clone, Debug)]
pub struct WorldSpec {
    pub people: usize,
    pub sites: usize,
    pub days: u32,
    pub seed: u64,
    /// The first simulated day (midnight UTC, in milliseconds).
    pub start_ms: i64,
}

/// The most sites the address plan has room for.
pub const MAX_SITES: usize = 24;

/// A city a site can be in, and the time zone it keeps.
#[derive(Clone, Copy, Debug)]
pub struct City {
    pub code: &'static str,
    pub name: &'static str,
    pub timezone: &'static str,
    pub country: &'static str,
    pub lat: f64,
    pub lon: f64,
}

const fn city(
    code: &'static str,
    name: &'static str,
    timezone: &'static str,
    country: &'static str,
    lat: f64,
    lon: f64,
) -> City {
    City {
        code,
        name,
        timezone,
        country,
        lat,
        lon,
    }
}

/// Where sites are placed, in this order.
pub const SITE_CITIES: &[City] = &[
    city(
        "ams",
        "Amsterdam",
        "Europe/Amsterdam",
        "Netherlands",
        52.37,
        4.90,
    ),
    city(
        "nyc",
        "New York",
        "America/New_York",
        "United States",
        40.71,
        -74.01,
    ),
    city(
        "lon",
        "London",
        "Europe/London",
        "United Kingdom",
        51.51,
        -0.13,
    ),
    city(
        "sgp",
        "Singapore",
        "Asia/Singapore",
        "Singapore",
        1.35,
        103.82,
    ),
    city(
        "chi",
        "Chicago",
        "America/Chicago",
        "United States",
        41.88,
        -87.63,
    ),
    city("ber", "Berlin", "Europe/Berlin", "Germany", 52.52, 13.40),
    city("tyo", "Tokyo", "Asia/Tokyo", "Japan", 35.68, 139.69),
    city(
        "syd",
        "Sydney",
        "Australia/Sydney",
        "Australia",
        -33.87,
        151.21,
    ),
];

const FIRST_NAMES: &[&str] = &[
    "Ada", "Ben", "Chloe", "David", "Elif", "Femi", "Greta", "Hugo", "Ines", "Jonas", "Kaito",
    "Lena", "Mateo", "Nadia", "Omar", "Priya", "Quinn", "Rosa", "Sven", "Tariq", "Uma", "Victor",
    "Wen", "Ximena", "Yusuf", "Zoe", "Anouk", "Bram", "Carmen", "Dmitri", "Esther", "Farid",
];
const LAST_NAMES: &[&str] = &[
    "Adler", "Bakker", "Costa", "Dubois", "Eriksen", "Fischer", "Garcia", "Haddad", "Ito",
    "Janssen", "Kowalski", "Larsen", "Moreau", "Nakamura", "Okafor", "Petrov", "Quist", "Rossi",
    "Schmidt", "Tanaka", "Usman", "Visser", "Wagner", "Xu", "Yilmaz", "Zhang", "Novak", "Meijer",
];
const ROLES: &[&str] = &["engineer", "analyst", "sales", "finance", "hr", "support"];

/// The site of a generated world at position `index`.
pub fn site_id(index: usize) -> String {
    let city = site_city(index);
    if index < SITE_CITIES.len() {
        city.code.to_string()
    } else {
        format!("{}{}", city.code, index / SITE_CITIES.len() + 1)
    }
}

pub fn site_city(index: usize) -> &'static City {
    SITE_CITIES
        .get(index % SITE_CITIES.len())
        .unwrap_or(&FALLBACK_CITY)
}

/// Never used: the table above is not empty.
const FALLBACK_CITY: City = city("utc", "Nowhere", "UTC", "", 0.0, 0.0);

/// The `index`th entry of a cycled list of names.
fn cycled(names: &[&'static str], index: usize) -> &'static str {
    names.get(index % names.len().max(1)).copied().unwrap_or("")
}

/// Floors a site needs for its people (about 120 a floor).
fn floors_for(people: usize) -> usize {
    people.div_ceil(120).clamp(1, 40)
}

/// The estate files of a generated world, named as `seam check` expects them.
pub fn generate(spec: &WorldSpec) -> Vec<EstateFile> {
    let sites = spec.sites.clamp(1, MAX_SITES);
    let people = spec.people.max(1);
    let mut rng = Rng::stream(spec.seed, &[0x0077_6f72_6c64]);
    let home: Vec<usize> = (0..people)
        .map(|_| weighted_site(&mut rng, sites))
        .collect();
    let mut at_site = vec![0usize; sites];
    for site in &home {
        if let Some(count) = at_site.get_mut(*site) {
            *count += 1;
        }
    }
    let floors: Vec<usize> = at_site.iter().map(|n| floors_for(*n)).collect();
    let mut files = vec![
        EstateFile {
            path: "sites.toml".into(),
            text: sites_toml(spec, &floors),
        },
        EstateFile {
            path: "networks.toml".into(),
            text: networks_toml(&floors),
        },
    ];
    let directory = Directory::plan(spec, &home, &floors, &mut rng);
    files.push(EstateFile {
        path: "assets.toml".into(),
        text: assets_toml(&floors, &directory),
    });
    files.push(EstateFile {
        path: "people.toml".into(),
        text: directory.toml,
    });
    files.push(EstateFile {
        path: "visitors.toml".into(),
        text: visitors_toml(spec, &home, &floors),
    });
    files
}

/// Site 0 is headquarters and twice as big as each other site.
fn weighted_site(rng: &mut Rng, sites: usize) -> usize {
    let draw = rng.below(sites as u64 + 1) as usize;
    draw.saturating_sub(1)
}

fn sites_toml(spec: &WorldSpec, floors: &[usize]) -> String {
    let mut out = String::from("# Generated by `seam sim`: sites, zones and doors.\n\n");
    for (index, floor_count) in floors.iter().enumerate() {
        let id = site_id(index);
        let switch = reports_door_positions(spec.seed, index);
        let city = site_city(index);
        let _ = write!(
            out,
            "[[site]]\nid = \"{id}\"\nname = \"{} office\"\ntimezone = \"{}\"\nlat = {:.4}\n\
             lon = {:.4}\negress = [\"198.18.{index}.0/24\"]\nstatus = \"active\"\n\
             hours = {{ days = [\"mon\", \"tue\", \"wed\", \"thu\", \"fri\"], open = \"07:00\", close = \"20:00\" }}\n\n",
            city.name,
            city.timezone,
            city.lat + (index / SITE_CITIES.len()) as f64 * 0.02,
            city.lon,
        );
        zone(
            &mut out,
            &format!("{id}-lobby"),
            &id,
            "Lobby",
            "lobby",
            "low",
            true,
            false,
        );
        zone(
            &mut out,
            &format!("{id}-cafe"),
            &id,
            "Cafe",
            "common",
            "low",
            true,
            false,
        );
        let server = format!("{id}-server");
        zone(
            &mut out,
            &server,
            &id,
            "Server room",
            "server_room",
            "critical",
            false,
            true,
        );
        let classified = format!("{id}-classified");
        zone(
            &mut out,
            &classified,
            &id,
            "Classified area",
            "classified",
            "critical",
            false,
            true,
        );
        door(
            &mut out,
            switch,
            &format!("{id}-main"),
            &id,
            "outside",
            &format!("{id}-lobby"),
        );
        door(
            &mut out,
            switch,
            &format!("{id}-dock"),
            &id,
            "outside",
            &format!("{id}-lobby"),
        );
        door(
            &mut out,
            switch,
            &format!("{id}-cafe-door"),
            &id,
            &format!("{id}-lobby"),
            &format!("{id}-cafe"),
        );
        for floor in 1..=*floor_count {
            let office = format!("{id}-f{floor}-office");
            zone(
                &mut out,
                &office,
                &id,
                &format!("Floor {floor} office"),
                "office",
                "medium",
                false,
                false,
            );
            door(
                &mut out,
                switch,
                &format!("{id}-f{floor}-door"),
                &id,
                &format!("{id}-lobby"),
                &office,
            );
            for room in ["a", "b"] {
                let meet = format!("{id}-f{floor}-meet-{room}");
                zone(
                    &mut out,
                    &meet,
                    &id,
                    &format!("Floor {floor} meeting room {room}"),
                    "meeting",
                    "medium",
                    false,
                    false,
                );
                door(
                    &mut out,
                    switch,
                    &format!("{meet}-door"),
                    &id,
                    &office,
                    &meet,
                );
            }
        }
        let f1 = format!("{id}-f1-office");
        door(&mut out, switch, &format!("{server}-in"), &id, &f1, &server);
        door(
            &mut out,
            switch,
            &format!("{server}-out"),
            &id,
            &server,
            &f1,
        );
        door(
            &mut out,
            switch,
            &format!("{classified}-in"),
            &id,
            &f1,
            &classified,
        );
        door(
            &mut out,
            switch,
            &format!("{classified}-out"),
            &id,
            &classified,
            &f1,
        );
    }
    // A closed warehouse near headquarters: nobody should badge there any more.
    let hq = site_city(0);
    let closed_since = calendar::rfc3339(spec.start_ms - 120 * DAY_MS);
    let _ = write!(
        out,
        "[[site]]\nid = \"old\"\nname = \"Old warehouse\"\ntimezone = \"{}\"\nlat = {:.4}\n\
         lon = {:.4}\nstatus = \"decommissioned\"\ndecommissioned_since = \"{closed_since}\"\n\n",
        hq.timezone,
        hq.lat - 0.25,
        hq.lon + 0.2,
    );
    zone(
        &mut out,
        "old-floor",
        "old",
        "Warehouse floor",
        "office",
        "low",
        false,
        false,
    );
    door(&mut out, false, "old-main", "old", "outside", "old-floor");
    out
}

#[allow(clippy::too_many_arguments)]
fn zone(
    out: &mut String,
    id: &str,
    site: &str,
    name: &str,
    kind: &str,
    sensitivity: &str,
    high_traffic: bool,
    anti_passback: bool,
) {
    let _ = write!(
        out,
        "[[zone]]\nid = \"{id}\"\nsite = \"{site}\"\nname = \"{name}\"\nkind = \"{kind}\"\n\
         sensitivity = \"{sensitivity}\"\n"
    );
    if high_traffic {
        out.push_str("high_traffic = true\n");
    }
    if anti_passback {
        out.push_str("anti_passback = true\n");
    }
    out.push('\n');
}

/// A door with one reader; `switch`: the site's access-control system reports the door's
/// position (door used), declared in the estate.
fn door(out: &mut String, switch: bool, id: &str, site: &str, from: &str, to: &str) {
    let _ = write!(
        out,
        "[[door]]\nid = \"{id}\"\nsite = \"{site}\"\nfrom = \"{from}\"\nto = \"{to}\"\n\
         readers = [\"{id}-r1\"]\n"
    );
    if switch {
        out.push_str("position_switch = true\n");
    }
    out.push('\n');
}

/// Whether site `index`'s access-control system reports door positions. Real estates vary:
/// older or cheaper systems log card reads only. The first site always does; each other one
/// does with a probability of 0.6, drawn from the world's seed.
pub fn reports_door_positions(seed: u64, index: usize) -> bool {
    index == 0 || Rng::stream(seed, &[0xd005, index as u64]).chance(0.6)
}

/// Site `index`'s networks: 10.(10i+1) corporate, +2 guest, +3 IoT, +4 data centre.
pub fn site_net(index: usize, kind: u8) -> [u8; 2] {
    [10, (index * 10) as u8 + kind]
}

fn networks_toml(floors: &[usize]) -> String {
    let mut out = String::from("# Generated by `seam sim`: networks, access points and ports.\n\n");
    for (index, floor_count) in floors.iter().enumerate() {
        let id = site_id(index);
        for (kind, name, number) in [
            ("corporate", "corp", 1u8),
            ("guest", "guest", 2),
            ("iot", "iot", 3),
            ("datacenter", "dc", 4),
        ] {
            let [a, b] = site_net(index, number);
            let _ = write!(
                out,
                "[[network]]\nid = \"{id}-{name}\"\nsite = \"{id}\"\ncidrs = [\"{a}.{b}.0.0/16\"]\nkind = \"{kind}\"\n\n"
            );
        }
        ap(&mut out, &format!("{id}-ap-lobby"), &format!("{id}-lobby"));
        ap(&mut out, &format!("{id}-ap-cafe"), &format!("{id}-cafe"));
        for floor in 1..=*floor_count {
            let office = format!("{id}-f{floor}-office");
            ap(&mut out, &format!("{id}-f{floor}-ap1"), &office);
            ap(&mut out, &format!("{id}-f{floor}-ap2"), &office);
            for (port, room) in [(1, "a"), (2, "b")] {
                let meet = format!("{id}-f{floor}-meet-{room}");
                ap(&mut out, &format!("{meet}-ap"), &meet);
                let _ = write!(
                    out,
                    "[[switch_port]]\nid = \"{id}-f{floor}-sw:Gi1/0/{port}\"\nzone = \"{meet}\"\nnetwork = \"{id}-corp\"\n\n"
                );
            }
        }
        let _ = write!(
            out,
            "[[switch_port]]\nid = \"{id}-dc-sw:Gi1/0/1\"\nzone = \"{id}-server\"\nnetwork = \"{id}-dc\"\n\n"
        );
    }
    out.push_str("[[network]]\nid = \"vpn-pool\"\ncidrs = [\"10.250.0.0/16\"]\nkind = \"vpn\"\n\n");
    out
}

fn ap(out: &mut String, id: &str, zone: &str) {
    let _ = write!(out, "[[ap]]\nid = \"{id}\"\nzone = \"{zone}\"\n\n");
}

/// The corporate address of the `index`th workstation at site `site`.
pub fn workstation_ip(site: usize, index: usize) -> String {
    let [a, b] = site_net(site, 1);
    // Workstations from .1.0 up; laptops' DHCP pool is the upper half of the /16.
    let host = (index % 32_000) + 256;
    format!("{a}.{b}.{}.{}", (host >> 8) & 0xff, host & 0xff)
}

/// The planned directory: who is who, written as TOML as it is planned.
struct Directory {
    toml: String,
    /// (person id, site, floor) of every person with a desk, for the workstations.
    desks: Vec<(String, usize, usize, bool)>,
}

impl Directory {
    fn plan(spec: &WorldSpec, home: &[usize], floors: &[usize], rng: &mut Rng) -> Directory {
        let mut toml = String::with_capacity(home.len() * 900);
        toml.push_str("# Generated by `seam sim`: the directory.\n\n");
        let mut desks = Vec::with_capacity(home.len());
        let year_before = calendar::rfc3339(spec.start_ms - 365 * DAY_MS);
        let period_end = spec.start_ms + i64::from(spec.days) * DAY_MS;
        let mut temp_badges = 0usize;
        let mut contractors = 0usize;
        for (index, site) in home.iter().copied().enumerate() {
            let site_code = site_id(site);
            let floor_count = floors.get(site).copied().unwrap_or(1);
            let floor = 1 + rng.below(floor_count as u64) as usize;
            let first = cycled(FIRST_NAMES, index);
            let last = cycled(LAST_NAMES, index / FIRST_NAMES.len() + index * 7);
            let id = format!("p{index:05}");
            let roll = rng.unit();
            let (kind, role) = if roll < 0.08 {
                ("contractor", "contractor")
            } else if roll < 0.11 {
                ("employee", "sysadmin")
            } else if roll < 0.17 {
                ("employee", "researcher")
            } else if roll < 0.18 {
                ("employee", "guard")
            } else {
                ("employee", *rng.pick(ROLES).unwrap_or(&"engineer"))
            };
            let mut clearances = vec![format!("{site_code}-lobby"), format!("{site_code}-cafe")];
            for f in 1..=floor_count {
                clearances.push(format!("{site_code}-f{f}-office"));
                clearances.push(format!("{site_code}-f{f}-meet-a"));
                clearances.push(format!("{site_code}-f{f}-meet-b"));
            }
            match role {
                "sysadmin" => clearances.push(format!("{site_code}-server")),
                "researcher" => clearances.push(format!("{site_code}-classified")),
                _ => {}
            }
            // Some people travel to one other site now and then, and are cleared for it.
            if floors.len() > 1 && role != "guard" && rng.chance(0.2) {
                let other = (site + 1 + rng.below(floors.len() as u64 - 1) as usize) % floors.len();
                let other_code = site_id(other);
                clearances.push(format!("{other_code}-lobby"));
                clearances.push(format!("{other_code}-cafe"));
                clearances.push(format!("{other_code}-f1-office"));
                clearances.push(format!("{other_code}-f1-meet-a"));
                clearances.push(format!("{other_code}-f1-meet-b"));
            }
            let schedule = if role == "guard" {
                "{ days = [\"mon\", \"tue\", \"wed\", \"thu\", \"fri\", \"sat\", \"sun\"], start = \"22:00\", end = \"06:00\" }".to_string()
            } else {
                let start_half_hours = 15 + rng.below(5) as i64; // 07:30 .. 09:30
                let start = start_half_hours * 30;
                let end = start + 9 * 60;
                format!(
                    "{{ days = [\"mon\", \"tue\", \"wed\", \"thu\", \"fri\"], start = \"{:02}:{:02}\", end = \"{:02}:{:02}\" }}",
                    start / 60,
                    start % 60,
                    end / 60,
                    end % 60
                )
            };
            // Status over time: most are active throughout; a few are suspended during the
            // period, a few were dismissed before it, and some of those kept their badge.
            let mut status_roll = rng.unit();
            let keep_badge_roll = rng.unit();
            if kind == "contractor" {
                contractors += 1;
                // Every directory of some size has a contractor who was let go and whose badge
                // nobody collected.
                if contractors % 40 == 1 {
                    status_roll = 0.02;
                }
            }
            let mut status = format!("[{{ status = \"active\", since = \"{year_before}\" }}");
            let mut badge_until = String::new();
            let mut window = String::new();
            if status_roll < 0.01 {
                // From a local midnight: the person's last working day ends before it.
                let day = rng.below(u64::from(spec.days.max(1))) as u32;
                let since =
                    calendar::local_midnight_ms(site_city(site).timezone, spec.start_ms, day);
                let _ = write!(
                    status,
                    ", {{ status = \"suspended\", since = \"{}\" }}",
                    calendar::rfc3339(since)
                );
            } else if status_roll < 0.025 {
                let since = spec.start_ms - (5 + rng.below(40) as i64) * DAY_MS + 17 * 3_600_000;
                let _ = write!(
                    status,
                    ", {{ status = \"terminated\", since = \"{}\" }}",
                    calendar::rfc3339(since)
                );
                if kind == "contractor" {
                    window = format!(
                        "window = {{ start = \"{year_before}\", end = \"{}\" }}\n",
                        calendar::rfc3339(since)
                    );
                }
                // Half of the dismissed handed their badge in; the rest still point to them.
                if keep_badge_roll < 0.5 && !(kind == "contractor" && contractors % 40 == 1) {
                    badge_until = format!(", until = \"{}\"", calendar::rfc3339(since));
                }
            }
            status.push(']');
            if kind == "contractor" && window.is_empty() {
                // Most contracts run past the period; some end during it.
                let end = if rng.chance(0.15) {
                    let day = 1 + rng.below(u64::from(spec.days.max(1))) as u32;
                    calendar::local_midnight_ms(site_city(site).timezone, spec.start_ms, day)
                } else {
                    period_end + 100 * DAY_MS
                };
                window = format!(
                    "window = {{ start = \"{year_before}\", end = \"{}\" }}\n",
                    calendar::rfc3339(end)
                );
            }
            let privileged = if role == "sysadmin" {
                "privileged = true\n"
            } else {
                ""
            };
            let name = format!("{first} {last}");
            let user = format!(
                "{}.{}{index}@example.com",
                first.to_ascii_lowercase(),
                last.to_ascii_lowercase()
            );
            let username = format!("{}{index}", first.to_ascii_lowercase());
            let clearance_list = clearances
                .iter()
                .map(|zone| format!("\"{zone}\""))
                .collect::<Vec<_>>()
                .join(", ");
            let _ = write!(
                toml,
                "[[person]]\nid = \"{id}\"\nname = \"{name}\"\nkind = \"{kind}\"\nstatus = {status}\n\
                 roles = [\"{role}\"]\n{privileged}clearances = [{clearance_list}]\nhome_site = \"{site_code}\"\n\
                 schedule = {schedule}\n{window}identifiers = [\n\
                 \x20   {{ kind = \"badge\", value = \"{}\"{badge_until} }},\n\
                 \x20   {{ kind = \"upn\", value = \"{user}\" }},\n\
                 \x20   {{ kind = \"email\", value = \"{user}\" }},\n\
                 \x20   {{ kind = \"okta\", value = \"00u{index:08x}\" }},\n\
                 \x20   {{ kind = \"username\", value = \"{username}\" }},\n\
                 \x20   {{ kind = \"device\", value = \"ws-{id}\" }},\n\
                 \x20   {{ kind = \"mac\", value = \"{}\" }},\n",
                badge_number(index),
                laptop_mac(index),
            );
            // A forgotten badge now and then: the front desk issues a temporary one for the day.
            if role != "guard" {
                for day in 0..spec.days {
                    if calendar::is_weekday(spec.start_ms + i64::from(day) * DAY_MS)
                        && rng.chance(0.003)
                    {
                        let tz = site_city(site).timezone;
                        let from = calendar::local_midnight_ms(tz, spec.start_ms, day);
                        let until = calendar::local_midnight_ms(tz, spec.start_ms, day + 1);
                        temp_badges += 1;
                        let _ = writeln!(
                            toml,
                            "    {{ kind = \"badge\", value = \"T-{temp_badges:05}\", from = \"{}\", until = \"{}\" }},",
                            calendar::rfc3339(from),
                            calendar::rfc3339(until)
                        );
                    }
                }
            }
            toml.push_str("]\n\n");
            desks.push((id, site, floor, role == "researcher"));
        }
        // Service accounts: no badge, no desk, privileged.
        for index in 0..(home.len() / 500).max(2) {
            let _ = write!(
                toml,
                "[[person]]\nid = \"svc-{index:03}\"\nname = \"Service account {index}\"\nkind = \"service\"\n\
                 status = [{{ status = \"active\", since = \"{year_before}\" }}]\nprivileged = true\nhome_site = \"{}\"\n\
                 identifiers = [{{ kind = \"username\", value = \"svc-{index:03}\" }}, {{ kind = \"upn\", value = \"svc-{index:03}@example.com\" }}]\n\n",
                site_id(0)
            );
        }
        Directory { toml, desks }
    }
}

/// The permanent badge number of person `index`.
pub fn badge_number(index: usize) -> String {
    format!("{}", 100_000 + index)
}

/// The laptop MAC of person `index` (locally administered).
pub fn laptop_mac(index: usize) -> String {
    let b = (index as u32).to_be_bytes();
    format!("02:5e:{:02x}:{:02x}:{:02x}:{:02x}", b[0], b[1], b[2], b[3])
}

fn assets_toml(floors: &[usize], directory: &Directory) -> String {
    let mut out = String::from("# Generated by `seam sim`: assets and resources.\n\n");
    for (index, _) in floors.iter().enumerate() {
        let id = site_id(index);
        let [a, b] = site_net(index, 4);
        for server in 1..=4 {
            let _ = write!(
                out,
                "[[asset]]\nid = \"{id}-srv{server}\"\nkind = \"server\"\nzone = \"{id}-server\"\n\
                 network = \"{id}-dc\"\nips = [\"{a}.{b}.0.{}\"]\nhostnames = [\"{id}-srv{server}\"]\ncriticality = \"critical\"\n\n",
                10 + server
            );
        }
        let _ = write!(
            out,
            "[[asset]]\nid = \"{id}-pacs\"\nkind = \"pacs_server\"\nzone = \"{id}-server\"\nnetwork = \"{id}-dc\"\n\
             ips = [\"{a}.{b}.0.2\"]\ncriticality = \"critical\"\n\n"
        );
        let [a, b] = site_net(index, 3);
        let _ = write!(
            out,
            "[[asset]]\nid = \"{id}-door-ctrl\"\nkind = \"door_controller\"\nzone = \"{id}-server\"\nnetwork = \"{id}-iot\"\n\
             ips = [\"{a}.{b}.0.2\"]\ncriticality = \"critical\"\ncovers = [\"{id}-server\", \"{id}-classified\"]\n\n\
             [[asset]]\nid = \"{id}-cam-server\"\nkind = \"camera\"\nzone = \"{id}-f1-office\"\nnetwork = \"{id}-iot\"\n\
             ips = [\"{a}.{b}.0.5\"]\ncriticality = \"medium\"\ncovers = [\"{id}-server\"]\n\n\
             [[asset]]\nid = \"{id}-cam-classified\"\nkind = \"camera\"\nzone = \"{id}-f1-office\"\nnetwork = \"{id}-iot\"\n\
             ips = [\"{a}.{b}.0.6\"]\ncriticality = \"medium\"\ncovers = [\"{id}-classified\"]\n\n"
        );
    }
    let mut desks_at_site = vec![0usize; floors.len()];
    for (person, site, floor, sensitive) in &directory.desks {
        let Some(desk) = desks_at_site.get_mut(*site) else {
            continue;
        };
        let index = *desk;
        *desk += 1;
        let zone = format!("{}-f{floor}-office", site_id(*site));
        let criticality = if *sensitive { "high" } else { "medium" };
        let _ = write!(
            out,
            "[[asset]]\nid = \"ws-{person}\"\nkind = \"workstation\"\nzone = \"{zone}\"\nnetwork = \"{}-corp\"\n\
             ips = [\"{}\"]\nhostnames = [\"ws-{person}\"]\ncriticality = \"{criticality}\"\nowner = \"{person}\"\n\n",
            site_id(*site),
            workstation_ip(*site, index),
        );
    }
    let hq = site_id(0);
    let _ = write!(
        out,
        "[[resource]]\nid = \"wiki\"\nkind = \"app\"\nlabels = []\n\n\
         [[resource]]\nid = \"git\"\nkind = \"app\"\nlabels = []\n\n\
         [[resource]]\nid = \"crm\"\nkind = \"app\"\nlabels = []\n\n\
         [[resource]]\nid = \"hr-app\"\nkind = \"app\"\nlabels = [\"requires-onsite\"]\n\n\
         [[resource]]\nid = \"payroll-share\"\nkind = \"file_share\"\nlabels = [\"requires-onsite\", \"confidential\"]\nasset = \"{hq}-srv1\"\n\n"
    );
    out
}

/// Visitors of every weekday: hosted by someone of the site, for a morning or an afternoon.
fn visitors_toml(spec: &WorldSpec, home: &[usize], floors: &[usize]) -> String {
    let mut out = String::from("# Generated by `seam sim`: visitors and their visits.\n\n");
    let mut by_site: Vec<Vec<usize>> = vec![Vec::new(); floors.len()];
    for (index, site) in home.iter().enumerate() {
        if let Some(list) = by_site.get_mut(*site) {
            list.push(index);
        }
    }
    for day in 0..spec.days {
        let midnight_utc = spec.start_ms + i64::from(day) * DAY_MS;
        if !calendar::is_weekday(midnight_utc) {
            continue;
        }
        for (site, residents) in by_site.iter().enumerate() {
            if residents.is_empty() {
                continue;
            }
            let mut rng = Rng::stream(spec.seed, &[0x0076_6973, u64::from(day), site as u64]);
            let count = (residents.len() / 60).max(1);
            let code = site_id(site);
            let tz = site_city(site).timezone;
            let midnight = calendar::local_midnight_ms(tz, spec.start_ms, day);
            let next_midnight = calendar::local_midnight_ms(tz, spec.start_ms, day + 1);
            for visit in 0..count {
                let Some(host) = rng.pick(residents).copied() else {
                    continue;
                };
                let morning = rng.chance(0.5);
                let start = midnight + if morning { 9 } else { 13 } * 3_600_000;
                let end = start + 3 * 3_600_000;
                let floor_count = floors.get(site).copied().unwrap_or(1);
                let floor = 1 + rng.below(floor_count as u64) as usize;
                let id = format!("v{day:03}-{code}-{visit:03}");
                let first = cycled(FIRST_NAMES, visit * 5 + day as usize);
                let last = cycled(LAST_NAMES, visit * 3 + site);
                let _ = write!(
                    out,
                    "[[person]]\nid = \"{id}\"\nname = \"{first} {last} (visitor)\"\nkind = \"visitor\"\n\
                     status = [{{ status = \"active\", since = \"{}\" }}]\nhost = \"p{host:05}\"\n\
                     window = {{ start = \"{}\", end = \"{}\" }}\n\
                     clearances = [\"{code}-lobby\", \"{code}-cafe\", \"{code}-f{floor}-meet-a\", \"{code}-f{floor}-meet-b\"]\n\
                     home_site = \"{code}\"\nidentifiers = [\n\
                     \x20   {{ kind = \"badge\", value = \"V-{day:03}{site:02}{visit:03}\", from = \"{}\", until = \"{}\" }},\n\
                     \x20   {{ kind = \"mac\", value = \"{}\" }},\n]\n\n",
                    calendar::rfc3339(midnight),
                    calendar::rfc3339(start),
                    calendar::rfc3339(end),
                    calendar::rfc3339(midnight),
                    calendar::rfc3339(next_midnight),
                    visitor_mac(day, site, visit),
                );
            }
        }
    }
    out
}

/// A visitor's phone MAC, unique per visit.
pub fn visitor_mac(day: u32, site: usize, visit: usize) -> String {
    let d = day.to_be_bytes();
    format!(
        "06:71:{:02x}:{:02x}:{:02x}:{:02x}",
        d[2], d[3], site as u8, visit as u8
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(people: usize, sites: usize) -> WorldSpec {
        WorldSpec {
            people,
            sites,
            days: 7,
            seed: 42,
            start_ms: calendar::DEFAULT_START_MS,
        }
    }

    #[test]
    fn a_generated_world_loads_as_an_estate() {
        let files = generate(&spec(500, 3));
        let estate = seam_estate::Estate::from_files(&files).unwrap();
        assert_eq!(
            estate.sites().len(),
            4,
            "three sites and the closed warehouse"
        );
        let people = estate
            .people()
            .iter()
            .filter(|p| p.id.starts_with('p'))
            .count();
        assert_eq!(people, 500);
        assert!(
            estate
                .people()
                .iter()
                .any(|p| p.kind == seam_estate::PersonKind::Visitor)
        );
        assert!(
            estate
                .people()
                .iter()
                .any(|p| p.kind == seam_estate::PersonKind::Contractor)
        );
        assert!(
            estate
                .people()
                .iter()
                .any(|p| p.kind == seam_estate::PersonKind::Service)
        );
        assert!(estate.assets().iter().filter(|a| a.owner.is_some()).count() == 500);
    }

    #[test]
    fn the_same_seed_gives_the_same_files_and_another_seed_does_not() {
        let a = generate(&spec(200, 2));
        let b = generate(&spec(200, 2));
        let c = generate(&WorldSpec {
            seed: 43,
            ..spec(200, 2)
        });
        assert_eq!(
            a.iter().map(|f| &f.text).collect::<Vec<_>>(),
            b.iter().map(|f| &f.text).collect::<Vec<_>>()
        );
        assert_ne!(
            a.iter().map(|f| &f.text).collect::<Vec<_>>(),
            c.iter().map(|f| &f.text).collect::<Vec<_>>()
        );
    }

    #[test]
    fn many_sites_stay_within_the_address_plan() {
        let files = generate(&spec(100, 40));
        let estate = seam_estate::Estate::from_files(&files).unwrap();
        assert_eq!(estate.sites().len(), MAX_SITES + 1);
    }
}
