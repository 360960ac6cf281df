//! Findings leave Seam as OCSF Detection Findings (class_uid 2004).
//!
//! The struct mirrors the OCSF attribute names so that `serde_json` writes the wire format
//! directly; Seam-specific facts that OCSF has no attribute for sit under `unmapped`.

use serde::{Deserialize, Serialize};

use crate::Ts;

/// OCSF severity ids, from a rule's Sigma `level`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Informational,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub fn from_level(level: &str) -> Severity {
        match level {
            "critical" => Severity::Critical,
            "high" => Severity::High,
            "medium" => Severity::Medium,
            "low" => Severity::Low,
            _ => Severity::Informational,
        }
    }

    pub fn ocsf_id(self) -> u8 {
        match self {
            Severity::Informational => 1,
            Severity::Low => 2,
            Severity::Medium => 3,
            Severity::High => 4,
            Severity::Critical => 5,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Severity::Informational => "Informational",
            Severity::Low => "Low",
            Severity::Medium => "Medium",
            Severity::High => "High",
            Severity::Critical => "Critical",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Analytic {
    /// The rule id.
    pub uid: String,
    pub name: String,
    pub type_id: u8,
    #[serde(rename = "type")]
    pub type_name: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RelatedEvent {
    pub uid: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FindingInfo {
    /// Stable: the same input always gives the same id, so stores dedupe replays.
    pub uid: String,
    pub title: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub desc: String,
    pub analytic: Analytic,
    pub first_seen_time: i64,
    pub last_seen_time: i64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub types: Vec<String>,
    pub related_events: Vec<RelatedEvent>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UserRef {
    pub uid: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<UserRef>,
    /// The correlation's group-by values, the rule's key (person, zone, door, device, site).
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub data: serde_json::Map<String, serde_json::Value>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProductRef {
    pub name: String,
    pub vendor_name: String,
    pub version: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Metadata {
    pub version: String,
    pub product: ProductRef,
}

/// Seam facts with no OCSF attribute.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SeamFacts {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub person_uid: Option<String>,
    /// Rule authors, kept on every finding (Sigma's Detection Rule License asks for it).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub rule_author: String,
    pub rule_kind: String,
    /// Found on an event later than the allowed lateness (single-event rules only).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub late: bool,
    pub count: u64,
    /// The approved change request that covered the matched activity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change: Option<String>,
}

/// One OCSF Detection Finding.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    pub class_uid: u32,
    pub class_name: String,
    pub category_uid: u32,
    pub category_name: String,
    pub activity_id: u8,
    pub activity_name: String,
    pub type_uid: u32,
    /// Event time of the finding in ms (OCSF `timestamp_t`).
    pub time: i64,
    pub time_dt: Ts,
    pub severity_id: u8,
    pub severity: String,
    pub status_id: u8,
    pub status: String,
    /// The plain-language explanation of why it fired.
    pub message: String,
    pub finding_info: FindingInfo,
    pub evidences: Vec<Evidence>,
    pub metadata: Metadata,
    pub unmapped: SeamFacts,
}

/// What a rule match says, before it is dressed as OCSF.
#[derive(Clone, Debug, PartialEq)]
pub struct FindingParts {
    pub uid: String,
    pub rule_id: String,
    pub rule_title: String,
    pub rule_description: String,
    pub rule_author: String,
    pub rule_kind: String,
    pub tags: Vec<String>,
    pub severity: Severity,
    pub time: Ts,
    pub first_seen: Ts,
    pub person_uid: Option<String>,
    pub person_name: Option<String>,
    pub group: Vec<(String, String)>,
    pub evidence: Vec<String>,
    pub explanation: String,
    pub late: bool,
    pub count: u64,
    pub change: Option<String>,
}

pub const OCSF_VERSION: &str = "1.4.0";

impl Finding {
    pub fn new(parts: FindingParts) -> Finding {
        let mut data = serde_json::Map::new();
        for (name, value) in parts.group {
            data.insert(name, serde_json::Value::String(value));
        }
        let user = parts.person_uid.clone().map(|uid| UserRef {
            uid,
            name: parts.person_name.clone(),
        });
        Finding {
            class_uid: 2004,
            class_name: "Detection Finding".into(),
            category_uid: 2,
            category_name: "Findings".into(),
            activity_id: 1,
            activity_name: "Create".into(),
            type_uid: 200_401,
            time: parts.time.millis(),
            time_dt: parts.time,
            severity_id: parts.severity.ocsf_id(),
            severity: parts.severity.name().into(),
            status_id: 1,
            status: "New".into(),
            message: parts.explanation,
            finding_info: FindingInfo {
                uid: parts.uid,
                title: parts.rule_title.clone(),
                desc: parts.rule_description,
                analytic: Analytic {
                    uid: parts.rule_id,
                    name: parts.rule_title,
                    type_id: 1,
                    type_name: "Rule".into(),
                },
                first_seen_time: parts.first_seen.millis(),
                last_seen_time: parts.time.millis(),
                types: parts.tags,
                related_events: parts
                    .evidence
                    .into_iter()
                    .map(|uid| RelatedEvent { uid })
                    .collect(),
            },
            evidences: vec![Evidence { user, data }],
            metadata: Metadata {
                version: OCSF_VERSION.into(),
                product: ProductRef {
                    name: "Seam".into(),
                    vendor_name: "Seam".into(),
                    version: env!("CARGO_PKG_VERSION").into(),
                },
            },
            unmapped: SeamFacts {
                person_uid: parts.person_uid,
                rule_author: parts.rule_author,
                rule_kind: parts.rule_kind,
                late: parts.late,
                count: parts.count,
                change: parts.change,
            },
        }
    }

    pub fn rule_id(&self) -> &str {
        &self.finding_info.analytic.uid
    }

    pub fn uid(&self) -> &str {
        &self.finding_info.uid
    }

    pub fn person_uid(&self) -> Option<&str> {
        self.unmapped.person_uid.as_deref()
    }
}
