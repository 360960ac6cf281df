//! Where a finding belongs: the site its rule's key names (a site, a zone's site, a door's
//! site), else its person's home site. Site-limited callers see a finding only through this,
//! and the workspace files each finding under it.

use seam_cases::FindingFacts;
use seam_estate::Estate;

/// The site a finding concerns, if any.
pub(crate) fn site_of(estate: &Estate, facts: &FindingFacts) -> Option<String> {
    let site = facts
        .site
        .as_deref()
        .and_then(|s| estate.site_idx(s))
        .or_else(|| {
            facts
                .zone
                .as_deref()
                .and_then(|z| estate.zone_idx(z))
                .map(|z| estate.zone(z).site)
        })
        .or_else(|| {
            facts
                .door
                .as_deref()
                .and_then(|d| estate.door_idx(d))
                .map(|d| estate.door(d).site)
        })
        .or_else(|| {
            facts
                .person
                .as_deref()
                .and_then(|p| estate.person_idx(p))
                .and_then(|p| estate.person(p).home_site)
        })?;
    Some(estate.site(site).id.clone())
}

/// The sites of a finding's JSON (none when it is not a finding or names no site).
pub(crate) fn sites_of_json(estate: &Estate, finding: &serde_json::Value) -> Vec<String> {
    FindingFacts::from_value(finding)
        .and_then(|facts| site_of(estate, &facts))
        .into_iter()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn estate() -> Estate {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/estate");
        Estate::load_dir(&root).unwrap_or_else(|errors| panic!("{errors:?}"))
    }

    fn finding(data: serde_json::Value, person: Option<&str>) -> serde_json::Value {
        serde_json::json!({
            "finding_info": {"uid": "f", "analytic": {"uid": "r"}},
            "evidences": [{"data": data}],
            "unmapped": {"person_uid": person},
        })
    }

    #[test]
    fn a_finding_belongs_to_the_site_its_key_names() {
        let estate = estate();
        // The engine keys findings by `zone.id`, `site.id`: a zone's finding is its site's.
        let zone = finding(serde_json::json!({"zone.id": "nyc-lobby"}), None);
        assert_eq!(sites_of_json(&estate, &zone), ["nyc"]);
        let site = finding(
            serde_json::json!({"site.id": "nyc", "person.uid": "alice"}),
            None,
        );
        assert_eq!(sites_of_json(&estate, &site), ["nyc"]);
        // Else the person's home site.
        let person = finding(serde_json::json!({"person.uid": "alice"}), Some("alice"));
        assert_eq!(sites_of_json(&estate, &person), ["hq"]);
        let nowhere = finding(serde_json::json!({"asset.id": "x"}), None);
        assert!(sites_of_json(&estate, &nowhere).is_empty());
    }
}
