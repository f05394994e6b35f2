//! ACLED CSV rows as observations (references/reports-and-exports.md §5).
//!
//! - Kind from `sub_event_type`: shelling, artillery and missile attacks, remote explosives
//!   and grenades are explosions (air and drone strikes with weapon `uav`); armed clashes are
//!   bursts of fire; looting and destruction is damage; anything else is `other`. A row with
//!   `fatalities` > 0 also gives a casualty observation of that count.
//! - Time: ACLED gives a day. The observation is placed at 12:00 UTC of `event_date` and its
//!   notes say so; `time_precision` 2 (within a week) says that too; 3 (a month) is refused.
//! - Place: ACLED codes a place, not the event's position. The 95% radius is widened by
//!   `geo_precision`: 1 (the place itself) 5 km, 2 (near it) 25 km, 3 (its region) 100 km.
//! - Identity: `event_id_cnty` with `timestamp` (ACLED's last update), so an updated row comes
//!   in as a new observation and the same file twice adds nothing.

use crate::{Format, ImportError, MAX_ROWS, Provenance, RowError, checked, client_id};
use truce_core::observation::{Geometry, PositionGeometry, Source, Weapon};
use truce_core::validate::limits::NOTES_BYTES;
use truce_core::{Kind, Observation, Timestamp};

/// The 95% radius for each `geo_precision`, metres.
pub const RADIUS_BY_PRECISION_M: [f64; 3] = [5_000.0, 25_000.0, 100_000.0];

const REQUIRED: [&str; 7] = [
    "event_id_cnty",
    "event_date",
    "time_precision",
    "sub_event_type",
    "latitude",
    "longitude",
    "geo_precision",
];

fn kind_of(sub_event_type: &str) -> (Kind, Option<Weapon>) {
    match sub_event_type.trim().to_ascii_lowercase().as_str() {
        "shelling/artillery/missile attack" | "remote explosive/landmine/ied" | "grenade" => {
            (Kind::Explosion, None)
        }
        "air/drone strike" => (Kind::Explosion, Some(Weapon::Uav)),
        "armed clash" => (Kind::Burst, None),
        "looting/property destruction" => (Kind::Damage, None),
        _ => (Kind::Other, None),
    }
}

fn cut(mut s: String, limit: usize) -> String {
    if s.len() > limit {
        let mut end = limit - '…'.len_utf8();
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
        s.push('…');
    }
    s
}

/// The observation field's ACLED column, for errors.
fn column_of(field: &str) -> Option<String> {
    Some(
        match field {
            "geometry.lat" => "latitude",
            "geometry.lon" => "longitude",
            "geometry.accuracy_m" => "geo_precision",
            "observed_at" => "event_date",
            "reporter" => "event_id_cnty",
            "notes" => "notes",
            "count" => "fatalities",
            _ => return None,
        }
        .to_owned(),
    )
}

