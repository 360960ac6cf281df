//! Properties: snapshots do not change results, dispatch does not change results, and no
//! input makes the compiler panic.

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a panic is a failed test, helpers included"
)]

mod common;

use common::{JsonRecord, JsonSchema, source};
use proptest::prelude::*;
use seam_rules::{CompileOptions, Input, Match, RuleSet, RuleState};
use serde_json::json;

/// Rules of every kind, chained and not, over a handful of event shapes.
const RULES: &str = "title: failed
id: failed
name: failed
detection:
    s:
        class: authentication
        outcome: failure
    condition: s
---
title: ok
id: ok
name: ok
detection:
    s:
        class: authentication
        outcome: success
    condition: s
---
title: badge
id: badge
name: badge
detection:
    s:
        class: [physical_access, Door]
    condition: s
---
title: anything from a user
id: any_user
detection:
    s:
        user|startswith: u
    filter:
        class: network
    condition: s and not filter
---
title: brute
id: brute
name: brute
correlation:
    type: event_count
    rules: failed
    group-by: [user]
    timespan: 10s
    condition: {gte: 3}
---
title: few badges
id: few
correlation:
    type: event_count
    rules: badge
    group-by: [user]
    timespan: 20s
    condition: {lt: 2}
---
title: spray
id: spray
correlation:
    type: value_count
    rules: failed
    group-by: [ip]
    timespan: 30s
    condition: {field: user, gte: 2}
---
title: badge and sign-in
id: both
correlation:
    type: temporal
    rules: [badge, ok]
    group-by: [user]
    timespan: 15s
---
title: failure then success
id: ordered
correlation:
    type: temporal_ordered
    rules: [failed, ok]
    group-by: [user]
    timespan: 15s
---
title: badge without sign-in
id: absent
correlation:
    type: absence
    rules: [badge]
    absent: [ok]
    group-by: [user]
    timespan: 12s
---
title: brute then success
id: chained
correlation:
    type: temporal
    rules: [brute, ok]
    group-by: [user]
    timespan: 1m
";

#[derive(Clone, Debug)]
enum Step {
    Event {
        advance_ms: i64,
        class: u8,
        outcome: bool,
        user: u8,
        ip: u8,
    },
    Watermark {
        lag_ms: i64,
    },
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (0i64..4_000, 0u8..7, any::<bool>(), 0u8..3, 0u8..2).prop_map(
            |(advance_ms, class, outcome, user, ip)| Step::Event {
                advance_ms,
                class,
                outcome,
                user,
                ip,
            }
        ),
        1 => (0i64..20_000).prop_map(|lag_ms| Step::Watermark { lag_ms }),
    ]
}

fn event_json(class: u8, outcome: bool, user: u8, ip: u8) -> serde_json::Value {
    let mut event = json!({
        "outcome": if outcome { "success" } else { "failure" },
        "user": format!("u{user}"),
        "ip": format!("10.0.0.{ip}"),
    });
    let class_value = match class {
        0 => Some(json!("authentication")),
        1 => Some(json!("Authentication")),
        2 => Some(json!("physical_access")),
        3 => Some(json!("network")),
        4 => Some(json!(["door", "physical_access"])),
        5 => Some(json!("DOOR")),
        _ => None,
    };
    if let Some(value) = class_value {
        event["class"] = value;
    }
    event
}

/// Runs `steps`, snapshotting the state through JSON before step `snapshot_at` (if any).
fn run(
    rules: &RuleSet,
    paths: &[String],
    steps: &[Step],
    snapshot_at: Option<usize>,
) -> Vec<Match> {
    let mut state = RuleState::default();
    let mut matches = Vec::new();
    let mut time = 1_000_000;
    for (index, step) in steps.iter().enumerate() {
        if snapshot_at == Some(index) {
            let text = serde_json::to_string(&state).unwrap();
            let restored: RuleState = serde_json::from_str(&text).unwrap();
            assert_eq!(restored, state);
            state = restored;
        }
        match step {
            Step::Event {
                advance_ms,
                class,
                outcome,
                user,
                ip,
            } => {
                time += advance_ms;
                let event = event_json(*class, *outcome, *user, *ip);
                let record = JsonRecord::new(paths, &event);
                let uid = format!("e{index}");
                rules.on_event(
                    &mut state,
                    &Input {
                        time,
                        uid: &uid,
                        record: &record,
                        late: false,
                    },
                    &mut matches,
                );
            }
            Step::Watermark { lag_ms } => rules.advance(&mut state, time - lag_ms, &mut matches),
        }
    }
    rules.advance(&mut state, i64::MAX, &mut matches);
    assert!(
        state.is_empty(),
        "state left after the final advance: {state:?}"
    );
    matches
}

