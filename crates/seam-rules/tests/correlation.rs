//! Correlation semantics: windows, conditions judged early or at window end, resets, aliases,
//! chaining, absence, ordering of timers, and state cleanup.

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a panic is a failed test, helpers included"
)]

mod common;

use common::{Runner, compile, compile_errors};
use seam_rules::{Match, RuleKind};
use serde_json::json;

const SECOND: i64 = 1_000;

/// Two detections every correlation test builds on.
const BASE: &str = "title: failed sign-in
id: failed
name: failed_signin
detection:
    s:
        class: authentication
        outcome: failure
    condition: s
---
title: badge in
id: badge
name: badge_in
detection:
    s:
        class: physical_access
        activity: granted
    condition: s
---
title: sign-in
id: signin
name: signin_ok
detection:
    s:
        class: authentication
        outcome: success
    condition: s
";

fn with_base(correlations: &str) -> String {
    format!("{BASE}---\n{correlations}")
}

fn failed(user: &str) -> serde_json::Value {
    json!({"class": "authentication", "outcome": "failure", "user": user, "ip": "10.0.0.1"})
}

fn signin(user: &str) -> serde_json::Value {
    json!({"class": "authentication", "outcome": "success", "user": user})
}

fn badge(holder: &str) -> serde_json::Value {
    json!({"class": "physical_access", "activity": "granted", "holder": holder})
}

fn only(matches: &[Match], rule: usize) -> Vec<Match> {
    matches
        .iter()
        .filter(|found| found.rule == rule)
        .cloned()
        .collect()
}

const EVENT_COUNT: &str = "title: brute force
id: brute
correlation:
    type: event_count
    rules: failed_signin
    group-by: [user]
    timespan: 10s
    condition:
        gte: 3
";

#[test]
fn event_count_fires_on_the_completing_event_and_resets() {
    let (rules, schema) = compile(&with_base(EVENT_COUNT));
    let brute = rules.rule_index("brute").unwrap();
    assert_eq!(rules.rules()[brute].kind, RuleKind::EventCount);
    // Referenced rules do not report on their own (Sigma's default).
    assert!(!rules.rules()[rules.rule_index("failed").unwrap()].generates_findings);
    let mut runner = Runner::new(&rules, &schema);
    assert!(runner.event(0, failed("alice")).is_empty());
    assert!(runner.event(SECOND, failed("bob")).is_empty());
    assert!(runner.event(SECOND, failed("alice")).is_empty());
    let found = runner.event(2 * SECOND, failed("alice"));
    assert_eq!(
        found,
        vec![Match {
            rule: brute,
            time: 2 * SECOND,
            first_time: 0,
            group: vec![("user".to_owned(), "alice".to_owned())],
            evidence: vec!["e0".to_owned(), "e2".to_owned(), "e3".to_owned()],
            count: 3,
            late: false,
        }]
    );
    // Reset: the fourth and fifth events are not enough on their own.
    assert!(runner.event(3 * SECOND, failed("alice")).is_empty());
    assert!(runner.event(4 * SECOND, failed("alice")).is_empty());
    assert_eq!(runner.event(5 * SECOND, failed("alice")).len(), 1);
}

#[test]
fn event_count_window_slides() {
    let (rules, schema) = compile(&with_base(EVENT_COUNT));
    let mut runner = Runner::new(&rules, &schema);
    runner.event(0, failed("alice"));
    runner.event(5 * SECOND, failed("alice"));
    // 11s: the event at 0 has left the 10 s window.
    assert!(runner.event(11 * SECOND, failed("alice")).is_empty());
    let found = runner.event(12 * SECOND, failed("alice"));
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].first_time, 5 * SECOND);
    assert_eq!(found[0].evidence, vec!["e1", "e2", "e3"]);
}

#[test]
fn events_without_the_group_field_are_not_counted() {
    let (rules, schema) = compile(&with_base(EVENT_COUNT));
    let mut runner = Runner::new(&rules, &schema);
    for second in 0..5 {
        runner.event(
            second * SECOND,
            json!({"class": "authentication", "outcome": "failure"}),
        );
    }
    assert!(runner.matches.is_empty());
    assert!(runner.state.is_empty());
}

