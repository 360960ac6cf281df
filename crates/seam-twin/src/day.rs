//! One simulated day: every person's ordinary behaviour, the building's devices, and the
//! attacks scheduled for the day, as normalized events with their ground truth.
//!
//! A person's day is planned first (arrival, lunch, meetings, visits to the server room or the
//! classified area, departure), then written out as the signals such a day leaves: badges and
//! door sensors, DHCP leases, Wi-Fi associations as they move, sign-ins, file access,
//! workstation traffic, room bookings, occupancy counts. The plan is kept as a [`Trace`] so
//! that attacks can be placed where they make sense ("while she is in the classified area").

use seam_model::{Activity, Event, EventClass, Medium, Outcome, Ts};

use crate::calendar::{self, DAY_MS, HOUR_MS, MINUTE_MS};
use crate::rng::Rng;
use crate::truth::Scenario;
use crate::twin::{Persona, SiteView, Twin, minutes};

/// What a simulation run is asked for.
#[derive(Clone, Debug)]
pub struct SimSpec {
    pub seed: u64,
    pub days: u32,
    /// The UTC midnight of the first day, in milliseconds.
    pub start_ms: i64,
    /// How many attacks of each kind over the whole run (0: benign traffic only).
    pub attacks_per_kind: u32,
}

/// What kind of day a person has.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum DayKind {
    #[default]
    Off,
    Onsite,
    Remote,
    /// On a plane: no signals at all.
    Flight,
    /// Working at another site (index into the twin's sites).
    Travel(usize),
    /// Abroad, signing in from a foreign city (index into [`ABROAD`]).
    Abroad(usize),
}

/// A city people travel to, with the address block its hotels and cafés use.
#[derive(Clone, Copy, Debug)]
pub struct Place {
    pub city: &'static str,
    pub country: &'static str,
    pub lat: f64,
    pub lon: f64,
    pub net: u8,
}

const fn place(city: &'static str, country: &'static str, lat: f64, lon: f64, net: u8) -> Place {
    Place {
        city,
        country,
        lat,
        lon,
        net,
    }
}

/// Where people go on business trips.
pub const ABROAD: &[Place] = &[
    place("Lisbon", "Portugal", 38.72, -9.14, 46),
    place("Toronto", "Canada", 43.65, -79.38, 99),
    place("Dubai", "United Arab Emirates", 25.20, 55.27, 94),
    place("Mumbai", "India", 19.08, 72.88, 49),
    place("Seoul", "South Korea", 37.57, 126.98, 121),
    place("Cape Town", "South Africa", -33.92, 18.42, 105),
];

/// A place with no name, for the impossible case of an empty table.
pub const NOWHERE: Place = place("", "", 0.0, 0.0, 198);

/// Where stolen credentials are used from.
pub const HOSTILE: &[Place] = &[
    place("Bucharest", "Romania", 44.43, 26.10, 185),
    place("Lagos", "Nigeria", 6.52, 3.38, 197),
    place("Sao Paulo", "Brazil", -23.55, -46.63, 177),
    place("Hanoi", "Vietnam", 21.03, 105.85, 113),
    place("Lima", "Peru", -12.05, -77.04, 190),
];

/// What a person's day was, for placing attacks in it.
#[derive(Clone, Debug, Default)]
pub struct Trace {
    pub kind: DayKind,
    pub site: usize,
    pub arrive: i64,
    pub leave: i64,
    /// Intervals away from the desk, with what they were.
    pub away: Vec<(i64, i64, Away)>,
    /// The uid of the Wi-Fi association in the cafe at lunch.
    pub lunch_wifi: Option<String>,
    /// A VPN session: start, end, the address it was given.
    pub vpn: Option<(i64, i64, String)>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Away {
    Lunch,
    Meeting(usize),
    ServerRoom,
    Classified,
}

impl Trace {
    /// Whether `t` is a working moment at the desk (not away, not arriving or leaving).
    pub fn at_desk(&self, t: i64) -> bool {
        t > self.arrive + minutes(15)
            && t < self.leave - minutes(10)
            && self
                .away
                .iter()
                .all(|(start, end, _)| t < start - minutes(5) || t > end + minutes(5))
    }

    /// A random moment at the desk, if the day has one.
    pub fn desk_time(&self, rng: &mut Rng) -> Option<i64> {
        for _ in 0..12 {
            let t = rng.between(self.arrive, self.leave);
            if self.at_desk(t) {
                return Some(t);
            }
        }
        None
    }

    pub fn away_of(&self, what: fn(&Away) -> bool) -> Option<(i64, i64)> {
        self.away
            .iter()
            .find(|(_, _, kind)| what(kind))
            .map(|(s, e, _)| (*s, *e))
    }

    fn is_free(&self, start: i64, end: i64) -> bool {
        start > self.arrive + minutes(20)
            && end < self.leave - minutes(20)
            && self
                .away
                .iter()
                .all(|(s, e, _)| end + minutes(10) < *s || start > *e + minutes(10))
    }
}

/// A device's offline spell, so that heartbeats keep quiet during it.
#[derive(Clone, Debug)]
struct Outage {
    device: String,
    from: i64,
    until: i64,
    /// Whether the offline and online reports are still to be written.
    report: bool,
}

/// The events and truth of one day.
#[derive(Debug, Default)]
pub struct DayOutput {
    pub day: u32,
    pub events: Vec<Event>,
    pub scenarios: Vec<Scenario>,
    /// Benign situations that look like attacks, labelled (`kind` is the family), so that
    /// `seam eval` can say how often each family is flagged.
    pub lookalikes: Vec<Scenario>,
    pub skipped: Vec<&'static str>,
    /// Employees and contractors active on the day.
    pub person_days: u64,
}

/// Which person-day kind each day of the run is, for one person: trips span several days, so
/// the calendar is walked from the first day.
pub fn day_kind(twin: &Twin, spec: &SimSpec, persona: &Persona, day: u32) -> DayKind {
    let mut rng = Rng::stream(spec.seed, &[0xca1e, persona.number as u64]);
    let mut queue: Vec<DayKind> = Vec::new();
    let mut kind = DayKind::Off;
    for d in 0..=day {
        let roll = rng.unit();
        let stay = rng.unit();
        let length = 1 + rng.below(3) as usize;
        let city = rng.below(ABROAD.len() as u64) as usize;
        let weekday = calendar::is_weekday(spec.start_ms + i64::from(d) * DAY_MS);
        kind = if let Some(next) = queue.pop() {
            // Nobody works at the other site over the weekend of a trip.
            match next {
                DayKind::Travel(_) if !weekday => DayKind::Off,
                other => other,
            }
        } else if persona.night_shift {
            if roll < 0.03 {
                DayKind::Off
            } else {
                DayKind::Onsite
            }
        } else if !weekday {
            DayKind::Off
        } else if roll < 0.004 {
            // A trip abroad: fly out, a few days there, fly back.
            queue.push(DayKind::Flight);
            queue.extend(std::iter::repeat_n(DayKind::Abroad(city), length + 1));
            DayKind::Flight
        } else if roll < 0.014
            && let Some(site) = persona.travel_site
            && twin.sites.get(site).is_some()
        {
            queue.push(DayKind::Flight);
            queue.extend(std::iter::repeat_n(DayKind::Travel(site), length));
            DayKind::Flight
        } else if roll < 0.044 {
            DayKind::Off
        } else if stay < persona.remote_rate {
            DayKind::Remote
        } else {
            DayKind::Onsite
        };
    }
    kind
}

/// Builds one day.
struct DayGen<'a> {
    twin: &'a Twin,
    spec: &'a SimSpec,
    day: u32,
    /// Local midnight of each site for this day.
    midnights: Vec<i64>,
    events: Vec<Event>,
    seq: u32,
    /// (zone, time, change, scenario that caused it).
    occupancy: Vec<(u32, i64, i64, Option<usize>)>,
    outages: Vec<Outage>,
    traces: Vec<Option<Trace>>,
    scenarios: Vec<Scenario>,
    /// The scenario currently collecting event uids.
    recording: Option<usize>,
    lookalikes: Vec<Scenario>,
    /// The look-alike currently collecting event uids.
    benign: Option<usize>,
    skipped: Vec<&'static str>,
    /// Approved changes today: (the user it names, or any administrator for a change assigned
    /// to their group; the server; start; end).
    changes: Vec<(Option<String>, String, i64, i64)>,
}

