//! The figures leadership asks for, over a period `[from, to)` (wall ms): findings by domain
//! and severity, how fast each team acknowledges and closes, cases against their type's
//! targets, case tasks on time, cases opened and closed, access hygiene, space use by hour,
//! and which rules fired and how often they were wrong. Rendered as JSON, as one CSV, and as
//! a self-contained HTML page a CSO can put in front of a board.
//!
//! The figures are as of `to`: what happened at or after `to` (an acknowledgement, a close, a
//! task done) has not happened yet, so the same input always gives the same report, whenever
//! it is run. A finding belongs to the period by its event time; a case by when it was
//! created (targets, opened) or closed (closed); a task by when it was due.
//!
//! Suppressed findings are counted everywhere findings are counted, and counted again apart;
//! response times leave them out, since nobody is asked to act on them. Merged cases are
//! counted as merged: their work goes on in the case they were merged into, which holds their
//! tasks too, so they are left out of targets and tasks.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::case::{Case, TaskStatus};
use crate::facts::{Domain, FindingFacts};
use crate::procedures::Procedures;
use crate::triage::{Disposition, Team, TriageState, TriageStatus};

/// What a report is built from; the caller reads it from the stores and the directory.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportInput {
    /// Start of the period, inclusive (wall ms).
    pub from: i64,
    /// End of the period, exclusive (wall ms).
    pub to: i64,
    /// When the report is made (wall ms): what the teams did up to then counts (a finding
    /// of last month closed this week has its disposition); `None` for the end of the
    /// period, as a report made then would have seen it.
    pub as_of: Option<i64>,
    pub findings: Vec<ReportFinding>,
    pub cases: Vec<Case>,
    /// The case types, for their targets.
    pub procedures: Procedures,
    pub hygiene: Hygiene,
    pub occupancy: Vec<ZoneHour>,
}

/// One stored finding and its triage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportFinding {
    pub facts: FindingFacts,
    pub triage: TriageState,
    pub suppressed: bool,
    /// Wall ms the finding was stored, for time to acknowledge; `None` if unknown, and then
    /// its event time stands in.
    pub stored_at: Option<i64>,
}

/// Access hygiene, as the caller found it in the directory and the event log.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hygiene {
    /// People who left and still hold a working badge.
    pub left_with_badges: Vec<HygieneItem>,
    pub dormant_badges: Vec<HygieneItem>,
    pub dormant_accounts: Vec<HygieneItem>,
    pub badges_never_used: Vec<HygieneItem>,
    /// Visitors whose badge still works after their visit ended.
    pub visitors_past_window: Vec<HygieneItem>,
}

/// One credential that should be looked at.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct HygieneItem {
    pub person: String,
    /// The badge, the account or the visit.
    pub identifier: String,
    pub detail: String,
}

/// Occupancy of one zone in one hour of the day, summed over the period's days.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ZoneHour {
    pub zone: String,
    pub site: Option<String>,
    /// 0 to 23, site local.
    pub hour_of_day: u8,
    /// Occupancy summed over the days: one person for one hour is 1.0.
    pub people_hours: f64,
    /// The most people in the zone at once in that hour.
    pub peak: u32,
    /// How many days the sum covers.
    pub days: u32,
}

/// The report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub from: i64,
    pub to: i64,
    pub findings: FindingFigures,
    pub response: ResponseFigures,
    pub cases: CaseFigures,
    /// One section per kind of hygiene issue, always all five.
    pub hygiene: Vec<HygieneSection>,
    /// Sorted by zone, then hour, then site.
    pub space: Vec<SpaceRow>,
    /// Sorted by count, most first, then by rule.
    pub rules: Vec<RuleRow>,
}

/// Findings of the period, by domain and by severity.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FindingFigures {
    /// Suppressed ones included.
    pub total: usize,
    pub suppressed: usize,
    pub cross_domain: usize,
    /// `cross_domain / total`, from 0 to 1; 0 when there are no findings.
    pub cross_domain_share: f64,
    /// Physical, cyber, cross-domain: always all three.
    pub by_domain: Vec<DomainRow>,
    /// Most severe first; only the severities seen.
    pub by_severity: Vec<SeverityRow>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DomainRow {
    pub domain: String,
    pub count: usize,
    pub suppressed: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SeverityRow {
    /// OCSF severity id.
    pub severity_id: u8,
    pub severity: String,
    pub count: usize,
    pub suppressed: usize,
}

/// How fast the teams respond.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResponseFigures {
    /// Physical, cyber, unassigned: always all three. Suppressed findings left out.
    pub findings_by_team: Vec<TeamResponse>,
    /// Every case type of the procedures, then the unknown types seen, then `untyped`.
    pub cases_by_type: Vec<CaseTypeResponse>,
    /// Physical, cyber: always both.
    pub tasks_by_team: Vec<TeamTasks>,
}

/// Time to acknowledge and to close one team's findings of the period.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TeamResponse {
    /// `physical`, `cyber` or `unassigned`.
    pub team: String,
    pub findings: usize,
    /// From when it was stored (else its event time) to its first acknowledgement.
    pub acknowledge: Durations,
    pub unacknowledged: usize,
    /// From when it was stored (else its event time) to its close.
    pub close: Durations,
    pub open: usize,
}

/// A set of durations, in minutes.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Durations {
    pub count: usize,
    /// The middle one, or the mean of the two middle ones; `None` when there are none.
    pub median_minutes: Option<f64>,
    /// Nearest rank: the smallest duration at least 90% of them do not exceed.
    pub p90_minutes: Option<f64>,
}

/// The cases of one type created in the period, against the type's targets.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CaseTypeResponse {
    /// The type's id; `untyped` for cases without one.
    pub case_type: String,
    pub name: String,
    pub cases: usize,
    /// `None` for a type the procedures do not hold.
    pub acknowledge_target_minutes: Option<u32>,
    pub close_target_hours: Option<u32>,
    /// `None` when there is no target to hold the cases to.
    pub acknowledge: Option<TargetCounts>,
    pub close: Option<TargetCounts>,
    /// Case acknowledged = acknowledged_at - created_at.
    pub acknowledge_times: Durations,
    /// Case closed = closed_at - created_at.
    pub close_times: Durations,
}

/// How many cases met a target.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct TargetCounts {
    /// Done within the target (the target itself included).
    pub met: usize,
    /// Done, later than the target.
    pub missed: usize,
    /// Not done by `to`, and the target passed.
    pub open_past_target: usize,
    /// Not done by `to`, still within the target.
    pub open_within_target: usize,
}

/// One team's case tasks that fell due in the period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TeamTasks {
    pub team: String,
    pub due: usize,
    pub done_on_time: usize,
    pub done_late: usize,
    /// Still open at `to`, past their due time.
    pub overdue_open: usize,
}

/// Cases opened and closed in the period.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CaseFigures {
    pub opened: usize,
    /// Closed in the period and not by a merge.
    pub closed: usize,
    /// Merged into another case in the period.
    pub merged: usize,
    /// Keyed by case type, `untyped` for cases without one.
    pub opened_by_type: BTreeMap<String, usize>,
    /// The status of the cases opened in the period, as stored.
    pub opened_by_status: BTreeMap<String, usize>,
    pub closed_by_type: BTreeMap<String, usize>,
    /// `none` for a case closed without a disposition.
    pub closed_by_disposition: BTreeMap<String, usize>,
}

/// One kind of access hygiene issue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HygieneSection {
    /// `left_with_badges`, `dormant_badges`, `dormant_accounts`, `badges_never_used`,
    /// `visitors_past_window`.
    pub kind: String,
    pub title: String,
    pub count: usize,
    /// Sorted by person, then identifier.
    pub items: Vec<HygieneItem>,
}

/// Space use of one zone in one hour of the day.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SpaceRow {
    pub zone: String,
    pub site: Option<String>,
    pub hour_of_day: u8,
    pub people_hours: f64,
    pub peak: u32,
    pub days: u32,
    /// `people_hours / days`: how many people are there in that hour on an average day;
    /// `None` when no day was counted.
    pub average_people: Option<f64>,
}

