//! The lifecycle suite (subject access, erasure, retention), run against the embedded store.
#![expect(
    clippy::unwrap_used,
    reason = "the helper is test code too: a panic there fails the test"
)]

use std::cell::Cell;

use seam_store::conformance::lifecycle_suite;
use seam_store::{EmbeddedStore, Lifecycle, StoreOptions};

fn run(options: StoreOptions) {
    let parent = tempfile::tempdir().unwrap();
    let made = Cell::new(0);
    lifecycle_suite(|| {
        made.set(made.get() + 1);
        let directory = parent.path().join(format!("store-{}", made.get()));
        Box::new(EmbeddedStore::open_with(&directory, options).unwrap()) as Box<dyn Lifecycle>
    });
    assert!(made.get() >= 10, "the suite made a store per check");
}

#[test]
fn embedded_store_conforms() {
    run(StoreOptions::default());
}

/// Every block in a segment of its own: erasure and retention rewrite many segments, the last
/// one (still being appended to) included.
#[test]
fn embedded_store_conforms_with_tiny_segments() {
    run(StoreOptions {
        segment_bytes: 64,
        ..StoreOptions::default()
    });
}
