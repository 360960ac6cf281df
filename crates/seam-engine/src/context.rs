//! An event as the rules see it: its own fields plus what Seam knows around it.
//!
//! The context is built once per event from the estate and the engine state *before* the event
//! updates them, so a rule asks "where was she when this sign-in happened?", not "where does
//! this sign-in say she is?". Indices are resolved eagerly (a few hash lookups); the rest
//! (presence, travel, anti-passback) is computed the first time a rule reads it, and kept for
//! the other rules of the same event.

use std::cell::OnceCell;
use std::net::IpAddr;

use seam_estate::{
    AssetIdx, DoorIdx, Estate, NetworkIdx, PersonIdx, PersonKind, PersonStatus, PortIdx,
    ResourceIdx, SiteIdx, SiteStatus, ZoneIdx, distance_km,
};
use seam_model::{Activity, Event, EventClass, Medium, Ts};
use seam_rules::{FieldRef, Record, Value, Word};

use crate::presence::PresenceView;
use crate::schema::{EngineSchema, Field, Resolved};
use crate::state::{PersonState, WorldState};

/// How far outside a working schedule an event still counts as in it.
const SCHEDULE_GRACE_MS: i64 = 3_600_000;

/// How long a door that reported its position (or a zone that reported a count) still counts as
/// reporting: a door used every week proves its switch works.
const DOOR_SIGNAL_REACH_MS: i64 = 7 * 86_400_000;
/// The slowest sensor that can confirm a passage within a half-minute deadline.
const PASSAGE_SENSOR_LATENCY_MS: i64 = 20_000;

/// Travel below this distance is noise of IP geolocation, not travel.
const MIN_TRAVEL_KM: f64 = 50.0;
/// How far back a badge still counts as "today" for `site_badge.today`.
const NIGHT_SHIFT_REACH_MS: i64 = 12 * 3_600_000;

#[derive(Clone, Debug, PartialEq)]
pub struct Travel {
    pub km: f64,
    pub kmh: f64,
    pub from: String,
    pub to: String,
}

/// What rules read most often about a person, copied out of the directory into one dense
/// array: reading `person.kind`, `person.status` or `person.uid` then touches 32 bytes in a
/// small array instead of a directory entry, its status list and its id, a cache miss apiece
/// at scale.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PersonFacts {
    pub kind: PersonKind,
    pub privileged: bool,
    status: StatusFacts,
    /// The person's id when it is at most [`INLINE_UID`] bytes long (`uid_len` of them).
    uid_len: u8,
    uid: [u8; INLINE_UID],
}

/// Longest person id kept inline in [`PersonFacts`]; longer ones are read from the directory.
const INLINE_UID: usize = 13;

/// A person's status over time, when it is simple enough to keep inline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum StatusFacts {
    /// No status entries: inactive throughout.
    Never,
    /// One entry: inactive before `since`, then `status`.
    From { since: Ts, status: PersonStatus },
    /// Several entries: ask the directory.
    Varies,
}

impl PersonFacts {
    /// The facts of every person of the estate, by index.
    pub fn of_estate(estate: &Estate) -> Vec<PersonFacts> {
        estate.people().iter().map(PersonFacts::of).collect()
    }

    /// The facts of one person (again after a directory change).
    pub fn of(person: &seam_estate::Person) -> PersonFacts {
        let mut uid = [0u8; INLINE_UID];
        let uid_len = match (
            uid.get_mut(..person.id.len()),
            u8::try_from(person.id.len()),
        ) {
            (Some(target), Ok(len)) if len > 0 => {
                target.copy_from_slice(person.id.as_bytes());
                len
            }
            _ => 0,
        };
        PersonFacts {
            kind: person.kind,
            privileged: person.privileged,
            status: match person.status.as_slice() {
                [] => StatusFacts::Never,
                [only] => StatusFacts::From {
                    since: only.since,
                    status: only.status.into(),
                },
                _ => StatusFacts::Varies,
            },
            uid_len,
            uid,
        }
    }

    /// The person's id, if it is kept inline.
    fn uid(&self) -> Option<&str> {
        let bytes = self.uid.get(..usize::from(self.uid_len))?;
        (!bytes.is_empty())
            .then(|| std::str::from_utf8(bytes).ok())
            .flatten()
    }

    /// The status at `at`, as [`Estate::status_at`] gives it.
    fn status_at(&self, estate: &Estate, person: PersonIdx, at: Ts) -> PersonStatus {
        match self.status {
            StatusFacts::Never => PersonStatus::Inactive,
            StatusFacts::From { since, status } if since <= at => status,
            StatusFacts::From { .. } => PersonStatus::Inactive,
            StatusFacts::Varies => estate.status_at(person, at),
        }
    }
}

/// The places the event touches, resolved against the estate.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Places {
    pub site: Option<SiteIdx>,
    pub zone: Option<ZoneIdx>,
    pub door: Option<DoorIdx>,
    pub asset: Option<AssetIdx>,
    pub resource: Option<ResourceIdx>,
    pub src_network: Option<NetworkIdx>,
    /// The site whose public egress the source address is.
    pub src_egress_site: Option<SiteIdx>,
    pub network: Option<NetworkIdx>,
    pub port: Option<PortIdx>,
    /// The kinds of place the event names that the estate does not know
    /// ([`crate::references::Unknown`] bits), found on the way at no extra lookup.
    pub unknown: u8,
}

