//! Seam's OpenID Connect relying party.
