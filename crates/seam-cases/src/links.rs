//! A case's link view: its entities (people, badges, devices, addresses, zones, findings)
//! and what connects them, as nodes and edges the dashboard draws.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

/// One entity.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Node {
    /// `kind:id`, unique in the graph.
    pub id: String,
    pub kind: String,
    pub label: String,
}

/// Two entities and what connects them.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Edge {
    pub from: String,
    pub to: String,
    /// `used`, `seen_in`, `raised_on`, `shared_event`, …
    pub relation: String,
    /// How many times it was seen.
    pub count: u32,
}

/// The graph.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LinkView {
    pub nodes: Vec<Node>,
    pub edges: Vec<Edge>,
}

/// Builds a link view from observations: each names two entities and a relation.
#[derive(Debug, Default)]
pub struct LinkBuilder {
    nodes: BTreeMap<String, Node>,
    edges: BTreeMap<(String, String, String), u32>,
}

/// The most nodes a view holds; past it, new entities are left out (edges to them too).
pub const MAX_NODES: usize = 2_000;

impl LinkBuilder {
    /// Adds an entity; returns its node id, or `None` when the view is full.
    pub fn node(&mut self, kind: &str, id: &str) -> Option<String> {
        let key = format!("{kind}:{id}");
        if !self.nodes.contains_key(&key) {
            if self.nodes.len() >= MAX_NODES {
                return None;
            }
            self.nodes.insert(
                key.clone(),
                Node {
                    id: key.clone(),
                    kind: kind.to_string(),
                    label: id.to_string(),
                },
            );
        }
        Some(key)
    }

    /// Connects two entities (adding them).
    pub fn link(&mut self, from: (&str, &str), to: (&str, &str), relation: &str) {
        let (Some(a), Some(b)) = (self.node(from.0, from.1), self.node(to.0, to.1)) else {
            return;
        };
        if a == b {
            return;
        }
        let count = self.edges.entry((a, b, relation.to_string())).or_insert(0);
        *count = count.saturating_add(1);
    }

    /// Links every pair of entities one event names (a person, a badge, a device, an address,
    /// a zone): they are connected through that event.
    pub fn event(&mut self, entities: &[(&str, &str)]) {
        let unique: BTreeSet<&(&str, &str)> = entities.iter().collect();
        let unique: Vec<_> = unique.into_iter().collect();
        for (i, a) in unique.iter().enumerate() {
            for b in unique.iter().skip(i + 1) {
                self.link(**a, **b, "shared_event");
            }
        }
    }

    /// A finding and what its key names: the finding connects them.
    pub fn finding(&mut self, facts: &crate::facts::FindingFacts) {
        let mut named: Vec<(&str, &str)> = vec![("finding", facts.uid.as_str())];
        for (kind, value) in [
            ("person", &facts.person),
            ("zone", &facts.zone),
            ("asset", &facts.asset),
            ("door", &facts.door),
        ] {
            if let Some(value) = value {
                named.push((kind, value.as_str()));
            }
        }
        self.event(&named);
    }

    /// A stored event (its resolved person and JSON): the person, badge, account, device,
    /// MAC and address it names, and the place it happened, are connected through it.
    pub fn stored_event(&mut self, person: Option<&str>, event: &serde_json::Value) {
        let text = |pointer: &str| event.pointer(pointer).and_then(serde_json::Value::as_str);
        let mut named: Vec<(&str, &str)> = Vec::new();
        for (kind, value) in [
            ("person", person),
            ("badge", text("/subject/badge")),
            ("account", text("/subject/user")),
            ("device", text("/subject/device")),
            ("mac", text("/subject/mac")),
            ("address", text("/subject/ip")),
            ("zone", text("/zone")),
            ("door", text("/door")),
            ("asset", text("/asset")),
        ] {
            if let Some(value) = value.filter(|v| !v.is_empty() && v.len() <= crate::MAX_ID_BYTES) {
                named.push((kind, value));
            }
        }
        self.event(&named);
    }

    pub fn build(self) -> LinkView {
        LinkView {
            nodes: self.nodes.into_values().collect(),
            edges: self
                .edges
                .into_iter()
                .map(|((from, to, relation), count)| Edge {
                    from,
                    to,
                    relation,
                    count,
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entities_of_one_event_are_connected_once_with_a_count() {
        let mut b = LinkBuilder::default();
        b.event(&[("person", "bob"), ("badge", "123"), ("zone", "lab")]);
        b.event(&[("person", "bob"), ("badge", "123")]);
        let view = b.build();
        assert_eq!(view.nodes.len(), 3);
        let badge = view
            .edges
            .iter()
            .find(|e| e.from == "badge:123" && e.to == "person:bob")
            .unwrap();
        assert_eq!(badge.count, 2);
        assert_eq!(view.edges.len(), 3);
    }

    #[test]
    fn a_stored_event_links_its_person_badge_and_place() {
        let mut b = LinkBuilder::default();
        let event =
            serde_json::json!({"subject": {"badge": "4415", "ip": "10.0.0.7"}, "zone": "lab"});
        b.stored_event(Some("erin"), &event);
        let view = b.build();
        let ids: Vec<&str> = view.nodes.iter().map(|n| n.id.as_str()).collect();
        assert_eq!(
            ids,
            ["address:10.0.0.7", "badge:4415", "person:erin", "zone:lab"]
        );
        assert_eq!(view.edges.len(), 6);
    }
}
