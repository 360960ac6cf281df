//! The example estate, the default rule pack and the scripted demo day, built into the binary
//! so that `seam demo` runs anywhere, from any directory, with nothing else installed.

use seam_estate::EstateFile;
use seam_rules::SourceFile;

macro_rules! files {
    ($root:literal: $($name:literal),+ $(,)?) => {
        &[$(($name, include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../../", $root, "/", $name)))),+]
    };
}

/// The default rule pack (`rules/`), file name and text.
pub const RULES: &[(&str, &str)] = files!("rules":
    "after-hours-server-room-privileged.yml",
    "anti-passback.yml",
    "badge-and-signin-failure-burst.yml",
    "badge-granted-nobody-entered.yml",
    "badge-while-remote.yml",
    "booked-room-remote-signin.yml",
    "contractor-outside-window.yml",
    "controller-down-door-forced.yml",
    "decommissioned-site-badge.yml",
    "exfil-owner-elsewhere.yml",
    "exit-without-entry.yml",
    "impossible-travel.yml",
    "inactive-person-credential.yml",
    "network-in-secure-zone-without-badge.yml",
    "noncompliant-device-busy-zone.yml",
    "onsite-offsite-signin.yml",
    "onsite-resource-offsite.yml",
    "rogue-device-empty-zone.yml",
    "server-console-no-badge.yml",
    "server-signin-failure-burst.yml",
    "tailgating-occupancy.yml",
    "upload-unusual-destination-owner-away.yml",
    "visitor-overstay.yml",
    "wifi-without-badge.yml",
    "wired-nac-failures.yml",
);

/// The example estate (`examples/estate/`).
pub const ESTATE: &[(&str, &str)] = files!("examples/estate":
    "assets.toml",
    "networks.toml",
    "people.toml",
    "sites.toml",
);

/// The scripted day and which events belong to which attack.
pub const DEMO_DAY: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../examples/demo/day.ndjson"
));
pub const DEMO_EXPECTED: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../examples/demo/expected.json"
));

pub fn rule_files() -> Vec<SourceFile> {
    RULES
        .iter()
        .map(|(name, text)| SourceFile {
            path: format!("rules/{name}"),
            text: (*text).to_string(),
        })
        .collect()
}

pub fn estate_files() -> Vec<EstateFile> {
    ESTATE
        .iter()
        .map(|(name, text)| EstateFile {
            path: format!("examples/estate/{name}"),
            text: (*text).to_string(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listed(folder: &str, extensions: &[&str]) -> Vec<String> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../..")
            .join(folder);
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|name| extensions.iter().any(|ext| name.ends_with(ext)))
            .collect();
        names.sort();
        names
    }

    #[test]
    fn every_rule_and_estate_file_is_embedded() {
        let rules: Vec<String> = RULES.iter().map(|(name, _)| name.to_string()).collect();
        assert_eq!(
            rules,
            listed("rules", &[".yml", ".yaml"]),
            "update RULES in embedded.rs"
        );
        let estate: Vec<String> = ESTATE.iter().map(|(name, _)| name.to_string()).collect();
        assert_eq!(
            estate,
            listed("examples/estate", &[".toml"]),
            "update ESTATE in embedded.rs"
        );
    }
}
