//! The report as a document: headings, bullets, tables, paragraphs and the map, with every
//! word already in the report's language and every number already formatted. The HTML page
//! ([`crate::html`]) and the PDF ([`crate::pdf`]) are two renderings of this one document,
//! so they cannot say different things.

use crate::model::{AnnexRow, AreaRow, Report};
use crate::{Lang, map};
use serde::Serialize;
use truce_core::Timestamp;

/// A complete report document.
#[derive(Debug, Clone, Serialize)]
pub struct Document {
    /// The language code, `en` or `ru`.
    pub lang: &'static str,
    /// The title line: "Daily report 012/2026 — issued on 2026-11-20".
    pub title: String,
    /// The label an illustrative agreement carries on every page, if it is one.
    pub illustrative: Option<String>,
    /// Header rows: label, value, and a hash shown in a fixed-width face after the value.
    pub meta: Vec<Meta>,
    /// The body, in order.
    pub blocks: Vec<Block>,
    /// The words of the page footer: "Page", "of".
    pub page: (&'static str, &'static str),
    /// The footer's anchor: the record's size and root, so each printed page names it.
    pub footer: String,
    /// The report's identity, stable for one record and request (the PDF's document id).
    pub ident: String,
    /// When the period ends (RFC 3339, UTC): the document's date, never the clock's.
    pub date: String,
}

/// One header row.
#[derive(Debug, Clone, Serialize)]
pub struct Meta {
    /// What the row states.
    pub label: String,
    /// Its value.
    pub value: String,
    /// A hash printed after the value in a fixed-width face, if any.
    pub hash: Option<String>,
}

/// A block of the body.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Block {
    /// A section heading.
    Heading {
        /// Its text.
        text: String,
    },
    /// A bulleted list.
    Bullets {
        /// One item per bullet.
        items: Vec<String>,
    },
    /// A paragraph.
    Para {
        /// Its text.
        text: String,
    },
    /// Commands or hashes in a fixed-width face, line by line.
    Code {
        /// The lines.
        text: String,
    },
    /// A table whose header repeats on every page it spans.
    Table(Table),
    /// The map of the zones and the period's incidents (SVG).
    Map {
        /// The drawing.
        svg: String,
    },
}

