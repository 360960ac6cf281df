//! A case's timeline: the events of its people, assets and zones over its span (read from the
//! event log by the caller), its findings, and the team's actions, merged in time order.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::case::Case;

/// What a timeline entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    Event,
    Finding,
    Action,
}

/// One line of a timeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// Event time for events and findings, wall time for the team's actions (ms).
    pub time: i64,
    pub kind: EntryKind,
    /// The event's class (`badge`, `sign_in`, …), the finding's rule, or who acted.
    pub label: String,
    /// One line for a person to read.
    pub summary: String,
    /// The event's or finding's uid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub person: Option<String>,
}

/// The most entries one timeline holds; the caller reads at most this many events.
pub const MAX_ENTRIES: usize = 20_000;

/// Whether a stored event (its JSON) concerns a case: its person, one of its assets, its
/// zones, or one of its linked events.
pub fn concerns(case: &Case, uid: &str, person: Option<&str>, event: &Value) -> bool {
    if case.links.events.contains(uid) {
        return true;
    }
    if person.is_some_and(|p| case.links.people.contains(p)) {
        return true;
    }
    let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_string);
    let places = [
        text(event.get("zone")),
        text(event.get("zone_id")),
        text(event.pointer("/physical/zone")),
        text(event.pointer("/location/zone")),
    ];
    if places
        .iter()
        .flatten()
        .any(|z| case.links.zones.contains(z))
    {
        return true;
    }
    let assets = [
        text(event.get("asset")),
        text(event.pointer("/device/uid")),
        text(event.pointer("/device/hostname")),
        text(event.pointer("/device/name")),
    ];
    assets
        .iter()
        .flatten()
        .any(|a| case.links.assets.contains(a))
}

/// A one-line summary of an event, from the fields most events carry.
pub fn event_summary(event: &Value) -> String {
    let field = |name: &str| event.get(name).and_then(Value::as_str).unwrap_or_default();
    let mut summary = String::new();
    for part in [
        field("class"),
        field("activity"),
        field("outcome"),
        field("source"),
    ] {
        if !part.is_empty() {
            if !summary.is_empty() {
                summary.push(' ');
            }
            summary.push_str(part);
        }
    }
    if let Some(message) = event.get("message").and_then(Value::as_str) {
        summary.push_str(": ");
        summary.extend(message.chars().take(200));
    }
    summary
}

/// A stored event (its resolved person and JSON) as a timeline entry; `None` when the JSON
/// does not read.
pub fn event_entry(person: Option<String>, json: &str) -> Option<Entry> {
    let value: Value = serde_json::from_str(json).ok()?;
    Some(Entry {
        time: value
            .get("time")
            .and_then(Value::as_str)
            .and_then(|t| seam_model::Ts::parse(t).ok())
            .map_or(0, seam_model::Ts::millis),
        kind: EntryKind::Event,
        label: value
            .get("class")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
        summary: event_summary(&value),
        uid: value.get("uid").and_then(Value::as_str).map(str::to_string),
        person,
    })
}

/// A finding's JSON as a timeline entry.
pub fn finding_entry(finding: &Value) -> Option<Entry> {
    let facts = crate::facts::FindingFacts::from_value(finding)?;
    Some(Entry {
        time: facts.time,
        kind: EntryKind::Finding,
        label: facts.rule,
        summary: facts.message,
        uid: Some(facts.uid),
        person: facts.person,
    })
}

/// Merges events, findings and actions in time order (kind, then uid, breaking ties), at
/// most [`MAX_ENTRIES`].
pub fn merge(case: &Case, mut events: Vec<Entry>, findings: Vec<Entry>) -> Vec<Entry> {
    events.extend(findings);
    events.extend(case.activity.iter().map(|a| Entry {
        time: a.at,
        kind: EntryKind::Action,
        label: a.by.clone(),
        summary: a.what.clone(),
        uid: None,
        person: None,
    }));
    events.extend(case.notes.iter().map(|n| Entry {
        time: n.at,
        kind: EntryKind::Action,
        label: n.by.clone(),
        summary: format!("note: {}", n.text.chars().take(200).collect::<String>()),
        uid: None,
        person: None,
    }));
    events.sort_by(|a, b| {
        (a.time, a.kind, &a.uid, &a.summary).cmp(&(b.time, b.kind, &b.uid, &b.summary))
    });
    events.truncate(MAX_ENTRIES);
    events
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::case::{CaseDraft, Links};

    fn case() -> Case {
        let mut links = Links::default();
        links.people.insert("bob".into());
        links.zones.insert("lab".into());
        Case::open(
            "C-1".into(),
            CaseDraft {
                title: "t".into(),
                links,
                ..CaseDraft::default()
            },
            Vec::new(),
            "ann",
            50,
        )
        .unwrap()
    }

    fn entry(time: i64, kind: EntryKind, uid: &str) -> Entry {
        Entry {
            time,
            kind,
            label: String::new(),
            summary: String::new(),
            uid: Some(uid.into()),
            person: None,
        }
    }

    #[test]
    fn entries_merge_in_time_order() {
        let merged = merge(
            &case(),
            vec![
                entry(100, EntryKind::Event, "e2"),
                entry(10, EntryKind::Event, "e1"),
            ],
            vec![entry(100, EntryKind::Finding, "f1")],
        );
        let order: Vec<_> = merged.iter().map(|e| (e.time, e.kind)).collect();
        assert_eq!(
            order,
            [
                (10, EntryKind::Event),
                (50, EntryKind::Action),
                (100, EntryKind::Event),
                (100, EntryKind::Finding)
            ]
        );
    }

    #[test]
    fn an_event_concerns_a_case_by_person_zone_asset_or_link() {
        let c = case();
        let none = serde_json::json!({});
        assert!(concerns(&c, "e", Some("bob"), &none));
        assert!(!concerns(&c, "e", Some("eve"), &none));
        assert!(concerns(&c, "e", None, &serde_json::json!({"zone": "lab"})));
    }
}
