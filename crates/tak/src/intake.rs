//! Taking one CoT event into the record on behalf of the member a listener is bound to.

use crate::ingest::{Ingest, ingest};
use crate::stats::CotStats;
use std::sync::Arc;
use truce_core::validate::validate;
use truce_core::{IncidentId, ObservationId, Timestamp};
use truce_cot::{Event, Limits};
use truce_engine::{Binding, Engine};

/// What became of one event.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Recorded as a new observation.
    Recorded(ObservationId, IncidentId),
    /// Already in the record (the same uid and time).
    Repeated(ObservationId),
    /// Refused, with the reason naming the field.
    Refused(String),
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
}

impl CotIntake {
    /// Intake into `engine` with the default limits.
    pub fn new(engine: Arc<Engine>) -> Self {
        Self {
            engine,
            stats: Arc::default(),
            limits: Limits::default(),
        }
    }

    /// Takes `event` through `binding`: a report is validated and appended (durably, before
    /// this returns); anything else is handed back to the caller.
    pub async fn take(&self, binding: &Binding, event: &Event) -> Outcome {
        CotStats::bump(&self.stats.messages);
        let outcome = match ingest(event, &binding.via) {
            Err(e) => Outcome::Refused(format!("{}: {}", e.field, e.message)),
            Ok(Ingest::Report(observation)) => self.record(*observation).await,
            Ok(other) => Outcome::Control(other),
        };
        match &outcome {
            Outcome::Recorded(..) => CotStats::bump(&self.stats.reports_recorded),
            Outcome::Repeated(_) => CotStats::bump(&self.stats.reports_repeated),
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

    async fn record(&self, observation: truce_core::Observation) -> Outcome {
        let now = Timestamp::now();
        let valid = match validate(observation, now) {
            Ok(v) => v,
            Err(e) => return Outcome::Refused(format!("{}: {}", e.field, e.message)),
        };
        let engine = self.engine.clone();
        let submitted = tokio::task::spawn_blocking(move || engine.submit(vec![valid], now)).await;
        match submitted {
            Ok(Ok(outcome)) => match outcome.accepted.first() {
                Some(a) if outcome.new > 0 => Outcome::Recorded(a.id, a.incident_id),
                Some(a) => Outcome::Repeated(a.id),
                None => Outcome::Refused("the record accepted nothing".into()),
            },
            Ok(Err(e)) => Outcome::Refused(e.to_string()),
            Err(e) => Outcome::Refused(format!("the append did not finish: {e}")),
        }
    }
}
