//! What the estate lets the place-based rules see, per site: where a rule is armed, where it
//! arms only once a signal reports, and where it is blind, and why. `seam check` prints it, so
//! a team learns before go-live which doors a cloned-badge test would pass unseen.
//!
//! Only what the estate declares is known here; signals learned while running (a door that
//! reports its use, a zone that reports counts) arm more at run time (`door.watched`).

use seam_estate::{DoorKind, Estate, Level, SensorKind, SiteIdx};

/// One rule's coverage at one site.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Coverage {
    pub rule: &'static str,
    pub site: String,
    pub state: Armed,
    /// Places armed, out of the places the rule is about.
    pub armed: usize,
    pub of: usize,
    /// What is missing where it is not armed, with up to five of those places.
    pub why: String,
}

/// How much of a site a rule sees.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Armed {
    Armed,
    Partial,
    Blind,
    /// The site has none of the places the rule is about.
    NotApplicable,
}

impl Armed {
    pub fn as_str(self) -> &'static str {
        match self {
            Armed::Armed => "armed",
            Armed::Partial => "partial",
            Armed::Blind => "blind",
            Armed::NotApplicable => "n/a",
        }
    }

    fn of(armed: usize, total: usize) -> Armed {
        match (armed, total) {
            (_, 0) => Armed::NotApplicable,
            (0, _) => Armed::Blind,
            (a, t) if a >= t => Armed::Armed,
            _ => Armed::Partial,
        }
    }
}

/// The coverage of the place-based rules at every site in use.
pub fn report(estate: &Estate) -> Vec<Coverage> {
    let mut lines = Vec::new();
    for (index, site) in estate.sites().iter().enumerate() {
        if site.status != seam_estate::SiteStatus::Active {
            continue;
        }
        let site_idx = SiteIdx(u32::try_from(index).unwrap_or(u32::MAX));
        lines.push(nobody_entered(estate, site_idx, &site.id));
        lines.push(tailgating(estate, site_idx, &site.id));
        lines.push(badge_only_zones(
            estate,
            site_idx,
            &site.id,
            "seam.exit-without-entry",
            false,
        ));
        lines.push(badge_only_zones(
            estate,
            site_idx,
            &site.id,
            "seam.network-in-secure-zone-without-badge",
            true,
        ));
        lines.push(presence_signal(
            &site.id,
            "seam.wifi-without-badge",
            "access points",
            estate
                .aps()
                .iter()
                .filter(|ap| zone_site(estate, ap.zone) == site_idx)
                .count(),
        ));
        lines.push(presence_signal(
            &site.id,
            "seam.rogue-device-empty-zone",
            "switch ports",
            estate
                .switch_ports()
                .iter()
                .filter(|port| zone_site(estate, port.zone) == site_idx)
                .count(),
        ));
    }
    lines
}

fn zone_site(estate: &Estate, zone: seam_estate::ZoneIdx) -> SiteIdx {
    estate.zone(zone).site
}

fn names(list: &[&str]) -> String {
    let shown: Vec<&str> = list.iter().take(5).copied().collect();
    let more = list.len().saturating_sub(shown.len());
    if more > 0 {
        format!("{} and {more} more", shown.join(", "))
    } else {
        shown.join(", ")
    }
}

/// Badge doors (all but fire and emergency exits) where a grant nobody walks through would be
/// seen: a declared position switch, or a door contact or doorway counter on the door.
fn nobody_entered(estate: &Estate, site: SiteIdx, site_id: &str) -> Coverage {
    let mut armed = 0;
    let mut blind = Vec::new();
    let doors = estate
        .doors()
        .iter()
        .enumerate()
        // A fire or emergency exit has no reader: nobody is granted there.
        .filter(|(_, door)| {
            door.site == site && !matches!(door.kind, DoorKind::FireExit | DoorKind::Emergency)
        });
    let mut total = 0;
    for (index, door) in doors {
        total += 1;
        let idx = seam_estate::DoorIdx(u32::try_from(index).unwrap_or(u32::MAX));
        if door.position_switch || !estate.door_sensors(idx).is_empty() {
            armed += 1;
        } else {
            blind.push(door.id.as_str());
        }
    }
    coverage(
        "seam.badge-granted-nobody-entered",
        site_id,
        (armed, total),
        &blind,
        |places| {
            format!(
                "no position switch or sensor declared at {places} (armed at run time once the door reports a door use)"
            )
        },
    )
}

