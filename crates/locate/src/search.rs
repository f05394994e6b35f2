//! Finding one round among interleaved pulses: which pulses, one per sensor, a single source
//! could have emitted at one instant.
//!
//! Under rapid fire every sensor hears every round, a fraction of a second apart, and a sound
//! takes tens of seconds to cross a network: pulses of different rounds arrive interleaved, and
//! any set of them can be fitted by *some* position. What tells a round is consensus: at the
//! true source `x`, the emission times `tᵢ − ‖x − sᵢ‖/c` of its pulses agree to within the
//! timing noise, while pulses of other rounds fall seconds (or tenths) away. [`find_round`]
//! searches the plane for the position where most sensors agree with a given pulse, by branch
//! and bound over square cells: within a cell of half-size `h`, no distance changes by more
//! than `√2·h`, so a cell's count with that slack bounds the count of every point in it.
//! Cells are split best-first until they are a few metres wide; a cell whose bound cannot beat
//! the best found is never opened. The result is a candidate (position, emission time and the
//! pulses that agree), to be refined by the maximum-likelihood fit.

use crate::Surface;
use std::cell::RefCell;
use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// Half-size of the cells at which the search stops splitting, metres.
const LEAF_HALF_M: f64 = 2.0;

/// One detected pulse.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pulse {
    /// The sensor's east, north and up, metres.
    pub sensor: [f64; 3],
    /// Which sensor heard it: a round has at most one pulse per station.
    pub station: u32,
    /// Arrival time, seconds from any reference common to all pulses.
    pub time_s: f64,
    /// One standard deviation of its timing as stated, seconds.
    pub sigma_s: f64,
}

/// What a search assumes and how far it may go.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RoundSearch {
    /// Speed of sound, m/s.
    pub speed_m_s: f64,
    /// Half-width of the square searched, centred on the required pulse's sensor, metres (the
    /// farthest that sensor can hear the source).
    pub radius_m: f64,
    /// Timing disagreement allowed beyond three stated sigmas, seconds: the heavy tail of
    /// onset picking, sensor position error, an unknown source height.
    pub tolerance_s: f64,
    /// Relative error of the travel times (temperature, wind), as a fraction: two pulses may
    /// disagree by this fraction of the difference of their travel times.
    pub speed_uncertainty: f64,
    /// Fewest stations a round needs.
    pub min_stations: usize,
    /// The ground the source stands on (else the required pulse's sensor height).
    pub surface: Option<Surface>,
    /// Most cells evaluated; the best candidate found by then is returned.
    pub max_cells: usize,
}

/// A round the pulses agree on.
#[derive(Debug, Clone, PartialEq)]
pub struct RoundCandidate {
    /// East and north of the source, metres (within a few metres of the best consensus).
    pub at: [f64; 2],
    /// Emission time, seconds (same reference as the pulses).
    pub emission_time_s: f64,
    /// Indices of the pulses that agree, one per station, the required one among them.
    pub members: Vec<usize>,
    /// Cells evaluated: the search's cost.
    pub cells: usize,
}

#[derive(Debug, Clone)]
struct Cell {
    at: [f64; 2],
    half: f64,
    bound: usize,
    /// The pulses (positions in the scorer's `others`) that could agree somewhere in the
    /// cell: its sub-cells look at no others, so a cell costs what it may hold, not what the
    /// area heard.
    candidates: Vec<u32>,
}

impl PartialEq for Cell {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Cell {}
impl PartialOrd for Cell {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Cell {
    /// Higher bound first; among equal bounds the smaller cell (depth first), then a fixed
    /// order of positions so the search is deterministic.
    fn cmp(&self, other: &Self) -> Ordering {
        self.bound
            .cmp(&other.bound)
            .then(other.half.total_cmp(&self.half))
            .then(self.at[0].total_cmp(&other.at[0]))
            .then(self.at[1].total_cmp(&other.at[1]))
    }
}

/// The pulses that could share a round with the required one, and how to score a cell.
struct Scorer<'a> {
    pulses: &'a [Pulse],
    required: Pulse,
    /// Indices of the pulses that could be of the required pulse's round at all.
    others: Vec<usize>,
    /// For each of `others`: the disagreement allowed whatever the cell (tolerance and three
    /// sigmas of the pair), seconds.
    allowance: Vec<f64>,
    /// Stations, densely numbered from 0 (the best pulse per station is kept in a table).
    stations: usize,
    /// For each of `others`: whether its sensor is where its station's first pulse puts the
    /// station (a cell's distance to the station is then the pulse's; else it is timed alone).
    at_station_sensor: Vec<bool>,
    /// Scratch for a cell's scan: the best pulse per station, each station's distance.
    best: RefCell<Vec<(usize, f64)>>,
    distance: RefCell<Vec<f64>>,
    search: &'a RoundSearch,
}

impl Scorer<'_> {
    fn height(&self, x: [f64; 2]) -> f64 {
        match &self.search.surface {
            Some(s) => s.up_at(x),
            None => self.required.sensor[2],
        }
    }