/// How one rule fired in the period.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RuleRow {
    pub rule: String,
    /// Findings raised, suppressed ones included.
    pub count: usize,
    pub suppressed: usize,
    /// Closed by `to`.
    pub closed: usize,
    pub true_positive: usize,
    pub benign_true_positive: usize,
    pub false_positive: usize,
    /// False positives over the findings closed with a disposition; `None` when none was.
    pub false_positive_rate: Option<f64>,
}

/// The key for cases without a type.
pub const UNTYPED: &str = "untyped";

/// The row for findings assigned to no team.
pub const UNASSIGNED: &str = "unassigned";

const MINUTE_MS: i64 = 60_000;
const HOUR_MS: i64 = 3_600_000;

/// Builds the report.
pub fn build(input: &ReportInput) -> Report {
    let period = Period {
        from: input.from,
        to: input.to,
        as_of: input.as_of.unwrap_or(input.to).max(input.to),
    };
    let findings: Vec<&ReportFinding> = input
        .findings
        .iter()
        .filter(|f| period.contains(f.facts.time))
        .collect();
    Report {
        from: input.from,
        to: input.to,
        findings: finding_figures(&findings),
        response: ResponseFigures {
            findings_by_team: findings_by_team(&findings, period),
            cases_by_type: cases_by_type(&input.cases, &input.procedures, period),
            tasks_by_team: tasks_by_team(&input.cases, period),
        },
        cases: case_figures(&input.cases, period),
        hygiene: hygiene_sections(&input.hygiene),
        space: space_rows(&input.occupancy),
        rules: rule_rows(&findings, period),
    }
}

#[derive(Debug, Clone, Copy)]
struct Period {
    from: i64,
    to: i64,
    /// Acts up to here count.
    as_of: i64,
}

impl Period {
    fn contains(self, at: i64) -> bool {
        self.from <= at && at < self.to
    }

    /// `at`, if it had happened by the time the report is made.
    fn by_end(self, at: Option<i64>) -> Option<i64> {
        at.filter(|&at| at < self.as_of)
    }
}

fn finding_figures(findings: &[&ReportFinding]) -> FindingFigures {
    let mut by_domain = [Domain::Physical, Domain::Cyber, Domain::CrossDomain].map(|domain| {
        (
            domain,
            DomainRow {
                domain: domain.as_str().to_string(),
                count: 0,
                suppressed: 0,
            },
        )
    });
    let mut by_severity: BTreeMap<u8, SeverityRow> = BTreeMap::new();
    for finding in findings {
        let domain = finding.facts.domain();
        if let Some((_, row)) = by_domain.iter_mut().find(|(d, _)| *d == domain) {
            row.count += 1;
            row.suppressed += usize::from(finding.suppressed);
        }
        let id = finding.facts.severity_id;
        let row = by_severity.entry(id).or_insert_with(|| SeverityRow {
            severity_id: id,
            severity: severity_name(id),
            count: 0,
            suppressed: 0,
        });
        row.count += 1;
        row.suppressed += usize::from(finding.suppressed);
    }
    let total = findings.len();
    let cross_domain = findings
        .iter()
        .filter(|f| f.facts.domain() == Domain::CrossDomain)
        .count();
    FindingFigures {
        total,
        suppressed: findings.iter().filter(|f| f.suppressed).count(),
        cross_domain,
        cross_domain_share: share(cross_domain, total).unwrap_or(0.0),
        by_domain: by_domain.into_iter().map(|(_, row)| row).collect(),
        by_severity: by_severity.into_values().rev().collect(),
    }
}

/// The OCSF name of a severity id.
fn severity_name(id: u8) -> String {
    match id {
        1 => "informational".to_string(),
        2 => "low".to_string(),
        3 => "medium".to_string(),
        4 => "high".to_string(),
        5 => "critical".to_string(),
        6 => "fatal".to_string(),
        99 => "other".to_string(),
        0 => "unknown".to_string(),
        other => format!("severity {other}"),
    }
}

/// `part / whole`, `None` when the whole is nothing.
fn share(part: usize, whole: usize) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

fn team_name(team: Option<Team>) -> &'static str {
    team.map_or(UNASSIGNED, Team::as_str)
}

fn findings_by_team(findings: &[&ReportFinding], period: Period) -> Vec<TeamResponse> {
    [Some(Team::Physical), Some(Team::Cyber), None]
        .into_iter()
        .map(|team| {
            let mine: Vec<&ReportFinding> = findings
                .iter()
                .copied()
                .filter(|f| !f.suppressed && f.triage.team == team)
                .collect();
            let mut acknowledge = Vec::new();
            let mut close = Vec::new();
            let mut unacknowledged = 0;
            let mut open = 0;
            for finding in &mine {
                let start = finding.stored_at.unwrap_or(finding.facts.time);
                let triage = &finding.triage;
                match triage.acknowledged_at {
                    Some(at) if at < period.as_of => acknowledge.push(at.saturating_sub(start)),
                    Some(_) => unacknowledged += 1,
                    // Out of `new` without a recorded time (an older store): acknowledged,
                    // when unknown.
                    None if triage.status != TriageStatus::New => {}
                    None => unacknowledged += 1,
                }
                if finding_closed(triage, period) {
                    if let Some(at) = triage.closed_at {
                        close.push(at.saturating_sub(start));
                    }
                } else {
                    open += 1;
                }
            }
            TeamResponse {
                team: team_name(team).to_string(),
                findings: mine.len(),
                acknowledge: durations(acknowledge),
                unacknowledged,
                close: durations(close),
                open,
            }
        })
        .collect()
}

/// Whether a finding was closed by the end of the period.
fn finding_closed(triage: &TriageState, period: Period) -> bool {
    triage.status == TriageStatus::Closed && triage.closed_at.is_none_or(|at| at < period.as_of)
}

/// Median and nearest-rank 90th percentile of durations in ms (negative ones, from clock
/// skew between the sensor and the store, count as zero), in minutes.
fn durations(mut ms: Vec<i64>) -> Durations {
    for value in &mut ms {
        *value = (*value).max(0);
    }
    ms.sort_unstable();
    let count = ms.len();
    let at = |index: usize| ms.get(index).map(|&v| v as f64);
    let median = match count {
        0 => None,
        odd if odd % 2 == 1 => at(odd / 2),
        even => at(even / 2 - 1)
            .zip(at(even / 2))
            .map(|(a, b)| (a + b) / 2.0),
    };
    let p90 = (count * 9).div_ceil(10).checked_sub(1).and_then(at);
    let minutes = |ms: f64| ms / MINUTE_MS as f64;
    Durations {
        count,
        median_minutes: median.map(minutes),
        p90_minutes: p90.map(minutes),
    }
}

fn case_type_key(case: &Case) -> String {
    case.kind.clone().unwrap_or_else(|| UNTYPED.to_string())
}

fn cases_by_type(cases: &[Case], procedures: &Procedures, period: Period) -> Vec<CaseTypeResponse> {
    let judged: Vec<&Case> = cases
        .iter()
        .filter(|c| c.merged_into.is_none() && period.contains(c.created_at))
        .collect();
    let mut keys: Vec<String> = procedures.types.iter().map(|t| t.id.clone()).collect();
    let mut others: Vec<String> = judged
        .iter()
        .filter_map(|c| c.kind.clone())
        .filter(|kind| procedures.get(kind).is_none())
        .collect();
    others.sort();
    others.dedup();
    keys.extend(others);
    if judged.iter().any(|c| c.kind.is_none()) {
        keys.push(UNTYPED.to_string());
    }
    keys.into_iter()
        .map(|key| {
            let kind = procedures.get(&key);
            let mine: Vec<&Case> = judged
                .iter()
                .copied()
                .filter(|c| case_type_key(c) == key)
                .collect();
            let acknowledge_target = kind.map(|k| i64::from(k.acknowledge_minutes) * MINUTE_MS);
            let close_target = kind.map(|k| i64::from(k.close_hours) * HOUR_MS);
            let ack_times: Vec<Option<i64>> = mine
                .iter()
                .map(|c| {
                    period
                        .by_end(c.acknowledged_at)
                        .map(|at| at.saturating_sub(c.created_at))
                })
                .collect();
            let close_times: Vec<Option<i64>> = mine
                .iter()
                .map(|c| {
                    period
                        .by_end(c.closed_at)
                        .map(|at| at.saturating_sub(c.created_at))
                })
                .collect();
            let ages: Vec<i64> = mine
                .iter()
                .map(|c| period.as_of.saturating_sub(c.created_at))
                .collect();
            CaseTypeResponse {
                name: match (kind, key.as_str()) {
                    (Some(kind), _) => kind.name.clone(),
                    (None, UNTYPED) => "No case type".to_string(),
                    (None, _) => key.clone(),
                },
                case_type: key,
                cases: mine.len(),
                acknowledge_target_minutes: kind.map(|k| k.acknowledge_minutes),
                close_target_hours: kind.map(|k| k.close_hours),
                acknowledge: acknowledge_target.map(|t| against(&ack_times, &ages, t)),
                close: close_target.map(|t| against(&close_times, &ages, t)),
                acknowledge_times: durations(ack_times.iter().flatten().copied().collect()),
                close_times: durations(close_times.iter().flatten().copied().collect()),
            }
        })
        .collect()
}

