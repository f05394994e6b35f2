//! GeoPackage 1.3.1 (OGC 12-128), written with the project's own SQLite: layers `incidents`
//! (points), `ellipses` (their 95% ellipses), `observations` (points), `zone_areas` and
//! `zone_lines`, each registered in `gpkg_contents` and `gpkg_geometry_columns` with its
//! extent; geometries as GeoPackageBinary (header with an xy envelope, then little-endian
//! ISO WKB); and a `layer_styles` table so QGIS opens the layers coloured by status.

use crate::ExportError;
use crate::dataset::Dataset;
use crate::ellipse::ellipse_ring;
use crate::fields::{
    Cell, INCIDENT_COLUMNS, Kind, OBSERVATION_COLUMNS, incident_cells, observation_cells,
    observation_point, time_text, zones,
};
use rusqlite::{Connection, params, params_from_iter};
use std::path::Path;

const WGS84: &str = "GEOGCS[\"WGS 84\",DATUM[\"WGS_1984\",SPHEROID[\"WGS 84\",6378137,298.257223563,AUTHORITY[\"EPSG\",\"7030\"]],AUTHORITY[\"EPSG\",\"6326\"]],PRIMEM[\"Greenwich\",0,AUTHORITY[\"EPSG\",\"8901\"]],UNIT[\"degree\",0.0174532925199433,AUTHORITY[\"EPSG\",\"9122\"]],AXIS[\"Latitude\",NORTH],AXIS[\"Longitude\",EAST],AUTHORITY[\"EPSG\",\"4326\"]]";

