//! The agreement applied to an estimate: which zones contain it, which clauses it appears to
//! break, and which side — if any — it can be attributed to.
//!
//! Attribution is deliberately conservative, because a wrong attribution is the worst error
//! this program can make: a side is named only when the whole 95% ellipse lies inside one
//! side's controlled area *and* the event's location is where the act took place (a muzzle
//! flash, shots, movement, a denial of access). Where a round landed (an impact, an airburst, a
//! projectile, damage, a casualty) says nothing about who fired it, so those stay
//! "undetermined" with the controlling side named in the reason.

use crate::estimate::Estimate;
use geo::{Contains, Coord, Intersects, LineString, Point, Polygon, Rect};
use std::sync::Arc;
use truce_core::agreement::{Agreement, Rule, Zone, ZoneKind};
use truce_core::incident::{Attribution, Finding};
use truce_core::{Kind, Subkind, Weapon};
use truce_geo::{LatLon, LocalFrame};

/// Vertices of the polygon that stands for a 95% ellipse in containment tests.
const ELLIPSE_VERTICES: usize = 32;

/// What the agreement says about one estimate.
#[derive(Debug, Clone, PartialEq)]
pub struct Assessment {
    /// Ids of the zones containing the estimate's centre.
    pub zones: Vec<String>,
    /// Clauses the event appears to break.
    pub findings: Vec<Finding>,
    /// The side it is attributed to, or undetermined with the reason.
    pub attribution: Attribution,
}

/// Whether an event's location is where the act was done, or where its effect landed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LocationRole {
    /// The place of the act (firing position, movement, checkpoint denying access).
    Act,
    /// The place of the effect (impact, damage): it does not show who acted.
    Effect,
}

/// The role of the location of an event of `kind` (refined by `subkind`).
pub fn location_role(kind: Kind, subkind: Option<Subkind>) -> LocationRole {
    match (kind, subkind) {
        (_, Some(Subkind::Outgoing)) => LocationRole::Act,
        (_, Some(Subkind::Incoming)) => LocationRole::Effect,
        // A drone flies over the other side's ground and a flare lights the positions it is
        // fired over: neither place shows who launched it.
        (
            Kind::Explosion
            | Kind::Projectile
            | Kind::Damage
            | Kind::Casualty
            | Kind::UavSighting
            | Kind::Flare,
            _,
        ) => LocationRole::Effect,
        (Kind::Other, _) => LocationRole::Effect,
        _ => LocationRole::Act,
    }
}

/// The agreement in the form the engine evaluates.
#[derive(Debug, Clone)]
pub struct Rules {
    agreement: Arc<Agreement>,
}

impl Rules {
    /// Rules of `agreement`.
    pub fn new(agreement: Arc<Agreement>) -> Self {
        Self { agreement }
    }

    /// The agreement.
    pub fn agreement(&self) -> &Arc<Agreement> {
        &self.agreement
    }

    /// The side whose controlled area contains `p`, when exactly one side's does (ground truth
    /// for simulations and evaluation; attribution itself asks for the whole ellipse).
    pub fn side_at(&self, p: LatLon) -> Option<String> {
        let point = Point::new(p.lon, p.lat);
        let mut sides = self
            .agreement
            .zones
            .iter()
            .filter(|z| z.kind == ZoneKind::ControlledBy && zone_contains_point(z, point))
            .filter_map(|z| z.side.clone());
        let first = sides.next()?;
        sides.all(|s| s == first).then_some(first)
    }

    /// Tests an event of `kind` with `weapon` located at `estimate` (or not located) against
    /// every zone and clause. An exclusion clause is broken only where the location is the
    /// weapon's own (the act); an impact inside an exclusion zone shows where a round landed,
    /// not where the weapon stood.
    pub fn assess(
        &self,
        kind: Kind,
        subkind: Option<Subkind>,
        weapon: Option<Weapon>,
        estimate: Option<&Estimate>,
    ) -> Assessment {
        let Some(est) = estimate else {
            return Assessment {
                zones: Vec::new(),
                findings: Vec::new(),
                attribution: Attribution::undetermined(
                    "no position yet: the observations so far do not fix one",
                ),
            };
        };
        let point = Point::new(est.center.lon, est.center.lat);
        let containing: Vec<&Zone> = self
            .agreement
            .zones
            .iter()
            .filter(|z| zone_contains_point(z, point))
            .collect();
        let role = location_role(kind, subkind);
        let findings = self.findings(kind, role, weapon, &containing, est);
        let attribution = self.attribute(kind, subkind, est, &containing);
        Assessment {
            zones: containing.iter().map(|z| z.id.clone()).collect(),
            findings,
            attribution,
        }
    }

