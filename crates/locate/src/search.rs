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
//! than `√2·h`, so a cell's count with that slack bounds the count of every point in it. The
//! slack used is tighter: what matters is how the *difference* of a pulse's distance and the
//! required pulse's can change across the cell, at most `√2·h` times the difference of the two
//! unit vectors at the centre plus how far each can turn within the cell (`Turning`); for
//! sensors in about the same direction it is a small part of `2√2·h`, and far fewer cells are
//! opened under rapid fire (a test holds it to the plain bound's count on random fire).
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
    /// A disc (centre east and north, radius, metres) the search leaves out, to ask whether
    /// a position away from a round found does about as well. Cells wholly inside it are
    /// never opened.
    pub avoid: Option<([f64; 2], f64)>,
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
    /// For each of `others`, what a cell's scan reads of it, side by side.
    other: Vec<Other>,
    /// Stations, densely numbered from 0 (the best pulse per station is kept in a table).
    stations: usize,
    /// Scratch for a cell's scan: the best pulse per station, and what each station's pulses
    /// share there.
    best: RefCell<Vec<(usize, f64)>>,
    per_station: RefCell<Vec<SensorTerms>>,
    /// How a cell's count is bounded.
    bound: Bound,
    /// The surface's steepest rise, metres per metre (0 without a surface).
    rise: f64,
    search: &'a RoundSearch,
}

/// One of the scorer's `others`, as a cell's scan reads it.
#[derive(Debug, Clone, Copy)]
struct Other {
    /// Arrival time, seconds.
    time_s: f64,
    /// The disagreement allowed whatever the cell (tolerance and three sigmas of the pair),
    /// seconds.
    allowance: f64,
    /// Its station's dense number.
    station: u32,
    /// Whether its sensor is where its station's first pulse puts the station (a cell's
    /// distance to the station is then the pulse's; else it is timed alone).
    at_station_sensor: bool,
}

/// What a cell's centre is to one sensor: what every pulse of that sensor shares.
#[derive(Debug, Clone, Copy)]
struct SensorTerms {
    /// Travel time from the centre, seconds (NaN until found).
    travel_s: f64,
    /// How much a pulse's disagreement may change within the cell, seconds.
    slack: f64,
    /// The speed's uncertainty on the difference of this travel and the required pulse's,
    /// seconds.
    spread: f64,
}

impl SensorTerms {
    /// Not found yet for this cell.
    const UNKNOWN: SensorTerms = SensorTerms {
        travel_s: f64::NAN,
        slack: 0.0,
        spread: 0.0,
    };
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
        let (t0, could) = self.scan(at, half, among, &mut best, false);
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
        bounding: bool,
    ) -> (f64, Vec<u32>) {
        let c = self.search.speed_m_s;
        let up = self.height(at);
        let dp = Self::distance(at, up, self.required.sensor);
        let t0 = self.required.time_s - dp / c;
        // The plain slack: no distance changes by more than the cell's reach.
        let slack = 2.0 * std::f64::consts::SQRT_2 * half / c;
        let turning = (bounding && self.bound == Bound::Turning && half > LEAF_HALF_M)
            .then(|| Turning::new(self, at, up, half, dp));
        // The best pulse per station, by station number.
        best.clear();
        best.resize(self.stations, (usize::MAX, f64::INFINITY));
        let mut could = vec![0; among.len()];
        let mut kept = 0;
        // A station's many pulses (under rapid fire) share its distance from the cell, and the
        // slack its pulses' disagreement may change by within the cell.
        let terms_of = |sensor: [f64; 3], turning: Option<&Turning>| {
            let dq = Self::distance(at, up, sensor);
            SensorTerms {
                travel_s: dq / c,
                slack: turning.map_or(slack, |t| t.slack(sensor, dq).min(slack)),
                spread: self.search.speed_uncertainty * (dq - dp).abs() / c,
            }
        };
        let mut per_station = self.per_station.borrow_mut();
        per_station.clear();
        per_station.resize(self.stations, SensorTerms::UNKNOWN);
        for k in among {
            let o = &self.other[k as usize];
            let station = o.station as usize;
            let sensor = || self.pulses[self.others[k as usize]].sensor;
            let near = if o.at_station_sensor {
                let d = &mut per_station[station];
                if d.travel_s.is_nan() {
                    *d = terms_of(sensor(), turning.as_ref());
                }
                *d
            } else {
                terms_of(sensor(), None)
            };
            let off = (o.time_s - near.travel_s - t0).abs();
            let allowed = near.slack + o.allowance + near.spread;
            // A sub-cell's centre is within half this cell's slack of this one's, its height
            // within the surface's rise over that: its test is passed only by pulses that
            // pass this one with the slack again. (Written without branches: whether a pulse
            // passes is a coin toss the processor cannot predict. A disagreement that is not a
            // number never agrees anywhere: such a pulse is dropped.)
            could[kept] = k;
            kept += usize::from(off <= allowed + near.slack);
            if let Some(entry) = best.get_mut(station) {
                let agrees = off <= allowed && off < entry.1;
                *entry = if agrees {
                    (self.others[k as usize], off)
                } else {
                    *entry
                };
            }
        }
        could.truncate(kept);
        (t0, could)
    }

    /// The cell at `at` (half-width `half`) within `parent`'s candidates, with its bound.
    fn cell(&self, at: [f64; 2], half: f64, parent: &[u32]) -> Cell {
        let mut best = self.best.borrow_mut();
        let (_, candidates) = self.scan(at, half, parent.iter().copied(), &mut best, true);
        Cell {
            at,
            half,
            bound: 1 + best.iter().filter(|(i, _)| *i != usize::MAX).count(),
            candidates,
        }
    }
}

