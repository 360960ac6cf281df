//! Directory changes applied to the example estate: history, not overwrite.
#![expect(
    clippy::expect_used,
    reason = "the helpers are test code too: a panic there fails the test"
)]

use std::collections::BTreeMap;
use std::path::Path;

use proptest::prelude::*;
use seam_estate::{
    DirectoryChange, DirectoryError, Estate, IdentifierKind, PersonStatus, Precedence,
};
use seam_model::{DeltaIdentifier, DeltaWindow, DirectoryDelta, Ts};

fn example() -> Estate {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/estate");
    Estate::load_dir(&dir).expect("the example estate loads")
}

fn ts(text: &str) -> Ts {
    Ts::parse(text).expect("a valid time")
}

fn badge(value: &str) -> DeltaIdentifier {
    DeltaIdentifier {
        kind: "badge".into(),
        value: value.into(),
        from: None,
        until: None,
    }
}

fn apply(estate: &mut Estate, at: &str, source: &str, delta: &DirectoryDelta) {
    estate
        .apply_directory(DirectoryChange {
            at: ts(at),
            source,
            delta,
        })
        .expect("the change applies");
}

fn holder(estate: &Estate, value: &str, at: &str) -> Option<String> {
    estate
        .resolve(IdentifierKind::Badge, value, ts(at))
        .map(|p| estate.person(p).id.clone())
}

#[test]
fn a_reassigned_badge_keeps_its_old_holder_for_old_times() {
    let mut estate = example();
    assert_eq!(
        holder(&estate, "4411", "2026-03-02T09:12:00Z").as_deref(),
        Some("alice")
    );
    let mut delta = DirectoryDelta::for_person("bob");
    delta.identifiers.push(badge("4411"));
    apply(&mut estate, "2026-04-01T08:00:00Z", "pacs-import", &delta);

    assert_eq!(
        holder(&estate, "4411", "2026-03-02T09:12:00Z").as_deref(),
        Some("alice")
    );
    assert_eq!(
        holder(&estate, "4411", "2026-04-01T07:59:59Z").as_deref(),
        Some("alice")
    );
    assert_eq!(
        holder(&estate, "4411", "2026-04-01T08:00:00Z").as_deref(),
        Some("bob")
    );
    // Bob keeps his own badge: the change did not state his badges completely.
    assert_eq!(
        holder(&estate, "4412", "2026-05-01T00:00:00Z").as_deref(),
        Some("bob")
    );
    let alice = estate.person(estate.person_idx("alice").unwrap());
    assert!(
        alice
            .history
            .iter()
            .any(|entry| entry.changes == ["badge 4411 reassigned to bob"]
                && entry.source == "pacs-import"),
        "{:?}",
        alice.history
    );
}

#[test]
fn replacing_a_kind_ends_what_is_not_stated() {
    let mut estate = example();
    let mut delta = DirectoryDelta::for_person("bob");
    delta.identifiers.push(badge("9001"));
    delta.replaces.push("badge".into());
    apply(&mut estate, "2026-04-01T08:00:00Z", "pacs-import", &delta);
    assert_eq!(
        holder(&estate, "4412", "2026-03-31T08:00:00Z").as_deref(),
        Some("bob")
    );
    assert_eq!(holder(&estate, "4412", "2026-04-01T08:00:00Z"), None);
    assert_eq!(
        holder(&estate, "9001", "2026-04-01T08:00:00Z").as_deref(),
        Some("bob")
    );
    assert_eq!(holder(&estate, "9001", "2026-03-31T08:00:00Z"), None);
}

