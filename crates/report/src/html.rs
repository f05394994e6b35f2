//! The report as one self-contained HTML page: inline styles, the map inline as SVG, tables
//! whose headers repeat when printed, page numbers in the printed footer.

use crate::model::{AnnexRow, AreaRow, Report};
use crate::{Lang, map};
use std::fmt::Write as _;
use truce_core::Timestamp;

/// `s` with HTML's special characters escaped.
pub fn esc(s: &str) -> String {
    truce_export::xml_escape(s)
}

/// `t` as `YYYY-MM-DD HH:MM` (UTC).
fn when(t: Timestamp) -> String {
    let s = t.to_string();
    format!(
        "{} {}",
        s.get(..10).unwrap_or(&s),
        s.get(11..16).unwrap_or("")
    )
}

fn day(t: Timestamp) -> String {
    let s = t.to_string();
    s.get(..10).unwrap_or(&s).to_owned()
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

fn summary_area(lang: Lang, row: &AreaRow) -> String {
    let explosions: u64 = row.explosions.iter().sum();
    match lang {
        Lang::En if row.violations == 0 => format!(
            "In {}, the center recorded no ceasefire violations. In the previous reporting period it recorded {}.",
            esc(&row.name),
            row.previous
        ),
        Lang::En => format!(
            "In {}, the center recorded {} ceasefire violations, including {explosions} explosions. In the previous reporting period it recorded {}.",
            esc(&row.name),
            row.violations,
            row.previous
        ),
        Lang::Ru if row.violations == 0 => format!(
            "В районе «{}» центр не зарегистрировал нарушений режима прекращения огня. В предыдущий отчётный период зарегистрировано: {}.",
            esc(&row.name),
            row.previous
        ),
        Lang::Ru => format!(
            "В районе «{}» центр зарегистрировал нарушений режима прекращения огня: {}, в том числе взрывов: {explosions}. В предыдущий отчётный период: {}.",
            esc(&row.name),
            row.violations,
            row.previous
        ),
    }
}

fn summary_rest(lang: Lang, r: &Report) -> Vec<String> {
    let harm = r
        .incidents
        .iter()
        .filter(|i| {
            matches!(
                i.estimate.kind,
                truce_core::Kind::Damage | truce_core::Kind::Casualty
            )
        })
        .count();
    let disputed = r
        .incidents
        .iter()
        .filter(|i| i.estimate.status == truce_core::incident::Status::Disputed)
        .count();
    let confirmed = r
        .incidents
        .iter()
        .filter(|i| i.estimate.status == truce_core::incident::Status::JointlyConfirmed)
        .count();
    match lang {
        Lang::En => vec![
            format!("Reports of damage or casualties: {harm} incidents."),
            format!(
                "Restrictions of the monitors' movement: {}.",
                r.access.len()
            ),
            format!(
                "Of the period's {} incidents, {confirmed} were jointly confirmed and {disputed} disputed by at least one monitor; {} could not be attributed to a side.",
                r.incidents.len(),
                r.not_attributable
            ),
        ],
        Lang::Ru => vec![
            format!("Сообщения о повреждениях или пострадавших: инцидентов {harm}."),
            format!("Ограничения передвижения наблюдателей: {}.", r.access.len()),
            format!(
                "Из {} инцидентов периода совместно подтверждено {confirmed}, оспорено хотя бы одним наблюдателем {disputed}; не отнесено ни к одной стороне {}.",
                r.incidents.len(),
                r.not_attributable
            ),
        ],
    }
}

fn area_table(out: &mut String, lang: Lang, r: &Report) {
    let _ = write!(
        out,
        "<table><thead><tr><th>{}</th><th class=n>{}</th><th class=n>{} ({}/{}/{})</th><th class=n>{}</th><th class=n>{}</th><th class=n>{}</th><th class=n>{}</th><th class=n>{}</th><th class=n>{}</th></tr></thead><tbody>",
        lang.t("area"),
        lang.t("violations"),
        lang.t("explosions"),
        lang.t("impact"),
        lang.t("airburst"),
        lang.t("undetermined_sub"),
        lang.t("projectiles"),
        lang.t("muzzle_flashes"),
        lang.t("flares"),
        lang.t("bursts_shots"),
        lang.t("previous"),
        lang.t("change"),
    );
    for row in r.areas.iter().chain(std::iter::once(&r.total)) {
        let [a, b, c] = row.explosions;
        let change = row.violations as i64 - row.previous as i64;
        let _ = write!(
            out,
            "<tr><td>{}</td><td class=n>{}</td><td class=n>{} ({a}/{b}/{c})</td><td class=n>{}</td><td class=n>{}</td><td class=n>{}</td><td class=n>{}</td><td class=n>{}</td><td class=n>{change:+}</td></tr>",
            esc(&row.name),
            row.violations,
            a + b + c,
            row.projectiles,
            row.muzzle_flashes,
            row.flares,
            row.bursts_shots,
            row.previous,
        );
    }
    out.push_str("</tbody></table>");
}

fn annex_table(out: &mut String, lang: Lang, rows: &[AnnexRow]) {
    let _ = write!(
        out,
        "<table class=annex><thead><tr><th>#</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>",
        lang.t("time"),
        lang.t("location"),
        lang.t("ellipse"),
        lang.t("kind"),
        lang.t("reports"),
        lang.t("zone"),
        lang.t("side"),
        lang.t("clause"),
        lang.t("status"),
    );
    for a in rows {
        let place = a.place.as_ref().map_or("—".to_owned(), |(mgrs, lat, lon)| {
            format!("{}<br>{lat:.5}, {lon:.5}", esc(mgrs))
        });
        let ellipse = a.ellipse.map_or("—".to_owned(), |(major, minor, az)| {
            format!("{major:.0} × {minor:.0} m, {az:.0}°")
        });
        let time = if a.first == a.last {
            when(a.first)
        } else {
            format!("{} – {}", when(a.first), when(a.last))
        };
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{time}</td><td>{place}</td><td>{ellipse}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            a.id,
            esc(&a.what),
            esc(&a.reports),
            esc(&a.zones),
            esc(&a.side),
            esc(&a.clauses),
            esc(&a.status),
        );
    }
    out.push_str("</tbody></table>");
}

