//! Whole imports: the fixtures against their golden outcomes, each rule of the module doc,
//! the limits, a large import, and inputs that must never panic.

use super::*;

const HR_TOML: &str = include_str!("../../tests/fixtures/import/hr.toml");
const HR_CSV: &str = include_str!("../../tests/fixtures/import/hr.csv");
const HR_EXPECTED: &str = include_str!("../../tests/fixtures/import/hr.expected.json");
const PACS_TOML: &str = include_str!("../../tests/fixtures/import/cardholders.toml");
const PACS_CSV: &str = include_str!("../../tests/fixtures/import/cardholders.csv");
const PACS_EXPECTED: &str = include_str!("../../tests/fixtures/import/cardholders.expected.json");
const PACS_JSON_TOML: &str = include_str!("../../tests/fixtures/import/cardholders-json.toml");
const PACS_JSON: &str = include_str!("../../tests/fixtures/import/cardholders.json");
const PACS_JSON_EXPECTED: &str =
    include_str!("../../tests/fixtures/import/cardholders-json.expected.json");
const LDIF_TOML: &str = include_str!("../../tests/fixtures/import/ldif.toml");
const LDIF: &str = include_str!("../../tests/fixtures/import/directory.ldif");
const LDIF_EXPECTED: &str = include_str!("../../tests/fixtures/import/directory.expected.json");

/// The demo day of the example estate, at noon.
fn now() -> Ts {
    Ts::parse("2026-03-02T12:00:00Z").unwrap()
}

fn ts(text: &str) -> Ts {
    Ts::parse(text).unwrap()
}

fn mapping(text: &str) -> ImportMapping {
    match ImportMapping::from_toml(text) {
        Ok(mapping) => mapping,
        Err(errors) => panic!("{errors:#?}"),
    }
}

fn run(mapping_text: &str, input: &str) -> ImportOutcome {
    let outcome = import(&mapping(mapping_text), input, &ImportOptions::at(now())).unwrap();
    assert_counts(&outcome);
    outcome
}

fn assert_counts(outcome: &ImportOutcome) {
    assert_eq!(
        outcome.rows,
        outcome.deltas.len() + outcome.errors.len() + outcome.skipped.len(),
        "{outcome:#?}"
    );
    assert_eq!(outcome.lines.len(), outcome.deltas.len());
}

fn delta<'o>(outcome: &'o ImportOutcome, person: &str) -> &'o DirectoryDelta {
    outcome
        .deltas
        .iter()
        .find(|delta| delta.person == person)
        .unwrap_or_else(|| panic!("no delta for {person}: {outcome:#?}"))
}

