//! Tuning without forking the pack: rules switched off per site, and exceptions.
//!
//! A team that adopts the default pack still has places and people the pack cannot know: a site
//! whose doors log card reads only, a backup agent that uploads to its vendor every night. They
//! declare those in a tuning file beside their rules, each entry with a reason and an owner,
//! and an exception with an expiry, so that what was silenced, why and by whom stays visible
//! (`seam rules list`) and nothing stays silenced by accident. A finding that tuning keeps
//! back is counted, never raised.

use serde::{Deserialize, Serialize};

use seam_model::Ts;

/// The tuning of a rule pack (the `tuning.toml` of a rules folder, read by the caller).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tuning {
    /// Rules switched off, everywhere or at some sites.
    #[serde(default, rename = "disable")]
    pub disabled: Vec<Disable>,
    /// Findings not raised for one person, asset, zone or site.
    #[serde(default, rename = "exception")]
    pub exceptions: Vec<Exception>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Disable {
    pub rule: String,
    /// Site ids; none: every site.
    #[serde(default)]
    pub sites: Vec<String>,
    pub reason: String,
    pub owner: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Exception {
    pub rule: String,
    #[serde(default)]
    pub person: Option<String>,
    #[serde(default)]
    pub asset: Option<String>,
    #[serde(default)]
    pub zone: Option<String>,
    #[serde(default)]
    pub site: Option<String>,
    pub reason: String,
    pub owner: String,
    /// When it stops applying (RFC 3339): findings after it are raised again.
    pub expires: Ts,
}

/// What a finding is about, by the estate's ids, as far as known.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Scope<'a> {
    pub person: Option<&'a str>,
    pub asset: Option<&'a str>,
    pub zone: Option<&'a str>,
    pub site: Option<&'a str>,
}

/// Why tuning kept a finding back.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Kept<'a> {
    Disabled(&'a Disable),
    Excepted(&'a Exception),
}

impl Tuning {
    pub fn is_empty(&self) -> bool {
        self.disabled.is_empty() && self.exceptions.is_empty()
    }

    /// Whether a finding of `rule` at `at` about `scope` is kept back, and by which entry.
    pub fn keeps_back<'t>(&'t self, rule: &str, at: Ts, scope: &Scope<'_>) -> Option<Kept<'t>> {
        if let Some(disable) = self.disabled.iter().find(|d| {
            d.rule == rule
                && (d.sites.is_empty()
                    || scope
                        .site
                        .is_some_and(|site| d.sites.iter().any(|s| s == site)))
        }) {
            return Some(Kept::Disabled(disable));
        }
        let same = |wanted: &Option<String>, found: Option<&str>| {
            wanted.as_deref().is_none_or(|wanted| found == Some(wanted))
        };
        self.exceptions
            .iter()
            .find(|e| {
                e.rule == rule
                    && at < e.expires
                    && (e.person.is_some()
                        || e.asset.is_some()
                        || e.zone.is_some()
                        || e.site.is_some())
                    && same(&e.person, scope.person)
                    && same(&e.asset, scope.asset)
                    && same(&e.zone, scope.zone)
                    && same(&e.site, scope.site)
            })
            .map(Kept::Excepted)
    }

    /// Problems a person must fix: entries without a reason or an owner, exceptions that
    /// name nothing to except, rules the pack does not have (`known`).
    pub fn problems(&self, known: impl Fn(&str) -> bool) -> Vec<String> {
        let mut problems = Vec::new();
        for disable in &self.disabled {
            if !known(&disable.rule) {
                problems.push(format!("disable: no rule `{}` in the pack", disable.rule));
            }
            if disable.reason.trim().is_empty() || disable.owner.trim().is_empty() {
                problems.push(format!(
                    "disable `{}`: a reason and an owner are required",
                    disable.rule
                ));
            }
        }
        for exception in &self.exceptions {
            if !known(&exception.rule) {
                problems.push(format!(
                    "exception: no rule `{}` in the pack",
                    exception.rule
                ));
            }
            if exception.reason.trim().is_empty() || exception.owner.trim().is_empty() {
                problems.push(format!(
                    "exception for `{}`: a reason and an owner are required",
                    exception.rule
                ));
            }
            if exception.person.is_none()
                && exception.asset.is_none()
                && exception.zone.is_none()
                && exception.site.is_none()
            {
                problems.push(format!(
                    "exception for `{}`: name a person, asset, zone or site (to switch a rule off, use disable)",
                    exception.rule
                ));
            }
        }
        problems
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tuning() -> Tuning {
        Tuning {
            disabled: vec![Disable {
                rule: "door".into(),
                sites: vec!["nyc".into()],
                reason: "card reads only".into(),
                owner: "facilities".into(),
            }],
            exceptions: vec![Exception {
                rule: "upload".into(),
                person: None,
                asset: Some("backup-1".into()),
                zone: None,
                site: None,
                reason: "nightly backup to the vendor".into(),
                owner: "it-ops".into(),
                expires: Ts(1_000),
            }],
        }
    }

    #[test]
    fn disabled_at_a_site_and_excepted_until_expiry() {
        let tuning = tuning();
        let at = |site| Scope {
            site: Some(site),
            ..Scope::default()
        };
        assert!(matches!(
            tuning.keeps_back("door", Ts(0), &at("nyc")),
            Some(Kept::Disabled(_))
        ));
        assert_eq!(tuning.keeps_back("door", Ts(0), &at("hq")), None);
        let backup = Scope {
            asset: Some("backup-1"),
            ..Scope::default()
        };
        assert!(matches!(
            tuning.keeps_back("upload", Ts(999), &backup),
            Some(Kept::Excepted(_))
        ));
        assert_eq!(
            tuning.keeps_back("upload", Ts(1_000), &backup),
            None,
            "expired"
        );
        assert_eq!(tuning.keeps_back("upload", Ts(0), &Scope::default()), None);
    }

    #[test]
    fn entries_need_a_reason_an_owner_a_known_rule_and_something_to_except() {
        let mut tuning = tuning();
        tuning.exceptions[0].asset = None;
        tuning.disabled[0].owner = " ".into();
        let problems = tuning.problems(|rule| rule == "upload");
        assert_eq!(problems.len(), 3, "{problems:?}");
    }
}
