//! Targets seen from a UAV: the camera ray from the aircraft's pose and gimbal angles,
//! intersected with the ground (the WGS84 ellipsoid raised by the ground height) or followed
//! for a measured slant range, with the pose noise propagated to a ground covariance.

use crate::LocateError;
use truce_geo::{Cov2, LatLon, LocalFrame, WGS84_A, WGS84_F, ecef_to_geodetic, geodetic_to_ecef};

/// An aircraft's pose and its camera's pointing when it saw the target.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct UavPose {
    /// Aircraft latitude, degrees (WGS84).
    pub lat: f64,
    /// Aircraft longitude, degrees (WGS84).
    pub lon: f64,
    /// Aircraft height above the WGS84 ellipsoid, metres.
    pub alt_hae_m: f64,
    /// Heading of the nose, degrees clockwise from true north.
    pub yaw_deg: f64,
    /// Nose-up pitch, degrees.
    pub pitch_deg: f64,
    /// Right-wing-down roll, degrees.
    pub roll_deg: f64,
    /// Gimbal pan from the nose, degrees, positive to the right.
    pub pan_deg: f64,
    /// Gimbal tilt from the body's horizontal plane, degrees, up positive (−90 straight down).
    pub tilt_deg: f64,
    /// Laser range to the target along the ray, metres, when measured; otherwise the ray is
    /// intersected with the ground.
    pub slant_range_m: Option<f64>,
    /// Ground height at the target, metres above the ellipsoid.
    pub ground_alt_m: f64,
}

/// One-sigma errors of a UAV pose, propagated by [`uav_target`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct UavNoise {
    /// Aircraft position error in each of east, north and up, metres.
    pub position_sigma_m: f64,
    /// Error of each of yaw, pitch and roll, degrees.
    pub attitude_sigma_deg: f64,
    /// Error of each of pan and tilt, degrees.
    pub gimbal_sigma_deg: f64,
    /// Slant range error, metres (used only with a slant range).
    pub range_sigma_m: f64,
}

impl Default for UavNoise {
    /// A small tactical UAV with GNSS and a MEMS attitude unit: 5 m, 1°, 0.5°, 5 m.
    fn default() -> Self {
        Self {
            position_sigma_m: 5.0,
            attitude_sigma_deg: 1.0,
            gimbal_sigma_deg: 0.5,
            range_sigma_m: 5.0,
        }
    }
}

/// The 9 noisy inputs, in the order of the Jacobian's columns: east, north, up offsets of the
/// aircraft (m), yaw, pitch, roll, pan, tilt (rad), slant range offset (m).
type Inputs = [f64; 9];