/// The share of working days an administrator ends with maintenance at night, about one night
/// in seven.
const MAINTENANCE_RATE: f64 = 0.15;

/// Simulates day `day` (0-based) of the run.
pub fn simulate_day(twin: &Twin, spec: &SimSpec, day: u32) -> DayOutput {
    let midnights = twin
        .sites
        .iter()
        .map(|site| calendar::local_midnight_in(&site.tz, spec.start_ms, day))
        .collect();
    let mut generator = DayGen {
        twin,
        spec,
        day,
        midnights,
        events: Vec::with_capacity(twin.people.len() * 40),
        seq: 0,
        occupancy: Vec::new(),
        outages: Vec::new(),
        traces: vec![None; twin.people.len()],
        scenarios: Vec::new(),
        recording: None,
        lookalikes: Vec::new(),
        benign: None,
        skipped: Vec::new(),
        changes: Vec::new(),
    };
    let mut person_days = 0;
    for (index, persona) in twin.people.iter().enumerate() {
        if persona.kind == seam_estate::PersonKind::Visitor {
            generator.visitor(persona);
            continue;
        }
        let noon = generator.midnight(persona.site) + 12 * HOUR_MS;
        if !persona.is_active_at(noon) {
            continue;
        }
        person_days += 1;
        let kind = day_kind(twin, spec, persona, day);
        let mut rng = Rng::stream(spec.seed, &[0xda7, u64::from(day), persona.number as u64]);
        let trace = generator.person_day(persona, kind, &mut rng);
        if let Some(slot) = generator.traces.get_mut(index) {
            *slot = trace;
        }
    }
    generator.service_accounts();
    generator.building_noise();
    generator.workstation_background();
    generator.attacks();
    generator.devices();
    generator.occupancy_counts();
    DayOutput {
        day,
        events: generator.events,
        scenarios: generator.scenarios,
        lookalikes: generator.lookalikes,
        skipped: generator.skipped,
        person_days,
    }
}

/// An address in a /8 block chosen by `net`, from a number.
fn public_ip(net: u8, number: usize) -> String {
    format!(
        "{net}.{}.{}.{}",
        (number >> 16) & 0xff,
        (number >> 8) & 0xff,
        (number & 0xff).max(1)
    )
}

impl<'a> DayGen<'a> {
    fn midnight(&self, site: usize) -> i64 {
        self.midnights
            .get(site)
            .copied()
            .unwrap_or(self.spec.start_ms + i64::from(self.day) * DAY_MS)
    }

