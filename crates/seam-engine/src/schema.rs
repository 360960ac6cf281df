//! The field names rules may use, and how each resolves to a handle.
//!
//! Normalized event fields and enrichment fields (what Seam knows about the person, their
//! presence and the estate) have fixed handles; any other name is a path into the event's raw
//! record, so Sigma rules written for a vendor's log format work unchanged (`eventType`,
//! `outcome.result`). `raw.` forces the raw interpretation when a vendor field shares a name
//! with a normalized one.

use std::collections::BTreeMap;

use seam_rules::FieldRef;

macro_rules! fields {
    ($($variant:ident = $name:literal),+ $(,)?) => {
        /// A normalized or enrichment field.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[repr(u16)]
        pub enum Field { $($variant),+ }

        impl Field {
            pub const ALL: &'static [Field] = &[$(Field::$variant),+];

            pub fn name(self) -> &'static str {
                match self { $(Field::$variant => $name),+ }
            }

            pub fn from_name(name: &str) -> Option<Field> {
                match name { $($name => Some(Field::$variant),)+ _ => None }
            }
        }
    };
}

fields! {
    Uid = "uid",
    Source = "source",
    Class = "class",
    Activity = "activity",
    Outcome = "outcome",
    Reason = "reason",
    SubjectBadge = "subject.badge",
    SubjectUser = "subject.user",
    SubjectIdpId = "subject.idp_id",
    SubjectDevice = "subject.device",
    SubjectMac = "subject.mac",
    SubjectIp = "subject.ip",
    SrcIp = "src.ip",
    SrcCountry = "src.country",
    SrcCity = "src.city",
    SrcLat = "src.lat",
    SrcLon = "src.lon",
    DstIp = "dst.ip",
    DstPort = "dst.port",
    DstHost = "dst.host",
    DstInternal = "dst.internal",
    EventSite = "site",
    EventZone = "zone",
    EventDoor = "door",
    Reader = "reader",
    Ap = "ap",
    SwitchPort = "switch_port",
    EventAsset = "asset",
    EventResource = "resource",
    App = "app",
    Medium = "medium",
    Count = "count",
    BytesOut = "bytes_out",
    Privileged = "privileged",
    Mfa = "mfa",
    Compliant = "compliant",
    // What Seam knows about the person the event resolved to, at the event's time.
    PersonUid = "person.uid",
    PersonName = "person.name",
    PersonKind = "person.kind",
    PersonStatus = "person.status",
    PersonRoles = "person.roles",
    PersonPrivileged = "person.privileged",
    PersonHomeSite = "person.home_site",
    PersonInWindow = "person.in_window",
    PersonAfterWindow = "person.after_window",
    PersonMinutesAfterWindow = "person.minutes_after_window",
    PersonInSchedule = "person.in_schedule",
    PersonCleared = "person.cleared",
    // Where the person was believed to be just before this event.
    PresenceKnown = "presence.known",
    PresenceOnSite = "presence.on_site",
    PresenceSite = "presence.site",
    PresenceZone = "presence.zone",
    PresenceZoneKind = "presence.zone_kind",
    PresenceSignal = "presence.signal",
    PresenceConfidence = "presence.confidence",
    PresenceAgeS = "presence.age_s",
    TravelKm = "travel.km",
    TravelKmh = "travel.kmh",
    TravelFrom = "travel.from",
    TravelTo = "travel.to",
    // The estate around the event.
    SiteId = "site.id",
    SiteName = "site.name",
    SiteStatus = "site.status",
    SiteAfterHours = "site.after_hours",
    ZoneId = "zone.id",
    ZoneKind = "zone.kind",
    ZoneSensitivity = "zone.sensitivity",
    ZoneHighTraffic = "zone.high_traffic",
    ZonePresent = "zone.present",
    ZoneOccupancyDelta = "zone.occupancy_delta",
    ZoneUnbadged = "zone.unbadged",
    ZoneDegradedDevice = "zone.degraded_device",
    DoorId = "door.id",
    DoorFromZone = "door.from_zone",
    DoorToZone = "door.to_zone",
    SrcNetworkId = "src_network.id",
    SrcNetworkKind = "src_network.kind",
    SrcNetworkSite = "src_network.site",
    NetworkId = "network.id",
    NetworkKind = "network.kind",
    NetworkSite = "network.site",
    AssetId = "asset.id",
    AssetKind = "asset.kind",
    AssetCriticality = "asset.criticality",
    AssetZone = "asset.zone",
    AssetOwner = "asset.owner",
    ResourceId = "resource.id",
    ResourceKind = "resource.kind",
    ResourceLabels = "resource.labels",
    DeviceKnown = "device.known",
    DeviceCompliant = "device.compliant",
    BookingActive = "booking.active",
    BookingZone = "booking.zone",
    BookingSite = "booking.site",
    ApbViolation = "apb.violation",
    BadgedSiteToday = "site_badge.today",
    ChangeApproved = "change.approved",
    ChangeNumber = "change.number",
    DoorKind = "door.kind",
    DoorWatched = "door.watched",
    PortKind = "port.kind",
    PersonDepartment = "person.department",
    PersonTeam = "person.team",
    PersonOnCall = "person.on_call",
    PersonRemoteDay = "person.remote_day",
    DoorExitWithoutEntry = "door.exit_without_entry",
    DstUsual = "dst.usual",
    AssetNearby = "asset.nearby",
    PersonBadgedIntoZone = "person.badged_into_zone",
    ZoneName = "zone.name",
    PresenceZoneName = "presence.zone_name",
    PresenceSiteName = "presence.site_name",
    DoorFromZoneName = "door.from_zone_name",
}