/// How a cell's count is bounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Bound {
    /// Every pulse with the plain slack: twice the cell's reach over the speed of sound
    /// (what leaves use; the tests hold the turning bound to it).
    #[cfg_attr(not(test), allow(dead_code))]
    Plain,
    /// Each station's slack from how the two distances' difference can change across the
    /// cell: a station in about the direction of the required pulse's moves with it.
    Turning,
}

/// What a cell's turning slack needs about the required pulse's sensor.
struct Turning {
    at: [f64; 2],
    up: f64,
    /// The cell's reach (half its diagonal), metres.
    reach: f64,
    /// The surface's steepest rise, metres per metre.
    rise: f64,
    /// How far the source can move within the cell, its height on the surface with it, metres.
    moved: f64,
    /// The unit vector from the required pulse's sensor to the cell's centre (east, north; up).
    toward_p: ([f64; 2], f64),
    /// How far that unit vector can turn within the cell.
    turn_p: f64,
    /// The slack every bound keeps: the plain slack of a leaf (so leaves count as before).
    leaf: f64,
    /// 1/c, and the speed's relative uncertainty on top.
    scale: f64,
}

impl Turning {
    fn new(scorer: &Scorer, at: [f64; 2], up: f64, half: f64, dp: f64) -> Turning {
        let search = scorer.search;
        let rise = scorer.rise;
        let reach = std::f64::consts::SQRT_2 * half;
        let mut t = Turning {
            at,
            up,
            reach,
            rise,
            moved: reach * (1.0 + rise * rise).sqrt(),
            toward_p: ([0.0; 2], 0.0),
            turn_p: 0.0,
            leaf: 2.0 * std::f64::consts::SQRT_2 * LEAF_HALF_M / search.speed_m_s,
            scale: (1.0 + search.speed_uncertainty) / search.speed_m_s,
        };
        t.toward_p = t.toward(scorer.required.sensor, dp);
        t.turn_p = t.turn(dp);
        t
    }

    /// The unit vector from sensor `s` (at distance `d`) to the cell's centre.
    fn toward(&self, s: [f64; 3], d: f64) -> ([f64; 2], f64) {
        let d = d.max(1e-9);
        (
            [(self.at[0] - s[0]) / d, (self.at[1] - s[1]) / d],
            (self.up - s[2]) / d,
        )
    }

    /// How far the unit vector from a sensor at distance `d` can turn while the source moves
    /// within the cell (its height on the surface with it): |Δw| ≤ 2|Δx|/d, at most 2.
    fn turn(&self, d: f64) -> f64 {
        (2.0 * self.moved / d.max(1e-9)).min(2.0)
    }

