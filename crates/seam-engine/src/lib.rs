//! seam-engine
