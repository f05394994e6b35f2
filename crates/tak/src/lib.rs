//! truce as a TAK endpoint: ATAK, WinTAK and iTAK users, and TAK-speaking sensors, report to
//! truce with the tools they carry.
//!
//! - [`ingest`]: what each CoT event becomes (a position or bearing observation, a ping to
//!   answer, a protocol request, situational awareness, a deletion, or nothing).
//! - [`CotIntake`]: a report validated and appended on behalf of the member a listener is
//!   bound to ([`Binding`]), its `via` naming the listener.
//! - [`serve_tcp`], [`serve_tls`], [`serve_udp`]: the listeners, with protocol negotiation,
//!   keepalive, per-address connection caps and rate caps ([`session`]); over TLS the client
//!   certificate bound to a member in the record says who reports ([`tls`]).
//! - [`Relay`]: incidents ([`outgoing`]) and situational awareness out to the connected
//!   clients, the latest state to late joiners, a bounded queue per client.

pub mod ingest;
mod intake;
mod listener;
pub mod outgoing;
pub mod relay;
pub mod session;
mod stats;
pub mod tls;
pub mod tracks;

pub use intake::{CotIntake, Outcome};
pub use listener::{
    CONNECTIONS_PER_ADDRESS, HANDSHAKE_TIMEOUT, REVOCATION_CHECK, serve_tcp, serve_tls, serve_udp,
};
pub use relay::{Relay, spawn_incident_feed};
pub use stats::CotStats;
pub use truce_engine::{BindError, Binding};
