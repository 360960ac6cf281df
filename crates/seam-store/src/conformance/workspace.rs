//! The behaviour every [`Workspace`] store must show: triage rows for every finding, filters
//! and paging, grouping into alerts, suppressions that keep what they silence, legal moves
//! only, optimistic versions on findings and cases.

use std::collections::BTreeSet;

use seam_cases::{
    Case, CaseChange, CaseStatus, Disposition, Grouping, Suppression, TriageAction, TriageStatus,
    case::{CaseDraft, Links},
};
use seam_model::Ts;

use crate::workspace::{
    AlertQuery, CaseQuery, CustodyEntry, FindingQuery, SuppressedFilter, WorkspaceSettings,
};
use crate::{StoreError, StoredEvent, StoredFinding};

pub use crate::workspace::WorkspaceStore;

type Check = fn(&mut dyn WorkspaceStore);

/// Runs every check, each on a fresh, empty store from `make`.
pub fn workspace_suite(make: impl Fn() -> Box<dyn WorkspaceStore>) {
    let checks: &[(&str, Check)] = &[
        (
            "every stored finding is listed once, new, with its facts",
            every_finding_is_triaged,
        ),
        (
            "filters and paging find exactly what matches",
            filters_and_paging,
        ),
        (
            "findings of one person or zone within the span make one alert",
            grouping,
        ),
        ("an alert splits and a finding detaches", split_and_detach),
        (
            "suppressed findings are kept, counted and listable",
            suppression,
        ),
        ("triage moves are checked and logged", triage_moves),
        (
            "cases are numbered, saved only at their version, and found by link",
            cases,
        ),
        ("a merge saves both cases or neither", merge_is_atomic),
        ("the chain of custody is kept in order", custody),
        (
            "a case's events are its people's and places' within the span",
            case_events,
        ),
        (
            "retention drops the triage of pruned findings and long-closed cases",
            retention,
        ),
        ("what survives a reopen", survives_reopen_placeholder),
    ];
    for &(name, check) in checks {
        let mut store = make();
        println!("workspace conformance: {name}");
        store.configure_workspace(WorkspaceSettings {
            grouping: Grouping::new(10 * 60_000).unwrap_or_default(),
            site_of: Some(std::sync::Arc::new(|facts: &seam_cases::FindingFacts| {
                facts
                    .zone
                    .as_deref()
                    .and_then(|z| z.split_once('-'))
                    .map(|(site, _)| site.to_string())
            })),
        });
        check(store.as_mut());
    }
}

const MINUTE: i64 = 60_000;
const T0: i64 = 1_772_400_000_000;

fn finding(
    uid: &str,
    rule: &str,
    minute: i64,
    person: Option<&str>,
    zone: Option<&str>,
    severity: u8,
) -> StoredFinding {
    let mut data = serde_json::Map::new();
    if let Some(zone) = zone {
        data.insert("zone.id".into(), zone.into());
    }
    if let Some(person) = person {
        data.insert("person.uid".into(), person.into());
    }
    let json = serde_json::json!({
        "time": T0 + minute * MINUTE,
        "severity_id": severity,
        "severity": "x",
        "message": format!("{rule} raised for {}", person.unwrap_or("nobody")),
        "finding_info": {"uid": uid, "title": format!("Title of {rule}"),
                         "analytic": {"uid": rule}, "related_events": [{"uid": format!("e-{uid}")}]},
        "evidences": [{"data": data}],
        "unmapped": {"rule_kind": "detection", "count": 1},
    });
    StoredFinding {
        uid: uid.to_string(),
        rule: rule.to_string(),
        time: Ts(T0 + minute * MINUTE),
        person: person.map(str::to_string),
        severity: "x".to_string(),
        json: json.to_string(),
    }
}

fn store_findings(store: &mut dyn WorkspaceStore, findings: &[StoredFinding]) {
    store.append_findings(findings).unwrap_or_default();
    store.commit().unwrap_or_default();
}

fn uids(page: &[crate::workspace::TriagedFinding]) -> Vec<String> {
    page.iter().map(|f| f.uid.clone()).collect()
}

