//! Association: which incident each observation belongs to, kept incrementally.
//!
//! An observation joins an incident of the same kind whose time window (first to last seen,
//! widened by the association window, 120 s by default) contains its time and whose 95% ellipse
//! its own overlaps; among several, the nearest in Mahalanobis distance. Otherwise it starts a new
//! incident. Observations that fix no position on their own start an incident with no position.
//!
//! Candidates come from an R-tree over (longitude, latitude, time) boxes, so the cost of one
//! observation does not grow with the number of incidents.

use crate::estimate::{Estimate, estimate_observation};
use crate::rules::Rules;
use rstar::{AABB, RTree, RTreeObject};
use std::collections::HashMap;
use truce_core::incident::{CovarianceEn, Ellipse95, IncidentEstimate, IncidentPosition, Status};
use truce_core::{IncidentId, Kind, ObservationId, Subkind, Timestamp, ValidObservation, Weapon};
use truce_geo::{Cov2, LatLon, LocalFrame, to_mgrs};

/// Default association window, seconds: reports of one event arrive within two minutes.
pub const DEFAULT_WINDOW_S: f64 = 120.0;

/// Directions tested, besides the line between centres, when deciding whether two ellipses
/// overlap (the test errs towards "overlap" by at most the gap between directions).
const OVERLAP_DIRECTIONS: usize = 36;

/// Most observation ids one revision lists (about 20 KiB of an entry's 64 KiB).
pub const MAX_ADDED_PER_REVISION: usize = 2_000;

/// Metres per degree of latitude, a lower bound (WGS84 meridian arc at the equator is 110,574 m),
/// used only to size search boxes generously.
const M_PER_DEG_LAT_MIN: f64 = 110_000.0;

/// An incident as the engine keeps it between restarts: its number, revision and estimate.
#[derive(Debug, Clone, PartialEq)]
pub struct TrackState {
    /// The incident's number.
    pub id: IncidentId,
    /// Its latest revision.
    pub revision: u32,
    /// Its latest estimate.
    pub estimate: IncidentEstimate,
}

/// One incident revision produced by a batch.
#[derive(Debug, Clone, PartialEq)]
pub struct Revision {
    /// The incident.
    pub incident_id: IncidentId,
    /// Its new revision number (1 for a new incident).
    pub revision: u32,
    /// Observations that joined it in this batch, in batch order.
    pub added: Vec<ObservationId>,
    /// The estimate after the batch.
    pub estimate: IncidentEstimate,
}

/// What absorbing a batch decided.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Absorbed {
    /// For each observation of the batch, in order, the incident it joined or started.
    pub incident_ids: Vec<IncidentId>,
    /// One revision per touched incident, in order of first touch.
    pub revisions: Vec<Revision>,
}

#[derive(Debug, Clone)]
struct Track {
    revision: u32,
    kind: Kind,
    subkind: Option<Subkind>,
    weapon: Option<Weapon>,
    count: u32,
    first_seen: Timestamp,
    last_seen: Timestamp,
    status: Status,
    est: Option<Estimate>,
    /// The box under which the track is in the index, if it is.
    indexed: Option<AABB<[f64; 3]>>,
}

#[derive(Debug, Clone, PartialEq)]
struct Indexed {
    id: IncidentId,
    env: AABB<[f64; 3]>,
}

impl RTreeObject for Indexed {
    type Envelope = AABB<[f64; 3]>;
    fn envelope(&self) -> Self::Envelope {
        self.env
    }
}

/// The incidents observations may join, and the rules their estimates are tested against.
#[derive(Debug)]
pub struct Fusion {
    rules: Rules,
    window_s: f64,
    tracks: HashMap<IncidentId, Track>,
    index: RTree<Indexed>,
    next_id: u64,
}

impl Fusion {
    /// An empty fusion state (no incidents yet).
    pub fn new(rules: Rules) -> Self {
        Self {
            rules,
            window_s: DEFAULT_WINDOW_S,
            tracks: HashMap::new(),
            index: RTree::new(),
            next_id: 1,
        }
    }

    /// The state after a restart: `tracks` are the stored incidents' latest revisions. Incidents
    /// with no position are not kept, since nothing can join them.
    pub fn restore(rules: Rules, tracks: impl IntoIterator<Item = TrackState>) -> Self {
        let mut fusion = Self::new(rules);
        let mut items = Vec::new();
        for t in tracks {
            fusion.next_id = fusion.next_id.max(t.id.0 + 1);
            let est = estimate_of(&t.estimate);
            let Some(est) = est else { continue };
            let mut track = Track {
                revision: t.revision,
                kind: t.estimate.kind,
                subkind: t.estimate.subkind,
                weapon: t.estimate.weapon,
                count: t.estimate.count,
                first_seen: t.estimate.first_seen,
                last_seen: t.estimate.last_seen,
                status: t.estimate.status,
                est: Some(est),
                indexed: None,
            };
            let env = envelope(&est, track.first_seen, track.last_seen, fusion.window_s);
            track.indexed = Some(env);
            items.push(Indexed { id: t.id, env });
            fusion.tracks.insert(t.id, track);
        }
        fusion.index = RTree::bulk_load(items);
        fusion
    }

