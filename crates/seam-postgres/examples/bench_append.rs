//! Measures the PostgreSQL store's event path: append + commit in batches, into a scratch
//! database that is dropped afterwards.
//!
//! `cargo run --release -p seam-postgres --example bench_append -- [events] [batch]`
//! (defaults: 1000000 events, batches of 10000; the server from `SEAM_TEST_POSTGRES` or
//! `postgres://postgres@127.0.0.1:5432/postgres`).

use std::error::Error;

use seam_postgres::{ScratchDatabase, bench_append, test_server_url};

fn main() -> Result<(), Box<dyn Error>> {
    let mut arguments = std::env::args().skip(1);
    let events: u64 = arguments
        .next()
        .map_or(Ok(1_000_000), |text| text.parse())?;
    let batch: usize = arguments.next().map_or(Ok(10_000), |text| text.parse())?;
    let database = ScratchDatabase::create(&test_server_url(), "seam_bench")?;
    let figures = bench_append(database.url(), events, batch)?;
    println!(
        "{} events in batches of {}, a commit per batch: {:.0} events/s, {:.1} MB/s of JSON \
         ({:.2} s, of which {:.2} s in commit)",
        figures.events,
        figures.batch,
        figures.events_per_second,
        figures.json_bytes as f64 / figures.seconds / 1e6,
        figures.seconds,
        figures.commit_seconds,
    );
    Ok(())
}
