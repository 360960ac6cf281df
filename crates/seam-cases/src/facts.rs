//! What a stored finding says that triage filters and groups on, read from its OCSF JSON.
//!
//! Findings carry their rule's key in `evidences[].data` (`person.uid`, `zone.id`,
//! `asset.id`, `site.id`, `door.id`, …) and their people in `evidences[].user`. Reading is
//! lenient: a finding written by an older version lacks some of these, and is still listed.

use serde_json::Value;

/// The facts of one finding.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FindingFacts {
    pub uid: String,
    pub rule: String,
    /// Event time, ms.
    pub time: i64,
    /// OCSF severity id: 1 informational … 5 critical, 6 fatal.
    pub severity_id: u8,
    pub severity: String,
    pub person: Option<String>,
    pub site: Option<String>,
    pub zone: Option<String>,
    pub door: Option<String>,
    pub asset: Option<String>,
    pub title: String,
    pub message: String,
    /// The uids of the events the finding was raised on.
    pub events: Vec<String>,
    /// The domain its rule declares with a `seam.domain.*` tag, if it does.
    pub declared_domain: Option<Domain>,
}

impl FindingFacts {
    /// Reads a finding's JSON; `None` when it is not JSON or has no uid.
    pub fn from_json(json: &str) -> Option<FindingFacts> {
        let value: Value = serde_json::from_str(json).ok()?;
        Self::from_value(&value)
    }

    /// As [`FindingFacts::from_json`], from a parsed value.
    pub fn from_value(value: &Value) -> Option<FindingFacts> {
        let info = value.get("finding_info")?;
        let uid = info.get("uid")?.as_str()?.to_string();
        let text = |v: Option<&Value>| v.and_then(Value::as_str).unwrap_or_default().to_string();
        let mut facts = FindingFacts {
            uid,
            rule: text(info.get("analytic").and_then(|a| a.get("uid"))),
            time: value.get("time").and_then(Value::as_i64).unwrap_or(0),
            severity_id: value
                .get("severity_id")
                .and_then(Value::as_u64)
                .and_then(|s| u8::try_from(s).ok())
                .unwrap_or(0),
            severity: text(value.get("severity")),
            person: value
                .get("unmapped")
                .and_then(|u| u.get("person_uid"))
                .and_then(Value::as_str)
                .filter(|v| v.len() <= crate::MAX_ID_BYTES)
                .map(str::to_string),
            title: text(info.get("title")),
            message: text(value.get("message")),
            ..FindingFacts::default()
        };
        if let Some(events) = info.get("related_events").and_then(Value::as_array) {
            facts.events = events
                .iter()
                .filter_map(|e| e.get("uid").and_then(Value::as_str))
                .map(str::to_string)
                .collect();
        }
        facts.declared_domain = info
            .get("types")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .find_map(|tag| match tag {
                "seam.domain.physical" => Some(Domain::Physical),
                "seam.domain.cyber" => Some(Domain::Cyber),
                "seam.domain.cross-domain" => Some(Domain::CrossDomain),
                _ => None,
            });
        let evidences = value
            .get("evidences")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        for evidence in evidences {
            if facts.person.is_none() {
                facts.person = evidence
                    .get("user")
                    .and_then(|u| u.get("uid"))
                    .and_then(Value::as_str)
                    .filter(|v| v.len() <= crate::MAX_ID_BYTES)
                    .map(str::to_string);
            }
            let Some(data) = evidence.get("data").and_then(Value::as_object) else {
                continue;
            };
            for (key, value) in data {
                // A name longer than any id is not kept: it would only bloat the indexes
                // (and a value past a B-tree entry's limit would fail the store's write).
                let Some(value) = value.as_str().filter(|v| v.len() <= crate::MAX_ID_BYTES) else {
                    continue;
                };
                let slot = match key.as_str() {
                    "site.id" | "site" => &mut facts.site,
                    "zone.id" | "zone" => &mut facts.zone,
                    "door.id" | "door" => &mut facts.door,
                    "asset.id" | "asset" | "device.id" | "device" => &mut facts.asset,
                    "person.uid" | "person" => &mut facts.person,
                    _ => continue,
                };
                if slot.is_none() {
                    *slot = Some(value.to_string());
                }
            }
        }
        Some(facts)
    }

    /// The text free-text search looks in: title, message, rule and the names of places.
    pub fn search_text(&self) -> String {
        let mut text = format!("{} {} {}", self.title, self.message, self.rule);
        for part in [&self.zone, &self.asset, &self.door, &self.site]
            .into_iter()
            .flatten()
        {
            text.push(' ');
            text.push_str(part);
        }
        text.to_lowercase()
    }

