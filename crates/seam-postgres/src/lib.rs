//! Seam's PostgreSQL store.
