#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
//! The simulation as a whole: determinism for a seed, and ground truth that matches the events.

use std::collections::{BTreeSet, HashMap};

use seam_estate::Estate;
use seam_model::Event;
use seam_twin::calendar::DEFAULT_START_MS;
use seam_twin::world::{WorldSpec, generate};
use seam_twin::{SimSpec, Twin, simulate};

fn run(
    seed: u64,
    people: usize,
    days: u32,
    threads: usize,
) -> (Vec<String>, seam_twin::RunSummary) {
    let files = generate(&WorldSpec {
        people,
        sites: 3,
        days,
        seed,
        start_ms: DEFAULT_START_MS,
    });
    let estate = Estate::from_files(&files).unwrap();
    let twin = Twin::of(&estate);
    let spec = SimSpec {
        seed,
        days,
        start_ms: DEFAULT_START_MS,
        attacks_per_kind: 2,
    };
    let mut lines = Vec::new();
    let summary = simulate(&twin, &spec, threads, |file| {
        lines.extend(file.lines().map(str::to_string));
        Ok::<_, ()>(())
    })
    .unwrap();
    (lines, summary)
}

#[test]
fn one_seed_gives_the_same_events_and_truth_on_any_number_of_threads() {
    let (a, truth_a) = run(7, 300, 4, 1);
    let (b, truth_b) = run(7, 300, 4, 3);
    assert_eq!(a, b);
    assert_eq!(truth_a.scenarios, truth_b.scenarios);
    let (c, _) = run(8, 300, 4, 2);
    assert_ne!(a, c, "another seed, another month");
}

#[test]
fn events_are_valid_ordered_unique_and_the_truth_points_at_them() {
    let (lines, summary) = run(3, 600, 5, 2);
    let events: Vec<Event> = lines
        .iter()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert!(events.len() > 10_000, "{}", events.len());
    for (event, line) in events.iter().zip(&lines) {
        event.validate().unwrap();
        // The fast writer writes what serde writes.
        let mut ours = Vec::new();
        seam_twin::json::write_event(&mut ours, event);
        assert_eq!(
            String::from_utf8(ours).unwrap(),
            serde_json::to_string(event).unwrap()
        );
        assert!(line.starts_with("{\"uid\":"));
    }
    assert!(
        events.windows(2).all(|w| w[0].time <= w[1].time),
        "each UTC day's file is in time order and days come in order"
    );
    let by_uid: HashMap<&str, &Event> = events.iter().map(|e| (e.uid.as_str(), e)).collect();
    assert_eq!(by_uid.len(), events.len(), "uids are unique");

    // Every kind of attack was placed (two of each were asked for), and each scenario's
    // events exist and lie inside its window.
    let kinds: BTreeSet<&str> = summary.scenarios.iter().map(|s| s.kind.as_str()).collect();
    let all: BTreeSet<&str> = seam_twin::attacks::KINDS.iter().map(|k| k.name).collect();
    assert_eq!(kinds, all, "skipped: {:?}", summary.skipped);
    for scenario in &summary.scenarios {
        assert!(!scenario.events.is_empty(), "{}", scenario.scenario);
        assert!(!scenario.rules.is_empty());
        for uid in &scenario.events {
            let event = by_uid.get(uid.as_str()).unwrap_or_else(|| {
                panic!(
                    "{} names {uid}, which is not in the output",
                    scenario.scenario
                )
            });
            assert!(scenario.start <= event.time && event.time <= scenario.end);
        }
    }
    let uids: Vec<&String> = summary.scenarios.iter().flat_map(|s| &s.events).collect();
    let distinct: BTreeSet<&String> = uids.iter().copied().collect();
    assert_eq!(
        uids.len(),
        distinct.len(),
        "no event belongs to two scenarios"
    );
    // Benign look-alikes are labelled by family, their events exist, and none is an attack's.
    let families: BTreeSet<&str> = summary.lookalikes.iter().map(|l| l.kind.as_str()).collect();
    for family in [
        "workstation-background-traffic",
        "large-upload-at-the-desk",
        "password-typos",
    ] {
        assert!(families.contains(family), "{families:?}");
    }
    for lookalike in &summary.lookalikes {
        assert!(!lookalike.events.is_empty());
        for uid in &lookalike.events {
            assert!(by_uid.contains_key(uid.as_str()), "{uid}");
            assert!(
                !distinct.contains(uid),
                "{uid} is both benign and an attack's"
            );
        }
    }
}

#[test]
fn a_benign_run_has_no_truth_and_counts_its_person_days() {
    let files = generate(&WorldSpec {
        people: 200,
        sites: 1,
        days: 7,
        seed: 1,
        start_ms: DEFAULT_START_MS,
    });
    let estate = Estate::from_files(&files).unwrap();
    let twin = Twin::of(&estate);
    let spec = SimSpec {
        seed: 1,
        days: 7,
        start_ms: DEFAULT_START_MS,
        attacks_per_kind: 0,
    };
    let mut files_seen = 0;
    let summary = simulate(&twin, &spec, 2, |_| {
        files_seen += 1;
        Ok::<_, ()>(())
    })
    .unwrap();
    assert!(summary.scenarios.is_empty());
    // About 200 people a day for seven days, less the suspended and dismissed.
    assert!(
        (1_300..=1_400).contains(&summary.person_days),
        "{}",
        summary.person_days
    );
    assert!(files_seen >= 7);
}

#[test]
fn the_example_estate_can_be_simulated_too() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/estate");
    let estate = Estate::load_dir(&dir).unwrap();
    let twin = Twin::of(&estate);
    let spec = SimSpec {
        seed: 5,
        days: 3,
        start_ms: DEFAULT_START_MS,
        attacks_per_kind: 1,
    };
    let mut count = 0;
    let summary = simulate(&twin, &spec, 1, |file| {
        count += file.events;
        Ok::<_, ()>(())
    })
    .unwrap();
    assert!(count > 100, "{count}");
    assert!(!summary.scenarios.is_empty());
}
