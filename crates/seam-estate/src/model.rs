//! The entities of the estate and the directory, as the engine reads them.
//!
//! References between entities are typed indices into the estate's vectors, resolved once at
//! load, so that a lookup on the hot path never touches a string.

use std::net::IpAddr;

use seam_model::Ts;
use serde::{Deserialize, Serialize};

use crate::clock::{DailyHours, LocalTime, Weekdays, Window};
use crate::identity::Identifier;
use crate::net::Cidr;

macro_rules! index_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        ///
        /// Valid only for the estate that produced it.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub u32);

        impl $name {
            /// The position in the estate's vector, for callers that keep per-entity arrays.
            pub const fn index(self) -> usize {
                self.0 as usize
            }
        }
    };
}

index_type!(
    /// A site in [`crate::Estate::sites`].
    SiteIdx
);
index_type!(
    /// A zone in [`crate::Estate::zones`].
    ZoneIdx
);
index_type!(
    /// A door in [`crate::Estate::doors`].
    DoorIdx
);
index_type!(
    /// A wireless access point in [`crate::Estate::aps`].
    ApIdx
);
index_type!(
    /// A switch port in [`crate::Estate::switch_ports`].
    PortIdx
);
index_type!(
    /// A network in [`crate::Estate::networks`].
    NetworkIdx
);
index_type!(
    /// An asset in [`crate::Estate::assets`].
    AssetIdx
);
index_type!(
    /// A resource in [`crate::Estate::resources`].
    ResourceIdx
);
index_type!(
    /// A person in [`crate::Estate::people`].
    PersonIdx
);

