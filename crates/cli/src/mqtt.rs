//! The MQTT subscription of `truce serve` and `truce demo`: flags and start.

use anyhow::{Result, bail};
use std::sync::Arc;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use truce_engine::{Binding, Engine};
use truce_mqtt::{MqttConfig, MqttStats};
use truce_server::StatusBoard;

/// Which broker to subscribe to, to what, and as whom.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct MqttFlags {
    /// Subscribe to this broker: mqtt://[user:password@]host[:port].
    #[arg(long, value_name = "URL")]
    pub mqtt: Option<String>,
    /// A topic filter to subscribe to with QoS 1 (repeat for several), e.g. sensors/#.
    #[arg(long, value_name = "PATTERN")]
    pub mqtt_topic: Vec<String>,
    /// The observer every detection is recorded as: their monitor and role apply as for their
    /// token.
    #[arg(long, value_name = "USER")]
    pub mqtt_member: Option<String>,
    /// The session's client id; the broker keeps messages for it while truce is away.
    #[arg(long, value_name = "ID", default_value = "truce")]
    pub mqtt_client_id: String,
    /// Refusals are published to <this>/<the message's topic>.
    #[arg(long, value_name = "TOPIC", default_value = "truce/errors")]
    pub mqtt_errors: String,
}

impl MqttFlags {
    /// Refuses flags that cannot work, before anything is bound.
    pub fn check(&self) -> Result<()> {
        if let Some(url) = &self.mqtt {
            if self.mqtt_member.is_none() {
                bail!("--mqtt needs --mqtt-member USER: the observer detections are recorded as");
            }
            MqttConfig::from_url(
                url,
                self.mqtt_topic.clone(),
                &self.mqtt_client_id,
                &self.mqtt_errors,
            )?;
        }
        Ok(())
    }
}

/// Starts the subscription `flags` asks for (none without `--mqtt`); it stops when `stop`
/// turns true. Prints one line.
pub async fn start(
    engine: &Arc<Engine>,
    flags: &MqttFlags,
    stop: &watch::Receiver<bool>,
    status: &StatusBoard,
) -> Result<Option<JoinHandle<()>>> {
    start_with(engine, None, flags, stop, status).await
}

/// [`start`] on node `node` of several: the subscription is shared among the nodes (each
/// message goes to one), this node's session is its own, and detections are committed to
/// `queue` for the sequencer.
pub async fn start_on_node(
    engine: &Arc<Engine>,
    (queue, node): (Arc<dyn truce_store::IntakeQueue>, &str),
    flags: &MqttFlags,
    stop: &watch::Receiver<bool>,
    status: &StatusBoard,
) -> Result<Option<JoinHandle<()>>> {
    start_with(engine, Some((queue, node)), flags, stop, status).await
}

async fn start_with(
    engine: &Arc<Engine>,
    node: Option<(Arc<dyn truce_store::IntakeQueue>, &str)>,
    flags: &MqttFlags,
    stop: &watch::Receiver<bool>,
    status: &StatusBoard,
) -> Result<Option<JoinHandle<()>>> {
    let Some(url) = &flags.mqtt else {
        return Ok(None);
    };
    let Some(user) = flags.mqtt_member.as_deref() else {
        bail!("--mqtt needs --mqtt-member USER: the observer detections are recorded as");
    };
    let mut config = MqttConfig::from_url(
        url,
        flags.mqtt_topic.clone(),
        &flags.mqtt_client_id,
        &flags.mqtt_errors,
    )?;
    let queue = node.map(|(queue, name)| {
        config = config.clone().on_node(name);
        queue
    });
    // Off the async threads: the store may be PostgreSQL, whose client blocks.
    let binding = {
        let (engine, via, user) = (
            engine.clone(),
            format!("mqtt {}", config.broker()),
            user.to_string(),
        );
        Arc::new(
            tokio::task::spawn_blocking(move || Binding::to_member(&engine, &via, &user)).await??,
        )
    };
    println!(
        "  MQTT:        {} topics {} as {user}; refusals on {}/<topic>",
        config.broker(),
        config.topics.join(", "),
        config.errors
    );
    let stats = Arc::new(MqttStats::default());
    let counters = stats.clone();
    status.register("mqtt", Arc::new(move || counters.snapshot()));
    Ok(Some(tokio::spawn(truce_mqtt::run(
        engine.clone(),
        queue,
        binding,
        config,
        stats,
        stop.clone(),
    ))))
}