/// Counts each case against a target: `taken` is how long it took (`None` when not done by
/// the end of the period), `ages` how old it was then, in the same order.
fn against(taken: &[Option<i64>], ages: &[i64], target: i64) -> TargetCounts {
    let mut counts = TargetCounts::default();
    for (taken, &age) in taken.iter().zip(ages) {
        match taken {
            Some(taken) if *taken <= target => counts.met += 1,
            Some(_) => counts.missed += 1,
            None if age > target => counts.open_past_target += 1,
            None => counts.open_within_target += 1,
        }
    }
    counts
}

fn tasks_by_team(cases: &[Case], period: Period) -> Vec<TeamTasks> {
    [Team::Physical, Team::Cyber]
        .into_iter()
        .map(|team| {
            let mut row = TeamTasks {
                team: team.as_str().to_string(),
                due: 0,
                done_on_time: 0,
                done_late: 0,
                overdue_open: 0,
            };
            let tasks = cases
                .iter()
                .filter(|c| c.merged_into.is_none())
                .flat_map(|c| &c.tasks)
                .filter(|t| t.team == team);
            for task in tasks {
                let Some(due) = task.due_at.filter(|&due| period.contains(due)) else {
                    continue;
                };
                row.due += 1;
                match task.done_at {
                    Some(done) if done < period.as_of && done <= due => row.done_on_time += 1,
                    Some(done) if done < period.as_of => row.done_late += 1,
                    // Done after the period: it was open, and overdue, at its end.
                    Some(_) => row.overdue_open += 1,
                    // Done at a time nobody recorded (an older store): given as on time.
                    None if task.status == TaskStatus::Done => row.done_on_time += 1,
                    None => row.overdue_open += 1,
                }
            }
            row
        })
        .collect()
}

fn case_figures(cases: &[Case], period: Period) -> CaseFigures {
    let mut figures = CaseFigures::default();
    for case in cases {
        if period.contains(case.created_at) {
            figures.opened += 1;
            *figures
                .opened_by_type
                .entry(case_type_key(case))
                .or_default() += 1;
            *figures
                .opened_by_status
                .entry(case.status.as_str().to_string())
                .or_default() += 1;
        }
        if !case.closed_at.is_some_and(|at| period.contains(at)) {
            continue;
        }
        if case.merged_into.is_some() {
            figures.merged += 1;
            continue;
        }
        figures.closed += 1;
        *figures
            .closed_by_type
            .entry(case_type_key(case))
            .or_default() += 1;
        let disposition = case.disposition.map_or("none", Disposition::as_str);
        *figures
            .closed_by_disposition
            .entry(disposition.to_string())
            .or_default() += 1;
    }
    figures
}

fn hygiene_sections(hygiene: &Hygiene) -> Vec<HygieneSection> {
    [
        (
            "left_with_badges",
            "People who left and still hold working badges",
            &hygiene.left_with_badges,
        ),
        (
            "dormant_badges",
            "Badges not used for a long time",
            &hygiene.dormant_badges,
        ),
        (
            "dormant_accounts",
            "Accounts not used for a long time",
            &hygiene.dormant_accounts,
        ),
        (
            "badges_never_used",
            "Badges issued and never used",
            &hygiene.badges_never_used,
        ),
        (
            "visitors_past_window",
            "Visitors whose badges work past their visit",
            &hygiene.visitors_past_window,
        ),
    ]
    .into_iter()
    .map(|(kind, title, items)| {
        let mut items = items.clone();
        items.sort();
        HygieneSection {
            kind: kind.to_string(),
            title: title.to_string(),
            count: items.len(),
            items,
        }
    })
    .collect()
}

fn space_rows(occupancy: &[ZoneHour]) -> Vec<SpaceRow> {
    let mut rows: Vec<SpaceRow> = occupancy
        .iter()
        .map(|z| SpaceRow {
            zone: z.zone.clone(),
            site: z.site.clone(),
            hour_of_day: z.hour_of_day,
            people_hours: z.people_hours,
            peak: z.peak,
            days: z.days,
            average_people: (z.days > 0).then(|| z.people_hours / f64::from(z.days)),
        })
        .collect();
    rows.sort_by(|a, b| {
        a.zone
            .cmp(&b.zone)
            .then(a.hour_of_day.cmp(&b.hour_of_day))
            .then_with(|| a.site.cmp(&b.site))
    });
    rows
}

fn rule_rows(findings: &[&ReportFinding], period: Period) -> Vec<RuleRow> {
    let mut rules: BTreeMap<&str, RuleRow> = BTreeMap::new();
    for finding in findings {
        let row = rules
            .entry(finding.facts.rule.as_str())
            .or_insert_with(|| RuleRow {
                rule: finding.facts.rule.clone(),
                count: 0,
                suppressed: 0,
                closed: 0,
                true_positive: 0,
                benign_true_positive: 0,
                false_positive: 0,
                false_positive_rate: None,
            });
        row.count += 1;
        row.suppressed += usize::from(finding.suppressed);
        if !finding_closed(&finding.triage, period) {
            continue;
        }
        row.closed += 1;
        match finding.triage.disposition {
            Some(Disposition::TruePositive) => row.true_positive += 1,
            Some(Disposition::BenignTruePositive) => row.benign_true_positive += 1,
            Some(Disposition::FalsePositive) => row.false_positive += 1,
            None => {}
        }
    }
    let mut rows: Vec<RuleRow> = rules
        .into_values()
        .map(|mut row| {
            let judged = row.true_positive + row.benign_true_positive + row.false_positive;
            row.false_positive_rate = share(row.false_positive, judged);
            row
        })
        .collect();
    rows.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.rule.cmp(&b.rule)));
    rows
}

// Rendering.

/// The report as pretty JSON.
pub fn to_json(report: &Report) -> String {
    serde_json::to_string_pretty(report).unwrap_or_else(|error| {
        // Not expected: every key is a string. Still JSON, saying what went wrong.
        serde_json::json!({ "error": error.to_string() }).to_string()
    })
}

/// The columns of [`to_csv`].
pub const CSV_HEADER: [&str; 6] = ["section", "group", "name", "detail", "metric", "value"];

