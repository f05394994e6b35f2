//! Times `truce_fusion::cluster::dbscan` against geo's `Dbscan` on one million report positions.
//!
//! ```text
//! cargo run --release -p truce-fusion --example cluster_bench -- [--points in.csv] [--write out.csv]
//!     [--eps 500] [--min-points 2] [--seed 7]
//! ```
//!
//! Without `--points` it simulates the reports (seeded): 200,000 events uniform over a
//! 150 km × 100 km area in UTM-like metres, each seen by 1–9 reports scattered with a σ of
//! 30–200 m, plus 5% uniform clutter, shuffled. `--write` saves them as `x,y` CSV for
//! `bench/cluster_sklearn.py`. Prints `key=value` lines; exits non-zero if the two clusterings
//! disagree.

#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::time::Instant;

use geo::{Dbscan, MultiPoint, Point};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{RngExt, SeedableRng};
use rand_distr::{Distribution, Normal};
use truce_fusion::cluster::dbscan;

/// Origin of the simulated area (a UTM zone 38N easting/northing), metres.
const ORIGIN: [f64; 2] = [400_000.0, 4_400_000.0];
const AREA: [f64; 2] = [150_000.0, 100_000.0];

fn simulate(seed: u64) -> Vec<[f64; 2]> {
    let mut rng = StdRng::seed_from_u64(seed);
    let unit = Normal::new(0.0, 1.0).unwrap();
    let uniform = |rng: &mut StdRng| {
        [
            ORIGIN[0] + rng.random::<f64>() * AREA[0],
            ORIGIN[1] + rng.random::<f64>() * AREA[1],
        ]
    };
    let mut points = Vec::with_capacity(1_060_000);
    for _ in 0..200_000 {
        let event = uniform(&mut rng);
        let reports = rng.random_range(1..=9);
        let sigma = rng.random_range(30.0..200.0);
        for _ in 0..reports {
            points.push([
                event[0] + sigma * unit.sample(&mut rng),
                event[1] + sigma * unit.sample(&mut rng),
            ]);
        }
    }
    let clutter = points.len() / 19; // 5% of the total
    for _ in 0..clutter {
        points.push(uniform(&mut rng));
    }
    points.shuffle(&mut rng);
    points
}

fn read_csv(path: &str) -> Vec<[f64; 2]> {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('x'))
        .map(|l| {
            let (x, y) = l.split_once(',').unwrap();
            [x.trim().parse().unwrap(), y.trim().parse().unwrap()]
        })
        .collect()
}

fn write_csv(path: &str, points: &[[f64; 2]]) {
    use std::fmt::Write as _;
    let mut text = String::with_capacity(points.len() * 24);
    text.push_str("x,y\n");
    for p in points {
        // Millimetres are plenty, and keep the file and its parsing small.
        writeln!(text, "{:.3},{:.3}", p[0], p[1]).unwrap();
    }
    std::fs::write(path, text).unwrap();
}

fn summary(labels: impl Iterator<Item = Option<usize>>) -> (usize, usize) {
    let (mut clusters, mut noise) = (0, 0);
    for l in labels {
        match l {
            Some(c) => clusters = clusters.max(c + 1),
            None => noise += 1,
        }
    }
    (clusters, noise)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .map(|i| args[i + 1].clone())
    };
    let eps: f64 = arg("--eps").map_or(500.0, |s| s.parse().unwrap());
    let min_points: usize = arg("--min-points").map_or(2, |s| s.parse().unwrap());
    let seed: u64 = arg("--seed").map_or(7, |s| s.parse().unwrap());

    let mut points = match arg("--points") {
        Some(path) => read_csv(&path),
        None => simulate(seed),
    };
    if let Some(path) = arg("--write") {
        write_csv(&path, &points);
        // Cluster exactly what sklearn will read.
        points = read_csv(&path);
    }
    println!(
        "points={} eps_m={eps} min_points={min_points}",
        points.len()
    );

    let mut ours_s = f64::INFINITY;
    let mut ours = None;
    for _ in 0..3 {
        let start = Instant::now();
        let c = dbscan(&points, eps, min_points).unwrap();
        ours_s = ours_s.min(start.elapsed().as_secs_f64());
        ours = Some(c);
    }
    let ours = ours.unwrap();
    let (ours_clusters, ours_noise) = summary(ours.labels.iter().map(|l| l.map(|c| c as usize)));
    let mut sizes = vec![0usize; ours.clusters as usize];
    for c in ours.labels.iter().flatten() {
        sizes[*c as usize] += 1;
    }
    println!("ours_s={ours_s:.4} ours_clusters={ours_clusters} ours_noise={ours_noise}");
    println!("ours_largest_cluster={}", sizes.iter().max().unwrap_or(&0));

    let multi = MultiPoint::new(points.iter().map(|p| Point::new(p[0], p[1])).collect());
    let start = Instant::now();
    let theirs = multi.dbscan(eps, min_points);
    let geo_s = start.elapsed().as_secs_f64();
    let (geo_clusters, geo_noise) = summary(theirs.iter().copied());
    println!("geo_s={geo_s:.4} geo_clusters={geo_clusters} geo_noise={geo_noise}");

    let same = ours
        .labels
        .iter()
        .zip(&theirs)
        .all(|(a, b)| a.map(|c| c as usize) == *b);
    println!("labels_identical={same}");
    println!("geo_over_ours={:.2}", geo_s / ours_s);
    if !same || ours_clusters != geo_clusters || ours_noise != geo_noise {
        std::process::exit(1);
    }
}