/// A table: header cells, rows of cells (a cell's lines are separated by `\n`), an optional
/// closing row set in bold, and whether it is set small (the annex).
#[derive(Debug, Clone, Serialize)]
pub struct Table {
    /// Header cells.
    pub head: Vec<String>,
    /// Per column: true when its cells are numbers (set right-aligned).
    pub numeric: Vec<bool>,
    /// Relative column widths.
    pub widths: Vec<u32>,
    /// The rows.
    pub rows: Vec<Vec<String>>,
    /// A closing row (totals), if any.
    pub foot: Option<Vec<String>>,
    /// Set in a smaller size.
    pub small: bool,
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

/// A share in thousandths as a whole percentage ("<1%" for a little above nothing).
fn pct(permille: u32) -> String {
    match permille {
        0 => "0%".into(),
        1..=9 => "<1%".into(),
        p => format!("{}%", (p + 5) / 10),
    }
}

fn summary_area(lang: Lang, row: &AreaRow) -> String {
    let explosions: u64 = row.explosions.iter().sum();
    let name = &row.name;
    let prev = row.previous;
    // Rows outside every area have no surface to cover: no coverage is claimed for them.
    let covered = row.covered_permille.map(|[x, y]| (pct(x), pct(y)));
    match (lang, row.violations, covered) {
        (Lang::En, 0, Some((loud, small))) => format!(
            "In {name}, the center recorded no ceasefire violations; the monitors' recorded presence covered {loud} of the area and period for explosions and {small} for small-arms fire. In the previous reporting period it recorded {prev}."
        ),
        (Lang::En, 0, None) => format!(
            "{name}: the center recorded no ceasefire violations. In the previous reporting period it recorded {prev}."
        ),
        (Lang::En, n, Some((loud, small))) => format!(
            "In {name}, the center recorded {n} ceasefire violations, including {explosions} explosions (covered: {loud} of the area and period for explosions, {small} for small-arms fire). In the previous reporting period it recorded {prev}."
        ),
        (Lang::En, n, None) => format!(
            "{name}: the center recorded {n} ceasefire violations, including {explosions} explosions. In the previous reporting period it recorded {prev}."
        ),
        (Lang::Ru, 0, Some((loud, small))) => format!(
            "В районе «{name}» центр не зарегистрировал нарушений режима прекращения огня; зарегистрированное присутствие наблюдателей охватывало {loud} площади и времени периода для взрывов и {small} для стрелкового оружия. В предыдущий отчётный период зарегистрировано: {prev}."
        ),
        (Lang::Ru, 0, None) => format!(
            "«{name}»: центр не зарегистрировал нарушений режима прекращения огня. В предыдущий отчётный период зарегистрировано: {prev}."
        ),
        (Lang::Ru, n, Some((loud, small))) => format!(
            "В районе «{name}» центр зарегистрировал нарушений режима прекращения огня: {n}, в том числе взрывов: {explosions} (охват: {loud} площади и времени периода для взрывов, {small} для стрелкового оружия). В предыдущий отчётный период: {prev}."
        ),
        (Lang::Ru, n, None) => format!(
            "«{name}»: центр зарегистрировал нарушений режима прекращения огня: {n}, в том числе взрывов: {explosions}. В предыдущий отчётный период: {prev}."
        ),
    }
}

fn summary_rest(lang: Lang, r: &Report) -> Vec<String> {
    use truce_core::incident::Status;
    let count =
        |f: &dyn Fn(&truce_core::Incident) -> bool| r.incidents.iter().filter(|i| f(i)).count();
    let harm = count(&|i| {
        matches!(
            i.estimate.kind,
            truce_core::Kind::Damage | truce_core::Kind::Casualty
        )
    });
    let disputed = count(&|i| i.estimate.status == Status::Disputed);
    let confirmed = count(&|i| i.estimate.status == Status::JointlyConfirmed);
    let (n, access, unattributed) = (r.incidents.len(), r.access.len(), r.not_attributable);
    match lang {
        Lang::En => vec![
            format!("Reports of damage or casualties: {harm} incidents."),
            format!("Restrictions of the monitors' movement: {access}."),
            format!(
                "Of the period's {n} incidents, {confirmed} were jointly confirmed and {disputed} disputed by at least one monitor; {unattributed} could not be attributed to a side."
            ),
        ],
        Lang::Ru => vec![
            format!("Сообщения о повреждениях или пострадавших: инцидентов {harm}."),
            format!("Ограничения передвижения наблюдателей: {access}."),
            format!(
                "Из {n} инцидентов периода совместно подтверждено {confirmed}, оспорено хотя бы одним наблюдателем {disputed}; не отнесено ни к одной стороне {unattributed}."
            ),
        ],
    }
}

fn area_table(lang: Lang, r: &Report) -> Table {
    let row = |a: &AreaRow| {
        let [x, y, z] = a.explosions;
        vec![
            a.name.clone(),
            a.violations.to_string(),
            format!("{} ({x}/{y}/{z})", x + y + z),
            a.projectiles.to_string(),
            a.muzzle_flashes.to_string(),
            a.flares.to_string(),
            a.bursts_shots.to_string(),
            a.previous.to_string(),
            format!("{:+}", a.violations as i64 - a.previous as i64),
            a.covered_permille.map_or("—".to_owned(), |[x, y]| {
                format!("{} / {}", pct(x), pct(y))
            }),
        ]
    };
    Table {
        head: vec![
            lang.t("area").into(),
            lang.t("violations").into(),
            format!(
                "{} ({}/{}/{})",
                lang.t("explosions"),
                lang.t("impact"),
                lang.t("airburst"),
                lang.t("undetermined_sub")
            ),
            lang.t("projectiles").into(),
            lang.t("muzzle_flashes").into(),
            lang.t("flares").into(),
            lang.t("bursts_shots").into(),
            lang.t("previous").into(),
            lang.t("change").into(),
            lang.t("covered").into(),
        ],
        numeric: vec![false, true, true, true, true, true, true, true, true, true],
        widths: vec![5, 3, 4, 3, 3, 2, 3, 3, 2, 3],
        rows: r.areas.iter().map(row).collect(),
        foot: Some(row(&r.total)),
        small: false,
    }
}

fn annex_table(lang: Lang, rows: &[AnnexRow]) -> Table {
    let row = |a: &AnnexRow| {
        let place = a.place.as_ref().map_or("—".to_owned(), |(mgrs, lat, lon)| {
            format!("{mgrs}\n{lat:.5}, {lon:.5}")
        });
        let ellipse = a.ellipse.map_or("—".to_owned(), |(major, minor, az)| {
            format!("{major:.0} × {minor:.0} m, {az:.0}°")
        });
        let time = if a.first == a.last {
            when(a.first)
        } else {
            format!("{} –\n{}", when(a.first), when(a.last))
        };
        vec![
            a.id.to_string(),
            time,
            place,
            ellipse,
            a.what.clone(),
            a.reports.clone(),
            a.zones.clone(),
            a.side.clone(),
            a.clauses.clone(),
            a.status.clone(),
        ]
    };
    Table {
        head: [
            "#", "time", "location", "ellipse", "kind", "reports", "zone", "side", "clause",
            "status",
        ]
        .iter()
        .map(|k| {
            if *k == "#" {
                "#".into()
            } else {
                lang.t(k).into()
            }
        })
        .collect(),
        numeric: vec![
            true, false, false, false, false, false, false, false, false, false,
        ],
        widths: vec![2, 5, 6, 4, 5, 4, 8, 3, 3, 4],
        rows: rows.iter().map(row).collect(),
        foot: None,
        small: true,
    }
}

fn caveats(lang: Lang) -> Vec<String> {
    let lines: [&str; 4] = match lang {
        Lang::En => [
            "Every figure is counted from the shared record by truce, from the incidents first seen in the period. A burst counts as many violations as it had rounds reported; an incident counts as a violation when the agreement's rules find it against a clause.",
            "Positions are estimates: each has a 95% ellipse. A side is named only when the whole ellipse lies in that side's area; otherwise the incident is not attributable.",
            "A monitor's verdict is its own, signed with its key. \"Jointly confirmed\" means every monitor confirmed.",
            "The absence of recorded violations in an area is not the absence of violations: it is bounded by where the monitors' posts, sensors and patrols could see and hear. Coverage is counted from the record alone: each hour in which a post, sensor, UAV or patrol sent a bearing, a sound arrival, a UAV sighting or a track point counts it as present at that place for that hour, hearing explosions within 10 km and small-arms fire within 2 km (position reports give the event's place, not the reporter's, and do not count). A post that reported nothing in an hour does not count for it, so coverage is a lower bound. The map shades the 10 km range of every place a monitor was present.",
        ],
        Lang::Ru => [
            "Все цифры подсчитаны truce по общей записи, по инцидентам, впервые замеченным в отчётный период. Очередь засчитывается как столько нарушений, сколько выстрелов сообщено; инцидент считается нарушением, если правила соглашения относят его к пункту соглашения.",
            "Местоположения — оценки, у каждой есть эллипс 95%. Сторона указывается, только если весь эллипс лежит в районе этой стороны; иначе инцидент не отнесён.",
            "Заключение наблюдателя — его собственное, подписанное его ключом. «Подтверждено совместно» означает, что подтвердили все наблюдатели.",
            "Отсутствие зарегистрированных нарушений в районе не означает отсутствия нарушений: оно ограничено тем, где посты, датчики и патрули наблюдателей могли видеть и слышать. Охват подсчитан только по записи: каждый час, в который пост, датчик, БПЛА или патруль передал пеленг, время прихода звука, наблюдение с БПЛА или точку маршрута, он считается присутствующим в этом месте в этот час и слышащим взрывы в пределах 10 км, а стрелковое оружие — в пределах 2 км (сообщения о месте события указывают место события, а не наблюдателя, и не учитываются). Пост, ничего не сообщивший за час, за этот час не учитывается, поэтому охват — оценка снизу. На карте заштрихован радиус 10 км вокруг каждого места присутствия наблюдателей.",
        ],
    };
    lines.iter().map(|s| (*s).to_owned()).collect()
}

fn verification(lang: Lang) -> &'static str {
    match lang {
        Lang::En => {
            "Anyone holding the record (a data folder, or a bundle from `truce ledger export`) can recompute every figure above: `truce verify` re-checks every entry, the Merkle tree and each monitor's cosignatures, and `truce report verify` finds the entry that issued a given file and makes the report again from the record as it stood then, byte for byte. The figures were computed from the record as it stood when the report was made, at the size and root below (entries appended while it was being read may be counted too)."
        }
        Lang::Ru => {
            "Любой, у кого есть запись (папка данных или пакет из `truce ledger export`), может пересчитать все приведённые цифры: `truce verify` заново проверяет каждую запись, дерево Меркла и подписи наблюдателей, а `truce report verify` находит запись, которой был выпущен данный файл, и заново составляет отчёт по записи в том виде, в каком она была тогда, побайтно. Цифры подсчитаны по записи в момент составления отчёта, с указанными ниже размером и корнем (записи, добавленные во время чтения, тоже могут быть учтены)."
        }
    }
}

