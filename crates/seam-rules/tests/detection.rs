//! Single-event (Sigma detection) semantics: values, modifiers, conditions and errors.

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a panic is a failed test, helpers included"
)]

mod common;

use common::{JsonSchema, Runner, compile, compile_errors, compile_errors_with, matches_event};
use seam_rules::{CompileOptions, Level, RuleKind, RuleSet};
use serde_json::json;

/// A one-rule file with the given `detection` body (indented by four spaces).
fn rule(detection: &str) -> String {
    format!("title: test rule\nid: test.rule\nlevel: high\ndetection:\n{detection}")
}

/// Whether a rule with this detection matches `event`.
fn check(detection: &str, event: serde_json::Value) -> bool {
    let (rules, schema) = compile(&rule(detection));
    matches_event(&rules, &schema, event)
}

#[test]
fn plain_strings_are_case_insensitive_whole_values() {
    let detection = "    selection:\n        user: Alice\n    condition: selection\n";
    assert!(check(detection, json!({"user": "alice"})));
    assert!(check(detection, json!({"user": "ALICE"})));
    assert!(!check(detection, json!({"user": "alice2"})));
    assert!(!check(detection, json!({"user": "xalice"})));
    assert!(!check(detection, json!({"other": "alice"})));
}

#[test]
fn wildcards_and_escapes() {
    let detection = "    selection:\n        path: 'C:\\Users\\\\*\\AppData\\\\*.exe'\n    condition: selection\n";
    assert!(check(
        detection,
        json!({"path": "c:\\users\\bob\\appdata\\x.exe"})
    ));
    assert!(!check(
        detection,
        json!({"path": "c:\\users\\bob\\appdata\\x.dll"})
    ));
    let single = "    selection:\n        code: 'A?C'\n    condition: selection\n";
    assert!(check(single, json!({"code": "abc"})));
    assert!(!check(single, json!({"code": "abbc"})));
    let escaped = "    selection:\n        text: 'really\\*'\n    condition: selection\n";
    assert!(check(escaped, json!({"text": "really*"})));
    assert!(!check(escaped, json!({"text": "really much"})));
    let anything = "    selection:\n        text: '*'\n    condition: selection\n";
    assert!(check(anything, json!({"text": ""})));
    assert!(!check(anything, json!({"other": "x"})));
}

#[test]
fn cased_modifier_is_case_sensitive() {
    let detection = "    selection:\n        user|cased: Alice\n    condition: selection\n";
    assert!(check(detection, json!({"user": "Alice"})));
    assert!(!check(detection, json!({"user": "alice"})));
    let contains =
        "    selection:\n        cmd|contains|cased: 'Invoke-'\n    condition: selection\n";
    assert!(check(contains, json!({"cmd": "x Invoke-Thing"})));
    assert!(!check(contains, json!({"cmd": "x invoke-thing"})));
}

#[test]
fn contains_startswith_endswith() {
    let contains = "    selection:\n        cmd|contains: 'mimikatz'\n    condition: selection\n";
    assert!(check(contains, json!({"cmd": "run MimiKatz.exe now"})));
    assert!(!check(contains, json!({"cmd": "mimi katz"})));
    let starts = "    selection:\n        cmd|startswith: 'net '\n    condition: selection\n";
    assert!(check(starts, json!({"cmd": "NET user"})));
    assert!(!check(starts, json!({"cmd": "xnet user"})));
    let ends = "    selection:\n        image|endswith: '\\cmd.exe'\n    condition: selection\n";
    assert!(check(
        ends,
        json!({"image": "C:\\Windows\\System32\\CMD.EXE"})
    ));
    assert!(!check(ends, json!({"image": "C:\\cmd.exe.bak"})));
    let inner_wildcard = "    selection:\n        cmd|contains: 'a*c'\n    condition: selection\n";
    assert!(check(inner_wildcard, json!({"cmd": "xxabbbcxx"})));
}

#[test]
fn value_lists_are_or_unless_all() {
    let any = "    selection:\n        user: [alice, bob]\n    condition: selection\n";
    assert!(check(any, json!({"user": "bob"})));
    assert!(!check(any, json!({"user": "carol"})));
    let all =
        "    selection:\n        cmd|contains|all: [whoami, /priv]\n    condition: selection\n";
    assert!(check(all, json!({"cmd": "whoami /priv"})));
    assert!(!check(all, json!({"cmd": "whoami /groups"})));
}

