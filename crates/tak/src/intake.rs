//! Taking one CoT event into the record on behalf of the member a listener is bound to.

use crate::ingest::{Ingest, ingest};
use crate::stats::CotStats;
use crate::tracks::{TrackGate, track_point};
use std::sync::Arc;
use truce_core::access::Role;
use truce_core::validate::validate;
use truce_core::{IncidentId, ObservationId, Timestamp};
use truce_cot::{Event, Limits};
use truce_engine::queued::{Queued, error_of, through_queue};
use truce_engine::{Binding, Engine, EngineError, MemberWrite};
use truce_store::IntakeQueue;

/// What became of one event.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Recorded as a new observation.
    Recorded(ObservationId, IncidentId),
    /// Already in the record (the same uid and time).
    Repeated(ObservationId),
    /// Refused, with the reason naming the CoT element or attribute (and the observation
    /// field it became).
    Refused(String),
    /// A valid report the record could not take (the store failed): not recorded, counted
    /// and logged as an error. CoT has no acknowledgement a sender could retry on.
    NotRecorded(String),
    /// On a node of several: committed to the intake queue as this item, not yet recorded
    /// (the sequencer did not answer in time; it records the report when it gets to it).
    Queued(u64),
    /// Not a report; what it is, for the session to act on.
    Control(Ingest),
}

/// The engine and counters the listeners share.
pub struct CotIntake {
    engine: Arc<Engine>,
    /// What the listeners did.
    pub stats: Arc<CotStats>,
    /// Size limits of a CoT message.
    pub limits: Limits,
    /// The last track point kept of each device.
    tracks: TrackGate,
    /// On a node of several: the intake queue reports and track points go through (the
    /// engine then only reads).
    queue: Option<Arc<dyn IntakeQueue>>,
}

impl CotIntake {
    /// Intake into `engine` with the default limits.
    pub fn new(engine: Arc<Engine>) -> Self {
        Self {
            engine,
            stats: Arc::default(),
            limits: Limits::default(),
            tracks: TrackGate::default(),
            queue: None,
        }
    }

    /// Intake on a node of several: `engine` reads the record, and reports and track points
    /// are committed to `queue` for the sequencer to record.
    pub fn on_node(engine: Arc<Engine>, queue: Arc<dyn IntakeQueue>) -> Self {
        Self {
            queue: Some(queue),
            ..Self::new(engine)
        }
    }

