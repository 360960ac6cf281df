//! Detection quality: findings scored against the ground truth of a simulation.
//!
//! A finding belongs to a scenario when one of its evidence events is one of the scenario's
//! events, or, failing that, when it is about one of the scenario's people within four hours
//! after the attack began (the attack's consequences, such as a presence it faked, are caught
//! by other rules later). Every other finding is a false positive.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use seam_model::Finding;
use serde::Serialize;

use crate::truth::Scenario;

/// How long after an attack a finding about its victim still counts as its consequence.
const CONSEQUENCE_WINDOW_MS: i64 = 4 * 3_600_000;

/// One scenario's result.
#[derive(Clone, Debug, Serialize)]
pub struct ScenarioResult {
    pub scenario: String,
    pub kind: String,
    pub detected: bool,
    /// From the attack's first event to the first finding that saw it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_to_detect_s: Option<f64>,
    pub rules: Vec<String>,
}

/// Per kind of attack.
#[derive(Clone, Debug, Serialize)]
pub struct KindResult {
    pub kind: String,
    pub campaign: bool,
    pub scenarios: usize,
    pub detected: usize,
    pub recall: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub median_time_to_detect_s: Option<f64>,
    /// Rules that saw at least one scenario of the kind.
    pub detected_by: Vec<String>,
    pub expected_rules: Vec<String>,
}

/// Per rule.
#[derive(Clone, Debug, Serialize)]
pub struct RuleResult {
    pub rule: String,
    pub findings: usize,
    pub true_positives: usize,
    pub false_positives: usize,
}

/// The whole evaluation; serialized as the `--json` output.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub recall: f64,
    pub precision: f64,
    pub fp_per_1000_person_days: f64,
    pub scenarios: usize,
    pub detected: usize,
    pub findings: usize,
    pub false_positives: usize,
    /// False findings as an analyst meets them: one alert per rule, person (or, for findings
    /// about no person, the finding's group such as a site or a zone) and UTC day.
    pub false_alerts: usize,
    pub false_alerts_per_1000_person_days: f64,
    pub person_days: u64,
    pub kinds: Vec<KindResult>,
    pub rules: Vec<RuleResult>,
    pub missed: Vec<String>,
    pub scenario_results: Vec<ScenarioResult>,
    /// Findings per UTC day (`YYYY-MM-DD`): (true, false).
    pub per_day: BTreeMap<String, (usize, usize)>,
    /// Benign look-alikes by family: how often each was flagged (see [`evaluate_lookalikes`]).
    pub lookalikes: Vec<LookAlikeResult>,
}

/// How one family of benign look-alikes fared.
#[derive(Clone, Debug, Serialize)]
pub struct LookAlikeResult {
    pub family: String,
    pub instances: usize,
    /// Instances some finding was raised on.
    pub flagged: usize,
    pub rate: f64,
    /// The rules that flagged them.
    pub flagged_by: Vec<String>,
}

