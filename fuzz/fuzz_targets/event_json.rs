//! A normalized event line, as `seam replay` reads it: parse, validate, serialize back.
#![no_main]

use libfuzzer_sys::fuzz_target;
use seam_model::Event;

fuzz_target!(|data: &[u8]| {
    if let Ok(event) = serde_json::from_slice::<Event>(data) {
        let _ = event.validate();
        let text = serde_json::to_string(&event).expect("a parsed event serializes");
        let again: Event = serde_json::from_str(&text).expect("a serialized event parses");
        assert_eq!(again, event);
    }
});