fn caveats(lang: Lang) -> &'static str {
    match lang {
        Lang::En => {
            "<ul>\
<li>Every figure is counted from the shared record by truce, from the incidents first seen in the period. A burst counts as many violations as it had rounds reported; an incident counts as a violation when the agreement's rules find it against a clause.</li>\
<li>Positions are estimates: each has a 95% ellipse. A side is named only when the whole ellipse lies in that side's area; otherwise the incident is not attributable.</li>\
<li>A monitor's verdict is its own, signed with its key. \"Jointly confirmed\" means every monitor confirmed.</li>\
<li>The absence of recorded violations in an area is not the absence of violations: it is bounded by where the monitors' posts, sensors and patrols could see and hear.</li>\
</ul>"
        }
        Lang::Ru => {
            "<ul>\
<li>Все цифры подсчитаны truce по общей записи, по инцидентам, впервые замеченным в отчётный период. Очередь засчитывается как столько нарушений, сколько выстрелов сообщено; инцидент считается нарушением, если правила соглашения относят его к пункту соглашения.</li>\
<li>Местоположения — оценки, у каждой есть эллипс 95%. Сторона указывается, только если весь эллипс лежит в районе этой стороны; иначе инцидент не отнесён.</li>\
<li>Заключение наблюдателя — его собственное, подписанное его ключом. «Подтверждено совместно» означает, что подтвердили все наблюдатели.</li>\
<li>Отсутствие зарегистрированных нарушений в районе не означает отсутствия нарушений: оно ограничено тем, где посты, датчики и патрули наблюдателей могли видеть и слышать.</li>\
</ul>"
        }
    }
}

