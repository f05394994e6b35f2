//! ACLED's CSV: the 31 columns of its current exports, one row per located incident, so
//! analysts can set the center's incidents beside ACLED's own data in the same tools.
//!
//! What maps and what does not: ACLED codes a place, a date and actors; truce has a position
//! with a 95% ellipse, times, a side it is attributed to and clauses. `geo_precision` is 1
//! when the ellipse's semi-major axis is under 2 km, else 2. Actors are the attributed side's
//! name or "Unidentified Armed Group"; ACLED's actor categories, ISO code, country and admin
//! columns are left empty (truce keeps no gazetteer). Ellipse, clauses and the record's
//! checkpoint go into `notes` and `tags`.

use crate::csv::text;
use crate::dataset::Dataset;
use crate::fields::time_text;
use truce_core::{Incident, Kind, Weapon};

/// The columns, in ACLED's order.
pub const COLUMNS: [&str; 31] = [
    "event_id_cnty",
    "event_date",
    "year",
    "time_precision",
    "disorder_type",
    "event_type",
    "sub_event_type",
    "actor1",
    "assoc_actor_1",
    "inter1",
    "actor2",
    "assoc_actor_2",
    "inter2",
    "interaction",
    "civilian_targeting",
    "iso",
    "region",
    "country",
    "admin1",
    "admin2",
    "admin3",
    "location",
    "latitude",
    "longitude",
    "geo_precision",
    "source",
    "source_scale",
    "notes",
    "fatalities",
    "tags",
    "timestamp",
];

/// ACLED's disorder type, event type and sub-event type of an incident.
pub fn event_types(
    kind: Kind,
    weapon: Option<Weapon>,
) -> (&'static str, &'static str, &'static str) {
    const VIOLENCE: &str = "Political violence";
    const STRATEGIC: &str = "Strategic developments";
    const REMOTE: &str = "Explosions/Remote violence";
    match kind {
        Kind::Explosion | Kind::Projectile => match weapon {
            Some(Weapon::Uav) => (VIOLENCE, REMOTE, "Air/drone strike"),
            _ => (VIOLENCE, REMOTE, "Shelling/artillery/missile attack"),
        },
        Kind::Burst | Kind::Shot | Kind::MuzzleFlash => (VIOLENCE, "Battles", "Armed clash"),
        _ => (STRATEGIC, STRATEGIC, "Other"),
    }
}

fn row(i: &Incident, data: &Dataset) -> Option<String> {
    let e = &i.estimate;
    let p = e.position.as_ref()?;
    let day = &time_text(e.first_seen)[..10];
    let (disorder, event, sub) = event_types(e.kind, e.weapon);
    let actor = data
        .agreement
        .sides
        .iter()
        .find(|s| s.id == e.attribution.side)
        .map_or("Unidentified Armed Group".to_owned(), |s| s.name.clone());
    let precision = match e.ellipse_95 {
        Some(x) if x.semi_major_m < 2000.0 => 1,
        _ => 2,
    };
    let location = if e.zones.is_empty() {
        p.mgrs.clone()
    } else {
        format!("{} ({})", e.zones.join(", "), p.mgrs)
    };
    let ellipse = e.ellipse_95.map_or("no ellipse".to_owned(), |x| {
        format!(
            "95% ellipse {:.0} x {:.0} m, major axis {:.0} deg",
            x.semi_major_m, x.semi_minor_m, x.azimuth_deg
        )
    });
    let clauses: Vec<&str> = e.findings.iter().map(|f| f.clause_id.as_str()).collect();
    let notes = format!(
        "{} x{}{}; {}; status {}; clauses {}; {} reports.",
        e.kind.as_str(),
        e.count,
        e.weapon
            .map(|w| format!(" ({})", w.as_str()))
            .unwrap_or_default(),
        ellipse,
        e.status.as_str(),
        if clauses.is_empty() {
            "none".to_owned()
        } else {
            clauses.join(",")
        },
        i.observation_ids.len()
    );
    let tags = format!(
        "truce incident {} revision {}; record size {} root {}",
        i.id.0, i.revision, data.anchor.size, data.anchor.root
    );
    let fatalities = if e.kind == Kind::Casualty { e.count } else { 0 };
    let cells: [String; 31] = [
        format!("TRC{}", i.id.0),
        day.to_owned(),
        day[..4].to_owned(),
        "1".into(),
        disorder.into(),
        event.into(),
        sub.into(),
        text(&actor),
        String::new(),
        String::new(),
        String::new(),
        String::new(),
        String::new(),
        String::new(),
        String::new(),
        String::new(),
        String::new(),
        String::new(),
        String::new(),
        String::new(),
        String::new(),
        text(&location),
        format!("{:.5}", p.lat),
        format!("{:.5}", p.lon),
        precision.to_string(),
        text(&format!(
            "{} (joint monitoring center)",
            data.agreement.name
        )),
        "Other".into(),
        text(&notes),
        fatalities.to_string(),
        text(&tags),
        (data.anchor.at.unix_millis() / 1000).to_string(),
    ];
    Some(cells.join(","))
}

/// Writes the located incidents as ACLED CSV, header first, CRLF line ends.
pub fn write(data: &Dataset, to: &mut dyn std::io::Write) -> std::io::Result<()> {
    let mut out = COLUMNS.join(",");
    out.push_str("\r\n");
    for i in &data.incidents {
        if let Some(r) = row(i, data) {
            out.push_str(&r);
            out.push_str("\r\n");
            crate::flush_text_if_full(&mut out, to)?;
        }
    }
    to.write_all(out.as_bytes())
}
