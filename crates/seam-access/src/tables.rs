//! The permission and route tables as Markdown, for the crate documentation and
//! `docs/security.md`; a test keeps the copy in `lib.rs` equal to them.

use std::fmt::Write as _;

use crate::permissions::{Permission, permissions_of};
use crate::roles::Role;
use crate::routes::{ROUTES, SiteScope};

/// The role × permission matrix.
pub fn permission_table() -> String {
    let mut out = String::from("| permission |");
    for role in Role::ALL {
        let _ = write!(out, " {role} |");
    }
    out.push_str("\n|---|");
    for _ in Role::ALL {
        out.push_str(":-:|");
    }
    for permission in Permission::ALL {
        let _ = write!(out, "\n| `{permission}` |");
        for role in Role::ALL {
            let mark = if permissions_of(role).contains(&permission) {
                " ✓ |"
            } else {
                " |"
            };
            out.push_str(mark);
        }
    }
    out.push('\n');
    out
}

/// Every route with what it needs.
pub fn route_table() -> String {
    let mut out =
        String::from("| method | path | permission | sites | what |\n|---|---|---|---|---|");
    for route in ROUTES {
        let permission = match route.permission {
            Some(permission) => format!("`{permission}`"),
            None => "public".to_string(),
        };
        let sites = match route.sites {
            SiteScope::PerSite => "filtered",
            SiteScope::AllSites => "all sites only",
            SiteScope::Unscoped => "—",
        };
        let _ = write!(
            out,
            "\n| {} | `{}` | {permission} | {sites} | {} |",
            route.method, route.path, route.about
        );
    }
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The crate documentation, without its `//! ` prefixes.
    fn crate_docs() -> String {
        include_str!("lib.rs")
            .lines()
            .filter_map(|line| line.strip_prefix("//!"))
            .map(|line| line.strip_prefix(' ').unwrap_or(line))
            .map(|line| format!("{line}\n"))
            .collect()
    }

    #[test]
    fn the_crate_documentation_shows_the_tables_in_code() {
        let docs = crate_docs();
        let permissions = permission_table();
        let routes = route_table();
        assert!(
            docs.contains(&permissions),
            "lib.rs's permission table differs from the code; it should read:\n{permissions}"
        );
        assert!(
            docs.contains(&routes),
            "lib.rs's route table differs from the code; it should read:\n{routes}"
        );
        let security = include_str!("../../../docs/security.md");
        assert!(
            security.contains(&permissions) && security.contains(&routes),
            "docs/security.md's tables differ from the code; they should read:\n{permissions}\n{routes}"
        );
    }
}