#[test]
fn selection_maps_are_and_lists_of_maps_are_or() {
    let and =
        "    selection:\n        user: alice\n        result: FAILURE\n    condition: selection\n";
    assert!(check(and, json!({"user": "alice", "result": "failure"})));
    assert!(!check(and, json!({"user": "alice", "result": "success"})));
    let or = "    selection:\n        - user: alice\n        - result: FAILURE\n    condition: selection\n";
    assert!(check(or, json!({"user": "bob", "result": "failure"})));
    assert!(check(or, json!({"user": "alice"})));
    assert!(!check(or, json!({"user": "bob", "result": "success"})));
}

#[test]
fn null_matches_missing_and_null() {
    let detection = "    selection:\n        trust: null\n    condition: selection\n";
    assert!(check(detection, json!({})));
    assert!(check(detection, json!({"trust": null})));
    assert!(check(detection, json!({"trust": []})));
    assert!(!check(detection, json!({"trust": ""})));
    assert!(!check(detection, json!({"trust": "x"})));
    let empty = "    selection:\n        trust: ''\n    condition: selection\n";
    assert!(check(empty, json!({"trust": ""})));
    assert!(!check(empty, json!({})));
    assert!(!check(empty, json!({"trust": null})));
}

#[test]
fn missing_fields_never_match_values_and_not_inverts() {
    let detection = "    selection:\n        user: alice\n    condition: not selection\n";
    assert!(check(detection, json!({})));
    assert!(check(detection, json!({"user": "bob"})));
    assert!(!check(detection, json!({"user": "alice"})));
}

#[test]
fn string_true_matches_a_json_boolean_and_back() {
    let quoted =
        "    selection:\n        securityContext.isProxy: 'true'\n    condition: selection\n";
    assert!(check(quoted, json!({"securityContext": {"isProxy": true}})));
    assert!(!check(
        quoted,
        json!({"securityContext": {"isProxy": false}})
    ));
    assert!(check(
        quoted,
        json!({"securityContext": {"isProxy": "True"}})
    ));
    let plain = "    selection:\n        flag: true\n    condition: selection\n";
    assert!(check(plain, json!({"flag": true})));
    assert!(check(plain, json!({"flag": "true"})));
    assert!(!check(plain, json!({"flag": "yes"})));
    assert!(!check(plain, json!({"flag": 1})));
}

#[test]
fn numbers_match_numeric_strings_and_strings_match_numbers() {
    let number = "    selection:\n        ResultType: 50126\n    condition: selection\n";
    assert!(check(number, json!({"ResultType": 50126})));
    assert!(check(number, json!({"ResultType": "50126"})));
    assert!(check(number, json!({"ResultType": 50126.0})));
    assert!(!check(number, json!({"ResultType": "50126x"})));
    assert!(!check(number, json!({"ResultType": 50125})));
    let text = "    selection:\n        ResultType: '50126'\n    condition: selection\n";
    assert!(check(text, json!({"ResultType": 50126})));
    assert!(check(text, json!({"ResultType": "50126"})));
    let float = "    selection:\n        score: 0.5\n    condition: selection\n";
    assert!(check(float, json!({"score": 0.5})));
    assert!(check(float, json!({"score": "0.5"})));
}

#[test]
fn multi_valued_fields_match_any_element() {
    let detection = "    selection:\n        target.displayName: 'Okta Admin Console'\n    condition: selection\n";
    let event =
        json!({"target": [{"displayName": "alice"}, {"displayName": "Okta Admin Console"}]});
    assert!(check(detection, event));
    let none = json!({"target": [{"displayName": "alice"}, {"displayName": "bob"}]});
    assert!(!check(detection, none));
    let all = "    selection:\n        roles|all: [admin, auditor]\n    condition: selection\n";
    assert!(check(all, json!({"roles": ["auditor", "user", "admin"]})));
    assert!(!check(all, json!({"roles": ["auditor", "user"]})));
}

