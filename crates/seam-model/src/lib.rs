//! Seam's shared vocabulary: event time, the normalized event and the finding.
//!
//! Pure data and conversions; no I/O and no wall clock (Architecture Invariant).

pub mod directory;
pub mod event;
pub mod finding;
pub mod text;
pub mod time;

pub use directory::{DeltaIdentifier, DeltaWindow, DirectoryDelta, EstatePlaces, PlacesFile};
pub use event::{
    Activity, ChangeDetails, Destination, Event, EventClass, EventError, Medium, Outcome, Source,
    Subject,
};
pub use finding::{Finding, FindingParts, Severity};
pub use time::{Ts, TsError, parse_duration_millis};