#[test]
fn generate_true_keeps_the_referenced_rules_findings() {
    let text = with_base(&EVENT_COUNT.replace(
        "    timespan: 10s\n",
        "    timespan: 10s\n    generate: true\n",
    ));
    let (rules, schema) = compile(&text);
    let mut runner = Runner::new(&rules, &schema);
    runner.event(0, failed("alice"));
    runner.event(1, failed("alice"));
    runner.event(2, failed("alice"));
    assert_eq!(
        runner.fired_ids(),
        vec!["failed", "failed", "failed", "brute"]
    );
}

#[test]
fn lt_condition_fires_only_at_window_end() {
    let text = with_base(
        "title: too few badge-ins
id: few
correlation:
    type: event_count
    rules: badge_in
    group-by: [holder]
    timespan: 10s
    condition:
        lt: 3
",
    );
    let (rules, schema) = compile(&text);
    let few = rules.rule_index("few").unwrap();
    let mut runner = Runner::new(&rules, &schema);
    assert!(runner.event(0, badge("ada")).is_empty());
    assert!(runner.event(SECOND, badge("ada")).is_empty());
    for second in 0..3 {
        runner.event(second * SECOND, badge("bob"));
    }
    assert_eq!(rules.next_deadline(&runner.state), Some(10 * SECOND));
    assert!(runner.advance(10 * SECOND - 1).is_empty());
    let found = runner.advance(10 * SECOND);
    assert_eq!(
        found,
        vec![Match {
            rule: few,
            time: 10 * SECOND,
            first_time: 0,
            group: vec![("holder".to_owned(), "ada".to_owned())],
            evidence: vec!["e0".to_owned(), "e1".to_owned()],
            count: 2,
            late: false,
        }]
    );
    assert!(runner.state.is_empty());
    assert_eq!(rules.next_deadline(&runner.state), None);
}

#[test]
fn window_end_conditions_open_a_new_window_after_the_deadline() {
    let text = with_base(
        "title: exactly two
id: two
correlation:
    type: event_count
    rules: badge_in
    timespan: 10s
    condition:
        eq: 2
",
    );
    let (rules, schema) = compile(&text);
    let mut runner = Runner::new(&rules, &schema);
    runner.event(0, badge("ada"));
    runner.event(SECOND, badge("ada"));
    // After the first window's end but before the watermark reaches it.
    runner.event(11 * SECOND, badge("ada"));
    let found = runner.advance(30 * SECOND);
    assert_eq!(found.len(), 1);
    assert_eq!((found[0].time, found[0].count), (10 * SECOND, 2));
    assert!(found[0].group.is_empty());
    assert!(runner.state.is_empty());
}

fn sized(user: &str, size: &str) -> serde_json::Value {
    json!({"class": "authentication", "outcome": "failure", "user": user, "ip": "10.0.0.1", "size": size})
}

#[test]
fn value_avg_and_value_median_judge_the_window_so_far() {
    let rule = |kind: &str| {
        with_base(&format!(
            "title: big
id: big
correlation:
    type: {kind}
    rules: failed_signin
    group-by: [ip]
    timespan: 1m
    condition:
        field: size
        gte: 100
"
        ))
    };
    // Mean: 10, then (10 + 40) / 2 = 25, then (10 + 40 + 400) / 3 = 150.
    let (rules, schema) = compile(&rule("value_avg"));
    let mut runner = Runner::new(&rules, &schema);
    assert!(runner.event(0, sized("a", "10")).is_empty());
    assert!(runner.event(SECOND, sized("a", "40")).is_empty());
    // Not a number: not counted (a missing size is not a zero).
    assert!(runner.event(2 * SECOND, sized("a", "n/a")).is_empty());
    let found = runner.event(3 * SECOND, sized("a", "400"));
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].count, 150);
    // Median: one large value among small ones does not move it; two of three do.
    let (rules, schema) = compile(&rule("value_median"));
    let mut runner = Runner::new(&rules, &schema);
    assert!(runner.event(0, sized("a", "10")).is_empty());
    assert!(runner.event(SECOND, sized("a", "20")).is_empty());
    assert!(
        runner.event(2 * SECOND, sized("a", "5000")).is_empty(),
        "median 20"
    );
    assert!(
        runner.event(3 * SECOND, sized("a", "30")).is_empty(),
        "median 25"
    );
    let found = runner.event(4 * SECOND, sized("a", "900"));
    assert!(found.is_empty(), "median of 10, 20, 30, 900, 5000 is 30");
    let found = runner.event(5 * SECOND, sized("a", "700"));
    assert_eq!(found.len(), 1, "median of six: (30 + 700) / 2 = 365");
    assert_eq!(found[0].count, 365);
}