    fn site(&self, site: usize) -> Option<&'a SiteView> {
        self.twin.sites.get(site)
    }

    /// `sim-DDD-SSSSSSS`: the day and the event's number in it, written by hand (a `format!` per
    /// event showed in profiles).
    fn uid(&self) -> String {
        fn push(uid: &mut String, value: u32, width: u32) {
            let mut divisor = 10u32.pow(width - 1);
            if value / divisor >= 10 {
                uid.push_str(&value.to_string());
                return;
            }
            while divisor > 0 {
                uid.push(char::from(b'0' + (value / divisor % 10) as u8));
                divisor /= 10;
            }
        }
        let mut uid = String::with_capacity(16);
        uid.push_str("sim-");
        push(&mut uid, self.day, 3);
        uid.push('-');
        push(&mut uid, self.seq, 7);
        uid
    }

    /// Adds an event and returns it for its fields to be filled in.
    fn push(&mut self, t: i64, source: &str, class: EventClass, activity: Activity) -> &mut Event {
        self.seq += 1;
        let uid = self.uid();
        if let Some(scenario) = self.recording.and_then(|i| self.scenarios.get_mut(i)) {
            scenario.events.push(uid.clone());
            scenario.start = scenario.start.min(Ts(t));
            scenario.end = scenario.end.max(Ts(t));
        }
        if let Some(lookalike) = self.benign.and_then(|i| self.lookalikes.get_mut(i)) {
            lookalike.events.push(uid.clone());
            lookalike.start = lookalike.start.min(Ts(t));
            lookalike.end = lookalike.end.max(Ts(t));
        }
        self.events
            .push(Event::new(uid, Ts(t), source, class, activity));
        match self.events.last_mut() {
            Some(event) => event,
            None => unreachable!("an event was just pushed"),
        }
    }

    /// Starts labelling the events that follow as one instance of a look-alike family.
    fn look_alike(&mut self, family: &str, person: &str) {
        self.benign = Some(self.lookalikes.len());
        self.lookalikes.push(Scenario {
            scenario: format!("b{:03}-{}", self.day, self.lookalikes.len()),
            kind: family.to_string(),
            rules: Vec::new(),
            people: vec![person.to_string()],
            start: Ts::MAX,
            end: Ts::MIN,
            events: Vec::new(),
            campaign: false,
        });
    }

    /// Stops labelling; an instance that made no event is dropped.
    fn look_alike_end(&mut self) {
        if self.benign.take().is_some()
            && self.lookalikes.last().is_some_and(|l| l.events.is_empty())
        {
            self.lookalikes.pop();
        }
    }

    fn last_uid(&self) -> String {
        self.events
            .last()
            .map(|event| event.uid.clone())
            .unwrap_or_default()
    }

    // --- Signals ---------------------------------------------------------------------------

    /// A badge at a door: granted and, when someone goes through, the door-used signal.
    fn badge(&mut self, t: i64, site: &str, badge: &str, door: &str, used: bool) {
        let source = format!("pacs-{site}");
        let event = self.push(t, &source, EventClass::PhysicalAccess, Activity::Granted);
        event.subject.badge = Some(badge.to_string());
        event.door = Some(door.to_string());
        // A system that logs card reads only never says whether anyone went through.
        let reports = self
            .twin
            .sites
            .iter()
            .find(|s| s.id == site)
            .is_none_or(|s| s.door_positions);
        if used && reports {
            let event = self.push(
                t + 2_000 + (t % 3) * 1_000,
                &source,
                EventClass::PhysicalAccess,
                Activity::DoorUsed,
            );
            event.subject.badge = Some(badge.to_string());
            event.door = Some(door.to_string());
        }
    }

    fn denied(&mut self, t: i64, site: &str, badge: &str, door: &str) {
        let event = self.push(
            t,
            &format!("pacs-{site}"),
            EventClass::PhysicalAccess,
            Activity::Denied,
        );
        event.subject.badge = Some(badge.to_string());
        event.door = Some(door.to_string());
        event.reason = Some("not_authorized".into());
    }

    fn wifi(&mut self, t: i64, mac: &str, ap: &str) {
        let event = self.push(t, "meraki", EventClass::NetworkSession, Activity::Connect);
        event.outcome = Outcome::Success;
        event.medium = Some(Medium::Wifi);
        event.subject.mac = Some(mac.to_string());
        event.ap = Some(ap.to_string());
    }

    fn wifi_gone(&mut self, t: i64, mac: &str, ap: &str) {
        let event = self.push(
            t,
            "meraki",
            EventClass::NetworkSession,
            Activity::Disconnect,
        );
        event.medium = Some(Medium::Wifi);
        event.subject.mac = Some(mac.to_string());
        event.ap = Some(ap.to_string());
    }

    fn dhcp(&mut self, t: i64, mac: &str, ip: &str, lease_ms: i64) {
        let event = self.push(t, "dhcp", EventClass::Dhcp, Activity::Assign);
        event.subject.mac = Some(mac.to_string());
        event.subject.ip = ip.parse().ok();
        event.until = Some(Ts(t + lease_ms));
    }

    #[allow(clippy::too_many_arguments)]
    fn signin(
        &mut self,
        t: i64,
        user: &str,
        ip: &str,
        place: Option<(&str, &str, f64, f64)>,
        outcome: Outcome,
        app: &str,
    ) {
        let event = self.push(t, "okta", EventClass::Authentication, Activity::Logon);
        event.outcome = outcome;
        event.subject.user = Some(user.to_string());
        event.src.ip = ip.parse().ok();
        if let Some((city, country, lat, lon)) = place {
            event.src.city = Some(city.to_string());
            event.src.country = Some(country.to_string());
            event.src.lat = Some(lat);
            event.src.lon = Some(lon);
        }
        event.app = Some(app.to_string());
        if outcome == Outcome::Success {
            event.mfa = Some(true);
        } else {
            event.reason = Some("INVALID_CREDENTIALS".into());
        }
    }

    fn vpn(&mut self, t: i64, user: &str, from: &str, given: &str, connect: bool) {
        let activity = if connect {
            Activity::Connect
        } else {
            Activity::Disconnect
        };
        let event = self.push(t, "globalprotect", EventClass::NetworkSession, activity);
        event.outcome = Outcome::Success;
        event.medium = Some(Medium::Vpn);
        event.subject.user = Some(user.to_string());
        event.subject.ip = given.parse().ok();
        event.src.ip = from.parse().ok();
    }

    fn read(&mut self, t: i64, user: &str, ip: &str, resource: &str) {
        let event = self.push(t, "fileserver", EventClass::ResourceAccess, Activity::Read);
        event.outcome = Outcome::Success;
        event.subject.user = Some(user.to_string());
        event.src.ip = ip.parse().ok();
        event.resource = Some(resource.to_string());
    }

    /// A flow as a flow exporter sees it: addresses, port and bytes, no device name (the
    /// engine finds the workstation by its address).
    fn traffic(&mut self, t: i64, _device: &str, ip: &str, bytes: u64, rng: &mut Rng) {
        let event = self.push(t, "netflow", EventClass::NetworkActivity, Activity::Traffic);
        event.subject.ip = ip.parse().ok();
        event.src.ip = event.subject.ip;
        event.app = Some("tcp".into());
        event.dst.ip = public_ip(52, rng.below(1 << 20) as usize).parse().ok();
        event.dst.port = Some(443);
        event.bytes_out = Some(bytes);
    }

    /// A flow to a given outside address.
    fn traffic_to(&mut self, t: i64, ip: &str, dst: &str, bytes: u64) {
        let event = self.push(t, "netflow", EventClass::NetworkActivity, Activity::Traffic);
        event.subject.ip = ip.parse().ok();
        event.src.ip = event.subject.ip;
        event.app = Some("tcp".into());
        event.dst.ip = dst.parse().ok();
        event.dst.port = Some(443);
        event.bytes_out = Some(bytes);
    }

    /// Every workstation talks to the outside day and night, its owner there or not: updates,
    /// telemetry, mail, the cloud drive. Each goes to the few services of its own (and one
    /// shared by everyone), a few kilobytes to a megabyte and a half at a time.
    fn workstation_background(&mut self) {
        for persona in &self.twin.people {
            let Some((_, ip)) = &persona.workstation else {
                continue;
            };
            let m0 = self.midnight(persona.site);
            if !persona.is_active_at(m0 + 12 * HOUR_MS) {
                continue;
            }
            let number = persona.number;
            let services = [
                public_ip(20, number.wrapping_mul(7) % (1 << 20)),
                public_ip(20, (number.wrapping_mul(7) + 1) % (1 << 20)),
                public_ip(23, number % 16),
            ];
            let mut rng = Rng::stream(self.spec.seed, &[0xb6, u64::from(self.day), number as u64]);
            self.look_alike("workstation-background-traffic", &persona.id);
            for _ in 0..rng.between(3, 8) {
                let t = m0 + rng.between(0, 24 * 60 * 60) * 1000;
                let dst = rng.pick(&services).cloned().unwrap_or_default();
                let bytes = rng.between(5_000, 1_500_000) as u64;
                self.traffic_to(t, ip, &dst, bytes);
            }
            self.look_alike_end();
        }
    }

    fn occupancy_change(&mut self, zone: seam_estate::ZoneIdx, t: i64, change: i64) {
        let scenario = self.recording;
        self.occupancy.push((zone.0, t, change, scenario));
    }

    fn privileged_signin(&mut self, t: i64, user: &str, server: &crate::twin::Server) {
        let event = self.push(t, "linux-auth", EventClass::Authentication, Activity::Logon);
        event.outcome = Outcome::Success;
        event.privileged = true;
        event.subject.user = Some(user.to_string());
        event.dst.ip = server.ip.parse().ok();
        event.dst.host = Some(server.hostname.clone());
    }

    /// A sign-in at a server's own console (a text login: its PAM session line).
    fn console_signin(&mut self, t: i64, user: &str, server: &crate::twin::Server) {
        let event = self.push(t, "linux-auth", EventClass::Authentication, Activity::Logon);
        event.outcome = Outcome::Success;
        event.reason = Some("console session opened".into());
        event.app = Some("pam:login".into());
        event.subject.user = Some(user.to_string());
        event.asset = Some(server.hostname.clone());
    }

    /// An SSH sign-in to a server, by password or key, from `from`.
    fn ssh_signin(
        &mut self,
        t: i64,
        user: &str,
        from: &str,
        server: &crate::twin::Server,
        ok: bool,
    ) {
        let event = self.push(t, "linux-auth", EventClass::Authentication, Activity::Logon);
        if ok {
            event.outcome = Outcome::Success;
            event.app = Some("sshd:publickey".into());
        } else {
            event.outcome = Outcome::Failure;
            event.app = Some("sshd:password".into());
            event.reason = Some("failed password".into());
        }
        event.subject.user = Some(user.to_string());
        event.src.ip = from.parse().ok();
        event.asset = Some(server.hostname.clone());
    }

    /// A change request as the change system records it when it is approved.
    #[allow(clippy::too_many_arguments)]
    fn change_ticket(
        &mut self,
        updated: i64,
        number: &str,
        window: (i64, i64),
        item: &str,
        assignee: Option<&str>,
        group: Option<&str>,
        user: &str,
    ) {
        let event = self.push(
            updated,
            "servicenow",
            EventClass::ChangeRequest,
            Activity::ChangeScheduled,
        );
        event.outcome = Outcome::Success;
        event.reason = Some(format!("Maintenance on {item}"));
        event.change = Some(Box::new(seam_model::ChangeDetails {
            number: number.to_string(),
            start: Ts(window.0),
            end: Ts(window.1),
            items: vec![item.to_string()],
            assignees: assignee.map(str::to_string).into_iter().collect(),
            groups: group.map(str::to_string).into_iter().collect(),
        }));
        let who = assignee.is_some().then(|| user.to_string());
        self.changes
            .push((who, item.to_string(), window.0, window.1));
    }

    /// What a system administrator does on the servers beside the daytime server-room visit:
    /// mistyped passwords, on-call work from home at night, and maintenance at night under an
    /// approved change. A stream of its own, so the rest of the day draws as before.
    /// The random stream of an administrator's server work on this day.
    fn admin_stream(&self, persona: &Persona) -> Rng {
        Rng::stream(
            self.spec.seed,
            &[0xad1, persona.number as u64, u64::from(self.day)],
        )
    }

    /// Whether an administrator spends tonight on maintenance in the server room (then the
    /// evening is not spent at home).
    fn maintenance_night(&self, persona: &Persona) -> bool {
        persona.sysadmin
            && persona.username.is_some()
            && self.admin_stream(persona).chance(MAINTENANCE_RATE)
    }

    fn admin_work(&mut self, persona: &Persona, site_index: usize, trace: &Trace) {
        let (Some(user), true) = (persona.username.clone(), persona.sysadmin) else {
            return;
        };
        if site_index != persona.site {
            return;
        }
        let mut rng = self.admin_stream(persona);
        // Drawn first, so that the evening at home can ask before this runs.
        let maintenance = rng.chance(MAINTENANCE_RATE);
        let Some(site) = self.site(site_index).cloned() else {
            return;
        };
        if site.servers.is_empty() {
            return;
        }
        let m0 = self.midnight(site_index);
        let desk_ip = persona
            .workstation
            .as_ref()
            .map(|(_, ip)| ip.clone())
            .or_else(|| self.laptop_ip(&site, persona));
        // A password mistyped once or twice, then a sign-in with the key.
        if rng.chance(0.3)
            && let (Some(ip), Some(server)) = (&desk_ip, rng.pick(&site.servers).cloned())
        {
            let t = trace.arrive + rng.between(20, 240) * MINUTE_MS;
            let typos = rng.between(1, 3);
            self.look_alike("password-typos", &persona.id);
            for n in 0..typos {
                self.ssh_signin(t + n * 9_000, &user, ip, &server, false);
            }
            self.ssh_signin(t + typos * 9_000 + 20_000, &user, ip, &server, true);
            self.look_alike_end();
        }
        // Maintenance at night, approved the same morning: into the server room, the console.
        let mut maintained = false;
        if maintenance
            && let (Some(main), Some(room), Some(server), Some(badge)) = (
                site.main.clone(),
                site.server_room.clone(),
                rng.pick(&site.servers).cloned(),
                persona.badge_at(m0 + 22 * HOUR_MS).map(str::to_string),
            )
        {
            maintained = true;
            let start = m0 + 22 * HOUR_MS;
            let end = start + rng.between(90, 119) * MINUTE_MS;
            let number = format!(
                "CHG{:07}",
                u64::from(self.day) * 100_000 + persona.number as u64
            );
            let updated = m0 + rng.between(9 * 60, 11 * 60) * MINUTE_MS;
            let by_group = rng.chance(0.4);
            self.look_alike("maintenance-under-approved-change", &persona.id);
            self.change_ticket(
                updated,
                &number,
                (start, end),
                &server.hostname,
                (!by_group).then_some(user.as_str()),
                by_group.then_some("sysadmin"),
                &user,
            );
            let t = start + rng.between(0, 20) * MINUTE_MS;
            self.badge(t, &site.id, &badge, &main.door, true);
            self.badge(t + 3 * MINUTE_MS, &site.id, &badge, &room.door_in, true);
            self.occupancy_change(room.zone, t + 3 * MINUTE_MS + 5_000, 1);
            self.console_signin(t + 8 * MINUTE_MS, &user, &server);
            self.privileged_signin(t + 9 * MINUTE_MS, &user, &server);
            let out = t + rng.between(40, 70) * MINUTE_MS;
            if let Some(door) = &room.door_out {
                self.badge(out, &site.id, &badge, door, true);
            }
            self.occupancy_change(room.zone, out + 5_000, -1);
            self.look_alike_end();
        }
        // On call: a look at a server from home late in the evening.
        // Not on a night spent in the server room.
        if !maintained
            && rng.chance(0.2)
            && let Some(server) = rng.pick(&site.servers).cloned()
        {
            let (home, _) = self.home(persona);
            let t = m0 + rng.between(21 * 60, 23 * 60 + 30) * MINUTE_MS;
            self.look_alike("on-call-sign-in-from-home", &persona.id);
            self.ssh_signin(t, &user, &home, &server, true);
            self.look_alike_end();
        }
    }

    fn laptop_ip(&self, site: &SiteView, persona: &Persona) -> Option<String> {
        let [a, b] = site.corp_prefix?;
        let n = persona.number % 32_000;
        Some(format!("{a}.{b}.{}.{}", 128 + (n >> 8), (n & 0xff).max(1)))
    }

    fn home(&self, persona: &Persona) -> (String, (String, String, f64, f64)) {
        let site = self.site(persona.site);
        let ip = public_ip(84 + (persona.site % 8) as u8, persona.number + 1);
        let place = site.map_or_else(
            || (String::new(), String::new(), 0.0, 0.0),
            |s| {
                let jitter = ((persona.number % 17) as f64 - 8.0) * 0.01;
                // Four decimals, as geolocation services give them.
                let round = |x: f64| (x * 10_000.0).round() / 10_000.0;
                (
                    s.city.clone(),
                    s.country.clone(),
                    round(s.lat + jitter),
                    round(s.lon - jitter),
                )
            },
        );
        (ip, place)
    }

    fn home_signin(&mut self, t: i64, persona: &Persona) {
        let Some(user) = persona.upn.clone() else {
            return;
        };
        let (ip, (city, country, lat, lon)) = self.home(persona);
        self.signin(
            t,
            &user,
            &ip,
            Some((&city, &country, lat, lon)),
            Outcome::Success,
            "Microsoft 365",
        );
    }

    // --- A person's day --------------------------------------------------------------------

    fn person_day(&mut self, persona: &Persona, kind: DayKind, rng: &mut Rng) -> Option<Trace> {
        match kind {
            DayKind::Off => {
                if rng.chance(0.1) {
                    let t = self.midnight(persona.site) + rng.between(10 * HOUR_MS, 20 * HOUR_MS);
                    if persona.is_active_at(t) {
                        self.home_signin(t, persona);
                    }
                }
                None
            }
            DayKind::Flight => None,
            DayKind::Remote => self.remote_day(persona, rng),
            DayKind::Abroad(city) => {
                self.abroad_day(persona, city, rng);
                None
            }
            DayKind::Onsite if persona.night_shift => self.night_shift(persona, rng),
            DayKind::Onsite => self.onsite_day(persona, persona.site, rng),
            DayKind::Travel(site) => self.onsite_day(persona, site, rng),
        }
    }

    fn remote_day(&mut self, persona: &Persona, rng: &mut Rng) -> Option<Trace> {
        let user = persona.upn.clone()?;
        let m0 = self.midnight(persona.site);
        let start = m0 + minutes(persona.start_min) + (rng.normal(0.0, 20.0) as i64) * MINUTE_MS;
        let end = start + 8 * HOUR_MS + rng.between(0, 60) * MINUTE_MS;
        let (home_ip, (city, country, lat, lon)) = self.home(persona);
        let given = format!(
            "10.250.{}.{}",
            (persona.number >> 8) & 0xff,
            (persona.number & 0xff).max(1)
        );
        self.vpn(start, &user, &home_ip, &given, true);
        self.signin(
            start + 2 * MINUTE_MS,
            &user,
            &home_ip,
            Some((&city, &country, lat, lon)),
            Outcome::Success,
            "Microsoft 365",
        );
        for _ in 0..rng.between(1, 4) {
            let t = rng.between(start + 10 * MINUTE_MS, end - 10 * MINUTE_MS);
            let resource = self.ordinary_resource(rng);
            self.read(t, &user, &given, &resource);
        }
        self.vpn(end, &user, &home_ip, &given, false);
        Some(Trace {
            kind: DayKind::Remote,
            site: persona.site,
            arrive: start,
            leave: end,
            vpn: Some((start, end, given)),
            ..Trace::default()
        })
    }

    fn abroad_day(&mut self, persona: &Persona, city: usize, rng: &mut Rng) {
        let Some(place) = ABROAD.get(city) else {
            return;
        };
        let Some(user) = persona.upn.clone() else {
            return;
        };
        let t = self.midnight(persona.site) + rng.between(9 * HOUR_MS, 16 * HOUR_MS);
        let ip = public_ip(place.net, persona.number + 7);
        self.signin(
            t,
            &user,
            &ip,
            Some((place.city, place.country, place.lat, place.lon)),
            Outcome::Success,
            "Microsoft 365",
        );
    }

    fn ordinary_resource(&self, rng: &mut Rng) -> String {
        let ordinary: Vec<&String> = self
            .twin
            .resources
            .iter()
            .filter(|(_, onsite)| !onsite)
            .map(|(id, _)| id)
            .collect();
        rng.pick(&ordinary)
            .map_or_else(|| "wiki".to_string(), |id| (*id).clone())
    }

    /// A working day in the building.
    fn onsite_day(&mut self, persona: &Persona, site_index: usize, rng: &mut Rng) -> Option<Trace> {
        let site = self.site(site_index)?;
        let main = site.main.as_ref()?;
        let office_index = if site_index == persona.site {
            persona.office
        } else {
            0
        };
        let office = site.office(office_index)?;
        let m0 = self.midnight(site_index);
        let arrive =
            m0 + minutes(persona.start_min - 15) + (rng.normal(0.0, 12.0) * 60_000.0) as i64;
        let leave = m0 + minutes(persona.end_min) + (rng.normal(0.0, 20.0) * 60_000.0) as i64;
        let badge = persona.badge_at(arrive)?.to_string();
        let mac = persona.mac.clone();
        let user = persona.upn.clone();
        let laptop_ip = self.laptop_ip(site, persona);
        let mut trace = Trace {
            kind: DayKind::Onsite,
            site: site_index,
            arrive,
            leave,
            ..Trace::default()
        };

        // Plan the day: lunch, meetings, the server room or the classified area.
        if rng.chance(0.8) {
            let start = m0 + rng.between(11 * 60 + 45, 13 * 60) * MINUTE_MS;
            let end = start + rng.between(25, 45) * MINUTE_MS;
            if site.cafe.is_some() && trace.is_free(start, end) {
                trace.away.push((start, end, Away::Lunch));
            }
        }
        for _ in 0..rng.below(3) {
            if office.rooms.is_empty() {
                break;
            }
            let room = rng.below(office.rooms.len() as u64) as usize;
            let start = m0 + (19 + rng.below(14) as i64) * 30 * MINUTE_MS;
            let end = start + if rng.chance(0.5) { 30 } else { 60 } * MINUTE_MS;
            if trace.is_free(start, end) {
                trace.away.push((start, end, Away::Meeting(room)));
            }
        }
        if persona.sysadmin && site_index == persona.site && rng.chance(0.5) {
            let start = m0 + rng.between(10 * 60, 16 * 60) * MINUTE_MS;
            let end = start + rng.between(15, 50) * MINUTE_MS;
            if trace.is_free(start, end) {
                trace.away.push((start, end, Away::ServerRoom));
            }
        }
        if persona.researcher && site_index == persona.site && rng.chance(0.5) {
            let start = m0 + rng.between(10 * 60, 15 * 60) * MINUTE_MS;
            let end = start + rng.between(60, 120) * MINUTE_MS;
            if trace.is_free(start, end) {
                trace.away.push((start, end, Away::Classified));
            }
        }
        trace.away.sort_by_key(|(start, _, _)| *start);

        // Arrival.
        self.badge(arrive, &site.id, &badge, &main.door, true);
        if let (Some(mac), Some(ip)) = (&mac, &laptop_ip) {
            self.dhcp(arrive + 20_000, mac, ip, 12 * HOUR_MS);
        }
        if let (Some(mac), Some(ap)) = (&mac, &site.lobby_ap) {
            self.wifi(arrive + 30_000, mac, ap);
        }
        if let Some(door) = &office.door {
            self.badge(arrive + 90_000, &site.id, &badge, door, true);
        }
        let office_ap = office.aps.first().cloned();
        if let (Some(mac), Some(ap)) = (&mac, &office_ap) {
            self.wifi(arrive + 150_000, mac, ap);
            if rng.chance(0.3) {
                let event = self.push(
                    arrive + 4 * MINUTE_MS,
                    "mdm",
                    EventClass::DeviceInventory,
                    Activity::Posture,
                );
                event.subject.mac = Some(mac.clone());
                event.compliant = Some(true);
            }
        }
        if let (Some(user), Some(egress)) = (&user, &site.egress_ip) {
            if rng.chance(0.05) {
                self.signin(
                    arrive + 6 * MINUTE_MS,
                    user,
                    egress,
                    None,
                    Outcome::Failure,
                    "Microsoft 365",
                );
            }
            self.signin(
                arrive + 7 * MINUTE_MS,
                user,
                egress,
                None,
                Outcome::Success,
                "Microsoft 365",
            );
        }

        // Away from the desk.
        for (start, end, what) in trace.away.clone() {
            match what {
                Away::Lunch => {
                    let Some(cafe) = &site.cafe else { continue };
                    self.badge(start, &site.id, &badge, &cafe.door, true);
                    if let (Some(mac), Some(ap)) = (&mac, &site.cafe_ap) {
                        self.wifi(start + 40_000, mac, ap);
                        trace.lunch_wifi = Some(self.last_uid());
                    }
                    if let Some(door) = &office.door {
                        self.badge(end, &site.id, &badge, door, true);
                    }
                }
                Away::Meeting(room_index) => {
                    let Some(room) = office.rooms.get(room_index) else {
                        continue;
                    };
                    if let Some(user) = &user
                        && rng.chance(0.5)
                    {
                        let zone = self.zone_id(room.zone);
                        let event =
                            self.push(start, "rooms", EventClass::Booking, Activity::Booked);
                        event.subject.user = Some(user.clone());
                        event.zone = Some(zone);
                        event.until = Some(Ts(end));
                    }
                    if let Some(door) = &room.door {
                        self.badge(start - 60_000, &site.id, &badge, door, true);
                    }
                    self.occupancy_change(room.zone, start - 55_000, 1);
                    self.occupancy_change(room.zone, end + 5_000, -1);
                    if let (Some(mac), Some(ap)) = (&mac, &room.ap) {
                        self.wifi(start + 20_000, mac, ap);
                    }
                    // Now and then someone starts the VPN in a meeting room, out of habit.
                    if let (Some(user), Some(egress)) = (&user, &site.egress_ip)
                        && rng.chance(0.03)
                    {
                        let given = format!("10.250.200.{}", (persona.number % 250) + 1);
                        self.vpn(start + 5 * MINUTE_MS, user, egress, &given, true);
                        self.vpn(end, user, egress, &given, false);
                    }
                }
                Away::ServerRoom => {
                    let Some(room) = &site.server_room else {
                        continue;
                    };
                    self.badge(start, &site.id, &badge, &room.door_in, true);
                    self.occupancy_change(room.zone, start + 5_000, 1);
                    // Now and then the laptop goes on the room's own port, for a console cable
                    // or a firmware upload: after the badge in.
                    if let (Some(mac), Some(port)) = (&mac, &site.server_port)
                        && rng.chance(0.3)
                    {
                        self.look_alike("laptop-on-the-server-room-port", &persona.id);
                        let event = self.push(
                            start + 2 * MINUTE_MS,
                            "ise",
                            EventClass::NetworkSession,
                            Activity::Connect,
                        );
                        event.outcome = Outcome::Success;
                        event.medium = Some(Medium::Wired);
                        event.subject.mac = Some(mac.clone());
                        event.switch_port = Some(port.clone());
                        self.look_alike_end();
                    }
                    if let (Some(name), Some(server)) = (&persona.username, rng.pick(&site.servers))
                    {
                        let t = start + rng.between(3, 8) * MINUTE_MS;
                        self.privileged_signin(t, name, server);
                    }
                    if let Some(out) = &room.door_out {
                        self.badge(end, &site.id, &badge, out, true);
                    }
                    self.occupancy_change(room.zone, end + 5_000, -1);
                }
                Away::Classified => {
                    let Some(room) = &site.classified else {
                        continue;
                    };
                    self.badge(start, &site.id, &badge, &room.door_in, true);
                    self.occupancy_change(room.zone, start + 5_000, 1);
                    if let Some(out) = &room.door_out {
                        self.badge(end, &site.id, &badge, out, true);
                    }
                    self.occupancy_change(room.zone, end + 5_000, -1);
                }
            }
            // Back at the desk: the laptop joins the office's access point again.
            if let (Some(mac), Some(ap)) = (&mac, &office_ap) {
                self.wifi(end + 60_000, mac, ap);
            }
        }

        // At the desk: the laptop roams between the floor's access points, files are read,
        // the workstation talks to the internet.
        if let Some(mac) = &mac {
            let mut t = arrive + rng.between(40, 70) * MINUTE_MS;
            let mut which = 0usize;
            while t < leave - 10 * MINUTE_MS {
                if trace.at_desk(t)
                    && let Some(ap) = office.aps.get(which % office.aps.len().max(1))
                {
                    self.wifi(t, mac, ap);
                }
                which += 1;
                t += rng.between(45, 75) * MINUTE_MS;
            }
        }
        if let (Some(user), Some(ip)) = (&user, &laptop_ip) {
            for _ in 0..rng.between(2, 5) {
                if let Some(t) = trace.desk_time(rng) {
                    let resource = self.ordinary_resource(rng);
                    self.read(t, user, ip, &resource);
                }
            }
            if rng.chance(0.1)
                && let Some(t) = trace.desk_time(rng)
                && let Some((resource, _)) = self.twin.resources.iter().find(|(_, onsite)| *onsite)
            {
                self.read(t, user, ip, resource);
            }
        }
        // The workstation sits at the home site: on a trip it is left alone.
        if let Some((device, ip)) = persona
            .workstation
            .as_ref()
            .filter(|_| site_index == persona.site)
        {
            for _ in 0..rng.between(1, 3) {
                if let Some(t) = trace.desk_time(rng) {
                    let bytes = rng.between(1 << 20, 80 << 20) as u64;
                    self.traffic(t, device, ip, bytes, rng);
                }
            }
            // A big upload now and then, from the desk, with the owner sitting at it.
            if rng.chance(0.04)
                && let Some(t) = trace.desk_time(rng)
            {
                let bytes = rng.between(150 << 20, 500 << 20) as u64;
                self.look_alike("large-upload-at-the-desk", &persona.id);
                self.traffic(t, device, ip, bytes, rng);
                self.look_alike_end();
            }
        }
        if !persona.sysadmin
            && rng.chance(0.01)
            && let Some(room) = &site.server_room
            && let Some(t) = trace.desk_time(rng)
        {
            // Tried the server-room door on the way past.
            self.denied(t, &site.id, &badge, &room.door_in);
        }

        // Leaving: no exit reader, but the laptop drops off the Wi-Fi.
        if let (Some(mac), Some(ap)) = (&mac, &office_ap) {
            self.wifi_gone(leave, mac, ap);
        }
        if rng.chance(0.15) {
            let t = leave + rng.between(90, 240) * MINUTE_MS;
            if !persona.is_active_at(t) {
                // The contract ended, or the suspension began, at midnight.
            } else if site_index == persona.site {
                if !self.maintenance_night(persona) {
                    self.home_signin(t, persona);
                }
            } else if let Some(user) = &user {
                // On a trip the evening's mail is read from the hotel in that city.
                let hotel = public_ip(62, persona.number + 11);
                let (city, country) = (site.city.clone(), site.country.clone());
                self.signin(
                    t,
                    user,
                    &hotel,
                    Some((&city, &country, site.lat, site.lon)),
                    Outcome::Success,
                    "Microsoft 365",
                );
            }
        }
        if persona.is_active_at(leave) {
            self.admin_work(persona, site_index, &trace);
        }
        Some(trace)
    }

    fn night_shift(&mut self, persona: &Persona, rng: &mut Rng) -> Option<Trace> {
        let site = self.site(persona.site)?;
        let main = site.main.as_ref()?;
        let m0 = self.midnight(persona.site);
        let arrive = m0 + minutes(persona.start_min - 10) + rng.between(-5, 5) * MINUTE_MS;
        let leave = m0 + DAY_MS + minutes(persona.end_min) + rng.between(0, 10) * MINUTE_MS;
        let badge = persona.badge_at(arrive)?.to_string();
        self.badge(arrive, &site.id, &badge, &main.door, true);
        if let (Some(mac), Some(ap)) = (&persona.mac, &site.lobby_ap) {
            self.wifi(arrive + 30_000, mac, ap);
        }
        if let (Some(user), Some(egress)) = (&persona.upn, &site.egress_ip) {
            self.signin(
                arrive + 5 * MINUTE_MS,
                user,
                egress,
                None,
                Outcome::Success,
                "Guard tour",
            );
        }
        // Rounds through the floors.
        for round in 1..=3 {
            let t = arrive + round * 2 * HOUR_MS + rng.between(0, 15) * MINUTE_MS;
            // A suspension from midnight ends the shift there.
            if !persona.is_active_at(t) {
                break;
            }
            if let Some(office) = rng.pick(&site.offices)
                && let Some(door) = &office.door
            {
                self.badge(t, &site.id, &badge, door, true);
                if let (Some(mac), Some(ap)) = (&persona.mac, office.aps.first()) {
                    self.wifi(t + 60_000, mac, ap);
                }
            }
        }
        if let (Some(mac), Some(ap)) = (&persona.mac, &site.lobby_ap) {
            self.wifi_gone(leave, mac, ap);
        }
        Some(Trace {
            kind: DayKind::Onsite,
            site: persona.site,
            arrive,
            leave,
            ..Trace::default()
        })
    }

    /// A visitor whose visit falls on this day: the front desk, the badge, the guest Wi-Fi, the
    /// meeting room; most sign out, some just leave.
    fn visitor(&mut self, persona: &Persona) {
        let Some(window) = persona.window else { return };
        let m0 = self.midnight(persona.site);
        let start = window.start.millis();
        if start < m0 || start >= m0 + DAY_MS {
            return;
        }
        let Some(site) = self.site(persona.site) else {
            return;
        };
        let Some(main) = &site.main else { return };
        let Some(badge) = persona.badge_at(start).map(str::to_string) else {
            return;
        };
        let mut rng = Rng::stream(self.spec.seed, &[0x0715, persona.number as u64]);
        let host_office = persona
            .host
            .and_then(|host| self.twin.people.iter().find(|p| p.idx == host))
            .map_or(0, |host| host.office);
        let room = site
            .office(host_office)
            .and_then(|office| rng.pick(&office.rooms))
            .cloned();
        let arrive = start - rng.between(5, 20) * MINUTE_MS;
        let leave = window.end.millis() - rng.between(10, 50) * MINUTE_MS;
        let desk = self.push(arrive, "visitors", EventClass::Visitor, Activity::CheckIn);
        desk.subject.badge = Some(badge.clone());
        desk.site = Some(site.id.clone());
        self.badge(arrive + 2 * MINUTE_MS, &site.id, &badge, &main.door, true);
        if let (Some(mac), Some(ap)) = (&persona.mac, &site.lobby_ap) {
            self.wifi(arrive + 3 * MINUTE_MS, mac, ap);
        }
        if let Some(room) = room {
            if let Some(door) = &room.door {
                self.badge(start, &site.id, &badge, door, true);
            }
            self.occupancy_change(room.zone, start + 5_000, 1);
            self.occupancy_change(room.zone, leave, -1);
            if let (Some(mac), Some(ap)) = (&persona.mac, &room.ap) {
                self.wifi(start + 30_000, mac, ap);
            }
        }
        if rng.chance(0.85) {
            let out = self.push(
                leave + 3 * MINUTE_MS,
                "visitors",
                EventClass::Visitor,
                Activity::CheckOut,
            );
            out.subject.badge = Some(badge);
            out.site = Some(site.id.clone());
        }
    }

    /// Service accounts run their nightly jobs on the servers.
    fn service_accounts(&mut self) {
        let Some(site) = self.twin.sites.iter().position(|s| !s.servers.is_empty()) else {
            return;
        };
        let m0 = self.midnight(site);
        for (index, name) in self.twin.service_accounts.iter().enumerate() {
            let Some(server) = self
                .site(site)
                .and_then(|s| s.servers.get(index % s.servers.len().max(1)))
            else {
                continue;
            };
            let t = m0 + HOUR_MS + (index as i64 % 60) * MINUTE_MS;
            self.privileged_signin(t, name, server);
        }
    }

    /// Things buildings do on their own: a loading-dock door held open, a door contact that
    /// reports a forced door, a guest's laptop refused on a meeting-room port.
    fn building_noise(&mut self) {
        for (index, site) in self.twin.sites.iter().enumerate() {
            let mut rng = Rng::stream(self.spec.seed, &[0xb1d, u64::from(self.day), index as u64]);
            let m0 = self.midnight(index);
            if let Some(dock) = &site.dock
                && rng.chance(0.1)
            {
                let t = m0 + rng.between(7 * 60, 17 * 60) * MINUTE_MS;
                let event = self.push(
                    t,
                    &format!("pacs-{}", site.id),
                    EventClass::PhysicalAccess,
                    Activity::HeldOpen,
                );
                event.door = Some(dock.clone());
            }
            if rng.chance(0.02)
                && let Some(door) = rng.pick(&site.offices).and_then(|o| o.door.clone())
            {
                let t = m0 + rng.between(0, 24 * 60) * MINUTE_MS;
                let event = self.push(
                    t,
                    &format!("pacs-{}", site.id),
                    EventClass::PhysicalAccess,
                    Activity::Forced,
                );
                event.door = Some(door);
            }
            if rng.chance(0.05)
                && let Some(port) = rng
                    .pick(&site.offices)
                    .and_then(|o| rng.pick(&o.rooms))
                    .and_then(|room| room.port.clone())
            {
                let t = m0 + rng.between(9 * 60, 17 * 60) * MINUTE_MS;
                let mac = format!("0a:11:22:{:02x}:{:02x}:01", self.day % 256, index % 256);
                let event = self.push(t, "ise", EventClass::NetworkSession, Activity::Connect);
                event.outcome = Outcome::Failure;
                event.medium = Some(Medium::Wired);
                event.subject.mac = Some(mac);
                event.switch_port = Some(port);
                event.reason = Some("dot1x_failed".into());
            }
            // Now and then a controller or camera reboots for a few minutes in the day.
            for (device, _) in &site.watchers {
                if rng.chance(0.01) {
                    let from = m0 + rng.between(8 * 60, 18 * 60) * MINUTE_MS;
                    let until = from + rng.between(3, 10) * MINUTE_MS;
                    self.outages.push(Outage {
                        device: device.clone(),
                        from,
                        until,
                        report: true,
                    });
                }
            }
        }
    }

    /// Heartbeats every two hours, and the offline and online reports of every outage.
    fn devices(&mut self) {
        let outages = std::mem::take(&mut self.outages);
        for (index, site) in self.twin.sites.iter().enumerate() {
            let m0 = self.midnight(index);
            for (device, _) in &site.watchers {
                for beat in 0..12 {
                    let t = m0 + beat * 2 * HOUR_MS + 7 * MINUTE_MS;
                    let down = outages
                        .iter()
                        .any(|o| &o.device == device && o.from <= t && t < o.until);
                    if !down {
                        let event = self.push(t, "bms", EventClass::DeviceStatus, Activity::Online);
                        event.asset = Some(device.clone());
                    }
                }
            }
        }
        for outage in outages.iter().filter(|o| o.report) {
            let event = self.push(
                outage.from,
                "bms",
                EventClass::DeviceStatus,
                Activity::Offline,
            );
            event.asset = Some(outage.device.clone());
            let event = self.push(
                outage.until,
                "bms",
                EventClass::DeviceStatus,
                Activity::Online,
            );
            event.asset = Some(outage.device.clone());
        }
    }

    /// Occupancy sensors report the count of each zone after every change, once per instant
    /// (two people crossing at the same moment are one report of the net count). A count that
    /// still includes someone an attack brought in belongs to that attack too.
    fn occupancy_counts(&mut self) {
        let mut changes = std::mem::take(&mut self.occupancy);
        changes.sort_by_key(|(zone, t, _, _)| (*zone, *t));
        let mut current_zone = u32::MAX;
        let mut count = 0i64;
        let mut intruders: Vec<(usize, i64)> = Vec::new();
        let mut index = 0;
        while let Some(&(zone, t, _, _)) = changes.get(index) {
            if zone != current_zone {
                current_zone = zone;
                count = 0;
                intruders.clear();
            }
            let mut caused_by: Vec<usize> = Vec::new();
            while let Some(&(z, at, change, scenario)) = changes.get(index) {
                if z != zone || at != t {
                    break;
                }
                index += 1;
                count = (count + change).max(0);
                if let Some(scenario) = scenario {
                    if !caused_by.contains(&scenario) {
                        caused_by.push(scenario);
                    }
                    match intruders.iter_mut().find(|(s, _)| *s == scenario) {
                        Some((_, inside)) => *inside += change,
                        None => intruders.push((scenario, change)),
                    }
                    intruders.retain(|(_, inside)| *inside > 0);
                }
            }
            // Everyone an attack brought in who is still inside is in this count.
            for (scenario, _) in &intruders {
                if !caused_by.contains(scenario) {
                    caused_by.push(*scenario);
                }
            }
            self.recording = None;
            let zone_id = self.zone_id(seam_estate::ZoneIdx(zone));
            let event = self.push(t, "bms", EventClass::Occupancy, Activity::Count);
            event.zone = Some(zone_id);
            event.count = Some(count);
            let uid = self.last_uid();
            for scenario in caused_by {
                if let Some(scenario) = self.scenarios.get_mut(scenario) {
                    scenario.events.push(uid.clone());
                    scenario.start = scenario.start.min(Ts(t));
                    scenario.end = scenario.end.max(Ts(t));
                }
            }
        }
        self.recording = None;
    }

    fn zone_id(&self, zone: seam_estate::ZoneIdx) -> String {
        self.twin
            .zone_ids
            .get(zone.index())
            .cloned()
            .unwrap_or_default()
    }

    // --- Attacks ---------------------------------------------------------------------------

    /// Runs the attacks scheduled for this day.
    fn attacks(&mut self) {
        let per_kind = self.spec.attacks_per_kind;
        if per_kind == 0 {
            return;
        }
        let weekdays: Vec<u32> = (0..self.spec.days)
            .filter(|d| calendar::is_weekday(self.spec.start_ms + i64::from(*d) * DAY_MS))
            .collect();
        if weekdays.is_empty() {
            return;
        }
        for (kind_index, kind) in crate::attacks::KINDS.iter().enumerate() {
            let later: Vec<u32> = weekdays
                .iter()
                .copied()
                .filter(|d| *d >= kind.from_day)
                .collect();
            let days = if kind.from_day == 0 || later.is_empty() {
                &weekdays
            } else {
                &later
            };
            for n in 0..per_kind {
                let mut pick =
                    Rng::stream(self.spec.seed, &[0xa77, kind_index as u64, u64::from(n)]);
                let Some(day) = pick.pick(days) else {
                    continue;
                };
                if *day != self.day {
                    continue;
                }
                let mut rng = Rng::stream(
                    self.spec.seed,
                    &[
                        0xa77ac,
                        kind_index as u64,
                        u64::from(n),
                        u64::from(self.day),
                    ],
                );
                if !crate::attacks::run(self, kind, &mut rng) {
                    self.skipped.push(kind.name);
                }
            }
        }
    }
}

