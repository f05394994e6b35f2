//! Track points of the monitors' own patrols and UAVs, appended to the record.

use crate::writes::Written;
use crate::{Caller, Engine, EngineError};
use truce_core::Timestamp;
use truce_core::access::Role;
use truce_core::entry::EntryBody;
use truce_core::track::TrackPoint;
use truce_store::{AppendBatch, NewEntry, Projection, TrackRow};

impl Engine {
    /// Appends `point`, a position of `caller`'s team, to the record, durably before this
    /// returns. Only an observer reports a track (as only an observer reports what they saw);
    /// the point must be in range at `now` (the error names the field). How often a device's
    /// points are kept is the caller's policy (the TAK intake keeps at most one a minute).
    pub fn record_track(
        &self,
        caller: &Caller,
        point: TrackPoint,
        now: Timestamp,
    ) -> Result<(), EngineError> {
        self.record_track_answering(caller, point, now, None)
    }

    /// [`Engine::record_track`]; for intake item `intake`, its answer is recorded with the
    /// point.
    pub(crate) fn record_track_answering(
        &self,
        caller: &Caller,
        point: TrackPoint,
        now: Timestamp,
        intake: Option<u64>,
    ) -> Result<(), EngineError> {
        if caller.role != Role::Observer {
            return Err(EngineError::Forbidden(format!(
                "{} is {}, and only an observer reports a track",
                caller.user,
                caller.role.as_str()
            )));
        }
        point
            .validate(now)
            .map_err(|e| EngineError::invalid(e.field, e.message))?;
        let row = TrackRow::of(0, &caller.monitor, &point);
        let body = EntryBody::Track {
            monitor: caller.monitor.clone(),
            recorded_at: now,
            point,
        };
        let batch = AppendBatch {
            entries: vec![NewEntry {
                bytes: body.canonical_bytes()?,
                type_name: body.type_name(),
                projection: Projection::Track { row },
            }],
        };
        let answer = intake.map(|id| Written::track_point(&caller.monitor).settling(id));
        let _seq = self.lock_sequencer()?;
        self.append_answering(&batch, answer.as_ref())?;
        Ok(())
    }
}
