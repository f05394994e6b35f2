//! A memo of joint fits of measurements with no prior: the fit is a pure function of the
//! measurements in order, and an observation's measurement never changes, so the observations'
//! numbers are the key. Association tries the same groups again and again while a burst grows (the rounds that
//! did not change, the stragglers a round turned down before); the memo makes each try once.

use crate::estimate::Estimate;
use crate::measure::{JointFix, Measure, joint_fix};
use std::collections::HashMap;
use truce_core::ObservationId;

/// Most fits remembered; the memo starts afresh beyond (it only saves work).
const MAX_REMEMBERED_FITS: usize = 4096;

/// Fits already made, by the observations fitted, in order.
#[derive(Debug, Default)]
pub(super) struct FitMemo {
    fits: HashMap<Vec<ObservationId>, Option<JointFix>>,
}

impl FitMemo {
    /// `joint_fix(measures, prior, temperature_c)`, where `key` names `measures`' observations
    /// in the same order; identical to fitting afresh. Fits with a prior are made afresh, not
    /// remembered (the key does not name the prior).
    pub(super) fn fit(
        &mut self,
        key: Vec<ObservationId>,
        measures: &[&Measure],
        prior: Option<&Estimate>,
        temperature_c: f64,
    ) -> Option<JointFix> {
        debug_assert_eq!(key.len(), measures.len());
        if prior.is_some() {
            return joint_fix(measures, prior, temperature_c);
        }
        if let Some(fix) = self.fits.get(&key) {
            return fix.clone();
        }
        let fix = joint_fix(measures, None, temperature_c);
        if self.fits.len() >= MAX_REMEMBERED_FITS {
            self.fits.clear();
        }
        self.fits.insert(key, fix.clone());
        fix
    }
}
