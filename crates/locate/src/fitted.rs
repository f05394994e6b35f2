//! [`locate`] in two halves: the robust fit ([`fit`]), which says where the source is and how
//! well the measurements agree, and the sizing of its uncertainty ([`Fitted::finish`]), which
//! is most of the cost of a fit of arrivals and bearings together (every other minimum along
//! each bearing is searched for). A caller that weighs many candidate sets of measurements and
//! keeps one (association) judges them all by the first half and finishes only the one it
//! keeps.

use crate::model::Solution;
use crate::solve::{checked, robust_solve, to_fix};
use crate::{Exclusion, Fix, LocateError, Measurements};

/// A robust fit before its uncertainty is sized. Its public fields are exactly those of the
/// [`Fix`] that [`locate`](crate::locate) returns for the same measurements (the fit is the
/// same computation); [`Fitted::finish`] gives that fix.
#[derive(Debug, Clone)]
pub struct Fitted {
    /// Maximum-likelihood east and north, metres (as [`Fix::at`]).
    pub at: [f64; 2],
    /// Sum of squared normalised residuals there (as [`Fix::chi2`]).
    pub chi2: f64,
    /// Degrees of freedom (as [`Fix::dof`]).
    pub dof: i32,
    /// Emission time, when arrivals were used (as [`Fix::emission_time_s`]).
    pub emission_time_s: Option<f64>,
    /// Arrivals and bearings left out as inconsistent with the rest (as [`Fix::excluded`]).
    pub excluded: Vec<Exclusion>,
    /// Which arrivals and bearings the fit kept.
    active: Vec<bool>,
    bearing_active: Vec<bool>,
    solution: Solution,
    plain_at: Option<[f64; 2]>,
}

/// The robust fit of [`locate`](crate::locate), without sizing its uncertainty: the same
/// position, misfit, degrees of freedom, emission time and exclusions, and the same errors.
pub fn fit(m: &Measurements) -> Result<Fitted, LocateError> {
    let r = robust_solve(checked(m)?)?;
    let s = &r.solution;
    Ok(Fitted {
        at: [s.p[0], s.p[1]],
        chi2: s.chi2,
        dof: s.dof,
        emission_time_s: r.problem.timed().then_some(s.p[2]),
        excluded: r.excluded,
        active: r.problem.active,
        bearing_active: r.problem.bearing_active,
        solution: r.solution,
        plain_at: r.plain_at,
    })
}

impl Fitted {
    /// The fix [`locate`](crate::locate) gives for `m`, which must be the measurements this
    /// fit was made from (an error when their numbers of arrivals or bearings differ).
    pub fn finish(self, m: &Measurements) -> Result<Fix, LocateError> {
        let mut problem = checked(m)?;
        if problem.active.len() != self.active.len()
            || problem.bearing_active.len() != self.bearing_active.len()
        {
            return Err(LocateError::Invalid {
                what: "measurements to finish a fit".to_owned(),
                value: (m.arrivals.len() + m.bearings.len()) as f64,
                why: "must be those the fit was made from",
            });
        }
        problem.active = self.active;
        problem.bearing_active = self.bearing_active;
        Ok(to_fix(
            &problem,
            self.solution,
            self.excluded,
            self.plain_at,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ArrivalMeasurement, BearingMeasurement, locate};

    /// Nine sensors, one late, and three bearings, one misread: both halves together give
    /// what `locate` gives, field for field.
    #[test]
    fn fit_then_finish_is_locate() {
        let source = [400.0, -300.0];
        let arrivals: Vec<ArrivalMeasurement> = (0..9)
            .map(|i| {
                let a = f64::from(i) * 0.7;
                let sensor = [2500.0 * a.cos(), 2000.0 * a.sin(), 0.0];
                let d = (sensor[0] - source[0]).hypot(sensor[1] - source[1]);
                let noise = [0.7, -1.2, 0.4, 1.1, -0.5, 0.2, -0.9, 1.3, -0.1][i as usize] * 3e-3;
                ArrivalMeasurement {
                    sensor,
                    time_s: d / 340.0 + noise + if i == 2 { 0.08 } else { 0.0 },
                    sigma_s: 3e-3,
                }
            })
            .collect();
        let bearing = |observer: [f64; 2], off_deg: f64| BearingMeasurement {
            observer,
            observer_sigma_m: 5.0,
            azimuth_rad: (source[0] - observer[0]).atan2(source[1] - observer[1])
                + off_deg.to_radians(),
            sigma_rad: 2f64.to_radians(),
            range: None,
        };
        let bearings = [
            bearing([-3000.0, 1000.0], 1.0),
            bearing([2000.0, 3500.0], -0.5),
            bearing([3500.0, -2500.0], 30.0),
        ];
        let m = Measurements::plain(&bearings, &arrivals, &[], 340.0);
        let whole = locate(&m).unwrap();
        let halves = fit(&m).unwrap();
        assert_eq!(halves.at, whole.at);
        assert_eq!(halves.chi2, whole.chi2);
        assert_eq!(halves.dof, whole.dof);
        assert_eq!(halves.emission_time_s, whole.emission_time_s);
        assert_eq!(halves.excluded, whole.excluded);
        assert!(
            !whole.excluded.is_empty(),
            "something is set aside: {whole:?}"
        );
        assert_eq!(halves.finish(&m).unwrap(), whole);
    }

    #[test]
    fn finishing_with_other_measurements_is_refused() {
        let bearings = [
            BearingMeasurement {
                observer: [0.0, 0.0],
                observer_sigma_m: 0.0,
                azimuth_rad: 0.5,
                sigma_rad: 0.02,
                range: None,
            },
            BearingMeasurement {
                observer: [3000.0, 0.0],
                observer_sigma_m: 0.0,
                azimuth_rad: -0.5,
                sigma_rad: 0.02,
                range: None,
            },
        ];
        let m = Measurements::plain(&bearings, &[], &[], 340.0);
        let fitted = fit(&m).unwrap();
        let fewer = Measurements::plain(&bearings[..1], &[], &[], 340.0);
        assert!(fitted.finish(&fewer).is_err());
    }
}