/// Scores benign look-alikes: an instance is flagged when a finding rests on one of its events
/// (its evidence names it). Findings about the same person for other reasons do not count: a
/// family such as a workstation's background traffic spans a whole day. Findings that belong
/// to an attack (as [`evaluate`] attributes them: its events, or its people within the
/// consequence window) do not count either: an attack that faked someone's presence makes
/// their ordinary sign-in a consequence, not a look-alike's fault.
pub fn evaluate_lookalikes(
    lookalikes: &[Scenario],
    scenarios: &[Scenario],
    findings: &[Finding],
) -> Vec<LookAlikeResult> {
    let attack_events: BTreeSet<&str> = scenarios
        .iter()
        .flat_map(|s| s.events.iter().map(String::as_str))
        .collect();
    let belongs_to_an_attack = |finding: &Finding| {
        finding
            .finding_info
            .related_events
            .iter()
            .any(|event| attack_events.contains(event.uid.as_str()))
            || finding
                .unmapped
                .person_uid
                .as_deref()
                .is_some_and(|person| {
                    scenarios.iter().any(|s| {
                        s.people.iter().any(|p| p == person)
                            && finding.time >= s.start.millis()
                            && finding.time <= s.end.millis() + CONSEQUENCE_WINDOW_MS
                    })
                })
    };
    let mut by_event: HashMap<&str, usize> = HashMap::new();
    for (index, lookalike) in lookalikes.iter().enumerate() {
        for uid in &lookalike.events {
            by_event.insert(uid.as_str(), index);
        }
    }
    let mut flagged: Vec<BTreeSet<String>> = vec![BTreeSet::new(); lookalikes.len()];
    for finding in findings.iter().filter(|f| !belongs_to_an_attack(f)) {
        let rule = &finding.finding_info.analytic.uid;
        let hit: BTreeSet<usize> = finding
            .finding_info
            .related_events
            .iter()
            .filter_map(|event| by_event.get(event.uid.as_str()).copied())
            .collect();
        for index in hit {
            if let Some(rules) = flagged.get_mut(index) {
                rules.insert(rule.clone());
            }
        }
    }
    let mut families: BTreeMap<&str, (usize, usize, BTreeSet<String>)> = BTreeMap::new();
    for (lookalike, rules) in lookalikes.iter().zip(&flagged) {
        let entry = families.entry(lookalike.kind.as_str()).or_default();
        entry.0 += 1;
        if !rules.is_empty() {
            entry.1 += 1;
            entry.2.extend(rules.iter().cloned());
        }
    }
    families
        .into_iter()
        .map(|(family, (instances, flagged, rules))| LookAlikeResult {
            family: family.to_string(),
            instances,
            flagged,
            rate: ratio(flagged, instances),
            flagged_by: rules.into_iter().collect(),
        })
        .collect()
}