    /// The slack of a pulse at sensor `s` (distance `d` from the centre), seconds: the two
    /// distances' difference changes across the cell by at most its reach times the steepest
    /// gradient, the unit vectors' difference at the centre (the surface's rise carrying the
    /// vertical part) plus how far each can turn; with the speed's uncertainty and a leaf's
    /// plain slack on top.
    fn slack(&self, s: [f64; 3], d: f64) -> f64 {
        let (wq, zq) = self.toward(s, d);
        let (wp, zp) = self.toward_p;
        let (ge, gn) = (wq[0] - wp[0], wq[1] - wp[1]);
        // A bound, so the plain square root serves (`hypot` guards against overflow that
        // unit vectors cannot reach, at several times the cost; the two may differ in the last
        // bit, far inside the leaf's slack the bound carries on top).
        let gradient = (ge * ge + gn * gn).sqrt()
            + (zq - zp).abs() * self.rise
            + (self.turn(d) + self.turn_p) * (1.0 + self.rise);
        self.reach * gradient * self.scale + self.leaf
    }
}

/// The round that most stations agree on with pulse `required`, if at least
/// `search.min_stations` do. Deterministic: the same pulses give the same candidate.
pub fn find_round(
    pulses: &[Pulse],
    required: usize,
    search: &RoundSearch,
) -> Option<RoundCandidate> {
    find_round_bounded(pulses, required, search, Bound::Turning)
}

