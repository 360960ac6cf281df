//! A change to the directory, as a system of record states it: the identity provider through
//! SCIM, an HR export, the access-control system's cardholder database.
//!
//! A change is carried by an event of class `directory` and takes effect at the event's time,
//! so the engine applies it in event-time order like any other event and a replay resolves old
//! events as they resolved then. Only what the source states is set: an absent attribute is
//! left as it was.

use serde::{Deserialize, Serialize};

use crate::Ts;

/// What one source says of one person at one instant.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DirectoryDelta {
    /// The person's directory id; a person not in the directory yet is created.
    pub person: String,
    /// The record's own id at the source (a SCIM resource id, an employee number, a
    /// cardholder id), kept in the person's history.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_ref: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `employee`, `contractor`, `visitor` or `service`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// `active`, `suspended` or `terminated`, from `status_from` (or the change's time,
    /// whichever is later: a change never rewrites the past).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// When the status takes effect, if later than the change (a leaver's last day).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_from: Option<Ts>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
    /// The manager's directory id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manager: Option<String>,
    /// A site id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub home_site: Option<String>,
    /// The whole set of roles, replacing the person's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roles: Option<Vec<String>>,
    /// The whole set of zone clearances (zone ids), replacing the person's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clearances: Option<Vec<String>>,
    /// A contractor's contract or a visitor's visit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<DeltaWindow>,
    /// Identifiers the person holds from the change on (or from their own `from`, if later).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub identifiers: Vec<DeltaIdentifier>,
    /// Identifier kinds this change states completely: what the person holds of such a kind
    /// and the change does not list ends at the change's time.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub replaces: Vec<String>,
}

/// An identifier as a change states it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeltaIdentifier {
    /// `badge`, `upn`, `email`, `okta`, `entra`, `username`, `device` or `mac`.
    pub kind: String,
    pub value: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<Ts>,
    /// Exclusive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<Ts>,
}

/// A window with open ends where absent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeltaWindow {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<Ts>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<Ts>,
}

impl DirectoryDelta {
    /// A delta for `person` that changes nothing yet.
    pub fn for_person(person: impl Into<String>) -> DirectoryDelta {
        DirectoryDelta {
            person: person.into(),
            ..DirectoryDelta::default()
        }
    }
}

/// Edited estate files whose places (sites, zones, doors, access points, ports, networks,
/// assets, resources) take effect while running, carried whole so that a replay of the log
/// sees the same places. People are not in them: they change through [`DirectoryDelta`]s.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EstatePlaces {
    pub files: Vec<PlacesFile>,
}

/// One estate file's text, its people left out.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlacesFile {
    pub path: String,
    pub text: String,
}
