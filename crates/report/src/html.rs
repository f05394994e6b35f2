//! The report as one self-contained HTML page: inline styles, the map inline as SVG, tables
//! whose headers repeat when printed, page numbers in the printed footer.

use crate::doc::{Block, Document, Table};
use std::fmt::Write as _;

/// `s` with HTML's special characters escaped.
pub fn esc(s: &str) -> String {
    truce_export::xml_escape(s)
}

/// `s` escaped, its line breaks kept.
fn lines(s: &str) -> String {
    esc(s).replace('\n', "<br>")
}

const STYLE: &str = "
@page { size: A4; margin: 14mm 12mm 16mm;
  @bottom-right { content: var(--page-label) ' ' counter(page) ' ' var(--of-label) ' ' counter(pages); font-size: 8pt; } }
body { font-family: 'DejaVu Sans', 'Noto Sans', sans-serif; font-size: 9.5pt; color: #1d2330; max-width: 190mm; margin: 0 auto; }
h1 { font-size: 15pt; margin: 0 0 2mm; } h2 { font-size: 11.5pt; margin: 6mm 0 2mm; border-bottom: 1px solid #ccc; }
.badge { display: inline-block; background: #f6e05e; color: #5f370e; padding: 1px 6px; font-weight: bold; font-size: 8.5pt; }
table { border-collapse: collapse; width: 100%; margin: 1mm 0 3mm; } thead { display: table-header-group; }
th, td { border: 1px solid #c8c8c8; padding: 1.5px 4px; text-align: left; vertical-align: top; }
th { background: #eef0f3; } td.n, th.n { text-align: right; } tr { break-inside: avoid; }
.meta td { border: none; padding: 0 6px 0 0; } .hash { font-family: 'DejaVu Sans Mono', monospace; font-size: 8pt; word-break: break-all; }
ul { margin: 1mm 0 2mm 5mm; padding: 0; } .map { break-inside: avoid; border: 1px solid #ccc; }
.annex { font-size: 8pt; } .note { color: #555; }
";

fn table(out: &mut String, t: &Table) {
    let class = |i: usize| {
        if t.numeric.get(i) == Some(&true) {
            " class=n"
        } else {
            ""
        }
    };
    out.push_str(if t.small {
        "<table class=annex><thead><tr>"
    } else {
        "<table><thead><tr>"
    });
    for (i, h) in t.head.iter().enumerate() {
        let _ = write!(out, "<th{}>{}</th>", class(i), esc(h));
    }
    out.push_str("</tr></thead><tbody>");
    for row in &t.rows {
        out.push_str("<tr>");
        for (i, cell) in row.iter().enumerate() {
            let _ = write!(out, "<td{}>{}</td>", class(i), lines(cell));
        }
        out.push_str("</tr>");
    }
    if let Some(foot) = &t.foot {
        out.push_str("<tr>");
        for (i, cell) in foot.iter().enumerate() {
            let _ = write!(out, "<th{}>{}</th>", class(i), lines(cell));
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table>");
}

/// The report document as a complete HTML page.
pub fn render(d: &Document) -> String {
    let mut out = String::with_capacity(64 * 1024);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"{}\"><head><meta charset=\"utf-8\"><title>{}</title><style>:root {{ --page-label: '{}'; --of-label: '{}'; }}{STYLE}</style></head><body>\n<h1>{}</h1>",
        d.lang,
        esc(&d.title),
        d.page.0,
        d.page.1,
        esc(&d.title),
    );
    if let Some(label) = &d.illustrative {
        let _ = write!(out, "<p><span class=badge>{}</span></p>", esc(label));
    }
    out.push_str("<table class=meta>");
    for m in &d.meta {
        let hash = m
            .hash
            .as_ref()
            .map(|h| format!(" <span class=hash>{}</span>", esc(h)))
            .unwrap_or_default();
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}{hash}</td></tr>",
            esc(&m.label),
            esc(&m.value)
        );
    }
    out.push_str("</table>\n");
    for block in &d.blocks {
        match block {
            Block::Heading { text } => {
                let _ = write!(out, "<h2>{}</h2>", esc(text));
            }
            Block::Bullets { items } => {
                out.push_str("<ul>");
                for item in items {
                    let _ = write!(out, "<li>{}</li>", esc(item));
                }
                out.push_str("</ul>");
            }
            Block::Para { text } => {
                let _ = write!(out, "<p>{}</p>", esc(text));
            }
            Block::Code { text } => {
                let _ = write!(out, "<pre class=hash>{}</pre>", esc(text));
            }
            Block::Table(t) => table(&mut out, t),
            Block::Map { svg } => {
                let _ = write!(out, "<div class=map>{svg}</div>");
            }
        }
        out.push('\n');
    }
    out.push_str("</body></html>\n");
    out
}

/// The report as a complete HTML page.
pub fn html(r: &crate::Report) -> String {
    render(&crate::doc::document(r))
}
