//! Taking one CoT event into the record on behalf of the member a listener is bound to.

use crate::ingest::{Ingest, ingest};
use crate::stats::CotStats;
use std::sync::Arc;
use truce_core::access::Role;
use truce_core::validate::validate;
use truce_core::{IncidentId, ObservationId, Timestamp};
use truce_cot::{Event, Limits};
use truce_engine::{Caller, Engine};

/// Who reports through a listener, and how the record names the listener.
#[derive(Debug, Clone)]
pub struct Binding {
    /// The member the listener reports as.
    pub member: Caller,
    /// What the observations' `via` says, e.g. `cot-tcp 0.0.0.0:8087 as mon1-obs (Monitor 1)`.
    pub via: String,
}

/// Why a listener could not be bound to a member.
#[derive(Debug, thiserror::Error)]
pub enum BindError {
    /// No such member, or revoked.
    #[error("no active member {0:?}: add one with `truce user add`")]
    NoMember(String),
    /// The member may not report.
    #[error("{user} is {role}; a listener reports as an observer")]
    NotObserver {
        /// The member.
        user: String,
        /// Their role.
        role: &'static str,
    },
    /// The store could not be read.
    #[error("reading the members: {0}")]
    Store(String),
}

impl Binding {
    /// Binds listener `listener` (e.g. `cot-tcp 0.0.0.0:8087`) to active observer `user`, as
    /// the token of `user` would be: their monitor and role apply to every report.
    pub fn to_member(engine: &Engine, listener: &str, user: &str) -> Result<Self, BindError> {
        let member = engine
            .store()
            .member(user)
            .map_err(|e| BindError::Store(e.to_string()))?
            .filter(|m| m.active)
            .ok_or_else(|| BindError::NoMember(user.to_owned()))?;
        if member.role != Role::Observer {
            return Err(BindError::NotObserver {
                user: member.user,
                role: member.role.as_str(),
            });
        }
        Ok(Self {
            via: format!("{listener} as {} ({})", member.user, member.monitor),
            member: Caller {
                user: member.user,
                monitor: member.monitor,
                role: member.role,
            },
        })
    }
}

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