    /// Takes `event` through `binding`: a report is validated and appended (durably, before
    /// this returns); anything else is handed back to the caller.
    pub async fn take(&self, binding: &Binding, event: &Event) -> Outcome {
        CotStats::bump(&self.stats.messages);
        let outcome = match ingest(event, &binding.via) {
            Err(e) => Outcome::Refused(format!("{}: {}", e.field, e.message)),
            Ok(Ingest::Report(_)) if binding.member.role != Role::Observer => {
                Outcome::Refused(format!(
                    "event: {} is {} of {}, and only an observer submits reports (as with their token)",
                    binding.member.user,
                    binding.member.role.as_str(),
                    binding.member.monitor
                ))
            }
            Ok(Ingest::Report(observation)) => {
                self.record(&binding.member.user, *observation).await
            }
            Ok(Ingest::Awareness) => {
                self.track(binding, event).await;
                Outcome::Control(Ingest::Awareness)
            }
            Ok(other) => Outcome::Control(other),
        };
        match &outcome {
            Outcome::Recorded(..) => CotStats::bump(&self.stats.reports_recorded),
            Outcome::Repeated(_) => CotStats::bump(&self.stats.reports_repeated),
            Outcome::Queued(item) => {
                CotStats::bump(&self.stats.reports_queued);
                tracing::info!(uid = %event.uid, item, "CoT report committed to the intake queue; the sequencer has not recorded it yet");
            }
            Outcome::NotRecorded(why) => {
                CotStats::bump(&self.stats.not_recorded);
                tracing::error!(uid = %event.uid, r#type = %event.kind, via = %binding.via, "CoT report not recorded: {why}");
            }
            Outcome::Refused(why) => {
                CotStats::bump(&self.stats.refused);
                tracing::warn!(uid = %event.uid, r#type = %event.kind, via = %binding.via, "CoT report refused: {why}");
            }
            Outcome::Control(Ingest::Ignored(why)) => {
                CotStats::bump(&self.stats.ignored);
                tracing::debug!(uid = %event.uid, r#type = %event.kind, "CoT event ignored: {why}");
            }
            Outcome::Control(Ingest::Delete(uid)) => {
                CotStats::bump(&self.stats.deletions);
                tracing::info!(%uid, via = %binding.via, "a TAK client deleted an item from its map; the record keeps every report");
            }
            Outcome::Control(_) => {}
        }
        outcome
    }

    /// Keeps a point of the track of an observer's team when its awareness event is due
    /// ([`TrackGate`]). A point that cannot be kept is logged; awareness goes on being relayed.
    async fn track(&self, binding: &Binding, event: &Event) {
        if binding.member.role != Role::Observer {
            return;
        }
        let Some(point) = track_point(event, &binding.via) else {
            return;
        };
        let monitor = &binding.member.monitor;
        if !self.tracks.due(monitor, &point) {
            return;
        }
        if let Some(queue) = &self.queue {
            let write = MemberWrite::Track {
                point: point.clone(),
            };
            match through_queue(queue.clone(), &binding.member.user, &write).await {
                Queued::Answered(201, _) | Queued::Waiting(_) => {
                    self.tracks.kept(monitor, &point);
                    CotStats::bump(&self.stats.track_points_recorded);
                }
                Queued::Answered(status, body) => {
                    let (field, message) = error_of(&body);
                    tracing::debug!(uid = %event.uid, status, "a track point not kept: {field}: {message}");
                }
                Queued::Failed(e) => {
                    tracing::error!(uid = %event.uid, "a track point not recorded: {e}");
                }
            }
            return;
        }
        let (engine, caller, kept) = (self.engine.clone(), binding.member.clone(), point.clone());
        let appended = tokio::task::spawn_blocking(move || {
            engine.record_track(&caller, kept, Timestamp::now())
        })
        .await;
        match appended {
            Ok(Ok(())) => {
                self.tracks.kept(monitor, &point);
                CotStats::bump(&self.stats.track_points_recorded);
            }
            Ok(Err(EngineError::Invalid { field, message })) => {
                tracing::debug!(uid = %event.uid, "a track point not kept: {field}: {message}");
            }
            Ok(Err(e)) => tracing::error!(uid = %event.uid, "a track point not recorded: {e}"),
            Err(e) => tracing::error!(uid = %event.uid, "a track point not recorded: {e}"),
        }
    }

    async fn record(&self, member: &str, observation: truce_core::Observation) -> Outcome {
        let now = Timestamp::now();
        if let Some(queue) = &self.queue {
            // Refused here as on a single server; the sequencer validates it again against the
            // time it was received.
            if let Err(e) = validate(observation.clone(), now) {
                return Outcome::Refused(refusal(&e.field, &e.message));
            }
            let write = MemberWrite::Reports {
                observations: vec![observation],
            };
            return outcome_of(through_queue(queue.clone(), member, &write).await);
        }
        let valid = match validate(observation, now) {
            Ok(v) => v,
            Err(e) => return Outcome::Refused(refusal(&e.field, &e.message)),
        };
        let engine = self.engine.clone();
        let submitted = tokio::task::spawn_blocking(move || engine.submit(vec![valid], now)).await;
        match submitted {
            Ok(Ok(outcome)) => match outcome.accepted.first() {
                Some(a) if outcome.new > 0 => Outcome::Recorded(a.id, a.incident_id),
                Some(a) => Outcome::Repeated(a.id),
                None => Outcome::NotRecorded("the engine answered for no observation".into()),
            },
            Ok(Err(EngineError::ClientIdConflict { .. })) => Outcome::Refused(CONFLICT.into()),
            Ok(Err(EngineError::Invalid { field, message })) => {
                Outcome::Refused(refusal(field, &message))
            }
            Ok(Err(e)) => Outcome::NotRecorded(e.to_string()),
            Err(e) => Outcome::NotRecorded(format!("the append did not finish: {e}")),
        }
    }
}

/// What the sequencer's answer to a queued report means for the TAK intake.
fn outcome_of(queued: Queued) -> Outcome {
    let accepted = |body: &serde_json::Value| {
        let a = &body["accepted"][0];
        a["id"].as_u64().zip(a["incident_id"].as_u64())
    };
    match queued {
        Queued::Answered(201, body) => match accepted(&body) {
            Some((id, incident)) => Outcome::Recorded(ObservationId(id), IncidentId(incident)),
            None => Outcome::NotRecorded(format!("the sequencer answered {body}")),
        },
        Queued::Answered(200, body) => match accepted(&body) {
            Some((id, _)) => Outcome::Repeated(ObservationId(id)),
            None => Outcome::NotRecorded(format!("the sequencer answered {body}")),
        },
        Queued::Answered(status, body) => {
            let (field, message) = error_of(&body);
            if status >= 500 {
                Outcome::NotRecorded(message)
            } else if field == "client_id" {
                Outcome::Refused(CONFLICT.into())
            } else {
                Outcome::Refused(refusal(&field, &message))
            }
        }
        Queued::Waiting(item) => Outcome::Queued(item),
        Queued::Failed(why) => Outcome::NotRecorded(why),
    }
}

/// Why a report that reuses an earlier one's uid and time with other content is refused.
const CONFLICT: &str = "event@uid and event@time: an earlier event with the same uid and time \
                        said something else (its report stays; send an edit with a new time)";

/// A validation error of an observation made from CoT, naming where in the CoT event the
/// value came from, and the observation field it became.
fn refusal(field: &str, message: &str) -> String {
    let path = match field {
        "observed_at" => "event@time",
        "reporter" => "event/detail/link@parent_callsign or contact@callsign (or event@uid)",
        "count" => "event/detail/truce@count",
        "subkind" => "event/detail/truce@subkind",
        "notes" => "event/detail/remarks",
        "geometry.lat" | "geometry.observer.lat" => "event/point@lat",
        "geometry.lon" | "geometry.observer.lon" => "event/point@lon",
        "geometry.accuracy_m" | "geometry.observer.accuracy_m" => "event/point@ce",
        "geometry.bearing_deg" => "event/detail/bearing@value",
        "geometry.bearing_sigma_deg" => "event/detail/truce@bearing_sigma_deg",
        "geometry.distance_min_m" => "event/detail/truce@distance_min_m",
        "geometry.distance_max_m" => "event/detail/truce@distance_max_m",
        other => return format!("{other}: {message}"),
    };
    format!("{path} (observation field {field}): {message}")
}