impl Places {
    /// Places an event whose address the directory does not know on the asset that held the
    /// address by DHCP lease at the time (a flow from a workstation with a dynamic address).
    pub fn with_leased_asset(
        mut self,
        estate: &Estate,
        world: &WorldState,
        event: &Event,
    ) -> Places {
        if self.asset.is_some() {
            return self;
        }
        let Some(ip) = event.subject.ip else {
            return self;
        };
        let Some(asset) = world
            .identity
            .leased_mac(ip, event.time)
            .and_then(|mac| estate.asset_by_mac(mac))
        else {
            return self;
        };
        self.asset = Some(asset);
        if self.zone.is_none() {
            let zone = estate.asset(asset).zone;
            self.zone = Some(zone);
            self.site = self.site.or(Some(estate.zone(zone).site));
        }
        self
    }

    pub fn of(estate: &Estate, event: &Event) -> Places {
        use crate::references::Unknown;
        let mut unknown = 0u8;
        let mut flag = |named: bool, found: bool, bit: u8| {
            if named && !found {
                unknown |= bit;
            }
        };
        let door_by_id = event.door.as_deref().and_then(|id| estate.door_idx(id));
        flag(event.door.is_some(), door_by_id.is_some(), Unknown::DOOR);
        let door = door_by_id.or_else(|| {
            let by_reader = event
                .reader
                .as_deref()
                .and_then(|reader| estate.door_by_reader(reader));
            flag(
                event.reader.is_some() && event.door.is_none(),
                by_reader.is_some(),
                Unknown::READER,
            );
            by_reader
        });
        let named_asset = event
            .asset
            .as_deref()
            .and_then(|id| estate.asset_by_name(id));
        flag(event.asset.is_some(), named_asset.is_some(), Unknown::ASSET);
        let asset = named_asset
            .or_else(|| {
                event
                    .subject
                    .device
                    .as_deref()
                    .and_then(|d| estate.asset_by_name(d))
            })
            .or_else(|| {
                event
                    .dst
                    .host
                    .as_deref()
                    .and_then(|host| estate.asset_by_hostname(host))
            })
            .or_else(|| event.dst.ip.and_then(|ip| estate.asset_by_ip(ip)))
            .or_else(|| event.subject.ip.and_then(|ip| estate.asset_by_ip(ip)));
        let port = event
            .switch_port
            .as_deref()
            .and_then(|id| estate.switch_port_idx(id));
        flag(
            event.switch_port.is_some(),
            port.is_some(),
            Unknown::SWITCH_PORT,
        );
        let ap = event
            .ap
            .as_deref()
            .and_then(|id| estate.ap_by_reference(id));
        flag(event.ap.is_some(), ap.is_some(), Unknown::ACCESS_POINT);
        let named_zone = event.zone.as_deref().and_then(|id| estate.zone_idx(id));
        flag(event.zone.is_some(), named_zone.is_some(), Unknown::ZONE);
        let zone = named_zone
            .or_else(|| door.and_then(|d| estate.door(d).to))
            .or_else(|| ap.map(|a| estate.ap(a).zone))
            .or_else(|| port.map(|p| estate.switch_port(p).zone))
            .or_else(|| asset.map(|a| estate.asset(a).zone));
        let src_network = event.src.ip.and_then(|ip| estate.network_for_ip(ip));
        let src_egress_site = event.src.ip.and_then(|ip| estate.site_for_egress(ip));
        let network = port
            .map(|p| estate.switch_port(p).network)
            .or_else(|| event.subject.ip.and_then(|ip| estate.network_for_ip(ip)));
        let named_site = event.site.as_deref().and_then(|id| estate.site_idx(id));
        flag(event.site.is_some(), named_site.is_some(), Unknown::SITE);
        let site = named_site
            .or_else(|| zone.map(|z| estate.zone(z).site))
            .or_else(|| door.map(|d| estate.door(d).site));
        let resource = event
            .resource
            .as_deref()
            .or(event.app.as_deref())
            .and_then(|id| estate.resource_by_name(id));
        Places {
            site,
            zone,
            door,
            asset,
            resource,
            src_network,
            src_egress_site,
            network,
            port,
            unknown,
        }
    }

    /// The site a sign-in's source address belongs to (a site network or a site's egress).
    pub fn source_site(&self, estate: &Estate) -> Option<SiteIdx> {
        self.src_network
            .and_then(|n| estate.network(n).site)
            .or(self.src_egress_site)
    }
}

/// One event with its enrichment, readable by the rules.
#[derive(Debug)]
pub struct EventContext<'a> {
    pub estate: &'a Estate,
    pub schema: &'a EngineSchema,
    pub world: &'a WorldState,
    /// Per zone, the assets in it or watching it (cameras, controllers).
    pub watchers: &'a [Vec<AssetIdx>],
    pub event: &'a Event,
    pub person: Option<PersonIdx>,
    pub places: Places,
    /// The person's state before the event.
    state: Option<&'a PersonState>,
    /// The person's facts, when the caller keeps them (see [`PersonFacts`]). Copied when the
    /// context is made, so that the one cache miss overlaps with the work before the rules.
    facts: Option<PersonFacts>,
    presence: OnceCell<Option<PresenceView>>,
    travel: OnceCell<Option<Travel>>,
    apb_violation: OnceCell<Option<&'static str>>,
}

