//! Gathers what `seam_cases::report` reports on from a store and an estate: the period's
//! findings with their triage, the cases, access hygiene from the directory and the event log,
//! and space use per zone by hour from badge entries. Shared by `seam report` and
//! `GET /v1/reports`.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use seam_cases::report::{Hygiene, HygieneItem, ReportFinding, ReportInput, ZoneHour};
use seam_estate::Estate;
use seam_estate::IdentifierKind;
use seam_model::Ts;
use seam_store::StoreError;
use seam_store::workspace::{CaseQuery, FindingQuery, SuppressedFilter, WorkspaceStore};

/// The most events read from the log for one report's hygiene and space figures.
pub const MAX_REPORT_EVENTS: u64 = 20_000_000;

/// What a report covers, read.
#[derive(Debug)]
pub struct Gathered {
    pub input: ReportInput,
    /// Events read from the log (for the figures that rest on them).
    pub events_read: u64,
    /// The log held more than [`MAX_REPORT_EVENTS`]: hygiene and space rest on the first ones.
    pub events_cut: bool,
}

/// Reads the period `[from, to)`, with the teams' acts up to `as_of` (now).
pub fn gather(
    store: &dyn WorkspaceStore,
    estate: &Estate,
    procedures: &seam_cases::Procedures,
    from: Ts,
    to: Ts,
    as_of: Ts,
) -> Result<Gathered, StoreError> {
    let mut findings = Vec::new();
    let mut after = None;
    loop {
        let page = store.list_findings(&FindingQuery {
            since: Some(from),
            until: Some(to),
            suppressed: SuppressedFilter::Include,
            after: after.clone(),
            limit: seam_store::workspace::MAX_PAGE,
            ..FindingQuery::default()
        })?;
        for found in &page.findings {
            let facts = seam_cases::FindingFacts::from_json(&found.json).unwrap_or_else(|| {
                seam_cases::FindingFacts {
                    uid: found.uid.clone(),
                    rule: found.rule.clone(),
                    time: found.time.millis(),
                    severity_id: found.severity_id,
                    ..Default::default()
                }
            });
            findings.push(ReportFinding {
                facts,
                triage: found.triage.clone(),
                suppressed: found.suppressed_by.is_some(),
                stored_at: Some(found.stored_at),
            });
        }
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    let cases = store.list_cases(&CaseQuery {
        limit: seam_store::workspace::MAX_PAGE,
        ..CaseQuery::default()
    })?;
    let usage = read_usage(store, estate, from, to)?;
    Ok(Gathered {
        input: ReportInput {
            from: from.millis(),
            to: to.millis(),
            as_of: Some(as_of.millis()),
            findings,
            cases,
            procedures: procedures.clone(),
            hygiene: hygiene(estate, &usage, to),
            occupancy: usage.occupancy,
        },
        events_read: usage.read,
        events_cut: usage.cut,
    })
}

fn text<'a>(value: &'a serde_json::Value, key: &str) -> Option<&'a str> {
    value.get(key).and_then(serde_json::Value::as_str)
}

/// What the event log says about use.
struct Usage {
    /// Identifiers (kind, normalized value) used in the period, and ever.
    in_period: HashSet<(IdentifierKind, String)>,
    ever: HashSet<(IdentifierKind, String)>,
    occupancy: Vec<ZoneHour>,
    read: u64,
    cut: bool,
}

