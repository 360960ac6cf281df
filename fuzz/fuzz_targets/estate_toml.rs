//! An estate file: load it; every error must carry a location, and nothing may panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use seam_estate::{Estate, EstateFile};

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = Estate::from_files(&[EstateFile { path: "fuzz.toml".into(), text: text.into() }]);
    }
});
