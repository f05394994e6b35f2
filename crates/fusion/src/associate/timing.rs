//! Timing a pulse against a located round: when its source (position, height, emission time,
//! wind) says the pulse should arrive at the pulse's sensor, and the gate around that.
//!
//! Under rapid fire a round is held against hundreds of waiting pulses from the same twenty
//! sensors, so [`Timing`] remembers the travel time to each sensor: a pulse then costs a
//! subtraction, with the same arithmetic (and so the same result) as timing it afresh.

use super::pulses::{GATE_SIGMAS, MAX_GATE_VARIANCE, SPEED_UNCERTAINTY, TOLERANCE_S};
use crate::measure::{JointFix, Measure};
use truce_core::time::nanos_as_seconds;
use truce_geo::LocalFrame;

/// The travel time from a fix's source to a sensor, seconds; the distance, metres; and the
/// unit vector (east, north) from the source to the sensor.
type Travel = (f64, f64, (f64, f64));

/// One located round's source, timing pulses at any sensor; travel times remembered by the
/// sensor's place and the speed of sound.
#[derive(Debug)]
pub(super) struct Timing<'a> {
    fix: &'a JointFix,
    frame: LocalFrame,
    t0_ns: i128,
    /// By the sensor's place and height and the speed's bits (a fast hash: a few sensors,
    /// looked up for every pulse timed).
    travel: foldhash::HashMap<(u64, u64, u64, u64), Travel>,
}

impl<'a> Timing<'a> {
    /// The timing of `fix`'s source; `None` when the fix has no emission time.
    pub(super) fn of(fix: &'a JointFix) -> Option<Self> {
        Some(Timing {
            fix,
            frame: LocalFrame::at(fix.estimate.center),
            t0_ns: fix.emission_ns?,
            travel: foldhash::HashMap::default(),
        })
    }

    /// Pulse `m`'s time minus the time the source predicts at its sensor, at speed `c` in the
    /// fix's wind if it estimated one; with the distance and the unit vector (east, north)
    /// from the source to the sensor. `None` for what is not a pulse.
    pub(super) fn residual(&mut self, m: &Measure, c: f64) -> Option<Travel> {
        let (travel, d, u) = self.travel(m, c)?;
        Some((self.since_emission(m)? - travel, d, u))
    }

    /// Pulse `m`'s time since the source's emission, seconds.
    pub(super) fn since_emission(&self, m: &Measure) -> Option<f64> {
        match m {
            Measure::Arrival { at_ns, .. } => Some(nanos_as_seconds(at_ns - self.t0_ns)),
            _ => None,
        }
    }

    /// The travel time from the source to pulse `m`'s sensor at speed `c` in the fix's wind,
    /// seconds; the distance, metres; and the unit vector (east, north) from the source to
    /// the sensor. `None` for what is not a pulse.
    pub(super) fn travel(&mut self, m: &Measure, c: f64) -> Option<Travel> {
        let Measure::Arrival { sensor, alt_m, .. } = m else {
            return None;
        };
        let key = (
            sensor.lat.to_bits(),
            sensor.lon.to_bits(),
            alt_m.to_bits(),
            c.to_bits(),
        );
        let (fix, frame) = (self.fix, &self.frame);
        let travel = *self.travel.entry(key).or_insert_with(|| {
            let (e, n) = frame.to_en(*sensor);
            let up = fix.height.map_or(*alt_m, |h| h.up_m);
            // Plain square roots: metres cannot overflow, and `hypot`'s care costs here.
            let horizontal = (e * e + n * n).sqrt().max(1e-3);
            let d = (horizontal * horizontal + (up - alt_m) * (up - alt_m)).sqrt();
            let w = fix.wind_m_s.unwrap_or([0.0, 0.0]);
            let travel = d / c - (w[0] * e + w[1] * n) / (c * c);
            (travel, d, (e / horizontal, n / horizontal))
        });
        Some(travel)
    }

    /// Pulse `m`'s time minus the time the fix predicts at its sensor, and the gate around
    /// that prediction (its position's and the stated sigma's share, the tolerance, and the
    /// travel time's relative error), seconds.
    pub(super) fn prediction(
        &mut self,
        m: &Measure,
        default_temperature_c: f64,
    ) -> Option<(f64, f64)> {
        let Measure::Arrival { sigma_s, .. } = m else {
            return None;
        };
        let c = pulse_speed(m, default_temperature_c);
        let (residual, d, u) = self.residual(m, c)?;
        let fix = self.fix;
        let (ce, cn) = fix.estimate.cov.apply(u);
        let sigma_position = (u.0 * ce + u.1 * cn).max(0.0).sqrt() / c;
        let s2 = gate_variance(fix);
        // The emission time is about as uncertain as the position's share: count it twice.
        let spread = (2.0 * sigma_position.powi(2) + s2 * sigma_s.powi(2)).sqrt();
        // With the wind estimated, what is left of the travel time's error is the temperature's.
        let relative = if fix.wind_m_s.is_some() {
            0.4 * SPEED_UNCERTAINTY
        } else {
            SPEED_UNCERTAINTY
        };
        Some((
            residual,
            GATE_SIGMAS * spread + TOLERANCE_S + relative * d / c,
        ))
    }
}

