//! The illustrative demo agreement and scenario, built into the binary.

use truce_core::agreement::{Agreement, AgreementError, parse_toml};

/// The demo agreement's TOML.
pub const AGREEMENT_TOML: &str = include_str!("../demo/agreement.toml");
/// The demo agreement's zones.
pub const ZONES_GEOJSON: &str = include_str!("../demo/zones.geojson");
/// Observation posts and hotspots of the demo's simulated stream.
pub const SCENARIO_TOML: &str = include_str!("../demo/scenario.toml");

/// The demo agreement, parsed.
pub fn agreement() -> Result<Agreement, AgreementError> {
    parse_toml(AGREEMENT_TOML, "demo/agreement.toml", &|path| {
        if path == "zones.geojson" {
            Ok(ZONES_GEOJSON.to_string())
        } else {
            Err(format!("the demo has no file {path:?}"))
        }
    })
}