#[test]
fn regex_with_flags() {
    let plain = "    selection:\n        user|re: '^adm[0-9]+$'\n    condition: selection\n";
    assert!(check(plain, json!({"user": "adm42"})));
    assert!(!check(plain, json!({"user": "ADM42"})));
    let insensitive =
        "    selection:\n        user|re|i: '^adm[0-9]+$'\n    condition: selection\n";
    assert!(check(insensitive, json!({"user": "ADM42"})));
    let multi = "    selection:\n        text|re|m: '^second$'\n    condition: selection\n";
    assert!(check(multi, json!({"text": "first\nsecond\nthird"})));
    let no_multi = "    selection:\n        text|re: '^second$'\n    condition: selection\n";
    assert!(!check(no_multi, json!({"text": "first\nsecond\nthird"})));
    let dot_all = "    selection:\n        text|re|s: 'a.b'\n    condition: selection\n";
    assert!(check(dot_all, json!({"text": "a\nb"})));
    let numbers = "    selection:\n        port|re: '^44[0-9]$'\n    condition: selection\n";
    assert!(check(numbers, json!({"port": 443})));
}

#[test]
fn cidr_against_strings_and_addresses() {
    let detection = "    selection:\n        src|cidr: ['10.0.0.0/8', '2001:db8::/32']\n    condition: selection\n";
    assert!(check(detection, json!({"src": "10.20.30.40"})));
    assert!(check(detection, json!({"src": "ip:10.1.1.1"})));
    assert!(check(detection, json!({"src": "2001:db8:ff::1"})));
    assert!(check(detection, json!({"src": "ip:2001:db8::7"})));
    assert!(!check(detection, json!({"src": "11.0.0.1"})));
    assert!(!check(detection, json!({"src": "not an address"})));
    assert!(!check(detection, json!({"src": 10})));
}

#[test]
fn numeric_comparisons() {
    let detection = "    selection:\n        bytes|gt: 1000\n    condition: selection\n";
    assert!(check(detection, json!({"bytes": 1001})));
    assert!(check(detection, json!({"bytes": "5000"})));
    assert!(check(detection, json!({"bytes": 1000.5})));
    assert!(!check(detection, json!({"bytes": 1000})));
    assert!(!check(detection, json!({"bytes": "lots"})));
    let gte = "    selection:\n        risk|gte: 0.7\n    condition: selection\n";
    assert!(check(gte, json!({"risk": 0.7})));
    assert!(!check(gte, json!({"risk": 0.69})));
    let lt = "    selection:\n        count|lt: 3\n    condition: selection\n";
    assert!(check(lt, json!({"count": 2})));
    assert!(!check(lt, json!({"count": 3})));
    let lte = "    selection:\n        count|lte: 3\n    condition: selection\n";
    assert!(check(lte, json!({"count": 3})));
    assert!(!check(lte, json!({"count": 4})));
}

#[test]
fn exists_modifier() {
    let present = "    selection:\n        badge|exists: true\n    condition: selection\n";
    assert!(check(present, json!({"badge": "4411"})));
    assert!(check(present, json!({"badge": ""})));
    assert!(!check(present, json!({"badge": null})));
    assert!(!check(present, json!({})));
    let absent = "    selection:\n        badge|exists: false\n    condition: selection\n";
    assert!(check(absent, json!({})));
    assert!(!check(absent, json!({"badge": 7})));
}

#[test]
fn fieldref_compares_two_fields() {
    let detection = "    selection:\n        actor|fieldref: target\n    condition: selection\n";
    assert!(check(
        detection,
        json!({"actor": "Alice", "target": "alice"})
    ));
    assert!(!check(
        detection,
        json!({"actor": "alice", "target": "bob"})
    ));
    assert!(!check(detection, json!({"actor": "alice"})));
    assert!(check(detection, json!({"actor": 7, "target": 7})));
    assert!(check(
        detection,
        json!({"actor": "bob", "target": ["alice", "bob"]})
    ));
    let cased = "    selection:\n        actor|fieldref|cased: target\n    condition: selection\n";
    assert!(!check(cased, json!({"actor": "Alice", "target": "alice"})));
    assert!(check(cased, json!({"actor": "alice", "target": "alice"})));
}

#[test]
fn windash_matches_every_dash() {
    let detection =
        "    selection:\n        cmd|windash|contains: ' -enc '\n    condition: selection\n";
    assert!(check(detection, json!({"cmd": "powershell -enc AAAA"})));
    assert!(check(detection, json!({"cmd": "powershell /enc AAAA"})));
    assert!(check(
        detection,
        json!({"cmd": "powershell \u{2013}enc AAAA"})
    ));
    assert!(!check(detection, json!({"cmd": "powershell +enc AAAA"})));
}