#[test]
fn value_count_counts_distinct_values() {
    let text = with_base(
        "title: spray
id: spray
correlation:
    type: value_count
    rules: failed_signin
    group-by: [ip]
    timespan: 1m
    condition:
        field: user
        gte: 3
",
    );
    let (rules, schema) = compile(&text);
    let mut runner = Runner::new(&rules, &schema);
    runner.event(0, failed("a"));
    runner.event(SECOND, failed("a"));
    runner.event(2 * SECOND, failed("b"));
    assert!(runner.matches.is_empty());
    let found = runner.event(3 * SECOND, failed("c"));
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].count, 3);
    assert_eq!(
        found[0].group,
        vec![("ip".to_owned(), "10.0.0.1".to_owned())]
    );
    assert_eq!(found[0].evidence.len(), 4);
}

#[test]
fn value_count_lte_is_judged_at_window_end() {
    let text = with_base(
        "title: one user only
id: single
correlation:
    type: value_count
    rules: failed_signin
    group-by: [ip]
    timespan: 1m
    condition:
        field: user
        lte: 1
",
    );
    let (rules, schema) = compile(&text);
    let mut runner = Runner::new(&rules, &schema);
    runner.event(0, failed("a"));
    runner.event(SECOND, failed("a"));
    assert!(runner.advance(59 * SECOND).is_empty());
    let found = runner.advance(60 * SECOND);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].count, 1);
}

const TEMPORAL: &str = "title: badge and sign-in
id: both
correlation:
    type: temporal
    rules: [badge_in, signin_ok]
    group-by: [person]
    timespan: 5m
    aliases:
        person:
            badge_in: holder
            signin_ok: user
";

#[test]
fn temporal_matches_in_any_order_with_aliases() {
    let (rules, schema) = compile(&with_base(TEMPORAL));
    let both = rules.rule_index("both").unwrap();
    let mut runner = Runner::new(&rules, &schema);
    runner.event(0, signin("ada"));
    runner.event(SECOND, badge("bob"));
    let found = runner.event(2 * SECOND, badge("ada"));
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].rule, both);
    assert_eq!(
        found[0].group,
        vec![("person".to_owned(), "ada".to_owned())]
    );
    assert_eq!(found[0].evidence, vec!["e0", "e2"]);
    assert_eq!((found[0].first_time, found[0].count), (0, 2));
    // Bob's badge is still waiting; his sign-in after the timespan does not pair with it.
    assert!(runner.event(10 * 60 * SECOND, signin("bob")).is_empty());
}

#[test]
fn temporal_ordered_needs_the_order() {
    let text = with_base(
        "title: badge then sign-in
id: ordered
correlation:
    type: temporal_ordered
    rules: [badge_in, signin_ok]
    group-by: [person]
    timespan: 5m
    aliases:
        person:
            badge_in: holder
            signin_ok: user
",
    );
    let (rules, schema) = compile(&text);
    let mut runner = Runner::new(&rules, &schema);
    runner.event(0, signin("ada"));
    assert!(runner.event(SECOND, badge("ada")).is_empty());
    let found = runner.event(2 * SECOND, signin("ada"));
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].evidence, vec!["e1", "e2"]);
    assert_eq!(found[0].first_time, SECOND);
    // Too far apart.
    runner.event(10 * SECOND, badge("bob"));
    assert!(
        runner
            .event(10 * SECOND + 5 * 60 * SECOND + 1, signin("bob"))
            .is_empty()
    );
}