impl<'a> EventContext<'a> {
    pub fn new(
        estate: &'a Estate,
        schema: &'a EngineSchema,
        world: &'a WorldState,
        watchers: &'a [Vec<AssetIdx>],
        event: &'a Event,
        person: Option<PersonIdx>,
        places: Places,
    ) -> EventContext<'a> {
        let state = person.and_then(|p| world.people.get(p.index()));
        EventContext {
            estate,
            schema,
            world,
            watchers,
            event,
            person,
            places,
            state,
            facts: None,
            presence: OnceCell::new(),
            travel: OnceCell::new(),
            apb_violation: OnceCell::new(),
        }
    }

    /// Reads the person's kind, status and id from `facts` (the event's person's, taken from
    /// [`PersonFacts::of_estate`]) rather than from the directory.
    pub fn with_facts(mut self, facts: Option<PersonFacts>) -> EventContext<'a> {
        self.facts = facts.filter(|_| self.person.is_some());
        self
    }

    /// Where the person was believed to be just before the event.
    pub fn presence(&self) -> Option<PresenceView> {
        *self
            .presence
            .get_or_init(|| self.state.and_then(|s| s.presence.view(self.event.time)))
    }

    /// How far and how fast the person moved since they were last located.
    pub fn travel(&self) -> Option<&Travel> {
        self.travel
            .get_or_init(|| {
                self.state
                    .and_then(|s| travel(self.estate, self.event, &self.places, s))
            })
            .as_ref()
    }

    /// Which anti-passback rule the event breaks, if any.
    pub fn apb_violation(&self) -> Option<&'static str> {
        *self.apb_violation.get_or_init(|| {
            let state = self.state?;
            apb_violation(self.estate, self.event, &self.places, state, || {
                self.presence()
            })
        })
    }

    /// For a badge out of a zone that can only be entered by badge: whether its holder was
    /// not badged into it (nor into a room inside it) by their last badge in. `None` when it
    /// cannot be told: not an exit, a zone with a way in without a reader, or a person of
    /// whom no badge has been seen yet (they may have come in before the data began).
    pub fn exit_without_entry(&self) -> Option<bool> {
        if self.event.class != EventClass::PhysicalAccess
            || self.event.activity != Activity::Granted
        {
            return None;
        }
        let estate = self.estate;
        let door = estate.door(self.places.door?);
        let zone = door.from?;
        if !estate.entry_and_exit_badged(zone) {
            return None;
        }
        let state = self.state?;
        if state.site_grants.is_empty() {
            return None;
        }
        Some(!badged_into(estate, state, zone))
    }

    /// For an event placed in a zone that can only be entered by badge (a device joining the
    /// network there): whether the person's last badge in let them into that zone, or into a
    /// room inside it. `None` where it cannot be told (see [`Self::exit_without_entry`]).
    pub fn badged_into_zone(&self) -> Option<bool> {
        let zone = self.places.zone?;
        if !self.estate.entry_and_exit_badged(zone) {
            return None;
        }
        let state = self.state?;
        if state.site_grants.is_empty() {
            return None;
        }
        Some(badged_into(self.estate, state, zone))
    }

    fn person_state(&self) -> Option<&'a PersonState> {
        self.state
    }

    /// A field by name, as text: for explanations.
    pub fn text_of(&self, name: &str) -> Option<String> {
        let value = match Field::from_name(name) {
            Some(field) => self.known(field),
            None => raw_lookup(
                self.event.raw.as_ref()?,
                &name.split('.').map(str::to_string).collect::<Vec<_>>(),
            ),
        }?;
        Some(value_text(&value))
    }

    /// Whether a passage through the event's door would be seen now: the door reports its
    /// passages (declared, or it reported one within the last week), or a sensor on it (a door contact,
    /// a doorway counter) is reporting, fast enough for a half-minute deadline. A door nothing
    /// watches arms no rule that waits for a passage.
    pub fn door_watched(&self) -> Option<bool> {
        let estate = self.estate;
        let door_idx = self.places.door?;
        let door = estate.door(door_idx);
        let at = self.event.time;
        let online = |asset: AssetIdx| {
            self.world
                .assets
                .get(asset.index())
                .is_none_or(|state| state.offline_since.is_none_or(|since| since > at))
        };
        let recent = |last: Option<Ts>| {
            last.is_some_and(|last| {
                last <= at && at.millis() - last.millis() <= DOOR_SIGNAL_REACH_MS
            })
        };
        // A sensor arms the door only if it is reporting: a doorway counter's reports are its
        // zone's counts, a door contact's are the door's own passage reports. A sensor that is
        // declared but silent (dead, unplugged, never connected to Seam) sees nothing.
        let reporting = |asset: &seam_estate::Asset| {
            let Some(sensor) = &asset.sensor else {
                return false;
            };
            match sensor.kind {
                seam_estate::SensorKind::DoorwayCounter | seam_estate::SensorKind::HeadCount => {
                    recent(
                        self.world
                            .zones
                            .get(asset.zone.index())
                            .and_then(|zone| zone.last_count_at),
                    )
                }
                _ => recent(self.world.door_signals.get(&door_idx.0).copied()),
            }
        };
        let quick = |asset: &AssetIdx| {
            let declared = estate.asset(*asset);
            online(*asset)
                && declared
                    .sensor
                    .as_ref()
                    .is_some_and(|sensor| sensor.latency_ms <= PASSAGE_SENSOR_LATENCY_MS)
                && reporting(declared)
        };
        if door.position_switch && door.controller.is_none_or(online) {
            return Some(true);
        }
        let reported = recent(self.world.door_signals.get(&door_idx.0).copied());
        // A count of the people in the zone behind the door does not prove a passage: one in and
        // one out at the same time change nothing, and a room that already shows people stays
        // as it is. Only the door itself, or a sensor on it, says that someone went through.
        Some(reported || estate.door_sensors(door_idx).iter().any(quick))
    }

    /// The approved change that covers this event's person at its asset or zone, if any.
    pub fn approved_change(&self) -> Option<&'a str> {
        let person = self.person?;
        let world: &'a WorldState = self.world;
        world.changes.covering(
            self.estate,
            person,
            self.places.asset,
            self.places.zone,
            self.event.time,
        )
    }

    /// Who could have been at the event's asset: the people placed in its zone, or failing
    /// those in its site, other than its owner; named, five at most. For explanations: the
    /// analyst starts from the candidates, not from the owner who was away.
    pub fn asset_nearby(&self) -> Option<String> {
        const SHOWN: usize = 5;
        let estate = self.estate;
        let asset = estate.asset(self.places.asset?);
        let placed_in = |zone: ZoneIdx| -> Vec<PersonIdx> {
            self.placed_now(zone)
                .filter(|p| Some(*p) != asset.owner)
                .collect()
        };
        let mut people = placed_in(asset.zone);
        let mut scope = "in its zone";
        if people.is_empty() {
            let site = estate.zone(asset.zone).site;
            people = (0u32..)
                .zip(estate.zones())
                .filter(|(_, zone)| zone.site == site)
                .flat_map(|(index, _)| placed_in(ZoneIdx(index)))
                .collect();
            scope = "at its site";
        }
        if people.is_empty() {
            return Some("nobody placed in its zone or at its site".to_string());
        }
        let mut names: Vec<&str> = people
            .iter()
            .map(|p| estate.person(*p).name.as_str())
            .collect();
        names.sort_unstable();
        let more = names.len().saturating_sub(SHOWN);
        names.truncate(SHOWN);
        let mut text = format!("{} {scope}", names.join(", "));
        if more > 0 {
            text.push_str(&format!(" and {more} more"));
        }
        Some(text)
    }

    /// The people whose presence places them in `zone` at the event's time.
    fn placed_now(&self, zone: ZoneIdx) -> impl Iterator<Item = PersonIdx> + '_ {
        let now = self.event.time;
        self.world
            .zones
            .get(zone.index())
            .into_iter()
            .flat_map(|state| state.placed.iter().copied())
            .filter(move |p| {
                self.world
                    .people
                    .get(p.index())
                    .and_then(|s| s.presence.view(now))
                    .is_some_and(|view| view.zone == Some(zone))
            })
    }

    fn zone_present(&self, zone: ZoneIdx) -> i64 {
        let count = self.placed_now(zone).count();
        i64::try_from(count).unwrap_or(i64::MAX)
    }

    fn degraded_device(&self, zone: ZoneIdx) -> Option<&'a str> {
        let now = self.event.time;
        self.watchers.get(zone.index())?.iter().find_map(|asset| {
            let state = self.world.assets.get(asset.index())?;
            state
                .degraded_at(now)
                .then(|| self.estate.asset(*asset).id.as_str())
        })
    }

    fn device_compliant(&self) -> Option<bool> {
        if let Some(compliant) = self.event.compliant {
            return Some(compliant);
        }
        if self.world.posture.is_empty() {
            // No inventory has reported yet: nothing to normalize the identifiers for.
            return None;
        }
        let subject = &self.event.subject;
        let keys = [
            subject
                .mac
                .as_deref()
                .map(|m| seam_estate::normalize_identifier(seam_estate::IdentifierKind::Mac, m)),
            subject.device.as_deref().map(std::borrow::Cow::Borrowed),
        ];
        keys.into_iter()
            .flatten()
            .find_map(|key| self.world.posture.get(key.as_ref()).copied())
    }

    fn device_known(&self) -> bool {
        let subject = &self.event.subject;
        let at = self.event.time;
        let estate = self.estate;
        subject.mac.as_deref().is_some_and(|mac| {
            estate.asset_by_mac(mac).is_some()
                || estate
                    .resolve(seam_estate::IdentifierKind::Mac, mac, at)
                    .is_some()
        }) || subject.device.as_deref().is_some_and(|device| {
            estate.asset_by_hostname(device).is_some()
                || estate
                    .resolve(seam_estate::IdentifierKind::Device, device, at)
                    .is_some()
        }) || self.person.is_some()
    }

    /// The person's kind, from the facts when the caller keeps them.
    fn person_kind(&self) -> Option<PersonKind> {
        match &self.facts {
            Some(facts) => Some(facts.kind),
            None => self.person.map(|p| self.estate.person(p).kind),
        }
    }

    /// The person's status at the event, from the facts when the caller keeps them.
    fn person_status(&self) -> Option<PersonStatus> {
        let person = self.person?;
        let at = self.event.time;
        Some(match &self.facts {
            Some(facts) => facts.status_at(self.estate, person, at),
            None => self.estate.status_at(person, at),
        })
    }

    /// Whether the event's site is in use at the event.
    fn site_status(&self) -> Option<SiteStatus> {
        let site = self.estate.site(self.places.site?);
        Some(if site.is_active_at(self.event.time) {
            SiteStatus::Active
        } else {
            SiteStatus::Decommissioned
        })
    }

    /// An enumerated field as its position in [`Field::vocabulary`]: what [`Self::known`]
    /// gives as text, without the text.
    fn known_word(&self, field: Field) -> Word {
        let event = self.event;
        let estate = self.estate;
        let places = &self.places;
        let word = |position: usize| u16::try_from(position).map_or(Word::Unknown, Word::At);
        let of = |position: Option<usize>| position.map_or(Word::Missing, word);
        let zone = || places.zone.map(|z| estate.zone(z));
        match field {
            Field::Class => word(event.class.position()),
            Field::Activity => word(event.activity.position()),
            Field::Outcome => word(event.outcome.position()),
            Field::Medium => of(event.medium.map(Medium::position)),
            Field::PersonKind => of(self.person_kind().map(PersonKind::position)),
            Field::PersonStatus => of(self.person_status().map(PersonStatus::position)),
            Field::SiteStatus => of(self.site_status().map(SiteStatus::position)),
            Field::ZoneKind => of(zone().map(|z| z.kind.position())),
            Field::ZoneSensitivity => of(zone().map(|z| z.sensitivity.position())),
            Field::NetworkKind => of(places.network.map(|n| estate.network(n).kind.position())),
            Field::AssetKind => of(places.asset.map(|a| estate.asset(a).kind.position())),
            Field::AssetCriticality => {
                of(places.asset.map(|a| estate.asset(a).criticality.position()))
            }
            Field::ResourceKind => of(places.resource.map(|r| estate.resource(r).kind.position())),
            Field::DoorKind => of(places.door.map(|d| estate.door(d).kind.position())),
            Field::PortKind => of(places.port.map(|p| estate.switch_port(p).kind.position())),
            _ => Word::Unknown,
        }
    }

    fn known(&self, field: Field) -> Option<Value<'_>> {
        let event = self.event;
        let estate = self.estate;
        let places = &self.places;
        let at = event.time;
        // Every arm computes only what it reads: this runs for each field a rule reads.
        let person = || self.person.map(|p| (p, estate.person(p)));
        let text = |s: &'a Option<String>| s.as_deref().map(Value::Str);
        let ip = |ip: Option<IpAddr>| ip.map(Value::Ip);
        let boolean = |b: bool| Some(Value::Bool(b));
        let zone = || places.zone.map(|z| estate.zone(z));
        let site = || places.site.map(|s| estate.site(s));
        let asset = || places.asset.map(|a| estate.asset(a));
        let resource = || places.resource.map(|r| estate.resource(r));
        let door = || places.door.map(|d| estate.door(d));
        let zone_id = |z: Option<ZoneIdx>| z.map(|z| Value::Str(estate.zone(z).id.as_str()));
        let site_id = |s: Option<SiteIdx>| s.map(|s| Value::Str(estate.site(s).id.as_str()));
        let zone_name = |z: Option<ZoneIdx>| z.map(|z| Value::Str(estate.zone(z).name.as_str()));
        let site_name = |s: Option<SiteIdx>| s.map(|s| Value::Str(estate.site(s).name.as_str()));
        match field {
            Field::Uid => Some(Value::Str(&event.uid)),
            Field::Source => Some(Value::Str(&event.source)),
            Field::Class => Some(Value::Str(event.class.as_str())),
            Field::Activity => Some(Value::Str(event.activity.as_str())),
            Field::Outcome => Some(Value::Str(event.outcome.as_str())),
            Field::Reason => text(&event.reason),
            Field::SubjectBadge => text(&event.subject.badge),
            Field::SubjectUser => text(&event.subject.user),
            Field::SubjectIdpId => text(&event.subject.idp_id),
            Field::SubjectDevice => text(&event.subject.device),
            Field::SubjectMac => text(&event.subject.mac),
            Field::SubjectIp => ip(event.subject.ip),
            Field::SrcIp => ip(event.src.ip),
            Field::SrcCountry => text(&event.src.country),
            Field::SrcCity => text(&event.src.city),
            Field::SrcLat => event.src.lat.map(Value::Float),
            Field::SrcLon => event.src.lon.map(Value::Float),
            Field::DstIp => ip(event.dst.ip),
            Field::DstPort => event.dst.port.map(|p| Value::Int(i64::from(p))),
            Field::DstHost => text(&event.dst.host),
            // Inside the estate: one of its networks, one of its sites' public addresses, or
            // an asset it lists (a backup server, a share).
            Field::DstInternal => event.dst.ip.map(|ip| {
                Value::Bool(
                    estate.network_for_ip(ip).is_some()
                        || estate.site_for_egress(ip).is_some()
                        || estate.asset_by_ip(ip).is_some(),
                )
            }),
            Field::EventSite => text(&event.site),
            Field::EventZone => text(&event.zone),
            Field::EventDoor => text(&event.door),
            Field::Reader => text(&event.reader),
            Field::Ap => text(&event.ap),
            Field::SwitchPort => text(&event.switch_port),
            Field::EventAsset => text(&event.asset),
            Field::EventResource => text(&event.resource),
            Field::App => text(&event.app),
            Field::Medium => event.medium.map(|m| Value::Str(m.as_str())),
            Field::Count => event.count.map(Value::Int),
            Field::BytesOut => event
                .bytes_out
                .map(|b| Value::Int(i64::try_from(b).unwrap_or(i64::MAX))),
            Field::Privileged => boolean(event.privileged),
            Field::Mfa => event.mfa.map(Value::Bool),
            Field::Compliant => event.compliant.map(Value::Bool),
            Field::PersonUid => match self.facts.as_ref().and_then(PersonFacts::uid) {
                Some(uid) => Some(Value::Str(uid)),
                None => person().map(|(_, p)| Value::Str(p.id.as_str())),
            },
            Field::PersonName => person().map(|(_, p)| Value::Str(p.name.as_str())),
            Field::PersonKind => self.person_kind().map(|kind| Value::Str(kind.as_str())),
            Field::PersonStatus => self
                .person_status()
                .map(|status| Value::Str(status.as_str())),
            Field::PersonRoles => person().map(|(_, p)| {
                Value::List(p.roles.iter().map(|r| Value::Str(r.as_str())).collect())
            }),
            Field::PersonPrivileged => match &self.facts {
                Some(facts) => Some(Value::Bool(facts.privileged)),
                None => person().map(|(_, p)| Value::Bool(p.privileged)),
            },
            Field::PersonHomeSite => person().and_then(|(_, p)| site_id(p.home_site)),
            Field::PersonDepartment => {
                person().and_then(|(_, p)| p.department.as_deref().map(Value::Str))
            }
            Field::PersonTeam => person().and_then(|(_, p)| p.team.as_deref().map(Value::Str)),
            Field::PersonOnCall => person()
                .map(|(_, p)| Value::Bool(p.on_call.iter().any(|w| w.start <= at && at < w.end))),
            Field::PersonRemoteDay => {
                // The day is the home site's: a planned day at home is a calendar day there.
                let (_, p) = person()?;
                let day = estate.local_datetime(p.home_site?, at)?.weekday();
                Some(Value::Bool(p.remote_days.contains(day)))
            }
            Field::PersonInWindow => person()
                .and_then(|(idx, _)| estate.in_window(idx, at))
                .map(Value::Bool),
            Field::PersonAfterWindow => person()
                .and_then(|(_, p)| p.window)
                .map(|window| Value::Bool(at >= window.end)),
            Field::PersonMinutesAfterWindow => person()
                .and_then(|(_, p)| p.window)
                .filter(|window| at >= window.end)
                .map(|window| Value::Int((at.millis() - window.end.millis()) / 60_000)),
            Field::PersonInSchedule => {
                // Schedules are approximate: an hour either side is still "in schedule". They are
                // read where the event happens, so a trip to another time zone keeps its hours.
                let (idx, _) = person()?;
                let in_schedule = |t: Ts| estate.in_schedule_at(idx, places.site, t);
                let exact = in_schedule(at)?;
                let near = in_schedule(at.minus_millis(SCHEDULE_GRACE_MS)) == Some(true)
                    || in_schedule(at.plus_millis(SCHEDULE_GRACE_MS)) == Some(true);
                Some(Value::Bool(exact || near))
            }
            Field::PersonCleared => {
                let (idx, _) = person()?;
                Some(Value::Bool(estate.cleared_for(idx, places.zone?)))
            }
            Field::PresenceKnown => boolean(self.presence().is_some()),
            Field::PresenceOnSite => self.presence().map(|p| Value::Bool(p.on_site)),
            Field::PresenceSite => site_id(self.presence()?.site),
            Field::PresenceZone => zone_id(self.presence()?.zone),
            Field::PresenceZoneName => zone_name(self.presence()?.zone),
            Field::PresenceSiteName => site_name(self.presence()?.site),
            Field::ZoneName => zone_name(places.zone),
            Field::DoorFromZoneName => zone_name(door()?.from),
            Field::PresenceZoneKind => self
                .presence()?
                .zone
                .map(|z| Value::Str(estate.zone(z).kind.as_str())),
            Field::PresenceSignal => self.presence().map(|p| Value::Str(p.signal.as_str())),
            Field::PresenceConfidence => self.presence().map(|p| Value::Int(p.confidence)),
            Field::PresenceAgeS => self.presence().map(|p| Value::Int(p.age_ms / 1000)),
            Field::TravelKm => self.travel().map(|t| Value::Float(t.km.round())),
            Field::TravelKmh => self.travel().map(|t| Value::Float(t.kmh.round())),
            Field::TravelFrom => self.travel().map(|t| Value::Owned(t.from.clone())),
            Field::TravelTo => self.travel().map(|t| Value::Owned(t.to.clone())),
            Field::SiteId => site_id(places.site),
            Field::SiteName => site().map(|s| Value::Str(s.name.as_str())),
            Field::SiteStatus => self.site_status().map(|status| Value::Str(status.as_str())),
            Field::SiteAfterHours => places.site.map(|s| Value::Bool(estate.after_hours(s, at))),
            Field::ZoneId => zone_id(places.zone),
            Field::ZoneKind => zone().map(|z| Value::Str(z.kind.as_str())),
            Field::ZoneSensitivity => zone().map(|z| Value::Str(z.sensitivity.as_str())),
            Field::ZoneHighTraffic => zone().map(|z| Value::Bool(z.high_traffic)),
            Field::ZonePresent => places.zone.map(|z| Value::Int(self.zone_present(z))),
            Field::ZoneOccupancyDelta => {
                let zone = places.zone?;
                let count = event
                    .count
                    .filter(|_| event.class == EventClass::Occupancy)?;
                let last = self
                    .world
                    .zones
                    .get(zone.index())
                    .and_then(|z| z.last_count)
                    .unwrap_or(0);
                Some(Value::Int(count - last))
            }
            Field::ZoneUnbadged => {
                let zone = places.zone?;
                let count = event
                    .count
                    .filter(|_| event.class == EventClass::Occupancy)?;
                Some(Value::Int(count - self.zone_present(zone)))
            }
            Field::ZoneDegradedDevice => self.degraded_device(places.zone?).map(Value::Str),
            Field::DoorId => door().map(|d| Value::Str(d.id.as_str())),
            Field::DoorFromZone => zone_id(door()?.from),
            Field::DoorToZone => zone_id(door()?.to),
            Field::DoorKind => door().map(|d| Value::Str(d.kind.as_str())),
            Field::DoorWatched => self.door_watched().map(Value::Bool),
            Field::PortKind => places
                .port
                .map(|p| Value::Str(estate.switch_port(p).kind.as_str())),
            Field::SrcNetworkId => places
                .src_network
                .map(|n| Value::Str(estate.network(n).id.as_str()))
                .or_else(|| places.src_egress_site.map(|_| Value::Str("egress"))),
            Field::SrcNetworkKind => places
                .src_network
                .map(|n| Value::Str(estate.network(n).kind.as_str()))
                .or_else(|| places.src_egress_site.map(|_| Value::Str("egress"))),
            Field::SrcNetworkSite => site_id(places.source_site(estate)),
            Field::NetworkId => places
                .network
                .map(|n| Value::Str(estate.network(n).id.as_str())),
            Field::NetworkKind => places
                .network
                .map(|n| Value::Str(estate.network(n).kind.as_str())),
            Field::NetworkSite => site_id(places.network.and_then(|n| estate.network(n).site)),
            Field::AssetId => asset().map(|a| Value::Str(a.id.as_str())),
            Field::AssetKind => asset().map(|a| Value::Str(a.kind.as_str())),
            Field::AssetCriticality => asset().map(|a| Value::Str(a.criticality.as_str())),
            Field::AssetZone => zone_id(asset().map(|a| a.zone)),
            Field::AssetOwner => asset()?
                .owner
                .map(|o| Value::Str(estate.person(o).id.as_str())),
            Field::ResourceId => resource().map(|r| Value::Str(r.id.as_str())),
            Field::ResourceKind => resource().map(|r| Value::Str(r.kind.as_str())),
            Field::ResourceLabels => resource()
                .map(|r| Value::List(r.labels.iter().map(|l| Value::Str(l.as_str())).collect())),
            Field::DeviceKnown => boolean(self.device_known()),
            Field::DeviceCompliant => self.device_compliant().map(Value::Bool),
            Field::BookingActive => boolean(
                self.person_state()
                    .and_then(|s| s.active_booking(at))
                    .is_some(),
            ),
            Field::BookingZone => zone_id(self.person_state()?.active_booking(at).map(|b| b.zone)),
            Field::BookingSite => {
                let booking = self.person_state()?.active_booking(at)?;
                site_id(Some(estate.zone(booking.zone).site))
            }
            Field::ApbViolation => self.apb_violation().map(Value::Str),
            Field::DoorExitWithoutEntry => self.exit_without_entry().map(Value::Bool),
            Field::AssetNearby => self.asset_nearby().map(Value::Owned),
            Field::PersonBadgedIntoZone => self.badged_into_zone().map(Value::Bool),
            Field::DstUsual => {
                let asset = places.asset?;
                let ip = event.dst.ip?;
                let learned = self.world.destinations.get(&asset.0)?;
                learned.usual(ip, at).map(Value::Bool)
            }
            Field::ChangeApproved => boolean(self.approved_change().is_some()),
            Field::ChangeNumber => self.approved_change().map(Value::Str),
            Field::BadgedSiteToday => {
                let site = places.site?;
                let state = self.person_state();
                // "Today" reaches back at least twelve hours, so that a night shift that began
                // before midnight still counts as badged in after it.
                let since = estate
                    .local_day_start(site, at)
                    .min(at.plus_millis(-NIGHT_SHIFT_REACH_MS));
                let badged = state
                    .and_then(|s| s.last_grant_at(site))
                    .is_some_and(|t| t >= since && t <= at);
                Some(Value::Bool(badged))
            }
        }
    }
}

