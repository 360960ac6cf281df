//! The identity invariant, checked against a brute-force reference: random holdings of one
//! identifier either load (and then `resolve` names exactly the holder of each instant) or are
//! rejected because two of them share an instant.
#![expect(
    clippy::indexing_slicing,
    reason = "the helpers are test code too: a panic there fails the test"
)]

use proptest::prelude::*;
use seam_estate::{Estate, EstateFile, IdentifierKind, Problem};
use seam_model::Ts;

/// One holding: person, start and end (absent = open), and how the MAC is written.
#[derive(Clone, Debug)]
struct Holding {
    person: usize,
    from: Option<i64>,
    until: Option<i64>,
    notation: usize,
}

const NOTATIONS: [&str; 4] = [
    "3c:22:fb:00:00:01",
    "3C-22-FB-00-00-01",
    "3c22.fb00.0001",
    "3C22FB000001",
];
const PEOPLE: usize = 4;
/// Around the demo day, so the text round-trips through RFC 3339 with milliseconds.
const EPOCH: i64 = 1_772_409_600_000;

fn holding() -> impl Strategy<Value = Holding> {
    (
        0..PEOPLE,
        proptest::option::weighted(0.85, 0i64..2_000),
        1i64..600,
        proptest::bool::weighted(0.15),
        0..NOTATIONS.len(),
    )
        .prop_map(|(person, from, length, open_end, notation)| Holding {
            person,
            from: from.map(|from| EPOCH + from),
            until: if open_end {
                None
            } else {
                Some(EPOCH + from.unwrap_or(0) + length)
            },
            notation,
        })
}

/// Non-overlapping holdings, laid end to end with gaps, so that the loading branch is
/// exercised as often as the rejecting one.
fn disjoint_holdings() -> impl Strategy<Value = Vec<Holding>> {
    proptest::collection::vec((0..PEOPLE, 0i64..50, 1i64..200, 0..NOTATIONS.len()), 1..8).prop_map(
        |parts| {
            let mut at = EPOCH;
            let count = parts.len();
            parts
                .into_iter()
                .enumerate()
                .map(|(position, (person, gap, length, notation))| {
                    let from = at + gap;
                    at = from + length;
                    Holding {
                        person,
                        from: (position > 0).then_some(from),
                        until: (position + 1 < count).then_some(at),
                        notation,
                    }
                })
                .collect()
        },
    )
}

fn estate_text(holdings: &[Holding]) -> String {
    let mut text = String::new();
    for person in 0..PEOPLE {
        text.push_str(&format!("[[person]]\nid = \"p{person}\"\nname = \"P{person}\"\nkind = \"employee\"\nidentifiers = [\n"));
        for holding in holdings.iter().filter(|holding| holding.person == person) {
            text.push_str(&format!(
                "  {{ kind = \"mac\", value = \"{}\"",
                NOTATIONS[holding.notation]
            ));
            if let Some(from) = holding.from {
                text.push_str(&format!(", from = \"{}\"", Ts(from)));
            }
            if let Some(until) = holding.until {
                text.push_str(&format!(", until = \"{}\"", Ts(until)));
            }
            text.push_str(" },\n");
        }
        text.push_str("]\n\n");
    }
    text
}

fn bounds(holding: &Holding) -> (i128, i128) {
    (
        holding.from.map_or(i128::MIN, i128::from),
        holding.until.map_or(i128::MAX, i128::from),
    )
}

fn brute_force_holder(holdings: &[Holding], at: i64) -> Option<usize> {
    let at = i128::from(at);
    let holders: Vec<usize> = holdings
        .iter()
        .filter(|holding| {
            let (from, until) = bounds(holding);
            from <= at && at < until
        })
        .map(|holding| holding.person)
        .collect();
    assert!(
        holders.len() <= 1,
        "the reference is only asked about loadable estates"
    );
    holders.first().copied()
}

fn any_overlap(holdings: &[Holding]) -> bool {
    holdings.iter().enumerate().any(|(i, left)| {
        holdings.iter().skip(i + 1).any(|right| {
            let ((left_from, left_until), (right_from, right_until)) =
                (bounds(left), bounds(right));
            left_from.max(right_from) < left_until.min(right_until)
        })
    })
}

fn check(holdings: &[Holding], probes: &[i64]) -> Result<(), TestCaseError> {
    let files = [EstateFile {
        path: "people.toml".into(),
        text: estate_text(holdings),
    }];
    let loaded = Estate::from_files(&files);
    if any_overlap(holdings) {
        let errors = loaded.err().unwrap_or_default();
        prop_assert!(!errors.is_empty(), "overlapping holdings were accepted");
        prop_assert!(
            errors
                .iter()
                .all(|error| matches!(error.problem, Problem::IdentifierOverlap { .. })),
            "{errors:?}"
        );
        return Ok(());
    }
    let estate = match loaded {
        Ok(estate) => estate,
        Err(errors) => return Err(TestCaseError::fail(format!("{errors:?}"))),
    };
    // Every boundary, one millisecond either side, and the random probes.
    let mut times: Vec<i64> = probes.iter().map(|probe| EPOCH + probe).collect();
    for holding in holdings {
        for edge in [holding.from, holding.until].into_iter().flatten() {
            times.extend([edge - 1, edge, edge + 1]);
        }
    }
    for at in times {
        let expected = brute_force_holder(holdings, at).map(|person| format!("p{person}"));
        for notation in NOTATIONS {
            let actual = estate
                .resolve(IdentifierKind::Mac, notation, Ts(at))
                .map(|person| estate.person(person).id.clone());
            prop_assert_eq!(&actual, &expected, "at {} written {}", Ts(at), notation);
        }
        prop_assert_eq!(
            estate.resolve(IdentifierKind::Badge, NOTATIONS[0], Ts(at)),
            None
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn disjoint_holdings_resolve_like_a_scan(holdings in disjoint_holdings(), probes in proptest::collection::vec(-100i64..2_500, 0..16)) {
        check(&holdings, &probes)?;
    }

    #[test]
    fn random_holdings_load_only_when_disjoint(holdings in proptest::collection::vec(holding(), 1..6), probes in proptest::collection::vec(-100i64..2_700, 0..16)) {
        check(&holdings, &probes)?;
    }
}
