//! The estate ("twin") and the directory: sites, zones, doors, networks and assets, and the
//! people with their time-bounded identifiers, loaded from TOML files and served through pure,
//! fast lookups.
//!
//! No I/O except [`Estate::load_dir`], no wall clock: every question takes its time as an
//! argument (Architecture Invariant).

mod check;
mod clock;
mod directory;
mod error;
mod estate;
mod identity;
mod load;
mod model;
mod net;
mod raw;
mod write;

pub use clock::{ClockTime, DAY_NAMES, DailyHours, Weekdays, Window};
pub use directory::{
    ApplyReport, DirectoryChange, DirectoryError, HistoryEntry, Precedence, people_changes,
};
pub use error::{EntityKind, EstateError, Location, Position, Problem};
pub use estate::{Estate, distance_km};
pub use identity::{Identifier, IdentifierKind, normalize_identifier};
pub use load::{EstateFile, PlacesError};
pub use model::{
    Ap, ApIdx, Asset, AssetIdx, AssetKind, Door, DoorIdx, DoorKind, Level, Network, NetworkIdx,
    NetworkKind, Person, PersonIdx, PersonKind, PersonStatus, PortIdx, PortKind, Resource,
    ResourceIdx, ResourceKind, SensorKind, SensorSpec, Site, SiteIdx, SiteStatus, StatusChange,
    StatusKind, SwitchPort, Zone, ZoneIdx, ZoneKind,
};
pub use net::{Cidr, CidrError, parse_mac};
