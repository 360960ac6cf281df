//! seam-rules