/// The report as a complete HTML document.
pub fn html(r: &Report) -> String {
    let lang = r.lang;
    let doc = &r.agreement.doc;
    let mut out = String::with_capacity(64 * 1024 + r.annex.len() * 600);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"{}\"><head><meta charset=\"utf-8\"><title>{} {:03}/{}</title><style>:root {{ --page-label: '{}'; --of-label: '{}'; }}{STYLE}</style></head><body>\n",
        lang.code(),
        lang.t("title"),
        r.number.0,
        r.number.1,
        lang.t("page"),
        lang.t("of"),
    );
    let _ = write!(
        out,
        "<h1>{} {:03}/{} — {} {}</h1>",
        lang.t("title"),
        r.number.0,
        r.number.1,
        lang.t("issued"),
        day(r.period.1)
    );
    if doc.illustrative {
        let _ = write!(
            out,
            "<p><span class=badge>{}</span></p>",
            lang.t("illustrative")
        );
    }
    let _ = write!(
        out,
        "<table class=meta><tr><td>{}</td><td>{} → {} ({})</td></tr><tr><td>{}</td><td>{}, {}</td></tr>",
        lang.t("period"),
        when(r.period.0),
        when(r.period.1),
        lang.t("utc"),
        lang.t("center"),
        lang.t("center_name"),
        esc(&doc.name),
    );
    let anchor = match &r.anchor.checkpoint {
        Some((size, root, cosigners)) => format!(
            "{size} {} · {} <span class=hash>{root}</span> · {}",
            lang.t("size"),
            lang.t("root"),
            if cosigners.is_empty() {
                lang.t("not_cosigned").to_owned()
            } else {
                format!("{} {}", lang.t("cosigned"), esc(&cosigners.join(", ")))
            }
        ),
        None => lang.t("no_checkpoint").to_owned(),
    };
    let _ = write!(
        out,
        "<tr><td>{}</td><td>{anchor}</td></tr></table>",
        lang.t("anchor")
    );

    let _ = write!(out, "<h2>{}</h2><ul>", lang.t("summary"));
    for row in &r.areas {
        let _ = write!(out, "<li>{}</li>", summary_area(lang, row));
    }
    for line in summary_rest(lang, r) {
        let _ = write!(out, "<li>{line}</li>");
    }
    out.push_str("</ul>");

    let _ = write!(out, "<h2>{}</h2>", lang.t("by_area"));
    area_table(&mut out, lang, r);

    let _ = write!(
        out,
        "<h2>{}</h2><table><thead><tr><th>{}</th><th>{}</th><th class=n>{}</th><th class=n>{}</th></tr></thead><tbody>",
        lang.t("attribution"),
        lang.t("side"),
        lang.t("clause"),
        lang.t("incidents"),
        lang.t("disputed"),
    );
    for s in &r.sides {
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td class=n>{}</td><td class=n>{}</td></tr>",
            esc(&s.side),
            esc(&s.clause),
            s.incidents,
            s.disputed
        );
    }
    let _ = write!(
        out,
        "<tr><td colspan=2>{} ({})</td><td class=n>{}</td><td></td></tr></tbody></table>",
        lang.t("not_attributable"),
        lang.t("incidents"),
        r.not_attributable
    );

    let _ = write!(
        out,
        "<h2>{}</h2><table><thead><tr><th>{}</th><th class=n>{}</th><th class=n>{}</th><th class=n>{}</th><th class=n>{}</th></tr></thead><tbody>",
        lang.t("verdicts"),
        lang.t("monitor"),
        lang.t("confirm"),
        lang.t("dispute"),
        lang.t("undetermined"),
        lang.t("pending"),
    );
    for (name, [c, d, u, p]) in &r.verdicts {
        let _ = write!(
            out,
            "<tr><td>{}</td><td class=n>{c}</td><td class=n>{d}</td><td class=n>{u}</td><td class=n>{p}</td></tr>",
            esc(name)
        );
    }
    out.push_str("</tbody></table>");

    let _ = write!(out, "<h2>{}</h2>", lang.t("access"));
    if r.access.is_empty() {
        let _ = write!(out, "<p>{}</p>", lang.t("none_recorded"));
    } else {
        annex_table(&mut out, lang, &r.access);
    }

    let _ = write!(
        out,
        "<h2>{} ({} {})</h2><table><thead><tr><th>{}</th><th class=n>{}</th></tr></thead><tbody>",
        lang.t("totals"),
        lang.t("since"),
        when(r.effective),
        lang.t("kind"),
        lang.t("incidents"),
    );
    for (kind, n) in &r.totals.0 {
        let _ = write!(
            out,
            "<tr><td>{}</td><td class=n>{n}</td></tr>",
            lang.kind(kind)
        );
    }
    let _ = write!(
        out,
        "<tr><th>{}</th><th class=n>{}</th></tr></tbody></table>",
        lang.t("violation_incidents"),
        r.totals.1
    );

    let _ = write!(
        out,
        "<h2>{}</h2><div class=map>{}</div>",
        lang.t("map"),
        map::svg(&r.agreement, &r.incidents, lang)
    );

    let _ = write!(out, "<h2>{}</h2>", lang.t("annex"));
    annex_table(&mut out, lang, &r.annex);

    let _ = write!(out, "<h2>{}</h2>{}", lang.t("caveats"), caveats(lang));
    let _ = write!(
        out,
        "<h2>{}</h2><p>{}</p><pre class=hash>truce verify --data DIR\ncurl -s http://CENTER/checkpoint</pre><p class=note>{} {} · {} <span class=hash>{}</span></p>",
        lang.t("verification"),
        match lang {
            Lang::En =>
                "Anyone holding the record (a data folder, or a bundle from `truce ledger export`) can recompute every figure above: `truce verify` re-checks every entry, the Merkle tree and each monitor's cosignatures. The figures were computed from the record as it stood when the report was made, at the size and root below (entries appended while it was being read may be counted too).",
            Lang::Ru =>
                "Любой, у кого есть запись (папка данных или пакет из `truce ledger export`), может пересчитать все приведённые цифры: `truce verify` заново проверяет каждую запись, дерево Меркла и подписи наблюдателей. Цифры подсчитаны по записи в момент составления отчёта, с указанными ниже размером и корнем (записи, добавленные во время чтения, тоже могут быть учтены).",
        },
        r.anchor.size,
        lang.t("size"),
        lang.t("root"),
        r.anchor.root,
    );
    out.push_str("</body></html>\n");
    out
}
