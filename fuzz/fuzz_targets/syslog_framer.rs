//! The TCP syslog framer (RFC 6587: octet counting and newline framing, told apart per frame)
//! on arbitrary bytes cut into arbitrary pieces: it must never panic, and whatever the pieces,
//! the same bytes give the same messages.
#![no_main]

use libfuzzer_sys::fuzz_target;
use seam_serve::SyslogFramer;

const MAX: usize = 512;

fuzz_target!(|data: &[u8]| {
    let Some((&cut, bytes)) = data.split_first() else {
        return;
    };
    let mut whole = SyslogFramer::new(MAX);
    whole.push(bytes);
    whole.finish();
    let mut pieces = SyslogFramer::new(MAX);
    let step = usize::from(cut).max(1);
    for chunk in bytes.chunks(step) {
        pieces.push(chunk);
    }
    pieces.finish();
    assert_eq!(whole.messages, pieces.messages);
    assert_eq!(whole.oversize.len(), pieces.oversize.len());
    for line in whole.messages.split(|b| *b == b'\n') {
        assert!(line.len() <= MAX);
    }
});