/// What attacks may use of a day under construction.
pub(crate) mod access {
    use super::*;

    /// The part of the day generator that attacks may drive.
    pub trait Stage {
        fn twin(&self) -> &Twin;
        fn day_midnight(&self, site: usize) -> i64;
        /// Sends `bytes` from a workstation's address to an outside address.
        fn upload_to(&mut self, t: i64, ip: &str, dst: &str, bytes: u64);
        fn trace(&self, person: usize) -> Option<&Trace>;
        fn begin(&mut self, kind: &str, rules: &[&str], people: Vec<String>, campaign: bool);
        fn end(&mut self);
        fn badge(&mut self, t: i64, site: &str, badge: &str, door: &str, used: bool);
        fn denied(&mut self, t: i64, site: &str, badge: &str, door: &str);
        fn wifi(&mut self, t: i64, mac: &str, ap: &str);
        fn signin_from(&mut self, t: i64, user: &str, ip: &str, place: Option<&Place>, ok: bool);
        fn vpn(&mut self, t: i64, user: &str, from: &str, given: &str, connect: bool);
        fn read(&mut self, t: i64, user: &str, ip: &str, resource: &str);
        fn upload(&mut self, t: i64, device: &str, ip: &str, bytes: u64);
        fn wired(&mut self, t: i64, mac: &str, port: &str, ok: bool);
        fn dhcp(&mut self, t: i64, mac: &str, ip: &str);
        fn posture(&mut self, t: i64, mac: &str, compliant: bool);
        fn booking(&mut self, t: i64, user: &str, zone: seam_estate::ZoneIdx, until: i64);
        fn privileged(&mut self, t: i64, user: &str, server: &crate::twin::Server);
        fn console(&mut self, t: i64, user: &str, server: &crate::twin::Server);
        fn ssh(&mut self, t: i64, user: &str, from: &str, server: &crate::twin::Server, ok: bool);
        /// Whether an approved change covers `user` on `server` at `t` (with the engine's
        /// grace).
        fn under_change(&self, user: &str, server: &str, t: i64) -> bool;
        fn occupancy(&mut self, zone: seam_estate::ZoneIdx, t: i64, change: i64);
        fn outage(&mut self, device: &str, from: i64, until: i64);
        /// Whether the device already has an outage overlapping `from..until` today.
        fn device_busy(&self, device: &str, from: i64, until: i64) -> bool;
        fn config_change(&mut self, t: i64, device: &str);
        fn forced(&mut self, t: i64, site: &str, door: &str);
        /// Adds an existing event's uid to the scenario being recorded.
        fn include(&mut self, uid: &str);
    }

