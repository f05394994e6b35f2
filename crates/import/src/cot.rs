//! CoT events as observations, read as the TAK listeners read them (`truce_tak::ingest`):
//! markers with `ce`, range-and-bearing lines, sensor wedges, truce's detail element. Events
//! that are not reports (awareness, pings, deletions, truce's own incidents) are passed over.
//! A file is a run of `<event>` elements, with or without an XML declaration or a wrapping
//! element (truce's own CoT export reads back as nothing new: its incidents are truce's). The
//! row number of an error is the event's position in the file, from 1.

use crate::{ImportError, MAX_ROWS, Provenance, RowError};
use truce_core::Timestamp;
use truce_core::observation::Source;
use truce_core::validate::validate;
use truce_cot::{Limits, parse_event};
use truce_tak::ingest::{Ingest, ingest};

/// The byte ranges of the `<event …>…</event>` elements of `bytes`.
fn events(bytes: &[u8]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(start) = find(bytes, b"<event", at) {
        let next = bytes.get(start + 6).copied();
        if !matches!(next, Some(b' ' | b'>' | b'\n' | b'\r' | b'\t')) {
            at = start + 6;
            continue;
        }
        let Some(end) = find(bytes, b"</event>", start) else {
            out.push((start, bytes.len()));
            break;
        };
        out.push((start, end + 8));
        at = end + 8;
    }
    out
}

fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    hay.get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

/// Every report event's observation, or every bad event.
pub fn parse(
    bytes: &[u8],
    provenance: &Provenance,
    now: Timestamp,
) -> Result<crate::Read, ImportError> {
    let ranges = events(bytes);
    if ranges.len() > MAX_ROWS {
        return Err(ImportError::File(format!("more than {MAX_ROWS} events")));
    }
    if ranges.is_empty() {
        return Err(ImportError::File("no <event> element: not CoT".into()));
    }
    let limits = Limits::default();
    let mut out = Vec::new();
    let mut errors = Vec::new();
    let mut passed_over = 0;
    for (n, (start, end)) in ranges.into_iter().enumerate() {
        let line = n as u64 + 1;
        let event = match parse_event(&bytes[start..end], &limits) {
            Ok(e) => e,
            Err(e) => {
                errors.push(RowError {
                    unit: "event",
                    line,
                    column: None,
                    reason: e.to_string(),
                });
                continue;
            }
        };
        match ingest(&event, &provenance.via) {
            Ok(Ingest::Report(o)) => {
                let mut o = *o;
                o.source = Source::Import;
                // The listener's id (uid and time) within this file's identity.
                o.client_id = Some(crate::client_id(
                    provenance,
                    crate::Format::Cot,
                    &format!("{}:{}", event.uid, event.time_ms),
                ));
                match validate(o, now) {
                    Ok(v) => out.push(v),
                    Err(e) => errors.push(RowError {
                        unit: "event",
                        line,
                        column: Some(e.field.clone()),
                        reason: e.message,
                    }),
                }
            }
            Ok(_) => passed_over += 1,
            Err(e) => errors.push(RowError {
                unit: "event",
                line,
                column: Some(e.field.clone()),
                reason: e.message,
            }),
        }
    }
    Ok((out, errors, passed_over))
}
