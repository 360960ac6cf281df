//! Which findings make one alert: those about the same person, or the same zone or asset,
//! within a span of each other, so that an analyst works one story instead of fifty rows.
//!
//! A finding joins the alert whose key it shares and whose last finding is at most `span`
//! before it (the person first, then the zone, then the asset); otherwise it opens an alert of
//! its own, named after its first finding. The store keeps the open alerts; this module says
//! what to look for and how an alert is named, so both stores group alike.

use serde::{Deserialize, Serialize};

use crate::facts::FindingFacts;

/// Grouping settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grouping {
    /// How far apart (ms, event time) two findings may be and still make one alert.
    pub span_ms: i64,
}

impl Default for Grouping {
    /// Thirty minutes: a tailgate and the sign-in that follows it, a burst of failures.
    fn default() -> Self {
        Grouping {
            span_ms: 30 * 60 * 1000,
        }
    }
}

/// The most a span may be: a week. Longer ones would make an alert of a person's month.
pub const MAX_SPAN_MS: i64 = 7 * 24 * 3600 * 1000;

impl Grouping {
    pub fn new(span_ms: i64) -> Result<Grouping, String> {
        if !(0..=MAX_SPAN_MS).contains(&span_ms) {
            return Err(format!(
                "the grouping span must be between 0 and {} minutes",
                MAX_SPAN_MS / 60_000
            ));
        }
        Ok(Grouping { span_ms })
    }

    /// The keys a finding may join an alert by, most telling first. `span_ms = 0` groups
    /// nothing: every finding is an alert of its own.
    pub fn keys(&self, facts: &FindingFacts) -> Vec<String> {
        if self.span_ms == 0 {
            return Vec::new();
        }
        let mut keys = Vec::with_capacity(3);
        if let Some(person) = &facts.person {
            keys.push(format!("person:{person}"));
        }
        if let Some(zone) = &facts.zone {
            keys.push(format!("zone:{zone}"));
        }
        if let Some(asset) = &facts.asset {
            keys.push(format!("asset:{asset}"));
        }
        keys
    }

    /// Whether a finding at `time` joins an alert whose findings span `first..=last`.
    pub fn joins(&self, first: i64, last: i64, time: i64) -> bool {
        time >= first.saturating_sub(self.span_ms) && time <= last.saturating_add(self.span_ms)
    }
}

/// The id of an alert opened by the finding `uid`: a digest of it, since a finding's uid may
/// hold a person's identifier, which an alert's id must not carry past an erasure.
pub fn alert_id(uid: &str) -> String {
    digest_id("alert", uid)
}

/// The id of an alert split off another to hold `first` (the earliest finding moved).
pub fn split_alert_id(first: &str) -> String {
    digest_id("split", first)
}

/// The id of the alert a finding is detached into.
pub fn detached_alert_id(uid: &str) -> String {
    digest_id("detached", uid)
}

fn digest_id(kind: &str, uid: &str) -> String {
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(format!("{kind}\0{uid}").as_bytes());
    let mut id = String::from("alert-");
    for byte in digest.iter().take(10) {
        id.push_str(&format!("{byte:02x}"));
    }
    id
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_put_the_person_first() {
        let facts = FindingFacts {
            person: Some("bob".into()),
            zone: Some("lab".into()),
            asset: Some("ws1".into()),
            ..FindingFacts::default()
        };
        assert_eq!(
            Grouping::default().keys(&facts),
            ["person:bob", "zone:lab", "asset:ws1"]
        );
        assert!(Grouping::new(0).unwrap().keys(&facts).is_empty());
    }

    #[test]
    fn alert_ids_do_not_carry_the_finding_uid() {
        let id = alert_id("login-alice@corp.example");
        assert!(id.starts_with("alert-") && !id.contains("alice"));
        assert_eq!(id, alert_id("login-alice@corp.example"));
        assert_ne!(id, split_alert_id("login-alice@corp.example"));
        assert_ne!(id, detached_alert_id("login-alice@corp.example"));
    }

    #[test]
    fn a_finding_joins_within_the_span_either_side() {
        let g = Grouping::new(100).unwrap();
        assert!(g.joins(1000, 2000, 2100));
        assert!(g.joins(1000, 2000, 900));
        assert!(!g.joins(1000, 2000, 2101));
        assert!(!g.joins(1000, 2000, 899));
        assert!(Grouping::new(-1).is_err());
        assert!(Grouping::new(MAX_SPAN_MS + 1).is_err());
    }
}