impl Record for EventContext<'_> {
    fn field(&self, field: FieldRef) -> Option<Value<'_>> {
        match self.schema.lookup(field)? {
            Resolved::Field(field) => self.known(field),
            Resolved::Raw(path) => raw_lookup(self.event.raw.as_ref()?, path),
        }
    }

    fn word(&self, field: FieldRef) -> Word {
        match self.schema.lookup(field) {
            Some(Resolved::Field(field)) => self.known_word(field),
            _ => Word::Unknown,
        }
    }

    fn keyword_text(&self) -> Option<&str> {
        match self.event.raw.as_ref()? {
            serde_json::Value::String(text) => Some(text),
            _ => None,
        }
    }
}

/// Walks a dotted path through JSON; arrays fan out (Okta's `target[]`).
fn raw_lookup<'v>(value: &'v serde_json::Value, path: &[String]) -> Option<Value<'v>> {
    let Some((head, rest)) = path.split_first() else {
        return json_value(value);
    };
    match value {
        serde_json::Value::Object(map) => raw_lookup(map.get(head.as_str())?, rest),
        serde_json::Value::Array(items) => {
            let values: Vec<Value<'v>> = items
                .iter()
                .filter_map(|item| raw_lookup(item, path))
                .collect();
            (!values.is_empty()).then_some(Value::List(values))
        }
        _ => None,
    }
}

