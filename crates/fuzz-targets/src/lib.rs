//! What each fuzz target checks. One function per parser truce exposes to the outside; each
//! takes arbitrary bytes and panics only when a property fails: a parser that panics, or that
//! accepts what its own writer does not give back unchanged (parse ∘ write = id, canonical bytes
//! stable). `fuzz/` runs them under libFuzzer (`cargo fuzz run --sanitizer none NAME`); this
//! crate's tests run them over every committed corpus file, so what the fuzzer once found is
//! checked by `cargo test` for good.
//!
//! The keys below sign the checkpoint seeds; they are public on purpose and sign nothing else.

#![allow(clippy::unwrap_used)]

use truce_core::Timestamp;
use truce_core::intake::{ParseLimits, parse_observations, parse_observations_via};
use truce_cot::Limits;
use truce_ledger::note::{NoteSigner, NoteVerifier};

/// A target: bytes in, a panic when a property fails.
pub type Target = fn(&[u8]);

/// Every target by name, as `fuzz/fuzz_targets/<name>.rs` and `fuzz/corpus/<name>/` are named.
pub const TARGETS: &[(&str, Target)] = &[
    ("observations", observations),
    ("agreement", agreement),
    ("cot_xml", cot_xml),
    ("tak_proto", tak_proto),
    ("cot_streams", cot_streams),
    ("imports", imports),
    ("checkpoint", checkpoint),
    ("signed_note_keys", signed_note_keys),
    ("tlog_proof", tlog_proof),
    ("witness_request", witness_request),
    ("entry", entry),
    ("entry_bundle", entry_bundle),
    ("tile_path", tile_path),
];

/// The log key the checkpoint seeds are signed with (public: signs nothing else).
pub const LOG_KEY: &str =
    "PRIVATE+KEY+fuzz.truce.invalid/log+28f687d2+AQcRCD2IelrXRsVQhYmTnOdRVvu8uki3I2N/aD4fLH/n";
/// The witness key the checkpoint seeds are cosigned with (public: signs nothing else).
pub const WITNESS_KEY: &str =
    "PRIVATE+KEY+fuzz.truce.invalid/witness+36838143+BGyWxaPa2NdqJJA32WIgJUd29qCvO54AwVV4Uus8P7JH";

/// The server's clock for targets that validate times: a fixed instant, so runs repeat.
pub fn now() -> Timestamp {
    Timestamp::parse("2026-11-20T12:00:00Z").unwrap()
}

/// Observation JSON as `POST /api/observations` and MQTT take it (one object or a batch).
/// Each observation accepted is written back as JSON and read again to the same value.
pub fn observations(data: &[u8]) {
    let limits = ParseLimits::default();
    if let Ok(parsed) = parse_observations(data, &limits, now()) {
        for o in parsed {
            let written = serde_json::to_vec(&*o).unwrap();
            let again = parse_observations(&written, &limits, now())
                .unwrap_or_else(|e| panic!("its own JSON is refused: {e:?}"));
            assert_eq!(again.len(), 1);
            assert_eq!(*again[0], *o, "parse ∘ write is not the identity");
        }
    }
    let _ = parse_observations_via(data, &limits, now(), Some("mqtt fuzz/topic"));
}

/// The agreement file: TOML, then a `0xff` byte, then the zones GeoJSON it loads.
pub fn agreement(data: &[u8]) {
    let (toml, zones) = match data.iter().position(|b| *b == 0xff) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    let Ok(toml) = std::str::from_utf8(toml) else {
        return;
    };
    let zones = String::from_utf8_lossy(zones).into_owned();
    let _ = truce_core::agreement::parse_toml(toml, "agreement.toml", &|_| Ok(zones.clone()));
}

/// One CoT XML event. An event read is written back and read to the same event.
pub fn cot_xml(data: &[u8]) {
    let limits = Limits::default();
    if let Ok(event) = truce_cot::parse_event(data, &limits) {
        let written = truce_cot::write_event(&event);
        let again = truce_cot::parse_event(written.as_bytes(), &limits)
            .unwrap_or_else(|e| panic!("its own XML is refused: {e}\n{written}"));
        assert_eq!(
            again, event,
            "parse ∘ write is not the identity:\n{written}"
        );
    }
}

/// One TAK protocol version 1 payload (`TakMessage`). An event decoded is encoded and decoded
/// to the same event (but its version, which protobuf does not carry).
pub fn tak_proto(data: &[u8]) {
    let limits = Limits::default();
    if let Ok(decoded) = truce_cot::decode_message(data, &limits)
        && let Some(event) = decoded.event
    {
        let encoded = truce_cot::encode_event(&event);
        let again = truce_cot::decode_message(&encoded, &limits)
            .unwrap_or_else(|e| panic!("its own encoding is refused: {e}"));
        let mut expected = event;
        if let Some(read) = &again.event {
            expected.version.clone_from(&read.version);
        }
        assert_eq!(
            again.event,
            Some(expected),
            "decode ∘ encode is not the identity"
        );
    }
}

/// The byte streams of CoT over TCP, in the chunks the first byte sets: XML events one after
/// another, the same bytes as TAK protocol frames, and the same bytes as one UDP datagram.
pub fn cot_streams(data: &[u8]) {
    let limits = Limits::default();
    let Some((&chunk, rest)) = data.split_first() else {
        return;
    };
    let chunk = usize::from(chunk).max(1);
    let mut xml = truce_cot::XmlStream::new(&limits);
    let mut proto = truce_cot::ProtoStream::new(&limits, Vec::new());
    let (mut xml_ok, mut proto_ok) = (true, true);
    for piece in rest.chunks(chunk) {
        if xml_ok {
            xml.push(piece);
            loop {
                match xml.next_event() {
                    Ok(Some(event)) => {
                        let _ = truce_cot::parse_event(&event, &limits);
                    }
                    Ok(None) => break,
                    Err(_) => {
                        xml_ok = false;
                        break;
                    }
                }
            }
        }
        if proto_ok {
            proto.push(piece);
            loop {
                match proto.next_payload() {
                    Ok(Some(payload)) => {
                        let _ = truce_cot::decode_message(&payload, &limits);
                    }
                    Ok(None) => break,
                    Err(_) => {
                        proto_ok = false;
                        break;
                    }
                }
            }
        }
    }
    let _ = truce_cot::parse_datagram(rest, &limits);
}