/// The report as one CSV (RFC 4180, CRLF line ends), one figure a row: `section`, then
/// `group`, `name` and `detail` saying what the figure is about, then `metric` and `value`.
/// Text that a spreadsheet would read as a formula starts with `'`.
pub fn to_csv(report: &Report) -> String {
    let mut csv = Csv::default();
    let [section, group, name, detail, metric, value] = CSV_HEADER;
    csv.row([section, group, name, detail, metric], value.to_string());
    let Report {
        from,
        to,
        findings,
        response,
        cases,
        hygiene,
        space,
        rules,
    } = report;
    csv.number(["period", "", "", "", "from_ms"], from);
    csv.number(["period", "", "", "", "to_ms"], to);
    csv.text(["period", "", "", "", "from"], &utc(*from));
    csv.text(["period", "", "", "", "to"], &utc(*to));

    csv.number(["findings", "all", "", "", "total"], findings.total);
    csv.number(
        ["findings", "all", "", "", "suppressed"],
        findings.suppressed,
    );
    csv.number(
        ["findings", "all", "", "", "cross_domain"],
        findings.cross_domain,
    );
    csv.float(
        ["findings", "all", "", "", "cross_domain_share"],
        Some(findings.cross_domain_share),
    );
    for row in &findings.by_domain {
        csv.number(["findings", "domain", &row.domain, "", "count"], row.count);
        let cells = ["findings", "domain", &row.domain, "", "suppressed"];
        csv.number(cells, row.suppressed);
    }
    for row in &findings.by_severity {
        let id = row.severity_id.to_string();
        let cells = ["findings", "severity", &row.severity, &id, "count"];
        csv.number(cells, row.count);
        let cells = ["findings", "severity", &row.severity, &id, "suppressed"];
        csv.number(cells, row.suppressed);
    }

    for row in &response.findings_by_team {
        let section = "finding_response";
        csv.number([section, &row.team, "", "", "findings"], row.findings);
        csv.durations(
            [section, &row.team, "", "", "acknowledge"],
            &row.acknowledge,
        );
        let cells = [section, &row.team, "", "", "unacknowledged"];
        csv.number(cells, row.unacknowledged);
        csv.durations([section, &row.team, "", "", "close"], &row.close);
        csv.number([section, &row.team, "", "", "open"], row.open);
    }
    for row in &response.cases_by_type {
        let section = "case_targets";
        let (key, name) = (row.case_type.as_str(), row.name.as_str());
        csv.number([section, key, name, "", "cases"], row.cases);
        let target = row.acknowledge_target_minutes.map(f64::from);
        csv.float(
            [section, key, name, "", "acknowledge_target_minutes"],
            target,
        );
        let target = row.close_target_hours.map(f64::from);
        csv.float([section, key, name, "", "close_target_hours"], target);
        for (what, counts) in [("acknowledge", row.acknowledge), ("close", row.close)] {
            let Some(counts) = counts else {
                continue;
            };
            for (metric, value) in [
                ("met", counts.met),
                ("missed", counts.missed),
                ("open_past_target", counts.open_past_target),
                ("open_within_target", counts.open_within_target),
            ] {
                csv.number([section, key, name, what, metric], value);
            }
        }
        let cells = [section, key, name, "", "acknowledge"];
        csv.durations(cells, &row.acknowledge_times);
        csv.durations([section, key, name, "", "close"], &row.close_times);
    }
    for row in &response.tasks_by_team {
        let section = "case_tasks";
        csv.number([section, &row.team, "", "", "due"], row.due);
        csv.number(
            [section, &row.team, "", "", "done_on_time"],
            row.done_on_time,
        );
        csv.number([section, &row.team, "", "", "done_late"], row.done_late);
        csv.number(
            [section, &row.team, "", "", "overdue_open"],
            row.overdue_open,
        );
    }

    csv.number(["cases", "opened", "", "", "count"], cases.opened);
    csv.number(["cases", "closed", "", "", "count"], cases.closed);
    csv.number(["cases", "merged", "", "", "count"], cases.merged);
    for (group, map) in [
        ("opened_by_type", &cases.opened_by_type),
        ("opened_by_status", &cases.opened_by_status),
        ("closed_by_type", &cases.closed_by_type),
        ("closed_by_disposition", &cases.closed_by_disposition),
    ] {
        for (key, count) in map {
            csv.number(["cases", group, key, "", "count"], count);
        }
    }

    for section in hygiene {
        csv.number(["hygiene", &section.kind, "", "", "count"], section.count);
        for item in &section.items {
            let cells = [
                "hygiene",
                &section.kind,
                &item.person,
                &item.identifier,
                "item",
            ];
            csv.text(cells, &item.detail);
        }
    }

    for row in space {
        let site = row.site.as_deref().unwrap_or_default();
        let hour = row.hour_of_day.to_string();
        let cells = |metric| ["space", row.zone.as_str(), site, hour.as_str(), metric];
        csv.float(cells("people_hours"), Some(row.people_hours));
        csv.number(cells("peak"), row.peak);
        csv.number(cells("days"), row.days);
        csv.float(cells("average_people"), row.average_people);
    }

    for row in rules {
        let cells = |metric| ["rules", row.rule.as_str(), "", "", metric];
        csv.number(cells("count"), row.count);
        csv.number(cells("suppressed"), row.suppressed);
        csv.number(cells("closed"), row.closed);
        csv.number(cells("true_positive"), row.true_positive);
        csv.number(cells("benign_true_positive"), row.benign_true_positive);
        csv.number(cells("false_positive"), row.false_positive);
        csv.float(cells("false_positive_rate"), row.false_positive_rate);
    }
    csv.out
}

#[derive(Debug, Default)]
struct Csv {
    out: String,
}

impl Csv {
    /// One row: the five text cells, then the value cell as it is already written.
    fn row(&mut self, cells: [&str; 5], value: String) {
        for cell in cells {
            self.out.push_str(&csv_field(cell));
            self.out.push(',');
        }
        self.out.push_str(&value);
        self.out.push_str("\r\n");
    }

    fn text(&mut self, cells: [&str; 5], value: &str) {
        self.row(cells, csv_field(value));
    }

    /// A number of ours: written as it is, never quoted or prefixed.
    fn number(&mut self, cells: [&str; 5], value: impl std::fmt::Display) {
        self.row(cells, value.to_string());
    }

    /// An empty cell for `None` and for what is not a finite number.
    fn float(&mut self, cells: [&str; 5], value: Option<f64>) {
        let value = value.filter(|v| v.is_finite());
        self.row(cells, value.map(|v| v.to_string()).unwrap_or_default());
    }

    fn durations(&mut self, [section, group, name, detail, what]: [&str; 5], d: &Durations) {
        let metric = |m: &str| format!("{what}_{m}");
        let count = metric("count");
        self.number([section, group, name, detail, &count], d.count);
        let median = metric("median_minutes");
        self.float([section, group, name, detail, &median], d.median_minutes);
        let p90 = metric("p90_minutes");
        self.float([section, group, name, detail, &p90], d.p90_minutes);
    }
}

/// One CSV field: text a spreadsheet would run as a formula (starting with `=`, `+`, `-`,
/// `@`, a tab or a carriage return) gets a leading `'`; a field holding a comma, a quote or a
/// line break is quoted, its quotes doubled (RFC 4180).
pub fn csv_field(text: &str) -> String {
    let text = if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_string()
    };
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

pub use crate::html::escape as escape_html;

/// A wall time as UTC text, to the minute.
fn utc(ms: i64) -> String {
    let text = seam_model::Ts(ms).to_string();
    // `2026-03-02T09:15:00.000Z` → `2026-03-02 09:15 UTC`; what is not a calendar time stays.
    match (text.get(..10), text.get(11..16)) {
        (Some(day), Some(time)) if text.ends_with('Z') => format!("{day} {time} UTC"),
        _ => text,
    }
}

fn show_minutes(minutes: Option<f64>) -> String {
    match minutes.filter(|m| m.is_finite()) {
        None => "–".to_string(),
        Some(m) if m < 10.0 => format!("{m:.1} min"),
        Some(m) if m < 120.0 => format!("{m:.0} min"),
        Some(m) if m < 48.0 * 60.0 => format!("{:.1} h", m / 60.0),
        Some(m) => format!("{:.1} d", m / (24.0 * 60.0)),
    }
}

fn show_share(share: Option<f64>) -> String {
    match share.filter(|s| s.is_finite()) {
        Some(share) => format!("{:.1}%", share * 100.0),
        None => "–".to_string(),
    }
}

fn show_float(value: Option<f64>) -> String {
    match value.filter(|v| v.is_finite()) {
        Some(value) => format!("{value:.1}"),
        None => "–".to_string(),
    }
}

fn show_targets(counts: Option<TargetCounts>) -> [String; 4] {
    match counts {
        Some(c) => {
            [c.met, c.missed, c.open_past_target, c.open_within_target].map(|n| n.to_string())
        }
        None => ["–", "–", "–", "–"].map(str::to_string),
    }
}