    /// The rules estimates are tested against.
    pub fn rules(&self) -> &Rules {
        &self.rules
    }

    /// The number the next new incident will get.
    pub fn next_incident_id(&self) -> IncidentId {
        IncidentId(self.next_id)
    }

    /// Incidents held for association.
    pub fn len(&self) -> usize {
        self.tracks.len()
    }

    /// Whether no incident is held.
    pub fn is_empty(&self) -> bool {
        self.tracks.is_empty()
    }

    /// Associates each observation of `batch` (in order) and re-estimates every incident it
    /// touches. The state is updated in place: if the caller cannot record the result, it must
    /// rebuild the state with [`Fusion::restore`] from what was recorded.
    pub fn absorb(&mut self, batch: &[(ObservationId, &ValidObservation)]) -> Absorbed {
        let mut incident_ids = Vec::with_capacity(batch.len());
        let mut touched: Vec<IncidentId> = Vec::new();
        let mut added: HashMap<IncidentId, Vec<ObservationId>> = HashMap::new();
        for (obs_id, obs) in batch {
            let est = estimate_observation(obs);
            let joined = est.and_then(|e| self.best_match(obs, &e));
            let id = match (joined, est) {
                (Some(id), Some(e)) => {
                    self.join(id, obs, &e);
                    id
                }
                _ => self.start(obs, est),
            };
            incident_ids.push(id);
            let list = added.entry(id).or_default();
            if list.is_empty() {
                touched.push(id);
            }
            list.push(*obs_id);
        }
        let mut revisions = Vec::with_capacity(touched.len());
        for id in touched {
            let Some(track) = self.tracks.get_mut(&id) else {
                continue;
            };
            let estimate = incident_estimate(&self.rules, track);
            let all = added.remove(&id).unwrap_or_default();
            // One revision per chunk keeps every revision entry well under the record's entry
            // size limit, however many observations of one event a batch carries.
            for chunk in all.chunks(MAX_ADDED_PER_REVISION) {
                track.revision += 1;
                revisions.push(Revision {
                    incident_id: id,
                    revision: track.revision,
                    added: chunk.to_vec(),
                    estimate: estimate.clone(),
                });
            }
        }
        // Incidents without a position cannot be joined; keep only what association needs.
        self.tracks.retain(|_, t| t.est.is_some());
        Absorbed {
            incident_ids,
            revisions,
        }
    }

    fn best_match(&self, obs: &ValidObservation, est: &Estimate) -> Option<IncidentId> {
        let t = obs.observed_at.unix_seconds();
        let query = AABB::from_corners(corner(est, t, -1.0, 0.0), corner(est, t, 1.0, 0.0));
        let mut best: Option<(f64, IncidentId)> = None;
        for item in self.index.locate_in_envelope_intersecting(&query) {
            let Some(track) = self.tracks.get(&item.id) else {
                continue;
            };
            if track.kind != obs.kind {
                continue;
            }
            let lo = track.first_seen.unix_seconds() - self.window_s;
            let hi = track.last_seen.unix_seconds() + self.window_s;
            if t < lo || t > hi {
                continue;
            }
            let Some(track_est) = &track.est else {
                continue;
            };
            if let Some(d2) = overlap_distance(track_est, est)
                && best.is_none_or(|(b, _)| d2 < b)
            {
                best = Some((d2, item.id));
            }
        }
        best.map(|(_, id)| id)
    }

    fn start(&mut self, obs: &ValidObservation, est: Option<Estimate>) -> IncidentId {
        let id = IncidentId(self.next_id);
        self.next_id += 1;
        let mut track = Track {
            revision: 0,
            kind: obs.kind,
            subkind: obs.subkind,
            weapon: obs.weapon,
            count: obs.count,
            first_seen: obs.observed_at,
            last_seen: obs.observed_at,
            status: Status::Reported,
            est,
            indexed: None,
        };
        if let Some(e) = est {
            let env = envelope(&e, track.first_seen, track.last_seen, self.window_s);
            self.index.insert(Indexed { id, env });
            track.indexed = Some(env);
        }
        self.tracks.insert(id, track);
        id
    }

    fn join(&mut self, id: IncidentId, obs: &ValidObservation, est: &Estimate) {
        let window = self.window_s;
        let Some(track) = self.tracks.get_mut(&id) else {
            return;
        };
        track.count = track.count.max(obs.count);
        track.first_seen = track.first_seen.min(obs.observed_at);
        track.last_seen = track.last_seen.max(obs.observed_at);
        track.subkind = track.subkind.or(obs.subkind);
        track.weapon = track.weapon.or(obs.weapon);
        track.est = Some(match track.est {
            Some(old) => combine(&old, est),
            None => *est,
        });
        if let Some(old_env) = track.indexed.take() {
            self.index.remove(&Indexed { id, env: old_env });
        }
        if let Some(e) = &track.est {
            let env = envelope(e, track.first_seen, track.last_seen, window);
            self.index.insert(Indexed { id, env });
            track.indexed = Some(env);
        }
    }
}