#[test]
fn temporal_ordered_allows_a_rule_twice() {
    let text = with_base(
        "title: fail, succeed, fail
id: sandwich
correlation:
    type: temporal_ordered
    rules: [failed_signin, signin_ok, failed_signin]
    group-by: [user]
    timespan: 1m
",
    );
    let (rules, schema) = compile(&text);
    let mut runner = Runner::new(&rules, &schema);
    runner.event(0, failed("ada"));
    runner.event(SECOND, signin("ada"));
    let found = runner.event(2 * SECOND, failed("ada"));
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].evidence, vec!["e0", "e1", "e2"]);
    assert_eq!(found[0].count, 3);
}

#[test]
fn chained_temporal_over_two_event_counts() {
    let text = with_base(
        "title: many failures
id: many_failures
name: many_failures
correlation:
    type: event_count
    rules: failed_signin
    group-by: [user]
    timespan: 1m
    condition:
        gte: 2
---
title: many badge-ins
id: many_badges
name: many_badges
correlation:
    type: event_count
    rules: badge_in
    group-by: [holder]
    timespan: 1m
    condition:
        gte: 2
---
title: both storms
id: storms
correlation:
    type: temporal
    rules: [many_failures, many_badges]
    group-by: [person]
    timespan: 10m
    aliases:
        person:
            many_failures: user
            many_badges: holder
",
    );
    let (rules, schema) = compile(&text);
    let storms = rules.rule_index("storms").unwrap();
    assert!(!rules.rules()[rules.rule_index("many_failures").unwrap()].generates_findings);
    let mut runner = Runner::new(&rules, &schema);
    runner.event(0, failed("ada"));
    runner.event(SECOND, failed("ada"));
    runner.event(2 * SECOND, badge("bob"));
    runner.event(3 * SECOND, badge("bob"));
    runner.event(4 * SECOND, badge("ada"));
    assert!(runner.matches.is_empty());
    let found = runner.event(5 * SECOND, badge("ada"));
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].rule, storms);
    assert_eq!(
        found[0].group,
        vec![("person".to_owned(), "ada".to_owned())]
    );
    assert_eq!(found[0].evidence, vec!["e0", "e1", "e4", "e5"]);
    assert_eq!(found[0].first_time, SECOND);
    assert_eq!(found[0].time, 5 * SECOND);
}

const ABSENCE: &str = "title: badge-in without sign-in
id: no_signin
correlation:
    type: absence
    rules: [badge_in]
    absent: [signin_ok]
    group-by: [person]
    timespan: 30m
    aliases:
        person:
            badge_in: holder
            signin_ok: user
";

const MINUTE: i64 = 60 * SECOND;

#[test]
fn absence_fires_at_the_deadline_and_not_before() {
    let (rules, schema) = compile(&with_base(ABSENCE));
    let absence = rules.rule_index("no_signin").unwrap();
    let mut runner = Runner::new(&rules, &schema);
    assert!(runner.event(0, badge("ada")).is_empty());
    assert_eq!(rules.next_deadline(&runner.state), Some(30 * MINUTE));
    assert!(runner.advance(30 * MINUTE - 1).is_empty());
    let found = runner.advance(30 * MINUTE);
    assert_eq!(
        found,
        vec![Match {
            rule: absence,
            time: 30 * MINUTE,
            first_time: 0,
            group: vec![("person".to_owned(), "ada".to_owned())],
            evidence: vec!["e0".to_owned()],
            count: 1,
            late: false,
        }]
    );
    assert!(runner.advance(40 * MINUTE).is_empty());
}