/// Scores `findings` against `scenarios` over `person_days` of simulated people.
pub fn evaluate(scenarios: &[Scenario], findings: &[Finding], person_days: u64) -> Report {
    // One event can belong to several attacks: an occupancy count with two intruders in it.
    let mut by_event: HashMap<&str, Vec<usize>> = HashMap::new();
    for (index, scenario) in scenarios.iter().enumerate() {
        for uid in &scenario.events {
            by_event.entry(uid.as_str()).or_default().push(index);
        }
    }
    let mut hits: Vec<Vec<(i64, String)>> = vec![Vec::new(); scenarios.len()];
    let mut rules: BTreeMap<String, RuleResult> = BTreeMap::new();
    let mut per_day: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let mut false_positives = 0;
    let mut false_alerts: BTreeSet<(String, String, String)> = BTreeSet::new();
    for finding in findings {
        let rule = finding.finding_info.analytic.uid.clone();
        let time = finding.time;
        let mut matched: Vec<usize> = finding
            .finding_info
            .related_events
            .iter()
            .filter_map(|event| by_event.get(event.uid.as_str()))
            .flatten()
            .copied()
            .collect();
        matched.sort_unstable();
        matched.dedup();
        let person = finding.unmapped.person_uid.as_deref();
        if matched.is_empty()
            && let Some(person) = person
            && let Some(index) = scenarios.iter().position(|s| {
                s.people.iter().any(|p| p == person)
                    && time >= s.start.millis()
                    && time <= s.end.millis() + CONSEQUENCE_WINDOW_MS
            })
        {
            matched.push(index);
        }
        let entry = rules.entry(rule.clone()).or_insert_with(|| RuleResult {
            rule: rule.clone(),
            findings: 0,
            true_positives: 0,
            false_positives: 0,
        });
        entry.findings += 1;
        let day = crate::calendar::utc_date(time).to_string();
        let counts = per_day.entry(day).or_default();
        if matched.is_empty() {
            entry.false_positives += 1;
            counts.1 += 1;
            false_positives += 1;
            let about = match person {
                Some(person) => person.to_string(),
                None => finding
                    .evidences
                    .first()
                    .map(|evidence| serde_json::Value::Object(evidence.data.clone()).to_string())
                    .unwrap_or_default(),
            };
            false_alerts.insert((
                rule.clone(),
                about,
                crate::calendar::utc_date(time).to_string(),
            ));
        } else {
            entry.true_positives += 1;
            counts.0 += 1;
            for index in matched {
                if let Some(list) = hits.get_mut(index) {
                    list.push((time, rule.clone()));
                }
            }
        }
    }
    let mut results = Vec::with_capacity(scenarios.len());
    for (scenario, hit) in scenarios.iter().zip(&hits) {
        let first = hit.iter().map(|(t, _)| *t).min();
        let rules: BTreeSet<String> = hit.iter().map(|(_, r)| r.clone()).collect();
        results.push(ScenarioResult {
            scenario: scenario.scenario.clone(),
            kind: scenario.kind.clone(),
            detected: first.is_some(),
            time_to_detect_s: first.map(|t| (t - scenario.start.millis()).max(0) as f64 / 1000.0),
            rules: rules.into_iter().collect(),
        });
    }
    let mut kinds: BTreeMap<String, (Vec<&ScenarioResult>, &Scenario)> = BTreeMap::new();
    for (result, scenario) in results.iter().zip(scenarios) {
        kinds
            .entry(result.kind.clone())
            .or_insert_with(|| (Vec::new(), scenario))
            .0
            .push(result);
    }
    let kinds = kinds
        .into_iter()
        .map(|(kind, (list, example))| {
            let detected = list.iter().filter(|r| r.detected).count();
            let mut times: Vec<f64> = list.iter().filter_map(|r| r.time_to_detect_s).collect();
            times.sort_by(f64::total_cmp);
            let detected_by: BTreeSet<String> =
                list.iter().flat_map(|r| r.rules.iter().cloned()).collect();
            KindResult {
                kind,
                campaign: example.campaign,
                scenarios: list.len(),
                detected,
                recall: ratio(detected, list.len()),
                median_time_to_detect_s: median(&times),
                detected_by: detected_by.into_iter().collect(),
                expected_rules: example.rules.clone(),
            }
        })
        .collect();
    let detected = results.iter().filter(|r| r.detected).count();
    let true_findings = findings.len() - false_positives;
    Report {
        recall: ratio(detected, scenarios.len()),
        precision: ratio(true_findings, findings.len()),
        fp_per_1000_person_days: if person_days == 0 {
            0.0
        } else {
            false_positives as f64 * 1000.0 / person_days as f64
        },
        scenarios: scenarios.len(),
        detected,
        findings: findings.len(),
        false_positives,
        false_alerts: false_alerts.len(),
        false_alerts_per_1000_person_days: if person_days == 0 {
            0.0
        } else {
            false_alerts.len() as f64 * 1000.0 / person_days as f64
        },
        person_days,
        kinds,
        lookalikes: Vec::new(),
        rules: rules.into_values().collect(),
        missed: results
            .iter()
            .filter(|r| !r.detected)
            .map(|r| r.scenario.clone())
            .collect(),
        scenario_results: results,
        per_day,
    }
}

/// `part / whole`, and 1 when there is nothing to measure (no scenarios: nothing missed).
fn ratio(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        1.0
    } else {
        part as f64 / whole as f64
    }
}

fn median(sorted: &[f64]) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let middle = sorted.len() / 2;
    if sorted.len() % 2 == 1 {
        sorted.get(middle).copied()
    } else {
        Some((sorted.get(middle - 1)? + sorted.get(middle)?) / 2.0)
    }
}

