//! The report's map, an SVG truce draws itself (no tile server): the agreement's zones and
//! lines, the period's incidents with their 95% ellipses, a legend, a scale bar and a north
//! arrow. Longitude and latitude are projected equirectangularly about the map's centre,
//! which keeps distances true to within a fraction of a percent over a few hundred
//! kilometres; the scale bar is computed for the centre.

use crate::Lang;
use crate::coverage::{Class, Coverage, RANGES};
use geo::{Geometry, LineString, Polygon};
use std::fmt::Write as _;
use truce_core::Incident;
use truce_core::agreement::{Agreement, ZoneKind};

/// The drawing's width and height, in SVG units.
const W: f64 = 800.0;
const H: f64 = 560.0;
const MARGIN: f64 = 20.0;
const METRES_PER_DEGREE: f64 = 111_195.0;

/// Maps longitude and latitude into the drawing.
struct Frame {
    lon0: f64,
    lat0: f64,
    cos0: f64,
    scale: f64,
}

impl Frame {
    fn fit(bounds: [f64; 4]) -> Self {
        let [w, s, e, n] = bounds;
        let (lon0, lat0) = ((w + e) / 2.0, (s + n) / 2.0);
        let cos0 = lat0.to_radians().cos();
        let width = ((e - w) * cos0).max(1e-6);
        let height = (n - s).max(1e-6);
        let scale = ((W - 2.0 * MARGIN) / width).min((H - 2.0 * MARGIN) / height);
        Self {
            lon0,
            lat0,
            cos0,
            scale,
        }
    }

    fn xy(&self, lon: f64, lat: f64) -> (f64, f64) {
        (
            W / 2.0 + (lon - self.lon0) * self.cos0 * self.scale,
            H / 2.0 - (lat - self.lat0) * self.scale,
        )
    }

    fn path(&self, points: impl Iterator<Item = (f64, f64)>, close: bool) -> String {
        let mut d = String::new();
        for (n, (lon, lat)) in points.enumerate() {
            let (x, y) = self.xy(lon, lat);
            let _ = write!(d, "{}{x:.1},{y:.1}", if n == 0 { "M" } else { "L" });
        }
        if close {
            d.push('Z');
        }
        d
    }

    fn ring(&self, ring: &LineString<f64>) -> String {
        self.path(ring.0.iter().map(|c| (c.x, c.y)), true)
    }

    fn polygon(&self, p: &Polygon<f64>) -> String {
        let mut d = self.ring(p.exterior());
        for hole in p.interiors() {
            d.push_str(&self.ring(hole));
        }
        d
    }
}

fn zone_style(kind: ZoneKind) -> &'static str {
    match kind {
        ZoneKind::ControlledBy => "fill:#2b6cb0;fill-opacity:0.08;stroke:#2b6cb0;stroke-width:0.8",
        ZoneKind::Buffer => "fill:#d69e2e;fill-opacity:0.15;stroke:#b7791f;stroke-width:0.6",
        ZoneKind::Corridor => "fill:#2f855a;fill-opacity:0.18;stroke:#2f855a;stroke-width:0.6",
        ZoneKind::Exclusion => "fill:#9b2c2c;fill-opacity:0.10;stroke:#9b2c2c;stroke-width:0.8",
        ZoneKind::AreaOfResponsibility => {
            "fill:none;stroke:#6b46c1;stroke-width:0.8;stroke-dasharray:4 3"
        }
        ZoneKind::LineOfContact => "fill:none;stroke:#111;stroke-width:2",
    }
}

/// The colour of a verification status.
fn status_colour(status: &str) -> &'static str {
    match status {
        "jointly_confirmed" => "#1b7f3b",
        "disputed" => "#b3261e",
        "under_review" => "#b26a00",
        "undetermined" => "#6b6b6b",
        _ => "#1d2330",
    }
}

fn bounds(agreement: &Agreement, incidents: &[Incident]) -> [f64; 4] {
    let mut b = [f64::MAX, f64::MAX, f64::MIN, f64::MIN];
    let mut grow = |lon: f64, lat: f64| {
        b = [b[0].min(lon), b[1].min(lat), b[2].max(lon), b[3].max(lat)];
    };
    for z in &agreement.zones {
        grow(z.bounds.min().x, z.bounds.min().y);
        grow(z.bounds.max().x, z.bounds.max().y);
    }
    for i in incidents {
        if let Some(p) = &i.estimate.position {
            grow(p.lon, p.lat);
        }
    }
    if b[0] > b[2] {
        return [-1.0, -1.0, 1.0, 1.0];
    }
    b
}