#[test]
fn base64_and_base64offset() {
    let plain = "    selection:\n        data|base64: 'admin'\n    condition: selection\n";
    assert!(check(plain, json!({"data": "YWRtaW4="})));
    assert!(!check(plain, json!({"data": "ywrtaw4="})));
    let offset =
        "    selection:\n        data|base64offset|contains: 'http://'\n    condition: selection\n";
    // base64 of "GET http://x" and of "xx http://y"
    assert!(check(offset, json!({"data": "R0VUIGh0dHA6Ly94"})));
    assert!(check(offset, json!({"data": "eHggaHR0cDovL3k="})));
    assert!(!check(offset, json!({"data": "aHR0cHM6Ly8="})));
    let wide =
        "    selection:\n        data|wide|base64offset|contains: 'ab'\n    condition: selection\n";
    // base64 of "ab" in UTF-16LE is "YQBiAA=="
    assert!(check(wide, json!({"data": "YQBiAA=="})));
}

#[test]
fn keyword_selections_search_the_keyword_text() {
    let detection =
        "    keywords:\n        - 'password'\n        - 'secret*key'\n    condition: keywords\n";
    assert!(check(
        detection,
        json!({"_keywords": "user typed PASSWORD here"})
    ));
    assert!(check(detection, json!({"_keywords": "the secret api key"})));
    assert!(!check(detection, json!({"_keywords": "nothing here"})));
    assert!(!check(detection, json!({})));
    let all = "    keywords:\n        '|all': [alpha, beta]\n    condition: keywords\n";
    assert!(check(all, json!({"_keywords": "beta then alpha"})));
    assert!(!check(all, json!({"_keywords": "alpha only"})));
}

#[test]
fn conditions_combine_selections() {
    let detection = "    selection_a:\n        a: 1\n    selection_b:\n        b: 1\n    filter:\n        c: 1\n    condition: 1 of selection_* and not filter\n";
    assert!(check(detection, json!({"a": 1})));
    assert!(check(detection, json!({"b": 1})));
    assert!(!check(detection, json!({"a": 1, "c": 1})));
    assert!(!check(detection, json!({"c": 1})));
    let all = "    selection_a:\n        a: 1\n    selection_b:\n        b: 1\n    condition: all of them\n";
    assert!(check(all, json!({"a": 1, "b": 1})));
    assert!(!check(all, json!({"a": 1})));
    let precedence = "    a:\n        a: 1\n    b:\n        b: 1\n    c:\n        c: 1\n    condition: a or b and c\n";
    assert!(check(precedence, json!({"a": 1})));
    assert!(!check(precedence, json!({"b": 1})));
    let list =
        "    a:\n        a: 1\n    b:\n        b: 1\n    condition:\n        - a\n        - b\n";
    assert!(check(list, json!({"b": 1})));
}

#[test]
fn metadata_is_kept() {
    let text = "title: Meta\nid: meta.rule\nname: meta_rule\nstatus: experimental\ndescription: what it does\nauthor: someone\ndate: 2026-03-02\nlevel: critical\ntags: [attack.t1078, seam.presence]\nreferences: [https://example.invalid/x]\nfalsepositives: Unlikely\nlogsource:\n    product: okta\n    service: okta\nexplanation: '{actor.alternateId} did it'\ncustom_thing: {a: 1}\ndetection:\n    selection:\n        a: 1\n    condition: selection\n";
    let (rules, _) = compile(text);
    let meta = &rules.rules()[0];
    assert_eq!(meta.id, "meta.rule");
    assert_eq!(meta.name.as_deref(), Some("meta_rule"));
    assert_eq!(meta.level, Some(Level::Critical));
    assert_eq!(meta.status.as_deref(), Some("experimental"));
    assert_eq!(meta.date.as_deref(), Some("2026-03-02"));
    assert_eq!(meta.tags, vec!["attack.t1078", "seam.presence"]);
    assert_eq!(meta.falsepositives, vec!["Unlikely"]);
    assert_eq!(meta.logsource.product.as_deref(), Some("okta"));
    assert_eq!(
        meta.explanation.as_deref(),
        Some("{actor.alternateId} did it")
    );
    assert_eq!(meta.custom["custom_thing"], json!({"a": 1}));
    assert_eq!(meta.kind, RuleKind::Detection);
    assert!(meta.generates_findings);
    assert_eq!((meta.path.as_str(), meta.line), ("rules.yml", 1));
}