fn all(store: &dyn WorkspaceStore, mut query: FindingQuery) -> Vec<String> {
    query.limit = 10_000;
    uids(
        &store
            .list_findings(&query)
            .map(|p| p.findings)
            .unwrap_or_default(),
    )
}

fn every_finding_is_triaged(store: &mut dyn WorkspaceStore) {
    let batch = [
        finding("f1", "seam.tailgating", 0, Some("bob"), Some("hq-lobby"), 3),
        finding("f2", "seam.impossible-travel", 1, Some("ann"), None, 4),
    ];
    store_findings(store, &batch);
    // A replay stores them again: still listed once.
    store_findings(store, &batch);
    let page = store
        .list_findings(&FindingQuery {
            limit: 10,
            ..FindingQuery::default()
        })
        .expect("list");
    assert_eq!(uids(&page.findings), ["f2", "f1"], "newest first");
    assert_eq!(page.next, None);
    let f1 = store.triaged("f1").expect("read").expect("f1 is stored");
    assert_eq!(f1.triage.status, TriageStatus::New);
    assert_eq!(f1.triage.version, 1);
    assert_eq!(f1.zone.as_deref(), Some("hq-lobby"));
    assert_eq!(
        f1.site.as_deref(),
        Some("hq"),
        "placed by the site resolver"
    );
    assert_eq!(f1.person.as_deref(), Some("bob"));
    assert_eq!(f1.severity_id, 3);
    assert!(f1.json.contains("\"f1\""));
    assert!(store.triaged("nope").expect("read").is_none());
}