    fn distance(x: [f64; 2], up: f64, s: [f64; 3]) -> f64 {
        let d = [x[0] - s[0], x[1] - s[1], up - s[2]];
        (d[0] * d[0] + d[1] * d[1] + d[2] * d[2]).sqrt()
    }

    /// For a source anywhere in the cell, which of `among` (positions in `others`) could
    /// agree with the required pulse: the best per station as `(index, disagreement in
    /// seconds)`, and every one that could agree somewhere in a sub-cell.
    fn agreeing(
        &self,
        at: [f64; 2],
        half: f64,
        among: impl ExactSizeIterator<Item = u32>,
    ) -> (f64, Vec<(usize, f64)>, Vec<u32>) {
        let mut best = Vec::new();
        let (t0, could) = self.scan(at, half, among, &mut best);
        (
            t0,
            best.into_iter().filter(|(i, _)| *i != usize::MAX).collect(),
            could,
        )
    }

    /// [`Scorer::agreeing`] into `best`, one entry per station (`usize::MAX` where none
    /// agrees); returns the emission time at the cell's centre and the pulses that could agree
    /// in a sub-cell.
    fn scan(
        &self,
        at: [f64; 2],
        half: f64,
        among: impl ExactSizeIterator<Item = u32>,
        best: &mut Vec<(usize, f64)>,
    ) -> (f64, Vec<u32>) {
        let c = self.search.speed_m_s;
        let up = self.height(at);
        let dp = Self::distance(at, up, self.required.sensor);
        let t0 = self.required.time_s - dp / c;
        let slack = 2.0 * std::f64::consts::SQRT_2 * half / c;
        // The best pulse per station, by station number.
        best.clear();
        best.resize(self.stations, (usize::MAX, f64::INFINITY));
        let mut could = Vec::with_capacity(among.len());
        // A station's many pulses (under rapid fire) share its distance from the cell.
        let mut distance = self.distance.borrow_mut();
        distance.clear();
        distance.resize(self.stations, f64::NAN);
        for k in among {
            let i = self.others[k as usize];
            let q = &self.pulses[i];
            let station = q.station as usize;
            let dq = if self.at_station_sensor[k as usize] {
                let d = &mut distance[station];
                if d.is_nan() {
                    *d = Self::distance(at, up, q.sensor);
                }
                *d
            } else {
                Self::distance(at, up, q.sensor)
            };
            let off = (q.time_s - dq / c - t0).abs();
            let allowed = slack
                + self.allowance[k as usize]
                + self.search.speed_uncertainty * (dq - dp).abs() / c;
            // A sub-cell's centre is within half this cell's slack of this one's, its height
            // within the surface's rise over that: its test is passed only by pulses that
            // pass this one with the slack again.
            if off > allowed + slack {
                continue;
            }
            could.push(k);
            if off > allowed {
                continue;
            }
            if let Some(entry) = best.get_mut(station)
                && off < entry.1
            {
                *entry = (i, off);
            }
        }
        (t0, could)
    }

    /// The cell at `at` (half-width `half`) within `parent`'s candidates, with its bound.
    fn cell(&self, at: [f64; 2], half: f64, parent: &[u32]) -> Cell {
        let mut best = self.best.borrow_mut();
        let (_, candidates) = self.scan(at, half, parent.iter().copied(), &mut best);
        Cell {
            at,
            half,
            bound: 1 + best.iter().filter(|(i, _)| *i != usize::MAX).count(),
            candidates,
        }
    }
}