/// The report as a document in its language.
pub fn document(r: &Report) -> Document {
    let lang = r.lang;
    let doc = &r.agreement.doc;
    let mut blocks = Vec::new();
    let heading = |key: &'static str| Block::Heading {
        text: lang.t(key).into(),
    };

    blocks.push(heading("summary"));
    let mut items: Vec<String> = r.areas.iter().map(|a| summary_area(lang, a)).collect();
    items.extend(summary_rest(lang, r));
    blocks.push(Block::Bullets { items });

    blocks.push(heading("by_area"));
    blocks.push(Block::Table(area_table(lang, r)));

    blocks.push(heading("attribution"));
    blocks.push(Block::Table(Table {
        head: vec![
            lang.t("side").into(),
            lang.t("clause").into(),
            lang.t("incidents").into(),
            lang.t("disputed").into(),
        ],
        numeric: vec![false, false, true, true],
        widths: vec![4, 4, 2, 2],
        rows: r
            .sides
            .iter()
            .map(|s| {
                vec![
                    s.side.clone(),
                    s.clause.clone(),
                    s.incidents.to_string(),
                    s.disputed.to_string(),
                ]
            })
            .collect(),
        foot: Some(vec![
            lang.t("not_attributable").into(),
            String::new(),
            r.not_attributable.to_string(),
            String::new(),
        ]),
        small: false,
    }));

    blocks.push(heading("verdicts"));
    blocks.push(Block::Table(Table {
        head: ["monitor", "confirm", "dispute", "undetermined", "pending"]
            .iter()
            .map(|k| lang.t(k).into())
            .collect(),
        numeric: vec![false, true, true, true, true],
        widths: vec![4, 2, 2, 2, 2],
        rows: r
            .verdicts
            .iter()
            .map(|(name, counts)| {
                std::iter::once(name.clone())
                    .chain(counts.iter().map(u64::to_string))
                    .collect()
            })
            .collect(),
        foot: None,
        small: false,
    }));

    blocks.push(heading("access"));
    blocks.push(if r.access.is_empty() {
        Block::Para {
            text: lang.t("none_recorded").into(),
        }
    } else {
        Block::Table(annex_table(lang, &r.access))
    });

    blocks.push(Block::Heading {
        text: format!(
            "{} ({} {})",
            lang.t("totals"),
            lang.t("since"),
            when(r.effective)
        ),
    });
    blocks.push(Block::Table(Table {
        head: vec![lang.t("kind").into(), lang.t("incidents").into()],
        numeric: vec![false, true],
        widths: vec![6, 2],
        rows: r
            .totals
            .0
            .iter()
            .map(|(kind, n)| vec![lang.kind(kind).into(), n.to_string()])
            .collect(),
        foot: Some(vec![
            lang.t("violation_incidents").into(),
            r.totals.1.to_string(),
        ]),
        small: false,
    }));

    blocks.push(heading("map"));
    blocks.push(Block::Map {
        svg: map::svg(&r.agreement, &r.incidents, &r.coverage, lang),
    });

    blocks.push(heading("annex"));
    blocks.push(Block::Table(annex_table(lang, &r.annex)));

    blocks.push(heading("caveats"));
    blocks.push(Block::Bullets {
        items: caveats(lang),
    });

    blocks.push(heading("verification"));
    blocks.push(Block::Para {
        text: verification(lang).into(),
    });
    blocks.push(Block::Code {
        text: format!(
            "truce verify --data DIR\ntruce report verify --data DIR FILE\ncurl -s http://CENTER/checkpoint\n{} {} · {} {}",
            r.anchor.size,
            lang.t("size"),
            lang.t("root"),
            r.anchor.root
        ),
    });

    let anchor = match &r.anchor.checkpoint {
        Some((size, root, cosigners)) => Meta {
            label: lang.t("anchor").into(),
            value: format!(
                "{size} {} · {}",
                lang.t("size"),
                if cosigners.is_empty() {
                    lang.t("not_cosigned").to_owned()
                } else {
                    format!("{} {}", lang.t("cosigned"), cosigners.join(", "))
                }
            ),
            hash: Some(format!("{} {root}", lang.t("root"))),
        },
        None => Meta {
            label: lang.t("anchor").into(),
            value: lang.t("no_checkpoint").into(),
            hash: None,
        },
    };
    Document {
        lang: lang.code(),
        title: format!(
            "{} {:03}/{} — {} {}",
            lang.t("title"),
            r.number.0,
            r.number.1,
            lang.t("issued"),
            day(r.period.1)
        ),
        illustrative: doc.illustrative.then(|| lang.t("illustrative").to_owned()),
        meta: vec![
            Meta {
                label: lang.t("period").into(),
                value: format!(
                    "{} → {} ({})",
                    when(r.period.0),
                    when(r.period.1),
                    lang.t("utc")
                ),
                hash: None,
            },
            Meta {
                label: lang.t("center").into(),
                value: format!("{}, {}", lang.t("center_name"), doc.name),
                hash: None,
            },
            anchor,
        ],
        blocks,
        page: (lang.t("page"), lang.t("of")),
        footer: format!(
            "{} {:03}/{} · {} {} · {} {}",
            lang.t("title"),
            r.number.0,
            r.number.1,
            r.anchor.size,
            lang.t("size"),
            lang.t("root"),
            r.anchor.root.get(..16).unwrap_or(&r.anchor.root)
        ),
        ident: format!(
            "truce-daily-{}-{}-{}",
            r.period.1,
            lang.code(),
            r.anchor.root.get(..16).unwrap_or(&r.anchor.root)
        ),
        date: r.period.1.to_string(),
    }
}
