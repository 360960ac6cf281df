//! seam-estate
