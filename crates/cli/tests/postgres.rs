//! A data folder's record moved to PostgreSQL as a user would: `truce migrate`, then
//! `truce serve --store` on it with the same tokens, `truce verify --store` beside the running
//! server, and the incidents opened as a GIS layer by GDAL's PostgreSQL driver (the one QGIS
//! uses through OGR).

mod common;

use common::BIN;
use std::path::Path;
use std::process::{Child, Command};

const DEMO_AGREEMENT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/demo/agreement.toml");

fn truce(store: Option<&str>) -> Command {
    let mut c = Command::new(BIN);
    if let Some(url) = store {
        c.args(["--store", url]);
    }
    c
}

fn ok(c: &mut Command) -> String {
    let out = c.output().expect("truce runs");
    assert!(
        out.status.success(),
        "{c:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn serve(data: &Path, store: Option<&str>) -> (Child, String) {
    common::serve_from(data.to_str().expect("a UTF-8 path"), store)
}

/// Two observers' crossing bearings and a position report: located incidents with ellipses.
fn post(url: &str, token: &str, minute: u32) -> serde_json::Value {
    let body = serde_json::json!([
        {"kind": "explosion", "observed_at": format!("2026-11-20T10:{minute:02}:00Z"),
         "reporter": "post-1",
         "geometry": {"type": "position", "lat": 40.10, "lon": 46.60, "accuracy_m": 300.0}},
        {"kind": "shot", "observed_at": format!("2026-11-20T10:{minute:02}:30Z"),
         "reporter": "post-2",
         "geometry": {"type": "position", "lat": 40.20, "lon": 46.70, "accuracy_m": 150.0}}
    ]);
    let mut response = ureq::post(&format!("{url}/api/observations"))
        .header("authorization", &format!("Bearer {token}"))
        .send_json(&body)
        .expect("observations accepted");
    response.body_mut().read_json().expect("json")
}

#[test]
fn a_folder_migrated_to_postgres_serves_verifies_and_opens_in_gis() {
    let pg = truce_peers::postgres::postgres();
    let target = pg.fresh_url();
    let schema = target.rsplit("schema=").next().expect("schema").to_string();
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    ok(truce(None)
        .args(["init", "--data"])
        .arg(&data)
        .args(["--agreement", DEMO_AGREEMENT]));
    let token = ok(truce(None)
        .args(["user", "add", "--data"])
        .arg(&data)
        .args(["--monitor", "m1", "--role", "observer", "op-1"]))
    .trim()
    .to_string();
    let (mut server, url) = serve(&data, None);
    post(&url, &token, 0);
    post(&url, &token, 5);
    let photo: Vec<u8> = [&[0xFF, 0xD8, 0xFF, 0xE0][..], b"a crater, photographed"].concat();
    let handed: serde_json::Value = ureq::post(&format!("{url}/api/evidence?name=crater.jpg"))
        .header("authorization", &format!("Bearer {token}"))
        .header("content-type", "image/jpeg")
        .send(&photo[..])
        .expect("a photo handed in")
        .body_mut()
        .read_json()
        .expect("json");
    let sha256 = handed["sha256"].as_str().expect("sha256").to_string();
    server.kill().expect("stop");
    server.wait().expect("reap");

    let moved = ok(truce(None)
        .args(["migrate", "--from"])
        .arg(&data)
        .args(["--to", &target]));
    assert!(moved.contains("same root"), "{moved}");
    assert!(moved.contains("1 members keep their tokens"), "{moved}");
    assert!(moved.contains("1 of 1 evidence files copied"), "{moved}");
    // The file is in the database now: the folder's copy is not needed to serve or audit it.
    std::fs::rename(data.join("evidence"), dir.path().join("evidence-before")).expect("move");
    // A second copy into the same schema is refused, naming what is there.
    let again = truce(None)
        .args(["migrate", "--from"])
        .arg(&data)
        .args(["--to", &target])
        .output()
        .expect("runs");
    assert!(!again.status.success());
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("already holds a record"),
        "{again:?}"
    );

    // The folder's old SQLite record is refused from now on: the key must not sign two trees.
    let old = truce(None)
        .args(["verify", "--data"])
        .arg(&data)
        .output()
        .expect("runs");
    assert!(!old.status.success());
    assert!(
        String::from_utf8_lossy(&old.stderr).contains("was moved to PostgreSQL"),
        "{old:?}"
    );
    // And a folder whose SQLite record was never moved is not served from PostgreSQL.
    let other = dir.path().join("other");
    ok(truce(None)
        .args(["init", "--data"])
        .arg(&other)
        .args(["--agreement", DEMO_AGREEMENT]));
    let mixed = truce(Some(&target))
        .args(["verify", "--data"])
        .arg(&other)
        .output()
        .expect("runs");
    assert!(!mixed.status.success());
    assert!(
        String::from_utf8_lossy(&mixed.stderr).contains("truce migrate"),
        "{mixed:?}"
    );

    // Served from PostgreSQL: the same member signs in, the record continues. With the TAK and
    // MQTT listeners too, whose member binding once ran PostgreSQL's blocking client inside the
    // async runtime and panicked at start (the broker need not be up: it is retried).
    let listeners = [
        "--cot-tcp",
        "127.0.0.1:0",
        "--cot-member",
        "op-1",
        "--mqtt",
        "mqtt://127.0.0.1:9",
        "--mqtt-topic",
        "sensors/#",
        "--mqtt-member",
        "op-1",
    ];
    let (mut server, url) = common::serve_with(
        data.to_str().expect("a UTF-8 path"),
        Some(&target),
        &listeners,
    );
    let answer = post(&url, &token, 10);
    assert_eq!(
        answer["accepted"].as_array().map(Vec::len),
        Some(2),
        "{answer}"
    );
    assert_eq!(
        answer["accepted"][0]["id"], 5,
        "numbering continues: {answer}"
    );
    // An audit beside the running server does not take its role.
    let audit = ok(truce(Some(&target)).args(["verify", "--data"]).arg(&data));
    assert!(audit.starts_with("ok:"), "{audit}");
    assert!(audit.contains("1 evidence files intact"), "{audit}");
    // A second writer is refused while the server sequences, and changes nothing: the server
    // goes on appending (before, the command opened a new epoch and fenced the server out).
    let second = truce(Some(&target))
        .args(["user", "add", "--data"])
        .arg(&data)
        .args(["--monitor", "m1", "--role", "observer", "op-2"])
        .output()
        .expect("runs");
    assert!(!second.status.success(), "{second:?}");
    assert!(
        String::from_utf8_lossy(&second.stderr).contains("another process sequences"),
        "{second:?}"
    );
    let served = ureq::get(&format!("{url}/api/evidence/{sha256}"))
        .header("authorization", &format!("Bearer {token}"))
        .call()
        .expect("the file is served from PostgreSQL")
        .body_mut()
        .read_to_vec()
        .expect("bytes");
    assert_eq!(served, photo);
    let answer = post(&url, &token, 15);
    assert_eq!(
        answer["accepted"].as_array().map(Vec::len),
        Some(2),
        "{answer}"
    );
    server.kill().expect("stop");
    server.wait().expect("reap");

    // GDAL's PostgreSQL driver lists the incidents with both geometries, keyed by id.
    let info = Command::new("ogrinfo")
        .args(["-ro", "-so"])
        .arg(format!(
            "PG:host=127.0.0.1 port={} dbname=postgres user=postgres active_schema={schema}",
            pg.port()
        ))
        .arg("incidents")
        .output()
        .expect("ogrinfo runs (gdal-bin)");
    let text = String::from_utf8_lossy(&info.stdout);
    assert!(
        info.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&info.stderr)
    );
    assert!(text.contains("Geometry (location): Point"), "{text}");
    assert!(text.contains("Geometry (ellipse95): Polygon"), "{text}");
    assert!(text.contains("FID Column = id"), "{text}");

    // The audit sees what only PostgreSQL keeps: each incident's PostGIS columns and the head
    // row. Each change, made as the database's owner could, is named; undone, verify passes.
    let sql = |statement: &str| {
        pg.psql(&format!(
            "SET search_path TO \"{schema}\", public; {statement}"
        ))
    };
    sql(
        "CREATE TABLE kept AS SELECT id, location, ellipse95 FROM incidents; \
         CREATE TABLE kept_head AS SELECT * FROM log_head",
    );
    let restore = "UPDATE incidents i SET location = k.location, ellipse95 = k.ellipse95 \
                   FROM kept k WHERE k.id = i.id; \
                   UPDATE log_head h SET size = k.size, chain = k.chain, root = k.root FROM kept_head k";
    for (change, named) in [
        (
            "UPDATE incidents SET location = ST_SetSRID(ST_MakePoint(lon + 1e-9, lat), 4326) WHERE id = 1",
            "incidents row 1: location",
        ),
        (
            "UPDATE incidents SET ellipse95 = ST_Scale(ellipse95, 1.0, 1.0000001) WHERE id = 2",
            "incidents row 2: ellipse95",
        ),
        (
            "UPDATE incidents SET ellipse95 = NULL WHERE id = 2",
            "incidents row 2: ellipse95",
        ),
        (
            "UPDATE log_head SET size = size - 1",
            "log_head row 1: size",
        ),
        (
            "UPDATE log_head SET size = size + 1",
            "log_head row 1: size",
        ),
        ("UPDATE log_head SET root = chain", "log_head row 1: root"),
        ("UPDATE log_head SET chain = root", "log_head row 1: chain"),
    ] {
        sql(change);
        let audit = truce(Some(&target))
            .args(["verify", "--data"])
            .arg(&data)
            .output()
            .expect("runs");
        let said = String::from_utf8_lossy(&audit.stdout);
        assert!(!audit.status.success(), "{change}: {said}");
        assert!(said.contains(named), "{change}: {said}");
        sql(restore);
        let audit = ok(truce(Some(&target)).args(["verify", "--data"]).arg(&data));
        assert!(audit.starts_with("ok:"), "{change} undone: {audit}");
    }
    let count: usize = text
        .lines()
        .find_map(|l| l.strip_prefix("Feature Count: "))
        .and_then(|n| n.trim().parse().ok())
        .expect("a feature count");
    assert!(count >= 1, "{text}");
}