#[test]
fn a_status_takes_effect_at_its_time_and_a_leave_date_later() {
    let mut estate = example();
    let carol = estate.person_idx("carol").unwrap();
    let mut delta = DirectoryDelta::for_person("carol");
    delta.status = Some("terminated".into());
    delta.status_from = Some(ts("2026-04-11T00:00:00Z"));
    apply(&mut estate, "2026-04-01T08:00:00Z", "hr", &delta);
    assert_eq!(
        estate.status_at(carol, ts("2026-04-10T23:59:59Z")),
        PersonStatus::Active
    );
    assert_eq!(
        estate.status_at(carol, ts("2026-04-11T00:00:00Z")),
        PersonStatus::Terminated
    );

    // A later statement supersedes the future one; the past stays.
    let mut delta = DirectoryDelta::for_person("carol");
    delta.status = Some("active".into());
    apply(&mut estate, "2026-04-05T08:00:00Z", "hr", &delta);
    assert_eq!(
        estate.status_at(carol, ts("2026-04-20T00:00:00Z")),
        PersonStatus::Active
    );
    // A status said with an earlier date never rewrites the past.
    let mut delta = DirectoryDelta::for_person("carol");
    delta.status = Some("suspended".into());
    delta.status_from = Some(ts("2026-01-01T00:00:00Z"));
    apply(&mut estate, "2026-04-06T08:00:00Z", "hr", &delta);
    assert_eq!(
        estate.status_at(carol, ts("2026-04-05T00:00:00Z")),
        PersonStatus::Active
    );
    assert_eq!(
        estate.status_at(carol, ts("2026-04-06T08:00:00Z")),
        PersonStatus::Suspended
    );
}

#[test]
fn a_new_person_is_appended_and_resolves_from_the_change_on() {
    let mut estate = example();
    let before = estate.people().len();
    let mut delta = DirectoryDelta::for_person("dana");
    delta.name = Some("Dana Smith".into());
    delta.kind = Some("contractor".into());
    delta.department = Some("Facilities".into());
    delta.clearances = Some(vec!["hq-lobby".into(), "hq-office".into()]);
    delta.window = Some(DeltaWindow {
        start: Some(ts("2026-04-01T00:00:00Z")),
        end: Some(ts("2026-07-01T00:00:00Z")),
    });
    delta.identifiers.push(badge("7777"));
    delta.identifiers.push(DeltaIdentifier {
        kind: "upn".into(),
        value: "Dana@Example.com".into(),
        from: None,
        until: None,
    });
    apply(&mut estate, "2026-04-01T08:00:00Z", "scim", &delta);
    assert_eq!(estate.people().len(), before + 1);
    let dana = estate.person_idx("dana").unwrap();
    assert_eq!(dana.index(), before, "existing indices never move");
    assert_eq!(
        estate.resolve(
            IdentifierKind::Upn,
            "dana@example.com",
            ts("2026-04-02T00:00:00Z")
        ),
        Some(dana)
    );
    assert_eq!(
        estate.resolve(
            IdentifierKind::Upn,
            "dana@example.com",
            ts("2026-03-02T00:00:00Z")
        ),
        None
    );
    assert_eq!(
        estate.status_at(dana, ts("2026-04-02T00:00:00Z")),
        PersonStatus::Active
    );
    let person = estate.person(dana);
    assert_eq!(person.name, "Dana Smith");
    assert_eq!(person.department.as_deref(), Some("Facilities"));
    assert!(estate.cleared_for(dana, estate.zone_idx("hq-office").unwrap()));
    assert!(!estate.cleared_for(dana, estate.zone_idx("hq-server").unwrap()));
    assert_eq!(
        estate.in_window(dana, ts("2026-07-01T00:00:00Z")),
        Some(false)
    );
}

#[test]
fn a_bad_change_is_refused_whole() {
    let mut estate = example();
    let before = format!("{:?}", estate.person(estate.person_idx("alice").unwrap()));
    let mut delta = DirectoryDelta::for_person("alice");
    delta.department = Some("Sales".into());
    delta.clearances = Some(vec!["hq-office".into(), "hq-nowhere".into()]);
    let refused = estate.apply_directory(DirectoryChange {
        at: ts("2026-04-01T08:00:00Z"),
        source: "scim",
        delta: &delta,
    });
    assert_eq!(
        refused,
        Err(DirectoryError::Unknown {
            what: "zone",
            value: "hq-nowhere".into()
        })
    );
    assert_eq!(
        before,
        format!("{:?}", estate.person(estate.person_idx("alice").unwrap()))
    );
    for (field, value) in [("kind", "robot"), ("status", "gone")] {
        let mut delta = DirectoryDelta::for_person("alice");
        match field {
            "kind" => delta.kind = Some(value.into()),
            _ => delta.status = Some(value.into()),
        }
        assert!(
            estate
                .apply_directory(DirectoryChange {
                    at: ts("2026-04-01T08:00:00Z"),
                    source: "scim",
                    delta: &delta,
                })
                .is_err()
        );
    }
    let mut delta = DirectoryDelta::for_person("alice");
    delta.identifiers.push(DeltaIdentifier {
        kind: "mac".into(),
        value: "not a mac".into(),
        from: None,
        until: None,
    });
    assert!(matches!(
        estate.apply_directory(DirectoryChange {
            at: ts("2026-04-01T08:00:00Z"),
            source: "scim",
            delta: &delta,
        }),
        Err(DirectoryError::BadIdentifier { .. })
    ));
}