    fn findings(
        &self,
        kind: Kind,
        role: LocationRole,
        weapon: Option<Weapon>,
        containing: &[&Zone],
        est: &Estimate,
    ) -> Vec<Finding> {
        let at = format!("{:.5}N {:.5}E", est.center.lat, est.center.lon);
        let mut out = Vec::new();
        for clause in &self.agreement.clauses {
            let (hit, what) = match &clause.rule {
                Rule::Ceasefire { zones } if kind.is_fire() => (
                    self.ceasefire_area(zones, containing),
                    kind.as_str().replace('_', " "),
                ),
                Rule::Exclusion { weapons, zones } => match weapon {
                    Some(w) if weapons.contains(&w) && role == LocationRole::Act => (
                        containing
                            .iter()
                            .find(|z| {
                                if zones.is_empty() {
                                    z.kind == ZoneKind::Exclusion
                                } else {
                                    zones.contains(&z.id)
                                }
                            })
                            .map(|z| Area::Zone(z)),
                        format!("{} ({})", kind.as_str().replace('_', " "), w.as_str()),
                    ),
                    _ => (None, String::new()),
                },
                _ => (None, String::new()),
            };
            let place = match hit {
                None => continue,
                Some(Area::Zone(zone)) => format!("inside zone \"{}\"", zone.name),
                Some(Area::Anywhere) => "within the agreement's area".to_string(),
            };
            out.push(Finding {
                clause_id: clause.id.clone(),
                reason: format!(
                    "{what} estimated at {at} {place}; clause {} ({}) forbids it there",
                    clause.id, clause.title
                ),
            });
        }
        out
    }

    /// Where a ceasefire rule over `zones` applies to the estimate: a listed zone containing it
    /// (with none listed, an area of responsibility), or anywhere when the agreement draws no
    /// area at all; `None` when the estimate lies outside.
    fn ceasefire_area<'a>(&self, zones: &[String], containing: &[&'a Zone]) -> Option<Area<'a>> {
        if !zones.is_empty() {
            return containing
                .iter()
                .find(|z| zones.contains(&z.id))
                .map(|z| Area::Zone(z));
        }
        let has_area = self
            .agreement
            .zones
            .iter()
            .any(|z| z.kind == ZoneKind::AreaOfResponsibility);
        if !has_area {
            return Some(Area::Anywhere);
        }
        containing
            .iter()
            .find(|z| z.kind == ZoneKind::AreaOfResponsibility)
            .map(|z| Area::Zone(z))
    }

    fn attribute(
        &self,
        kind: Kind,
        subkind: Option<Subkind>,
        est: &Estimate,
        containing: &[&Zone],
    ) -> Attribution {
        let controlled: Vec<&&Zone> = containing
            .iter()
            .filter(|z| z.kind == ZoneKind::ControlledBy)
            .collect();
        let Some(zone) = controlled.first() else {
            return Attribution::undetermined("the estimate lies in no side's controlled area");
        };
        let side_id = zone.side.clone().unwrap_or_default();
        let side_name = self
            .agreement
            .side_name(&side_id)
            .unwrap_or(&side_id)
            .to_string();
        if controlled.len() > 1 {
            return Attribution::undetermined(format!(
                "the estimate lies in {} controlled areas at once",
                controlled.len()
            ));
        }
        // Exact polygon tests are the slow path: first compare the distance from the centre to
        // each zone's edge with the ellipse's axes (every point of the ellipse is within
        // `reach` of the centre, and every point within its semi-minor axis is inside it).
        let e95 = est.cov.ellipse_95();
        let reach = polygon_reach_m(e95.semi_major_m);
        let frame = LocalFrame::at(est.center);
        let scale = frame.degrees_per_metre();
        let mut polygon: Option<Polygon<f64>> = None;
        let mut ellipse = || polygon.get_or_insert_with(|| ellipse_polygon(est)).clone();
        // Controlled areas may be drawn overlapping (an enclave on top of a larger area): the
        // ellipse must also stay clear of every other side's area, not only lie in this one.
        let reach_deg = Rect::new(
            Coord {
                x: est.center.lon - reach * scale.1,
                y: est.center.lat - reach * scale.0,
            },
            Coord {
                x: est.center.lon + reach * scale.1,
                y: est.center.lat + reach * scale.0,
            },
        );
        let other_side = self.agreement.zones.iter().find(|z| {
            z.kind == ZoneKind::ControlledBy
                && z.side != zone.side
                && rects_overlap(&z.bounds, &reach_deg)
                && (zone_contains_point(z, Point::new(est.center.lon, est.center.lat))
                    || (boundary_distance_m(&z.geometry, est.center, scale) <= reach
                        && z.geometry.intersects(&ellipse())))
        });
        if let Some(other) = other_side {
            return Attribution::undetermined(format!(
                "the 95% ellipse ({:.0} m semi-major) is not wholly inside \"{}\" ({side_name}): \
                 it reaches into \"{}\", another side's area",
                e95.semi_major_m, zone.name, other.name
            ));
        }
        let edge = boundary_distance_m(&zone.geometry, est.center, scale);
        let inside = if edge > reach {
            true
        } else if edge < e95.semi_minor_m - 1.0 {
            false
        } else {
            zone.geometry.contains(&ellipse())
        };
        if !inside {
            return Attribution::undetermined(format!(
                "the 95% ellipse ({:.0} m semi-major) is not wholly inside \"{}\" ({side_name})",
                e95.semi_major_m, zone.name
            ));
        }
        match location_role(kind, subkind) {
            LocationRole::Act => Attribution {
                side: side_id,
                reason: format!(
                    "the {} took place inside \"{}\", controlled by {side_name}: the whole 95% \
                     ellipse lies inside it",
                    kind.as_str().replace('_', " "),
                    zone.name
                ),
            },
            LocationRole::Effect => Attribution::undetermined(format!(
                "the {} landed inside \"{}\" ({side_name}); where a round lands does not show \
                 who fired it",
                kind.as_str().replace('_', " "),
                zone.name
            )),
        }
    }
}

