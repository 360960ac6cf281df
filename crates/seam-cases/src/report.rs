//! Reports for leadership (being written).