/// Pulse `m`'s time minus the time `fix` (timed) predicts at its sensor, and the gate around
/// that prediction: [`Timing::prediction`] for one pulse.
pub(super) fn prediction(
    fix: &JointFix,
    m: &Measure,
    default_temperature_c: f64,
) -> Option<(f64, f64)> {
    Timing::of(fix)?.prediction(m, default_temperature_c)
}

/// How much a gate widens the stated sigmas by for `fix`: its residual variance factor,
/// between 1 and [`MAX_GATE_VARIANCE`] (1 without redundancy).
pub(super) fn gate_variance(fix: &JointFix) -> f64 {
    let v = fix.uncertainty.residual_variance;
    if v.is_finite() {
        v.clamp(1.0, MAX_GATE_VARIANCE)
    } else {
        1.0
    }
}

/// The speed of sound at pulse `m`'s sensor: at the temperature it reported, else at
/// `default_temperature_c`.
pub(super) fn pulse_speed(m: &Measure, default_temperature_c: f64) -> f64 {
    let reported = match m {
        Measure::Arrival { temperature_c, .. } => *temperature_c,
        _ => None,
    };
    truce_locate::speed_of_sound(reported.unwrap_or(default_temperature_c))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::measure::joint_fix;
    use truce_geo::LatLon;

    /// A pulse at a sensor `(east, north, up)` of a frame at `origin`, at `at_s` seconds.
    fn pulse(origin: LatLon, sensor: (f64, f64, f64), at_s: f64, temperature_c: f64) -> Measure {
        Measure::Arrival {
            sensor: LocalFrame::at(origin).from_en(sensor.0, sensor.1),
            alt_m: sensor.2,
            at_ns: (at_s * 1e9) as i128,
            sigma_s: 0.003,
            temperature_c: Some(temperature_c),
        }
    }

    #[test]
    fn a_timing_reused_over_many_pulses_times_each_as_a_fresh_one_does() {
        let origin = LatLon::new(39.97, 46.75);
        let c = truce_locate::speed_of_sound(15.0);
        let sensors: Vec<(f64, f64, f64)> = (0..9)
            .map(|i| {
                let a = f64::from(i) * 0.7;
                (2500.0 * a.cos(), 2000.0 * a.sin(), 20.0 * f64::from(i % 3))
            })
            .collect();
        let round: Vec<Measure> = sensors
            .iter()
            .map(|s| {
                pulse(
                    origin,
                    *s,
                    100.0 + (s.0 - 300.0).hypot(s.1 + 200.0) / c,
                    15.0,
                )
            })
            .collect();
        let refs: Vec<&Measure> = round.iter().collect();
        let fix = joint_fix(&refs, None, 15.0).expect("a fix of nine pulses");
        let mut reused = Timing::of(&fix).expect("a timed fix");
        // Later pulses at the same sensors, the same sensor a metre higher, another temperature.
        let mut later: Vec<Measure> = Vec::new();
        for (k, s) in sensors.iter().enumerate() {
            let t = 101.0 + 0.37 * k as f64;
            later.push(pulse(origin, *s, t, 15.0));
            later.push(pulse(origin, (s.0, s.1, s.2 + 1.0), t, 15.0));
            later.push(pulse(origin, *s, t, -5.0));
        }
        for m in later.iter().chain(&round) {
            let fresh = prediction(&fix, m, 15.0).unwrap();
            assert_eq!(reused.prediction(m, 15.0).unwrap(), fresh, "{m:?}");
        }
        // Pulses of one place differ in their prediction only by their time.
        let b = pulse(origin, sensors[0], 101.37, 15.0);
        let (ra, _) = reused.prediction(&later[0], 15.0).unwrap();
        let (rb, _) = reused.prediction(&b, 15.0).unwrap();
        assert!((rb - ra - 0.37).abs() < 1e-9);
        // A metre higher and a colder day are timed apart, not taken from the memo.
        assert_ne!(
            reused.prediction(&later[1], 15.0),
            reused.prediction(&later[0], 15.0)
        );
        assert_ne!(
            reused.prediction(&later[2], 15.0),
            reused.prediction(&later[0], 15.0)
        );
    }
}