fn json_value(value: &serde_json::Value) -> Option<Value<'_>> {
    match value {
        serde_json::Value::Null => Some(Value::Null),
        serde_json::Value::Bool(b) => Some(Value::Bool(*b)),
        serde_json::Value::Number(n) => n
            .as_i64()
            .map(Value::Int)
            .or_else(|| n.as_f64().map(Value::Float)),
        serde_json::Value::String(s) => Some(Value::Str(s)),
        serde_json::Value::Array(items) => {
            Some(Value::List(items.iter().filter_map(json_value).collect()))
        }
        serde_json::Value::Object(_) => None,
    }
}

pub fn value_text(value: &Value<'_>) -> String {
    match value {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => f.to_string(),
        Value::Str(s) => (*s).to_string(),
        Value::Owned(s) => s.clone(),
        Value::Ip(ip) => ip.to_string(),
        Value::List(items) => items.iter().map(value_text).collect::<Vec<_>>().join(", "),
    }
}

/// Where the event places its subject on the map, if anywhere: coordinates and the site.
/// Allocates nothing: this runs for every event of a located person.
pub fn event_location(
    estate: &Estate,
    event: &Event,
    places: &Places,
) -> Option<(f64, f64, Option<SiteIdx>)> {
    let physical = matches!(
        event.class,
        EventClass::PhysicalAccess | EventClass::NetworkSession
    );
    let site = places
        .site
        .filter(|_| physical)
        .or_else(|| places.source_site(estate));
    if let Some(index) = site {
        let site = estate.site(index);
        return Some((site.lat, site.lon, Some(index)));
    }
    Some((event.src.lat?, event.src.lon?, None))
}