fn filters_and_paging(store: &mut dyn WorkspaceStore) {
    let mut batch = Vec::new();
    for i in 0..45 {
        let person = ["ann", "bob", "cy"][usize::try_from(i % 3).unwrap_or(0)];
        let zone = if i % 2 == 0 { "hq-lab" } else { "br-lobby" };
        let rule = if i % 5 == 0 {
            "rule.rare"
        } else {
            "rule.common"
        };
        let severity = u8::try_from(1 + i % 5).unwrap_or(1);
        batch.push(finding(
            &format!("f{i:02}"),
            rule,
            i * 100,
            Some(person),
            Some(zone),
            severity,
        ));
    }
    store_findings(store, &batch);
    // Paging walks everything once, newest first.
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = store
            .list_findings(&FindingQuery {
                limit: 7,
                after: after.clone(),
                ..FindingQuery::default()
            })
            .expect("page");
        seen.extend(uids(&page.findings));
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    let mut expected: Vec<String> = (0..45).rev().map(|i| format!("f{i:02}")).collect();
    assert_eq!(seen, expected);
    // Two sites page the same way, the merge of both in order.
    let mut both = Vec::new();
    let mut after = None;
    loop {
        let page = store
            .list_findings(&FindingQuery {
                limit: 7,
                sites: Some(vec!["hq".into(), "br".into()]),
                after: after.clone(),
                ..FindingQuery::default()
            })
            .expect("page");
        both.extend(uids(&page.findings));
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    assert_eq!(both, expected);
    expected.clear();
    let rare = all(
        store,
        FindingQuery {
            rule: Some("rule.rare".into()),
            ..FindingQuery::default()
        },
    );
    assert_eq!(rare.len(), 9);
    let bob_lab = all(
        store,
        FindingQuery {
            person: Some("bob".into()),
            zone: Some("hq-lab".into()),
            ..FindingQuery::default()
        },
    );
    assert_eq!(bob_lab, ["f40", "f34", "f28", "f22", "f16", "f10", "f04"]);
    let severe = all(
        store,
        FindingQuery {
            min_severity: Some(5),
            ..FindingQuery::default()
        },
    );
    assert_eq!(severe.len(), 9);
    let span = all(
        store,
        FindingQuery {
            since: Some(Ts(T0 + 1000 * MINUTE)),
            until: Some(Ts(T0 + 1300 * MINUTE)),
            ..FindingQuery::default()
        },
    );
    assert_eq!(span, ["f12", "f11", "f10"]);
    let sites = all(
        store,
        FindingQuery {
            sites: Some(vec!["br".into()]),
            ..FindingQuery::default()
        },
    );
    assert_eq!(sites.len(), 22);
    assert!(
        all(
            store,
            FindingQuery {
                sites: Some(Vec::new()),
                ..FindingQuery::default()
            }
        )
        .is_empty(),
        "no sites, nothing"
    );
    let text = all(
        store,
        FindingQuery {
            text: Some("RARE raised for ANN".into()),
            ..FindingQuery::default()
        },
    );
    assert_eq!(text, ["f30", "f15", "f00"]);
    let wildcard = all(
        store,
        FindingQuery {
            text: Some("%".into()),
            ..FindingQuery::default()
        },
    );
    assert!(wildcard.is_empty(), "a % is a character, not a wildcard");
    store
        .triage("f03", &TriageAction::Acknowledge, "ann", 5, None)
        .expect("ack");
    let acknowledged = all(
        store,
        FindingQuery {
            status: Some(TriageStatus::Acknowledged),
            ..FindingQuery::default()
        },
    );
    assert_eq!(acknowledged, ["f03"]);
}

fn grouping(store: &mut dyn WorkspaceStore) {
    store_findings(
        store,
        &[
            finding("a1", "r1", 0, Some("bob"), Some("hq-lobby"), 3),
            // Bob again 8 minutes on, by another rule: the same alert.
            finding("a2", "r2", 8, Some("bob"), None, 4),
            // Nobody, in the lobby 9 minutes on: joins by the zone.
            finding("a3", "r3", 9, None, Some("hq-lobby"), 2),
            // Nobody, in the lobby 25 minutes on: the lobby's last finding is 16 minutes
            // before, past the span, though the alert runs to minute 9.
            finding("a5", "r3", 25, None, Some("hq-lobby"), 2),
            // Bob two hours on: a new alert.
            finding("a4", "r1", 120, Some("bob"), None, 3),
        ],
    );
    let alert_of = |store: &dyn WorkspaceStore, uid: &str| {
        store
            .triaged(uid)
            .ok()
            .flatten()
            .map(|f| f.alert)
            .unwrap_or_default()
    };
    let first = alert_of(store, "a1");
    assert_eq!(alert_of(store, "a2"), first);
    assert_eq!(alert_of(store, "a3"), first);
    assert_ne!(alert_of(store, "a4"), first);
    assert_ne!(alert_of(store, "a5"), first);
    let alert = store.alert(&first).expect("read").expect("the alert");
    assert_eq!(alert.count, 3);
    assert_eq!(alert.severity_id, 4);
    assert_eq!(alert.first, Ts(T0));
    assert_eq!(alert.last, Ts(T0 + 9 * MINUTE));
    let listed = store
        .list_alerts(&AlertQuery {
            limit: 10,
            ..AlertQuery::default()
        })
        .expect("alerts");
    assert_eq!(listed.len(), 3);
    assert_eq!(listed[0].count, 1, "the latest alert first");
    let in_alert = all(
        store,
        FindingQuery {
            alert: Some(first.clone()),
            ..FindingQuery::default()
        },
    );
    assert_eq!(in_alert, ["a3", "a2", "a1"]);
}

fn split_and_detach(store: &mut dyn WorkspaceStore) {
    store_findings(
        store,
        &[
            finding("s1", "r1", 0, Some("bob"), None, 3),
            finding("s2", "r1", 1, Some("bob"), None, 3),
            finding("s3", "r1", 2, Some("bob"), None, 3),
        ],
    );
    let alert = store
        .triaged("s1")
        .ok()
        .flatten()
        .map(|f| f.alert)
        .unwrap_or_default();
    let split = store
        .split_alert(&alert, &["s2".to_string(), "s3".to_string()])
        .expect("split");
    assert_ne!(split, alert);
    assert_eq!(store.alert(&alert).ok().flatten().map(|a| a.count), Some(1));
    assert_eq!(store.alert(&split).ok().flatten().map(|a| a.count), Some(2));
    assert!(
        matches!(
            store.split_alert(&alert, &["s1".to_string()]),
            Err(StoreError::Refused { .. })
        ),
        "a split leaves one behind"
    );
    assert!(
        matches!(
            store.split_alert(&alert, &["s2".to_string()]),
            Err(StoreError::Refused { .. })
        ),
        "a finding of another alert"
    );
    assert!(matches!(
        store.split_alert("no-such-alert", &["s2".to_string()]),
        Err(StoreError::NotFound { .. })
    ));
    let detached = store.detach_finding("s3").expect("detach");
    assert_eq!(store.alert(&split).ok().flatten().map(|a| a.count), Some(1));
    assert_eq!(
        store.alert(&detached).ok().flatten().map(|a| a.count),
        Some(1)
    );
    assert!(matches!(
        store.detach_finding("s3"),
        Err(StoreError::Refused { .. })
    ));
    assert!(matches!(
        store.detach_finding("nope"),
        Err(StoreError::NotFound { .. })
    ));
}

fn suppression_of(id: &str, zone: &str, expires: i64) -> Suppression {
    Suppression {
        id: id.to_string(),
        rule: Some("seam.tailgating".into()),
        person: None,
        zone: Some(zone.to_string()),
        asset: None,
        site: None,
        reason: "turnstile repair".into(),
        owner: "ann".into(),
        created_at: 0,
        expires_at: expires,
    }
}

fn suppression(store: &mut dyn WorkspaceStore) {
    store
        .add_suppression(&suppression_of("sup-1", "hq-lobby", i64::MAX))
        .expect("add");
    assert!(matches!(
        store.add_suppression(&suppression_of("sup-1", "hq-lobby", i64::MAX)),
        Err(StoreError::Conflict { .. })
    ));
    store.commit().expect("commit");
    store_findings(
        store,
        &[
            finding("q1", "seam.tailgating", 0, Some("bob"), Some("hq-lobby"), 3),
            finding("q2", "seam.tailgating", 1, Some("bob"), Some("hq-lab"), 3),
        ],
    );
    assert_eq!(all(store, FindingQuery::default()), ["q2"]);
    assert_eq!(
        all(
            store,
            FindingQuery {
                suppressed: SuppressedFilter::Only,
                ..FindingQuery::default()
            }
        ),
        ["q1"]
    );
    assert_eq!(
        all(
            store,
            FindingQuery {
                suppressed: SuppressedFilter::Include,
                ..FindingQuery::default()
            }
        ),
        ["q2", "q1"]
    );
    assert_eq!(
        store
            .triaged("q1")
            .ok()
            .flatten()
            .and_then(|f| f.suppressed_by),
        Some("sup-1".to_string())
    );
    assert!(store.end_suppression("sup-1", "bob", 10).expect("end"));
    assert!(
        !store
            .end_suppression("sup-1", "bob", 11)
            .expect("end again")
    );
    store_findings(
        store,
        &[finding(
            "q3",
            "seam.tailgating",
            2,
            Some("bob"),
            Some("hq-lobby"),
            3,
        )],
    );
    assert_eq!(
        store
            .triaged("q3")
            .ok()
            .flatten()
            .and_then(|f| f.suppressed_by),
        None,
        "an ended suppression silences nothing new"
    );
    let records = store.suppressions().expect("list");
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].matched, 1);
    assert_eq!(records[0].ended_by.as_deref(), Some("bob"));
    // An expired one matches nothing.
    store
        .add_suppression(&suppression_of("sup-2", "hq-lab", 1))
        .expect("add");
    store_findings(
        store,
        &[finding(
            "q4",
            "seam.tailgating",
            3,
            Some("bob"),
            Some("hq-lab"),
            3,
        )],
    );
    assert_eq!(
        store
            .triaged("q4")
            .ok()
            .flatten()
            .and_then(|f| f.suppressed_by),
        None
    );
}