/// Every row's observations, or every bad row.
pub fn parse(
    bytes: &[u8],
    provenance: &Provenance,
    now: Timestamp,
) -> Result<crate::Read, ImportError> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(false)
        .from_reader(bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes));
    let headers = reader
        .headers()
        .map_err(|e| ImportError::File(format!("line 1: not a CSV header: {e}")))?
        .clone();
    let index = |name: &str| headers.iter().position(|h| h.trim() == name);
    let missing: Vec<&str> = REQUIRED
        .iter()
        .copied()
        .filter(|c| index(c).is_none())
        .collect();
    if !missing.is_empty() {
        return Err(ImportError::File(format!(
            "line 1: not an ACLED export: no column {}",
            missing.join(", ")
        )));
    }
    let col = |name: &str| index(name).unwrap_or(usize::MAX);
    let (id_c, date_c, tp_c, sub_c, lat_c, lon_c, gp_c) = (
        col("event_id_cnty"),
        col("event_date"),
        col("time_precision"),
        col("sub_event_type"),
        col("latitude"),
        col("longitude"),
        col("geo_precision"),
    );
    let (notes_c, source_c, actor1_c, actor2_c, fatal_c, stamp_c) = (
        index("notes"),
        index("source"),
        index("actor1"),
        index("actor2"),
        index("fatalities"),
        index("timestamp"),
    );
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for (n, record) in reader.records().enumerate() {
        if n >= MAX_ROWS {
            return Err(ImportError::File(format!("more than {MAX_ROWS} rows")));
        }
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                errors.push(RowError {
                    unit: "line",
                    line,
                    column: None,
                    reason: format!("not a CSV row: {e}"),
                });
                continue;
            }
        };
        let line = record.position().map_or(0, |p| p.line());
        let get = |c: usize| record.get(c).unwrap_or("").trim();
        let opt = |c: Option<usize>| c.map(&get).unwrap_or("");
        let bad = |column: &str, reason: String| RowError {
            unit: "line",
            line,
            column: Some(column.to_owned()),
            reason,
        };
        let id = get(id_c);
        if id.is_empty() {
            errors.push(bad("event_id_cnty", "empty".into()));
            continue;
        }
        let precision = match get(tp_c) {
            "1" => "",
            "2" => " (ACLED time_precision 2: within the week of this date)",
            "3" => {
                errors.push(bad(
                    "time_precision",
                    "3 (a month) is too coarse to place in a reporting period".into(),
                ));
                continue;
            }
            other => {
                errors.push(bad("time_precision", format!("{other:?} is not 1, 2 or 3")));
                continue;
            }
        };
        let Ok(day) = Timestamp::parse(&format!("{}T12:00:00Z", get(date_c))) else {
            errors.push(bad(
                "event_date",
                format!("{:?} is not a date YYYY-MM-DD", get(date_c)),
            ));
            continue;
        };
        let radius = match get(gp_c).parse::<usize>() {
            Ok(p @ 1..=3) => RADIUS_BY_PRECISION_M[p - 1],
            _ => {
                errors.push(bad(
                    "geo_precision",
                    format!("{:?} is not 1, 2 or 3", get(gp_c)),
                ));
                continue;
            }
        };
        let number = |c: usize, name: &str| {
            get(c)
                .parse::<f64>()
                .map_err(|_| bad(name, format!("{:?} is not a number of degrees", get(c))))
        };
        let (lat, lon) = match (number(lat_c, "latitude"), number(lon_c, "longitude")) {
            (Ok(a), Ok(b)) => (a, b),
            (Err(e), _) | (_, Err(e)) => {
                errors.push(e);
                continue;
            }
        };
        let fatalities = match opt(fatal_c) {
            "" => 0,
            text => match text.parse::<u32>() {
                Ok(v) => v,
                Err(_) => {
                    errors.push(bad("fatalities", format!("{text:?} is not a whole number")));
                    continue;
                }
            },
        };
        let (kind, weapon) = kind_of(get(sub_c));
        let notes = cut(
            format!(
                "{} [ACLED {id}, {}{}; {} / {}; {}; date only, placed at 12:00 UTC{precision}; place precision {}]",
                opt(notes_c),
                get(sub_c),
                if opt(source_c).is_empty() {
                    String::new()
                } else {
                    format!(", source: {}", opt(source_c))
                },
                opt(actor1_c),
                opt(actor2_c),
                provenance.via,
                get(gp_c),
            )
            .trim()
            .to_owned(),
            NOTES_BYTES,
        );
        let key = format!("{id}:{}", opt(stamp_c));
        let base = Observation {
            client_id: Some(client_id(provenance, Format::AcledCsv, &key)),
            kind,
            subkind: None,
            weapon,
            count: 1,
            observed_at: day,
            reporter: cut(
                format!("acled:{id}"),
                truce_core::validate::limits::NAME_BYTES,
            ),
            source: Source::Import,
            geometry: Geometry::Position(PositionGeometry {
                lat,
                lon,
                accuracy_m: radius,
            }),
            notes: Some(notes),
            evidence: Vec::new(),
            via: Some(provenance.via.clone()),
        };
        let casualty = (fatalities > 0).then(|| Observation {
            client_id: Some(client_id(
                provenance,
                Format::AcledCsv,
                &format!("{key}:fatalities"),
            )),
            kind: Kind::Casualty,
            weapon: None,
            count: fatalities,
            ..base.clone()
        });
        for o in std::iter::once(base).chain(casualty) {
            match checked(o, "line", line, now, column_of) {
                Ok(v) => out.push(v),
                Err(e) => {
                    errors.push(e);
                    break;
                }
            }
        }
    }
    Ok((out, errors, 0))
}