    impl Stage for DayGen<'_> {
        fn twin(&self) -> &Twin {
            self.twin
        }
        fn day_midnight(&self, site: usize) -> i64 {
            self.midnight(site)
        }
        fn upload_to(&mut self, t: i64, ip: &str, dst: &str, bytes: u64) {
            self.traffic_to(t, ip, dst, bytes);
        }
        fn trace(&self, person: usize) -> Option<&Trace> {
            self.traces.get(person).and_then(Option::as_ref)
        }
        fn begin(&mut self, kind: &str, rules: &[&str], people: Vec<String>, campaign: bool) {
            self.recording = Some(self.scenarios.len());
            self.scenarios.push(Scenario {
                scenario: format!("s{:03}-{:03}", self.day, self.scenarios.len()),
                kind: kind.to_string(),
                rules: rules.iter().map(|r| (*r).to_string()).collect(),
                people,
                start: Ts::MAX,
                end: Ts::MIN,
                events: Vec::new(),
                campaign,
            });
        }
        fn end(&mut self) {
            self.recording = None;
        }
        fn badge(&mut self, t: i64, site: &str, badge: &str, door: &str, used: bool) {
            DayGen::badge(self, t, site, badge, door, used);
        }
        fn denied(&mut self, t: i64, site: &str, badge: &str, door: &str) {
            DayGen::denied(self, t, site, badge, door);
        }
        fn wifi(&mut self, t: i64, mac: &str, ap: &str) {
            DayGen::wifi(self, t, mac, ap);
        }
        fn signin_from(&mut self, t: i64, user: &str, ip: &str, place: Option<&Place>, ok: bool) {
            let outcome = if ok {
                Outcome::Success
            } else {
                Outcome::Failure
            };
            let place = place.map(|p| (p.city, p.country, p.lat, p.lon));
            self.signin(t, user, ip, place, outcome, "Microsoft 365");
        }
        fn vpn(&mut self, t: i64, user: &str, from: &str, given: &str, connect: bool) {
            DayGen::vpn(self, t, user, from, given, connect);
        }
        fn read(&mut self, t: i64, user: &str, ip: &str, resource: &str) {
            DayGen::read(self, t, user, ip, resource);
        }
        fn upload(&mut self, t: i64, device: &str, ip: &str, bytes: u64) {
            let mut rng = Rng::new(t as u64);
            self.traffic(t, device, ip, bytes, &mut rng);
        }
        fn wired(&mut self, t: i64, mac: &str, port: &str, ok: bool) {
            let event = self.push(t, "ise", EventClass::NetworkSession, Activity::Connect);
            event.outcome = if ok {
                Outcome::Success
            } else {
                Outcome::Failure
            };
            event.medium = Some(Medium::Wired);
            event.subject.mac = Some(mac.to_string());
            event.switch_port = Some(port.to_string());
            if !ok {
                event.reason = Some("dot1x_failed".into());
            }
        }
        fn dhcp(&mut self, t: i64, mac: &str, ip: &str) {
            DayGen::dhcp(self, t, mac, ip, 4 * HOUR_MS);
        }
        fn posture(&mut self, t: i64, mac: &str, compliant: bool) {
            let event = self.push(t, "mdm", EventClass::DeviceInventory, Activity::Posture);
            event.subject.mac = Some(mac.to_string());
            event.compliant = Some(compliant);
        }
        fn booking(&mut self, t: i64, user: &str, zone: seam_estate::ZoneIdx, until: i64) {
            let zone = self.zone_id(zone);
            let event = self.push(t, "rooms", EventClass::Booking, Activity::Booked);
            event.subject.user = Some(user.to_string());
            event.zone = Some(zone);
            event.until = Some(Ts(until));
        }
        fn privileged(&mut self, t: i64, user: &str, server: &crate::twin::Server) {
            self.privileged_signin(t, user, server);
        }
        fn console(&mut self, t: i64, user: &str, server: &crate::twin::Server) {
            self.console_signin(t, user, server);
        }
        fn ssh(&mut self, t: i64, user: &str, from: &str, server: &crate::twin::Server, ok: bool) {
            self.ssh_signin(t, user, from, server, ok);
        }
        fn under_change(&self, user: &str, server: &str, t: i64) -> bool {
            let grace = 30 * MINUTE_MS;
            self.changes.iter().any(|(who, item, start, end)| {
                who.as_deref().is_none_or(|who| who == user)
                    && item == server
                    && t >= start - grace
                    && t <= end + grace
            })
        }
        fn occupancy(&mut self, zone: seam_estate::ZoneIdx, t: i64, change: i64) {
            self.occupancy_change(zone, t, change);
        }
        fn outage(&mut self, device: &str, from: i64, until: i64) {
            // The reports are the attack's own events; the heartbeats fall silent meanwhile.
            let event = self.push(from, "bms", EventClass::DeviceStatus, Activity::Offline);
            event.asset = Some(device.to_string());
            let event = self.push(until, "bms", EventClass::DeviceStatus, Activity::Online);
            event.asset = Some(device.to_string());
            self.outages.push(Outage {
                device: device.to_string(),
                from,
                until,
                report: false,
            });
        }
        fn device_busy(&self, device: &str, from: i64, until: i64) -> bool {
            self.outages
                .iter()
                .any(|o| o.device == device && o.from < until && from < o.until)
        }
        fn config_change(&mut self, t: i64, device: &str) {
            let event = self.push(t, "bms", EventClass::DeviceStatus, Activity::ConfigChange);
            event.asset = Some(device.to_string());
        }
        fn forced(&mut self, t: i64, site: &str, door: &str) {
            let event = self.push(
                t,
                &format!("pacs-{site}"),
                EventClass::PhysicalAccess,
                Activity::Forced,
            );
            event.door = Some(door.to_string());
        }
        fn include(&mut self, uid: &str) {
            if let Some(scenario) = self.recording.and_then(|i| self.scenarios.get_mut(i)) {
                scenario.events.push(uid.to_string());
            }
        }
    }
}