#[test]
fn absence_is_cancelled_inside_the_window_only() {
    let (rules, schema) = compile(&with_base(ABSENCE));
    let mut runner = Runner::new(&rules, &schema);
    runner.event(0, badge("ada"));
    runner.event(29 * MINUTE, signin("ada"));
    assert!(runner.advance(31 * MINUTE).is_empty());

    // A sign-in after the deadline does not cancel, even if it arrives before `advance`.
    runner.event(40 * MINUTE, badge("ada"));
    runner.event(71 * MINUTE, signin("ada"));
    let found = runner.advance(80 * MINUTE);
    assert_eq!(found.len(), 1);
    assert_eq!(
        (found[0].time, found[0].first_time),
        (70 * MINUTE, 40 * MINUTE)
    );
}

#[test]
fn absence_is_keyed_by_group() {
    let (rules, schema) = compile(&with_base(ABSENCE));
    let mut runner = Runner::new(&rules, &schema);
    runner.event(0, badge("ada"));
    runner.event(0, badge("bob"));
    runner.event(MINUTE, signin("bob"));
    let found = runner.advance(31 * MINUTE);
    assert_eq!(found.len(), 1);
    assert_eq!(
        found[0].group,
        vec![("person".to_owned(), "ada".to_owned())]
    );
}

#[test]
fn absence_cancels_a_trigger_that_arrives_after_its_cancelling_event() {
    let (rules, schema) = compile(&with_base(ABSENCE));
    let mut runner = Runner::new(&rules, &schema);
    runner.event(5 * MINUTE, signin("ada"));
    runner.event(MINUTE, badge("ada"));
    assert!(runner.advance(60 * MINUTE).is_empty());
    assert!(runner.state.is_empty());
}

#[test]
fn a_cancelling_match_without_state_is_kept_until_the_watermark_passes_it() {
    let (rules, schema) = compile(&with_base(ABSENCE));
    let mut runner = Runner::new(&rules, &schema);
    // A sign-in with nothing pending holds no key, yet still cancels a badge-in of the same
    // instant that comes after it (a later uid), also across a snapshot.
    runner.event(MINUTE, signin("ada"));
    assert_eq!(runner.state.key_count(), 0);
    let bytes = serde_json::to_vec(&runner.state).unwrap();
    runner.state = serde_json::from_slice(&bytes).unwrap();
    runner.event(MINUTE, badge("ada"));
    assert!(runner.advance(60 * MINUTE).is_empty());
    assert!(runner.state.is_empty());

    // Once the watermark has passed it, it is gone: a badge-in at that instant, arriving late,
    // is not cancelled by it.
    let mut late = Runner::new(&rules, &schema);
    late.event(MINUTE, signin("bob"));
    late.advance(MINUTE + 1);
    late.event(MINUTE, badge("bob"));
    assert_eq!(late.advance(60 * MINUTE).len(), 1);
}

#[test]
fn absence_pending_triggers_are_independent_and_bounded() {
    let (rules, schema) = compile(&with_base(ABSENCE));
    let mut runner = Runner::new(&rules, &schema);
    runner.event(0, badge("ada"));
    runner.event(10 * MINUTE, badge("ada"));
    // Cancels only the second (the first's window ended at 30 min).
    runner.event(35 * MINUTE, signin("ada"));
    let found = runner.advance(60 * MINUTE);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].first_time, 0);

    let mut flood = Runner::new(&rules, &schema);
    for index in 0..70 {
        flood.event(index, badge("eve"));
    }
    assert_eq!(flood.state.dropped(), 6);
    let found = flood.advance(2 * 30 * MINUTE);
    assert_eq!(found.len(), seam_rules::MAX_PENDING_PER_KEY);
    assert_eq!(found[0].first_time, 6);
}