/// The ground point seen by the camera and its east-north covariance (m², in the local frame at
/// that point).
///
/// The ray leaves the camera at pan/tilt in the body frame (x forward, y right, z down), is
/// rotated to north-east-down by yaw, pitch, roll (aerospace Z-Y-X order), then to Earth-centred
/// coordinates at the aircraft; it is followed for the slant range when one is given, otherwise
/// to its first crossing of the ellipsoid raised by `ground_alt_m` (semi-axes a + h, b + h). The
/// covariance propagates [`UavNoise`] through a central-difference Jacobian over the aircraft
/// position (3), attitude (3), gimbal (2) and range (1).
///
/// Errors: non-finite or out-of-range inputs, an aircraft not above the ground, a ray at or
/// above the horizon or one that misses the ground.
pub fn uav_target(pose: &UavPose, noise: &UavNoise) -> Result<(LatLon, Cov2), LocateError> {
    validate(pose, noise)?;
    let nominal = project(pose, &[0.0; 9])?;
    let (target, _) = ecef_to_geodetic(nominal);
    let frame = LocalFrame::at(target);
    let en = |x: [f64; 3]| {
        let (p, h) = ecef_to_geodetic(x);
        let enu = frame.to_enu(p, h);
        [enu[0], enu[1]]
    };
    let (pos, att, gim) = (
        noise.position_sigma_m,
        noise.attitude_sigma_deg.to_radians(),
        noise.gimbal_sigma_deg.to_radians(),
    );
    let range_sigma = if pose.slant_range_m.is_some() {
        noise.range_sigma_m
    } else {
        0.0
    };
    let sigmas = [pos, pos, pos, att, att, att, gim, gim, range_sigma];
    // Steps small enough for linearity yet far above the conversions' round-off.
    let steps = [0.1, 0.1, 0.1, 1e-5, 1e-5, 1e-5, 1e-5, 1e-5, 0.1];
    let mut cov = Cov2 {
        ee: 0.0,
        en: 0.0,
        nn: 0.0,
    };
    for k in 0..9 {
        if sigmas[k] == 0.0 {
            continue;
        }
        let mut d = [0.0; 9];
        d[k] = steps[k];
        let plus = en(project(pose, &d)?);
        d[k] = -steps[k];
        let minus = en(project(pose, &d)?);
        let j = [
            (plus[0] - minus[0]) / (2.0 * steps[k]),
            (plus[1] - minus[1]) / (2.0 * steps[k]),
        ];
        let v = sigmas[k] * sigmas[k];
        cov.ee += j[0] * j[0] * v;
        cov.en += j[0] * j[1] * v;
        cov.nn += j[1] * j[1] * v;
    }
    Ok((target, cov))
}

fn invalid(what: &str, value: f64, why: &'static str) -> LocateError {
    LocateError::Invalid {
        what: what.to_owned(),
        value,
        why,
    }
}

fn validate(pose: &UavPose, noise: &UavNoise) -> Result<(), LocateError> {
    let finite = [
        ("lon", pose.lon),
        ("yaw_deg", pose.yaw_deg),
        ("roll_deg", pose.roll_deg),
        ("pan_deg", pose.pan_deg),
        ("ground_alt_m", pose.ground_alt_m),
    ];
    for (what, v) in finite {
        if !v.is_finite() {
            return Err(invalid(what, v, "must be finite"));
        }
    }
    if pose.lat.is_nan() || pose.lat.abs() >= 90.0 {
        return Err(invalid(
            "lat",
            pose.lat,
            "must be strictly between -90 and 90 degrees",
        ));
    }
    for (what, v) in [("pitch_deg", pose.pitch_deg), ("tilt_deg", pose.tilt_deg)] {
        if v.is_nan() || v.abs() > 90.0 {
            return Err(invalid(what, v, "must be between -90 and 90 degrees"));
        }
    }
    if !(pose.alt_hae_m.is_finite() && pose.alt_hae_m > pose.ground_alt_m) {
        return Err(invalid(
            "alt_hae_m",
            pose.alt_hae_m,
            "the aircraft must be above the ground height (ground_alt_m)",
        ));
    }
    if pose.alt_hae_m.abs() > 1e6 || pose.ground_alt_m.abs() > 1e5 {
        return Err(invalid(
            "alt_hae_m",
            pose.alt_hae_m,
            "heights must be within 1000 km (ground within 100 km) of the ellipsoid",
        ));
    }
    if let Some(r) = pose.slant_range_m
        && !(r > 0.0 && r.is_finite())
    {
        return Err(invalid("slant_range_m", r, "must be positive and finite"));
    }
    for (what, v) in [
        ("position_sigma_m", noise.position_sigma_m),
        ("attitude_sigma_deg", noise.attitude_sigma_deg),
        ("gimbal_sigma_deg", noise.gimbal_sigma_deg),
        ("range_sigma_m", noise.range_sigma_m),
    ] {
        if !(v >= 0.0 && v.is_finite()) {
            return Err(invalid(what, v, "must be zero or positive and finite"));
        }
    }
    Ok(())
}