/// Sensitive zones (high or critical) with a sensor that counts heads.
fn tailgating(estate: &Estate, site: SiteIdx, site_id: &str) -> Coverage {
    let mut armed = 0;
    let mut total = 0;
    let mut blind = Vec::new();
    for (index, zone) in estate.zones().iter().enumerate() {
        if zone.site != site || !matches!(zone.sensitivity, Level::High | Level::Critical) {
            continue;
        }
        total += 1;
        let idx = seam_estate::ZoneIdx(u32::try_from(index).unwrap_or(u32::MAX));
        let counts = estate.zone_counters(idx).iter().any(|asset| {
            estate
                .asset(*asset)
                .sensor
                .as_ref()
                .is_some_and(|s| s.kind == SensorKind::HeadCount)
        });
        if counts {
            armed += 1;
        } else {
            blind.push(zone.id.as_str());
        }
    }
    coverage(
        "seam.tailgating-occupancy",
        site_id,
        (armed, total),
        &blind,
        |places| {
            format!(
                "no head-count sensor declared in {places} (armed at run time if a sensor reports counts)"
            )
        },
    )
}

/// Sensitive or anti-passback zones that can only be entered by badge (every way in has a
/// reader, a way out has one too): what `door.exit_without_entry` and
/// `person.badged_into_zone` need. With `network`, only zones with an access point or a port.
fn badge_only_zones(
    estate: &Estate,
    site: SiteIdx,
    site_id: &str,
    rule: &'static str,
    network: bool,
) -> Coverage {
    let mut armed = 0;
    let mut total = 0;
    let mut blind = Vec::new();
    for (index, zone) in estate.zones().iter().enumerate() {
        if zone.site != site
            || !(zone.anti_passback || matches!(zone.sensitivity, Level::High | Level::Critical))
        {
            continue;
        }
        let idx = seam_estate::ZoneIdx(u32::try_from(index).unwrap_or(u32::MAX));
        if network
            && !estate.aps().iter().any(|ap| ap.zone == idx)
            && !estate.switch_ports().iter().any(|port| port.zone == idx)
        {
            continue;
        }
        total += 1;
        if estate.entry_and_exit_badged(idx) {
            armed += 1;
        } else {
            blind.push(zone.id.as_str());
        }
    }
    coverage(rule, site_id, (armed, total), &blind, |places| {
        format!("a way into {places} has no reader, or no way out has one")
    })
}

/// One rule's line: armed out of total, and what is missing at the places not armed.
fn coverage(
    rule: &'static str,
    site_id: &str,
    (armed, total): (usize, usize),
    blind: &[&str],
    why: impl Fn(String) -> String,
) -> Coverage {
    Coverage {
        rule,
        site: site_id.to_string(),
        state: Armed::of(armed, total),
        armed,
        of: total,
        why: if blind.is_empty() {
            String::new()
        } else {
            why(names(blind))
        },
    }
}

/// A rule that needs one kind of network place at the site.
fn presence_signal(site_id: &str, rule: &'static str, what: &str, count: usize) -> Coverage {
    Coverage {
        rule,
        site: site_id.to_string(),
        state: if count > 0 {
            Armed::Armed
        } else {
            Armed::Blind
        },
        armed: count,
        of: count,
        why: if count == 0 {
            format!("no {what} in the estate at this site")
        } else {
            String::new()
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_blind_and_armed() {
        assert_eq!(Armed::of(0, 0), Armed::NotApplicable);
        assert_eq!(Armed::of(0, 3), Armed::Blind);
        assert_eq!(Armed::of(2, 3), Armed::Partial);
        assert_eq!(Armed::of(3, 3), Armed::Armed);
        assert_eq!(
            names(&["a", "b", "c", "d", "e", "f", "g"]),
            "a, b, c, d, e and 2 more"
        );
    }
}
