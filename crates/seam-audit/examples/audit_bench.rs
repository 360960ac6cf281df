//! The audit log's append and verify rates, as `seam bench audit` reports them:
//!
//! `cargo run --release -p seam-audit --example audit_bench -- [records] [sync_every] [dir]`
//!
//! Defaults: 1,000,000 records, a sync every 1,000, a temporary directory (give a directory on
//! the disk the data directory will use: a sync on tmpfs costs nothing).

use seam_audit::{bench_append, bench_verify};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let records: u64 = args
        .next()
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(1_000_000);
    let sync_every: u64 = args.next().map(|a| a.parse()).transpose()?.unwrap_or(1_000);
    let parent = match args.next() {
        Some(dir) => tempfile::tempdir_in(dir)?,
        None => tempfile::tempdir()?,
    };
    let append = bench_append(parent.path(), records, sync_every)?;
    println!(
        "append: {} records, sync every {}, {:.1} MB in {:.2} s: {:.0} records/s",
        append.records,
        append.sync_every,
        append.bytes as f64 / 1e6,
        append.seconds,
        append.records_per_second
    );
    let verify = bench_verify(parent.path())?;
    println!(
        "verify: {} records, {:.1} MB in {:.2} s: {:.0} records/s, intact: {}",
        verify.records,
        verify.bytes as f64 / 1e6,
        verify.seconds,
        verify.records_per_second,
        verify.intact
    );
    Ok(())
}