#[test]
fn a_source_ranked_lower_is_kept_as_a_conflict() {
    let mut estate = example();
    estate.set_precedence(Precedence::new(BTreeMap::from([(
        "status".to_owned(),
        vec!["hr".to_owned(), "scim".to_owned()],
    )])));
    let alice = estate.person_idx("alice").unwrap();
    let mut left = DirectoryDelta::for_person("alice");
    left.status = Some("terminated".into());
    apply(&mut estate, "2026-04-01T00:00:00Z", "hr", &left);
    let mut active = DirectoryDelta::for_person("alice");
    active.status = Some("active".into());
    active.department = Some("Research".into());
    let report = estate
        .apply_directory(DirectoryChange {
            at: ts("2026-04-02T00:00:00Z"),
            source: "scim",
            delta: &active,
        })
        .unwrap();
    assert_eq!(
        estate.status_at(alice, ts("2026-04-03T00:00:00Z")),
        PersonStatus::Terminated
    );
    assert_eq!(
        report.conflicts,
        ["status `active` from scim not applied: hr ranks first"]
    );
    // What has no ranking is taken from whoever speaks.
    assert_eq!(estate.person(alice).department.as_deref(), Some("Research"));
    assert_eq!(
        estate.person(alice).history.last().unwrap().conflicts.len(),
        1
    );
}

#[test]
fn restating_the_same_changes_nothing() {
    let mut estate = example();
    let mut delta = DirectoryDelta::for_person("alice");
    delta.identifiers.push(badge("4411"));
    delta.replaces.push("badge".into());
    delta.status = Some("active".into());
    let report = estate
        .apply_directory(DirectoryChange {
            at: ts("2026-04-01T00:00:00Z"),
            source: "scim",
            delta: &delta,
        })
        .unwrap();
    assert!(report.changes.is_empty(), "{:?}", report.changes);
    assert!(
        estate
            .person(estate.person_idx("alice").unwrap())
            .history
            .is_empty()
    );
}

#[test]
fn many_new_people_grow_the_index() {
    let mut estate = example();
    for n in 0..5_000 {
        let mut delta = DirectoryDelta::for_person(format!("p{n}"));
        delta.identifiers.push(badge(&format!("B{n}")));
        apply(&mut estate, "2026-04-01T00:00:00Z", "scim", &delta);
    }
    for n in (0..5_000).step_by(97) {
        assert_eq!(
            holder(&estate, &format!("B{n}"), "2026-04-02T00:00:00Z"),
            Some(format!("p{n}"))
        );
    }
    assert_eq!(
        holder(&estate, "4411", "2026-04-02T00:00:00Z").as_deref(),
        Some("alice")
    );
}

