//! Cheap tests that rule a candidate incident out before its joint fit is solved.
//!
//! Two kinds. [`Fusion::could_fit`] is part of what association decides: a measurement far
//! outside an incident's ellipse is not tried at all. The gates after it are *conservative*:
//! each rejects only candidates that the joint fit, had it been solved, would have rejected
//! too, so they change how fast association decides and never what (the test
//! `the_gates_change_no_decision` runs a dense simulated stream with and without them and
//! compares every batch's outcome).

use super::{Fusion, PREFILTER_SIGMAS, REPORT_TIME_SIGMA_S, Track};
use crate::estimate::Estimate;
use crate::measure::Measure;
use std::cell::OnceCell;
use truce_core::time::nanos_as_seconds;
use truce_geo::distance_azimuth;

/// A measurement as [`Fusion::could_fit`] tests it against candidate incidents: where it
/// places the event alone is found once, for the first candidate that asks.
pub(super) struct Probe<'a> {
    m: &'a Measure,
    alone: OnceCell<Option<Estimate>>,
}

impl<'a> Probe<'a> {
    /// The probe of measurement `m`.
    pub(super) fn new(m: &'a Measure) -> Self {
        Probe {
            m,
            alone: OnceCell::new(),
        }
    }

    /// Where `m` places the event alone ([`Measure::standalone`]).
    fn alone(&self) -> Option<&Estimate> {
        self.alone.get_or_init(|| self.m.standalone()).as_ref()
    }
}

/// How far the sound's emission time may be from a report's time for the report to join,
/// seconds: observers note the flash to seconds (three sigmas of [`REPORT_TIME_SIGMA_S`]).
pub(super) const EMISSION_GATE_S: f64 = 3.0 * REPORT_TIME_SIGMA_S;

/// Slack of the emission gate's bound, seconds: the fit stops within micro- to milliseconds of
/// the emission time its arrivals imply; a second is orders of magnitude beyond that.
const EMISSION_BOUND_SLACK_S: f64 = 1.0;

impl Fusion {
    /// A quick test that rules out candidates the joint fix would reject, so the solver runs
    /// only for plausible ones: arrivals must be timing-consistent with the incident's
    /// arrivals; a measurement that places the event alone must lie within a generous
    /// Mahalanobis distance of the incident's estimate; a bare bearing must point near it.
    pub(super) fn could_fit(&self, track: &Track, probe: &Probe) -> bool {
        let Some(est) = track.estimate() else {
            return true;
        };
        match probe.m {
            Measure::Bearing {
                observer,
                observer_sigma_m,
                azimuth_deg,
                sigma_deg,
                range: None,
            } => {
                let (r, az) = distance_azimuth(*observer, est.center);
                let off = ((az - azimuth_deg + 540.0).rem_euclid(360.0) - 180.0).to_radians();
                let spread = est.cov.ellipse_95().semi_major_m / truce_geo::SCALE_95;
                let sigma = sigma_deg
                    .to_radians()
                    .hypot(spread.hypot(*observer_sigma_m) / r.max(1.0));
                off.abs() <= PREFILTER_SIGMAS * sigma
            }
            _ => probe.alone().is_none_or(|alone| {
                let frame = truce_geo::LocalFrame::at(est.center);
                let d = frame.to_en(alone.center);
                est.cov
                    .plus(alone.cov)
                    .mahalanobis2(d)
                    .is_none_or(|d2| d2 <= PREFILTER_SIGMAS * PREFILTER_SIGMAS)
            }),
        }
    }

    /// Whether a report made at `report_time_s` (not itself an arrival) certainly comes more
    /// than [`EMISSION_GATE_S`] after the sound of `track` was emitted, whatever joining it
    /// does to the incident's fit, so that [`Fusion::score`] would turn it down.
    ///
    /// Why that is certain: when `track` holds arrivals, its fit with the report keeps at least
    /// one of them (the robust fit sets an arrival aside only for a misfit, and the last one
    /// left is fitted exactly by the emission time), so the fit has an emission time, which
    /// [`Fusion::score`] checks. The emission time is the weighted mean, over the arrivals the
    /// fit keeps, of each arrival time less the sound's travel time from the fitted source
    /// (it enters no other residual, so at the minimum its derivative is that mean's
    /// condition). Travel times are never negative, in calm air or in wind, so the emission
    /// time is never after the latest arrival: a report more than the gate (plus a slack far
    /// beyond the fit's tolerance) after every arrival is more than the gate after the
    /// emission.
    pub(super) fn too_late_for_its_sound(&self, track: &Track, report_time_s: f64) -> bool {
        if !self.gated {
            return false;
        }
        let latest_ns = track
            .members
            .iter()
            .filter_map(|(_, m)| match m {
                Measure::Arrival { at_ns, .. } => Some(*at_ns),
                _ => None,
            })
            .max();
        let late = latest_ns.is_some_and(|latest| {
            report_time_s - nanos_as_seconds(latest) > EMISSION_GATE_S + EMISSION_BOUND_SLACK_S
        });
        self.count_gate_hit(late)
    }

    /// `hit`, counted when it is (in tests).
    fn count_gate_hit(&self, hit: bool) -> bool {
        #[cfg(test)]
        if hit {
            self.gate_hits
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        hit
    }
}