/// Compares with the expected file, or writes it when `SEAM_UPDATE_GOLDEN` is set.
fn golden(mapping_text: &str, input: &str, expected: &str, file: &str) {
    let outcome = run(mapping_text, input);
    let json = serde_json::to_string_pretty(&outcome).unwrap() + "\n";
    if std::env::var_os("SEAM_UPDATE_GOLDEN").is_some() {
        let path = format!(
            "{}/tests/fixtures/import/{file}",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::write(&path, &json).unwrap();
        return;
    }
    let expected: serde_json::Value = serde_json::from_str(expected).unwrap();
    let found: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert!(
        expected == found,
        "{file} differs (SEAM_UPDATE_GOLDEN=1 rewrites it); found:\n{json}"
    );
}

#[test]
fn golden_hr() {
    golden(HR_TOML, HR_CSV, HR_EXPECTED, "hr.expected.json");
}

#[test]
fn golden_cardholders_csv() {
    golden(
        PACS_TOML,
        PACS_CSV,
        PACS_EXPECTED,
        "cardholders.expected.json",
    );
}

#[test]
fn golden_cardholders_json() {
    golden(
        PACS_JSON_TOML,
        PACS_JSON,
        PACS_JSON_EXPECTED,
        "cardholders-json.expected.json",
    );
}

#[test]
fn golden_ldif() {
    golden(LDIF_TOML, LDIF, LDIF_EXPECTED, "directory.expected.json");
}

// ------------------------------------------------------------------------------- HR

const HR: &str = r#"
source = "hr"
timezone = "Europe/Amsterdam"
person_id = "id"
[fields]
kind = "type"
start = "start"
end = "end"
[[identifier]]
kind = "upn"
field = "upn"
"#;

fn hr(rows: &str) -> ImportOutcome {
    run(HR, &format!("id,type,start,end,upn\n{rows}"))
}

#[test]
fn joiners_start_and_leavers_end_with_their_local_days() {
    let outcome = hr(concat!(
        "old,employee,2020-01-01,,old@x\n",
        "new,employee,2026-03-16,,new@x\n",
        "gone,employee,2020-01-01,2026-02-27,gone@x\n",
        "going,employee,2020-01-01,2026-03-13,going@x\n",
    ));
    assert!(outcome.errors.is_empty(), "{outcome:#?}");
    let old = delta(&outcome, "old");
    assert_eq!(
        (old.status.as_deref(), old.status_from),
        (Some("active"), None)
    );
    assert_eq!(old.identifiers[0].from, None);
    let new = delta(&outcome, "new");
    assert_eq!(new.status.as_deref(), Some("active"));
    assert_eq!(new.status_from, Some(ts("2026-03-15T23:00:00Z")));
    assert_eq!(new.identifiers[0].from, Some(ts("2026-03-15T23:00:00Z")));
    let gone = delta(&outcome, "gone");
    assert_eq!(
        (gone.status.as_deref(), gone.status_from),
        (Some("terminated"), None)
    );
    let going = delta(&outcome, "going");
    assert_eq!(going.status.as_deref(), Some("terminated"));
    // The end of the last day: the next local midnight.
    assert_eq!(going.status_from, Some(ts("2026-03-13T23:00:00Z")));
    assert_eq!(going.window, None);
    // Accounts outlive the employment: a leaver's sign-in must still resolve to them.
    assert_eq!(going.identifiers[0].until, None);
}

#[test]
fn contracts_are_windows() {
    let outcome = hr(concat!(
        "frank,contractor,2025-10-01,2026-06-29,frank@x\n",
        "leo,contractor,2026-04-01,2026-09-30,leo@x\n",
    ));
    let frank = delta(&outcome, "frank");
    assert_eq!(
        frank.window,
        Some(seam_model::DeltaWindow {
            start: Some(ts("2025-09-30T22:00:00Z")),
            end: Some(ts("2026-06-29T22:00:00Z")),
        })
    );
    assert_eq!(frank.status.as_deref(), Some("terminated"));
    assert_eq!(frank.status_from, Some(ts("2026-06-29T22:00:00Z")));
    let leo = delta(&outcome, "leo");
    assert_eq!(leo.status.as_deref(), Some("active"));
    assert_eq!(leo.status_from, Some(ts("2026-03-31T22:00:00Z")));
    assert_eq!(
        leo.window.and_then(|w| w.end),
        Some(ts("2026-09-30T22:00:00Z"))
    );
}

#[test]
fn bad_rows_are_errors_with_their_lines() {
    let outcome = hr(concat!(
        "a,employee,2026-03-10,2026-03-09,a@x\n",
        "b,employee,yesterday,,b@x\n",
        "c,employee,2020-01-01\n",
        "d,intern,2020-01-01,,d@x\n",
        ",employee,2020-01-01,,e@x\n",
        "f,employee,2020-01-01,,f@x\n",
        "f,employee,2021-01-01,,f2@x\n",
        "g,employee,2026-03-09,2026-03-09,g@x\n",
    ));
    let errors: Vec<String> = outcome.errors.iter().map(ToString::to_string).collect();
    assert_eq!(
        errors,
        [
            "2: end: the last day `2026-03-09` is before the start `2026-03-10`",
            "3: start: `yesterday` is not a date: expected ISO 8601, such as `2026-03-02` or `2026-03-02T09:00:00+01:00`",
            "4: 3 fields, expected 5 as in the header",
            "5: type: unknown kind `intern`: expected `employee`, `contractor`, `visitor`, `service` (or map the export's values in `[kind_values]`)",
            "6: id: the person id is empty",
            "8: id: person `f` is already stated on line 7: one row per person",
        ],
        "{outcome:#?}"
    );
    // A one-day contract is no error.
    assert_eq!(outcome.deltas.len(), 2);
    assert_eq!(outcome.rows, 8);
}

#[test]
fn a_header_without_a_mapped_column_refuses_the_import() {
    let error = import(
        &mapping(HR),
        "id,type,start,ned,upn\nx,employee,,,x@x\n",
        &ImportOptions::at(now()),
    )
    .unwrap_err();
    assert_eq!(
        error.to_string(),
        "1: the header has no column `end`: expected the columns the mapping names; the header has `id`, `type`, `start`, `ned`, `upn`; did you mean `ned`?"
    );
    let error = import(&mapping(HR), "\u{feff}\n\n", &ImportOptions::at(now())).unwrap_err();
    assert!(
        matches!(error, ImportError::Header { line: 1, .. }),
        "{error}"
    );
}

#[test]
fn a_byte_order_mark_and_other_delimiters() {
    let text = HR.replace("[fields]", "[csv]\ndelimiter = \";\"\n[fields]");
    let outcome = run(
        &text,
        "\u{feff}id;type;start;end;upn\r\nalice;Employee;2024-01-01;;\"Alice@Example.com\"\r\n",
    );
    let alice = delta(&outcome, "alice");
    assert_eq!(alice.kind.as_deref(), Some("employee"));
    assert_eq!(alice.identifiers[0].value, "alice@example.com");
}

#[test]
fn the_same_account_on_two_people_fails_both_rows() {
    let outcome = hr(concat!(
        "a,employee,2020-01-01,,shared@x\n",
        "b,employee,2020-01-01,,other@x\n",
        "c,employee,2020-01-01,,Shared@X\n",
    ));
    let lines: Vec<usize> = outcome.errors.iter().map(|e| e.line).collect();
    assert_eq!(lines, [2, 4], "{outcome:#?}");
    assert_eq!(
        outcome.errors[0].message,
        "upn `shared@x` is also held by `c` (line 4) over an overlapping interval: one holder at a time"
    );
    assert_eq!(outcome.errors[0].field.as_deref(), Some("upn"));
    assert_eq!(outcome.deltas.len(), 1);
}

// ------------------------------------------------------------------------------- PACS

const PACS: &str = r#"
source = "pacs"
person_id = "id"
[fields]
access_levels = "levels"
[[card]]
number = "cards"
separator = "|"
facility = "facility"
template = "{facility}:{card}"
valid_from = "from"
valid_until = "until"
[access_levels]
"HQ General" = ["hq-lobby", "hq-office"]
"#;

fn pacs(rows: &str) -> ImportOutcome {
    run(
        PACS,
        &format!("id,cards,facility,from,until,levels\n{rows}"),
    )
}

#[test]
fn badges_from_templates_with_their_validity() {
    let outcome = pacs(concat!(
        "alice,4411|4412,100,,2026-12-31T00:00:00Z|,HQ General\n",
        "bob,\"7,7\",101|102,,,\n",
    ));
    let alice = delta(&outcome, "alice");
    assert_eq!(alice.replaces, ["badge"]);
    assert_eq!(alice.identifiers.len(), 2);
    assert_eq!(alice.identifiers[0].value, "100:4411");
    assert_eq!(alice.identifiers[0].until, Some(ts("2026-12-31T00:00:00Z")));
    assert_eq!(alice.identifiers[1].value, "100:4412");
    assert_eq!(alice.identifiers[1].until, None);
    assert_eq!(
        alice.clearances.as_deref(),
        Some(&["hq-lobby".to_string(), "hq-office".to_string()][..])
    );
    // One card (a quoted number may hold the CSV delimiter), two facilities: the counts
    // must agree.
    assert_eq!(
        outcome.errors[0].to_string(),
        "3: facility: 2 values for 1 card: expected one for all of them, or one per card"
    );
    assert_eq!(outcome.deltas.len(), 1);
}

#[test]
fn card_rows_that_cannot_be_read() {
    let many: Vec<String> = (0..65).map(|n| n.to_string()).collect();
    let outcome = pacs(&format!(
        concat!(
            "a,1|2|3,1|2,,,\n",
            "b,{},1,,,\n",
            "c,5,1,2026-04-01,2026-03-01,\n",
            "d,6,,,,\n",
        ),
        many.join("|")
    ));
    let errors: Vec<String> = outcome.errors.iter().map(ToString::to_string).collect();
    assert_eq!(
        errors,
        [
            "2: facility: 2 values for 3 cards: expected one for all of them, or one per card",
            "3: cards: 65 cards, over the limit of 64 per cardholder",
            "4: until: card `5` is valid from `2026-04-01T00:00:00.000Z` until `2026-03-02T00:00:00.000Z`: no time at all",
            "5: facility: card `6` has no facility code",
        ]
    );
}

#[test]
fn unknown_access_levels_are_warnings() {
    let outcome = pacs("a,1,9,,,HQ General;HQ Genral;Roof\n");
    assert_eq!(outcome.deltas.len(), 1);
    let warnings: Vec<String> = outcome.warnings.iter().map(ToString::to_string).collect();
    assert_eq!(
        warnings,
        [
            "2: levels: unknown access level `HQ Genral`: not in `[access_levels]`, so it grants no clearance here; did you mean `HQ General`?",
            "2: levels: unknown access level `Roof`: not in `[access_levels]`, so it grants no clearance here",
        ]
    );
}

#[test]
fn a_badge_reissued_after_it_ended_is_no_conflict() {
    let outcome = pacs(concat!(
        "erin,4400,1,,2026-03-05T17:00:00Z,\n",
        "judy,4400,1,2026-03-05T17:00:00Z,,\n",
    ));
    assert!(outcome.errors.is_empty(), "{outcome:#?}");
    let outcome = pacs(concat!(
        "erin,4400,1,,2026-03-06T17:00:00Z,\n",
        "judy,4400,1,2026-03-05T17:00:00Z,,\n",
        "kim,4401|4401,1,,,\n",
    ));
    let errors: Vec<String> = outcome.errors.iter().map(ToString::to_string).collect();
    assert_eq!(
        errors,
        [
            "2: cards: badge `1:4400` is also held by `judy` (line 3) over an overlapping interval: one holder at a time",
            "3: cards: badge `1:4400` is also held by `erin` (line 2) over an overlapping interval: one holder at a time",
        ]
    );
    // The same card listed twice is one card.
    assert_eq!(delta(&outcome, "kim").identifiers.len(), 1);
}

#[test]
fn ndjson_and_json_errors_are_located() {
    let text = PACS_JSON_TOML
        .replace("format = \"json\"", "format = \"ndjson\"")
        .replace("[json]\nrecords = \"/cardholders\"\n", "");
    let outcome = run(
        &text,
        "{\"username\": \"a\", \"cards\": [{\"number\": 1, \"status\": \"active\"}]}\n\n[1]\n{\"username\": \n{\"username\": \"b\", \"cards\": {\"number\": 2, \"status\": \"gone\"}}\n",
    );
    let errors: Vec<String> = outcome.errors.iter().map(ToString::to_string).collect();
    assert_eq!(
        errors,
        [
            "3: a record must be a JSON object",
            "4: not JSON: EOF while parsing a value",
            "5: /status: unknown status `gone`: expected one of `[status_values]`: `active`, `disabled`, `lost`, `stolen`",
        ]
    );
    assert_eq!(delta(&outcome, "a").identifiers[0].value, "1");

    let json = mapping(PACS_JSON_TOML);
    let options = ImportOptions::at(now());
    let error = import(&json, "{\"cardholders\": [\n{\"id\": 1,}\n]}", &options).unwrap_err();
    assert_eq!(error.to_string(), "2:10: key must be a string");
    let error = import(&json, "{\"people\": []}", &options).unwrap_err();
    assert_eq!(
        error.to_string(),
        "1:1: the document has no `/cardholders`: expected the array of records there"
    );
    let outcome = import(
        &json,
        "{\"cardholders\": [{\"username\": \"a\"}, 7,\n\n {\"x\": 1}]}",
        &options,
    )
    .unwrap();
    let lines: Vec<usize> = outcome.errors.iter().map(|e| e.line).collect();
    assert_eq!((outcome.lines.clone(), lines), (vec![1], vec![1, 3]));
}

// ------------------------------------------------------------------------------- LDIF

#[test]
fn ldif_change_records_and_folded_values() {
    let outcome = run(
        LDIF_TOML,
        "dn: CN=A,DC=x\nobjectClass: user\nsAMAccountName: a\nchangetype: modify\n\ndn: CN=B,DC=x\nobjectClass: user\nsAMAccountName: b\nuserPrincipalName: b@exa\n mple.com\nuserAccountControl: lots\n\ndn: CN=C,DC=x\nobjectClass: user\nsAMAccountName: c\nuserPrincipalName: c@example.com\n",
    );
    let errors: Vec<String> = outcome.errors.iter().map(ToString::to_string).collect();
    assert_eq!(
        errors,
        [
            "1: changetype: a change record (`changetype: modify`) is not supported: export content records (`ldifde -f`, `ldapsearch -LLL`)",
            "6: userAccountControl: `lots` is not a number: expected userAccountControl flags, such as `512`",
        ]
    );
    assert_eq!(delta(&outcome, "c").identifiers[0].value, "c@example.com");
    assert_eq!(
        delta(&outcome, "c").source_ref.as_deref(),
        Some("CN=C,DC=x")
    );
}

// ------------------------------------------------------------------------------- limits

#[test]
fn limits_refuse_inputs_and_rows_without_panicking() {
    let hr_mapping = mapping(HR);
    let mut options = ImportOptions::at(now());
    options.limits.max_input_bytes = 10;
    assert_eq!(
        import(&hr_mapping, "id,type,start,end,upn\n", &options),
        Err(ImportError::TooLarge {
            size: 22,
            limit: 10
        })
    );
    let mut options = ImportOptions::at(now());
    options.limits.max_rows = 2;
    let text = "id,type,start,end,upn\na,,,,\nb,,,,\nc,,,,\n";
    assert_eq!(
        import(&hr_mapping, text, &options),
        Err(ImportError::TooManyRows { limit: 2 })
    );
    let ldif = mapping(LDIF_TOML);
    assert_eq!(
        import(&ldif, "dn: a\n\ndn: b\n\ndn: c\n", &options),
        Err(ImportError::TooManyRows { limit: 2 })
    );
    let mut options = ImportOptions::at(now());
    options.limits.max_record_bytes = 40;
    let long = "x".repeat(50);
    let outcome = import(
        &hr_mapping,
        &format!("id,type,start,end,upn\n{long},,,,\nb,,,,\n"),
        &options,
    )
    .unwrap();
    assert_eq!(outcome.errors[0].line, 2);
    assert!(outcome.errors[0].message.contains("over the limit of 40"));
    assert_eq!(outcome.deltas.len(), 1);
    let outcome = import(
        &ldif,
        &format!("dn: CN=A\nobjectClass: user\nsAMAccountName: {long}\n\ndn: CN=B\nobjectClass: user\nsAMAccountName: b\n"),
        &options,
    )
    .unwrap();
    assert_eq!(outcome.errors[0].line, 1);
    assert_eq!(outcome.deltas.len(), 1);
}

#[test]
fn messages_echo_at_most_200_characters_of_input() {
    let long = "z".repeat(1000);
    let outcome = hr(&format!("a,{long},,,\n"));
    let message = &outcome.errors[0].message;
    assert!(
        message.contains(&format!("`{}…`", "z".repeat(200))),
        "{message}"
    );
    assert!(message.len() < 400, "{message}");
    assert_eq!(quote("a\nb"), "`a\\nb`");
}

#[test]
fn a_hundred_thousand_cardholders() {
    let mut text = String::from("id,cards,facility,from,until,levels\n");
    for n in 0..100_000 {
        text.push_str(&format!(
            "p{n},{n}|{},7,2024-01-01,2027-01-01|,HQ General\n",
            n + 1_000_000
        ));
    }
    let outcome = import(&mapping(PACS), &text, &ImportOptions::at(now())).unwrap();
    assert_eq!(outcome.rows, 100_000);
    assert_eq!(outcome.deltas.len(), 100_000);
    assert!(outcome.errors.is_empty() && outcome.warnings.is_empty());
    assert_eq!(
        outcome
            .deltas
            .iter()
            .map(|d| d.identifiers.len())
            .sum::<usize>(),
        200_000
    );
}

// ------------------------------------------------------------------------------- no panics

/// Text built from pieces that matter to the readers, and a few arbitrary characters.
fn pieces(fragments: &'static [&'static str]) -> impl proptest::strategy::Strategy<Value = String> {
    use proptest::prelude::*;
    proptest::collection::vec(
        prop_oneof![
            4 => proptest::sample::select(fragments).prop_map(str::to_string),
            1 => any::<char>().prop_map(|c| c.to_string()),
        ],
        0..60,
    )
    .prop_map(|parts| parts.concat())
}