    /// Which world the finding belongs to: what its rule declares with a tag
    /// (`seam.domain.physical`, `seam.domain.cyber`, `seam.domain.cross-domain`), else what
    /// the words of its rule id say. Reports count the cross-domain ones.
    pub fn domain(&self) -> Domain {
        self.declared_domain
            .unwrap_or_else(|| Domain::of_rule(&self.rule))
    }
}

/// Which world a finding belongs to, by its rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Domain {
    Physical,
    Cyber,
    /// Joins a physical and a cyber fact (a sign-in while badged in elsewhere).
    CrossDomain,
}

impl Domain {
    pub fn as_str(self) -> &'static str {
        match self {
            Domain::Physical => "physical",
            Domain::Cyber => "cyber",
            Domain::CrossDomain => "cross-domain",
        }
    }

    /// A rule's domain, from the words of its id: Seam's rule ids name what they join
    /// (`seam.remote-login-while-badged-in`, `seam.tailgating`, `seam.impossible-travel`).
    pub fn of_rule(rule: &str) -> Domain {
        let rule = rule.to_ascii_lowercase();
        let has = |words: &[&str]| words.iter().any(|w| rule.contains(w));
        let physical = has(&[
            "badge",
            "door",
            "tailgat",
            "passback",
            "zone",
            "occupancy",
            "visitor",
            "controller",
            "presence",
            "badged",
            "physical",
            "on-site",
            "onsite",
            "camera",
            "after-hours-entry",
            "forced",
            "propped",
        ]);
        let cyber = has(&[
            "login",
            "sign-in",
            "signin",
            "vpn",
            "mfa",
            "okta",
            "entra",
            "azure",
            "network",
            "port",
            "wifi",
            "wi-fi",
            "exfil",
            "dhcp",
            "account",
            "session",
            "host",
            "workstation",
            "credential",
            "flow",
            "rdp",
            "ssh",
            "device",
            "nac",
            "travel",
        ]);
        match (physical, cyber) {
            (true, true) => Domain::CrossDomain,
            (true, false) => Domain::Physical,
            _ => Domain::Cyber,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FINDING: &str = r#"{"time":1772433030000,"severity_id":3,"severity":"Medium",
        "message":"a badge was granted into hq-office but nobody went through",
        "finding_info":{"uid":"f1","title":"Badge granted, nobody went through",
          "types":["attack.t1078","seam.domain.physical"],
          "analytic":{"uid":"seam.badge-granted-no-passage"},
          "related_events":[{"uid":"e1"},{"uid":"e2"}]},
        "evidences":[{"user":{"uid":"bob","name":"Bob"}},{"data":{"zone.id":"hq-office","asset.id":"hq-ws-1"}}],
        "unmapped":{"rule_kind":"detection","count":1}}"#;

    #[test]
    fn facts_come_from_the_rule_key_and_the_evidence() {
        let facts = FindingFacts::from_json(FINDING).unwrap();
        assert_eq!(facts.uid, "f1");
        assert_eq!(facts.rule, "seam.badge-granted-no-passage");
        assert_eq!(facts.time, 1_772_433_030_000);
        assert_eq!(facts.severity_id, 3);
        assert_eq!(facts.person.as_deref(), Some("bob"));
        assert_eq!(facts.zone.as_deref(), Some("hq-office"));
        assert_eq!(facts.asset.as_deref(), Some("hq-ws-1"));
        assert_eq!(facts.events, ["e1", "e2"]);
        assert!(facts.search_text().contains("nobody went through"));
        assert_eq!(facts.domain(), Domain::Physical);
    }

    #[test]
    fn names_longer_than_any_id_are_not_kept() {
        let long = "z".repeat(crate::MAX_ID_BYTES + 1);
        let json = serde_json::json!({
            "finding_info": {"uid": "f", "analytic": {"uid": "r"}},
            "evidences": [{"data": {"zone.id": long, "asset.id": "ws-1"}, "user": {"uid": long}}],
            "unmapped": {"person_uid": long},
        });
        let facts = FindingFacts::from_value(&json).unwrap();
        assert_eq!(facts.zone, None);
        assert_eq!(facts.person, None);
        assert_eq!(facts.asset.as_deref(), Some("ws-1"));
    }

    #[test]
    fn what_is_not_a_finding_has_no_facts() {
        assert_eq!(FindingFacts::from_json("not json"), None);
        assert_eq!(FindingFacts::from_json("{}"), None);
        assert_eq!(FindingFacts::from_json(r#"{"finding_info":{}}"#), None);
    }

    #[test]
    fn rules_fall_in_a_domain_by_what_they_join() {
        assert_eq!(Domain::of_rule("seam.tailgating"), Domain::Physical);
        assert_eq!(Domain::of_rule("okta-mfa-fatigue"), Domain::Cyber);
        assert_eq!(
            Domain::of_rule("seam.remote-login-while-badged-in"),
            Domain::CrossDomain
        );
    }
}
