//! Suppression rules: findings that match are marked suppressed (stored, counted and
//! listable, never dropped), each rule with a reason, an owner and an expiry.

use serde::{Deserialize, Serialize};

use crate::facts::FindingFacts;

/// The longest a suppression may last: ninety days. A standing exception belongs in the
/// rule, where it is reviewed.
pub const MAX_SUPPRESSION_MS: i64 = 90 * 24 * 3600 * 1000;

/// One suppression rule. Every condition given must hold; at least one of person, zone,
/// asset and site must be given, so a suppression never silences a rule everywhere.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Suppression {
    pub id: String,
    /// The rule id it silences; `None` for every rule at that scope.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub person: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asset: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site: Option<String>,
    pub reason: String,
    pub owner: String,
    /// Wall time (ms) it was made.
    pub created_at: i64,
    /// Wall time (ms) from which it no longer applies.
    pub expires_at: i64,
}

/// What a caller asks for when making a suppression.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SuppressionRequest {
    #[serde(default)]
    pub rule: Option<String>,
    #[serde(default)]
    pub person: Option<String>,
    #[serde(default)]
    pub zone: Option<String>,
    #[serde(default)]
    pub asset: Option<String>,
    #[serde(default)]
    pub site: Option<String>,
    pub reason: String,
    /// Wall time (ms) from which it no longer applies.
    pub expires_at: i64,
}

impl SuppressionRequest {
    /// The suppression, checked, owned by `owner`, made at `now`.
    pub fn into_suppression(
        self,
        id: String,
        owner: &str,
        now: i64,
    ) -> Result<Suppression, String> {
        crate::check_text("the reason", &self.reason)?;
        for (what, value) in [
            ("the rule", &self.rule),
            ("the person", &self.person),
            ("the zone", &self.zone),
            ("the asset", &self.asset),
            ("the site", &self.site),
        ] {
            if let Some(value) = value {
                crate::check_id(what, value)?;
            }
        }
        if self.person.is_none()
            && self.zone.is_none()
            && self.asset.is_none()
            && self.site.is_none()
        {
            return Err(
                "a suppression names a person, zone, asset or site: a rule that should be quiet \
                 everywhere is changed in the rule pack"
                    .to_string(),
            );
        }
        if self.expires_at <= now {
            return Err("the expiry is not in the future".to_string());
        }
        if self.expires_at - now > MAX_SUPPRESSION_MS {
            return Err(format!(
                "a suppression may last at most {} days",
                MAX_SUPPRESSION_MS / 86_400_000
            ));
        }
        Ok(Suppression {
            id,
            rule: self.rule,
            person: self.person,
            zone: self.zone,
            asset: self.asset,
            site: self.site,
            reason: self.reason,
            owner: owner.to_string(),
            created_at: now,
            expires_at: self.expires_at,
        })
    }
}

impl Suppression {
    /// Whether it applies at wall time `now`.
    pub fn active(&self, now: i64) -> bool {
        self.created_at <= now && now < self.expires_at
    }

    /// Whether it silences this finding (expiry aside).
    pub fn matches(&self, facts: &FindingFacts) -> bool {
        fn holds(wanted: &Option<String>, found: &Option<String>) -> bool {
            wanted.is_none() || wanted == found
        }
        self.rule.as_ref().is_none_or(|r| *r == facts.rule)
            && holds(&self.person, &facts.person)
            && holds(&self.zone, &facts.zone)
            && holds(&self.asset, &facts.asset)
            && holds(&self.site, &facts.site)
    }
}

/// The first active suppression that silences a finding, at wall time `now`.
pub fn suppressed_by<'a>(
    suppressions: &'a [Suppression],
    facts: &FindingFacts,
    now: i64,
) -> Option<&'a Suppression> {
    suppressions
        .iter()
        .find(|s| s.active(now) && s.matches(facts))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> SuppressionRequest {
        SuppressionRequest {
            rule: Some("seam.tailgating".into()),
            person: None,
            zone: Some("lobby".into()),
            asset: None,
            site: None,
            reason: "turnstile under repair".into(),
            expires_at: 2_000,
        }
    }

    #[test]
    fn a_suppression_silences_what_it_names_until_it_expires() {
        let s = request()
            .into_suppression("s1".into(), "ann", 1_000)
            .unwrap();
        let mut facts = FindingFacts {
            rule: "seam.tailgating".into(),
            zone: Some("lobby".into()),
            ..FindingFacts::default()
        };
        assert!(suppressed_by(std::slice::from_ref(&s), &facts, 1_500).is_some());
        assert!(suppressed_by(std::slice::from_ref(&s), &facts, 2_000).is_none());
        facts.zone = Some("lab".into());
        assert!(!s.matches(&facts));
    }

    #[test]
    fn a_suppression_needs_a_scope_a_reason_and_a_future_expiry() {
        let mut everywhere = request();
        everywhere.zone = None;
        assert!(everywhere.into_suppression("s".into(), "a", 1_000).is_err());
        let mut no_reason = request();
        no_reason.reason = " ".into();
        assert!(no_reason.into_suppression("s".into(), "a", 1_000).is_err());
        assert!(request().into_suppression("s".into(), "a", 2_000).is_err());
        let mut forever = request();
        forever.expires_at = MAX_SUPPRESSION_MS + 1_001;
        assert!(forever.into_suppression("s".into(), "a", 1_000).is_err());
    }
}
