//! What each role may do: one table, [`permissions_of`], read by every route decision.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::roles::Role;

/// One thing a principal may do. Routes name the permission they need ([`crate::ROUTES`]);
/// features without a route yet (triage, cases, responses, people, erasure) are here so that
/// the table is designed once and their routes only point at it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Permission {
    /// See one's own account and end one's own session.
    OwnAccount,
    /// Push events to `/v1/ingest/{source}`.
    IngestEvents,
    /// Provision users and groups over SCIM.
    ProvisionDirectory,
    /// Scrape `/metrics`.
    ReadMetrics,
    ReadFindings,
    /// Hold a live stream of findings open.
    StreamFindings,
    /// Acknowledge, assign, suppress and close findings.
    TriageFindings,
    /// Search stored events.
    ReadEvents,
    /// Read rejected records; they hold the raw bytes a source sent.
    ReadDeadLetters,
    /// Read people's directory records and whereabouts, under pseudonyms.
    ReadPeople,
    /// See people by name everywhere (need-to-know: those who act on people). Without it,
    /// people appear as keyed pseudonyms.
    SeeNames,
    /// Resolve one pseudonym to the person's name for a while, stating a reason; the caller
    /// audits every reveal.
    RevealNames,
    /// Read the estate: sites, zones, doors, networks, assets, and rule coverage.
    ReadEstate,
    ReadRules,
    /// Add, change, enable and disable rules.
    ManageRules,
    ReadCases,
    /// Open, update and close cases.
    ManageCases,
    /// Propose a response (lock an account, suspend a badge, isolate a host).
    ProposeResponses,
    /// Approve a proposed response; never one's own (the caller checks who proposed it).
    ApproveResponses,
    /// Verify the audit log and read its records.
    ReadAudit,
    /// Export a self-proving extract of the audit log.
    ExportAudit,
    ReadUsers,
    /// Add, change and disable users; set roles, sites and passwords.
    ManageUsers,
    ReadTokens,
    /// Create and revoke API tokens.
    ManageTokens,
    ReadConfig,
    /// Change sources, estate, retention and the service's settings.
    ManageConfig,
    /// Export everything held about one person (a data subject's access request).
    ExportSubject,
    /// Erase a person's data (the right to erasure).
    EraseSubject,
}

