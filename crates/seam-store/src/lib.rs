//! seam-store