#[test]
fn advance_emits_in_deadline_rule_key_order() {
    let text = with_base(&format!(
        "{ABSENCE}---
title: short absence
id: short
correlation:
    type: absence
    rules: [badge_in]
    absent: [signin_ok]
    group-by: [holder]
    timespan: 10m
"
    ));
    let (rules, schema) = compile(&text);
    let long = rules.rule_index("no_signin").unwrap();
    let short = rules.rule_index("short").unwrap();
    let mut runner = Runner::new(&rules, &schema);
    runner.event(20 * MINUTE, badge("zed"));
    runner.event(0, badge("bob"));
    runner.event(0, badge("ada"));
    let found = runner.advance(2 * 60 * MINUTE);
    let order: Vec<(i64, usize, String)> = found
        .iter()
        .map(|found| (found.time, found.rule, found.group[0].1.clone()))
        .collect();
    assert_eq!(
        order,
        vec![
            (10 * MINUTE, short, "ada".to_owned()),
            (10 * MINUTE, short, "bob".to_owned()),
            (30 * MINUTE, long, "ada".to_owned()),
            (30 * MINUTE, long, "bob".to_owned()),
            (30 * MINUTE, short, "zed".to_owned()),
            (50 * MINUTE, long, "zed".to_owned()),
        ]
    );
}

#[test]
fn idle_state_is_dropped_on_advance() {
    let text = with_base(&format!("{EVENT_COUNT}---\n{TEMPORAL}"));
    let (rules, schema) = compile(&text);
    let mut runner = Runner::new(&rules, &schema);
    runner.event(0, failed("ada"));
    runner.event(0, failed("bob"));
    runner.event(0, badge("cy"));
    assert_eq!(runner.state.key_count(), 3);
    // An event at exactly 10 s could still join the window of the events at 0.
    runner.advance(10 * SECOND);
    assert_eq!(runner.state.key_count(), 3);
    runner.advance(10 * SECOND + 1);
    assert_eq!(runner.state.key_count(), 1);
    runner.advance(5 * MINUTE + 1);
    assert!(runner.state.is_empty());
    assert_eq!(rules.next_deadline(&runner.state), None);
    assert!(runner.matches.is_empty());
}

#[test]
fn late_events_do_not_touch_correlations() {
    let (rules, schema) = compile(&with_base(EVENT_COUNT));
    let mut runner = Runner::new(&rules, &schema);
    for second in 0..5 {
        runner.event_with(second, failed("ada"), true);
    }
    assert!(runner.matches.is_empty());
    assert!(runner.state.is_empty());
}

#[test]
fn correlation_errors() {
    let unknown = compile_errors(&with_base(
        "title: c\nid: c\ncorrelation:\n    type: event_count\n    rules: [nope]\n    timespan: 1m\n    condition: {gte: 2}\n",
    ));
    assert_eq!(unknown, vec!["32:13: unknown rule reference `nope`"]);
    let bad_key = compile_errors(&with_base(
        "title: c\nid: c\ncorrelation:\n    type: event_count\n    rules: [badge_in]\n    timespan: 1m\n    window: 5\n    condition: {gte: 2}\n",
    ));
    assert_eq!(bad_key, vec!["34:5: unknown key `window` in `correlation`"]);
    let bad_type = compile_errors(&with_base(
        "title: c\nid: c\ncorrelation:\n    type: value_mode\n    rules: [badge_in]\n    timespan: 1m\n",
    ));
    assert_eq!(
        bad_type,
        vec![
            "31:11: unknown correlation type `value_mode` (expected event_count, value_count, value_sum, value_avg, value_median, temporal, temporal_ordered or absence)"
        ]
    );
    let median_below = compile_errors(&with_base(
        "title: c\nid: c\ncorrelation:\n    type: value_median\n    rules: [badge_in]\n    timespan: 1m\n    condition: {lte: 2, field: count}\n",
    ));
    assert!(
        median_below[0].contains("a value_median condition takes `gt` or `gte`"),
        "{median_below:?}"
    );
    let sum_without_field = compile_errors(&with_base(
        "title: c\nid: c\ncorrelation:\n    type: value_sum\n    rules: [badge_in]\n    timespan: 1m\n    condition: {gte: 2}\n",
    ));
    assert!(
        sum_without_field[0].contains("a value_sum condition needs `field`"),
        "{sum_without_field:?}"
    );
    let sum_below = compile_errors(&with_base(
        "title: c\nid: c\ncorrelation:\n    type: value_sum\n    rules: [badge_in]\n    timespan: 1m\n    condition: {lt: 2, field: count}\n",
    ));
    assert!(
        sum_below[0].contains("a value_sum condition takes `gt` or `gte`"),
        "{sum_below:?}"
    );
    let bad_timespan = compile_errors(&with_base(
        "title: c\nid: c\ncorrelation:\n    type: event_count\n    rules: [badge_in]\n    timespan: 5 minutes\n    condition: {gte: 2}\n",
    ));
    assert!(
        bad_timespan[0].starts_with("33:15: invalid timespan `5 minutes`"),
        "{bad_timespan:?}"
    );
    let no_field = compile_errors(&with_base(
        "title: c\nid: c\ncorrelation:\n    type: value_count\n    rules: [badge_in]\n    timespan: 1m\n    condition: {gte: 2}\n",
    ));
    assert_eq!(
        no_field,
        vec!["34:16: a value_count condition needs `field`"]
    );
    let unknown_field = common::compile_errors_with(
        &with_base(
            "title: c\nid: c\ncorrelation:\n    type: event_count\n    rules: [badge_in]\n    group-by: [holdr]\n    timespan: 1m\n    condition: {gte: 2}\n",
        ),
        &common::JsonSchema::only(&["class", "outcome", "activity", "holder"]),
    );
    assert_eq!(
        unknown_field,
        vec!["33:16: unknown field `holdr`: not in the schema"]
    );
    let bad_alias = compile_errors(&with_base(
        "title: c\nid: c\ncorrelation:\n    type: temporal\n    rules: [badge_in, signin_ok]\n    group-by: [person]\n    timespan: 1m\n    aliases:\n        person:\n            failed_signin: user\n",
    ));
    assert_eq!(
        bad_alias,
        vec!["37:13: alias refers to `failed_signin`, which this correlation does not use"]
    );
}

