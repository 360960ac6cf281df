//! A rule file: compile it with the engine's schema; errors are fine, panics are not.
#![no_main]

use libfuzzer_sys::fuzz_target;
use seam_engine::CompiledRules;
use seam_rules::SourceFile;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = CompiledRules::compile(&[SourceFile { path: "fuzz.yml".into(), text: text.into() }]);
    }
});