/// Declares a closed vocabulary read from the files: serde names, `as_str` and `Display` agree.
macro_rules! vocabulary {
    ($(#[$doc:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(
            Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
        )]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $($variant),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The snake_case name used in the files and exposed to rules.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }

            /// The value named `text` (its snake_case name), if any.
            pub fn parse(text: &str) -> Option<$name> {
                $name::ALL.iter().copied().find(|value| value.as_str() == text)
            }

            /// Where the value is in [`Self::ALL`].
            pub const fn position(self) -> usize {
                self as usize
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
pub(crate) use vocabulary;

vocabulary!(
    /// Whether a site is in use.
    SiteStatus {
        Active => "active",
        Decommissioned => "decommissioned",
    }
);

vocabulary!(
    /// What a zone is used for.
    ZoneKind {
        Lobby => "lobby",
        Office => "office",
        Meeting => "meeting",
        ServerRoom => "server_room",
        Classified => "classified",
        Parking => "parking",
        Common => "common",
        Restricted => "restricted",
        Other => "other",
    }
);

vocabulary!(
    /// How much harm unwanted presence in a zone, or a compromise of an asset, can do.
    Level {
        Low => "low",
        Medium => "medium",
        High => "high",
        Critical => "critical",
    }
);

vocabulary!(
    /// What a network carries.
    NetworkKind {
        Corporate => "corporate",
        Guest => "guest",
        Iot => "iot",
        Vpn => "vpn",
        Datacenter => "datacenter",
        Management => "management",
    }
);

vocabulary!(
    /// What an asset is.
    AssetKind {
        Server => "server",
        Workstation => "workstation",
        Laptop => "laptop",
        Camera => "camera",
        DoorController => "door_controller",
        PacsServer => "pacs_server",
        BmsController => "bms_controller",
        Sensor => "sensor",
        NetworkDevice => "network_device",
        Phone => "phone",
        Other => "other",
    }
);

vocabulary!(
    /// What a door is for: people enter a site through an entrance, move between zones through
    /// interior doors; fire and emergency exits open outward only and carry no reader.
    DoorKind {
        Entrance => "entrance",
        Interior => "interior",
        FireExit => "fire_exit",
        Emergency => "emergency",
        VehicleGate => "vehicle_gate",
    }
);

vocabulary!(
    /// What a wired port serves.
    PortKind {
        Desk => "desk",
        Meeting => "meeting",
        Server => "server",
        Console => "console",
        Kiosk => "kiosk",
        Other => "other",
    }
);

vocabulary!(
    /// What an occupancy or door sensor reports: a doorway counter pulses once per passage; a
    /// ceiling sensor reports occupied or not, or a head count; a door contact, open or closed.
    SensorKind {
        DoorwayCounter => "doorway_counter",
        Occupancy => "occupancy",
        HeadCount => "head_count",
        DoorContact => "door_contact",
        Motion => "motion",
    }
);

vocabulary!(
    /// What a resource is.
    ResourceKind {
        App => "app",
        FileShare => "file_share",
        Database => "database",
        Other => "other",
    }
);

vocabulary!(
    /// What kind of identity a person is.
    PersonKind {
        Employee => "employee",
        Contractor => "contractor",
        Visitor => "visitor",
        Service => "service",
    }
);

vocabulary!(
    /// A status a person can be given in the files.
    StatusKind {
        Active => "active",
        Suspended => "suspended",
        Terminated => "terminated",
    }
);

vocabulary!(
    /// A person's status at a point in time; `inactive` before their first status entry.
    PersonStatus {
        Inactive => "inactive",
        Active => "active",
        Suspended => "suspended",
        Terminated => "terminated",
    }
);

impl From<StatusKind> for PersonStatus {
    fn from(status: StatusKind) -> PersonStatus {
        match status {
            StatusKind::Active => PersonStatus::Active,
            StatusKind::Suspended => PersonStatus::Suspended,
            StatusKind::Terminated => PersonStatus::Terminated,
        }
    }
}

/// A physical place with its own time zone: an office, a warehouse.
#[derive(Clone, Debug, Serialize)]
pub struct Site {
    pub id: String,
    pub name: String,
    /// The IANA name, as written in the file.
    pub timezone: String,
    #[serde(skip)]
    pub(crate) local: LocalTime,
    pub lat: f64,
    pub lon: f64,
    /// The site's public addresses: traffic from them comes from inside the site.
    pub egress: Vec<Cidr>,
    pub status: SiteStatus,
    pub decommissioned_since: Option<Ts>,
    /// Business hours in site-local time; outside them is after hours.
    pub hours: Option<DailyHours>,
}

impl Site {
    pub fn time_zone(&self) -> &jiff::tz::TimeZone {
        self.local.time_zone()
    }

    /// Whether the site is in use at `at`: a decommissioned site is in use before its date.
    pub fn is_active_at(&self, at: Ts) -> bool {
        match (self.status, self.decommissioned_since) {
            (SiteStatus::Active, _) => true,
            (SiteStatus::Decommissioned, Some(since)) => at < since,
            (SiteStatus::Decommissioned, None) => false,
        }
    }
}

/// A physical area of a site.
#[derive(Clone, Debug, Serialize)]
pub struct Zone {
    pub id: String,
    pub site: SiteIdx,
    pub name: String,
    pub kind: ZoneKind,
    pub sensitivity: Level,
    /// Many people pass through: presence here says little on its own.
    pub high_traffic: bool,
    /// Entry and exit are both badged, so presence inside is known exactly.
    pub anti_passback: bool,
}

/// A door between two zones, or between a zone and the outside.
#[derive(Clone, Debug, Serialize)]
pub struct Door {
    pub id: String,
    pub site: SiteIdx,
    /// `None`: the outside of the site.
    pub from: Option<ZoneIdx>,
    /// `None`: the outside of the site.
    pub to: Option<ZoneIdx>,
    /// Reader ids that the access-control system reports for this door; none for a door with
    /// no reader (a fire exit, a door held by a contact only).
    pub readers: Vec<String>,
    pub kind: DoorKind,
    /// The controller that drives the door's lock and reader.
    pub controller: Option<AssetIdx>,
    /// The door has a door-position switch whose state the access-control system reports
    /// (door used, held open, forced): a grant nobody walks through shows.
    pub position_switch: bool,
}

/// A wireless access point.
#[derive(Clone, Debug, Serialize)]
pub struct Ap {
    pub id: String,
    pub zone: ZoneIdx,
    /// Canonical MACs (`aa:bb:cc:dd:ee:ff`) of the radios.
    pub bssids: Vec<String>,
}

/// A wired switch port, such as `hq-sw1:Gi1/0/5`.
#[derive(Clone, Debug, Serialize)]
pub struct SwitchPort {
    pub id: String,
    pub zone: ZoneIdx,
    pub network: NetworkIdx,
    pub kind: PortKind,
}

/// An address range with a purpose.
#[derive(Clone, Debug, Serialize)]
pub struct Network {
    pub id: String,
    /// `None` for networks without a place, such as a VPN pool.
    pub site: Option<SiteIdx>,
    pub cidrs: Vec<Cidr>,
    pub kind: NetworkKind,
}

/// A device or system of the estate.
#[derive(Clone, Debug, Serialize)]
pub struct Asset {
    pub id: String,
    pub kind: AssetKind,
    pub zone: ZoneIdx,
    pub network: Option<NetworkIdx>,
    pub ips: Vec<IpAddr>,
    /// Canonical MACs (`aa:bb:cc:dd:ee:ff`).
    pub macs: Vec<String>,
    /// Lowercase host names.
    pub hostnames: Vec<String>,
    pub criticality: Level,
    pub owner: Option<PersonIdx>,
    /// Zones that a camera watches or a controller locks.
    pub covers: Vec<ZoneIdx>,
    /// For a sensor: what it reports, at which door, and how late.
    pub sensor: Option<SensorSpec>,
}

/// What a sensor asset reports and how it is placed.
#[derive(Clone, Debug, Serialize)]
pub struct SensorSpec {
    pub kind: SensorKind,
    /// The door a doorway counter or a door contact watches.
    pub door: Option<DoorIdx>,
    /// How long after the fact its reports arrive, as the vendor documents (milliseconds).
    pub latency_ms: i64,
}

/// Something people use: an application, a share, a database.
#[derive(Clone, Debug, Serialize)]
pub struct Resource {
    pub id: String,
    pub kind: ResourceKind,
    /// Free labels, such as `requires-onsite`.
    pub labels: Vec<String>,
    pub asset: Option<AssetIdx>,
    /// Other names sources give it: an application id, a share path, a host name.
    pub aliases: Vec<String>,
}

impl Resource {
    pub fn has_label(&self, label: &str) -> bool {
        self.labels.iter().any(|own| own == label)
    }
}

/// A status taking effect at `since`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct StatusChange {
    pub status: StatusKind,
    pub since: Ts,
}

