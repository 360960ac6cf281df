//! The shared store suite, run against the embedded store.

use std::cell::Cell;

use seam_store::conformance::conformance_suite;
use seam_store::{EmbeddedStore, Store, StoreOptions};

#[test]
fn embedded_store_conforms() {
    let parent = tempfile::tempdir().unwrap();
    let made = Cell::new(0);
    conformance_suite(|| {
        made.set(made.get() + 1);
        let directory = parent.path().join(format!("store-{}", made.get()));
        Box::new(EmbeddedStore::open(&directory).unwrap()) as Box<dyn Store>
    });
    assert!(made.get() > 10, "the suite made a store per check");
}

#[test]
fn embedded_store_conforms_with_tiny_segments() {
    let parent = tempfile::tempdir().unwrap();
    let made = Cell::new(0);
    conformance_suite(|| {
        made.set(made.get() + 1);
        let directory = parent.path().join(format!("store-{}", made.get()));
        let options = StoreOptions {
            segment_bytes: 64,
            ..StoreOptions::default()
        };
        Box::new(EmbeddedStore::open_with(&directory, options).unwrap()) as Box<dyn Store>
    });
}
