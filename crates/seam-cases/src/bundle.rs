//! The signed export bundle of a case (being written).
