//! A ground-truth simulator of field reports: random events around hotspots near the line of
//! contact, the truth of each (time, place, kind, count, whether it is an impact and where the
//! fire came from, the acting side), and what each monitor's observation posts, acoustic
//! sensors, UAVs and patrols would report of it.
//!
//! Noise follows field practice (REFERENCES.md): compass bearings with σ 2–5° and, for some
//! posts, a bias of a few degrees; flash-to-bang distance ranges of about ±(100 m + 8%); acoustic
//! onsets with σ 1–10 ms at the true speed of sound, some reporting the temperature, some
//! arriving late by another path; UAV pose and gimbal noise; missed detections.
//!
//! The world is flat at the ellipsoid (ground height 0): sensors, targets and the UAVs' ground
//! all lie on it unless the scenario gives heights — or `[acoustics]` gives relief, when dense
//! `networks` of sensors stand on hilly terrain and `[fire]` makes every event rounds heard as
//! the world delivers them: heavy-tailed picking error, wind, late paths, echoes, unrelated
//! pulses, misplaced sensors and stated sigmas that are guesses (`fire.rs`).

#![cfg_attr(test, allow(clippy::unwrap_used))]

mod fire;
mod generator;
mod scenario;
mod terrain;
mod truth;

pub use fire::ECHO_DELAY_S;
pub use generator::{Generator, SideAt, SimEvent};
pub use scenario::{
    AcousticSensor, Acoustics, Fire, Hotspot, Network, Post, Scenario, ScenarioError, Uav,
};
pub use terrain::Terrain;
pub use truth::{Place, RoundTruth, TruthEvent};

#[cfg(test)]
mod tests;