fn triage_moves(store: &mut dyn WorkspaceStore) {
    store_findings(store, &[finding("t1", "r", 0, Some("bob"), None, 3)]);
    let acked = store
        .triage("t1", &TriageAction::Acknowledge, "ann", 100, Some(1))
        .expect("ack");
    assert_eq!(acked.version, 2);
    assert!(
        matches!(
            store.triage("t1", &TriageAction::Start, "bob", 110, Some(1)),
            Err(StoreError::Conflict { .. })
        ),
        "a stale version"
    );
    assert!(
        matches!(
            store.triage("t1", &TriageAction::Acknowledge, "bob", 110, None),
            Err(StoreError::Refused { .. })
        ),
        "acknowledged twice"
    );
    assert!(matches!(
        store.triage("nope", &TriageAction::Acknowledge, "bob", 110, None),
        Err(StoreError::NotFound { .. })
    ));
    store
        .triage(
            "t1",
            &TriageAction::Comment {
                text: "looking at the camera".into(),
            },
            "bob",
            120,
            None,
        )
        .expect("comment");
    store
        .triage(
            "t1",
            &TriageAction::Assign {
                assignee: Some("cy".into()),
                team: Some(seam_cases::Team::Physical),
            },
            "bob",
            125,
            None,
        )
        .expect("assign");
    let closed = store
        .triage(
            "t1",
            &TriageAction::Close {
                disposition: Disposition::FalsePositive,
                reason: Some("a drill".into()),
            },
            "cy",
            130,
            None,
        )
        .expect("close");
    assert_eq!(closed.status, TriageStatus::Closed);
    assert_eq!(closed.acknowledged_at, Some(100));
    let read = store.triaged("t1").ok().flatten().expect("t1");
    assert_eq!(read.triage, closed);
    let log = store.triage_log("t1").expect("log");
    let actions: Vec<&str> = log.iter().map(|e| e.action.name()).collect();
    assert_eq!(actions, ["acknowledge", "comment", "assign", "close"]);
    assert_eq!(
        all(
            store,
            FindingQuery {
                assignee: Some("cy".into()),
                team: Some(seam_cases::Team::Physical),
                ..FindingQuery::default()
            }
        ),
        ["t1"]
    );
}