const SCHEMA: &str = "
PRAGMA application_id = 0x47504B47;
PRAGMA user_version = 10301;
CREATE TABLE gpkg_spatial_ref_sys (srs_name TEXT NOT NULL, srs_id INTEGER NOT NULL PRIMARY KEY, organization TEXT NOT NULL, organization_coordsys_id INTEGER NOT NULL, definition TEXT NOT NULL, description TEXT);
CREATE TABLE gpkg_contents (table_name TEXT NOT NULL PRIMARY KEY, data_type TEXT NOT NULL, identifier TEXT UNIQUE, description TEXT DEFAULT '', last_change DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')), min_x DOUBLE, min_y DOUBLE, max_x DOUBLE, max_y DOUBLE, srs_id INTEGER, CONSTRAINT fk_gc_r_srs_id FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys(srs_id));
CREATE TABLE gpkg_geometry_columns (table_name TEXT NOT NULL, column_name TEXT NOT NULL, geometry_type_name TEXT NOT NULL, srs_id INTEGER NOT NULL, z TINYINT NOT NULL, m TINYINT NOT NULL, CONSTRAINT pk_geom_cols PRIMARY KEY (table_name, column_name), CONSTRAINT uk_gc_table_name UNIQUE (table_name), CONSTRAINT fk_gc_tn FOREIGN KEY (table_name) REFERENCES gpkg_contents(table_name), CONSTRAINT fk_gc_srs FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys (srs_id));
INSERT INTO gpkg_spatial_ref_sys VALUES ('Undefined Cartesian SRS', -1, 'NONE', -1, 'undefined', 'undefined Cartesian coordinate reference system');
INSERT INTO gpkg_spatial_ref_sys VALUES ('Undefined geographic SRS', 0, 'NONE', 0, 'undefined', 'undefined geographic coordinate reference system');
CREATE TABLE layer_styles (id INTEGER PRIMARY KEY AUTOINCREMENT, f_table_catalog TEXT, f_table_schema TEXT, f_table_name TEXT, f_geometry_column TEXT, styleName TEXT, styleQML TEXT, styleSLD TEXT, useAsDefault BOOLEAN, description TEXT, owner TEXT, ui TEXT, update_time DATETIME);
";

/// A geometry as GeoPackageBinary: `GP`, version 0, flags (little-endian, xy envelope),
/// SRS 4326, envelope as min x, max x, min y, max y, then `wkb`.
fn gpb(points: impl Iterator<Item = [f64; 2]>, wkb: &[u8]) -> Vec<u8> {
    let (mut minx, mut maxx, mut miny, mut maxy) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for [x, y] in points {
        minx = minx.min(x);
        maxx = maxx.max(x);
        miny = miny.min(y);
        maxy = maxy.max(y);
    }
    let mut out = Vec::with_capacity(40 + wkb.len());
    out.extend_from_slice(&[b'G', b'P', 0, 0x03]);
    out.extend_from_slice(&4326i32.to_le_bytes());
    for v in [minx, maxx, miny, maxy] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out.extend_from_slice(wkb);
    out
}

fn wkb_header(out: &mut Vec<u8>, geometry_type: u32) {
    out.push(1);
    out.extend_from_slice(&geometry_type.to_le_bytes());
}

fn wkb_points(out: &mut Vec<u8>, points: &[[f64; 2]]) {
    out.extend_from_slice(&(points.len() as u32).to_le_bytes());
    for [x, y] in points {
        out.extend_from_slice(&x.to_le_bytes());
        out.extend_from_slice(&y.to_le_bytes());
    }
}

fn point_blob(p: [f64; 2]) -> Vec<u8> {
    let mut wkb = Vec::with_capacity(21);
    wkb_header(&mut wkb, 1);
    wkb.extend_from_slice(&p[0].to_le_bytes());
    wkb.extend_from_slice(&p[1].to_le_bytes());
    gpb(std::iter::once(p), &wkb)
}

fn polygon_wkb(out: &mut Vec<u8>, rings: &[Vec<[f64; 2]>]) {
    wkb_header(out, 3);
    out.extend_from_slice(&(rings.len() as u32).to_le_bytes());
    for ring in rings {
        wkb_points(out, ring);
    }
}

fn polygon_blob(ring: &[[f64; 2]]) -> Vec<u8> {
    let mut wkb = Vec::new();
    polygon_wkb(&mut wkb, &[ring.to_vec()]);
    gpb(ring.iter().copied(), &wkb)
}

fn multipolygon_blob(polygons: &[Vec<Vec<[f64; 2]>>]) -> Vec<u8> {
    let mut wkb = Vec::new();
    wkb_header(&mut wkb, 6);
    wkb.extend_from_slice(&(polygons.len() as u32).to_le_bytes());
    for rings in polygons {
        polygon_wkb(&mut wkb, rings);
    }
    gpb(polygons.iter().flatten().flatten().copied(), &wkb)
}

fn multilinestring_blob(lines: &[Vec<[f64; 2]>]) -> Vec<u8> {
    let mut wkb = Vec::new();
    wkb_header(&mut wkb, 5);
    wkb.extend_from_slice(&(lines.len() as u32).to_le_bytes());
    for line in lines {
        wkb_header(&mut wkb, 2);
        wkb_points(&mut wkb, line);
    }
    gpb(lines.iter().flatten().copied(), &wkb)
}

/// A layer's extent, grown point by point.
struct Extent([f64; 4]);

impl Extent {
    fn new() -> Self {
        Self([f64::MAX, f64::MAX, f64::MIN, f64::MIN])
    }
    fn add(&mut self, [x, y]: [f64; 2]) {
        let e = &mut self.0;
        *e = [e[0].min(x), e[1].min(y), e[2].max(x), e[3].max(y)];
    }
    fn bounds(&self) -> [Option<f64>; 4] {
        if self.0[0] > self.0[2] {
            return [None; 4];
        }
        self.0.map(Some)
    }
}

fn sql_type(kind: Kind) -> &'static str {
    match kind {
        Kind::Integer => "INTEGER",
        Kind::Real => "DOUBLE",
        Kind::Text => "TEXT",
        Kind::DateTime => "DATETIME",
    }
}

fn to_sql(cell: Cell) -> rusqlite::types::Value {
    use rusqlite::types::Value;
    match cell {
        Cell::Int(v) => Value::Integer(v),
        Cell::Real(v) => Value::Real(v),
        Cell::Text(s) => Value::Text(s),
        Cell::Null => Value::Null,
    }
}

fn context(what: &str) -> impl Fn(rusqlite::Error) -> ExportError + '_ {
    move |e| ExportError::Gpkg(format!("{what}: {e}"))
}