/// A readable name for where the event happened (site id, city, country or coordinates).
pub fn place_name(
    estate: &Estate,
    event: &Event,
    site: Option<SiteIdx>,
    lat: f64,
    lon: f64,
) -> String {
    match site {
        Some(site) => estate.site(site).id.clone(),
        None => event
            .src
            .city
            .clone()
            .or_else(|| event.src.country.clone())
            .unwrap_or_else(|| format!("{lat:.2},{lon:.2}")),
    }
}

fn travel(estate: &Estate, event: &Event, places: &Places, state: &PersonState) -> Option<Travel> {
    let last = state.last_location.as_ref()?;
    let (lat, lon, site) = event_location(estate, event, places)?;
    if site.is_some() && site == last.site {
        // Both places are the site's own coordinates: no distance, and no trigonometry.
        return None;
    }
    let km = distance_km(last.lat, last.lon, lat, lon);
    if km < MIN_TRAVEL_KM {
        return None;
    }
    // At least a minute, so that two records of one moment do not divide by zero.
    let hours = ((event.time.millis() - last.at.millis()).max(60_000)) as f64 / 3_600_000.0;
    Some(Travel {
        km,
        kmh: km / hours,
        from: last.name(estate),
        to: place_name(estate, event, site, lat, lon),
    })
}

