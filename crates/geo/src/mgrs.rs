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
    // geoconvert takes longitudes in [-180, 180); 180° is the same meridian as -180°.
    let lon = if p.lon == 180.0 { -180.0 } else { p.lon };
    // geoconvert re-derives the latitude band from UTM coordinates and panics exactly on the
    // equator; a nanodegree north is the same 1 m square (northing 0) in band N, as
    // GeographicLib gives.
    let lat = if p.lat == 0.0 { 1e-9 } else { p.lat };
    let ll = geoconvert::LatLon::create(lat, lon).map_err(|e| MgrsError(format!("{e:?}")))?;
    let text = ll.to_mgrs(5).to_string();
    Ok(with_true_band(text, p.lat))
}

/// `text` with its latitude band letter taken from the true latitude, as GeographicLib does
/// (geoconvert estimates it back from the UTM northing, which on a band's lower edge can give
/// the band below). Polar (UPS) references, which start with a letter, have no band.
fn with_true_band(text: String, lat: f64) -> String {
    const BANDS: &[u8; 20] = b"CDEFGHJKLMNPQRSTUVWX";
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 || !(-80.0..=84.0).contains(&lat) || text.len() <= digits {
        return text;
    }
    let index = (((lat + 80.0) / 8.0).floor() as usize).min(BANDS.len() - 1);
    let mut bytes = text.into_bytes();
    bytes[digits] = BANDS[index];
    // Only ASCII letters and digits were touched.
    String::from_utf8(bytes).unwrap_or_default()
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
        // GeographicLib: echo 40.748333 -73.985278 | GeoConvert -m -p 0 → 18TWL8566411315
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