proptest! {
    /// Whatever badges move between whom, at most one person holds a badge at any instant,
    /// and answers about instants before a change stay as they were.
    #[test]
    fn one_holder_at_a_time_and_the_past_stays(
        moves in proptest::collection::vec((0usize..4, 0usize..3, 1i64..50), 1..30)
    ) {
        let people = ["alice", "bob", "carol", "dan"];
        let badges = ["4411", "4412", "4413"];
        let mut estate = example();
        let base = ts("2026-04-01T00:00:00Z").millis();
        let mut at = base;
        let probes: Vec<Ts> = (0..60).map(|i| Ts(base + i * 3_600_000)).collect();
        for (who, which, step) in moves {
            let before: Vec<Option<String>> = probes
                .iter()
                .filter(|probe| probe.millis() < at + step * 3_600_000)
                .map(|probe| estate
                    .resolve(IdentifierKind::Badge, badges[which], *probe)
                    .map(|p| estate.person(p).id.clone()))
                .collect();
            at += step * 3_600_000;
            let mut delta = DirectoryDelta::for_person(people[who]);
            delta.identifiers.push(badge(badges[which]));
            let _ = estate.apply_directory(DirectoryChange { at: Ts(at), source: "pacs", delta: &delta });
            let after: Vec<Option<String>> = probes
                .iter()
                .filter(|probe| probe.millis() < at)
                .map(|probe| estate
                    .resolve(IdentifierKind::Badge, badges[which], *probe)
                    .map(|p| estate.person(p).id.clone()))
                .collect();
            prop_assert_eq!(before, after);
            prop_assert_eq!(
                estate.resolve(IdentifierKind::Badge, badges[which], Ts(at)).map(|p| estate.person(p).id.clone()),
                Some(people[who].to_owned())
            );
            for badge_value in badges {
                for probe in &probes {
                    let holders = estate
                        .people()
                        .iter()
                        .filter(|p| p.identifiers.iter().any(|i| i.kind == IdentifierKind::Badge
                            && i.value == badge_value && i.valid_at(*probe)))
                        .count();
                    prop_assert!(holders <= 1);
                }
            }
        }
    }
}

#[test]
fn an_edited_directory_file_becomes_changes_that_reproduce_it() {
    let old = example();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/estate");
    let mut files: Vec<seam_estate::EstateFile> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "toml"))
        .map(|path| seam_estate::EstateFile {
            text: std::fs::read_to_string(&path).unwrap(),
            path: path.display().to_string(),
        })
        .collect();
    files.sort_by(|a, b| a.path.cmp(&b.path));
    let people = files
        .iter_mut()
        .find(|f| f.path.ends_with("people.toml"))
        .unwrap();
    // Alice's badge is replaced, Carol moves department, a new contractor arrives.
    people.text = people
        .text
        .replacen(
            r#"{ kind = "badge", value = "4411" }"#,
            r#"{ kind = "badge", value = "5511" }"#,
            1,
        )
        .replacen(
            "id = \"carol\"\nname = \"Carol Diaz\"",
            "id = \"carol\"\nname = \"Carol Diaz\"\ndepartment = \"Finance\"",
            1,
        );
    people.text.push_str(
        r#"
[[person]]
id = "zoe"
name = "Zoe Park"
kind = "contractor"
status = [{ status = "active", since = "2026-01-01T00:00:00Z" }]
identifiers = [{ kind = "badge", value = "6001" }]
"#,
    );
    let new = Estate::from_files(&files).unwrap();
    let deltas = seam_estate::people_changes(&old, &new);
    let changed: Vec<&str> = deltas.iter().map(|d| d.person.as_str()).collect();
    assert_eq!(changed, ["alice", "carol", "zoe"]);
    assert_eq!(deltas[0].replaces, ["badge"]);
    assert_eq!(deltas[1].department.as_deref(), Some("Finance"));
    assert!(deltas[1].identifiers.is_empty() && deltas[1].name.is_none());

    let mut running = old.clone();
    for delta in &deltas {
        apply(&mut running, "2026-04-01T00:00:00Z", "estate", delta);
    }
    assert_eq!(
        holder(&running, "5511", "2026-04-01T00:00:00Z").as_deref(),
        Some("alice")
    );
    assert_eq!(holder(&running, "4411", "2026-04-01T00:00:00Z"), None);
    assert_eq!(
        holder(&running, "4411", "2026-03-31T00:00:00Z").as_deref(),
        Some("alice")
    );
    assert_eq!(
        holder(&running, "6001", "2026-04-01T00:00:00Z").as_deref(),
        Some("zoe")
    );
    // Applied again, the same files change nothing more.
    assert!(seam_estate::people_changes(&new, &new).is_empty());
}