#[test]
fn rule_tests_are_parsed_faithfully() {
    let text = "title: With tests\nid: with.tests\ndetection:\n    selection:\n        a: 1\n    condition: selection\ntests:\n    - name: fires\n      expect: 1\n      events:\n        - {time: \"2026-03-02T09:00:00Z\", badge: \"4411\", n: 4411, f: 1.5, ok: true, none: null, list: [1, 'x']}\n    - name: quiet\n      expect: 0\n      events: []\n";
    let (rules, _) = compile(text);
    let tests = rules.tests();
    assert_eq!(tests.len(), 2);
    assert_eq!(tests[0].name, "fires");
    assert_eq!(tests[0].expect, 1);
    assert_eq!(tests[0].rule, 0);
    assert_eq!(tests[0].line, 8);
    assert_eq!(
        tests[0].events[0],
        json!({"time": "2026-03-02T09:00:00Z", "badge": "4411", "n": 4411, "f": 1.5, "ok": true, "none": null, "list": [1, "x"]})
    );
    assert_eq!(tests[1].expect, 0);
}

#[test]
fn late_events_only_reach_single_event_rules() {
    let (rules, schema) = compile(&rule(
        "    selection:\n        a: 1\n    condition: selection\n",
    ));
    let mut runner = Runner::new(&rules, &schema);
    let found = runner.event_with(5, json!({"a": 1}), true);
    assert_eq!(found.len(), 1);
    assert!(found[0].late);
    assert_eq!(found[0].evidence, vec!["e0"]);
    assert_eq!(
        (found[0].time, found[0].first_time, found[0].count),
        (5, 5, 1)
    );
}

#[test]
fn unknown_modifier_points_at_the_modifier() {
    let text = "title: t\nid: t\ndetection:\n    selection:\n        user|contians: x\n    condition: selection\n";
    assert_eq!(
        compile_errors(text),
        vec!["5:14: unknown modifier `contians`"]
    );
    let quoted = "title: t\nid: t\ndetection:\n    selection:\n        'user|contains|bogus': x\n    condition: selection\n";
    assert_eq!(
        compile_errors(quoted),
        vec!["5:24: unknown modifier `bogus`"]
    );
}

#[test]
fn condition_errors_point_into_the_condition() {
    let text = "title: t\nid: t\ndetection:\n    selection:\n        a: 1\n    condition: selection and not filter\n";
    assert_eq!(
        compile_errors(text),
        vec!["6:34: condition: unknown selection `filter`"]
    );
    let quoted = "title: t\nid: t\ndetection:\n    selection:\n        a: 1\n    condition: 'selection or'\n";
    assert_eq!(
        compile_errors(quoted),
        vec!["6:29: condition: condition ends too early"]
    );
}

#[test]
fn value_errors_have_positions() {
    let errors = compile_errors(
        "title: t\nid: t\ndetection:\n    selection:\n        a|re: '(unclosed'\n        b|cidr: '10.0.0.0/40'\n        c|gt: many\n        d|exists: [true, false]\n        e|expand: '%x%'\n        f|contains|startswith: x\n    condition: selection\n",
    );
    assert_eq!(errors.len(), 6, "{errors:#?}");
    assert!(
        errors[0].starts_with("5:15: invalid regular expression `(unclosed`"),
        "{}",
        errors[0]
    );
    assert_eq!(errors[1], "6:17: invalid cidr `10.0.0.0/40`");
    assert_eq!(
        errors[2],
        "7:15: modifier `gt` needs a number, found a string"
    );
    assert!(
        errors[3].starts_with("8:19: modifier `exists` needs a single boolean"),
        "{}",
        errors[3]
    );
    assert!(
        errors[4].starts_with("9:11: unsupported modifier `expand`"),
        "{}",
        errors[4]
    );
    assert_eq!(
        errors[5],
        "10:20: modifier `contains` cannot be combined with `startswith`"
    );
}

#[test]
fn unknown_fields_are_reported_by_the_schema() {
    let schema = JsonSchema::only(&["user"]);
    let text = "title: t\nid: t\ndetection:\n    selection:\n        user: a\n        usr: b\n    condition: selection\n";
    assert_eq!(
        compile_errors_with(text, &schema),
        vec!["6:9: unknown field `usr`: not in the schema"]
    );
}