fn read_usage(
    store: &dyn WorkspaceStore,
    estate: &Estate,
    from: Ts,
    to: Ts,
) -> Result<Usage, StoreError> {
    let mut usage = Usage {
        in_period: HashSet::new(),
        ever: HashSet::new(),
        occupancy: Vec::new(),
        read: 0,
        cut: false,
    };
    // (zone, day, hour) -> distinct badges.
    let mut present: BTreeMap<(String, i64, u8), BTreeSet<String>> = BTreeMap::new();
    let end = store.log_position()?;
    let mut position = 0;
    while position < end {
        if usage.read >= MAX_REPORT_EVENTS {
            usage.cut = true;
            break;
        }
        let (events, next) = store.read_events(position, 50_000)?;
        if next == position {
            break;
        }
        position = next;
        for json in events {
            usage.read += 1;
            let Ok(event) = serde_json::from_str::<serde_json::Value>(&json) else {
                continue;
            };
            let Some(time) = text(&event, "time").and_then(|t| Ts::parse(t).ok()) else {
                continue;
            };
            let in_period = from <= time && time < to;
            let subject = event.get("subject").cloned().unwrap_or_default();
            for (field, kinds) in [
                ("badge", &[IdentifierKind::Badge][..]),
                (
                    "user",
                    &[
                        IdentifierKind::Upn,
                        IdentifierKind::Email,
                        IdentifierKind::Username,
                    ][..],
                ),
                ("idp_id", &[IdentifierKind::Okta, IdentifierKind::Entra][..]),
            ] {
                let Some(value) = text(&subject, field) else {
                    continue;
                };
                for kind in kinds {
                    let key = (
                        *kind,
                        seam_estate::normalize_identifier(*kind, value).into_owned(),
                    );
                    if in_period {
                        usage.in_period.insert(key.clone());
                    }
                    usage.ever.insert(key);
                }
            }
            if !in_period || text(&event, "class") != Some("badge") {
                continue;
            }
            if text(&event, "outcome").is_some_and(|o| o != "success") {
                continue;
            }
            let (Some(zone), Some(badge)) = (text(&event, "zone"), text(&subject, "badge")) else {
                continue;
            };
            let Some(zone_idx) = estate.zone_idx(zone) else {
                continue;
            };
            let site = estate.zone(zone_idx).site;
            let Some(local) = estate.local_datetime(site, time) else {
                continue;
            };
            let day = time.millis().div_euclid(86_400_000);
            let hour = u8::try_from(local.hour()).unwrap_or(0);
            present
                .entry((zone.to_string(), day, hour))
                .or_default()
                .insert(badge.to_string());
        }
    }
    let days = u32::try_from(((to.millis() - from.millis()).max(0) + 86_399_999) / 86_400_000)
        .unwrap_or(u32::MAX);
    let mut by_zone_hour: BTreeMap<(String, u8), (f64, u32)> = BTreeMap::new();
    for ((zone, _, hour), badges) in present {
        let count = u32::try_from(badges.len()).unwrap_or(u32::MAX);
        let slot = by_zone_hour.entry((zone, hour)).or_insert((0.0, 0));
        slot.0 += f64::from(count);
        slot.1 = slot.1.max(count);
    }
    usage.occupancy = by_zone_hour
        .into_iter()
        .map(|((zone, hour), (people_hours, peak))| ZoneHour {
            site: estate
                .zone_idx(&zone)
                .map(|z| estate.site(estate.zone(z).site).id.clone()),
            zone,
            hour_of_day: hour,
            people_hours,
            peak,
            days,
        })
        .collect();
    Ok(usage)
}

/// Access hygiene at `to`: badges of people who have left, dormant and never-used badges and
/// accounts, visitors past their window.
fn hygiene(estate: &Estate, usage: &Usage, to: Ts) -> Hygiene {
    let mut hygiene = Hygiene::default();
    let account_kinds = [
        IdentifierKind::Upn,
        IdentifierKind::Email,
        IdentifierKind::Okta,
        IdentifierKind::Entra,
        IdentifierKind::Username,
    ];
    for person in estate.people() {
        let Some(idx) = estate.person_idx(&person.id) else {
            continue;
        };
        let status = estate.status_at(idx, to);
        let active = status == seam_estate::PersonStatus::Active;
        for identifier in person.identifiers.iter().filter(|i| i.valid_at(to)) {
            let key = (identifier.kind, identifier.value.clone());
            let item = |detail: String| HygieneItem {
                person: person.id.clone(),
                identifier: format!("{}:{}", identifier.kind.as_str(), identifier.value),
                detail,
            };
            let badge = identifier.kind == IdentifierKind::Badge;
            if !active && badge {
                hygiene.left_with_badges.push(item(format!(
                    "{} and the badge still opens doors",
                    status.as_str()
                )));
                continue;
            }
            if !active {
                continue;
            }
            if badge && !usage.ever.contains(&key) {
                hygiene
                    .badges_never_used
                    .push(item("issued and never seen in the event log".into()));
            } else if badge && !usage.in_period.contains(&key) {
                hygiene
                    .dormant_badges
                    .push(item("not used in the period".into()));
            } else if account_kinds.contains(&identifier.kind)
                && !usage.in_period.contains(&key)
                && usage.ever.contains(&key)
            {
                hygiene
                    .dormant_accounts
                    .push(item("no sign-in in the period".into()));
            }
        }
        if person.kind == seam_estate::PersonKind::Visitor
            && person.window.is_some_and(|w| w.end <= to)
            && person.identifiers.iter().any(|i| i.valid_at(to))
        {
            hygiene.visitors_past_window.push(HygieneItem {
                person: person.id.clone(),
                identifier: person
                    .identifiers
                    .iter()
                    .find(|i| i.valid_at(to))
                    .map(|i| format!("{}:{}", i.kind.as_str(), i.value))
                    .unwrap_or_default(),
                detail: "the visit is over and a credential still works".into(),
            });
        }
    }
    hygiene
}