/// Raw paths are numbered after the fixed fields.
const RAW_BASE: u32 = 1 << 16;

/// What a `FieldRef` stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resolved<'a> {
    Field(Field),
    Raw(&'a [String]),
}

/// Resolves names for the rule compiler and keeps the raw paths it interned.
#[derive(Debug, Default, Clone)]
pub struct EngineSchema {
    raw_paths: Vec<Vec<String>>,
    raw_index: BTreeMap<String, u32>,
}

impl EngineSchema {
    pub fn new() -> EngineSchema {
        EngineSchema::default()
    }

    pub fn field_ref(field: Field) -> FieldRef {
        FieldRef(field as u32)
    }

    pub fn lookup(&self, field: FieldRef) -> Option<Resolved<'_>> {
        if field.0 >= RAW_BASE {
            let index = usize::try_from(field.0 - RAW_BASE).ok()?;
            return self.raw_paths.get(index).map(|path| Resolved::Raw(path));
        }
        Field::ALL
            .get(usize::try_from(field.0).ok()?)
            .map(|field| Resolved::Field(*field))
    }

    /// Interns `name` as a raw path; `raw.` is stripped.
    pub fn resolve_name(&mut self, name: &str) -> Result<FieldRef, String> {
        if let Some(field) = Field::from_name(name) {
            return Ok(Self::field_ref(field));
        }
        let path = name.strip_prefix("raw.").unwrap_or(name);
        if path.is_empty() || path.split('.').any(str::is_empty) {
            return Err(format!("invalid field name `{name}`"));
        }
        if let Some(namespace) = ENRICHMENT_NAMESPACES
            .iter()
            .find(|ns| name.starts_with(**ns))
        {
            // A typo in an enrichment field must not silently become a raw lookup.
            return Err(format!(
                "unknown field `{name}`: `{namespace}` fields are {}",
                Field::ALL
                    .iter()
                    .map(|f| f.name())
                    .filter(|n| n.starts_with(namespace))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        if let Some(index) = self.raw_index.get(path) {
            return Ok(FieldRef(RAW_BASE + index));
        }
        let index =
            u32::try_from(self.raw_paths.len()).map_err(|_| "too many raw fields".to_string())?;
        self.raw_paths
            .push(path.split('.').map(str::to_string).collect());
        self.raw_index.insert(path.to_string(), index);
        Ok(FieldRef(RAW_BASE + index))
    }
}

const ENRICHMENT_NAMESPACES: &[&str] = &[
    "person.",
    "presence.",
    "travel.",
    "site.",
    "zone.",
    "door.",
    "src_network.",
    "network.",
    "asset.",
    "resource.",
    "device.",
    "booking.",
    "apb.",
    "site_badge.",
    "change.",
    "port.",
    "subject.",
    "src.",
    "dst.",
];

/// The compiler takes `&dyn Schema`; interning needs mutation, hence the cell.
#[derive(Debug, Default)]
pub struct SchemaBuilder(pub std::cell::RefCell<EngineSchema>);

impl seam_rules::Schema for SchemaBuilder {
    fn resolve(&self, name: &str) -> Result<FieldRef, String> {
        self.0.borrow_mut().resolve_name(name)
    }

    fn vocabulary(&self, field: FieldRef) -> Option<Vec<String>> {
        match self.0.try_borrow().ok()?.lookup(field)? {
            Resolved::Field(field) => field.vocabulary(),
            Resolved::Raw(_) => None,
        }
    }
}

impl Field {
    /// The texts an enumerated field takes, numbered as [`crate::context::EventContext`]
    /// reports them as words (each type's `position`); `None` for other fields.
    pub fn vocabulary(self) -> Option<Vec<String>> {
        fn texts<T: Copy>(all: &[T], text: fn(T) -> &'static str) -> Option<Vec<String>> {
            Some(all.iter().map(|value| text(*value).to_owned()).collect())
        }
        use seam_estate::{
            AssetKind, DoorKind, Level, NetworkKind, PersonKind, PersonStatus, PortKind,
            ResourceKind,
        };
        use seam_estate::{SiteStatus, ZoneKind};
        use seam_model::{Activity, EventClass, Medium, Outcome};
        match self {
            Field::Class => texts(EventClass::ALL, EventClass::as_str),
            Field::Activity => texts(Activity::ALL, Activity::as_str),
            Field::Outcome => texts(Outcome::ALL, Outcome::as_str),
            Field::Medium => texts(Medium::ALL, Medium::as_str),
            Field::PersonKind => texts(PersonKind::ALL, PersonKind::as_str),
            Field::PersonStatus => texts(PersonStatus::ALL, PersonStatus::as_str),
            Field::SiteStatus => texts(SiteStatus::ALL, SiteStatus::as_str),
            Field::ZoneKind => texts(ZoneKind::ALL, ZoneKind::as_str),
            Field::ZoneSensitivity | Field::AssetCriticality => texts(Level::ALL, Level::as_str),
            Field::NetworkKind => texts(NetworkKind::ALL, NetworkKind::as_str),
            Field::AssetKind => texts(AssetKind::ALL, AssetKind::as_str),
            Field::ResourceKind => texts(ResourceKind::ALL, ResourceKind::as_str),
            Field::DoorKind => texts(DoorKind::ALL, DoorKind::as_str),
            Field::PortKind => texts(PortKind::ALL, PortKind::as_str),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_handles_are_dense() {
        for (index, field) in Field::ALL.iter().enumerate() {
            assert_eq!(*field as usize, index);
            assert_eq!(Field::from_name(field.name()), Some(*field));
        }
    }

    #[test]
    fn raw_paths_are_interned_and_typos_in_namespaces_rejected() {
        let mut schema = EngineSchema::new();
        let a = schema.resolve_name("outcome.result").unwrap();
        let b = schema.resolve_name("raw.outcome.result").unwrap();
        assert_eq!(a, b);
        assert_eq!(
            schema.lookup(a),
            Some(Resolved::Raw(
                &["outcome".to_string(), "result".to_string()][..]
            ))
        );
        assert_eq!(
            schema.lookup(FieldRef(Field::ZoneKind as u32)),
            Some(Resolved::Field(Field::ZoneKind))
        );
        let error = schema.resolve_name("presence.onsite").unwrap_err();
        assert!(
            error.starts_with("unknown field `presence.onsite`"),
            "{error}"
        );
        assert!(schema.resolve_name("a..b").is_err());
    }
}