fn draft(title: &str, findings: &[&str], people: &[&str]) -> CaseDraft {
    CaseDraft {
        title: title.to_string(),
        links: Links {
            findings: findings.iter().map(|s| s.to_string()).collect(),
            people: people.iter().map(|s| s.to_string()).collect(),
            ..Links::default()
        },
        ..CaseDraft::default()
    }
}

fn open_case(store: &mut dyn WorkspaceStore, title: &str, findings: &[&str]) -> Case {
    store
        .create_case(&mut |id| {
            Case::open(id, draft(title, findings, &["bob"]), Vec::new(), "ann", 10)
        })
        .expect("create")
}

fn cases(store: &mut dyn WorkspaceStore) {
    let one = open_case(store, "first", &["f1"]);
    let two = open_case(store, "second", &["f2"]);
    assert_eq!((one.id.as_str(), two.id.as_str()), ("C-1", "C-2"));
    assert_eq!(store.case("C-1").expect("read"), Some(one.clone()));
    let changed = one
        .apply(
            &CaseChange::Status {
                status: CaseStatus::Investigating,
                disposition: None,
            },
            "bob",
            20,
        )
        .expect("move");
    store
        .save_cases(std::slice::from_ref(&changed))
        .expect("save");
    // Another analyst saves an edit made on version 1: refused.
    let stale = one
        .apply(
            &CaseChange::Note {
                text: "late".into(),
            },
            "cy",
            21,
        )
        .expect("note");
    assert!(matches!(
        store.save_cases(&[stale]),
        Err(StoreError::Conflict { .. })
    ));
    assert_eq!(store.case("C-1").ok().flatten().map(|c| c.version), Some(2));
    let by_finding = store
        .list_cases(&CaseQuery {
            finding: Some("f2".into()),
            limit: 10,
            ..CaseQuery::default()
        })
        .expect("list");
    assert_eq!(by_finding.len(), 1);
    assert_eq!(by_finding[0].id, "C-2");
    let by_person = store
        .list_cases(&CaseQuery {
            person: Some("bob".into()),
            limit: 10,
            ..CaseQuery::default()
        })
        .expect("list");
    assert_eq!(by_person.len(), 2);
    let investigating = store
        .list_cases(&CaseQuery {
            status: Some(CaseStatus::Investigating),
            limit: 10,
            ..CaseQuery::default()
        })
        .expect("list");
    assert_eq!(investigating.len(), 1);
    let refused =
        store.create_case(&mut |id| Case::open(id, draft(" ", &[], &[]), Vec::new(), "ann", 10));
    assert!(matches!(refused, Err(StoreError::Refused { .. })));
    assert!(store.case("C-404").expect("read").is_none());
}

