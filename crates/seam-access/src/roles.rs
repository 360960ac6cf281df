//! The six roles. A user or token holds one or more; what each may do is in
//! [`crate::permissions_of`].

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// Runs Seam: users, tokens, configuration, rules, and every read.
    Admin,
    /// Cyber security operations: findings, events, rules, cases, responses.
    SocAnalyst,
    /// Physical security operations (global security operations centre): findings, people
    /// by name, cases, responses.
    GsocOperator,
    /// Works cases: findings, events, people by name, subject exports; no live stream.
    Investigator,
    /// Reads everything that shows how Seam is run and used, the audit log included; changes
    /// nothing and sees people only as pseudonyms.
    Auditor,
    /// A machine: pushes events and directory changes, and lets a scraper read the metrics.
    Integration,
}

impl Role {
    pub const ALL: [Role; 6] = [
        Role::Admin,
        Role::SocAnalyst,
        Role::GsocOperator,
        Role::Investigator,
        Role::Auditor,
        Role::Integration,
    ];

    /// The name as written in configuration, documents and on the command line.
    pub const fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::SocAnalyst => "soc-analyst",
            Role::GsocOperator => "gsoc-operator",
            Role::Investigator => "investigator",
            Role::Auditor => "auditor",
            Role::Integration => "integration",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A role name that is not one of the six.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown role `{name}`; known: admin, soc-analyst, gsoc-operator, investigator, auditor, integration"
)]
pub struct UnknownRole {
    pub name: String,
}

impl FromStr for Role {
    type Err = UnknownRole;

    fn from_str(name: &str) -> Result<Role, UnknownRole> {
        Role::ALL
            .into_iter()
            .find(|role| role.as_str() == name)
            .ok_or_else(|| UnknownRole {
                name: name.chars().take(64).collect(),
            })
    }
}

/// Sorted and without repeats: one spelling per set of roles in documents and answers.
pub(crate) fn normalize_roles(roles: &[Role]) -> Vec<Role> {
    let mut roles = roles.to_vec();
    roles.sort_unstable();
    roles.dedup();
    roles
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_text_and_serde() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>(), Ok(role));
            let json = serde_json::to_string(&role).unwrap();
            assert_eq!(json, format!("\"{}\"", role.as_str()));
            assert_eq!(serde_json::from_str::<Role>(&json).unwrap(), role);
        }
        assert_eq!(
            "Admin".parse::<Role>().unwrap_err().to_string(),
            "unknown role `Admin`; known: admin, soc-analyst, gsoc-operator, investigator, auditor, integration"
        );
        assert!(serde_json::from_str::<Role>("\"soc_analyst\"").is_err());
    }
}
