//! Directory imports on arbitrary text through the sample mappings: HR CSV, cardholder CSV
//! and JSON, and LDIF (the first byte picks). Row errors and refused inputs are fine; a
//! panic, or rows that do not add up, is not.
#![no_main]

use libfuzzer_sys::fuzz_target;
use seam_directory::import::{ImportMapping, ImportOptions, import};
use seam_model::Ts;

const MAPPINGS: [&str; 4] = [
    include_str!("../../crates/seam-directory/tests/fixtures/import/hr.toml"),
    include_str!("../../crates/seam-directory/tests/fixtures/import/cardholders.toml"),
    include_str!("../../crates/seam-directory/tests/fixtures/import/cardholders-json.toml"),
    include_str!("../../crates/seam-directory/tests/fixtures/import/ldif.toml"),
];

fuzz_target!(|data: &[u8]| {
    let Some((selector, input)) = data.split_first() else { return };
    let Ok(text) = std::str::from_utf8(input) else { return };
    let mapping = ImportMapping::from_toml(MAPPINGS[usize::from(*selector) % MAPPINGS.len()])
        .expect("the sample mappings load");
    if let Ok(outcome) = import(&mapping, text, &ImportOptions::at(Ts(1_772_452_800_000))) {
        assert_eq!(
            outcome.rows,
            outcome.deltas.len() + outcome.errors.len() + outcome.skipped.len()
        );
        assert_eq!(outcome.deltas.len(), outcome.lines.len());
    }
});