/// East, north, up unit vectors of the frame at geodetic `lat`, `lon` (radians), in ECEF.
fn enu_axes(lat: f64, lon: f64) -> [[f64; 3]; 3] {
    let (sl, cl, so, co) = (lat.sin(), lat.cos(), lon.sin(), lon.cos());
    [
        [-so, co, 0.0],
        [-sl * co, -sl * so, cl],
        [cl * co, cl * so, sl],
    ]
}

/// The ECEF point the camera sees with the inputs perturbed by `d`.
fn project(pose: &UavPose, d: &Inputs) -> Result<[f64; 3], LocateError> {
    let (lat, lon) = (pose.lat.to_radians(), pose.lon.to_radians());
    let axes = enu_axes(lat, lon);
    let centre = geodetic_to_ecef(LatLon::new(pose.lat, pose.lon), pose.alt_hae_m);
    let offset = [d[0], d[1], d[2]];
    let aircraft: [f64; 3] =
        std::array::from_fn(|k| centre[k] + (0..3).map(|i| axes[i][k] * offset[i]).sum::<f64>());

    let yaw = pose.yaw_deg.to_radians() + d[3];
    let pitch = pose.pitch_deg.to_radians() + d[4];
    let roll = pose.roll_deg.to_radians() + d[5];
    let pan = pose.pan_deg.to_radians() + d[6];
    let tilt = pose.tilt_deg.to_radians() + d[7];
    // Camera boresight in the body frame (x forward, y right, z down).
    let body = [tilt.cos() * pan.cos(), tilt.cos() * pan.sin(), -tilt.sin()];
    let (sy, cy) = yaw.sin_cos();
    let (sp, cp) = pitch.sin_cos();
    let (sr, cr) = roll.sin_cos();
    let r = [
        [cy * cp, cy * sp * sr - sy * cr, cy * sp * cr + sy * sr],
        [sy * cp, sy * sp * sr + cy * cr, sy * sp * cr - cy * sr],
        [-sp, cp * sr, cp * cr],
    ];
    let ned: [f64; 3] = std::array::from_fn(|i| (0..3).map(|j| r[i][j] * body[j]).sum());
    let enu = [ned[1], ned[0], -ned[2]];
    let ray: [f64; 3] = std::array::from_fn(|k| (0..3).map(|i| axes[i][k] * enu[i]).sum());

    if let Some(range) = pose.slant_range_m {
        let range = range + d[8];
        return Ok(std::array::from_fn(|k| aircraft[k] + range * ray[k]));
    }
    let elevation_deg = enu[2].clamp(-1.0, 1.0).asin().to_degrees();
    let misses = || LocateError::RayMissesGround {
        elevation_deg,
        ground_alt_m: pose.ground_alt_m,
    };
    if enu[2] >= 0.0 {
        return Err(misses());
    }
    let a = WGS84_A + pose.ground_alt_m;
    let b = WGS84_A * (1.0 - WGS84_F) + pose.ground_alt_m;
    let (a2, b2) = (a * a, b * b);
    // |P + tD| on the raised ellipsoid: α t² + 2β t + γ = 0.
    let alpha = (ray[0] * ray[0] + ray[1] * ray[1]) / a2 + ray[2] * ray[2] / b2;
    let beta = (aircraft[0] * ray[0] + aircraft[1] * ray[1]) / a2 + aircraft[2] * ray[2] / b2;
    let gamma = (aircraft[0] * aircraft[0] + aircraft[1] * aircraft[1]) / a2
        + aircraft[2] * aircraft[2] / b2
        - 1.0;
    let disc = beta * beta - alpha * gamma;
    if disc.is_nan() || disc < 0.0 {
        return Err(misses());
    }
    // The nearer root, in a form free of cancellation: t = γ / (−β + √disc) when β < 0.
    let q = -beta + disc.sqrt();
    let t = if q > 0.0 { gamma / q } else { f64::NAN };
    if !(t > 0.0 && t.is_finite()) {
        return Err(misses());
    }
    Ok(std::array::from_fn(|k| aircraft[k] + t * ray[k]))
}