/// Creates feature table `name` with geometry type `geometry` and `columns`, and registers it.
fn create_layer(
    db: &Connection,
    name: &str,
    geometry: &str,
    columns: &[(&str, Kind)],
    description: &str,
    at: &str,
) -> Result<(), ExportError> {
    let mut ddl = format!(
        "CREATE TABLE {name} (fid INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, geom {geometry}"
    );
    for (column, kind) in columns {
        ddl.push_str(&format!(", {column} {}", sql_type(*kind)));
    }
    ddl.push(')');
    db.execute_batch(&ddl)
        .map_err(context("creating a layer"))?;
    db.execute(
        "INSERT INTO gpkg_contents (table_name, data_type, identifier, description, last_change, srs_id)
         VALUES (?1, 'features', ?1, ?2, ?3, 4326)",
        params![name, description, at],
    )
    .map_err(context("registering a layer"))?;
    db.execute(
        "INSERT INTO gpkg_geometry_columns VALUES (?1, 'geom', ?2, 4326, 0, 0)",
        params![name, geometry],
    )
    .map_err(context("registering a layer's geometry"))?;
    Ok(())
}

fn insert_rows(
    db: &Connection,
    name: &str,
    columns: &[(&str, Kind)],
    rows: impl Iterator<Item = (Option<Vec<u8>>, Vec<Cell>)>,
) -> Result<(), ExportError> {
    let names: Vec<&str> = columns.iter().map(|(n, _)| *n).collect();
    let marks: Vec<String> = (0..=columns.len()).map(|i| format!("?{}", i + 1)).collect();
    let sql = format!(
        "INSERT INTO {name} (geom, {}) VALUES ({})",
        names.join(", "),
        marks.join(", ")
    );
    let mut stmt = db.prepare(&sql).map_err(context("preparing rows"))?;
    for (geom, cells) in rows {
        let mut values =
            vec![geom.map_or(rusqlite::types::Value::Null, rusqlite::types::Value::Blob)];
        values.extend(cells.into_iter().map(to_sql));
        stmt.execute(params_from_iter(values))
            .map_err(context("writing a row"))?;
    }
    Ok(())
}

fn set_extent(db: &Connection, name: &str, extent: &Extent) -> Result<(), ExportError> {
    let [a, b, c, d] = extent.bounds();
    db.execute(
        "UPDATE gpkg_contents SET min_x = ?2, min_y = ?3, max_x = ?4, max_y = ?5 WHERE table_name = ?1",
        params![name, a, b, c, d],
    )
    .map_err(context("recording a layer's extent"))?;
    Ok(())
}

/// QGIS styles: incidents and ellipses coloured by status, zones outlined.
fn styles(db: &Connection, at: &str) -> Result<(), ExportError> {
    const STATUS: [(&str, &str); 6] = [
        ("reported", "29,35,48"),
        ("under_review", "178,106,0"),
        ("jointly_confirmed", "27,127,59"),
        ("disputed", "179,38,30"),
        ("undetermined", "107,107,107"),
        ("merged", "154,154,154"),
    ];
    let categorized = |kind: &str, class: &str, extra: &str| {
        let mut categories = String::new();
        let mut symbols = String::new();
        for (n, (status, rgb)) in STATUS.iter().enumerate() {
            categories.push_str(&format!(
                "<category value=\"{status}\" symbol=\"{n}\" label=\"{status}\" render=\"true\"/>"
            ));
            let options = if kind == "marker" {
                format!(
                    "<Option type=\"QString\" name=\"color\" value=\"{rgb},255\"/><Option type=\"QString\" name=\"name\" value=\"circle\"/><Option type=\"QString\" name=\"size\" value=\"3\"/><Option type=\"QString\" name=\"outline_color\" value=\"255,255,255,255\"/>"
                )
            } else {
                format!(
                    "<Option type=\"QString\" name=\"color\" value=\"{rgb},40\"/><Option type=\"QString\" name=\"outline_color\" value=\"{rgb},255\"/><Option type=\"QString\" name=\"outline_width\" value=\"0.4\"/>"
                )
            };
            symbols.push_str(&format!(
                "<symbol type=\"{kind}\" name=\"{n}\" alpha=\"1\" clip_to_extent=\"1\" force_rhr=\"0\"><layer class=\"{class}\" enabled=\"1\" locked=\"0\" pass=\"0\"><Option type=\"Map\">{options}</Option></layer></symbol>"
            ));
        }
        format!(
            "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'><qgis version=\"3.28.0\" styleCategories=\"Symbology\"><renderer-v2 type=\"categorizedSymbol\" attr=\"status\" symbollevels=\"0\" enableorderby=\"0\" forceraster=\"0\"><categories>{categories}</categories><symbols>{symbols}</symbols></renderer-v2>{extra}</qgis>"
        )
    };
    let temporal = "<temporal enabled=\"1\" mode=\"2\" startField=\"first_seen\" endField=\"last_seen\" durationUnit=\"min\" accumulate=\"0\" limitMode=\"0\"/>";
    let zones = "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'><qgis version=\"3.28.0\" styleCategories=\"Symbology\"><renderer-v2 type=\"singleSymbol\" symbollevels=\"0\" enableorderby=\"0\" forceraster=\"0\"><symbols><symbol type=\"fill\" name=\"0\" alpha=\"1\" clip_to_extent=\"1\" force_rhr=\"0\"><layer class=\"SimpleFill\" enabled=\"1\" locked=\"0\" pass=\"0\"><Option type=\"Map\"><Option type=\"QString\" name=\"color\" value=\"155,44,44,30\"/><Option type=\"QString\" name=\"outline_color\" value=\"155,44,44,255\"/><Option type=\"QString\" name=\"outline_width\" value=\"0.5\"/></Option></layer></symbol></symbols></renderer-v2></qgis>";
    let rows = [
        ("incidents", categorized("marker", "SimpleMarker", temporal)),
        ("ellipses", categorized("fill", "SimpleFill", "")),
        ("zone_areas", zones.to_owned()),
    ];
    for (table, qml) in rows {
        db.execute(
            "INSERT INTO layer_styles (f_table_catalog, f_table_schema, f_table_name, f_geometry_column, styleName, styleQML, styleSLD, useAsDefault, description, owner, ui, update_time)
             VALUES ('', '', ?1, 'geom', ?1, ?2, '', 1, 'truce', '', '', ?3)",
            params![table, qml, at],
        )
        .map_err(context("writing a style"))?;
    }
    db.execute(
        "INSERT INTO gpkg_contents (table_name, data_type, identifier, description, last_change)
         VALUES ('layer_styles', 'attributes', 'layer_styles', 'QGIS layer styles', ?1)",
        params![at],
    )
    .map_err(context("registering the styles"))?;
    Ok(())
}

