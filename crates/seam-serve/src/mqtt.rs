//! The MQTT subscriber: QoS 1, a persistent session (the broker keeps messages while Seam is
//! down), and manual acknowledgement: a PUBACK goes out only once the message's events are
//! durable, in the order the messages arrived (as MQTT 3.1.1 asks).

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use rumqttc::{AsyncClient, Event, MqttOptions, Packet, Publish, QoS};
use seam_model::Ts;

use crate::config::MqttConfig;
use crate::ingest;
use crate::server::Shared;

/// The largest MQTT packet read: the protocol's own maximum (a remaining length of
/// 268,435,455 bytes plus the fixed header). A smaller client limit would make the client drop
/// the connection on a larger message, and the broker would deliver it again on every
/// reconnection, forever: one message could stop all MQTT ingest. Every message is read, and
/// one over [`MAX_MESSAGE`] becomes a dead letter that is acknowledged. The broker's
/// `message_size_limit` bounds the memory this can take (`docs/serve.md`).
const MAX_PACKET: usize = 268_435_455 + 5;
/// The largest message parsed: the adapters' record limit. Larger ones are dead letters.
const MAX_MESSAGE: usize = seam_adapters::MAX_RECORD_BYTES;
/// Messages handed from the event loop to the acknowledging pipeline at most.
const PIPELINE_DEPTH: usize = 1024;

/// Why a topic filter is not valid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FilterError {
    #[error("topic filter is empty")]
    Empty,
    #[error("topic filter `{0}`: `#` must be the last level, alone")]
    Hash(String),
    #[error("topic filter `{0}`: `+` must be a whole level")]
    Plus(String),
}

/// Checks an MQTT topic filter (`a/+/c`, `a/#`).
pub fn check_filter(filter: &str) -> Result<(), FilterError> {
    if filter.is_empty() {
        return Err(FilterError::Empty);
    }
    let levels: Vec<&str> = filter.split('/').collect();
    for (i, level) in levels.iter().enumerate() {
        if level.contains('#') && (*level != "#" || i + 1 != levels.len()) {
            return Err(FilterError::Hash(filter.to_string()));
        }
        if level.contains('+') && *level != "+" {
            return Err(FilterError::Plus(filter.to_string()));
        }
    }
    Ok(())
}

/// Whether `topic` matches `filter`.
pub fn topic_matches(filter: &str, topic: &str) -> bool {
    let mut filter_levels = filter.split('/');
    let mut topic_levels = topic.split('/');
    loop {
        match (filter_levels.next(), topic_levels.next()) {
            (Some("#"), _) => return true,
            (Some("+"), Some(_)) => {}
            (Some(f), Some(t)) if f == t => {}
            (None, None) => return true,
            _ => return false,
        }
    }
}

pub(crate) async fn run(
    shared: Arc<Shared>,
    config: MqttConfig,
    tls: Option<Arc<rustls::ClientConfig>>,
    routes: Vec<(String, usize)>,
) {
    let mut options = MqttOptions::new(config.client_id.clone(), config.host.clone(), config.port);
    if let Some(tls) = tls {
        options.set_transport(rumqttc::Transport::tls_with_config(
            rumqttc::TlsConfiguration::Rustls(tls),
        ));
    }
    options
        .set_keep_alive(Duration::from_secs(30))
        .set_clean_session(false)
        .set_manual_acks(true)
        .set_max_packet_size(MAX_PACKET, MAX_PACKET);
    if let Some(user) = &config.username {
        let password = config
            .password
            .as_ref()
            .map(|p| String::from_utf8_lossy(p.expose()).into_owned())
            .unwrap_or_default();
        options.set_credentials(user.clone(), password);
    }
    let (client, mut eventloop) = AsyncClient::new(options, 256);
    let (to_pipeline, from_loop) = tokio::sync::mpsc::channel::<Message>(PIPELINE_DEPTH);
    let pipeline = tokio::spawn(pipeline(Arc::clone(&shared), client.clone(), from_loop));
    let filters: Vec<rumqttc::SubscribeFilter> = routes
        .iter()
        .map(|(filter, _)| rumqttc::SubscribeFilter::new(filter.clone(), QoS::AtLeastOnce))
        .collect();
    let mut shutdown = shared.shutdown.clone();
    let mut to_pipeline = Some(to_pipeline);
    let mut failures = 0u32;
    loop {
        let polled = tokio::select! {
            _ = crate::listen::stopped(shutdown.clone()), if to_pipeline.is_some() => {
                // Stop taking messages; keep polling so that the acknowledgements of what
                // is already durable still go out.
                to_pipeline = None;
                continue;
            }
            polled = eventloop.poll() => polled,
            _ = tokio::time::sleep(Duration::from_millis(100)), if to_pipeline.is_none() => {
                if pipeline.is_finished() {
                    break;
                }
                continue;
            }
        };
        match polled {
            Ok(Event::Incoming(Packet::ConnAck(ack))) => {
                failures = 0;
                // Without a session the broker kept nothing for us while we were away: say so
                // (on the very first start there was nothing to keep).
                if !ack.session_present {
                    shared
                        .metrics
                        .mqtt_sessions_lost
                        .fetch_add(1, Ordering::Relaxed);
                    eprintln!(
                        "seam serve: mqtt: the broker has no session for client id `{}`: messages published while Seam was not connected were not kept (expected on a first start; otherwise check the broker's persistence and its `persistent_client_expiration`)",
                        config.client_id
                    );
                }
                // Subscribing again on every connection is harmless and covers a broker
                // that lost the session.
                if client.try_subscribe_many(filters.clone()).is_err() {
                    eprintln!("seam serve: mqtt: cannot queue the subscription");
                }
            }
            Ok(Event::Incoming(Packet::SubAck(ack))) => {
                let refused = ack
                    .return_codes
                    .iter()
                    .any(|code| matches!(code, rumqttc::SubscribeReasonCode::Failure));
                if refused {
                    eprintln!("seam serve: mqtt: the broker refused a subscription");
                } else {
                    shared.mqtt_ready.store(true, Ordering::Relaxed);
                }
            }
            Ok(Event::Incoming(Packet::Publish(mut publish))) => {
                let Some(sender) = &to_pipeline else {
                    continue; // stopping: not acknowledged, so the broker sends it again
                };
                let source = routes
                    .iter()
                    .find(|(filter, _)| topic_matches(filter, &publish.topic))
                    .map(|(_, source)| *source);
                // An oversized message waits in the queue as its first bytes only.
                let size = publish.payload.len();
                if size > MAX_MESSAGE {
                    publish.payload = publish
                        .payload
                        .slice(..seam_adapters::MAX_REJECTED_RAW_BYTES.min(size));
                }
                match source {
                    Some(source) => {
                        let message = Message {
                            source,
                            publish,
                            size,
                        };
                        if sender.send(message).await.is_err() {
                            to_pipeline = None;
                        }
                    }
                    // Overlapping subscriptions can deliver a topic no route claims.
                    None => {
                        let _ = client.try_ack(&publish);
                    }
                }
            }
            Ok(_) => {}
            Err(error) => {
                shared.mqtt_ready.store(false, Ordering::Relaxed);
                failures = failures.saturating_add(1);
                if failures == 1 || failures.is_multiple_of(60) {
                    eprintln!(
                        "seam serve: mqtt broker {}:{}: {error}; retrying",
                        config.host, config.port
                    );
                }
                if to_pipeline.is_none() {
                    break;
                }
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                    _ = shutdown.changed() => {}
                }
            }
        }
    }
    let _ = client.try_disconnect();
    let _ = tokio::time::timeout(Duration::from_millis(500), async {
        while eventloop.poll().await.is_ok() {}
    })
    .await;
    let _ = pipeline.await;
}