/// The information-weighted combination of two independent Gaussian estimates, in the plane
/// tangent at the first.
fn combine(a: &Estimate, b: &Estimate) -> Estimate {
    let frame = LocalFrame::at(a.center);
    let xb = frame.to_en(b.center);
    match (a.cov.inverse(), b.cov.inverse()) {
        (Some(ia), Some(ib)) => {
            let info = ia.plus(ib);
            let Some(cov) = info.inverse() else { return *a };
            let rhs = ib.apply(xb);
            let (e, n) = cov.apply(rhs);
            Estimate {
                center: frame.from_en(e, n),
                cov,
            }
        }
        _ => *a,
    }
}

/// When the 95% ellipses of `a` and `b` overlap, the squared Mahalanobis distance between
/// their centres under the summed covariance (smaller is a better match); otherwise `None`.
fn overlap_distance(a: &Estimate, b: &Estimate) -> Option<f64> {
    let frame = LocalFrame::at(a.center);
    let d = frame.to_en(b.center);
    let len = d.0.hypot(d.1);
    let separated = |u: (f64, f64)| {
        let along = u.0 * d.0 + u.1 * d.1;
        along > a.cov.half_width_95(u) + b.cov.half_width_95(u)
    };
    if len > 0.0 && separated((d.0 / len, d.1 / len)) {
        return None;
    }
    for k in 0..OVERLAP_DIRECTIONS {
        let t = std::f64::consts::TAU * k as f64 / OVERLAP_DIRECTIONS as f64;
        if separated((t.sin(), t.cos())) {
            return None;
        }
    }
    let inv = a.cov.plus(b.cov).inverse()?;
    let (x, y) = inv.apply(d);
    Some(d.0 * x + d.1 * y)
}

/// One corner of the box around an estimate's 95% ellipse, in (lon, lat, unix seconds); `sign`
/// picks the low (−1) or high (+1) corner and `dt` widens the time.
fn corner(est: &Estimate, t: f64, sign: f64, dt: f64) -> [f64; 3] {
    let half_e = est.cov.half_width_95((1.0, 0.0)) * 1.01 + 1.0;
    let half_n = est.cov.half_width_95((0.0, 1.0)) * 1.01 + 1.0;
    let dlat = half_n / M_PER_DEG_LAT_MIN;
    let coslat = est.center.lat.to_radians().cos().max(0.01);
    let dlon = half_e / (M_PER_DEG_LAT_MIN * coslat);
    [
        est.center.lon + sign * dlon,
        est.center.lat + sign * dlat,
        t + sign * dt,
    ]
}

fn envelope(est: &Estimate, first: Timestamp, last: Timestamp, window_s: f64) -> AABB<[f64; 3]> {
    let mut lo = corner(est, first.unix_seconds(), -1.0, window_s);
    let hi = corner(est, last.unix_seconds(), 1.0, window_s);
    lo[2] = first.unix_seconds() - window_s;
    AABB::from_corners(lo, hi)
}

fn estimate_of(e: &IncidentEstimate) -> Option<Estimate> {
    let p = e.position.as_ref()?;
    let c = e.covariance_m2?;
    Some(Estimate {
        center: LatLon::new(p.lat, p.lon),
        cov: Cov2 {
            ee: c.ee,
            en: c.en,
            nn: c.nn,
        },
    })
}

fn incident_estimate(rules: &Rules, t: &Track) -> IncidentEstimate {
    let assessed = rules.assess(t.kind, t.subkind, t.weapon, t.est.as_ref());
    let (position, ellipse_95, covariance_m2) = match &t.est {
        Some(e) => {
            let el = e.cov.ellipse_95();
            (
                Some(IncidentPosition {
                    lat: e.center.lat,
                    lon: e.center.lon,
                    mgrs: to_mgrs(e.center).unwrap_or_default(),
                }),
                Some(Ellipse95 {
                    semi_major_m: el.semi_major_m,
                    semi_minor_m: el.semi_minor_m,
                    azimuth_deg: el.azimuth_deg,
                }),
                Some(CovarianceEn {
                    ee: e.cov.ee,
                    en: e.cov.en,
                    nn: e.cov.nn,
                }),
            )
        }
        None => (None, None, None),
    };
    IncidentEstimate {
        kind: t.kind,
        subkind: t.subkind,
        weapon: t.weapon,
        count: t.count,
        first_seen: t.first_seen,
        last_seen: t.last_seen,
        position,
        ellipse_95,
        covariance_m2,
        zones: assessed.zones,
        findings: assessed.findings,
        attribution: assessed.attribution,
        status: t.status,
    }
}

#[cfg(test)]
mod tests;
