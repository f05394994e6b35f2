//! MGRS against GeographicLib's own `GeoConvert` (Debian's `geographiclib-tools`).
//!
//! A few thousand seeded points — the whole UTM range, both polar UPS caps, the demo region,
//! 6° zone edges, the Norway and Svalbard exceptions, latitude band edges and the equator — go
//! through `GeoConvert -m -p 0` (MGRS at 1 m) in one run; [`to_mgrs`] must give the same strings.
//! Each string then goes back through `GeoConvert -g` (the centre of the 1 m square) and
//! [`from_mgrs`] must agree with it to 1e-9°, and that centre must lie within the square's half
//! diagonal of the original point. Without `GeoConvert` the test fails, saying what to install.

#![allow(clippy::unwrap_used)]

use std::io::Write as _;
use std::process::{Command, Stdio};

use truce_geo::{LatLon, distance_azimuth, from_mgrs, to_mgrs};

/// Half the diagonal of a 1 m grid square, over the smallest scale factor (UPS, 0.994), plus
/// a little: the greatest distance from a point to the centre of the square it is in.
const HALF_DIAGONAL_M: f64 = 0.72;

/// Runs `GeoConvert` with `args`, one input line per item, and returns its output lines.
fn geoconvert(args: &[&str], lines: &[String]) -> Vec<String> {
    let mut child = Command::new("GeoConvert")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run GeoConvert ({e}): install GeographicLib's tools, \
                 e.g. `apt-get install geographiclib-tools` (.ci/run does this)"
            )
        });
    let mut stdin = child.stdin.take().unwrap();
    let input = lines.join("\n") + "\n";
    // Write from a thread so a full stdout pipe cannot deadlock us.
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()).unwrap());
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    assert!(
        out.status.success(),
        "GeoConvert {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let result: Vec<String> = text.lines().map(str::to_owned).collect();
    assert_eq!(
        result.len(),
        lines.len(),
        "GeoConvert {args:?}: one output line per input"
    );
    result
}

/// SplitMix64: a seeded, dependency-free stream of u64.
struct Seeded(u64);

impl Seeded {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A value in `lo..=hi` degrees on a 1e-7° lattice, as decimal text both sides parse alike.
    fn degrees(&mut self, lo: f64, hi: f64) -> i64 {
        let (lo, hi) = ((lo * 1e7).round() as i64, (hi * 1e7).round() as i64);
        lo + (self.next() % (hi - lo + 1) as u64) as i64
    }
}

/// Decimal text of `units` × 1e-7°.
fn text(units: i64) -> String {
    let sign = if units < 0 { "-" } else { "" };
    let a = units.unsigned_abs();
    format!("{sign}{}.{:07}", a / 10_000_000, a % 10_000_000)
}

/// The test points, as `"lat lon"` lines on a 1e-7° lattice.
fn points() -> Vec<String> {
    let mut rng = Seeded(0x7275_6365);
    let mut out = Vec::new();
    let mut push = |lat: i64, lon: i64| out.push(format!("{} {}", text(lat), text(lon)));
    let deg = |d: f64| (d * 1e7).round() as i64;
    // The whole UTM range, and both UPS caps.
    for _ in 0..2000 {
        let (lat, lon) = (rng.degrees(-80.0, 84.0), rng.degrees(-180.0, 180.0));
        push(lat, lon);
    }
    for _ in 0..300 {
        let (lat, lon) = (rng.degrees(84.0, 90.0), rng.degrees(-180.0, 180.0));
        push(lat, lon);
        let (lat, lon) = (rng.degrees(-90.0, -80.0), rng.degrees(-180.0, 180.0));
        push(lat, lon);
    }
    // The demo region.
    for _ in 0..400 {
        let (lat, lon) = (rng.degrees(39.0, 41.0), rng.degrees(45.0, 48.0));
        push(lat, lon);
    }
    // Zone edges: on each 6° meridian and one lattice step either side.
    for zone in 0..=60 {
        for step in [-1, 0, 1] {
            let lat = rng.degrees(-80.0, 84.0);
            let lon = deg(-180.0 + 6.0 * f64::from(zone)) + step;
            if lon.abs() <= deg(180.0) {
                push(lat, lon);
            }
        }
    }
    // Norway (32V runs 3°–12°) and Svalbard (31X, 33X, 35X, 37X between 72° and 84°).
    for _ in 0..200 {
        let (lat, lon) = (rng.degrees(56.0, 64.0), rng.degrees(0.0, 12.0));
        push(lat, lon);
        let (lat, lon) = (rng.degrees(72.0, 84.0), rng.degrees(0.0, 42.0));
        push(lat, lon);
    }
    for edge in [3.0, 9.0, 21.0, 33.0, 42.0] {
        for step in [-1, 0, 1] {
            push(rng.degrees(56.0, 64.0), deg(edge) + step);
            push(rng.degrees(72.0, 84.0), deg(edge) + step);
        }
    }
    // Latitude band edges (every 8°, and 72°/84°, −80°), the equator, UTM/UPS limits.
    for band in (-80..=72).step_by(8).chain([84]) {
        for step in [-1, 0, 1] {
            push(deg(f64::from(band)) + step, rng.degrees(-180.0, 180.0));
        }
    }
    for _ in 0..100 {
        push(0, rng.degrees(-180.0, 180.0));
    }
    for lon in [-180.0, -179.9999999, 0.0, 179.9999999, 180.0] {
        for lat in [-90.0, -80.0, 0.0, 84.0, 90.0] {
            push(deg(lat), deg(lon));
        }
    }
    out
}