impl Report {
    /// The terminal table.
    pub fn table(&self) -> String {
        use std::fmt::Write as _;
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{:<34} {:>9} {:>8} {:>7} {:>12}  seen by",
            "attack", "scenarios", "detected", "recall", "median TTD"
        );
        for kind in &self.kinds {
            let ttd = kind
                .median_time_to_detect_s
                .map_or_else(|| "-".to_string(), human_duration);
            let name = if kind.campaign {
                format!("{} (campaign)", kind.kind)
            } else {
                kind.kind.clone()
            };
            let _ = writeln!(
                out,
                "{:<34} {:>9} {:>8} {:>7.2} {:>12}  {}",
                name,
                kind.scenarios,
                kind.detected,
                kind.recall,
                ttd,
                kind.detected_by.join(", ")
            );
        }
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "{:<40} {:>8} {:>6} {:>6}",
            "rule", "findings", "true", "false"
        );
        for rule in &self.rules {
            let _ = writeln!(
                out,
                "{:<40} {:>8} {:>6} {:>6}",
                rule.rule, rule.findings, rule.true_positives, rule.false_positives
            );
        }
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "recall {:.3} ({} of {} scenarios)   precision {:.3} ({} of {} findings)   \
             false positives {} = {:.2} per 1,000 person-days ({} person-days)",
            self.recall,
            self.detected,
            self.scenarios,
            self.precision,
            self.findings - self.false_positives,
            self.findings,
            self.false_positives,
            self.fp_per_1000_person_days,
            self.person_days
        );
        let _ = writeln!(
            out,
            "false alerts (one per rule, person or place, and day) {} = {:.2} per 1,000 person-days",
            self.false_alerts, self.false_alerts_per_1000_person_days
        );
        if !self.missed.is_empty() {
            let _ = writeln!(out, "missed: {}", self.missed.join(", "));
        }
        if !self.lookalikes.is_empty() {
            let _ = writeln!(out);
            let _ = writeln!(
                out,
                "{:<40} {:>9} {:>8} {:>7}  flagged by",
                "benign look-alike", "instances", "flagged", "rate"
            );
            for family in &self.lookalikes {
                let _ = writeln!(
                    out,
                    "{:<40} {:>9} {:>8} {:>7.3}  {}",
                    family.family,
                    family.instances,
                    family.flagged,
                    family.rate,
                    family.flagged_by.join(", ")
                );
            }
        }
        out
    }
}