fn merge_is_atomic(store: &mut dyn WorkspaceStore) {
    let one = open_case(store, "first", &["f1"]);
    let two = open_case(store, "second", &["f2"]);
    // Someone edits the second case meanwhile.
    let edited = two
        .apply(
            &CaseChange::Note {
                text: "seen".into(),
            },
            "cy",
            15,
        )
        .expect("note");
    store.save_cases(&[edited]).expect("save");
    let (target, source) = one.merge(&two, "ann", 20).expect("merge");
    assert!(matches!(
        store.save_cases(&[target, source]),
        Err(StoreError::Conflict { .. })
    ));
    assert_eq!(
        store.case("C-1").ok().flatten().map(|c| c.version),
        Some(1),
        "the first case was not saved either"
    );
    let two = store.case("C-2").ok().flatten().expect("C-2");
    let (target, source) = one.merge(&two, "ann", 30).expect("merge");
    store.save_cases(&[target, source]).expect("save");
    let merged = store.case("C-2").ok().flatten().expect("C-2");
    assert_eq!(merged.merged_into.as_deref(), Some("C-1"));
    let found: BTreeSet<String> = store
        .list_cases(&CaseQuery {
            finding: Some("f2".into()),
            limit: 10,
            ..CaseQuery::default()
        })
        .expect("list")
        .into_iter()
        .map(|c| c.id)
        .collect();
    assert!(
        found.contains("C-1"),
        "the target links the source's findings"
    );
    let id = store.next_case_id().expect("id");
    assert_eq!(id, "C-3");
}

fn custody(store: &mut dyn WorkspaceStore) {
    for (at, action) in [(1, "uploaded"), (2, "downloaded"), (3, "exported")] {
        store
            .record_custody(&CustodyEntry {
                case_id: "C-1".into(),
                sha256: "a".repeat(64),
                at,
                actor: "ann".into(),
                action: action.into(),
            })
            .expect("record");
    }
    store.commit().expect("commit");
    let chain: Vec<String> = store
        .custody("C-1")
        .expect("read")
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert_eq!(chain, ["uploaded", "downloaded", "exported"]);
    assert!(store.custody("C-2").expect("read").is_empty());
}

fn survives_reopen_placeholder(store: &mut dyn WorkspaceStore) {
    // Commit makes triage durable like the findings it belongs to.
    store_findings(store, &[finding("d1", "r", 0, None, None, 1)]);
    store
        .triage("d1", &TriageAction::Acknowledge, "ann", 1, None)
        .expect("ack");
    store.commit().expect("commit");
    assert_eq!(
        store.triaged("d1").ok().flatten().map(|f| f.triage.status),
        Some(TriageStatus::Acknowledged)
    );
}

fn case_events(store: &mut dyn WorkspaceStore) {
    let events: Vec<(String, i64, Option<&str>, String)> = vec![
        (
            "e1".into(),
            10,
            Some("bob"),
            r#"{"uid":"e1","class":"badge","zone":"hq-lab"}"#.into(),
        ),
        (
            "e2".into(),
            20,
            Some("ann"),
            r#"{"uid":"e2","class":"badge","zone":"hq-lobby"}"#.into(),
        ),
        (
            "e3".into(),
            30,
            None,
            r#"{"uid":"e3","class":"occupancy","zone":"hq-lobby"}"#.into(),
        ),
        (
            "e4".into(),
            40,
            Some("bob"),
            r#"{"uid":"e4","class":"sign_in"}"#.into(),
        ),
        (
            "e5".into(),
            99,
            Some("bob"),
            r#"{"uid":"e5","class":"sign_in"}"#.into(),
        ),
        (
            "e6".into(),
            35,
            None,
            r#"{"uid":"e6","class":"flow","asset":"ws-7"}"#.into(),
        ),
    ];
    let stored: Vec<StoredEvent<'_>> = events
        .iter()
        .map(|(uid, minute, person, json)| StoredEvent {
            uid,
            time: Ts(T0 + minute * MINUTE),
            observed: Ts(T0 + minute * MINUTE),
            source: "test",
            class: "badge",
            person: *person,
            late: false,
            json,
        })
        .collect();
    store.append_events(&stored).expect("append");
    store.commit().expect("commit");
    let mut case = Case::open(
        "C-1".into(),
        draft("t", &[], &["bob"]),
        Vec::new(),
        "ann",
        10,
    )
    .expect("case");
    case.links.zones.insert("hq-lobby".into());
    case.links.assets.insert("ws-7".into());
    let (found, cut) = store
        .case_events(&case, Ts(T0 + 15 * MINUTE), Ts(T0 + 60 * MINUTE), 100)
        .expect("events");
    let uids: Vec<String> = found
        .iter()
        .filter_map(|(_, json)| {
            serde_json::from_str::<serde_json::Value>(json)
                .ok()
                .and_then(|v| v["uid"].as_str().map(str::to_string))
        })
        .collect();
    assert_eq!(
        uids,
        ["e2", "e3", "e4", "e6"],
        "by zone, zone, person, asset; e1 and e5 fall outside the span"
    );
    assert!(!cut);
    assert_eq!(
        found[2].0.as_deref(),
        Some("bob"),
        "the resolved person comes along"
    );
    let (limited, cut) = store
        .case_events(&case, Ts(T0), Ts(T0 + 100 * MINUTE), 2)
        .expect("events");
    assert_eq!(limited.len(), 2);
    assert!(cut);
}