/// The round that most stations agree on with pulse `required`, if at least
/// `search.min_stations` do. Deterministic: the same pulses give the same candidate.
pub fn find_round(
    pulses: &[Pulse],
    required: usize,
    search: &RoundSearch,
) -> Option<RoundCandidate> {
    // Stations numbered densely from 0, whatever numbers the caller used.
    let mut numbers: std::collections::HashMap<u32, u32> = std::collections::HashMap::new();
    let dense: Vec<Pulse> = pulses
        .iter()
        .map(|q| {
            let next = numbers.len() as u32;
            Pulse {
                station: *numbers.entry(q.station).or_insert(next),
                ..*q
            }
        })
        .collect();
    let pulses = &dense[..];
    let p = *pulses.get(required)?;
    let c = search.speed_m_s;
    if !(c > 0.0 && search.radius_m > 0.0) {
        return None;
    }
    // A pulse can share the required pulse's round only if the time between them is no more
    // than sound needs to cross between their sensors (with the same allowances).
    let others: Vec<usize> = pulses
        .iter()
        .enumerate()
        .filter(|(i, q)| {
            *i != required && q.station != p.station && {
                let d = Scorer::distance([p.sensor[0], p.sensor[1]], p.sensor[2], q.sensor);
                (q.time_s - p.time_s).abs()
                    <= d / c * (1.0 + search.speed_uncertainty)
                        + search.tolerance_s
                        + 3.0 * q.sigma_s.hypot(p.sigma_s)
            }
        })
        .map(|(i, _)| i)
        .collect();
    let allowance = others
        .iter()
        .map(|&i| search.tolerance_s + 3.0 * pulses[i].sigma_s.hypot(p.sigma_s))
        .collect();
    let stations = numbers.len();
    let mut station_sensor = vec![[f64::NAN; 3]; stations];
    for q in pulses.iter().rev() {
        station_sensor[q.station as usize] = q.sensor;
    }
    let at_station_sensor = others
        .iter()
        .map(|&i| station_sensor[pulses[i].station as usize] == pulses[i].sensor)
        .collect();
    let scorer = Scorer {
        pulses,
        required: p,
        others,
        allowance,
        stations,
        at_station_sensor,
        best: RefCell::new(Vec::new()),
        distance: RefCell::new(Vec::new()),
        search,
    };
    if 1 + scorer.others.len() < search.min_stations {
        return None;
    }
    let root = [p.sensor[0], p.sensor[1]];
    let mut heap = BinaryHeap::new();
    let all: Vec<u32> = (0..scorer.others.len() as u32).collect();
    heap.push(scorer.cell(root, search.radius_m, &all));
    let mut cells = 1usize;
    let mut best: Option<(usize, [f64; 2])> = None;
    while let Some(cell) = heap.pop() {
        let floor = best.map_or(search.min_stations, |(n, _)| n + 1);
        if cell.bound < floor || cells >= search.max_cells {
            break;
        }
        if cell.half <= LEAF_HALF_M {
            best = Some((cell.bound, cell.at));
            continue;
        }
        let h = 0.5 * cell.half;
        for (de, dn) in [(-h, -h), (h, -h), (-h, h), (h, h)] {
            let at = [cell.at[0] + de, cell.at[1] + dn];
            // Stay within the disc the required sensor hears.
            let from_sensor = (at[0] - root[0]).hypot(at[1] - root[1]);
            if from_sensor > search.radius_m + std::f64::consts::SQRT_2 * h {
                continue;
            }
            let child = scorer.cell(at, h, &cell.candidates);
            cells += 1;
            if child.bound >= floor {
                heap.push(child);
            }
        }
    }
    let (_, at) = best?;
    let (t0, agreeing, _) = scorer.agreeing(at, LEAF_HALF_M, all.into_iter());
    let mut members: Vec<usize> = agreeing.into_iter().map(|(i, _)| i).collect();
    members.push(required);
    members.sort_unstable();
    Some(RoundCandidate {
        at,
        emission_time_s: t0,
        members,
        cells,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const C: f64 = 340.0;

    fn network() -> Vec<[f64; 3]> {
        (0..12)
            .map(|i| {
                let a = f64::from(i) * 0.52;
                let r = 1500.0 + 250.0 * f64::from(i % 4);
                [r * a.sin(), r * a.cos(), 10.0 * f64::from(i % 3)]
            })
            .collect()
    }

    fn pulses_of(source: [f64; 3], t0: f64, sensors: &[[f64; 3]]) -> Vec<Pulse> {
        sensors
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let d = [source[0] - s[0], source[1] - s[1], source[2] - s[2]];
                Pulse {
                    sensor: *s,
                    station: i as u32,
                    time_s: t0 + (d[0] * d[0] + d[1] * d[1] + d[2] * d[2]).sqrt() / C,
                    sigma_s: 0.002,
                }
            })
            .collect()
    }

    fn search() -> RoundSearch {
        RoundSearch {
            speed_m_s: C,
            radius_m: 6000.0,
            tolerance_s: 0.01,
            speed_uncertainty: 0.005,
            min_stations: 5,
            surface: None,
            max_cells: 200_000,
        }
    }

    #[test]
    fn three_rounds_a_second_apart_are_told_apart() {
        let sensors = network();
        let source = [300.0, -200.0, 10.0];
        let mut pulses = Vec::new();
        for k in 0..3 {
            pulses.extend(pulses_of(source, f64::from(k), &sensors));
        }
        // Interleave them as a gateway would: by arrival time.
        pulses.sort_by(|a, b| a.time_s.total_cmp(&b.time_s));
        for required in [0, 7, 20] {
            let round = find_round(&pulses, required, &search()).unwrap();
            assert_eq!(round.members.len(), 12, "{round:?}");
            let t0s: Vec<f64> = round
                .members
                .iter()
                .map(|&i| {
                    let q = pulses[i];
                    let d = Scorer::distance([source[0], source[1]], source[2], q.sensor);
                    q.time_s - d / C
                })
                .collect();
            assert!(
                t0s.iter().all(|t| (t - t0s[0]).abs() < 1e-6),
                "one round: {t0s:?}"
            );
            assert!(
                (round.at[0] - source[0]).hypot(round.at[1] - source[1]) < 40.0,
                "{round:?}"
            );
        }
    }

    #[test]
    fn dense_fire_from_two_places_finds_each_round_whole() {
        // Twenty rounds 0.15 s apart, alternating between two firers 900 m apart: every
        // sensor hears a pulse every few hundredths of a second, and sub-cells look only at
        // the pulses their parent cell could hold.
        let sensors = network();
        let sources = [[300.0, -200.0, 10.0], [-500.0, 250.0, 0.0]];
        let mut pulses = Vec::new();
        for k in 0..20 {
            pulses.extend(pulses_of(sources[k % 2], 0.15 * k as f64, &sensors));
        }
        pulses.sort_by(|a, b| a.time_s.total_cmp(&b.time_s));
        for required in [0, 61, 133, 239] {
            let round = find_round(&pulses, required, &search()).unwrap();
            assert_eq!(round.members.len(), 12, "{round:?}");
            let (_, source) = sources
                .iter()
                .map(|s| ((round.at[0] - s[0]).hypot(round.at[1] - s[1]), s))
                .min_by(|a, b| a.0.total_cmp(&b.0))
                .unwrap();
            let t0s: Vec<f64> = round
                .members
                .iter()
                .map(|&i| {
                    let q = pulses[i];
                    q.time_s - Scorer::distance([source[0], source[1]], source[2], q.sensor) / C
                })
                .collect();
            // Another round's pulse within the allowance may stand in for one (the robust
            // fit that follows sets it apart); the round itself is found, placed and whole.
            let own = t0s
                .iter()
                .filter(|t| t0s.iter().filter(|u| (*u - *t).abs() < 1e-6).count() >= 11)
                .count();
            assert!(own >= 11, "one round: {t0s:?}");
            assert!(
                (round.at[0] - source[0]).hypot(round.at[1] - source[1]) < 40.0,
                "{round:?}"
            );
        }
    }

    #[test]
    fn too_few_stations_give_no_round() {
        let sensors = network();
        let pulses = pulses_of([0.0, 0.0, 0.0], 0.0, &sensors[..4]);
        assert_eq!(find_round(&pulses, 0, &search()), None);
    }

    #[test]
    fn unrelated_pulses_give_no_round() {
        let sensors = network();
        // Every sensor hears something at a random-looking time: no consensus of five.
        let pulses: Vec<Pulse> = sensors
            .iter()
            .enumerate()
            .map(|(i, s)| Pulse {
                sensor: *s,
                station: i as u32,
                time_s: (i as f64 * 7.31).sin() * 9.0,
                sigma_s: 0.002,
            })
            .collect();
        assert_eq!(find_round(&pulses, 0, &search()), None);
    }
}