#[test]
fn mgrs_matches_geoconvert() {
    let inputs = points();
    let expected = geoconvert(&["-m", "-p", "0"], &inputs);
    let mut mismatches = Vec::new();
    let mut decoded_inputs = Vec::new();
    let mut ours_decoded = Vec::new();
    let mut originals = Vec::new();
    for (line, theirs) in inputs.iter().zip(&expected) {
        let (lat, lon) = line.split_once(' ').unwrap();
        let p = LatLon::new(lat.parse().unwrap(), lon.parse().unwrap());
        let theirs: String = theirs.split_whitespace().collect();
        // The geoconvert crate panics on some inputs; report them with the rest.
        let ours = std::panic::catch_unwind(|| to_mgrs(p))
            .unwrap_or_else(|_| Err(truce_geo::MgrsError("panicked".into())));
        match (&ours, theirs.starts_with("ERROR")) {
            (Ok(ours), false) if *ours == theirs => {
                decoded_inputs.push(theirs.clone());
                ours_decoded.push(from_mgrs(&theirs));
                originals.push(p);
            }
            (Err(e), true) if e.0 != "panicked" => {}
            _ => mismatches.push(format!("{line}: ours {ours:?}, GeoConvert {theirs}")),
        }
    }
    let encoded = mismatches.len();
    let centres = geoconvert(&["-g", "-p", "6"], &decoded_inputs);
    for (((grid, ours), theirs), p) in decoded_inputs
        .iter()
        .zip(&ours_decoded)
        .zip(&centres)
        .zip(&originals)
    {
        let mut it = theirs.split_whitespace().map(|v| v.parse::<f64>().unwrap());
        let c = LatLon::new(it.next().unwrap(), it.next().unwrap());
        let ours = ours
            .as_ref()
            .unwrap_or_else(|e| panic!("from_mgrs({grid}): {e}"));
        let dlon = (ours.lon - c.lon + 540.0).rem_euclid(360.0) - 180.0;
        // At the poles longitude is arbitrary; compare positions there.
        let same =
            (ours.lat - c.lat).abs() < 1e-9 && (dlon.abs() < 1e-9 || c.lat.abs() > 89.999_99);
        let (gap, _) = distance_azimuth(*ours, c);
        if !same || gap > 1e-4 {
            mismatches.push(format!(
                "{grid}: ours {ours:?}, GeoConvert {c:?} ({gap:.2e} m apart)"
            ));
        }
        let (off, _) = distance_azimuth(*p, *ours);
        if off > HALF_DIAGONAL_M {
            mismatches.push(format!("{grid} from {p:?}: its centre is {off:.3} m away"));
        }
    }
    assert!(
        mismatches.is_empty(),
        "{encoded} of {} points give different MGRS; {} of the {} agreed strings decode \
         differently. E.g.\n{}",
        inputs.len(),
        mismatches.len() - encoded,
        decoded_inputs.len(),
        mismatches[..mismatches.len().min(20)].join("\n")
    );
}