/// [`find_round`] with cells bounded by `bound`.
fn find_round_bounded(
    pulses: &[Pulse],
    required: usize,
    search: &RoundSearch,
    bound: Bound,
) -> Option<RoundCandidate> {
    // Stations numbered densely from 0 (in the order of the caller's numbers, whatever they
    // are: a station's number only names its row in the scorer's tables).
    let mut numbers: Vec<u32> = pulses.iter().map(|q| q.station).collect();
    numbers.sort_unstable();
    numbers.dedup();
    let dense: Vec<Pulse> = pulses
        .iter()
        .map(|q| Pulse {
            station: numbers.partition_point(|&n| n < q.station) as u32,
            ..*q
        })
        .collect();
    let pulses = &dense[..];
    let p = *pulses.get(required)?;
    let c = search.speed_m_s;
    if !(c > 0.0 && search.radius_m > 0.0) {
        return None;
    }
    // Three sigmas of the pair's timing, found once per sigma stated (a sensor states one for
    // all its pulses, and `hypot` is dear); a few kept, for clients that vary it.
    let mut pair_sigmas: Vec<(u64, f64)> = Vec::new();
    let mut three_sigmas = |sigma_s: f64| {
        let key = sigma_s.to_bits();
        if let Some((_, a)) = pair_sigmas.iter().find(|(k, _)| *k == key) {
            return *a;
        }
        let a = 3.0 * sigma_s.hypot(p.sigma_s);
        if pair_sigmas.len() < 16 {
            pair_sigmas.push((key, a));
        }
        a
    };
    let mut station_sensor = vec![[f64::NAN; 3]; numbers.len()];
    for q in pulses.iter().rev() {
        station_sensor[q.station as usize] = q.sensor;
    }
    let mut others = Vec::new();
    let mut other = Vec::new();
    for (i, q) in pulses.iter().enumerate() {
        if i == required || q.station == p.station {
            continue;
        }
        // A pulse can share the required pulse's round only if the time between them is no
        // more than sound needs to cross between their sensors (with the same allowances).
        let three_sigmas = three_sigmas(q.sigma_s);
        let d = Scorer::distance([p.sensor[0], p.sensor[1]], p.sensor[2], q.sensor);
        let within = (q.time_s - p.time_s).abs()
            <= d / c * (1.0 + search.speed_uncertainty) + search.tolerance_s + three_sigmas;
        if !within {
            continue;
        }
        others.push(i);
        other.push(Other {
            time_s: q.time_s,
            allowance: search.tolerance_s + three_sigmas,
            station: q.station,
            at_station_sensor: station_sensor[q.station as usize] == q.sensor,
        });
    }
    let stations = numbers.len();
    let scorer = Scorer {
        pulses,
        required: p,
        others,
        other,
        stations,
        best: RefCell::new(Vec::new()),
        per_station: RefCell::new(Vec::new()),
        search,
        bound,
        rise: search
            .surface
            .map_or(0.0, |s| s.slope_east.hypot(s.slope_north)),
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
            if let Some((centre, r)) = search.avoid
                && (at[0] - centre[0]).hypot(at[1] - centre[1]) + std::f64::consts::SQRT_2 * h <= r
            {
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
            avoid: None,
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
    fn a_search_that_leaves_out_the_place_found_finds_no_other_for_a_lone_round() {
        let sensors = network();
        let source = [300.0, -200.0, 10.0];
        let pulses = pulses_of(source, 0.0, &sensors);
        let found = find_round(&pulses, 3, &search()).unwrap();
        assert_eq!(found.members.len(), 12);
        // Nowhere 200 m or more away do even five sensors agree with one round's pulses.
        let elsewhere = RoundSearch {
            avoid: Some((found.at, 200.0)),
            ..search()
        };
        assert_eq!(find_round(&pulses, 3, &elsewhere), None);
        // A disc away from the source leaves it to be found.
        let aside = RoundSearch {
            avoid: Some(([-1500.0, 1500.0], 500.0)),
            ..search()
        };
        let again = find_round(&pulses, 3, &aside).unwrap();
        assert_eq!(again.members, found.members);
        assert!((again.at[0] - source[0]).hypot(again.at[1] - source[1]) < 40.0);
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

    /// Eight rounds from scattered places (a fifth of the pulses missed, a tenth late by a
    /// longer path) at twenty sensors on a sloping surface, and a pulse among them.
    fn scattered_fire(seed: u64) -> (Vec<Pulse>, usize, RoundSearch) {
        use rand::{RngExt, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let sensors: Vec<[f64; 3]> = (0..20)
            .map(|_| {
                [
                    rng.random_range(-5000.0..5000.0),
                    rng.random_range(-5000.0..5000.0),
                    rng.random_range(0.0..100.0),
                ]
            })
            .collect();
        let mut pulses = Vec::new();
        for r in 0..8 {
            let x = rng.random_range(-3000.0..3000.0);
            let y = rng.random_range(-3000.0..3000.0);
            let t0 = f64::from(r) * rng.random_range(0.1..1.0);
            for (i, s) in sensors.iter().enumerate() {
                if rng.random::<f64>() < 0.2 {
                    continue;
                }
                let d = (x - s[0]).hypot(y - s[1]).hypot(50.0 - s[2]);
                let late = if rng.random::<f64>() < 0.1 {
                    rng.random_range(0.0..0.3)
                } else {
                    0.0
                };
                pulses.push(Pulse {
                    sensor: *s,
                    station: i as u32,
                    time_s: t0 + d / C + rng.random_range(-0.004..0.004) + late,
                    sigma_s: 0.003,
                });
            }
        }
        let mut search = search();
        search.surface = Some(Surface {
            up_m: 40.0,
            slope_east: 0.01,
            slope_north: -0.02,
            sigma_m: 20.0,
        });
        let required = rng.random_range(0..pulses.len());
        (pulses, required, search)
    }

    #[test]
    fn the_turning_bound_finds_as_many_sensors_as_the_plain_one_in_fewer_cells() {
        let (mut plain_cells, mut turning_cells) = (0, 0);
        for seed in 0..300 {
            let (pulses, required, search) = scattered_fire(seed);
            let plain = find_round_bounded(&pulses, required, &search, Bound::Plain);
            let turning = find_round_bounded(&pulses, required, &search, Bound::Turning);
            let count = |r: &Option<RoundCandidate>| r.as_ref().map_or(0, |r| r.members.len());
            assert_eq!(count(&plain), count(&turning), "seed {seed}");
            plain_cells += plain.as_ref().map_or(0, |r| r.cells);
            turning_cells += turning.as_ref().map_or(0, |r| r.cells);
        }
        assert!(
            2 * turning_cells < plain_cells,
            "turning {turning_cells} cells, plain {plain_cells}"
        );
    }
}