/// `95 s`, `12 min`, `1.5 h`.
pub fn human_duration(seconds: f64) -> String {
    if seconds < 120.0 {
        format!("{seconds:.0} s")
    } else if seconds < 7200.0 {
        format!("{:.0} min", seconds / 60.0)
    } else {
        format!("{:.1} h", seconds / 3600.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use seam_model::Ts;

    fn scenario(id: &str, kind: &str, events: &[&str], person: &str, start: i64) -> Scenario {
        Scenario {
            scenario: id.into(),
            kind: kind.into(),
            rules: vec!["r1".into()],
            people: vec![person.into()],
            start: Ts(start),
            end: Ts(start + 1000),
            events: events.iter().map(|e| (*e).to_string()).collect(),
            campaign: false,
        }
    }

    fn finding(rule: &str, time: i64, evidence: &[&str], person: Option<&str>) -> Finding {
        let json = serde_json::json!({
            "class_uid": 2004, "class_name": "Detection Finding", "category_uid": 2,
            "category_name": "Findings", "activity_id": 1, "activity_name": "Create",
            "type_uid": 200401, "time": time, "time_dt": "2026-03-02T00:00:00Z", "severity_id": 3,
            "severity": "Medium", "status_id": 1, "status": "New", "message": "m",
            "finding_info": {"uid": format!("f{time}"), "title": "t",
                "analytic": {"uid": rule, "name": rule, "type_id": 1, "type": "Rule"},
                "first_seen_time": time, "last_seen_time": time,
                "related_events": evidence.iter().map(|e| serde_json::json!({"uid": e})).collect::<Vec<_>>()},
            "evidences": [],
            "metadata": {"version": "1.4.0", "product": {"name": "Seam", "vendor_name": "Seam", "version": "0"}},
            "unmapped": {"person_uid": person, "rule_kind": "detection", "count": 1}
        });
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn look_alikes_are_flagged_only_by_findings_resting_on_their_events() {
        let lookalikes = vec![
            scenario("b1", "typos", &["t1", "t2"], "alice", 1_000_000),
            scenario("b2", "typos", &["t3"], "bob", 2_000_000),
            scenario("b3", "backup", &["u1"], "carol", 3_000_000),
        ];
        let findings = vec![
            finding("burst", 1_010_000, &["t2", "t9"], Some("alice")),
            // About bob at the same time, but on other events: not this look-alike.
            finding("other", 2_000_500, &["x1"], Some("bob")),
        ];
        let results = evaluate_lookalikes(&lookalikes, &[], &findings);
        let typos = results.iter().find(|r| r.family == "typos").unwrap();
        assert_eq!((typos.instances, typos.flagged), (2, 1));
        assert!((typos.rate - 0.5).abs() < 1e-9);
        assert_eq!(typos.flagged_by, vec!["burst".to_string()]);
        let backup = results.iter().find(|r| r.family == "backup").unwrap();
        assert_eq!((backup.instances, backup.flagged), (1, 0));
    }

    #[test]
    fn scores_detections_misses_and_false_positives() {
        let scenarios = vec![
            scenario("s1", "a", &["e1", "e2"], "alice", 1_000_000),
            scenario("s2", "a", &["e3"], "bob", 2_000_000),
            scenario("s3", "b", &["e4"], "carol", 3_000_000),
        ];
        let findings = vec![
            finding("r1", 1_060_000, &["e2"], Some("alice")),
            // A consequence: same person, later, other evidence.
            finding("r2", 1_600_000, &["x9"], Some("alice")),
            finding("r1", 3_030_000, &["e4"], Some("carol")),
            finding("r3", 5_000_000, &["x1"], Some("dan")),
        ];
        let report = evaluate(&scenarios, &findings, 2000);
        assert_eq!(report.detected, 2);
        assert!((report.recall - 2.0 / 3.0).abs() < 1e-9);
        assert_eq!(report.false_positives, 1);
        assert!((report.precision - 0.75).abs() < 1e-9);
        assert!((report.fp_per_1000_person_days - 0.5).abs() < 1e-9);
        assert_eq!(report.missed, vec!["s2".to_string()]);
        assert_eq!(report.false_alerts, 1);
        // The same rule about the same person on the same day is one alert; another day, two.
        let mut repeated = findings.clone();
        repeated.push(finding("r3", 5_100_000, &["x2"], Some("dan")));
        assert_eq!(evaluate(&scenarios, &repeated, 2000).false_alerts, 1);
        repeated.push(finding("r3", 5_000_000 + 86_400_000, &["x3"], Some("dan")));
        let report_two_days = evaluate(&scenarios, &repeated, 2000);
        assert_eq!(report_two_days.false_alerts, 2);
        assert!((report_two_days.false_alerts_per_1000_person_days - 1.0).abs() < 1e-9);
        let a = report.kinds.iter().find(|k| k.kind == "a").unwrap();
        assert_eq!((a.scenarios, a.detected), (2, 1));
        assert_eq!(a.median_time_to_detect_s, Some(60.0));
        assert_eq!(a.detected_by, vec!["r1".to_string(), "r2".to_string()]);
        let table = report.table();
        assert!(table.contains("missed: s2"), "{table}");
    }

    #[test]
    fn nothing_to_find_and_nothing_found_is_perfect() {
        let report = evaluate(&[], &[], 0);
        assert_eq!(report.recall, 1.0);
        assert_eq!(report.precision, 1.0);
        assert_eq!(report.fp_per_1000_person_days, 0.0);
    }
}
