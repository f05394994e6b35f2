//! Writes the fuzz targets' seed corpora into `fuzz/corpus/<target>/seed-*`: real inputs made by
//! truce's own writers and simulator, so the fuzzer starts deep in each parser. With a data
//! folder (`-- DIR`), one entry of each type in its record seeds the `entry` target too.
//!
//! `cargo run -p truce-fuzz-targets --example make_seeds [-- DATA_DIR]`

#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use truce_fuzz_targets::{LOG_KEY, WITNESS_KEY, now};
use truce_ledger::Hash;
use truce_ledger::note::NoteSigner;

const AGREEMENT: &str = include_str!("../../cli/demo/agreement.toml");
const ZONES: &str = include_str!("../../cli/demo/zones.geojson");
const SCENARIO: &str = include_str!("../../cli/demo/scenario.toml");
const COT_MARKER: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><event version="2.0" uid="ANDROID-1" type="a-h-G" how="h-g-i-g-o" time="2026-11-20T10:00:00Z" start="2026-11-20T10:00:00Z" stale="2026-11-20T11:00:00Z"><point lat="40.3" lon="46.7" hae="120.5" ce="15" le="9999999"/><detail><contact callsign="M1-OBS"/><remarks>heard a burst to the north</remarks><truce kind="shot" count="3"/></detail></event>"#;
const COT_BEARING: &str = r#"<event version="2.0" uid="rb-1" type="u-rb-a" how="h-e" time="2026-11-20T10:00:00Z" start="2026-11-20T10:00:00Z" stale="2026-11-20T10:05:00Z"><point lat="40.2" lon="46.6" hae="0" ce="10" le="9999999"/><detail><range value="1500"/><bearing value="45.5"/><inclination value="0"/><truce kind="explosion"/></detail></event>"#;
const ACLED: &str = "event_id_cnty,event_date,time_precision,sub_event_type,latitude,longitude,geo_precision,fatalities,timestamp\nA1,2026-11-19,1,Armed clash,40.1,46.5,1,2,1\nA2,2026-11-19,2,Air/drone strike,40.2,46.6,3,0,2\n";
const GEOJSON: &str = r#"{"type":"FeatureCollection","features":[{"type":"Feature","id":"f1","geometry":{"type":"Point","coordinates":[46.5,40.1]},"properties":{"kind":"explosion","count":2,"observed_at":"2026-11-20T10:00:00Z","accuracy_m":300}}]}"#;
const KML: &str = r#"<kml><Document><Placemark id="p"><name>P</name><TimeStamp><when>2026-11-20T10:00:00Z</when></TimeStamp><ExtendedData><Data name="kind"><value>shot</value></Data><Data name="accuracy_m"><value>50</value></Data></ExtendedData><Point><coordinates>46.5,40.1</coordinates></Point></Placemark></Document></kml>"#;

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus");
    let mut seeds: BTreeMap<&str, Vec<(String, Vec<u8>)>> = BTreeMap::new();
    let mut add = |target: &'static str, name: &str, bytes: Vec<u8>| {
        seeds
            .entry(target)
            .or_default()
            .push((name.to_string(), bytes));
    };

    // Observations of every geometry form, as the simulator reports them.
    let scenario = truce_sim::Scenario::from_toml(SCENARIO).unwrap();
    let mut generator = truce_sim::Generator::new(scenario, 7);
    let mut by_form: BTreeMap<&'static str, Vec<u8>> = BTreeMap::new();
    let mut batch = Vec::new();
    for k in 0..40 {
        let t = now().plus_seconds(-3600.0 + f64::from(k) * 30.0);
        for o in generator.event(t) {
            by_form
                .entry(o.geometry.type_name())
                .or_insert_with(|| serde_json::to_vec(&o).unwrap());
            if batch.len() < 8 {
                batch.push(o);
            }
        }
    }
    for (form, bytes) in by_form {
        add("observations", form, bytes);
    }
    add("observations", "batch", serde_json::to_vec(&batch).unwrap());

    let mut agreement = AGREEMENT.as_bytes().to_vec();
    agreement.push(0xff);
    agreement.extend_from_slice(ZONES.as_bytes());
    add("agreement", "demo", agreement);

    for (name, xml) in [("marker", COT_MARKER), ("range-bearing", COT_BEARING)] {
        add("cot_xml", name, xml.as_bytes().to_vec());
        let event = truce_cot::parse_event(xml.as_bytes(), &truce_cot::Limits::default()).unwrap();
        let proto = truce_cot::encode_event(&event);
        add("tak_proto", name, proto.clone());
        let mut streamed = vec![64u8];
        streamed.extend_from_slice(xml.as_bytes());
        streamed.extend_from_slice(xml.as_bytes());
        add("cot_streams", &format!("{name}-xml"), streamed);
        let mut framed = vec![7u8];
        framed.extend_from_slice(&truce_cot::frame_stream(&proto));
        framed.extend_from_slice(&truce_cot::frame_stream(&proto));
        add("cot_streams", &format!("{name}-proto"), framed);
        let mut mesh = vec![255u8];
        mesh.extend_from_slice(&truce_cot::frame_mesh(&proto));
        add("cot_streams", &format!("{name}-mesh"), mesh);
    }

    for (which, name, text) in [
        (0u8, "acled", ACLED),
        (1, "geojson", GEOJSON),
        (2, "cot", COT_MARKER),
        (3, "kml", KML),
    ] {
        let mut bytes = vec![which];
        bytes.extend_from_slice(text.as_bytes());
        add("imports", name, bytes);
    }

    // A checkpoint signed by the log key and cosigned by the witness key.
    let log = NoteSigner::from_text(LOG_KEY).unwrap();
    let witness = NoteSigner::from_text(WITNESS_KEY).unwrap();
    let root_hash = Hash([7u8; 32]);
    let note = truce_ledger::note::sign_checkpoint(&log, log.name(), 42, &root_hash).unwrap();
    let body = truce_ledger::note::checkpoint_body(log.name(), 42, &root_hash).unwrap();
    let mut cosigned = note.clone();
    cosigned.extend_from_slice(witness.signature_line(&body, 1_790_000_000).as_bytes());
    add("checkpoint", "signed", note.clone());
    add("checkpoint", "cosigned", cosigned.clone());
    add(
        "signed_note_keys",
        "log-private",
        LOG_KEY.as_bytes().to_vec(),
    );
    add(
        "signed_note_keys",
        "witness-private",
        WITNESS_KEY.as_bytes().to_vec(),
    );
    add(
        "signed_note_keys",
        "log-public",
        log.verifier_text().into_bytes(),
    );
    add(
        "signed_note_keys",
        "witness-public",
        witness.verifier_text().into_bytes(),
    );

    let proof = truce_ledger::proof::TlogProof {
        extra: Some(b"incident 7".to_vec()),
        index: 5,
        hashes: vec![Hash([1u8; 32]), Hash([2u8; 32]), Hash([3u8; 32])],
        checkpoint: cosigned.clone(),
    };
    add("tlog_proof", "three-hashes", proof.to_text());
    let request = truce_ledger::witness::AddCheckpoint {
        old: 40,
        proof: vec![Hash([4u8; 32]), Hash([5u8; 32])],
        checkpoint: note,
    };
    add("witness_request", "from-40", request.to_text());

    let entries: [&[u8]; 3] = [b"{\"type\":\"a\"}", b"", b"{}"];
    add(
        "entry_bundle",
        "three",
        truce_ledger::tiles::entry_bundle(entries).unwrap(),
    );
    for path in [
        "tile/0/x001/x234/067",
        "tile/entries/000.p/17",
        "tile/2/000.p/9",
    ] {
        add(
            "tile_path",
            path.replace('/', "_").as_str(),
            path.as_bytes().to_vec(),
        );
    }

    if let Some(data) = std::env::args().nth(1) {
        entries_of(Path::new(&data), &mut add);
    }

    for (target, files) in seeds {
        let dir = root.join(target);
        std::fs::create_dir_all(&dir).unwrap();
        for (name, bytes) in files {
            std::fs::write(dir.join(format!("seed-{name}")), bytes).unwrap();
        }
        println!("{target}: seeds written to {}", dir.display());
    }
}

/// One entry of each type from the record in `data`.
fn entries_of(data: &Path, add: &mut impl FnMut(&'static str, &str, Vec<u8>)) {
    use truce_store::{Durability, SqliteStore, Store};
    let store = SqliteStore::open_reading(&data.join("truce.sqlite"), Durability::Process).unwrap();
    let size = store.head().unwrap().size;
    let mut seen = std::collections::BTreeSet::new();
    let mut from = 0;
    while from < size {
        for e in store.entries(from, 1000).unwrap() {
            let value: serde_json::Value = serde_json::from_slice(&e.bytes).unwrap();
            let kind = value["type"].as_str().unwrap_or("unknown").to_string();
            if seen.insert(kind.clone()) {
                add("entry", &kind, e.bytes.clone());
            }
        }
        from += 1000;
    }
}