const STYLE: &str = "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;\
margin:2rem auto;max-width:72rem;padding:0 1rem;color:#1b1f24;line-height:1.4}\
h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.2rem;margin-top:2rem;\
border-bottom:2px solid #d0d7de;padding-bottom:.2rem}h3{font-size:1rem;margin-top:1.2rem}\
.period{color:#57606a;margin-top:0}\
.tiles{display:flex;flex-wrap:wrap;gap:1rem;margin:1rem 0}\
.tile{border:1px solid #d0d7de;border-radius:6px;padding:.6rem 1rem;min-width:9rem}\
.tile b{display:block;font-size:1.5rem}.tile span{color:#57606a;font-size:.85rem}\
table{border-collapse:collapse;margin:.5rem 0 1rem;font-size:.9rem}\
th,td{border:1px solid #d0d7de;padding:.3rem .6rem;text-align:left;vertical-align:top}\
th{background:#f6f8fa}td.n{text-align:right;font-variant-numeric:tabular-nums}\
.none{color:#57606a;font-style:italic}\
@media print{body{margin:0;max-width:none}h2{break-after:avoid}}";

/// The report as one self-contained HTML page: inline CSS, no scripts, every text escaped.
pub fn to_html(report: &Report) -> String {
    let mut html = String::new();
    html.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    // Nothing but the inline style may load or run, should text ever slip through unescaped.
    html.push_str(
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; \
         style-src 'unsafe-inline'\">\n",
    );
    let period = format!("{} to {}", utc(report.from), utc(report.to));
    html.push_str(&format!(
        "<title>Security report, {}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n",
        escape_html(&period)
    ));
    html.push_str("<h1>Security report</h1>\n");
    html.push_str(&format!(
        "<p class=\"period\">{} (end excluded)</p>\n",
        escape_html(&period)
    ));

    let findings = &report.findings;
    html.push_str("<h2>Findings</h2>\n<div class=\"tiles\">\n");
    for (figure, label) in [
        (findings.total.to_string(), "findings"),
        (findings.cross_domain.to_string(), "cross-domain"),
        (
            show_share(Some(findings.cross_domain_share)),
            "cross-domain share",
        ),
        (findings.suppressed.to_string(), "suppressed (counted)"),
    ] {
        html.push_str(&format!(
            "<div class=\"tile\"><b>{}</b><span>{}</span></div>\n",
            escape_html(&figure),
            escape_html(label)
        ));
    }
    html.push_str("</div>\n");
    table(
        &mut html,
        &["Domain", "Findings", "Of which suppressed"],
        findings
            .by_domain
            .iter()
            .map(|r| {
                vec![
                    r.domain.clone(),
                    r.count.to_string(),
                    r.suppressed.to_string(),
                ]
            })
            .collect(),
    );
    table(
        &mut html,
        &["Severity", "Findings", "Of which suppressed"],
        findings
            .by_severity
            .iter()
            .map(|r| {
                vec![
                    r.severity.clone(),
                    r.count.to_string(),
                    r.suppressed.to_string(),
                ]
            })
            .collect(),
    );

    html.push_str("<h2>Response</h2>\n<h3>Findings, by team (suppressed ones left out)</h3>\n");
    table(
        &mut html,
        &[
            "Team",
            "Findings",
            "Acknowledged",
            "Median to acknowledge",
            "90% within",
            "Not acknowledged",
            "Closed",
            "Median to close",
            "90% within",
            "Open",
        ],
        report
            .response
            .findings_by_team
            .iter()
            .map(|r| {
                vec![
                    r.team.clone(),
                    r.findings.to_string(),
                    r.acknowledge.count.to_string(),
                    show_minutes(r.acknowledge.median_minutes),
                    show_minutes(r.acknowledge.p90_minutes),
                    r.unacknowledged.to_string(),
                    r.close.count.to_string(),
                    show_minutes(r.close.median_minutes),
                    show_minutes(r.close.p90_minutes),
                    r.open.to_string(),
                ]
            })
            .collect(),
    );
    html.push_str("<h3>Cases opened in the period, against their type's targets</h3>\n");
    table(
        &mut html,
        &[
            "Case type",
            "Cases",
            "Acknowledge target",
            "Met",
            "Missed",
            "Open, past target",
            "Open, within target",
            "Median to acknowledge",
            "Close target",
            "Met",
            "Missed",
            "Open, past target",
            "Open, within target",
            "Median to close",
        ],
        report
            .response
            .cases_by_type
            .iter()
            .map(|r| {
                let mut cells = vec![
                    r.name.clone(),
                    r.cases.to_string(),
                    r.acknowledge_target_minutes
                        .map_or("–".to_string(), |m| format!("{m} min")),
                ];
                cells.extend(show_targets(r.acknowledge));
                cells.push(show_minutes(r.acknowledge_times.median_minutes));
                cells.push(
                    r.close_target_hours
                        .map_or("–".to_string(), |h| format!("{h} h")),
                );
                cells.extend(show_targets(r.close));
                cells.push(show_minutes(r.close_times.median_minutes));
                cells
            })
            .collect(),
    );
    html.push_str("<h3>Case tasks due in the period, by team</h3>\n");
    table(
        &mut html,
        &["Team", "Due", "Done on time", "Done late", "Overdue, open"],
        report
            .response
            .tasks_by_team
            .iter()
            .map(|r| {
                vec![
                    r.team.clone(),
                    r.due.to_string(),
                    r.done_on_time.to_string(),
                    r.done_late.to_string(),
                    r.overdue_open.to_string(),
                ]
            })
            .collect(),
    );

    let cases = &report.cases;
    html.push_str("<h2>Cases</h2>\n");
    table(
        &mut html,
        &["Opened", "Closed", "Merged"],
        vec![vec![
            cases.opened.to_string(),
            cases.closed.to_string(),
            cases.merged.to_string(),
        ]],
    );
    for (title, what, map) in [
        ("Opened, by type", "Case type", &cases.opened_by_type),
        ("Opened, by status now", "Status", &cases.opened_by_status),
        ("Closed, by type", "Case type", &cases.closed_by_type),
        (
            "Closed, by disposition",
            "Disposition",
            &cases.closed_by_disposition,
        ),
    ] {
        html.push_str(&format!("<h3>{}</h3>\n", escape_html(title)));
        table(
            &mut html,
            &[what, "Cases"],
            map.iter()
                .map(|(key, count)| vec![key.clone(), count.to_string()])
                .collect(),
        );
    }

    html.push_str("<h2>Access hygiene</h2>\n");
    table(
        &mut html,
        &["Issue", "Count"],
        report
            .hygiene
            .iter()
            .map(|s| vec![s.title.clone(), s.count.to_string()])
            .collect(),
    );
    for section in report.hygiene.iter().filter(|s| s.count > 0) {
        html.push_str(&format!("<h3>{}</h3>\n", escape_html(&section.title)));
        table_text(
            &mut html,
            &["Person", "Badge, account or visit", "Detail"],
            section
                .items
                .iter()
                .map(|i| vec![i.person.clone(), i.identifier.clone(), i.detail.clone()])
                .collect(),
        );
    }

    html.push_str("<h2>Space use, by zone and hour</h2>\n");
    table(
        &mut html,
        &[
            "Zone",
            "Site",
            "Hour",
            "People-hours",
            "Peak",
            "Days",
            "People on an average day",
        ],
        report
            .space
            .iter()
            .map(|r| {
                vec![
                    r.zone.clone(),
                    r.site.clone().unwrap_or_default(),
                    format!("{:02}:00", r.hour_of_day),
                    show_float(Some(r.people_hours)),
                    r.peak.to_string(),
                    r.days.to_string(),
                    show_float(r.average_people),
                ]
            })
            .collect(),
    );

    html.push_str("<h2>Rules that fired</h2>\n");
    table(
        &mut html,
        &[
            "Rule",
            "Findings",
            "Suppressed",
            "Closed",
            "True",
            "Benign true",
            "False",
            "False-positive rate",
        ],
        report
            .rules
            .iter()
            .map(|r| {
                vec![
                    r.rule.clone(),
                    r.count.to_string(),
                    r.suppressed.to_string(),
                    r.closed.to_string(),
                    r.true_positive.to_string(),
                    r.benign_true_positive.to_string(),
                    r.false_positive.to_string(),
                    show_share(r.false_positive_rate),
                ]
            })
            .collect(),
    );
    html.push_str("</body>\n</html>\n");
    html
}