/// A person or a service account: the unit of identity.
#[derive(Clone, Debug, Serialize)]
pub struct Person {
    pub id: String,
    pub name: String,
    pub kind: PersonKind,
    /// Oldest first, strictly increasing `since`.
    pub status: Vec<StatusChange>,
    pub roles: Vec<String>,
    /// Sorted by index and without repeats, so that a clearance check is a binary search.
    pub clearances: Vec<ZoneIdx>,
    pub privileged: bool,
    pub home_site: Option<SiteIdx>,
    /// Working hours in the home site's time zone.
    pub schedule: Option<DailyHours>,
    /// A visitor's visit or a contractor's contract.
    pub window: Option<Window>,
    /// A visitor's host.
    pub host: Option<PersonIdx>,
    pub identifiers: Vec<Identifier>,
    pub department: Option<String>,
    pub team: Option<String>,
    /// The manager's person id.
    pub manager: Option<String>,
    /// Weekdays planned at home (in the home site's time zone).
    pub remote_days: Weekdays,
    /// Periods on call: out-of-hours work is expected then.
    pub on_call: Vec<Window>,
    /// Changes from systems of record, oldest first (empty for a person only in the files).
    pub history: Vec<crate::directory::HistoryEntry>,
}

impl Person {
    pub fn has_role(&self, role: &str) -> bool {
        self.roles.iter().any(|own| own == role)
    }
}
