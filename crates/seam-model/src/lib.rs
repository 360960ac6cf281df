//! Seam's shared vocabulary: event time, the normalized event and the finding.
//!
//! Pure data and conversions; no I/O and no wall clock (Architecture Invariant).

pub mod time;

pub use time::{Ts, TsError, parse_duration_millis};