fn compiled(dispatch: bool) -> (RuleSet, Vec<String>) {
    let schema = JsonSchema::default();
    // Dispatch on every field the rules test by equality, negated ones included.
    let options = CompileOptions {
        dispatch_fields: if dispatch {
            vec![
                schema.field("class"),
                schema.field("outcome"),
                schema.field("user"),
            ]
        } else {
            Vec::new()
        },
    };
    let rules = RuleSet::compile(&source(RULES), &schema, &options).unwrap();
    (rules, schema.paths())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn snapshot_and_restore_changes_nothing(
        steps in proptest::collection::vec(step(), 1..80),
        split in any::<proptest::sample::Index>(),
    ) {
        let (rules, paths) = compiled(false);
        let uninterrupted = run(&rules, &paths, &steps, None);
        let at = split.index(steps.len() + 1);
        let restored = run(&rules, &paths, &steps, Some(at));
        prop_assert_eq!(uninterrupted, restored);
    }

    #[test]
    fn dispatch_changes_nothing(steps in proptest::collection::vec(step(), 1..80)) {
        let (plain, plain_paths) = compiled(false);
        let (dispatched, dispatched_paths) = compiled(true);
        let expected = run(&plain, &plain_paths, &steps, None);
        let actual = run(&dispatched, &dispatched_paths, &steps, None);
        prop_assert_eq!(expected, actual);
    }

    #[test]
    fn compile_never_panics_on_random_text(text in "\\PC{0,300}") {
        let _ = RuleSet::compile(&source(&text), &JsonSchema::default(), &CompileOptions::default());
    }

    #[test]
    fn compile_never_panics_on_yaml_punctuation(text in "[a-z0-9:\\-\\[\\]{}&*!|>'\"#%@`,?. \t\n\\\\]{0,200}") {
        let _ = RuleSet::compile(&source(&text), &JsonSchema::default(), &CompileOptions::default());
    }

    #[test]
    fn compile_never_panics_on_rule_shaped_text(
        pieces in proptest::collection::vec(
            prop_oneof![
                Just("title: t\n"), Just("id: x\n"), Just("name: n\n"), Just("detection:\n"),
                Just("    s:\n"), Just("        a|contains: x\n"), Just("        b|re: '(['\n"),
                Just("        c: [1, 2, '*']\n"), Just("    condition: s and not (s or\n"),
                Just("    condition: 1 of s*\n"), Just("correlation:\n"), Just("    type: absence\n"),
                Just("    type: event_count\n"), Just("    rules: [n, x]\n"), Just("    absent: n\n"),
                Just("    timespan: 5m\n"), Just("    condition: {gte: 2}\n"), Just("---\n"),
                Just("    group-by: [a]\n"), Just("  - &a [*a]\n"), Just("tests:\n  - {name: a, expect: 1, events: []}\n"),
                Just("\t"), Just("{"), Just("]"), Just(": "), Just("'"), Just("|"), Just("*"),
            ],
            0..40,
        ),
    ) {
        let text: String = pieces.concat();
        let _ = RuleSet::compile(&source(&text), &JsonSchema::default(), &CompileOptions::default());
    }

    #[test]
    fn out_of_order_events_never_panic(
        events in proptest::collection::vec((0i64..100_000, 0u8..7, any::<bool>(), 0u8..3, 0u8..2), 1..60),
        watermarks in proptest::collection::vec(0i64..120_000, 0..5),
    ) {
        let (rules, paths) = compiled(true);
        let mut state = RuleState::default();
        let mut matches = Vec::new();
        for (index, (time, class, outcome, user, ip)) in events.iter().enumerate() {
            let event = event_json(*class, *outcome, *user, *ip);
            let record = JsonRecord::new(&paths, &event);
            let uid = format!("e{index}");
            rules.on_event(&mut state, &Input { time: *time, uid: &uid, record: &record, late: false }, &mut matches);
            if let Some(watermark) = watermarks.get(index) {
                rules.advance(&mut state, *watermark, &mut matches);
            }
        }
        rules.advance(&mut state, i64::MAX, &mut matches);
        prop_assert!(state.is_empty());
    }
}

#[test]
fn a_foreign_state_is_tolerated() {
    // A state from a different rule set must not panic or loop; it is cleaned up.
    let (rules, paths) = compiled(false);
    let mut state = RuleState::default();
    let mut matches = Vec::new();
    let event = event_json(2, false, 0, 0);
    let record = JsonRecord::new(&paths, &event);
    rules.on_event(
        &mut state,
        &Input {
            time: 0,
            uid: "a",
            record: &record,
            late: false,
        },
        &mut matches,
    );
    let text = serde_json::to_string(&state).unwrap();
    let (other, other_paths) = {
        let schema = JsonSchema::default();
        let text = "title: x\nid: x\nname: x\ndetection:\n    s:\n        user: u0\n    condition: s\n---\ntitle: y\nid: y\ncorrelation:\n    type: temporal_ordered\n    rules: [x, x, x]\n    group-by: [user]\n    timespan: 1s\n";
        let rules = RuleSet::compile(&source(text), &schema, &CompileOptions::default()).unwrap();
        (rules, schema.paths())
    };
    let mut foreign: RuleState = serde_json::from_str(&text).unwrap();
    let record = JsonRecord::new(&other_paths, &event);
    other.on_event(
        &mut foreign,
        &Input {
            time: 1,
            uid: "b",
            record: &record,
            late: false,
        },
        &mut matches,
    );
    other.advance(&mut foreign, i64::MAX, &mut matches);
    assert!(foreign.is_empty());
}

