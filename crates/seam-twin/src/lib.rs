//! The digital twin: a synthetic estate, a day-by-day workforce, labelled attacks and their
//! ground truth, and the evaluation of findings against that truth.
//!
//! Everything here is a pure function of its inputs and a seed: the same seed gives the same
//! estate, the same events and the same truth, byte for byte.

pub mod attacks;
pub mod calendar;
pub mod day;
pub mod eval;
pub mod exercise;
pub mod json;
pub mod paths;
pub mod picture;
pub mod report;
pub mod rng;
pub mod run;
pub mod truth;
pub mod twin;
pub mod vendor;
pub mod world;

pub use day::{SimSpec, simulate_day};
pub use run::{DayFile, Ndjson, Render, RunSummary, simulate, simulate_with};
pub use truth::{Manifest, Scenario};
pub use twin::Twin;