#[test]
fn reference_cycles_are_errors() {
    let errors = compile_errors(
        "title: a\nid: a\nname: a\ncorrelation:\n    type: event_count\n    rules: [b]\n    timespan: 1m\n    condition: {gte: 2}\n---\ntitle: b\nid: b\nname: b\ncorrelation:\n    type: event_count\n    rules: [a]\n    timespan: 1m\n    condition: {gte: 2}\n",
    );
    assert_eq!(errors, vec!["15:13: rule reference cycle: a -> b -> a"]);
    let own = compile_errors(
        "title: a\nid: a\ncorrelation:\n    type: event_count\n    rules: [a]\n    timespan: 1m\n    condition: {gte: 2}\n",
    );
    assert_eq!(own, vec!["5:13: rule reference cycle: a -> a"]);
}

#[test]
fn a_broken_rule_does_not_cascade_into_reference_errors() {
    let errors = compile_errors(
        "title: a\nid: a\nname: broken\ndetection:\n    s:\n        x|nope: 1\n    condition: s\n---\ntitle: b\nid: b\ncorrelation:\n    type: event_count\n    rules: [broken]\n    timespan: 1m\n    condition: {gte: 2}\n",
    );
    assert_eq!(errors, vec!["6:11: unknown modifier `nope`"]);
}

#[test]
fn chained_group_by_must_exist_upstream() {
    let errors = compile_errors(&with_base(
        "title: u\nid: u\nname: upstream\ncorrelation:\n    type: event_count\n    rules: [badge_in]\n    group-by: [holder]\n    timespan: 1m\n    condition: {gte: 2}\n---\ntitle: d\nid: d\ncorrelation:\n    type: event_count\n    rules: [upstream]\n    group-by: [zone]\n    timespan: 1h\n    condition: {gte: 2}\n",
    ));
    assert_eq!(
        errors,
        vec!["43:16: rule `upstream` does not group by `zone`"]
    );
}

#[test]
fn only_matches_of_the_rule_are_counted() {
    let (rules, schema) = compile(&with_base(EVENT_COUNT));
    let brute = rules.rule_index("brute").unwrap();
    let mut runner = Runner::new(&rules, &schema);
    for second in 0..3 {
        runner.event(second, signin("ada"));
        runner.event(second, badge("ada"));
    }
    assert!(only(&runner.matches, brute).is_empty());
}
