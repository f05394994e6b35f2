//! Every import reader on arbitrary bytes, and on valid files cut and spliced at random:
//! never a panic, and either observations that passed validation or a refusal. (Property
//! tests; the cargo-fuzz targets are issue 14's.)

#![allow(clippy::unwrap_used)]

use proptest::prelude::*;
use truce_core::Timestamp;
use truce_import::{Format, ImportError, Provenance, parse};

const ACLED: &str = "event_id_cnty,event_date,time_precision,sub_event_type,latitude,longitude,geo_precision,fatalities,timestamp\nA1,2026-11-20,1,Armed clash,40.1,46.5,1,2,1\nA2,2026-11-21,2,Air/drone strike,40.2,46.6,3,0,2\n";
const GEOJSON: &str = r#"{"type":"FeatureCollection","features":[{"type":"Feature","id":"f1","geometry":{"type":"Point","coordinates":[46.5,40.1]},"properties":{"kind":"explosion","count":2,"observed_at":"2026-11-20T10:00:00Z","accuracy_m":300}}]}"#;
const KML: &str = r#"<kml><Document><Placemark id="p"><name>P</name><TimeStamp><when>2026-11-20T10:00:00Z</when></TimeStamp><ExtendedData><Data name="kind"><value>shot</value></Data><Data name="accuracy_m"><value>50</value></Data></ExtendedData><Point><coordinates>46.5,40.1</coordinates></Point></Placemark></Document></kml>"#;
const COT: &str = r#"<event version="2.0" uid="m" type="a-u-G" how="h-e" time="2026-11-20T10:00:00Z" start="2026-11-20T10:00:00Z" stale="2026-11-20T11:00:00Z"><point lat="40.3" lon="46.7" hae="0" ce="20" le="9999999"/><detail><truce kind="explosion" count="2"/></detail></event>"#;

fn check(format: Format, bytes: &[u8]) {
    let provenance = Provenance::of(bytes, format);
    let now = Timestamp::parse("2026-11-25T00:00:00Z").unwrap();
    match parse(format, bytes, &provenance, now) {
        Ok(p) => assert!(!p.observations.is_empty()),
        Err(ImportError::Rows(rows)) => assert!(!rows.is_empty()),
        Err(ImportError::File(message)) => assert!(!message.is_empty()),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn arbitrary_bytes_are_refused_or_read_never_a_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        for format in Format::ALL {
            check(format, &bytes);
        }
    }

    #[test]
    fn valid_files_cut_and_spliced_are_refused_or_read(cut in 0usize..400, insert in proptest::collection::vec(any::<u8>(), 0..12)) {
        for (format, text) in [(Format::AcledCsv, ACLED), (Format::GeoJson, GEOJSON), (Format::Kml, KML), (Format::Cot, COT)] {
            let at = cut.min(text.len());
            let mut bytes = text.as_bytes()[..at].to_vec();
            bytes.extend_from_slice(&insert);
            bytes.extend_from_slice(&text.as_bytes()[at..]);
            check(format, &bytes);
        }
    }
}

#[test]
fn the_seed_files_import() {
    for (format, text) in [
        (Format::AcledCsv, ACLED),
        (Format::GeoJson, GEOJSON),
        (Format::Kml, KML),
        (Format::Cot, COT),
    ] {
        let p = Provenance::of(text.as_bytes(), format);
        let now = Timestamp::parse("2026-11-25T00:00:00Z").unwrap();
        assert!(
            parse(format, text.as_bytes(), &p, now).is_ok(),
            "{}",
            format.name()
        );
    }
}