/// The generated steps exercise every rule, so the properties above compare real findings.
#[test]
fn the_generated_steps_reach_every_rule() {
    let (rules, paths) = compiled(false);
    // A fixed pseudo-random walk through the same step space the properties draw from.
    let mut seed: u64 = 0x5eed;
    let mut next = |bound: u64| {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (seed >> 33) % bound
    };
    let steps: Vec<Step> = (0..2_000)
        .map(|_| {
            if next(5) == 0 {
                Step::Watermark {
                    lag_ms: next(20_000) as i64,
                }
            } else {
                Step::Event {
                    advance_ms: next(4_000) as i64,
                    class: next(7) as u8,
                    outcome: next(2) == 0,
                    user: next(3) as u8,
                    ip: next(2) as u8,
                }
            }
        })
        .collect();
    let matches = run(&rules, &paths, &steps, Some(1_000));
    let fired: std::collections::BTreeSet<&str> = matches
        .iter()
        .map(|found| rules.rules()[found.rule].id.as_str())
        .collect();
    for meta in rules.rules() {
        if meta.generates_findings {
            assert!(
                fired.contains(meta.id.as_str()),
                "`{}` never fired",
                meta.id
            );
        }
    }
}

#[test]
fn rule_sets_can_be_shared_across_threads() {
    fn shareable<T: Send + Sync>() {}
    shareable::<RuleSet>();
    shareable::<RuleState>();
}

/// `fixtures/state/walk-v1.txt` was written by the first version of the correlation state (string
/// keys in ordered maps): three snapshots of a fixed walk, then every match, one per line. The
/// state has been rebuilt for speed since, and drops state that can no longer matter sooner,
/// so its snapshots of the same walk hold less. What must not change: snapshots of the first
/// version restore and write back byte for byte, the findings are the same, and a run resumed
/// from an old snapshot continues with the same findings.
#[test]
fn snapshots_and_findings_match_the_first_state_format() {
    let fixture = include_str!("fixtures/state/walk-v1.txt");
    let lines: Vec<&str> = fixture.lines().collect();
    let (old_snapshots, expected) = lines.split_at(3);
    for old in old_snapshots {
        let restored: RuleState = serde_json::from_str(old).unwrap();
        assert_eq!(serde_json::to_string(&restored).unwrap(), *old);
    }
    let render = |found: &Match| {
        format!(
            "{} {} {} {} {:?} {:?}",
            found.rule, found.time, found.first_time, found.count, found.group, found.evidence
        )
    };
    for dispatch in [false, true] {
        let (rules, paths) = compiled(dispatch);
        // (step of the snapshot, the state to start from), then the run from the start.
        let mut starts: Vec<(usize, Option<RuleState>)> = vec![(0, None)];
        for (old, step) in old_snapshots.iter().zip([150, 350, 550]) {
            starts.push((step, Some(serde_json::from_str(old).unwrap())));
        }
        let steps = walk();
        let mut matches_before = Vec::new();
        let mut whole = Vec::new();
        for (start, state) in starts {
            let mut state = state.unwrap_or_default();
            let mut matches = Vec::new();
            for (index, (time, step)) in steps.iter().enumerate().skip(start) {
                if start == 0 && index % 200 == 150 {
                    matches_before.push(matches.len());
                }
                match step {
                    WalkStep::Watermark(watermark) => {
                        rules.advance(&mut state, *watermark, &mut matches);
                    }
                    WalkStep::Event(event) => {
                        let record = common::JsonRecord::new(&paths, event);
                        let uid = format!("e{index}");
                        let input = Input {
                            time: *time,
                            uid: &uid,
                            record: &record,
                            late: false,
                        };
                        rules.on_event(&mut state, &input, &mut matches);
                    }
                }
            }
            let rendered: Vec<String> = matches.iter().map(render).collect();
            if start == 0 {
                assert_eq!(rendered, expected, "dispatch {dispatch}");
                whole = rendered;
            } else {
                let resumed_from = matches_before[starts_index(start)];
                assert_eq!(
                    rendered,
                    whole[resumed_from..],
                    "resumed at step {start}, dispatch {dispatch}"
                );
            }
        }
    }
}

fn starts_index(step: usize) -> usize {
    (step - 150) / 200
}

enum WalkStep {
    Watermark(i64),
    Event(serde_json::Value),
}

/// The fixed walk of the fixture: (time, step) for 600 steps.
fn walk() -> Vec<(i64, WalkStep)> {
    let mut seed: u64 = 0x5eed;
    let mut next = |bound: u64| {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (seed >> 33) % bound
    };
    let mut time = 1_000_000;
    (0..600)
        .map(|_| {
            if next(5) == 0 {
                let lag = next(20_000) as i64;
                (time, WalkStep::Watermark(time - lag))
            } else {
                time += next(4_000) as i64;
                let class = next(7) as u8;
                let outcome = next(2) == 0;
                let user = next(3) as u8;
                let ip = next(2) as u8;
                (time, WalkStep::Event(event_json(class, outcome, user, ip)))
            }
        })
        .collect()
}
