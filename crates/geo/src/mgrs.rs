//! MGRS references, through `geoconvert` (a port of GeographicLib's GeoConvert).

use crate::LatLon;

/// Why a point or text could not be converted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MgrsError(pub String);

impl std::fmt::Display for MgrsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for MgrsError {}

/// The MGRS reference of `p` at 1 m precision (`38TNK1234567890`), without spaces.
pub fn to_mgrs(p: LatLon) -> Result<String, MgrsError> {
    let ll = geoconvert::LatLon::create(p.lat, p.lon).map_err(|e| MgrsError(format!("{e:?}")))?;
    Ok(ll.to_mgrs(5).to_string())
}

/// The centre of the MGRS square named by `text` (spaces allowed).
pub fn from_mgrs(text: &str) -> Result<LatLon, MgrsError> {
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let m = geoconvert::Mgrs::parse_str(&compact).map_err(|e| MgrsError(format!("{e:?}")))?;
    let ll = m.to_latlon();
    Ok(LatLon::new(ll.latitude(), ll.longitude()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_point_and_round_trip() {
        // GeographicLib: echo 40.748333 -73.985278 | GeoConvert -m -p 0 → 18TWL8561011663
        // (the geoconvert crate's README point; 1 m precision).
        let m = to_mgrs(LatLon::new(40.748333, -73.985278)).unwrap();
        assert!(m.starts_with("18TWL"), "{m}");
        let back = from_mgrs(&m).unwrap();
        assert!((back.lat - 40.748333).abs() < 2e-5 && (back.lon + 73.985278).abs() < 2e-5);
    }

    #[test]
    fn refuses_nonsense() {
        assert!(from_mgrs("not a grid").is_err());
        assert!(to_mgrs(LatLon::new(95.0, 0.0)).is_err());
    }
}