fn retention(store: &mut dyn WorkspaceStore) {
    store_findings(
        store,
        &[
            finding("old", "r", 0, Some("bob"), None, 3),
            finding("new", "r", 500, Some("bob"), None, 3),
        ],
    );
    store
        .triage(
            "old",
            &TriageAction::Comment { text: "x".into() },
            "ann",
            1,
            None,
        )
        .expect("comment");
    let closed = open_case(store, "closed long ago", &["old"])
        .apply(
            &CaseChange::Status {
                status: CaseStatus::Closed,
                disposition: Some(Disposition::FalsePositive),
            },
            "ann",
            1_000,
        )
        .expect("close");
    store
        .save_cases(std::slice::from_ref(&closed))
        .expect("save");
    let mut with_evidence = open_case(store, "still open", &["new"]);
    with_evidence
        .evidence
        .push(seam_cases::evidence::EvidenceRef {
            sha256: "b".repeat(64),
            bytes: 1,
            name: "a.txt".into(),
            media_type: None,
            added_by: "ann".into(),
            added_at: 5,
        });
    with_evidence.version += 1;
    store.save_cases(&[with_evidence]).expect("save");
    store
        .record_custody(&CustodyEntry {
            case_id: closed.id.clone(),
            sha256: "a".repeat(64),
            at: 2,
            actor: "ann".into(),
            action: "uploaded".into(),
        })
        .expect("custody");
    store.commit().expect("commit");
    // A dry run before the findings' own prune counts the triage rows that will go with them.
    let ahead = store
        .prune_workspace(Some(Ts(T0 + 100 * MINUTE)), None, true)
        .expect("dry run ahead");
    assert_eq!((ahead.triage, ahead.cases), (1, 0));
    // Findings' retention drops the old finding; the workspace follows.
    store
        .prune(
            &crate::RetentionRequest {
                findings_before: Some(Ts(T0 + 100 * MINUTE)),
                ..crate::RetentionRequest::default()
            },
            false,
        )
        .expect("prune findings");
    let dry = store
        .prune_workspace(None, Some(Ts(2_000)), true)
        .expect("dry run");
    assert_eq!((dry.triage, dry.cases), (1, 1));
    assert!(
        store.case(&closed.id).expect("read").is_some(),
        "a dry run changes nothing"
    );
    let pruned = store
        .prune_workspace(None, Some(Ts(2_000)), false)
        .expect("prune");
    assert_eq!((pruned.triage, pruned.cases), (1, 1));
    assert_eq!(
        pruned.evidence_kept.into_iter().collect::<Vec<_>>(),
        ["b".repeat(64)]
    );
    assert!(store.triaged("old").expect("read").is_none());
    assert!(store.triage_log("old").expect("read").is_empty());
    assert!(store.case(&closed.id).expect("read").is_none());
    assert!(store.custody(&closed.id).expect("read").is_empty());
    assert!(store.triaged("new").expect("read").is_some());
    let again = store
        .prune_workspace(None, Some(Ts(2_000)), false)
        .expect("again");
    assert_eq!((again.triage, again.cases), (0, 0));
}