/// The map as an `<svg>` element.
pub fn svg(
    agreement: &Agreement,
    incidents: &[Incident],
    coverage: &Coverage,
    lang: Lang,
) -> String {
    let frame = Frame::fit(bounds(agreement, incidents));
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {W} {H}\" width=\"100%\" font-family=\"DejaVu Sans, sans-serif\" font-size=\"10\" role=\"img\" aria-label=\"{}\">\n<rect width=\"{W}\" height=\"{H}\" fill=\"#f7f5ef\"/>\n",
        lang.t("map")
    );
    // Areas first, lines over them.
    let order = [
        ZoneKind::ControlledBy,
        ZoneKind::Buffer,
        ZoneKind::Corridor,
        ZoneKind::Exclusion,
        ZoneKind::AreaOfResponsibility,
        ZoneKind::LineOfContact,
    ];
    for kind in order {
        for z in agreement.zones.iter().filter(|z| z.kind == kind) {
            let d = match &z.geometry {
                Geometry::Polygon(p) => frame.polygon(p),
                Geometry::MultiPolygon(mp) => mp.0.iter().map(|p| frame.polygon(p)).collect(),
                Geometry::LineString(l) => frame.path(l.0.iter().map(|c| (c.x, c.y)), false),
                Geometry::MultiLineString(ml) => {
                    ml.0.iter()
                        .map(|l| frame.path(l.0.iter().map(|c| (c.x, c.y)), false))
                        .collect()
                }
                _ => continue,
            };
            let _ = writeln!(
                out,
                "<path d=\"{d}\" style=\"{}\" fill-rule=\"evenodd\"><title>{}</title></path>",
                zone_style(kind),
                crate::html::esc(&z.name)
            );
        }
    }
    // Coverage under the incidents: the hearing range of every place a monitor was present.
    let range = RANGES
        .iter()
        .find(|(c, _)| *c == Class::Explosions)
        .map_or(10_000.0, |(_, r)| *r);
    let radius = range / METRES_PER_DEGREE * frame.scale;
    if !coverage.presences.is_empty() {
        // Solid discs in a translucent group: where ranges overlap the layer shows their union,
        // not a darker stack.
        out.push_str("<g opacity=\"0.16\" style=\"fill:#2f855a;stroke:none\">");
        for p in &coverage.presences {
            let (x, y) = frame.xy(p.lon, p.lat);
            let _ = write!(
                out,
                "<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"{radius:.1}\"><title>{} · {} h</title></circle>",
                p.platform.as_str(),
                p.hours.len()
            );
        }
        out.push_str("</g>\n");
    }
    for i in incidents {
        let e = &i.estimate;
        let Some(p) = &e.position else { continue };
        let colour = status_colour(e.status.as_str());
        if let Some(ellipse) = &e.ellipse_95 {
            let ring = truce_export::ellipse_ring(p, ellipse);
            let d = frame.path(ring.iter().map(|c| (c[0], c[1])), true);
            let _ = writeln!(
                out,
                "<path d=\"{d}\" style=\"fill:{colour};fill-opacity:0.15;stroke:{colour};stroke-width:0.6\"/>"
            );
        }
        let (x, y) = frame.xy(p.lon, p.lat);
        let _ = writeln!(
            out,
            "<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"3\" style=\"fill:{colour};stroke:#fff;stroke-width:0.8\"><title>#{} {}</title></circle>",
            i.id.0,
            lang.kind(e.kind.as_str())
        );
    }
    // Scale bar: a round number of kilometres near a fifth of the width.
    let metres_per_unit = METRES_PER_DEGREE / frame.scale;
    let target_km = (W / 5.0) * metres_per_unit / 1000.0;
    let km = [1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0]
        .into_iter()
        .rev()
        .find(|k| *k <= target_km)
        .unwrap_or(1.0);
    let length = km * 1000.0 / metres_per_unit;
    let (x0, y0) = (MARGIN, H - MARGIN);
    let _ = writeln!(
        out,
        "<path d=\"M{x0:.1},{y0:.1}h{length:.1}\" style=\"stroke:#111;stroke-width:2\"/><text x=\"{x0:.1}\" y=\"{:.1}\">{km} km</text>",
        y0 - 5.0
    );
    // North arrow.
    let _ = writeln!(
        out,
        "<path d=\"M{:.1},{:.1}l6,16h-12z\" style=\"fill:#111\"/><text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">N</text>",
        W - MARGIN - 6.0,
        MARGIN + 12.0,
        W - MARGIN - 6.0,
        MARGIN + 8.0
    );
    // Legend: statuses.
    for (n, status) in [
        "reported",
        "under_review",
        "jointly_confirmed",
        "disputed",
        "undetermined",
    ]
    .into_iter()
    .enumerate()
    {
        let y = MARGIN + 40.0 + n as f64 * 14.0;
        let _ = writeln!(
            out,
            "<circle cx=\"{:.1}\" cy=\"{y:.1}\" r=\"4\" style=\"fill:{}\"/><text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            W - MARGIN - 4.0,
            status_colour(status),
            W - MARGIN - 12.0,
            y + 3.5,
            lang.status(status)
        );
    }
    let y = MARGIN + 40.0 + 5.0 * 14.0;
    let _ = writeln!(
        out,
        "<circle cx=\"{:.1}\" cy=\"{y:.1}\" r=\"5\" style=\"fill:#38a169;fill-opacity:0.25;stroke:#2f855a;stroke-width:0.5\"/><text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
        W - MARGIN - 4.0,
        W - MARGIN - 12.0,
        y + 3.5,
        lang.t("coverage")
    );
    if agreement.doc.illustrative {
        let _ = writeln!(
            out,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" fill=\"#8a6d00\">{}</text>",
            W - MARGIN,
            H - MARGIN,
            lang.t("illustrative")
        );
    }
    out.push_str("</svg>\n");
    out
}
