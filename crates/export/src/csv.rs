//! CSV (RFC 4180): one row per located or unlocated incident, its ellipse as WKT.

use crate::dataset::Dataset;
use crate::ellipse::ellipse_ring;
use crate::fields::{Cell, INCIDENT_COLUMNS, incident_cells};

/// One CSV field: quoted when it holds a comma, quote or line break; text a spreadsheet would
/// take for a formula (`=`, `+`, `-`, `@`, tab, carriage return first) gets a leading `'`
/// (OWASP's advice on CSV injection), numbers never do.
pub fn field(cell: &Cell) -> String {
    match cell {
        Cell::Int(v) => v.to_string(),
        Cell::Real(v) => v.to_string(),
        Cell::Null => String::new(),
        Cell::Text(s) => text(s),
    }
}

/// A text field, quoted and defused as [`field`] says.
pub fn text(s: &str) -> String {
    let defused = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_owned()
    };
    if defused.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", defused.replace('"', "\"\""))
    } else {
        defused
    }
}

/// Writes the incidents as CSV with a header row; lines end in CRLF as RFC 4180 says.
pub fn write_incidents(data: &Dataset, to: &mut dyn std::io::Write) -> std::io::Result<()> {
    let mut out = String::new();
    let header: Vec<&str> = INCIDENT_COLUMNS.iter().map(|(n, _)| *n).collect();
    out.push_str(&header.join(","));
    out.push_str(",ellipse_wkt\r\n");
    for i in &data.incidents {
        let cells = incident_cells(i, &data.anchor);
        let row: Vec<String> = cells.iter().map(field).collect();
        out.push_str(&row.join(","));
        out.push(',');
        if let (Some(p), Some(e)) = (&i.estimate.position, &i.estimate.ellipse_95) {
            let ring: Vec<String> = ellipse_ring(p, e)
                .iter()
                .map(|[x, y]| format!("{x} {y}"))
                .collect();
            out.push_str(&text(&format!("POLYGON (({}))", ring.join(", "))));
        }
        out.push_str("\r\n");
        crate::flush_text_if_full(&mut out, to)?;
    }
    to.write_all(out.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_quoted_and_formulas_defused() {
        assert_eq!(text("plain"), "plain");
        assert_eq!(text("a,b"), "\"a,b\"");
        assert_eq!(text("say \"x\""), "\"say \"\"x\"\"\"");
        assert_eq!(text("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(text("-2+3"), "'-2+3");
        assert_eq!(field(&Cell::Real(-2.5)), "-2.5");
    }
}
