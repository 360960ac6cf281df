//! The shared store suite, run against PostgreSQL: each store in a database of its own.
//!
//! Needs a server: 127.0.0.1:5432, user `postgres`, trust auth, or the admin URL in
//! `SEAM_TEST_POSTGRES`. Without one the test fails, saying so.

use std::cell::RefCell;

use seam_postgres::{PostgresStore, ScratchDatabase, test_server_url};
use seam_store::Store;
use seam_store::conformance::conformance_suite;

#[test]
fn postgres_store_conforms() {
    let server = test_server_url();
    // Dropped, with their databases, when the test ends, passed or failed.
    let databases = RefCell::new(Vec::new());
    conformance_suite(|| {
        let database = ScratchDatabase::create(&server, "seam_test").unwrap_or_else(|error| {
            panic!(
                "cannot create a test database on the PostgreSQL server `{server}` \
                 (set SEAM_TEST_POSTGRES to another server's admin URL): {}",
                seam_postgres_error_text(&error)
            )
        });
        let store = PostgresStore::open(database.url()).unwrap_or_else(|error| {
            panic!(
                "cannot open a store in `{}`: {}",
                database.url(),
                seam_postgres_error_text(&error)
            )
        });
        databases.borrow_mut().push(database);
        Box::new(store) as Box<dyn Store>
    });
    assert!(
        databases.borrow().len() > 10,
        "the suite made a store per check"
    );
}

fn seam_postgres_error_text(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