const CSV_PIECES: &[&str] = &[
    ",",
    ",",
    "\"",
    "\"\"",
    "\n",
    "\r\n",
    "\r",
    " ",
    "|",
    ";",
    "4411",
    "alice",
    "2026-03-02",
    "2026-13-45",
    "2026-03-02T09:00:00Z",
    "employee",
    "contractor",
    "HQ General",
    "\u{feff}",
    "é",
    "id,cards,facility,from,until,levels\n",
    "id,type,start,end,upn\n",
];

const LDIF_PIECES: &[&str] = &[
    "dn: ",
    "dn:: ",
    "CN=A\\, B,DC=x",
    "\n",
    "\n\n",
    "\r\n",
    " ",
    ":",
    "::",
    ":<",
    "#",
    "objectClass: user\n",
    "objectClass: computer\n",
    "sAMAccountName: ",
    "manager: ",
    "memberOf: CN=HQ Staff,DC=x\n",
    "accountExpires: ",
    "134166852000000000",
    "9999999999999999999",
    "userAccountControl: 514\n",
    "changetype: add\n",
    "-\n",
    "version: 1\n",
    "QUJD",
    "=",
    "\\2C",
    "\\",
    "mail: ",
    "userPrincipalName: ",
];

const JSON_PIECES: &[&str] = &[
    "{",
    "}",
    "[",
    "]",
    ",",
    ":",
    "\"",
    "\\\"",
    "\"cardholders\"",
    "\"username\"",
    "\"cards\"",
    "\"number\"",
    "\"status\"",
    "\"active\"",
    "\"lost\"",
    "\"valid_until\"",
    "\"2026-03-02\"",
    "1",
    "-2.5e3",
    "null",
    "true",
    "\n",
    " ",
    "\"access_levels\"",
    "\"HQ General\"",
];

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(400))]

    #[test]
    fn no_csv_input_panics(text in pieces(CSV_PIECES)) {
        for mapping_text in [HR, PACS, HR_TOML, PACS_TOML] {
            if let Ok(outcome) = import(&mapping(mapping_text), &text, &ImportOptions::at(now())) {
                assert_counts(&outcome);
            }
        }
    }

    #[test]
    fn no_ldif_input_panics(text in pieces(LDIF_PIECES)) {
        let outcome = import(&mapping(LDIF_TOML), &text, &ImportOptions::at(now())).unwrap();
        assert_counts(&outcome);
    }

    #[test]
    fn no_json_input_panics(text in pieces(JSON_PIECES)) {
        let ndjson = PACS_JSON_TOML
            .replace("format = \"json\"", "format = \"ndjson\"")
            .replace("[json]\nrecords = \"/cardholders\"\n", "");
        for mapping_text in [PACS_JSON_TOML, ndjson.as_str()] {
            if let Ok(outcome) = import(&mapping(mapping_text), &text, &ImportOptions::at(now())) {
                assert_counts(&outcome);
            }
        }
        let wrapped = format!("{{\"cardholders\": [{text}]}}");
        if let Ok(outcome) = import(&mapping(PACS_JSON_TOML), &wrapped, &ImportOptions::at(now())) {
            assert_counts(&outcome);
        }
    }

    #[test]
    fn no_cut_fixture_panics(cut in 0usize..4000, mutate in 0usize..4000, byte in proptest::prelude::any::<char>()) {
        for (mapping_text, text) in [(HR_TOML, HR_CSV), (PACS_TOML, PACS_CSV), (PACS_JSON_TOML, PACS_JSON), (LDIF_TOML, LDIF)] {
            let mut chars: Vec<char> = text.chars().collect();
            if let Some(slot) = chars.get_mut(mutate % text.len().max(1)) {
                *slot = byte;
            }
            chars.truncate(cut);
            let text: String = chars.into_iter().collect();
            if let Ok(outcome) = import(&mapping(mapping_text), &text, &ImportOptions::at(now())) {
                assert_counts(&outcome);
            }
        }
    }

    #[test]
    fn no_mapping_text_panics(text in pieces(&["source = ", "\"hr\"", "\"pacs\"", "\"ldap\"", "\n", "person_id = \"x\"\n", "[fields]\n", "[[card]]\n", "number = \"/n\"\n", "format = \"json\"\n", "template = \"{facility}{card}\"\n", "[groups]\n", "\"a=b\" = { roles = [\"r\"] }\n", "[[identifier]]\nkind = \"mac\"\nfield = \"m\"\n", "{", "}"])) {
        let _ = ImportMapping::from_toml(&text);
    }
}