/// Two sites at once: placed at another site by a physical signal this recently.
const TWO_SITES_WINDOW_MS: i64 = 15 * 60_000;

/// Whether the person's last badge in let them into `zone` or into a room inside it (a room
/// whose every door in comes from the zone).
fn badged_into(estate: &Estate, state: &PersonState, zone: ZoneIdx) -> bool {
    let within = |room: ZoneIdx| {
        let mut ways_in = estate
            .doors()
            .iter()
            .filter(|d| d.to == Some(room))
            .peekable();
        ways_in.peek().is_some() && ways_in.all(|d| d.from == Some(zone))
    };
    state
        .badged_into
        .is_some_and(|inside| inside == zone || within(inside))
}

fn apb_violation(
    estate: &Estate,
    event: &Event,
    places: &Places,
    state: &PersonState,
    presence: impl FnOnce() -> Option<PresenceView>,
) -> Option<&'static str> {
    if event.class != EventClass::PhysicalAccess || event.activity != Activity::Granted {
        return None;
    }
    let door = estate.door(places.door?);
    if let Some(to) = door.to
        && estate.zone(to).anti_passback
        && state.inside_apb_zone == Some(to)
    {
        return Some("reentry");
    }
    let site = places.site?;
    let view = presence()?;
    let elsewhere = view.site.is_some_and(|s| s != site);
    if elsewhere && view.signal.is_physical() && view.age_ms <= TWO_SITES_WINDOW_MS {
        return Some("two_sites");
    }
    None
}

