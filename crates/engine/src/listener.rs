//! Listeners that carry no identity of their own (plain CoT over TCP or UDP, an MQTT
//! subscription) report as one member, bound by the operator's configuration.

use crate::{Caller, Engine};
use truce_core::access::Role;

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
    #[error("{user} is {role}; only an observer reports")]
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
        Ok(Self::for_caller(
            listener,
            Caller {
                user: member.user,
                monitor: member.monitor,
                role: member.role,
            },
        ))
    }

    /// Names listener `listener` as used by `member` (a member a client certificate
    /// identified): `via` reads `<listener> as <user> (<monitor>)`, cut to the observation's
    /// limit. The member's role is not checked here: the intake refuses reports from a member
    /// who is not an observer, as the API refuses their token.
    pub fn for_caller(listener: &str, member: Caller) -> Self {
        let mut via = format!("{listener} as {} ({})", member.user, member.monitor);
        // Within the observation's `via` limit, whatever the names' lengths.
        let limit = truce_core::validate::limits::NAME_BYTES;
        if via.len() > limit {
            let mut end = limit - '…'.len_utf8();
            while !via.is_char_boundary(end) {
                end -= 1;
            }
            via.truncate(end);
            via.push('…');
        }
        Self { via, member }
    }
}
