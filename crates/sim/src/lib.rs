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
//! all lie on it unless the scenario gives heights.

#![cfg_attr(test, allow(clippy::unwrap_used))]

mod generator;
mod scenario;
mod truth;

pub use generator::{Generator, SideAt, SimEvent};
pub use scenario::{AcousticSensor, Hotspot, Post, Scenario, ScenarioError, Uav};
pub use truth::{Place, TruthEvent};

#[cfg(test)]
mod tests;
