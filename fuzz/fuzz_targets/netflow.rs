//! A sequence of flow export datagrams into one `FlowDecoder`: the input split on `|NF|`,
//! each piece's first byte picking one of four exporters and the rest its datagram, so that
//! templates learned from one datagram are used, refreshed, withdrawn and evicted by the next.
//! Small limits make eviction reachable. Rejections are fine; a panic, or an event that
//! fails validation, is not.
#![no_main]

use libfuzzer_sys::fuzz_target;
use seam_adapters::{FlowDecoder, FlowLimits, ParseContext};
use seam_model::Ts;

const MARKER: &[u8] = b"|NF|";

fuzz_target!(|data: &[u8]| {
    let mut decoder = FlowDecoder::with_limits(FlowLimits {
        templates_per_exporter: 4,
        exporters: 2,
        template_fields: 64,
    });
    let ctx = ParseContext::new("netflow", Ts(1_772_452_800_000));
    let mut rest = data;
    loop {
        let (piece, next) = match rest.windows(MARKER.len()).position(|w| w == MARKER) {
            Some(at) => (&rest[..at], Some(&rest[at + MARKER.len()..])),
            None => (rest, None),
        };
        if let Some((selector, datagram)) = piece.split_first() {
            let exporter = std::net::IpAddr::from([10, 0, 0, selector % 4]);
            let batch = decoder.decode(exporter, datagram, &ctx);
            for event in &batch.events {
                assert_eq!(event.validate(), Ok(()));
                assert_eq!(event.source, "netflow");
            }
        }
        assert!(decoder.exporters() <= 2);
        assert!(decoder.templates() <= 8);
        match next {
            Some(next) => rest = next,
            None => break,
        }
    }
});
