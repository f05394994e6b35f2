//! KML 2.2 (OGC 07-147r2): a Document with a style per status, a Schema of the incident
//! fields, a folder of incidents (each a Placemark with its time span, its data, and its
//! point and 95% ellipse) and a folder of the agreement's zones. Elements follow the order
//! the OGC schema enforces.

use crate::dataset::Dataset;
use crate::ellipse::{ellipse_ring, round7};
use crate::fields::{Cell, INCIDENT_COLUMNS, Kind, incident_cells, time_text, zones};
use std::fmt::Write as _;

/// Line and fill colours per status, KML's `aabbggrr`.
const STATUS_STYLES: [(&str, &str); 6] = [
    ("reported", "ff30231d"),
    ("under_review", "ff006ab2"),
    ("jointly_confirmed", "ff3b7f1b"),
    ("disputed", "ff1e26b3"),
    ("undetermined", "ff6b6b6b"),
    ("merged", "ff9a9a9a"),
];

/// `s` with XML's (and HTML's) five special characters escaped, and the control characters
/// XML 1.0 cannot carry dropped.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Characters XML 1.0 cannot carry are dropped.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {}
            c => out.push(c),
        }
    }
    out
}

fn coordinates(points: &[[f64; 2]]) -> String {
    points
        .iter()
        .map(|[x, y]| format!("{x},{y}"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn polygon(rings: &[Vec<[f64; 2]>]) -> String {
    let mut out = String::from("<Polygon>");
    for (n, ring) in rings.iter().enumerate() {
        let tag = if n == 0 {
            "outerBoundaryIs"
        } else {
            "innerBoundaryIs"
        };
        let _ = write!(
            out,
            "<{tag}><LinearRing><coordinates>{}</coordinates></LinearRing></{tag}>",
            coordinates(ring)
        );
    }
    out.push_str("</Polygon>");
    out
}

/// A GeoJSON geometry as KML, or `None` for a kind KML has no element for.
fn geometry(g: &geojson::GeometryValue) -> Option<String> {
    let pts = |v: &Vec<geojson::Position>| -> Vec<[f64; 2]> {
        v.iter()
            .filter_map(|p| match p.as_slice() {
                [x, y, ..] => Some([round7(*x), round7(*y)]),
                _ => None,
            })
            .collect()
    };
    Some(match g {
        geojson::GeometryValue::Point { coordinates: p } if p.len() >= 2 => {
            format!(
                "<Point><coordinates>{},{}</coordinates></Point>",
                p[0], p[1]
            )
        }
        geojson::GeometryValue::LineString { coordinates: l } => {
            format!(
                "<LineString><coordinates>{}</coordinates></LineString>",
                coordinates(&pts(l))
            )
        }
        geojson::GeometryValue::Polygon { coordinates: rings } => {
            polygon(&rings.iter().map(pts).collect::<Vec<_>>())
        }
        geojson::GeometryValue::MultiLineString { coordinates: lines } => format!(
            "<MultiGeometry>{}</MultiGeometry>",
            lines
                .iter()
                .map(|l| format!(
                    "<LineString><coordinates>{}</coordinates></LineString>",
                    coordinates(&pts(l))
                ))
                .collect::<String>()
        ),
        geojson::GeometryValue::MultiPolygon { coordinates: polys } => format!(
            "<MultiGeometry>{}</MultiGeometry>",
            polys
                .iter()
                .map(|rings| polygon(&rings.iter().map(pts).collect::<Vec<_>>()))
                .collect::<String>()
        ),
        _ => return None,
    })
}

/// Writes the document to `to`.
pub fn write(data: &Dataset, to: &mut dyn std::io::Write) -> std::io::Result<()> {
    let mut out = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<kml xmlns=\"http://www.opengis.net/kml/2.2\">\n<Document>\n",
    );
    let _ = writeln!(out, "<name>{}</name>", esc(&data.agreement.name));
    let _ = writeln!(
        out,
        "<description>{}Incidents of the joint monitoring center with their 95% ellipses, and the agreement's zones. Record size {}, root {}.</description>",
        if data.agreement.illustrative {
            "ILLUSTRATIVE. "
        } else {
            ""
        },
        data.anchor.size,
        data.anchor.root
    );
    for (status, colour) in STATUS_STYLES {
        let fill = format!("40{}", &colour[2..]);
        let _ = writeln!(
            out,
            "<Style id=\"status-{status}\"><IconStyle><color>{colour}</color></IconStyle><LineStyle><color>{colour}</color><width>1.5</width></LineStyle><PolyStyle><color>{fill}</color></PolyStyle></Style>"
        );
    }
    out.push_str("<Style id=\"zone\"><LineStyle><color>ff2c2c9b</color><width>1.5</width></LineStyle><PolyStyle><color>202c2c9b</color></PolyStyle></Style>\n");
    out.push_str("<Schema name=\"incident\" id=\"incident\">");
    for (name, kind) in INCIDENT_COLUMNS {
        let t = match kind {
            Kind::Integer => "int",
            Kind::Real => "double",
            Kind::Text | Kind::DateTime => "string",
        };
        let _ = write!(out, "<SimpleField type=\"{t}\" name=\"{name}\"/>");
    }
    out.push_str("</Schema>\n<Folder><name>Incidents</name>\n");
    for i in &data.incidents {
        let e = &i.estimate;
        let Some(p) = &e.position else {
            continue;
        };
        let _ = write!(
            out,
            "<Placemark id=\"incident-{id}\"><name>#{id} {kind}</name><description>{desc}</description><TimeSpan><begin>{begin}</begin><end>{end}</end></TimeSpan><styleUrl>#status-{status}</styleUrl><ExtendedData><SchemaData schemaUrl=\"#incident\">",
            id = i.id.0,
            kind = esc(e.kind.as_str()),
            desc = esc(&format!(
                "{} x{}, {}. Attribution: {}. {}",
                e.kind.as_str(),
                e.count,
                e.status.as_str(),
                e.attribution.side,
                e.attribution.reason
            )),
            begin = time_text(e.first_seen),
            end = time_text(e.last_seen),
            status = e.status.as_str(),
        );
        for ((name, _), cell) in INCIDENT_COLUMNS.iter().zip(incident_cells(i, &data.anchor)) {
            let value = match cell {
                Cell::Int(v) => v.to_string(),
                Cell::Real(v) => v.to_string(),
                Cell::Text(s) => esc(&s),
                Cell::Null => continue,
            };
            let _ = write!(out, "<SimpleData name=\"{name}\">{value}</SimpleData>");
        }
        out.push_str("</SchemaData></ExtendedData><MultiGeometry>");
        let _ = write!(
            out,
            "<Point><coordinates>{},{}</coordinates></Point>",
            round7(p.lon),
            round7(p.lat)
        );
        if let Some(ellipse) = &e.ellipse_95 {
            out.push_str(&polygon(&[ellipse_ring(p, ellipse)]));
        }
        out.push_str("</MultiGeometry></Placemark>\n");
        crate::flush_text_if_full(&mut out, to)?;
    }
    out.push_str("</Folder>\n<Folder><name>Zones</name>\n");
    for (id, kind, name, side, g) in zones(data) {
        let Some(shape) = geometry(&g.value) else {
            continue;
        };
        let label = if name.is_empty() { id.clone() } else { name };
        let _ = writeln!(
            out,
            "<Placemark id=\"zone-{}\"><name>{}</name><description>{}</description><styleUrl>#zone</styleUrl>{shape}</Placemark>",
            id.chars()
                .map(|c| if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                    c
                } else {
                    '_'
                })
                .collect::<String>(),
            esc(&label),
            esc(&format!(
                "{kind}{}",
                if side.is_empty() {
                    String::new()
                } else {
                    format!(", side {side}")
                }
            )),
        );
    }
    out.push_str("</Folder>\n</Document>\n</kml>\n");
    to.write_all(out.as_bytes())
}