#[cfg(test)]
mod tests {
    use seam_estate::PersonIdx;
    use seam_model::{Activity, Event, EventClass, Medium, Outcome, Ts};
    use seam_rules::{Record, Value, Word};

    use super::{EventContext, PersonFacts, Places};
    use crate::schema::{EngineSchema, Field};
    use crate::state::WorldState;

    /// Dispatch trusts a context's words to say what its fields say: for every enumerated
    /// field, over events of every class, activity, outcome and medium at every door, AP,
    /// asset and resource of the example estate, for every person, with and without facts.
    #[test]
    fn words_agree_with_the_fields_they_stand_for() {
        let estate = seam_estate::Estate::load_dir(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/estate"),
        )
        .unwrap();
        let schema = EngineSchema::new();
        let world = WorldState::default();
        let facts = PersonFacts::of_estate(&estate);
        let enumerated: Vec<(Field, Vec<String>)> = Field::ALL
            .iter()
            .filter_map(|field| Some((*field, field.vocabulary()?)))
            .collect();
        assert!(enumerated.len() >= 8);
        let mut events = Vec::new();
        for (index, class) in EventClass::ALL.iter().enumerate() {
            for activity in Activity::ALL.iter().filter(|a| class.admits(**a)) {
                for outcome in Outcome::ALL {
                    let mut event = Event::new("e", Ts(0), "test", *class, *activity);
                    event.outcome = *outcome;
                    event.medium = Medium::ALL.get(index % 4).copied();
                    events.push(event);
                }
            }
        }
        let mut placed = Vec::new();
        for (index, event) in events.iter().enumerate() {
            let mut event = event.clone();
            // Times before and after the example's status changes and decommissionings.
            event.time =
                Ts::parse(["2020-01-01T00:00:00Z", "2026-03-02T09:00:00Z"][index % 2]).unwrap();
            let doors = estate.doors().iter().map(|d| d.id.clone());
            let aps = estate.aps().iter().map(|a| a.id.clone());
            match index % 4 {
                0 => event.door = doors.clone().nth(index % estate.doors().len()),
                1 => event.ap = aps.clone().nth(index % estate.aps().len()),
                2 => event.asset = estate.assets().get(index % 3).map(|a| a.id.clone()),
                _ => event.resource = estate.resources().first().map(|r| r.id.clone()),
            }
            placed.push(event);
        }
        let mut checked = 0;
        for event in &placed {
            let places = Places::of(&estate, event);
            for person in (0..estate.people().len())
                .map(|p| Some(PersonIdx(p as u32)))
                .chain([None])
            {
                for with_facts in [false, true] {
                    let context =
                        EventContext::new(&estate, &schema, &world, &[], event, person, places);
                    let context = if with_facts {
                        context.with_facts(person.and_then(|p| facts.get(p.index())).copied())
                    } else {
                        context
                    };
                    for (field, words) in &enumerated {
                        let handle = EngineSchema::field_ref(*field);
                        let value = context.field(handle);
                        match context.word(handle) {
                            Word::Missing => assert_eq!(value, None, "{field:?}"),
                            Word::At(at) => assert_eq!(
                                value,
                                Some(Value::Str(&words[usize::from(at)])),
                                "{field:?}"
                            ),
                            Word::Unknown => panic!("{field:?} has a vocabulary but no word"),
                        }
                        checked += 1;
                    }
                }
            }
        }
        assert!(checked > 10_000, "{checked}");
    }
}