/// Where a clause applies.
enum Area<'a> {
    /// Inside this zone.
    Zone(&'a Zone),
    /// Anywhere: the agreement draws no area.
    Anywhere,
}

/// How far from the centre the circumscribing ellipse polygon can reach, metres: the semi-major
/// axis grown as in [`ellipse_polygon`], plus 1 m.
fn polygon_reach_m(semi_major_m: f64) -> f64 {
    let grow = 1.0 / (std::f64::consts::PI / ELLIPSE_VERTICES as f64).cos();
    semi_major_m * grow + 2.0 * semi_major_m * semi_major_m / 6.3e6 * grow + 2.0
}

/// Distance in metres from `center` to the nearest edge of `geometry`, in the linear local map
/// at the centre (`scale` = degrees per metre north and east).
fn boundary_distance_m(geometry: &geo::Geometry<f64>, center: LatLon, scale: (f64, f64)) -> f64 {
    let to_m = |c: Coord<f64>| ((c.x - center.lon) / scale.1, (c.y - center.lat) / scale.0);
    let mut best = f64::INFINITY;
    let mut rings: Vec<&LineString<f64>> = Vec::new();
    match geometry {
        geo::Geometry::Polygon(p) => {
            rings.push(p.exterior());
            rings.extend(p.interiors());
        }
        geo::Geometry::MultiPolygon(mp) => {
            for p in &mp.0 {
                rings.push(p.exterior());
                rings.extend(p.interiors());
            }
        }
        geo::Geometry::LineString(l) => rings.push(l),
        geo::Geometry::MultiLineString(ml) => rings.extend(ml.0.iter()),
        _ => return 0.0,
    }
    for line in rings.into_iter().flat_map(|r| r.lines()) {
        let (ax, ay) = to_m(line.start);
        let (bx, by) = to_m(line.end);
        let (dx, dy) = (bx - ax, by - ay);
        let len2 = dx * dx + dy * dy;
        let t = if len2 > 0.0 {
            (-(ax * dx + ay * dy) / len2).clamp(0.0, 1.0)
        } else {
            0.0
        };
        best = best.min((ax + t * dx).hypot(ay + t * dy));
    }
    best
}

fn rects_overlap(a: &Rect<f64>, b: &Rect<f64>) -> bool {
    a.min().x <= b.max().x
        && b.min().x <= a.max().x
        && a.min().y <= b.max().y
        && b.min().y <= a.max().y
}

fn zone_contains_point(zone: &Zone, point: Point<f64>) -> bool {
    let c = point.0;
    let b = &zone.bounds;
    if c.x < b.min().x || c.x > b.max().x || c.y < b.min().y || c.y > b.max().y {
        return false;
    }
    match &zone.geometry {
        geo::Geometry::Polygon(p) => p.contains(&point),
        geo::Geometry::MultiPolygon(mp) => mp.contains(&point),
        // A line has no inside; a point is "in" a line of contact only by lying on it.
        other => other.intersects(&point),
    }
}

/// A polygon that contains the estimate's 95% ellipse, in lon/lat degrees. Its vertices are the
/// ellipse's pushed out by 1/cos(π/n), so the polygon circumscribes the ellipse; they are placed
/// with the linear degrees-per-metre map at the centre, whose error (about d²/R at distance d) is
/// covered by an extra radial margin of 2·d²/R + 1 m, so the polygon still contains the ellipse.
fn ellipse_polygon(est: &Estimate) -> Polygon<f64> {
    let frame = LocalFrame::at(est.center);
    let (dlat, dlon) = frame.degrees_per_metre();
    let grow = 1.0 / (std::f64::consts::PI / ELLIPSE_VERTICES as f64).cos();
    let mut ring: Vec<Coord<f64>> = est
        .cov
        .ellipse_points(ELLIPSE_VERTICES)
        .into_iter()
        .map(|(e, n)| {
            let d = e.hypot(n);
            let margin = if d > 0.0 {
                (2.0 * d * d / 6.3e6 + 1.0) / d
            } else {
                0.0
            };
            let k = grow * (1.0 + margin);
            Coord {
                x: est.center.lon + e * k * dlon,
                y: est.center.lat + n * k * dlat,
            }
        })
        .collect();
    if let Some(first) = ring.first().copied() {
        ring.push(first);
    }
    Polygon::new(LineString(ring), Vec::new())
}

#[cfg(test)]
mod tests;