#[test]
fn structural_errors() {
    let errors = compile_errors(
        "title: t\nid: t\nlevel: severe\nstatus: shiny\ndetection:\n    selection: {}\n    condition: selection\n",
    );
    assert_eq!(
        errors,
        vec![
            "3:8: unknown level `severe` (expected informational, low, medium, high or critical)",
            "4:9: unknown status `shiny` (expected stable, test, experimental, deprecated or unsupported)",
            "6:16: empty selection `selection`",
        ]
    );
    let missing = compile_errors("title: t\ndetection:\n    selection:\n        a: 1\n");
    assert_eq!(missing, vec!["1:1: missing required key `id`"]);
    let no_condition =
        compile_errors("title: t\nid: t\ndetection:\n    selection:\n        a: 1\n");
    assert_eq!(
        no_condition,
        vec!["4:5: missing required key `detection.condition`"]
    );
    let syntax = compile_errors("title: t\nid: [t\n");
    assert_eq!(syntax.len(), 1);
    assert!(syntax[0].contains("yaml syntax error"), "{}", syntax[0]);
    let duplicate_key = compile_errors("title: t\nid: t\nid: u\n");
    assert_eq!(duplicate_key, vec!["3:1: duplicate key `id`"]);
    let aggregation = compile_errors(
        "title: t\nid: t\ndetection:\n    selection:\n        a: 1\n    condition: selection | count() > 5\n",
    );
    assert!(
        aggregation[0].starts_with("6:26: condition: aggregations"),
        "{}",
        aggregation[0]
    );
}

#[test]
fn all_errors_of_all_files_are_reported() {
    let files = vec![
        seam_rules::SourceFile {
            path: "a.yml".to_owned(),
            text: "title: a\nid: a\ndetection:\n    s:\n        x|bad: 1\n    condition: s\n---\ntitle: b\nid: b\ndetection:\n    s:\n        x: 1\n    condition: t\n".to_owned(),
        },
        seam_rules::SourceFile {
            path: "b.yml".to_owned(),
            text: "title: dup\nid: a\ndetection:\n    s:\n        x: 1\n    condition: s\n".to_owned(),
        },
    ];
    let errors =
        RuleSet::compile(&files, &JsonSchema::default(), &CompileOptions::default()).unwrap_err();
    let shown: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert_eq!(
        shown,
        vec![
            "a.yml:5:11: unknown modifier `bad`",
            "a.yml:13:16: condition: unknown selection `t`",
            "b.yml:2:5: duplicate rule id `a` (first defined at a.yml:2:5)",
        ]
    );
}

#[test]
fn oversized_files_are_rejected() {
    let text = format!(
        "title: t\nid: t\ndescription: '{}'\n",
        "x".repeat(seam_rules::MAX_FILE_BYTES)
    );
    let errors = compile_errors(&text);
    assert_eq!(
        errors,
        vec!["1:1: file is larger than the limit of 1048576 bytes"]
    );
}

#[test]
fn dispatch_indexes_by_required_literals() {
    let text = "title: a\nid: auth\ndetection:\n    s:\n        class: authentication\n        user: x\n    condition: s\n---\ntitle: b\nid: either\ndetection:\n    s:\n        class: [authentication, network]\n    condition: s\n---\ntitle: c\nid: unindexed\ndetection:\n    s:\n        user: x\n    condition: s\n---\ntitle: d\nid: negated\ndetection:\n    s:\n        class: physical_access\n    condition: not s\n";
    let schema = JsonSchema::default();
    let options = CompileOptions {
        dispatch_fields: vec![schema.field("class"), schema.field("user")],
    };
    let rules = RuleSet::compile(&common::source(text), &schema, &options).unwrap();
    let mut runner = Runner::new(&rules, &schema);
    runner.event(1, json!({"class": "Authentication", "user": "x"}));
    runner.event(2, json!({"class": "network", "user": "x"}));
    runner.event(3, json!({"class": "physical_access", "user": "x"}));
    runner.event(4, json!({"user": "x"}));
    runner.event(5, json!({"class": ["network", "x"], "user": "y"}));
    assert_eq!(
        runner.fired_ids(),
        vec![
            "auth",
            "either",
            "unindexed",
            "negated", // 1
            "either",
            "unindexed",
            "negated",   // 2
            "unindexed", // 3
            "unindexed",
            "negated", // 4
            "either",
            "negated", // 5
        ]
    );
}