impl Permission {
    pub const ALL: [Permission; 29] = [
        Permission::OwnAccount,
        Permission::IngestEvents,
        Permission::ProvisionDirectory,
        Permission::ReadMetrics,
        Permission::ReadFindings,
        Permission::StreamFindings,
        Permission::TriageFindings,
        Permission::ReadEvents,
        Permission::ReadDeadLetters,
        Permission::ReadPeople,
        Permission::SeeNames,
        Permission::RevealNames,
        Permission::ReadEstate,
        Permission::ReadRules,
        Permission::ManageRules,
        Permission::ReadCases,
        Permission::ManageCases,
        Permission::ProposeResponses,
        Permission::ApproveResponses,
        Permission::ReadAudit,
        Permission::ExportAudit,
        Permission::ReadUsers,
        Permission::ManageUsers,
        Permission::ReadTokens,
        Permission::ManageTokens,
        Permission::ReadConfig,
        Permission::ManageConfig,
        Permission::ExportSubject,
        Permission::EraseSubject,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Permission::OwnAccount => "own-account",
            Permission::IngestEvents => "ingest-events",
            Permission::ProvisionDirectory => "provision-directory",
            Permission::ReadMetrics => "read-metrics",
            Permission::ReadFindings => "read-findings",
            Permission::StreamFindings => "stream-findings",
            Permission::TriageFindings => "triage-findings",
            Permission::ReadEvents => "read-events",
            Permission::ReadDeadLetters => "read-dead-letters",
            Permission::ReadPeople => "read-people",
            Permission::SeeNames => "see-names",
            Permission::RevealNames => "reveal-names",
            Permission::ReadEstate => "read-estate",
            Permission::ReadRules => "read-rules",
            Permission::ManageRules => "manage-rules",
            Permission::ReadCases => "read-cases",
            Permission::ManageCases => "manage-cases",
            Permission::ProposeResponses => "propose-responses",
            Permission::ApproveResponses => "approve-responses",
            Permission::ReadAudit => "read-audit",
            Permission::ExportAudit => "export-audit",
            Permission::ReadUsers => "read-users",
            Permission::ManageUsers => "manage-users",
            Permission::ReadTokens => "read-tokens",
            Permission::ManageTokens => "manage-tokens",
            Permission::ReadConfig => "read-config",
            Permission::ManageConfig => "manage-config",
            Permission::ExportSubject => "export-subject",
            Permission::EraseSubject => "erase-subject",
        }
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

use Permission as P;

const ADMIN: &[Permission] = &Permission::ALL;

const SOC_ANALYST: &[Permission] = &[
    P::OwnAccount,
    P::ReadMetrics,
    P::ReadFindings,
    P::StreamFindings,
    P::TriageFindings,
    P::ReadEvents,
    P::ReadDeadLetters,
    P::ReadPeople,
    P::RevealNames,
    P::ReadEstate,
    P::ReadRules,
    P::ManageRules,
    P::ReadCases,
    P::ManageCases,
    P::ProposeResponses,
    P::ApproveResponses,
];

const GSOC_OPERATOR: &[Permission] = &[
    P::OwnAccount,
    P::ReadMetrics,
    P::ReadFindings,
    P::StreamFindings,
    P::TriageFindings,
    P::ReadEvents,
    P::ReadPeople,
    P::SeeNames,
    P::RevealNames,
    P::ReadEstate,
    P::ReadRules,
    P::ReadCases,
    P::ManageCases,
    P::ProposeResponses,
    P::ApproveResponses,
];

const INVESTIGATOR: &[Permission] = &[
    P::OwnAccount,
    P::ReadFindings,
    P::TriageFindings,
    P::ReadEvents,
    P::ReadPeople,
    P::SeeNames,
    P::RevealNames,
    P::ReadEstate,
    P::ReadRules,
    P::ReadCases,
    P::ManageCases,
    P::ProposeResponses,
];

const AUDITOR: &[Permission] = &[
    P::OwnAccount,
    P::ReadMetrics,
    P::ReadFindings,
    P::ReadEstate,
    P::ReadRules,
    P::ReadCases,
    P::ReadAudit,
    P::ExportAudit,
    P::ReadUsers,
    P::ReadTokens,
    P::ReadConfig,
];

const INTEGRATION: &[Permission] = &[
    P::OwnAccount,
    P::IngestEvents,
    P::ProvisionDirectory,
    P::ReadMetrics,
];

/// The permission table: everything a role allows.
pub const fn permissions_of(role: Role) -> &'static [Permission] {
    match role {
        Role::Admin => ADMIN,
        Role::SocAnalyst => SOC_ANALYST,
        Role::GsocOperator => GSOC_OPERATOR,
        Role::Investigator => INVESTIGATOR,
        Role::Auditor => AUDITOR,
        Role::Integration => INTEGRATION,
    }
}

/// Whether any of `roles` allows `permission`. No roles allow nothing.
pub fn allows(roles: &[Role], permission: Permission) -> bool {
    roles
        .iter()
        .any(|&role| permissions_of(role).contains(&permission))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_lists_every_permission_once_in_declaration_order() {
        let mut sorted = Permission::ALL.to_vec();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted, Permission::ALL.to_vec());
        for permission in Permission::ALL {
            let json = serde_json::to_string(&permission).unwrap();
            assert_eq!(json, format!("\"{}\"", permission.as_str()));
        }
    }

    #[test]
    fn every_role_table_is_sorted_without_repeats() {
        for role in Role::ALL {
            let table = permissions_of(role);
            assert!(table.windows(2).all(|pair| pair[0] < pair[1]), "{role}");
        }
    }

    #[test]
    fn separation_of_duties() {
        // Only admins change who may do what.
        for permission in [P::ManageUsers, P::ManageTokens, P::ManageConfig] {
            let holders: Vec<Role> = Role::ALL
                .into_iter()
                .filter(|&role| allows(&[role], permission))
                .collect();
            assert_eq!(holders, [Role::Admin], "{permission}");
        }
        // The auditor changes nothing and sees no names.
        for permission in Permission::ALL {
            let writes = matches!(
                permission,
                P::IngestEvents
                    | P::ProvisionDirectory
                    | P::TriageFindings
                    | P::ManageRules
                    | P::ManageCases
                    | P::ProposeResponses
                    | P::ApproveResponses
                    | P::ManageUsers
                    | P::ManageTokens
                    | P::ManageConfig
                    | P::EraseSubject
                    | P::RevealNames
            );
            if writes {
                assert!(!allows(&[Role::Auditor], permission), "{permission}");
            }
        }
        // The machine role reads nothing about people, findings or the audit.
        for permission in [
            P::ReadFindings,
            P::ReadEvents,
            P::ReadPeople,
            P::ReadAudit,
            P::ReadDeadLetters,
        ] {
            assert!(!allows(&[Role::Integration], permission), "{permission}");
        }
        assert!(!allows(&[], P::OwnAccount));
        assert!(allows(&[Role::Auditor, Role::Integration], P::IngestEvents));
    }
}