/// One message for the acknowledging pipeline; an oversized one's payload is cut to its
/// first bytes, and `size` keeps its true length.
struct Message {
    source: usize,
    publish: Publish,
    size: usize,
}

/// Takes messages in arrival order, makes each batch durable (one group commit for all the
/// messages waiting), then acknowledges them in the same order. A message that cannot be
/// read becomes a dead letter and is acknowledged like any other: the broker would otherwise
/// send it again on every connection.
async fn pipeline(
    shared: Arc<Shared>,
    client: AsyncClient,
    mut messages: tokio::sync::mpsc::Receiver<Message>,
) {
    while let Some(first) = messages.recv().await {
        let mut batch = vec![first];
        while batch.len() < 256 {
            match messages.try_recv() {
                Ok(message) => batch.push(message),
                Err(_) => break,
            }
        }
        let now = Ts(crate::now_ms());
        let mut waiting = Vec::with_capacity(batch.len());
        let mut failed = false;
        for Message {
            source,
            publish,
            size,
        } in &batch
        {
            let origin = format!("mqtt:{}:{}", now.0, shared.next_input());
            let prepared = if *size > MAX_MESSAGE {
                ingest::dead_letter_only(
                    &shared,
                    *source,
                    &publish.payload,
                    format!(
                        "MQTT message on `{}` is {size} bytes, more than the limit of {MAX_MESSAGE}; its first bytes are kept",
                        publish.topic
                    ),
                    &origin,
                    now,
                )
            } else {
                match ingest::prepare(
                    &shared,
                    *source,
                    &publish.payload,
                    Some(&publish.topic),
                    &origin,
                    now,
                ) {
                    Ok(prepared) => prepared,
                    Err(error) => ingest::dead_letter_only(
                        &shared,
                        *source,
                        &publish.payload,
                        format!("MQTT message on `{}`: {error}", publish.topic),
                        &origin,
                        now,
                    ),
                }
            };
            let mut prepared = prepared;
            loop {
                match ingest::enqueue(&shared, prepared) {
                    Ok(w) => {
                        waiting.push(w);
                        break;
                    }
                    Err((ingest::IngestError::Busy, back)) if !*shared.shutdown.borrow() => {
                        prepared = *back;
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                    Err(_) => {
                        failed = true;
                        break;
                    }
                }
            }
            if failed {
                break;
            }
        }
        let mut durable = 0;
        let mut prefix = true;
        for w in waiting {
            let ok = w.wait().await.is_ok();
            if prefix && ok {
                durable += 1;
            } else {
                prefix = false;
            }
        }
        // Acknowledge the durable prefix in order; the rest the broker sends again.
        for Message { publish, .. } in batch.iter().take(durable) {
            if client.ack(publish).await.is_err() {
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_match_as_mqtt_says() {
        assert!(topic_matches("zigbee2mqtt/#", "zigbee2mqtt/hq-server-pir"));
        assert!(topic_matches("zigbee2mqtt/#", "zigbee2mqtt"));
        assert!(topic_matches("a/+/c", "a/b/c"));
        assert!(!topic_matches("a/+/c", "a/b/d"));
        assert!(!topic_matches("a/+", "a/b/c"));
        assert!(topic_matches("a/b", "a/b"));
        assert!(!topic_matches("a/b", "a/b/c"));
        assert!(check_filter("a/#").is_ok());
        assert!(check_filter("a/#/b").is_err());
        assert!(check_filter("a/b+").is_err());
        assert!(check_filter("").is_err());
    }
}
