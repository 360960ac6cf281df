//! Response procedures as data: case types, each naming the findings that open it, the tasks
//! it gives the physical and the cyber team with their due times, and the targets to
//! acknowledge and to close. A forced door opens "check the network ports and devices in that
//! zone" for cyber; a compromised account opens "check where that person's badge went" for
//! physical. The defaults below are data too, and a configuration replaces them.

use serde::{Deserialize, Serialize};

use crate::case::{Task, TaskStatus};
use crate::triage::Team;

/// The case types shipped with Seam, in the format a configuration uses.
pub const DEFAULT_PROCEDURES: &str = include_str!("procedures.toml");

/// One task a case type gives a team.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskTemplate {
    pub team: Team,
    pub title: String,
    /// Due this many minutes after the case opens.
    pub due_minutes: u32,
}

/// One case type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseType {
    pub id: String,
    pub name: String,
    /// The rule ids whose findings open a case of this type.
    #[serde(default)]
    pub rules: Vec<String>,
    /// Target time to acknowledge (leave `open`), in minutes.
    pub acknowledge_minutes: u32,
    /// Target time to close, in hours.
    pub close_hours: u32,
    #[serde(default)]
    pub tasks: Vec<TaskTemplate>,
}

/// Every case type of an installation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Procedures {
    #[serde(rename = "case_type", default)]
    pub types: Vec<CaseType>,
}

impl Default for Procedures {
    fn default() -> Self {
        // The shipped file is checked by a test; should it ever fail to read, no types is the
        // safe answer (cases still open by hand).
        Procedures::parse(DEFAULT_PROCEDURES).unwrap_or(Procedures { types: Vec::new() })
    }
}

impl Procedures {
    /// Reads case types from TOML (`[[case_type]]` tables), checking them.
    pub fn parse(text: &str) -> Result<Procedures, String> {
        let procedures: Procedures = toml::from_str(text).map_err(|e| e.to_string())?;
        procedures.check()?;
        Ok(procedures)
    }

    fn check(&self) -> Result<(), String> {
        let mut seen = std::collections::BTreeSet::new();
        let mut rules = std::collections::BTreeMap::new();
        for kind in &self.types {
            crate::check_id("a case type's id", &kind.id)?;
            crate::check_text("a case type's name", &kind.name)?;
            if !seen.insert(kind.id.as_str()) {
                return Err(format!("case type `{}` is defined twice", kind.id));
            }
            for rule in &kind.rules {
                if let Some(other) = rules.insert(rule.as_str(), kind.id.as_str()) {
                    return Err(format!(
                        "rule `{rule}` opens both case type `{other}` and `{}`",
                        kind.id
                    ));
                }
            }
            if kind.acknowledge_minutes == 0 || kind.close_hours == 0 {
                return Err(format!(
                    "case type `{}`: the targets must be above zero",
                    kind.id
                ));
            }
            for task in &kind.tasks {
                crate::check_text("a task's title", &task.title)?;
            }
        }
        Ok(())
    }

    pub fn get(&self, id: &str) -> Option<&CaseType> {
        self.types.iter().find(|t| t.id == id)
    }

    /// The type the first of these rules (in the order given) opens, if any.
    pub fn for_rules<'a>(&self, rules: impl IntoIterator<Item = &'a str>) -> Option<&CaseType> {
        rules.into_iter().find_map(|rule| {
            self.types
                .iter()
                .find(|t| t.rules.iter().any(|r| r == rule))
        })
    }
}

impl CaseType {
    /// The tasks a case of this type starts with, due from `opened_at` (wall ms).
    pub fn tasks(&self, opened_at: i64) -> Vec<Task> {
        self.tasks
            .iter()
            .zip(1..)
            .map(|(template, id)| Task {
                id,
                team: template.team,
                title: template.title.clone(),
                due_at: Some(opened_at.saturating_add(i64::from(template.due_minutes) * 60_000)),
                status: TaskStatus::Open,
                done_by: None,
                done_at: None,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_procedures_read_and_give_both_teams_work() {
        let procedures = Procedures::parse(DEFAULT_PROCEDURES).unwrap();
        assert!(!procedures.types.is_empty());
        let intrusion = procedures.for_rules(["seam.tailgating-occupancy"]).unwrap();
        let tasks = intrusion.tasks(1_000);
        assert!(tasks.iter().any(|t| t.team == Team::Cyber));
        assert!(tasks.iter().any(|t| t.team == Team::Physical));
        assert_eq!(tasks[0].id, 1);
        assert!(tasks.iter().all(|t| t.due_at.unwrap() > 1_000));
        let account = procedures
            .for_rules(["seam.onsite-offsite-signin"])
            .unwrap();
        assert!(account.tasks(0).iter().any(|t| t.team == Team::Physical));
    }

    #[test]
    fn bad_procedures_are_refused_with_a_reason() {
        let twice = r#"
            [[case_type]]
            id = "a"
            name = "A"
            rules = ["r"]
            acknowledge_minutes = 5
            close_hours = 1
            [[case_type]]
            id = "b"
            name = "B"
            rules = ["r"]
            acknowledge_minutes = 5
            close_hours = 1
        "#;
        assert!(Procedures::parse(twice).unwrap_err().contains("opens both"));
        let unknown = "[[case_type]]\nid = \"a\"\nname = \"A\"\nacknowledge_minutes = 1\nclose_hours = 1\ncolour = 3\n";
        assert!(Procedures::parse(unknown).is_err());
        let team = "[[case_type]]\nid = \"a\"\nname = \"A\"\nacknowledge_minutes = 1\nclose_hours = 1\n[[case_type.tasks]]\nteam = \"legal\"\ntitle = \"x\"\ndue_minutes = 1\n";
        assert!(Procedures::parse(team).is_err());
    }
}
