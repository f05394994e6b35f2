//! `truce --store postgres://… bench gis --rows N`: incidents by bounding box and time over N
//! rows on PostGIS (the goal: p99 ≤ 5 ms over 10 million).
//!
//! A scratch schema is filled server-side with N incidents spread over a 3° × 2° area (the
//! demo's illustrative region) and one year, each with its point and a small polygon, then
//! indexed as the store indexes them. The queries are what the dashboard and a GIS client ask:
//! a 10 km × 10 km box and one day, at random places and days, through the store's own filter
//! (its WHERE clause and order, ids only). The schema is dropped at the end.
//!
//! The server's memory settings matter at p99: with PostgreSQL's default `shared_buffers`
//! (128 MB) pages come from the OS cache, which adds 1–2 ms to the slowest queries over 10 M
//! rows. A deployment gives it about a quarter of RAM and `effective_cache_size` half to three
//! quarters (ARCHITECTURE.md, PostgreSQL).

use crate::data_dir;
use anyhow::{Context, Result, bail};
use std::process::ExitCode;
use std::time::Instant;
use truce_core::Timestamp;
use truce_store::{Durability, IncidentFilter, PgStore};

/// Queries timed after the warm-up.
const QUERIES: usize = 2_000;

/// Runs the benchmark on `rows` incidents.
pub fn run(rows: u64) -> Result<ExitCode> {
    let Some(base) = data_dir::postgres() else {
        bail!("bench gis needs a PostgreSQL database: truce --store postgres://… bench gis");
    };
    let target = base.with_schema(&format!("bench_gis_{}", std::process::id()))?;
    target.drop_scratch_schema()?;
    let store = PgStore::open(&target, Durability::Process)?;
    let outcome = measure(&store, rows);
    drop(store);
    target.drop_scratch_schema()?;
    outcome
}

/// Seconds in the year the incidents span, and its start (2026-01-01), ns.
const YEAR_S: i64 = 365 * 86_400;
const START_NS: i64 = 1_767_225_600_000_000_000;

fn measure(store: &PgStore, rows: u64) -> Result<ExitCode> {
    eprintln!("filling {rows} incidents…");
    let t = Instant::now();
    // Indexes are built after the load, as a bulk load would.
    store.execute_batch(&format!(
        "DROP INDEX incidents_when_where; DROP INDEX incidents_location;
         DROP INDEX incidents_ellipse;
         DROP INDEX incidents_last_seen;
         INSERT INTO incidents (id, revision, entry, kind, status, side, clauses,
             first_seen_ns, last_seen_ns, lat, lon, location, ellipse95)
         SELECT g, 1, g, 'explosion', 'reported', 'undetermined', '', t, t + d, lat, lon,
                ST_SetSRID(ST_MakePoint(lon, lat), 4326),
                ST_Expand(ST_SetSRID(ST_MakePoint(lon, lat), 4326), 0.004)
         FROM (SELECT g,
                      {START_NS} + (random() * {YEAR_S})::bigint * 1000000000 AS t,
                      (random() * 600)::bigint * 1000000000 AS d,
                      39.0 + random() * 2.0 AS lat,
                      45.0 + random() * 3.0 AS lon
               FROM generate_series(1, {rows}) AS g) AS s;"
    ))?;
    let load = t.elapsed().as_secs_f64();
    let t = Instant::now();
    store.execute_batch(
        "CREATE INDEX incidents_last_seen ON incidents (last_seen_ns);
         CREATE INDEX incidents_when_where ON incidents USING gist (
            int8range(least(first_seen_ns, last_seen_ns) / 86400000000000,
                      greatest(first_seen_ns, last_seen_ns) / 86400000000000, '[]'),
            location);
         CREATE INDEX incidents_location ON incidents USING gist (location);
         CREATE INDEX incidents_ellipse ON incidents USING gist (ellipse95);",
    )?;
    // VACUUM sets the pages' hint bits now, so the timed queries do not write them; it runs
    // outside a transaction, so on its own.
    store.execute_batch("VACUUM ANALYZE incidents")?;
    let index = t.elapsed().as_secs_f64();
    println!("loaded {rows} incidents in {load:.1} s, indexed in {index:.1} s");

    let mut rng = 0x9e37_79b9_7f4a_7c15_u64;
    let mut next = move || {
        // xorshift64*: reproducible places and days without a dependency.
        rng ^= rng >> 12;
        rng ^= rng << 25;
        rng ^= rng >> 27;
        (rng.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 / (1u64 << 53) as f64
    };
    let mut times = Vec::with_capacity(QUERIES);
    let mut found = 0usize;
    for i in 0..QUERIES + 200 {
        // 10 km × 10 km: 0.09° of latitude, 0.117° of longitude at 40°N.
        let lat = 39.0 + next() * 1.9;
        let lon = 45.0 + next() * 2.88;
        let day = START_NS + (next() * 364.0) as i64 * 86_400_000_000_000;
        let filter = IncidentFilter {
            bbox: Some([lon, lat, lon + 0.117, lat + 0.09]),
            since: Timestamp::from_unix_nanos(i128::from(day)),
            until: Timestamp::from_unix_nanos(i128::from(day + 86_400_000_000_000)),
            limit: Some(IncidentFilter::MAX_LIMIT),
            ..Default::default()
        };
        let t = Instant::now();
        let ids = store.incident_ids(&filter).context("a bbox + time query")?;
        let ms = t.elapsed().as_secs_f64() * 1e3;
        // The first 200 warm the cache and the connection.
        if i >= 200 {
            times.push(ms);
            found += ids.len();
        }
    }
    times.sort_by(f64::total_cmp);
    let at = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
    let p99 = at(0.99);
    println!(
        "bbox 10 km + 1 day over {rows} incidents, {QUERIES} queries: p50 {:.2} ms, p99 {p99:.2} ms, \
         max {:.2} ms; {:.1} incidents per answer; p99 is {:.2}x the 5 ms goal",
        at(0.5),
        at(1.0),
        found as f64 / QUERIES as f64,
        p99 / 5.0
    );
    println!("p99_ms={p99:.2}");
    Ok(ExitCode::SUCCESS)
}