/// A table whose first column names the row and whose other columns are figures.
fn table(html: &mut String, headers: &[&str], rows: Vec<Vec<String>>) {
    write_table(html, headers, rows, true);
}

/// A table of text only.
fn table_text(html: &mut String, headers: &[&str], rows: Vec<Vec<String>>) {
    write_table(html, headers, rows, false);
}

fn write_table(html: &mut String, headers: &[&str], rows: Vec<Vec<String>>, figures: bool) {
    crate::html::table(html, headers, &rows, &|index| {
        (figures && index > 0 && !is_text_column(headers, index)).then_some("n")
    });
}

/// The columns of figure tables that hold names rather than figures.
fn is_text_column(headers: &[&str], index: usize) -> bool {
    headers.get(index).is_some_and(|h| *h == "Site")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::case::{CaseChange, CaseDraft, CaseStatus};

    const MIN: i64 = 60_000;
    const HOUR: i64 = 60 * MIN;
    const DAY: i64 = 24 * HOUR;
    /// 2026-03-01T00:00:00Z.
    const FROM: i64 = 1_772_323_200_000;
    const TO: i64 = FROM + 7 * DAY;

    struct F {
        uid: &'static str,
        rule: &'static str,
        time: i64,
        severity_id: u8,
        team: Option<Team>,
        stored_after: Option<i64>,
        acknowledged_after: Option<i64>,
        closed: Option<(i64, Disposition)>,
        suppressed: bool,
    }

    fn finding(f: F) -> ReportFinding {
        let start = f.time + f.stored_after.unwrap_or(0);
        let status = match (f.closed, f.acknowledged_after) {
            (Some(_), _) => TriageStatus::Closed,
            (None, Some(_)) => TriageStatus::InProgress,
            (None, None) => TriageStatus::New,
        };
        ReportFinding {
            facts: FindingFacts {
                uid: f.uid.into(),
                rule: f.rule.into(),
                time: f.time,
                severity_id: f.severity_id,
                ..FindingFacts::default()
            },
            triage: TriageState {
                status,
                disposition: f.closed.map(|(_, d)| d),
                team: f.team,
                acknowledged_at: f.acknowledged_after.map(|after| start + after),
                closed_at: f.closed.map(|(after, _)| start + after),
                ..TriageState::default()
            },
            suppressed: f.suppressed,
            stored_at: f.stored_after.map(|after| f.time + after),
        }
    }

    fn base() -> F {
        F {
            uid: "f",
            rule: "seam.tailgating-occupancy",
            time: FROM + HOUR,
            severity_id: 3,
            team: None,
            stored_after: None,
            acknowledged_after: None,
            closed: None,
            suppressed: false,
        }
    }

    fn findings() -> Vec<ReportFinding> {
        use Disposition::*;
        vec![
            // Physical: acknowledged 10 and 20 minutes after being stored, closed after 60 and
            // 120; one stored a minute after its event, one without a stored time.
            finding(F {
                uid: "f1",
                team: Some(Team::Physical),
                stored_after: Some(MIN),
                acknowledged_after: Some(10 * MIN),
                closed: Some((60 * MIN, FalsePositive)),
                ..base()
            }),
            finding(F {
                uid: "f2",
                severity_id: 4,
                team: Some(Team::Physical),
                acknowledged_after: Some(20 * MIN),
                closed: Some((120 * MIN, TruePositive)),
                ..base()
            }),
            // Cross-domain by the words of its rule.
            finding(F {
                uid: "f3",
                rule: "seam.onsite-offsite-signin",
                severity_id: 4,
                team: Some(Team::Cyber),
                acknowledged_after: Some(5 * MIN),
                closed: Some((30 * MIN, FalsePositive)),
                ..base()
            }),
            // Cyber by its words, cross-domain by its declared tag; still open.
            {
                let mut f = finding(F {
                    uid: "f4",
                    rule: "seam.impossible-travel",
                    severity_id: 5,
                    team: Some(Team::Cyber),
                    acknowledged_after: Some(15 * MIN),
                    ..base()
                });
                f.facts.declared_domain = Some(Domain::CrossDomain);
                f
            },
            // Suppressed: counted, left out of response times.
            finding(F {
                uid: "f5",
                rule: "okta-mfa-fatigue",
                severity_id: 2,
                suppressed: true,
                ..base()
            }),
            finding(F {
                uid: "f6",
                rule: "seam.onsite-offsite-signin",
                acknowledged_after: Some(40 * MIN),
                closed: Some((50 * MIN, BenignTruePositive)),
                ..base()
            }),
            // Outside the period, on both sides.
            finding(F {
                uid: "f7",
                time: TO,
                team: Some(Team::Physical),
                acknowledged_after: Some(MIN),
                closed: Some((MIN, FalsePositive)),
                ..base()
            }),
            finding(F {
                uid: "f8",
                time: FROM - 1,
                closed: Some((MIN, FalsePositive)),
                ..base()
            }),
        ]
    }

    fn status(status: CaseStatus, disposition: Option<Disposition>) -> CaseChange {
        CaseChange::Status {
            status,
            disposition,
        }
    }

    fn open_case(id: &str, kind: Option<&str>, at: i64, procedures: &Procedures) -> Case {
        let tasks = kind
            .and_then(|k| procedures.get(k))
            .map(|t| t.tasks(at))
            .unwrap_or_default();
        let draft = CaseDraft {
            title: format!("case {id}"),
            kind: kind.map(str::to_string),
            ..CaseDraft::default()
        };
        Case::open(id.into(), draft, tasks, "ann", at).unwrap()
    }

    fn cases(procedures: &Procedures) -> Vec<Case> {
        // Physical intrusion (acknowledge in 15 min, close in 24 h; tasks: physical then
        // cyber, each due in 60 min): acknowledged in 10 min, closed in 30 h; the physical
        // task done in 45 min, the cyber one in 90.
        let t1 = FROM + 2 * HOUR;
        let c1 = open_case("C-1", Some("physical-intrusion"), t1, procedures)
            .apply(
                &status(CaseStatus::Investigating, None),
                "bob",
                t1 + 10 * MIN,
            )
            .unwrap()
            .apply(&CaseChange::CompleteTask { task: 1 }, "bob", t1 + 45 * MIN)
            .unwrap()
            .apply(&CaseChange::CompleteTask { task: 2 }, "cy", t1 + 90 * MIN)
            .unwrap()
            .apply(
                &status(CaseStatus::Closed, Some(Disposition::TruePositive)),
                "bob",
                t1 + 30 * HOUR,
            )
            .unwrap();
        // Account compromise (15 min, 8 h; tasks: cyber due in 30 min, physical in 60),
        // opened two hours before the end and not acknowledged; the physical task was done
        // only after the end, so at the end it was overdue and open.
        let t2 = TO - 2 * HOUR;
        let c2 = open_case("C-2", Some("account-compromise"), t2, procedures)
            .apply(&CaseChange::CompleteTask { task: 2 }, "bob", TO + 10 * MIN)
            .unwrap();
        // Untyped, opened before the period, closed in it.
        let c3 = open_case("C-3", None, FROM - DAY, procedures)
            .apply(
                &status(CaseStatus::Closed, Some(Disposition::FalsePositive)),
                "cy",
                FROM + DAY,
            )
            .unwrap();
        vec![c1, c2, c3]
    }

    fn item(person: &str, identifier: &str, detail: &str) -> HygieneItem {
        HygieneItem {
            person: person.into(),
            identifier: identifier.into(),
            detail: detail.into(),
        }
    }

    fn zone_hour(zone: &str, hour_of_day: u8, people_hours: f64, days: u32) -> ZoneHour {
        ZoneHour {
            zone: zone.into(),
            site: Some("hq".into()),
            hour_of_day,
            people_hours,
            peak: 7,
            days,
        }
    }

    fn input() -> ReportInput {
        let procedures = Procedures::default();
        ReportInput {
            as_of: None,
            from: FROM,
            to: TO,
            findings: findings(),
            cases: cases(&procedures),
            procedures,
            hygiene: Hygiene {
                left_with_badges: vec![
                    item("zoe", "badge-9", "left 2026-02-01"),
                    item("bob", "badge-2", "<script>alert(1)</script>"),
                ],
                dormant_accounts: vec![item("=cmd|' /C calc'!A0", "acct-1", "90 days, idle")],
                ..Hygiene::default()
            },
            occupancy: vec![
                zone_hour("lab", 9, 14.0, 7),
                zone_hour("hq-office", 10, 35.0, 7),
                zone_hour("hq-office", 9, 21.0, 0),
            ],
        }
    }

    fn minutes(m: f64) -> Option<f64> {
        Some(m)
    }

    #[test]
    fn findings_are_counted_by_domain_severity_and_suppression() {
        let report = build(&input());
        let f = &report.findings;
        assert_eq!(f.total, 6, "the two outside the period are not counted");
        assert_eq!(f.suppressed, 1);
        assert_eq!(f.cross_domain, 3);
        assert_eq!(f.cross_domain_share, 0.5);
        let domains: Vec<(&str, usize, usize)> = f
            .by_domain
            .iter()
            .map(|r| (r.domain.as_str(), r.count, r.suppressed))
            .collect();
        assert_eq!(
            domains,
            [("physical", 2, 0), ("cyber", 1, 1), ("cross-domain", 3, 0)]
        );
        let severities: Vec<(u8, &str, usize)> = f
            .by_severity
            .iter()
            .map(|r| (r.severity_id, r.severity.as_str(), r.count))
            .collect();
        assert_eq!(
            severities,
            [
                (5, "critical", 1),
                (4, "high", 2),
                (3, "medium", 2),
                (2, "low", 1)
            ]
        );
    }

    #[test]
    fn finding_response_times_are_per_team() {
        let report = build(&input());
        let [physical, cyber, unassigned] = &report.response.findings_by_team[..] else {
            panic!("three rows: {:?}", report.response.findings_by_team);
        };
        assert_eq!(physical.team, "physical");
        assert_eq!(physical.findings, 2, "f7 is after the end");
        assert_eq!(
            physical.acknowledge,
            Durations {
                count: 2,
                median_minutes: minutes(15.0),
                p90_minutes: minutes(20.0),
            }
        );
        assert_eq!(physical.close.median_minutes, minutes(90.0));
        assert_eq!(physical.close.p90_minutes, minutes(120.0));
        assert_eq!((physical.unacknowledged, physical.open), (0, 0));

        assert_eq!(cyber.findings, 2);
        assert_eq!(cyber.acknowledge.median_minutes, minutes(10.0));
        assert_eq!(cyber.acknowledge.p90_minutes, minutes(15.0));
        assert_eq!(
            cyber.close,
            Durations {
                count: 1,
                median_minutes: minutes(30.0),
                p90_minutes: minutes(30.0),
            }
        );
        assert_eq!(cyber.open, 1);

        assert_eq!(unassigned.team, "unassigned");
        assert_eq!(unassigned.findings, 1, "the suppressed one is left out");
        assert_eq!(unassigned.acknowledge.median_minutes, minutes(40.0));
        assert_eq!(unassigned.close.median_minutes, minutes(50.0));
    }

    #[test]
    fn what_happens_after_the_end_has_not_happened_yet() {
        let mut input = input();
        // f4 acknowledged only after the end: unacknowledged in this report.
        input.findings[3].triage.acknowledged_at = Some(TO + MIN);
        let report = build(&input);
        let cyber = &report.response.findings_by_team[1];
        assert_eq!(cyber.acknowledge.count, 1);
        assert_eq!(cyber.unacknowledged, 1);
    }

    #[test]
    fn cases_are_held_to_their_type_targets() {
        let report = build(&input());
        let rows = &report.response.cases_by_type;
        let procedures = Procedures::default();
        let shipped: Vec<&str> = procedures.types.iter().map(|t| t.id.as_str()).collect();
        let listed: Vec<&str> = rows.iter().map(|r| r.case_type.as_str()).collect();
        assert_eq!(listed, shipped, "C-3 was opened before the period");
        let row = |id: &str| rows.iter().find(|r| r.case_type == id).unwrap();

        let intrusion = row("physical-intrusion");
        assert_eq!(intrusion.cases, 1);
        assert_eq!(intrusion.acknowledge_target_minutes, Some(15));
        assert_eq!(intrusion.close_target_hours, Some(24));
        assert_eq!(
            intrusion.acknowledge,
            Some(TargetCounts {
                met: 1,
                ..TargetCounts::default()
            })
        );
        assert_eq!(
            intrusion.close,
            Some(TargetCounts {
                missed: 1,
                ..TargetCounts::default()
            })
        );
        assert_eq!(intrusion.acknowledge_times.median_minutes, minutes(10.0));
        assert_eq!(intrusion.close_times.median_minutes, minutes(30.0 * 60.0));

        let account = row("account-compromise");
        assert_eq!(
            account.acknowledge,
            Some(TargetCounts {
                open_past_target: 1,
                ..TargetCounts::default()
            })
        );
        assert_eq!(
            account.close,
            Some(TargetCounts {
                open_within_target: 1,
                ..TargetCounts::default()
            })
        );
        assert_eq!(account.acknowledge_times.count, 0);

        let idle = row("rogue-device");
        assert_eq!(idle.cases, 0);
        assert_eq!(idle.acknowledge, Some(TargetCounts::default()));
        assert_eq!(idle.acknowledge_times.median_minutes, None);
    }

    #[test]
    fn untyped_and_unknown_cases_get_rows_without_targets() {
        let mut input = input();
        let procedures = Procedures::default();
        input
            .cases
            .push(open_case("C-4", None, FROM + HOUR, &procedures));
        input.cases.push(open_case(
            "C-5",
            Some("retired-type"),
            FROM + HOUR,
            &procedures,
        ));
        let report = build(&input);
        let rows = &report.response.cases_by_type;
        let last: Vec<(&str, usize, Option<TargetCounts>)> = rows
            .iter()
            .rev()
            .take(2)
            .map(|r| (r.case_type.as_str(), r.cases, r.acknowledge))
            .collect();
        assert_eq!(last, [(UNTYPED, 1, None), ("retired-type", 1, None)]);
    }

    #[test]
    fn case_tasks_are_on_time_late_or_overdue() {
        let report = build(&input());
        let tasks = &report.response.tasks_by_team;
        assert_eq!(
            tasks,
            &[
                TeamTasks {
                    team: "physical".into(),
                    due: 2,
                    done_on_time: 1,
                    done_late: 0,
                    overdue_open: 1,
                },
                TeamTasks {
                    team: "cyber".into(),
                    due: 2,
                    done_on_time: 0,
                    done_late: 1,
                    overdue_open: 1,
                },
            ]
        );
    }

    #[test]
    fn merged_cases_are_counted_apart_and_not_judged() {
        let mut input = input();
        let procedures = Procedures::default();
        let target = open_case("C-6", None, FROM + HOUR, &procedures);
        let source = open_case("C-7", Some("rogue-device"), FROM + HOUR, &procedures);
        let (target, source) = target.merge(&source, "ann", FROM + 2 * HOUR).unwrap();
        input.cases.extend([target, source]);
        let report = build(&input);
        assert_eq!(report.cases.merged, 1);
        assert_eq!(report.cases.closed, 2);
        let rogue = report
            .response
            .cases_by_type
            .iter()
            .find(|r| r.case_type == "rogue-device")
            .unwrap();
        assert_eq!(rogue.cases, 0);
        // The tasks moved to C-6 are counted once: C-6 is untyped and holds them.
        let due: usize = report.response.tasks_by_team.iter().map(|t| t.due).sum();
        assert_eq!(due, 4 + 2);
    }

    #[test]
    fn cases_opened_and_closed_in_the_period() {
        let report = build(&input());
        let c = &report.cases;
        assert_eq!((c.opened, c.closed, c.merged), (2, 2, 0));
        let map = |pairs: &[(&str, usize)]| -> BTreeMap<String, usize> {
            pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
        };
        assert_eq!(
            c.opened_by_type,
            map(&[("account-compromise", 1), ("physical-intrusion", 1)])
        );
        assert_eq!(c.opened_by_status, map(&[("closed", 1), ("open", 1)]));
        assert_eq!(
            c.closed_by_type,
            map(&[("physical-intrusion", 1), (UNTYPED, 1)])
        );
        assert_eq!(
            c.closed_by_disposition,
            map(&[("false_positive", 1), ("true_positive", 1)])
        );
    }

    #[test]
    fn rules_are_ranked_with_their_false_positive_rate() {
        let report = build(&input());
        let rows: Vec<(&str, usize, usize, usize, Option<f64>)> = report
            .rules
            .iter()
            .map(|r| {
                (
                    r.rule.as_str(),
                    r.count,
                    r.closed,
                    r.false_positive,
                    r.false_positive_rate,
                )
            })
            .collect();
        assert_eq!(
            rows,
            [
                ("seam.onsite-offsite-signin", 2, 2, 1, Some(0.5)),
                ("seam.tailgating-occupancy", 2, 2, 1, Some(0.5)),
                ("okta-mfa-fatigue", 1, 0, 0, None),
                ("seam.impossible-travel", 1, 0, 0, None),
            ]
        );
        let signin = &report.rules[0];
        assert_eq!((signin.true_positive, signin.benign_true_positive), (0, 1));
        assert_eq!(report.rules[1].true_positive, 1);
        assert_eq!(report.rules[2].suppressed, 1);
    }

    #[test]
    fn hygiene_and_space_are_passed_through_in_order() {
        let report = build(&input());
        let kinds: Vec<(&str, usize)> = report
            .hygiene
            .iter()
            .map(|s| (s.kind.as_str(), s.count))
            .collect();
        assert_eq!(
            kinds,
            [
                ("left_with_badges", 2),
                ("dormant_badges", 0),
                ("dormant_accounts", 1),
                ("badges_never_used", 0),
                ("visitors_past_window", 0),
            ]
        );
        assert_eq!(report.hygiene[0].items[0].person, "bob");
        let space: Vec<(&str, u8, Option<f64>)> = report
            .space
            .iter()
            .map(|r| (r.zone.as_str(), r.hour_of_day, r.average_people))
            .collect();
        assert_eq!(
            space,
            [
                ("hq-office", 9, None),
                ("hq-office", 10, Some(5.0)),
                ("lab", 9, Some(2.0)),
            ]
        );
    }

    #[test]
    fn an_empty_input_gives_zeros() {
        let empty = ReportInput {
            as_of: None,
            from: FROM,
            to: TO,
            findings: Vec::new(),
            cases: Vec::new(),
            procedures: Procedures::default(),
            hygiene: Hygiene::default(),
            occupancy: Vec::new(),
        };
        let report = build(&empty);
        assert_eq!(report.findings.total, 0);
        assert_eq!(report.findings.cross_domain_share, 0.0);
        assert_eq!(report.findings.by_domain.len(), 3);
        assert!(report.findings.by_domain.iter().all(|r| r.count == 0));
        assert!(report.findings.by_severity.is_empty());
        for row in &report.response.findings_by_team {
            assert_eq!(row.findings, 0);
            assert_eq!(row.acknowledge, Durations::default());
            assert_eq!(row.close, Durations::default());
        }
        for row in &report.response.cases_by_type {
            assert_eq!(row.cases, 0);
            assert_eq!(row.acknowledge, Some(TargetCounts::default()));
        }
        assert!(report.response.tasks_by_team.iter().all(|t| t.due == 0));
        assert_eq!(report.cases, CaseFigures::default());
        assert!(report.hygiene.iter().all(|s| s.count == 0));
        assert!(report.space.is_empty() && report.rules.is_empty());
        let json = to_json(&report);
        assert!(!json.contains("NaN") && !json.contains("null,\n  \"cross"));
        assert!(!to_csv(&report).contains("NaN"));
        assert!(!to_html(&report).contains("NaN"));
        // A period that ends before it starts holds nothing either.
        let backwards = build(&ReportInput {
            as_of: None,
            from: TO,
            to: FROM,
            ..input()
        });
        assert_eq!(backwards.findings.total, 0);
        assert_eq!(backwards.cases.opened, 0);
    }

    #[test]
    fn durations_take_the_middle_and_the_nearest_rank() {
        let d = durations((1..=10).map(|m| m * MIN).collect());
        assert_eq!(d.median_minutes, minutes(5.5));
        assert_eq!(d.p90_minutes, minutes(9.0));
        let d = durations(vec![3 * MIN, -MIN, MIN]);
        assert_eq!(d.median_minutes, minutes(1.0));
        assert_eq!(d.p90_minutes, minutes(3.0));
        assert_eq!(durations(Vec::new()), Durations::default());
    }

    #[test]
    fn csv_fields_are_quoted_and_defused() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field(""), "");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("two\nlines"), "\"two\nlines\"");
        assert_eq!(csv_field("cr\r\nlf"), "\"cr\r\nlf\"");
        assert_eq!(csv_field("=1+2"), "'=1+2");
        assert_eq!(csv_field("+1"), "'+1");
        assert_eq!(csv_field("-1"), "'-1");
        assert_eq!(csv_field("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(csv_field("\tx"), "'\tx");
        assert_eq!(
            csv_field("=HYPERLINK(\"http://x\",\"y\")"),
            "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\""
        );
        assert_eq!(csv_field("a=b"), "a=b", "only a leading sign is a formula");
    }

    #[test]
    fn the_csv_has_one_section_column_and_six_fields_a_row() {
        let report = build(&input());
        let csv = to_csv(&report);
        assert!(csv.starts_with("section,group,name,detail,metric,value\r\n"));
        assert!(csv.contains("findings,all,,,cross_domain_share,0.5\r\n"));
        assert!(csv.contains("finding_response,physical,,,acknowledge_median_minutes,15\r\n"));
        assert!(csv.contains("rules,seam.tailgating-occupancy,,,false_positive_rate,0.5\r\n"));
        assert!(csv.contains("rules,okta-mfa-fatigue,,,false_positive_rate,\r\n"));
        assert!(csv.contains("case_tasks,cyber,,,overdue_open,1\r\n"));
        assert!(csv.contains(
            "hygiene,dormant_accounts,'=cmd|' /C calc'!A0,acct-1,item,\"90 days, idle\"\r\n"
        ));
        assert!(csv.contains("space,hq-office,hq,9,average_people,\r\n"));
        // Every row has six fields once quoted fields are read as one.
        for line in csv.split("\r\n").filter(|l| !l.is_empty()) {
            let mut fields = 1;
            let mut quoted = false;
            for c in line.chars() {
                match c {
                    '"' => quoted = !quoted,
                    ',' if !quoted => fields += 1,
                    _ => {}
                }
            }
            assert_eq!(fields, 6, "{line}");
        }
    }

    #[test]
    fn html_text_is_escaped() {
        assert_eq!(
            escape_html("<script>alert('x') & \"y\"</script>"),
            "&lt;script&gt;alert(&#39;x&#39;) &amp; &quot;y&quot;&lt;/script&gt;"
        );
        assert_eq!(escape_html("plain"), "plain");
    }

    #[test]
    fn the_html_page_is_self_contained_and_holds_no_script() {
        let report = build(&input());
        let html = to_html(&report);
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert!(!html.to_lowercase().contains("<script"));
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(!html.contains("src=") && !html.contains("href="));
        assert!(html.contains("<style>"));
        assert!(html.contains("2026-03-01 00:00 UTC to 2026-03-08 00:00 UTC"));
        assert!(html.contains("<b>50.0%</b>"));
        assert!(html.ends_with("</html>\n"));
    }

    #[test]
    fn the_json_carries_every_section() {
        let report = build(&input());
        let json: serde_json::Value = serde_json::from_str(&to_json(&report)).unwrap();
        assert_eq!(json["findings"]["cross_domain_share"], 0.5);
        assert_eq!(json["response"]["tasks_by_team"][1]["done_late"], 1);
        assert_eq!(
            json["rules"][2]["false_positive_rate"],
            serde_json::Value::Null
        );
        assert_eq!(json["hygiene"][0]["items"][0]["person"], "bob");
        assert_eq!(json["cases"]["closed_by_disposition"]["true_positive"], 1);
    }
}