/// An import file, its format chosen by the first byte: ACLED CSV, GeoJSON, CoT, KML.
pub fn imports(data: &[u8]) {
    use truce_import::{Format, Provenance};
    let Some((&which, file)) = data.split_first() else {
        return;
    };
    let format = match which % 4 {
        0 => Format::AcledCsv,
        1 => Format::GeoJson,
        2 => Format::Cot,
        _ => Format::Kml,
    };
    let _ = truce_import::parse(format, file, &Provenance::of(file, format), now());
}

/// A checkpoint with cosignature lines, as `/checkpoint` serves it and witnesses hand them in:
/// verified against the fixed log and witness keys, and read as a plain signed note, without
/// panicking. (The fuzzer cannot sign, so the body check below runs on the seeds' signatures.)
pub fn checkpoint(data: &[u8]) {
    let log = NoteSigner::from_text(LOG_KEY).unwrap();
    let witness = NoteSigner::from_text(WITNESS_KEY).unwrap();
    let log_v = NoteVerifier::from_text(&log.verifier_text()).unwrap();
    let witness_v = NoteVerifier::from_text(&witness.verifier_text()).unwrap();
    if let Ok(cp) =
        truce_ledger::note::verify_checkpoint(data, &log_v, std::slice::from_ref(&witness_v))
    {
        // A verified checkpoint's body is the one its fields make.
        let body = truce_ledger::note::checkpoint_body(&cp.origin, cp.size, &cp.root).unwrap();
        assert_eq!(body, cp.body, "the verified body is not its fields' body");
    }
    let _ = truce_ledger::note::verify_note(data, &log_v);
    if let Some(split) = data.iter().position(|b| *b == b'\n') {
        let _ = witness_v.cosignature_time(&data[..split], &data[split + 1..]);
    }
}

/// Signed-note key texts (`truce keygen` files, the agreement's `[ledger]` keys): a verifier
/// key read is written back unchanged; a private key read gives a verifier that reads back.
pub fn signed_note_keys(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(signer) = NoteSigner::from_text(text) {
        let verifier = signer.verifier_text();
        let read = NoteVerifier::from_text(&verifier)
            .unwrap_or_else(|e| panic!("its own verifier key is refused: {e}"));
        assert_eq!(read.name(), signer.name());
        assert_eq!(
            NoteSigner::from_text(&signer.to_text()).unwrap().to_text(),
            signer.to_text()
        );
    }
    let _ = NoteVerifier::from_text(text);
}

/// A C2SP tlog-proof file. A proof read is written back and read to the same proof.
pub fn tlog_proof(data: &[u8]) {
    use truce_ledger::proof::TlogProof;
    if let Ok(proof) = TlogProof::parse(data) {
        let written = proof.to_text();
        let again =
            TlogProof::parse(&written).unwrap_or_else(|e| panic!("its own text is refused: {e}"));
        assert_eq!(again, proof, "parse ∘ write is not the identity");
    }
}

/// A tlog-witness add-checkpoint request body. A request read is written back and read to
/// the same request.
pub fn witness_request(data: &[u8]) {
    use truce_ledger::witness::AddCheckpoint;
    if let Ok(request) = AddCheckpoint::parse(data) {
        let written = request.to_text();
        let again = AddCheckpoint::parse(&written)
            .unwrap_or_else(|e| panic!("its own text is refused: {e}"));
        assert_eq!(again.old, request.old);
        assert_eq!(again.proof, request.proof);
        assert_eq!(again.checkpoint, request.checkpoint);
    }
}

/// One record entry, as an auditor reads it from a bundle or a witness from the tiles.
/// Canonical bytes are stable: an entry read is written canonically, and those bytes read and
/// write to themselves; bytes accepted as canonical are exactly what the entry writes.
pub fn entry(data: &[u8]) {
    use truce_core::entry::EntryBody;
    if let Ok(body) = EntryBody::decode(data) {
        let canonical = body.canonical_bytes().unwrap();
        let again = EntryBody::decode(&canonical)
            .unwrap_or_else(|e| panic!("its own canonical bytes are refused: {e}"));
        assert_eq!(
            again.canonical_bytes().unwrap(),
            canonical,
            "canonical bytes moved"
        );
    }
    if let Ok(body) = EntryBody::from_canonical_bytes(data) {
        assert_eq!(
            body.canonical_bytes().unwrap(),
            data,
            "accepted as canonical but not"
        );
    }
}

/// A tlog-tiles entry bundle. A bundle split is joined back to the same bytes.
pub fn entry_bundle(data: &[u8]) {
    use truce_ledger::tiles::{entry_bundle, split_entry_bundle};
    if let Ok(entries) = split_entry_bundle(data) {
        assert_eq!(
            entry_bundle(entries).unwrap(),
            data,
            "split ∘ join is not the identity"
        );
    }
}

/// A tile path as `/tile/…` receives it: no panic. (A path read is written back unchanged; the
/// parser itself refuses any other, so this mostly checks that it never panics.)
pub fn tile_path(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Some(tile) = truce_ledger::tiles::parse_tile_path(text) {
        assert_eq!(tile.to_path(), text, "parse ∘ write is not the identity");
    }
}