/// Writes `data` as a new GeoPackage at `path` (which must not exist).
pub fn write_file(data: &Dataset, path: &Path) -> Result<(), ExportError> {
    if path.exists() {
        return Err(ExportError::Gpkg(format!(
            "{} exists; a GeoPackage is written to a new file",
            path.display()
        )));
    }
    let mut db = Connection::open(path).map_err(context("creating the file"))?;
    let at = time_text(data.anchor.at);
    let tx = db.transaction().map_err(context("starting"))?;
    tx.execute_batch(SCHEMA)
        .map_err(context("creating the tables"))?;
    tx.execute(
        "INSERT INTO gpkg_spatial_ref_sys VALUES ('WGS 84 geodetic', 4326, 'EPSG', 4326, ?1, 'longitude/latitude coordinates in decimal degrees on the WGS 84 spheroid')",
        params![WGS84],
    )
    .map_err(context("writing the SRS"))?;
    let described = |what: &str| {
        format!(
            "{what}. {}Record size {}, root {}.",
            if data.agreement.illustrative {
                "ILLUSTRATIVE. "
            } else {
                ""
            },
            data.anchor.size,
            data.anchor.root
        )
    };

    create_layer(
        &tx,
        "incidents",
        "POINT",
        &INCIDENT_COLUMNS,
        &described("Incidents, at their estimated positions"),
        &at,
    )?;
    let mut extent = Extent::new();
    let rows = data.incidents.iter().map(|i| {
        let geom = i.estimate.position.as_ref().map(|p| {
            extent.add([p.lon, p.lat]);
            point_blob([p.lon, p.lat])
        });
        (geom, incident_cells(i, &data.anchor))
    });
    insert_rows(&tx, "incidents", &INCIDENT_COLUMNS, rows)?;
    set_extent(&tx, "incidents", &extent)?;

    const ELLIPSE_COLUMNS: [(&str, Kind); 3] = [
        ("incident_id", Kind::Integer),
        ("status", Kind::Text),
        ("confidence", Kind::Real),
    ];
    create_layer(
        &tx,
        "ellipses",
        "POLYGON",
        &ELLIPSE_COLUMNS,
        &described("The incidents' 95% ellipses"),
        &at,
    )?;
    let mut extent = Extent::new();
    let rows = data.incidents.iter().filter_map(|i| {
        let (p, e) = (
            i.estimate.position.as_ref()?,
            i.estimate.ellipse_95.as_ref()?,
        );
        let ring = ellipse_ring(p, e);
        ring.iter().for_each(|q| extent.add(*q));
        Some((
            Some(polygon_blob(&ring)),
            vec![
                Cell::Int(i.id.0 as i64),
                Cell::Text(i.estimate.status.as_str().to_owned()),
                Cell::Real(0.95),
            ],
        ))
    });
    insert_rows(&tx, "ellipses", &ELLIPSE_COLUMNS, rows)?;
    set_extent(&tx, "ellipses", &extent)?;

    create_layer(
        &tx,
        "observations",
        "POINT",
        &OBSERVATION_COLUMNS,
        &described("Observations of those incidents, where reported or where the observer stood"),
        &at,
    )?;
    let mut extent = Extent::new();
    let rows = data.observations.iter().map(|o| {
        let p = observation_point(o);
        extent.add(p);
        (Some(point_blob(p)), observation_cells(o))
    });
    insert_rows(&tx, "observations", &OBSERVATION_COLUMNS, rows)?;
    set_extent(&tx, "observations", &extent)?;

    const ZONE_COLUMNS: [(&str, Kind); 4] = [
        ("zone_id", Kind::Text),
        ("kind", Kind::Text),
        ("name", Kind::Text),
        ("side", Kind::Text),
    ];
    create_layer(
        &tx,
        "zone_areas",
        "MULTIPOLYGON",
        &ZONE_COLUMNS,
        &described("The agreement's zones"),
        &at,
    )?;
    create_layer(
        &tx,
        "zone_lines",
        "MULTILINESTRING",
        &ZONE_COLUMNS,
        &described("The agreement's lines"),
        &at,
    )?;
    let (mut areas, mut lines) = (Vec::new(), Vec::new());
    let (mut area_extent, mut line_extent) = (Extent::new(), Extent::new());
    let pts = |v: &Vec<geojson::Position>| -> Vec<[f64; 2]> {
        v.iter()
            .filter(|p| p.len() >= 2)
            .map(|p| [p[0], p[1]])
            .collect()
    };
    for (id, kind, name, side, g) in zones(data) {
        let cells = vec![
            Cell::Text(id),
            Cell::Text(kind),
            Cell::Text(name),
            Cell::Text(side),
        ];
        match &g.value {
            geojson::GeometryValue::Polygon { coordinates: rings } => {
                let polygon: Vec<Vec<[f64; 2]>> = rings.iter().map(pts).collect();
                polygon.iter().flatten().for_each(|p| area_extent.add(*p));
                areas.push((Some(multipolygon_blob(&[polygon])), cells));
            }
            geojson::GeometryValue::MultiPolygon { coordinates: polys } => {
                let polygons: Vec<Vec<Vec<[f64; 2]>>> =
                    polys.iter().map(|r| r.iter().map(pts).collect()).collect();
                polygons
                    .iter()
                    .flatten()
                    .flatten()
                    .for_each(|p| area_extent.add(*p));
                areas.push((Some(multipolygon_blob(&polygons)), cells));
            }
            geojson::GeometryValue::LineString { coordinates: l } => {
                let line = pts(l);
                line.iter().for_each(|p| line_extent.add(*p));
                lines.push((Some(multilinestring_blob(&[line])), cells));
            }
            geojson::GeometryValue::MultiLineString { coordinates: ls } => {
                let all: Vec<Vec<[f64; 2]>> = ls.iter().map(pts).collect();
                all.iter().flatten().for_each(|p| line_extent.add(*p));
                lines.push((Some(multilinestring_blob(&all)), cells));
            }
            _ => {}
        }
    }
    insert_rows(&tx, "zone_areas", &ZONE_COLUMNS, areas.into_iter())?;
    set_extent(&tx, "zone_areas", &area_extent)?;
    insert_rows(&tx, "zone_lines", &ZONE_COLUMNS, lines.into_iter())?;
    set_extent(&tx, "zone_lines", &line_extent)?;

    styles(&tx, &at)?;
    tx.commit().map_err(context("committing"))?;
    Ok(())
}

/// The GeoPackage's bytes (written to a temporary file and read back).
pub fn write(data: &Dataset) -> Result<Vec<u8>, ExportError> {
    let path = std::env::temp_dir().join(format!(
        "truce-export-{}-{}.gpkg",
        std::process::id(),
        truce_core::Timestamp::now().unix_nanos()
    ));
    let written = write_file(data, &path).and_then(|()| Ok(std::fs::read(&path)?));
    let _ = std::fs::remove_file(&path);
    written
}
